"""The ``nodebio`` command line.

    nodebio fetch                      download (if missing) and verify the data files
    nodebio info limonene              summary of a pathway table
    nodebio info --csv FILE --states A,B --controls E1,E2 [--time-col Hour --strain-col Strain]
    nodebio synthetic --strains 10 --seed 0 --out synthetic.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nodebio import data, synthetic


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_dataset_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", nargs="?", help=f"a pathway table: {', '.join(data.PATHWAYS)}")
    parser.add_argument("--csv", type=Path, help="a tidy CSV of your own instead of a pathway table")
    parser.add_argument("--states", help="comma-separated state (metabolite) columns")
    parser.add_argument("--controls", help="comma-separated control (protein) columns")
    parser.add_argument("--time-col", default="Hour", help="time column of --csv (default: Hour)")
    parser.add_argument("--strain-col", default="Strain", help="strain column of --csv (default: Strain)")
    parser.add_argument("--data-dir", type=Path, help=f"folder of the data files (default: ${data.DATA_DIR_ENV} or a cache)")


def load_dataset(args: argparse.Namespace) -> data.Dataset:
    """The dataset named by the arguments of :func:`_add_dataset_arguments`."""
    if args.csv is not None and args.dataset is not None:
        raise data.DataValidationError("Give either a pathway name or --csv, not both.")
    if args.csv is not None:
        if not args.states:
            raise data.DataValidationError("--csv needs --states (comma-separated state columns).")
        return data.load_csv(args.csv, states=_names(args.states), controls=_names(args.controls) or [],
                             time_col=args.time_col, strain_col=args.strain_col)
    if args.dataset is None:
        raise data.DataValidationError(f"Name a pathway table ({', '.join(data.PATHWAYS)}) or give --csv FILE.")
    return data.load(args.dataset, states=_names(args.states), controls=_names(args.controls),
                     data_dir=args.data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nodebio", description="Neural ODEs for metabolic pathway dynamics.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fetch", help="download (if missing) and verify the data files")
    p.add_argument("--data-dir", type=Path)

    p = sub.add_parser("info", help="validate a table and print its summary")
    _add_dataset_arguments(p)

    p = sub.add_parser("synthetic", help="write strains of the synthetic pathway as a tidy CSV")
    p.add_argument("--strains", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.05, help="log-normal measurement noise (sd)")
    p.add_argument("--hidden", action="store_true", help="include the unmeasured intermediates")
    p.add_argument("--out", type=Path, required=True)

    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(data.LICENSE_NOTE)
            for name, path in data.fetch_all(data_dir=args.data_dir, progress=True).items():
                print(f"ok  {name}  {path}")
        elif args.command == "info":
            dataset = load_dataset(args)
            print(dataset)
            print()
            print(dataset.summary().to_string())
        elif args.command == "synthetic":
            frame = synthetic.generate(args.strains, seed=args.seed, noise=args.noise, include_hidden=args.hidden)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(args.out, index=False)
            print(f"wrote {len(frame)} rows of {args.strains} strains to {args.out}")
    except (data.DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
