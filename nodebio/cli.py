"""The ``nodebio`` command line: each command parses its arguments and makes one library call.

    nodebio fetch                      download (if missing) and verify the data files
    nodebio info limonene              summary of a pathway table
    nodebio info --csv FILE --states A,B --controls E1,E2 [--time-col Hour --strain-col Strain]
    nodebio synthetic --strains 10 --seed 0 --out synthetic.csv
    nodebio train --dataset limonene --train L1,L3 --test L2 --out runs/limonene [--quick]
    nodebio train --model node-structured --dataset isopentenol --out runs/isopentenol-structured
    nodebio train --model node-structured --csv FILE --states ... --controls ... --reactions FILE.yaml --out runs/a
    nodebio train --model node-kinetic --dataset limonene --ensemble 5 --out runs/limonene-kinetic
    nodebio train --model baseline-gb --configuration published --dataset limonene --out runs/gb
    nodebio reproduce --out results [--quick]
    nodebio train --dataset synthetic --data-seed 1 --seed 0 --out runs/synthetic
    nodebio train --dataset limonene --out runs/limonene --ensemble 5
    nodebio simulate runs/limonene --strain L2 --scale HMGR=2 --scale "Limonene Synthase=0.5"
    nodebio simulate runs/limonene --strain L2 --scan single --factors 0.5,2 --out scan.csv
    nodebio recommend runs/limonene --strain L1 --n 10 --max-fold 4 [--proteins HMGR,MK] --out recs
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd

from nodebio import data, synthetic
from nodebio.errors import CommandError, NodebioError, UsageError
from nodebio.models.registry import ALIASES, MODEL_NAMES


def _names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _factors(text: str | None, flag: str = "--factors") -> list[float] | None:
    """The comma-separated numbers of ``flag`` (None when the flag is not given); a clear error
    naming the flag for an empty list or a value that is not a number."""
    if text is None:
        return None
    words = _names(text)
    if not words:
        raise data.DataValidationError(f"{flag} is empty: give comma-separated factors, e.g. {flag} 0.5,2.")
    try:
        return [float(word) for word in words]
    except ValueError:
        bad = next(w for w in words if not _is_number(w))
        raise data.DataValidationError(f"{flag}: {bad!r} is not a number; give comma-separated factors, e.g. "
                                       f"{flag} 0.5,2.") from None


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _add_dataset_arguments(parser: argparse.ArgumentParser, positional: bool = True) -> None:
    """The arguments naming a dataset: a pathway table (positional, or ``--dataset``) or ``--csv``."""
    if positional:
        parser.add_argument("dataset", nargs="?", help=f"a pathway table: {', '.join(data.PATHWAYS)}")
    else:
        parser.add_argument("--dataset", help=f"a pathway table ({', '.join(data.PATHWAYS)}) or 'synthetic'")
    parser.add_argument("--csv", type=Path, help="a tidy CSV of your own instead of a pathway table")
    parser.add_argument("--states", help="comma-separated state (metabolite) columns")
    parser.add_argument("--controls", help="comma-separated control (protein) columns")
    parser.add_argument("--time-col", default="Hour", help="time column of --csv (default: Hour)")
    parser.add_argument("--strain-col", default="Strain", help="strain column of --csv (default: Strain)")
    parser.add_argument("--time-unit", default="h", choices=list(data.TIME_UNITS),
                        help="unit of the time column of --csv (default h; converted to hours)")
    parser.add_argument("--product", help="the state of --csv that is the product (default: none named; "
                                          "`simulate` then reports the last state)")
    parser.add_argument("--data-dir", type=Path, help=f"folder of the data files (default: ${data.DATA_DIR_ENV} or a cache)")


def load_dataset(args: argparse.Namespace) -> data.Dataset:
    """The dataset named by the arguments of :func:`_add_dataset_arguments`."""
    if args.csv is not None and args.dataset is not None:
        raise data.DataValidationError("Give either a pathway name or --csv, not both.")
    if args.csv is not None:
        if not args.states:
            raise data.DataValidationError("--csv needs --states (comma-separated state columns).")
        if not args.controls:
            raise data.DataValidationError("--csv needs --controls (comma-separated protein columns).")
        return data.load_csv(args.csv, states=_names(args.states), controls=_names(args.controls),
                             time_col=args.time_col, strain_col=args.strain_col,
                             time_unit=getattr(args, "time_unit", "h"), product=getattr(args, "product", None))
    if args.dataset is None:
        raise data.DataValidationError(f"Name a pathway table ({', '.join(data.PATHWAYS)}) or give --csv FILE.")
    return data.load(args.dataset, states=_names(args.states), controls=_names(args.controls),
                     data_dir=args.data_dir)


#: The models whose field is built from a reaction list (``--reactions``).
REACTION_MODELS = ("node-structured", "node-kinetic")
SYNTHETIC_NOISE = 0.05  # measurement noise of `train --dataset synthetic` (recorded in run.json)


def train_command(args: argparse.Namespace) -> None:
    from nodebio import runs
    from nodebio.models import NEURAL_MODELS, is_neural

    neural = ", ".join(NEURAL_MODELS)
    if args.reactions is not None and args.model not in REACTION_MODELS:
        raise data.DataValidationError(
            f"--reactions applies to --model {' or '.join(REACTION_MODELS)} only, not to {args.model!r}.")
    synthetic_spec = None
    if args.dataset == "synthetic":
        synthetic_spec = {"strains": args.synthetic_strains, "seed": args.data_seed, "noise": SYNTHETIC_NOISE}
        dataset = synthetic.make_dataset(n_strains=args.synthetic_strains, seed=args.data_seed,
                                         noise=SYNTHETIC_NOISE)
    else:
        dataset = load_dataset(args)
    options = {}
    if args.epochs is not None:
        if args.iterations is not None:
            raise data.DataValidationError("Give --iterations only (--epochs is its former name).")
        print("warning: --epochs is deprecated and will be removed in the next release: use --iterations "
              "(it counts optimisation steps, not passes over the data).", file=sys.stderr)
        args.iterations = args.epochs
    if args.iterations is not None:
        options["iterations"] = args.iterations
    if args.solver:
        options["solver"] = args.solver
    if options and not is_neural(args.model):
        raise data.DataValidationError(f"--iterations and --solver apply to the neural ODEs ({neural}) only.")
    if args.ensemble > 1 and not is_neural(args.model):
        raise data.DataValidationError(f"--ensemble applies to the neural ODEs ({neural}) only.")
    if args.resume and not is_neural(args.model):
        raise data.DataValidationError(f"--resume applies to the neural ODEs ({neural}) only.")
    if args.ensemble < 1:
        raise data.DataValidationError(f"--ensemble must be at least 1, got {args.ensemble}.")
    if args.reactions is not None:
        options["reactions"] = read_reactions_for(args.reactions, dataset)
    run, scores = runs.train_run(
        dataset, args.out, model=args.model, train=_names(args.train), test=_names(args.test), seed=args.seed,
        ensemble=args.ensemble, quick=args.quick, configuration=args.configuration, device=args.device,
        options=options, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
        synthetic=synthetic_spec)
    table = pd.DataFrame({"RMSE at measurements": scores["test"]["rmse_measured"],
                          "scaled": scores["test"]["rmse_scaled"],
                          "integral (Costello)": scores["test"]["rmse_integral"]})
    table["unit"] = [dataset.units.get(s, "?") for s in table.index]
    test = run.record["test_strains"]
    print(f"\nheld-out strain(s) {', '.join(test)} (status: {', '.join(scores['test']['status'])}):")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"mean scaled RMSE: test {scores['test']['mean_rmse_scaled']:.3f}, "
          f"train {scores['train']['mean_rmse_scaled']:.3f}")
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir()))} to {args.out}")


def read_reactions_for(path: Path, dataset: data.Dataset) -> tuple:
    """The reactions of ``path`` (YAML, or SBML with the dataset's states as its states), checked
    against the dataset's columns before any training; errors name the file."""
    options = {"states": list(dataset.states)} if path.suffix.lower() in data.reaction_files.SBML_SUFFIXES else {}
    reactions = data.read_reactions(path, **options)
    try:
        data.stoichiometry(reactions, dataset.states, dataset.controls)
    except data.DataValidationError as error:
        raise data.DataValidationError(f"{path}: {error}") from None
    return reactions


def _scenarios(args: argparse.Namespace, controls) -> list:
    """The interventions named by the arguments of ``simulate``."""
    from nodebio import interventions as iv

    factors = _factors(args.factors) or [0.5, 2.0]
    if args.scan is None:
        changes = [iv.parse_change(text, "scale") for text in args.scale] + [
            iv.parse_change(text, "set") for text in args.set]
        if not changes:
            raise data.DataValidationError("Give --scale PROTEIN=FACTOR (or --set PROTEIN=LEVEL), or --scan single|pair.")
        return [sum(changes[1:], changes[0])]
    if args.scan == "single":
        return iv.single_protein_scan(_names(args.proteins) or list(controls), factors)
    proteins = _names(args.proteins) or []
    if len(proteins) != 2:
        raise data.DataValidationError("--scan pair needs --proteins A,B (two proteins).")
    return iv.pairwise_scan(proteins[0], proteins[1], factors)


def simulate_command(args: argparse.Namespace) -> None:
    from nodebio import interventions as iv
    from nodebio import runs
    from nodebio.models import Ensemble

    paths = _distinct_runs(args.runs)
    trajectories = args.trajectories
    if trajectories is None and args.scan is None and args.strain is not None:
        trajectories = paths[0] / f"interventions-{iv.safe_file_name(args.strain)}.csv"
    for target in (args.out, trajectories):
        if target is not None:
            runs.check_output_file(target, paths)
    ensemble = Ensemble.load(paths, device=args.device)
    given = load_dataset(args) if args.csv is not None else None
    dataset = runs.run_dataset(paths, ensemble, data_dir=args.data_dir, dataset=given)
    if args.strain is None:
        raise data.DataValidationError(f"Give --strain (one of {', '.join(dataset.strains)}).")
    result = iv.simulate_strain(ensemble, dataset, args.strain, _scenarios(args, ensemble.controls), level=args.level)
    table = result.table()
    product = result.product
    written = []  # the files first: a closed pipe (`| head`) must not lose them
    if args.out is not None:
        _write_csv(table, args.out)
        written.append(f"wrote the ranked table to {args.out}")
    if trajectories is not None:
        _write_csv(result.trajectory_frame(), trajectories)
        written.append(f"wrote the trajectories (every model, every scenario) to {trajectories}")
    if dataset.product is None:
        print(f"no product named: reporting {product}, the last state (give --product when training)",
              file=sys.stderr)
    print(f"{product} at {result.times[-1]:g} h in strain {shown_name(args.strain)} "
          f"({dataset.units.get(product, '?')}); "
          f"{len(ensemble)} model(s), {100 * args.level:g}% interval of the ensemble:")
    shown = table[["rank", "intervention", "titer_mean", "titer_low", "titer_high", "fold_change", "extrapolation"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if len(ensemble) == 1:
        print("one model: the interval is a point; train with --ensemble 5 for intervals", file=sys.stderr)
    reference = result.titers[:, 0]
    if (reference <= 0).any():
        print(f"the unmodified strain's predicted {product} is 0 in {int((reference <= 0).sum())} of {len(reference)} "
              "model(s): no fold change can be computed there (NaN); the titers are the models' predictions, "
              "negative ones reported as 0", file=sys.stderr)
    flagged = table[table["extrapolation"]]
    if len(flagged):
        print(f"extrapolation: {len(flagged)} of {len(table)} scenarios have a protein outside the range of the "
              f"training strains ({', '.join(ensemble.train_strains)}); see the column extrapolated_proteins.")
    for line in written:
        print(line)


def _distinct_runs(paths) -> list[Path]:
    """The run folders given, each once (the same folder twice would count its models twice)."""
    seen: dict[Path, Path] = {}
    for path in map(Path, paths):
        key = path.resolve()
        if key in seen:
            raise data.DataValidationError(f"The run {path} is given twice ({seen[key]} and {path}): give each run "
                                           "folder once.")
        seen[key] = path
    return list(seen.values())


def shown_name(name: str) -> str:
    """A name as printed: characters that are not printable (controls, and format characters such as a
    right-to-left override that would reorder the line) escaped, e.g. ``\\u202e``."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in str(name))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` whole (a temporary file renamed into place)."""
    from nodebio import safeio

    path.parent.mkdir(parents=True, exist_ok=True)
    with safeio.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def recommend_command(args: argparse.Namespace) -> None:
    from nodebio import recommend

    args.runs = _distinct_runs(args.runs)
    given = load_dataset(args) if args.csv is not None else None
    factors = _factors(args.factors)
    result = recommend.recommend_run(args.runs, args.strain, n=args.n, max_fold=args.max_fold,
                                     proteins=_names(args.proteins), rule=args.acquisition,
                                     calibrate=not args.no_calibration, factors=factors, out=args.out,
                                     device=args.device, data_dir=args.data_dir, dataset=given, seed=args.seed,
                                     force=args.force)
    print(f"{result.product} at the final time in strain {shown_name(args.strain)}: top {len(result.table)} of "
          f"{result.settings['candidates']} designs within {args.max_fold:g}-fold of the training strains' protein "
          f"levels, ranked by {args.acquisition}; intervals: {result.interval}")
    if result.settings.get("forced"):
        print(f"warning: --force: {result.interval}; these intervals have no guaranteed level.", file=sys.stderr)
    own = result.unmodified
    line = (f"unmodified {shown_name(args.strain)}: predicted {own['titer_mean']:.4g} "
            f"({own['titer_low']:.4g} to {own['titer_high']:.4g})")
    if result.measured is not None:
        line += f", measured {result.measured['titer']:.4g} at {result.measured['time']:g} h"
    print(line + ": the designs' titers are predicted from this starting point.")
    if result.settings.get("clipped"):
        print(f"clipped: {result.settings['clipped']} negative predicted titers set to 0.")
    shown = result.table[["rank", "design", "titer_mean", "titer_low", "titer_high", "fold_change", "acquisition",
                          "extrapolation"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    flagged = int(result.table["extrapolation"].sum())
    if flagged:
        print(f"extrapolation: {flagged} of {len(result.table)} designs have a protein outside the range of the "
              "training strains; see the column extrapolated_proteins.")
    for path in result.settings.get("files", []):
        print(f"wrote {path}")


def reproduce_command(args: argparse.Namespace) -> None:
    from nodebio import runs
    from nodebio.experiments import compare

    runs.check_output_folder(args.out)
    pathways = _names(args.pathways) or list(data.PATHWAYS)
    seeds = args.seeds if args.seeds is not None else (2 if args.quick else 5)
    output = compare.reproduce(pathways, seeds=seeds, first_seed=args.seed, quick=args.quick, loso=not args.no_loso,
                               out=args.out, device=args.device, progress=not args.no_progress,
                               overwrite=args.overwrite, jobs=args.jobs, scheduler=args.scheduler,
                               store=args.store)
    print((args.out / "results.md").read_text())
    written = json.loads((args.out / compare.MANIFEST).read_text())["files"]
    print(f"wrote {', '.join(sorted([*written, compare.MANIFEST]))} to {args.out} in {output['seconds']:.0f} s")


def _add_fetch_parser(sub) -> None:
    p = sub.add_parser("fetch", help="download (if missing) and verify the data files")
    p.add_argument("--data-dir", type=Path)


def _add_info_parser(sub) -> None:
    p = sub.add_parser("info", help="validate a table and print its summary")
    _add_dataset_arguments(p)


def _add_synthetic_parser(sub) -> None:
    p = sub.add_parser("synthetic", help="write strains of the synthetic pathway as a tidy CSV")
    p.add_argument("--strains", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.05, help="log-normal measurement noise (sd)")
    p.add_argument("--hidden", action="store_true", help="include the unmeasured intermediates")
    p.add_argument("--out", type=Path, required=True)


def _add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model and score it on held-out strains")
    _add_dataset_arguments(p, positional=False)
    p.add_argument("--train", help="comma-separated training strains (default: the paper's split)")
    p.add_argument("--test", help="comma-separated held-out strains")
    p.add_argument("--model", default="node", choices=list(MODEL_NAMES), type=lambda n: ALIASES.get(n, n),
                   metavar="MODEL",
                   help=f"one of {', '.join(MODEL_NAMES)} (default node): a neural ODE (plain, pathway-structured, "
                        "or kinetic: fluxes proportional to their enzymes), the 2018 baseline (gradient boosting or "
                        "random forest), a model-free reference, or the 2018 kinetic model (costello-kinetic, "
                        "limonene pathway; 'kinetic' is its former name)")
    p.add_argument("--reactions", type=Path, metavar="FILE",
                   help="the pathway's reactions for --model node-structured or node-kinetic, a YAML or SBML file (replaces the "
                        "reaction list of --dataset; needed for --csv)")
    p.add_argument("--configuration", default="careful", choices=["careful", "published", "published-features"],
                   metavar="CONFIGURATION",
                   help="configuration of the baselines and the 2018 kinetic model: careful (default), published "
                        "or published-features")
    p.add_argument("--out", type=Path, required=True, help="folder for model.pt, predictions.csv, metrics.json")
    p.add_argument("--seed", type=int, default=0, help="the model seed (first member of an ensemble)")
    p.add_argument("--data-seed", type=int, default=0, help="the seed of the strains of --dataset synthetic")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--iterations", type=int, help="training iterations of a neural ODE (default 300)")
    p.add_argument("--epochs", type=int, dest="epochs", help=argparse.SUPPRESS)  # former name of --iterations
    p.add_argument("--solver", help="rk4 (default), euler or midpoint (fused), a torchdiffeq method "
                                    "such as dopri5, or torchdiffeq-rk4")
    p.add_argument("--quick", action="store_true", help="a small, fast run (few iterations or trees)")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run (or the neural ODE of the run in OUT) from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run in OUT (kept until the new one is complete)")
    p.add_argument("--synthetic-strains", type=int, default=10, help="strains of --dataset synthetic")
    p.add_argument("--ensemble", type=int, default=1,
                   help="train this many neural ODEs (seeds SEED, SEED+1, ...) for intervals in `simulate`")
    p.add_argument("--no-progress", action="store_true")


def _add_run_data_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of a command that reads run folders: the device, and the data given again."""
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--csv", type=Path, help="a table to use instead of the run's own data (as when training)")
    p.add_argument("--states", help="with --csv: as when training")
    p.add_argument("--controls", help="with --csv: as when training")
    p.add_argument("--time-col", default="Hour")
    p.add_argument("--strain-col", default="Strain")
    p.add_argument("--time-unit", default="h", choices=list(data.TIME_UNITS), help="with --csv: as when training")
    p.add_argument("--product", help="with --csv: as when training")
    p.add_argument("--data-dir", type=Path)


def _add_simulate_parser(sub) -> None:
    p = sub.add_parser("simulate", help="predict the product of a strain under enzyme interventions")
    p.add_argument("runs", nargs="+", type=Path, help="run folder(s) of `nodebio train` (every model*.pt is a member)")
    p.add_argument("--strain", help="the strain to change (e.g. L2)")
    p.add_argument("--scale", action="append", default=[], metavar="PROTEIN=FACTOR",
                   help="multiply a protein by a factor (repeatable; PROTEIN=F@START-END for a window in h)")
    p.add_argument("--set", action="append", default=[], metavar="PROTEIN=LEVEL",
                   help="hold a protein at a level, original units (repeatable)")
    p.add_argument("--scan", choices=["single", "pair"], help="every single-protein scaling, or a pair grid")
    p.add_argument("--factors", help="comma-separated factors of a scan (default 0.5,2)")
    p.add_argument("--proteins", help="proteins of a scan (default all for single; two for pair)")
    p.add_argument("--level", type=float, default=0.9, help="central probability of the intervals (default 0.9)")
    p.add_argument("--out", type=Path, help="CSV of the ranked table")
    p.add_argument("--trajectories", type=Path, help="CSV of every simulated trajectory")
    _add_run_data_arguments(p)


def _add_recommend_parser(sub) -> None:
    p = sub.add_parser("recommend", help="rank candidate designs of a strain by predicted titer and uncertainty")
    p.add_argument("runs", nargs="+", type=Path, help="run folder(s) of `nodebio train` (every model*.pt is a member)")
    p.add_argument("--strain", required=True, help="the strain whose proteins the designs change (e.g. L1)")
    p.add_argument("--n", type=int, default=10, help="how many designs to list (default 10)")
    p.add_argument("--max-fold", type=float, default=4.0,
                   help="trust region: factors from 1/F to F, and changed proteins within F-fold of the training "
                        "strains' peak levels (default 4)")
    p.add_argument("--proteins", help="comma-separated proteins to change (default all)")
    p.add_argument("--factors", help="comma-separated factors instead of the log grid of --max-fold")
    p.add_argument("--acquisition", default="ei", choices=["ei", "ucb", "mean"],
                   help="expected improvement over the strain (default), upper end of the interval, or the mean")
    p.add_argument("--force", action="store_true",
                   help="use intervals calibrated on fewer inner scores than their level needs (fewer than 9 "
                        "training strains at 90%%), labelled as not calibrated, instead of refusing")
    p.add_argument("--no-calibration", action="store_true",
                   help="skip the inner leave-one-strain-out refits: intervals are the members' range")
    p.add_argument("--seed", type=int, default=0, help="seed of the random candidate designs")
    p.add_argument("--out", type=Path, help="folder for recommendations-<strain>.csv and .png")
    _add_run_data_arguments(p)


def _add_reproduce_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's comparison on both pathways, with leave-one-strain-out")
    p.add_argument("--out", type=Path, default=Path("results"))
    p.add_argument("--seeds", type=int, help="number of seeds (default 5, or 2 with --quick)")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--pathways", help="comma-separated (default: limonene,isopentenol)")
    p.add_argument("--quick", action="store_true", help="small models and 2 seeds: a smoke run for CI")
    p.add_argument("--no-loso", action="store_true", help="skip the leave-one-strain-out table")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results in OUT (kept until the new ones are complete)")
    p.add_argument("--device", default="auto")
    p.add_argument("--jobs", type=int, help="worker processes for the fits (default $NODEBIO_JOBS, else 1): "
                                            "they run in parallel into the model store, then the tables are made")
    p.add_argument("--scheduler", help="run the fits on a Dask cluster: a scheduler's address (tcp://HOST:8786) "
                                       "or a cluster file (YAML; see nodebio.plan); default $NODEBIO_SCHEDULER. "
                                       "Needs pip install -e '.[cluster]' and --store")
    p.add_argument("--store", type=Path, help="the model store's folder (default $NODEBIO_STORE): fits found there "
                                              "are reused; with --scheduler, a folder every worker can reach")
    p.add_argument("--no-progress", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command."""
    parser = argparse.ArgumentParser(prog="nodebio", description="Neural ODEs for metabolic pathway dynamics.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_fetch_parser(sub)
    _add_info_parser(sub)
    _add_synthetic_parser(sub)
    _add_train_parser(sub)
    _add_simulate_parser(sub)
    _add_recommend_parser(sub)
    _add_reproduce_parser(sub)
    return parser


def reference(width: int = 100, level: int = 3) -> str:
    """The command-line reference as Markdown, generated from the parser (the book's appendix
    "Command-line reference" shows it): every command, a heading of ``level``, with its usage and its
    options' help wrapped to ``width`` characters."""
    import os

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)  # argparse wraps its help to $COLUMNS
    try:
        parts = ["Generated from the parser of `nodebio` "
                 f"({len(commands.choices)} commands); `nodebio COMMAND --help` prints the same.\n"]
        summary = {action.dest: action.help for action in commands._choices_actions}  # noqa: SLF001
        for name, sub in commands.choices.items():
            parts.append(f"{'#' * level} nodebio {name}\n\n{summary.get(name, '').capitalize()}.\n\n"
                         f"```text\n{sub.format_help().rstrip()}\n```\n")
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous, warnings.showwarning = warnings.showwarning, _show_warning
    try:
        return _run(args)
    except KeyboardInterrupt:
        print(_interrupted(args, argv if argv is not None else sys.argv[1:]), file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nodebio ... | head`: the reader left; not an error of the command
        _silence_stdout()
        return 0
    except NodebioError as error:
        print(f"error: {cli_words(str(error))}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.filename is None:  # without a file it is no user's mistake: a bug (see entry)
            raise
        print(f"error: {_os_message(error)}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = previous


#: Printed under the traceback of an error that is not a user's mistake.
REPORT = ("This is a bug of nodebio, not a mistake of yours: please report it with the command line and the "
          "traceback above (nodebio {version}, Python {python}, torch {torch}).")


def entry(argv: list[str] | None = None) -> int:
    """The ``nodebio`` console script: :func:`main`; an error that is not a user's mistake (any
    exception but :class:`~nodebio.errors.NodebioError` and an ``OSError`` naming its file) is
    printed with its traceback, followed by a request to report it, and exit status 1."""
    import os

    # one torch thread, fastest for these tiny tensors (set before torch is imported; see TrainConfig)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        return main(argv)
    except Exception as error:
        import traceback

        import nodebio

        traceback.print_exception(error)
        torch_version = sys.modules["torch"].__version__ if "torch" in sys.modules else "not imported"
        print(REPORT.format(version=nodebio.__version__, python=sys.version.split()[0], torch=torch_version),
              file=sys.stderr)
        return 1


def _os_message(error: OSError) -> str:
    """An operating-system error as one line naming its file(s): "No space left on device: runs/a/x.csv"."""
    reason = error.strerror or str(error)
    names = [str(name) for name in (error.filename, error.filename2) if name is not None]
    return f"{reason}: {' -> '.join(names)}"


def _silence_stdout() -> None:
    """After a broken pipe: send what Python still flushes at exit to nowhere, without a second error."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _run(args: argparse.Namespace) -> int:
    """Dispatch the parsed command to its one library call."""
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
        from nodebio import runs

        runs.check_output_file(args.out)
        frame = synthetic.generate(args.strains, seed=args.seed, noise=args.noise, include_hidden=args.hidden)
        _write_csv(frame, args.out)
        print(f"wrote {len(frame)} rows of {args.strains} strains to {args.out}")
    elif args.command == "train":
        if args.dataset is None and args.csv is None:
            raise data.DataValidationError("Give --dataset NAME or --csv FILE.")
        train_command(args)
    elif args.command == "reproduce":
        reproduce_command(args)
    elif args.command == "simulate":
        args.dataset = None
        simulate_command(args)
    elif args.command == "recommend":
        args.dataset = None
        recommend_command(args)
    return 0


#: Python argument names in the library's messages, and the flags that stand for them here.
_FLAGS = {"time_col=": "--time-col", "strain_col=": "--strain-col", "time_unit=": "--time-unit",
          "train= and test= strain lists": "--train and --test", "overwrite=True": "--overwrite"}
#: Asides of the library's messages meant for Python callers only.
_PYTHON_ASIDES = (" (train= and test= in Python)", " (overwrite=True)", ", or time_unit=")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings of the data (:class:`nodebio.errors.DataWarning`) as one line, without source lines."""
    if issubclass(category, data.DataWarning):
        print(f"warning: {cli_words(str(message))}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def cli_words(message: str) -> str:
    """A library message in the words of the command line: flags for argument names, one line."""
    for aside in _PYTHON_ASIDES:
        message = message.replace(aside, "")
    for python, flag in _FLAGS.items():
        message = message.replace(python, flag)
    return " ".join(message.split())


def run_command(command: str, *, cwd: str | Path | None = None, expect_failure: bool = False,
                timeout: float = 600.0) -> subprocess.CompletedProcess:
    """Run a command line ``nodebio ...`` as typed in a shell, print it and its output; for the chapters.

    The command runs as ``python -m nodebio ...`` with this interpreter (so the package that runs is
    the one imported here, installed or not), in ``cwd``. It is printed as ``$ nodebio ...``, then
    what it wrote to stdout and to stderr. Returns the ``subprocess.CompletedProcess`` (text
    ``stdout``/``stderr``, ``returncode``). Raises RuntimeError, with the output, when the command
    fails, or, with ``expect_failure``, when it succeeds.
    """
    words = shlex.split(command)
    if not words or words[0] != "nodebio":
        raise UsageError(f"run_command runs nodebio command lines, 'nodebio ...'; got {command!r}.")
    result = subprocess.run([sys.executable, "-m", "nodebio", *words[1:]], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    print(f"$ {command}")
    for text in (result.stdout, result.stderr):
        if text.strip():
            print(text.rstrip())
    if (result.returncode != 0) != expect_failure:
        what = "failed" if result.returncode else "succeeded, but a failure was expected"
        raise CommandError(f"`{command}` {what} (exit status {result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def _interrupted(args: argparse.Namespace, argv: list[str]) -> str:
    """The one line printed on Ctrl-C: where the checkpoint is and the command that resumes it."""
    if args.command == "train":
        from nodebio import runs

        checkpoint = runs.staging_folder(args.out) / "model.pt"
        if checkpoint.is_file():
            again = [a for a in argv if a not in ("--overwrite", "--resume")] + ["--resume"]
            return (f"interrupted: the checkpoint is {checkpoint} and {args.out} is unchanged; resume with: "
                    f"nodebio {shlex.join(again)}")
        return f"interrupted before the first checkpoint: {args.out} is unchanged."
    return f"interrupted: nodebio {args.command} stopped; nothing was written after the interruption."


if __name__ == "__main__":
    sys.exit(entry())
