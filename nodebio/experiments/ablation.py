"""The ablation of the accuracy push: neural ODE configurations chosen by leave-one-strain-out
within the training strains.

:data:`ABLATION_EXPERIMENTS` lists each experiment as one change to the plain or the structured
default. :func:`ablation` scores them on :func:`inner_folds` (train on one training strain, predict
the other: L1 <-> L3, I1 <-> I3) and, for the record only, on the paper's held-out strain;
:func:`ablation_table` ranks them by the inner score, the only one used for choosing.

:func:`tune` gives the baselines the same protocol: each chooses among :data:`BASELINE_GRID` by
the inner folds, so that no model gets a selection the others do not.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio import metrics
from nodebio.models.ensemble import Ensemble
from nodebio.models.registry import make_model, prepare_like
from nodebio.errors import UsageError

__all__ = ["ABLATION_EXPERIMENTS", "DEFAULT_EXPERIMENTS", "QUICK_ABLATION", "REFERENCE_EXPERIMENTS", "BASELINE_GRID", "inner_folds",
           "ablation", "ablation_table", "best_experiment", "tune", "PENALTY_EXPERIMENTS", "penalty_ablation"]

_STRUCTURED = {"model": "node-structured"}
_KINETIC = {"model": "node-kinetic"}
#: The experiments of the accuracy push: each one change to the plain or the structured default.
#: Keys are labels, values options for :func:`ablation`.
ABLATION_EXPERIMENTS: dict[str, dict] = {
    "plain (default)": {},
    "plain, weight decay 1e-3": {"weight_decay": 1e-3},
    "plain, input noise 0.1": {"input_noise": 0.1},
    "plain, whole trajectories": {"window_hours": None},
    "plain, log states": {"state_scaling": "log1p"},
    "structured (default)": {**_STRUCTURED},
    "structured, with first-order losses": {**_STRUCTURED, "first_order_loss": True},
    "structured, saturating fluxes": {**_STRUCTURED, "flux_form": "saturating"},
    "structured, monotone fluxes": {**_STRUCTURED, "monotone_fluxes": True},
    "structured, input noise 0.1": {**_STRUCTURED, "input_noise": 0.1},
    "kinetic (default)": {**_KINETIC},
    "kinetic, standardized states": {**_KINETIC, "state_scaling": "standardize"},
    "kinetic, no first-order losses": {**_KINETIC, "first_order_loss": False},
    "kinetic, growth dilution (OD600)": {**_KINETIC, "growth": "OD600"},
    "kinetic, growth dilution, product by OD": {**_KINETIC, "growth": "OD600", "od_product": True},
    "kinetic, derivative-matching warm start": {**_KINETIC, "collocation_iterations": 200},
    "kinetic, with flux correction": {**_KINETIC, "flux_correction": True},
    "kinetic, weight decay 1e-3": {**_KINETIC, "weight_decay": 1e-3},
    "kinetic, homeostatic acetyl-CoA supply": {**_KINETIC, "homeostatic_supply": True},
}
#: The defaults of the three neural ODE variants among :data:`ABLATION_EXPERIMENTS`, by model name.
DEFAULT_EXPERIMENTS = {"node": "plain (default)", "node-structured": "structured (default)",
                       "node-kinetic": "kinetic (default)"}
#: The model-free references, scored on the same folds in every ablation (rows marked
#: ``reference``): what any kept configuration has to beat. They are never kept themselves.
REFERENCE_EXPERIMENTS: dict[str, dict] = {
    "reference: training mean": {"model": "mean"},
    "reference: persistence": {"model": "persistence"},
    "reference: nearest strain": {"model": "nearest"},
}
#: The tiny grid of quick runs (tests, CI).
QUICK_ABLATION = ("plain (default)", "structured (default)", "kinetic (default)")


def inner_folds(pathway: str, data_dir=None) -> list[tuple[str, _data.PreparedData]]:
    """Leave-one-strain-out within the training strains of the paper's split: for each training
    strain, a split that trains on the other training strain(s) and holds it out. The paper's test
    strain (L2, I2) appears in none of them, so choices made on these folds never see it."""
    dataset = _data.load(pathway, data_dir=data_dir)
    train, _ = _data.default_split(dataset)
    folds = []
    for held in train:
        rest = [s for s in train if s != held]
        folds.append((held, _data.prepare(dataset, rest, [held])))
    return folds


def _scaled_score(model, prepared: _data.PreparedData) -> tuple[float, float]:
    prepared = prepare_like(model, prepared)
    model.fit(prepared, progress=False)
    _, _, scores = metrics.evaluate(model, prepared, splits=("test",))
    return scores["test"]["mean_rmse_scaled"], scores["test"]["mean_rmse_integral"]


def ablation(experiments: dict[str, dict], pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 1,
             first_seed: int = 0, quick: bool = False, test: bool = True, device: str = "cpu",
             progress: bool = True, data_dir=None, references: bool = True) -> pd.DataFrame:
    """Score neural ODE configurations by leave-one-strain-out within the training strains, and
    (``test``) on the paper's held-out strain, for the record only.

    experiments : ``{label: options}``; options go to :func:`~nodebio.models.make_model`, with two extra keys:
        ``model`` (``"node"`` by default, ``"node-structured"`` or ``"node-kinetic"``) and ``ensemble`` (number of
        seeds averaged, :class:`~nodebio.models.Ensemble`; 1 by default).
    Returns one row per (experiment, pathway, seed, split): ``split`` is ``"inner:<strain>"`` for
    the inner folds and ``"test"``; scores are the mean scaled and integral RMSE over metabolites.
    ``references`` adds :data:`REFERENCE_EXPERIMENTS` (deterministic: one seed).
    """
    from tqdm import tqdm

    jobs = []
    for pathway in pathways:
        splits = [(f"inner:{held}", p) for held, p in inner_folds(pathway, data_dir)]
        if test:
            dataset = _data.load(pathway, data_dir=data_dir)
            splits.append(("test", _data.prepare(dataset)))
        every = {**experiments, **(REFERENCE_EXPERIMENTS if references else {})}
        for label, options in every.items():
            for seed in range(first_seed, first_seed + (1 if label in REFERENCE_EXPERIMENTS else seeds)):
                for split, prepared in splits:
                    jobs.append((label, options, pathway, seed, split, prepared))
    rows = []
    for label, options, pathway, seed, split, prepared in tqdm(jobs, desc="ablation", disable=not progress):
        options = dict(options)
        name, members = options.pop("model", "node"), options.pop("ensemble", 1)
        if members > 1:
            model = Ensemble(name, members, seed=seed, quick=quick, device=device, **options)
        else:
            model = make_model(name, seed=seed, quick=quick, device=device, **options)
        started = time.perf_counter()
        try:
            scaled, integral = _scaled_score(model, prepared)
            status = "ok"
        except RuntimeError as error:  # a diverged training run is a result, not a crash
            scaled, integral, status = np.nan, np.nan, f"failed: {str(error)[:80]}"
        rows.append({"experiment": label, "pathway": pathway, "seed": seed, "split": split,
                     "rmse_scaled": scaled, "rmse_integral": integral, "status": status,
                     "seconds": time.perf_counter() - started})
    return pd.DataFrame(rows)


def ablation_table(results: pd.DataFrame) -> pd.DataFrame:
    """One row per experiment: the inner (selection) score, mean over pathways, folds and seeds,
    per pathway, and the held-out test score per pathway (reported, never used for choosing)."""
    inner = results[results["split"].str.startswith("inner")]
    table = inner.groupby(["experiment", "pathway"], sort=False)["rmse_scaled"].mean().unstack("pathway")
    table.columns = [f"inner {c}" for c in table.columns]
    table.insert(0, "inner mean", inner.groupby("experiment", sort=False)["rmse_scaled"].mean())
    tested = results[results["split"] == "test"]
    if not tested.empty:
        test = tested.groupby(["experiment", "pathway"], sort=False)["rmse_scaled"].mean().unstack("pathway")
        test.columns = [f"test {c}" for c in test.columns]
        table = table.join(test)
    table["seconds"] = results.groupby("experiment", sort=False)["seconds"].sum()
    table = table.reset_index()
    table.insert(1, "reference", table["experiment"].isin(list(REFERENCE_EXPERIMENTS)))
    return table


def best_experiment(table: pd.DataFrame, model: str | None = None) -> str:
    """The experiment an :func:`ablation_table` keeps: the lowest inner score among the candidates
    (the model-free reference rows are there to be beaten, not kept); with ``model`` (e.g.
    ``"node-kinetic"``), among the experiments of that model only."""
    candidates = table[~table["reference"]] if "reference" in table else table
    if model is not None:
        of_model = [label for label, options in ABLATION_EXPERIMENTS.items() if options.get("model", "node") == model]
        candidates = candidates[candidates["experiment"].isin(of_model)]
        if candidates.empty:
            raise UsageError(f"No experiment of model {model!r} in the table; its experiments are "
                             f"{', '.join(of_model) or 'none'}.")
    return candidates.loc[candidates["inner mean"].idxmin(), "experiment"]


#: The small grid the derivative-regression baselines choose from (careful configuration): the
#: number of trees and the derivative estimate, the two choices the 2018 pipeline fixed by hand.
BASELINE_GRID: dict[str, list] = {"n_estimators": [30, 100, 300], "derivative": ["savgol", "central"]}


def tune(name: str, pathway: str, *, grid: dict[str, list] | None = None, seed: int = 0, quick: bool = False,
         device: str = "cpu", data_dir=None) -> tuple[dict, pd.DataFrame]:
    """Choose the options of model ``name`` among the combinations of ``grid`` by the inner folds
    of ``pathway`` (train on one training strain, predict the other; the held-out strain is never
    used): the combination with the lowest mean scaled RMSE. Returns (options, table of scores).

    ``quick`` halves the grid (its first and last values of each option) and makes the models small.
    """
    import itertools

    grid = dict(BASELINE_GRID if grid is None else grid)
    if quick:
        grid = {k: list(dict.fromkeys([v[0], v[-1]])) for k, v in grid.items()}
    if quick and "n_estimators" in grid:
        grid["n_estimators"] = [10]
    folds = inner_folds(pathway, data_dir)
    rows = []
    for values in itertools.product(*grid.values()):
        options = dict(zip(grid, values))
        scores = []
        for held, prepared in folds:
            model = make_model(name, seed=seed, quick=quick, device=device, **options)
            scores.append(_scaled_score(model, prepared)[0])
        rows.append({**options, "inner mean": float(np.mean(scores))})
    table = pd.DataFrame(rows)
    best = table.loc[table["inner mean"].idxmin()] if table["inner mean"].notna().any() else table.iloc[0]
    chosen = {k: (int(best[k]) if isinstance(grid[k][0], (int, np.integer)) else best[k]) for k in grid}
    return chosen, table


#: The physiology-informed penalties of the neural ODE's loss (:class:`nodebio.models.TrainConfig`),
#: with and without: the default (negative concentrations penalised, weight 1), none, and ten times
#: the weight. The derivative penalty (``derivative_weight``) is not among them: with its limit at
#: 3 (and even 0.5) times the largest measured rate it never exceeded the limit in training on the
#: Costello data (its penalty stayed 0, the model equalled the default in every score), so its row
#: measured nothing. :func:`penalty_ablation` reports for every row whether its penalty was active.
PENALTY_EXPERIMENTS: dict[str, dict] = {
    "no penalty": {"negative_weight": 0.0, "derivative_weight": 0.0},
    "negative (default)": {},
    "negative x10": {"negative_weight": 10.0},
}


def penalty_ablation(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 3, first_seed: int = 0,
                     experiments: dict[str, dict] | None = None, model: str = "node", quick: bool = False,
                     device: str = "cpu", data_dir=None, progress: bool = False) -> pd.DataFrame:
    """Train ``model`` with each row of ``experiments`` (default :data:`PENALTY_EXPERIMENTS`) on the
    paper's split, ``seeds`` seeds each: one row per (experiment, pathway, seed) with the held-out
    mean scaled RMSE (``rmse_scaled``) and ``penalty_active``, whether the penalty term of the loss
    was ever above zero in training (a row whose penalty never acts is the default under another
    name). Differences between rows are judged by :func:`nodebio.experiments.verdict.bootstrap_difference`
    over the seeds (:func:`nodebio.experiments.claims.regularisation_claim`)."""
    from tqdm import tqdm

    experiments = PENALTY_EXPERIMENTS if experiments is None else experiments
    jobs = [(p, label, options, seed) for p in pathways for label, options in experiments.items()
            for seed in range(first_seed, first_seed + seeds)]
    prepared = {p: _data.prepare(_data.load(p, data_dir=data_dir)) for p in pathways}
    rows = []
    for pathway, label, options, seed in tqdm(jobs, desc="penalties", disable=not progress):
        fitted = make_model(model, seed=seed, quick=quick, device=device, **options)
        data = prepare_like(fitted, prepared[pathway])
        fitted.fit(data, progress=False)
        _, _, scores = metrics.evaluate(fitted, data, splits=("test",))
        penalties = [h["penalty"] for h in fitted.history]
        rows.append({"experiment": label, "pathway": pathway, "seed": seed,
                     "rmse_scaled": scores["test"]["mean_rmse_scaled"],
                     "penalty_active": bool(np.nanmax(penalties) > 0) if penalties else False,
                     "largest_penalty": float(np.nanmax(penalties)) if penalties else 0.0})
    return pd.DataFrame(rows)
