"""The ``nodebio`` command line.

    nodebio fetch                      download (if missing) and verify the data files
    nodebio info limonene              summary of a pathway table
    nodebio info --csv FILE --states A,B --controls E1,E2 [--time-col Hour --strain-col Strain]
    nodebio synthetic --strains 10 --seed 0 --out synthetic.csv
    nodebio train --dataset limonene --train L1,L3 --test L2 --out runs/limonene [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nodebio import data, synthetic

#: Training iterations of ``--quick`` (a smoke run, for tests and CI).
QUICK_ITERATIONS = 20


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


def _split_for(dataset: data.Dataset, train: str | None, test: str | None):
    if train is not None and test is not None:
        return _names(train), _names(test)
    if dataset.name == "synthetic":
        strains = list(dataset.strains)
        default_train, default_test = strains[:-2], strains[-2:]
    else:
        try:
            default_train, default_test = data.default_split(dataset)
        except data.DataValidationError:
            raise data.DataValidationError(
                f"Give --train and --test (comma-separated strains of {', '.join(dataset.strains)})."
            ) from None
    return (_names(train) if train else list(default_train)), (_names(test) if test else list(default_test))


def run_outputs(model, prepared: data.PreparedData) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Simulate every strain and score it: (predictions, trajectories, metrics).

    predictions: one row per measured state value (``strain, time, variable, measured,
    predicted, split``); trajectories: the simulation on the grid with the preprocessed data
    (``strain, time, variable, predicted, data, split``); metrics: per-state and mean RMSE in
    original units at the measured points and on the grid, and normalized by the training spread,
    for the test and the training strains.
    """
    from nodebio import metrics

    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
    predictions, trajectories, scores = [], [], {}
    for split, grid in (("test", prepared.test), ("train", prepared.train)):
        predicted = model.simulate(grid)
        table = metrics.predictions_table(grid.strains, grid.times, predicted, grid.states, grid.measured)
        table["split"] = split
        predictions.append(table)
        for i, strain in enumerate(grid.strains):
            for j, state in enumerate(grid.states):
                trajectories.append(pd.DataFrame({"strain": strain, "time": grid.times, "variable": state,
                                                  "predicted": predicted[i, :, j], "data": grid.x[i, :, j],
                                                  "split": split}))
        at_points = metrics.rmse_at_measurements(table, grid.states)
        on_grid = metrics.rmse_on_grid(predicted, grid.x, grid.states)
        scores[split] = {
            "strains": list(grid.strains),
            "rmse_measured": at_points.to_dict(),
            "rmse_grid": on_grid.to_dict(),
            "nrmse_measured": metrics.normalized(at_points, spread).to_dict(),
            "nrmse_grid": metrics.normalized(on_grid, spread).to_dict(),
            "mean_rmse_measured": float(at_points.mean()),
            "mean_rmse_grid": float(on_grid.mean()),
            "mean_nrmse_measured": float(metrics.normalized(at_points, spread).mean()),
            "mean_nrmse_grid": float(metrics.normalized(on_grid, spread).mean()),
        }
    return pd.concat(predictions, ignore_index=True), pd.concat(trajectories, ignore_index=True), scores


def train_command(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    import nodebio
    from nodebio.train import NeuralODEModel, TrainConfig

    if args.dataset == "synthetic":
        dataset = synthetic.make_dataset(n_strains=args.synthetic_strains, seed=args.seed)
    else:
        dataset = load_dataset(args)
    train, test = _split_for(dataset, args.train, args.test)
    options = {"seed": args.seed, "device": args.device}
    if args.quick:
        options.update(iterations=QUICK_ITERATIONS, eval_every=5)
    if args.epochs is not None:
        options["iterations"] = args.epochs
    if args.solver:
        options["solver"] = args.solver
    config = TrainConfig(**options)
    prepared = data.prepare(dataset, train, test, n_points=config.n_points,
                            state_scaling=config.state_scaling, control_scaling=config.control_scaling)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    print(f"training a neural ODE on {dataset.name} strains {', '.join(train)}; held out: {', '.join(test)}")
    model = NeuralODEModel(config)
    model.fit(prepared, checkpoint=out / "model.pt", resume=args.resume, progress=not args.no_progress)
    predictions, trajectories, scores = run_outputs(model, prepared)
    predictions.to_csv(out / "predictions.csv", index=False)
    trajectories.to_csv(out / "trajectories.csv", index=False)
    result = {
        "model": "node",
        "dataset": dataset.name,
        "data_sha256": dataset.sha256,
        "nodebio_version": nodebio.__version__,
        "train_strains": list(train),
        "test_strains": list(test),
        "seed": args.seed,
        "device": str(model.device),
        "fit_seconds": model.fit_seconds,
        "iterations_run": len(model.history),
        "config": asdict(config),
        "units": model.units,
        **scores,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2, default=float))
    table = pd.DataFrame({"RMSE at measurements": scores["test"]["rmse_measured"],
                          "normalized": scores["test"]["nrmse_measured"]})
    table["unit"] = [model.units.get(s, "?") for s in table.index]
    print(f"\nheld-out strain(s) {', '.join(test)}:")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"mean normalized RMSE: test {scores['test']['mean_nrmse_measured']:.3f}, "
          f"train {scores['train']['mean_nrmse_measured']:.3f}")
    print(f"wrote {out / 'model.pt'}, {out / 'predictions.csv'}, {out / 'trajectories.csv'}, {out / 'metrics.json'}")


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

    p = sub.add_parser("train", help="train a model and score it on held-out strains")
    p.add_argument("--dataset", help=f"a pathway table ({', '.join(data.PATHWAYS)}) or 'synthetic'")
    p.add_argument("--csv", type=Path, help="a tidy CSV of your own instead of --dataset")
    p.add_argument("--states", help="comma-separated state (metabolite) columns")
    p.add_argument("--controls", help="comma-separated control (protein) columns")
    p.add_argument("--time-col", default="Hour")
    p.add_argument("--strain-col", default="Strain")
    p.add_argument("--data-dir", type=Path)
    p.add_argument("--train", help="comma-separated training strains (default: the paper's split)")
    p.add_argument("--test", help="comma-separated held-out strains")
    p.add_argument("--model", default="node", choices=["node"], help="the model to train")
    p.add_argument("--out", type=Path, required=True, help="folder for model.pt, predictions.csv, metrics.json")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--epochs", type=int, help="training iterations (default 300)")
    p.add_argument("--solver", help="torchdiffeq solver (default rk4)")
    p.add_argument("--quick", action="store_true", help=f"{QUICK_ITERATIONS} iterations: a smoke run")
    p.add_argument("--resume", action="store_true", help="continue from OUT/model.pt")
    p.add_argument("--synthetic-strains", type=int, default=10, help="strains of --dataset synthetic")
    p.add_argument("--no-progress", action="store_true")

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
        elif args.command == "train":
            if args.dataset is None and args.csv is None:
                raise data.DataValidationError("Give --dataset NAME or --csv FILE.")
            train_command(args)
    except (data.DataError, ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
