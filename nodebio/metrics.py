"""Scoring simulated strains against the data, in original units.

Two definitions of the RMSE are in use for this data:

(a) :func:`rmse_integral`, that of Costello & Garcia Martin (2018): per metabolite, the square
    root of the time integral of the squared error over the experiment (0-72 h) against the
    preprocessed data; averaged over metabolites by the comparison.
(b) the per-point RMSE at the measured time points, in original units
    (:func:`rmse_at_measurements`) and in scaled units (:func:`normalized`: divided by the
    metabolite's standard deviation in the training strains, i.e. standardized units).

:func:`evaluate` simulates the strains of a prepared split with any fitted model and returns
every score at once; :func:`score_table` scores several fitted models side by side with the
model-free references. :func:`improvement` turns two RMSEs into the paper's "% lower RMSE"; :func:`mean_sd` aggregates
over seeds.

Two places to compare:

* **at the measured points** (:func:`rmse_at_measurements`): the prediction, interpolated
  linearly in time from the simulation grid, against the values that were actually measured
  (filled gaps are never scored);
* **on the grid** (:func:`rmse_on_grid`): the prediction against the preprocessed (interpolated)
  data at every grid point.

Per state, the RMSE is in the state's own units; :func:`normalized` divides it by the standard
deviation of that state in the training strains, so that states of different units and sizes
can be averaged (a normalized RMSE of 1 is an error as large as the training strains' spread).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pandas as pd
from nodebio.errors import UsageError

__all__ = ["evaluate", "solver_error", "titer_error", "predictions_table", "rmse_at_measurements", "rmse_on_grid", "rmse_integral", "normalized",
           "training_spread", "improvement", "mean_sd", "REFERENCE_NAMES", "score_table"]

#: The model-free references every comparison table of the book carries (:mod:`nodebio.models.references`).
REFERENCE_NAMES = ("mean", "persistence", "nearest")


def predictions_table(strains: Sequence[str], times: np.ndarray, predicted: np.ndarray,
                      states: Sequence[str], measured: pd.DataFrame) -> pd.DataFrame:
    """Prediction at every measured point: ``strain, time, variable, measured, predicted``.

    predicted : (S, T, n_states) on ``times`` (h), original units. measured : the long table of
    :attr:`nodebio.data.Trajectories.measured` (only its state rows are used).
    """
    rows = []
    for i, strain in enumerate(strains):
        for j, state in enumerate(states):
            points = measured[(measured["strain"] == strain) & (measured["variable"] == state)]
            if points.empty:
                continue
            t = points["time"].to_numpy(dtype=float)
            rows.append(pd.DataFrame({
                "strain": strain, "time": t, "variable": state,
                "measured": points["value"].to_numpy(dtype=float),
                "predicted": np.interp(t, times, predicted[i, :, j]),
            }))
    if not rows:
        return pd.DataFrame(columns=["strain", "time", "variable", "measured", "predicted"])
    return pd.concat(rows, ignore_index=True)


def rmse_at_measurements(table: pd.DataFrame, states: Sequence[str] | None = None) -> pd.Series:
    """RMSE per state of a :func:`predictions_table` (all its strains pooled)."""
    error = (table["predicted"] - table["measured"]) ** 2
    # a failed simulation (NaN) makes the score NaN: it is never scored on its good part only
    result = np.sqrt(error.groupby(table["variable"], sort=False).agg(lambda e: e.mean(skipna=False)))
    return result.reindex(list(states)) if states is not None else result


def rmse_on_grid(predicted: np.ndarray, truth: np.ndarray, states: Sequence[str]) -> pd.Series:
    """RMSE per state over all strains and grid points; arrays (S, T, n_states)."""
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    if predicted.shape != truth.shape:
        raise UsageError(f"Shapes differ: predicted {predicted.shape}, truth {truth.shape}.")
    return pd.Series(np.sqrt(((predicted - truth) ** 2).mean(axis=(0, 1))), index=list(states))


def training_spread(train_x: np.ndarray, states: Sequence[str]) -> pd.Series:
    """Standard deviation of each state over the training strains' grid (original units)."""
    flat = np.asarray(train_x, float).reshape(-1, len(states))
    return pd.Series(flat.std(axis=0), index=list(states))


def normalized(rmse: pd.Series, spread: pd.Series) -> pd.Series:
    """RMSE divided by the training spread of each state (dimensionless)."""
    return rmse / spread.reindex(rmse.index).where(spread.reindex(rmse.index) > 0)


def rmse_integral(times: np.ndarray, predicted: np.ndarray, truth: np.ndarray, states: Sequence[str]) -> pd.Series:
    """Costello & Garcia Martin's error: per state, the square root of the time integral of the
    squared error over the whole experiment (trapezoidal rule on the grid), all strains pooled.

    times : (T,) h; predicted, truth : (S, T, n_states). Units: the state's unit times h^(1/2).
    A prediction with NaN values (a failed simulation) gives NaN.
    """
    predicted, truth = np.asarray(predicted, float), np.asarray(truth, float)
    if predicted.shape != truth.shape:
        raise UsageError(f"Shapes differ: predicted {predicted.shape}, truth {truth.shape}.")
    squared = (predicted - truth) ** 2
    integral = np.trapezoid(squared, x=np.asarray(times, float), axis=1)  # (S, n)
    return pd.Series(np.sqrt(integral.mean(axis=0)), index=list(states))


def titer_error(table: pd.DataFrame, product: str) -> dict:
    """The error of the product's titer at the last time it was measured (the engineering target:
    72 h in the pathway tables), over the strains of a :func:`predictions_table`.

    Returns ``titer_error`` (mean absolute error, the product's units), ``titer_relative_error``
    (mean of ``|predicted - measured| / measured``) and ``titer_hours`` (the time of the titer).
    """
    rows = table[table["variable"] == product]
    if rows.empty:
        return {"titer_error": float("nan"), "titer_relative_error": float("nan"), "titer_hours": float("nan")}
    last = rows.loc[rows.groupby("strain", sort=False)["time"].idxmax()]
    error = (last["predicted"] - last["measured"]).abs()
    relative = error / last["measured"].where(last["measured"] > 0)
    return {"titer_error": float(error.mean(skipna=False)), "titer_relative_error": float(relative.mean(skipna=False)),
            "titer_hours": float(last["time"].max())}


def improvement(rmse_model: pd.Series | float, rmse_reference: pd.Series | float):
    """Improvement in percent of a model over a reference: (1 - RMSE_model / RMSE_reference) * 100.

    Positive: the model's error is lower; 100: no error; negative: the model is worse.
    """
    return (1.0 - rmse_model / rmse_reference) * 100.0


def mean_sd(values: pd.DataFrame, by: Sequence[str], column: str) -> pd.DataFrame:
    """Mean, standard deviation (ddof=1; 0 for a single value) and count of ``column`` over
    the rows sharing ``by`` (e.g. over seeds). A NaN (a failed run) makes mean and sd NaN."""
    grouped = values.groupby(list(by), sort=False)[column]
    out = grouped.agg(mean=lambda v: v.mean(skipna=False), sd=lambda v: v.std(skipna=False),
                      count="size").reset_index()
    out.loc[out["count"] == 1, "sd"] = 0.0
    return out


def solver_error(model, trajectories, spread: pd.Series, *, rtol: float = 1e-7, atol: float = 1e-9) -> dict:
    """How far a neural ODE's simulation with its own solver lies from the converged solution.

    Simulates ``trajectories`` with the model's solver and step, with half that step, and with the
    adaptive ``dopri5`` at tight tolerances (``rtol``, ``atol``: the reference), and returns the
    largest absolute difference to the reference of each, over strains, times and states, in
    units of each state's ``spread`` (:func:`training_spread`): ``{"default": ..., "halved": ...}``,
    and ``negative_share``, the share of negative values of the default simulation. A default of
    0.1 means some point of some trajectory lies a tenth of that state's training spread away from
    the solution of the ODE the model defines: an error of the solver, not of the model.
    """
    scale = np.asarray(spread.reindex(list(trajectories.states)), dtype=float)
    default = model.simulate(trajectories)
    halved = model.simulate(trajectories, step_size=model.config.step_size / 2)
    converged = model.simulate(trajectories, solver="dopri5", rtol=rtol, atol=atol)

    def distance(values):
        return float((np.abs(values - converged).max(axis=(0, 1)) / scale).max())

    return {"default": distance(default), "halved": distance(halved),
            "negative_share": float((default < 0).mean())}


def evaluate(model, prepared, splits: Sequence[str] = ("test", "train")):
    """Simulate and score the strains of ``prepared`` with a fitted model.

    Returns (predictions, trajectories, scores): predictions has one row per measured state value
    (``strain, time, variable, measured, predicted, spread, split``; ``spread`` is the variable's
    training spread, which scales it); trajectories the simulation on the grid next to the
    preprocessed data (``strain, time, variable, predicted, data, split``); scores, per split, the
    per-state and mean RMSE under every definition, the error of the product's final titer
    (:func:`titer_error`), the simulation time and the solver status of each strain.
    """
    spread = training_spread(prepared.train.x, prepared.train.states)
    product = prepared.dataset.product or prepared.train.states[-1]
    predictions, trajectories, scores = [], [], {}
    for split in splits:
        grid = getattr(prepared, split)
        started = time.perf_counter()
        predicted = model.simulate(grid)
        seconds = time.perf_counter() - started
        table = predictions_table(grid.strains, grid.times, predicted, grid.states, grid.measured)
        table["spread"] = table["variable"].map(spread)
        table["split"] = split
        predictions.append(table)
        for i, strain in enumerate(grid.strains):
            for j, state in enumerate(grid.states):
                trajectories.append(pd.DataFrame({"strain": strain, "time": grid.times, "variable": state,
                                                  "predicted": predicted[i, :, j], "data": grid.x[i, :, j],
                                                  "split": split}))
        at_points = rmse_at_measurements(table, grid.states)
        scaled = normalized(at_points, spread)
        integral = rmse_integral(grid.times, predicted, grid.x, grid.states)
        on_grid = rmse_on_grid(predicted, grid.x, grid.states)
        scores[split] = {
            "strains": list(grid.strains),
            "status": list(getattr(model, "status_", ["ok"] * len(grid.strains))),
            "simulate_seconds": seconds,
            "rmse_measured": at_points.to_dict(),
            "rmse_scaled": scaled.to_dict(),
            "rmse_integral": integral.to_dict(),
            "rmse_grid": on_grid.to_dict(),
            "mean_rmse_measured": float(at_points.mean()),
            "mean_rmse_scaled": float(scaled.mean()),
            "mean_rmse_integral": float(integral.mean()),
            "mean_rmse_grid": float(on_grid.mean()),
            "product": product,
            **titer_error(table, product),
        }
    return pd.concat(predictions, ignore_index=True), pd.concat(trajectories, ignore_index=True), scores


def score_table(fitted, prepared, *, splits: Sequence[str] = ("test", "train"),
                references: Sequence[str] = REFERENCE_NAMES) -> pd.DataFrame:
    """Mean scaled RMSE and share of negative values of fitted models, with the references.

    fitted : a mapping ``{label: fitted model}`` (anything with ``simulate``). Every name of
    ``references`` (``nodebio.models.references.REFERENCES``) is fitted on the same training
    strains and added as a row labelled ``"<name> (reference)"``. Returns one row per model
    (index ``model``) with ``kind`` (``"model"`` or ``"reference"``) and, per split,
    ``"<split> scaled RMSE"`` (:func:`evaluate`'s mean over the states) and
    ``"<split> negative values (%)"`` (the share of simulated values on the grid below zero).
    """
    from nodebio.models.references import REFERENCES

    unknown = [name for name in references if name not in REFERENCES]
    if unknown:
        raise UsageError(f"Unknown reference(s) {', '.join(map(repr, unknown))}; choose from "
                         f"{', '.join(REFERENCES)}.")
    entries = [(label, "model", model) for label, model in dict(fitted).items()]
    entries += [(f"{name} (reference)", "reference", REFERENCES[name]().fit(prepared)) for name in references]
    rows = []
    for label, kind, model in entries:
        _, trajectories, scores = evaluate(model, prepared, splits=splits)
        row = {"model": label, "kind": kind}
        for split in splits:
            predicted = trajectories.loc[trajectories["split"] == split, "predicted"].to_numpy()
            row[f"{split} scaled RMSE"] = scores[split]["mean_rmse_scaled"]
            row[f"{split} negative values (%)"] = 100.0 * float((predicted < 0).mean())
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
