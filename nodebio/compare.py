"""The head-to-head: every model scored the same way, and the paper's comparison reproduced.

All models share one shape (``fit(prepared)``, ``simulate(trajectories)``), so one function,
:func:`evaluate`, scores any of them on the held-out strains, and :func:`reproduce` runs the
paper's comparison: for both pathways, the neural ODE over several seeds, the 2018 baseline (both
regressor families, both configurations) and the training-strain mean, evaluated on the held-out
medium strain, plus a leave-one-strain-out table.

Scores (see :mod:`nodebio.metrics`):

* ``rmse_integral``: Costello & Garcia Martin's definition, per metabolite the square root of the
  time integral of the squared error over 0-72 h against the preprocessed data, original units
  (times h^1/2); averaged over metabolites as they do, in mixed units.
* ``rmse_measured``: per-point RMSE at the measured time points, original units.
* ``rmse_scaled``: the same divided by the metabolite's standard deviation in the training
  strains (standardized units), so that metabolites count alike in the mean.

Improvement of model A over reference B: ``(1 - RMSE_A / RMSE_B) x 100`` on the means over
metabolites (the paper reports 94.38% for limonene and 97.65% for isopentenol).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio import metrics

__all__ = ["MODEL_NAMES", "PAPER_IMPROVEMENT", "make_model", "evaluate", "reproduce", "leave_one_strain_out",
           "SeedEnsemble", "inner_folds", "ablation", "ablation_table", "ABLATION_EXPERIMENTS"]

MODEL_NAMES = ("node", "node-structured", "baseline-gb", "baseline-rf", "mean")
#: The options of ``node-structured``: the pathway-structured field of
#: :class:`nodebio.model.StructuredField`; the chapter "Building biology into the model" shows
#: how they were chosen (by leave-one-strain-out within the training strains, where the learned
#: first-order losses did not help: they are left out).
STRUCTURED_OPTIONS = {"structure": "pathway", "first_order_loss": False}
#: Improvement of the neural ODE over the 2018 pipeline reported by the paper (%).
PAPER_IMPROVEMENT = {"limonene": 94.38, "isopentenol": 97.65}
QUICK_NODE_ITERATIONS = 20
QUICK_TREES = 10


def make_model(name: str, *, seed: int = 0, quick: bool = False, configuration: str = "careful",
               device: str = "auto", **options):
    """A fresh, unfitted model by name: ``node``, ``node-structured``, ``baseline-gb``,
    ``baseline-rf`` or ``mean``.

    ``quick`` makes it small (few iterations or trees) for tests and CI; ``configuration``
    (``"published"`` or ``"careful"``) applies to the baselines; ``options`` go to the model's
    configuration.
    """
    from nodebio.baseline import DerivativeRegressionModel, TrainingMeanModel
    from nodebio.train import NeuralODEModel

    if name in ("node", "node-structured"):
        if name == "node-structured":
            options = {**STRUCTURED_OPTIONS, **options}
        if quick:
            options = {"iterations": QUICK_NODE_ITERATIONS, "eval_every": 5, **options}
        return NeuralODEModel(seed=seed, device=device, **options)
    if name in ("baseline-gb", "baseline-rf"):
        if quick:
            options = {"n_estimators": QUICK_TREES, **options}
        return DerivativeRegressionModel(regressor=name.split("-")[1], configuration=configuration, seed=seed, **options)
    if name == "mean":
        return TrainingMeanModel()
    raise ValueError(f"Unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}.")


def evaluate(model, prepared: _data.PreparedData, splits: Sequence[str] = ("test", "train")):
    """Simulate and score the strains of ``prepared`` with a fitted model.

    Returns (predictions, trajectories, scores): predictions has one row per measured state value
    (``strain, time, variable, measured, predicted, split``); trajectories the simulation on the
    grid next to the preprocessed data (``strain, time, variable, predicted, data, split``);
    scores, per split, the per-state and mean RMSE under every definition, the simulation time
    and the solver status of each strain.
    """
    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
    predictions, trajectories, scores = [], [], {}
    for split in splits:
        grid = getattr(prepared, split)
        started = time.perf_counter()
        predicted = model.simulate(grid)
        seconds = time.perf_counter() - started
        table = metrics.predictions_table(grid.strains, grid.times, predicted, grid.states, grid.measured)
        table["split"] = split
        predictions.append(table)
        for i, strain in enumerate(grid.strains):
            for j, state in enumerate(grid.states):
                trajectories.append(pd.DataFrame({"strain": strain, "time": grid.times, "variable": state,
                                                  "predicted": predicted[i, :, j], "data": grid.x[i, :, j],
                                                  "split": split}))
        at_points = metrics.rmse_at_measurements(table, grid.states)
        scaled = metrics.normalized(at_points, spread)
        integral = metrics.rmse_integral(grid.times, predicted, grid.x, grid.states)
        on_grid = metrics.rmse_on_grid(predicted, grid.x, grid.states)
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
        }
    return pd.concat(predictions, ignore_index=True), pd.concat(trajectories, ignore_index=True), scores


def _variants(seeds: Iterable[int]):
    """(model, configuration, seed) of the comparison; the mean is deterministic: one run."""
    seeds = list(seeds)
    for name in ("node", "node-structured"):
        for seed in seeds:
            yield name, "-", seed
    for name in ("baseline-gb", "baseline-rf"):
        for configuration in ("published", "careful"):
            for seed in seeds:
                yield name, configuration, seed
    yield "mean", "-", seeds[0]


def _fit_and_score(name, configuration, seed, prepared, quick, device):
    model = make_model(name, seed=seed, quick=quick, configuration=configuration, device=device)
    started = time.perf_counter()
    if name.startswith("node"):
        model.fit(prepared, progress=False)
    else:
        model.fit(prepared)
    fit_seconds = time.perf_counter() - started
    _, trajectories, scores = evaluate(model, prepared, splits=("test",))
    return model, fit_seconds, scores["test"], trajectories


def _rows(pathway, name, configuration, seed, fit_seconds, score, held_out):
    rows = []
    for state in score["rmse_measured"]:
        rows.append({
            "pathway": pathway, "held_out": held_out, "model": name, "configuration": configuration,
            "seed": seed, "state": state,
            "rmse_integral": score["rmse_integral"][state], "rmse_measured": score["rmse_measured"][state],
            "rmse_scaled": score["rmse_scaled"][state],
            "status": "; ".join(score["status"]), "fit_seconds": fit_seconds,
            "simulate_seconds": score["simulate_seconds"],
        })
    return rows


def leave_one_strain_out(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, quick: bool = False,
                         seed: int = 0, device: str = "auto", progress: bool = True,
                         data_dir=None) -> pd.DataFrame:
    """Every strain held out in turn (trained on the other two): the neural ODE (both variants),
    the careful gradient-boosting baseline and the training-strain mean. One row per (pathway, held-out
    strain, model, state)."""
    from tqdm import tqdm

    cases = [(p, s) for p in pathways for s in _data.PATHWAYS[p].strains]
    rows = []
    for pathway, held_out in tqdm(cases, desc="leave one strain out", disable=not progress):
        dataset = _data.load(pathway, data_dir=data_dir)
        train = [s for s in dataset.strains if s != held_out]
        prepared = _data.prepare(dataset, train, [held_out], state_scaling="standardize", control_scaling="log1p")
        for name, configuration in (("node", "-"), ("node-structured", "-"), ("baseline-gb", "careful"), ("mean", "-")):
            _, fit_seconds, score, _ = _fit_and_score(name, configuration, seed, prepared, quick, device)
            rows.extend(_rows(pathway, name, configuration, seed, fit_seconds, score, held_out))
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over metabolites of each score per run, then mean ± sd over seeds, per model."""
    keys = ["pathway", "held_out", "model", "configuration"]
    per_run = (results.groupby(keys + ["seed"], sort=False)[["rmse_integral", "rmse_measured", "rmse_scaled"]]
               .agg(lambda v: v.mean(skipna=False)).reset_index())
    parts = []
    for column in ("rmse_integral", "rmse_scaled"):
        stats = metrics.mean_sd(per_run, keys, column).rename(
            columns={"mean": f"{column}_mean", "sd": f"{column}_sd", "count": "seeds"})
        parts.append(stats.set_index(keys))
    summary = pd.concat(parts, axis=1)
    summary = summary.loc[:, ~summary.columns.duplicated()].reset_index()
    runs = results.drop_duplicates(keys + ["seed"])
    status = runs.groupby(keys, sort=False)["status"].agg(
        lambda s: "ok" if (s == "ok").all() else f"{(s != 'ok').sum()} of {len(s)} runs: " + "; ".join(sorted(set(s) - {"ok"})))
    return summary.merge(status.reset_index(), on=keys)


NODE_MODELS = ("node", "node-structured")


def improvements(summary: pd.DataFrame, models: Sequence[str] = NODE_MODELS) -> pd.DataFrame:
    """Improvement (%) of each neural ODE variant in the summary (``models``, those present) over
    every other model (the references), per pathway, both definitions, next to the paper's
    reported number."""
    rows = []
    for pathway, part in summary.groupby("pathway", sort=False):
        references = part[~part["model"].isin(models)]
        for variant in [m for m in models if (part["model"] == m).any()]:
            node = part[part["model"] == variant].iloc[0]
            for _, ref in references.iterrows():
                rows.append({
                    "model": variant,
                    "pathway": pathway,
                    "reference": ref["model"] + ("" if ref["configuration"] == "-" else f" ({ref['configuration']})"),
                    "improvement_integral_%": metrics.improvement(node["rmse_integral_mean"], ref["rmse_integral_mean"]),
                    "improvement_scaled_%": metrics.improvement(node["rmse_scaled_mean"], ref["rmse_scaled_mean"]),
                    "paper_%": PAPER_IMPROVEMENT.get(pathway, np.nan),
                })
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [f"{v:.{digits}g}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reproduce(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 5, first_seed: int = 0,
              quick: bool = False, loso: bool = True, out: str | Path | None = "results", device: str = "auto",
              progress: bool = True, data_dir=None) -> dict:
    """Run the paper's comparison; returns and (with ``out``) writes the tables.

    For each pathway, on the paper's split (train low + high producer, test the medium one):
    the neural ODE (plain and pathway-structured) with ``seeds`` seeds (``first_seed``, ``first_seed + 1``, ...), both baselines in both configurations with the same
    seeds, the training-strain mean; then (``loso``) :func:`leave_one_strain_out`.
    Files in ``out``: ``results.csv`` (one row per run and metabolite), ``summary.csv``,
    ``improvement.csv``, ``loso.csv``, ``results.json`` and ``results.md`` (the tables, with the
    paper's numbers next to ours).
    """
    from tqdm import tqdm

    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    unknown = [p for p in pathways if p not in _data.PATHWAYS]
    if unknown:
        raise _data.DataValidationError(_data._unknown_message("pathway", unknown, list(_data.PATHWAYS)))
    started = time.perf_counter()
    rows, trajectories = [], []
    jobs = [(p, *v) for p in pathways for v in _variants(range(first_seed, first_seed + seeds))]
    prepared_by_pathway = {}
    for pathway, name, configuration, seed in tqdm(jobs, desc="reproduce", disable=not progress):
        if pathway not in prepared_by_pathway:
            prepared_by_pathway[pathway] = _data.prepare(_data.load(pathway, data_dir=data_dir),
                                                         state_scaling="standardize", control_scaling="log1p")
        prepared = prepared_by_pathway[pathway]
        _, fit_seconds, score, trajectory = _fit_and_score(name, configuration, seed, prepared, quick, device)
        held_out = ",".join(prepared.test.strains)
        rows.extend(_rows(pathway, name, configuration, seed, fit_seconds, score, held_out))
        trajectory = trajectory.assign(pathway=pathway, model=name, configuration=configuration, seed=seed)
        trajectories.append(trajectory)
    results = pd.DataFrame(rows)
    summary = summarize(results)
    gains = improvements(summary)
    loso_table = (leave_one_strain_out(pathways, quick=quick, seed=first_seed, device=device, progress=progress,
                                       data_dir=data_dir) if loso else None)
    output = {"results": results, "summary": summary, "improvement": gains,
              "trajectories": pd.concat(trajectories, ignore_index=True), "loso": loso_table,
              "seconds": time.perf_counter() - started,
              "settings": {"pathways": list(pathways), "seeds": seeds, "first_seed": first_seed, "quick": quick,
                           "device": device}}
    if out is not None:
        write_results(output, Path(out))
    return output


def loso_summary(loso_table: pd.DataFrame) -> pd.DataFrame:
    """Mean scaled RMSE per (pathway, held-out strain, model), and whether each neural ODE variant
    beats the training-strain mean."""
    table = loso_table.groupby(["pathway", "held_out", "model"], sort=False)["rmse_scaled"].mean().unstack("model")
    for variant in NODE_MODELS:
        if variant in table:
            table[f"{variant} beats mean"] = table[variant] < table["mean"]
    return table.reset_index()


def write_results(output: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    output["results"].to_csv(out / "results.csv", index=False)
    output["summary"].to_csv(out / "summary.csv", index=False)
    output["improvement"].to_csv(out / "improvement.csv", index=False)
    output["trajectories"].to_csv(out / "trajectories.csv", index=False)
    document = {"settings": output["settings"], "seconds": output["seconds"],
                "summary": output["summary"].to_dict(orient="records"),
                "improvement": output["improvement"].to_dict(orient="records"),
                "paper_improvement_%": PAPER_IMPROVEMENT}
    sections = [
        "# Reproduction of the neural ODE vs 2018 pipeline comparison",
        f"Settings: {json.dumps(output['settings'])}; {output['seconds']:.0f} s.",
        "## Held-out medium strain: mean RMSE over metabolites (mean and sd over seeds)",
        _markdown(output["summary"]),
        "## Improvement of the neural ODE over each reference (%), next to the paper's",
        _markdown(output["improvement"]),
    ]
    if output.get("loso") is not None:
        output["loso"].to_csv(out / "loso.csv", index=False)
        loso = loso_summary(output["loso"])
        document["loso"] = loso.to_dict(orient="records")
        sections += ["## Leave one strain out: mean scaled RMSE", _markdown(loso)]
    (out / "results.json").write_text(json.dumps(document, indent=2, default=float))
    (out / "results.md").write_text("\n\n".join(sections) + "\n")


# ---------------------------------------------------------------------------------------------
# Ensembles and the ablation of the accuracy push
# ---------------------------------------------------------------------------------------------


_STRUCTURED = {"model": "node-structured"}
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
}
#: The tiny grid of quick runs (tests, CI).
QUICK_ABLATION = ("plain (default)", "structured (default)")


class SeedEnsemble:
    """The average of ``members`` neural ODEs that differ only in their seed.

    Member k is ``make_model(name, seed=seed * 1000 + k, **options)``; ``simulate`` returns the
    mean of the members' simulations (original units), with the signature of
    :meth:`nodebio.train.NeuralODEModel.simulate`.
    """

    def __init__(self, name: str = "node", members: int = 3, *, seed: int = 0, quick: bool = False,
                 device: str = "auto", **options):
        if members < 1:
            raise ValueError(f"members must be at least 1, got {members}.")
        self.name, self.seed = name, seed
        self.models = [make_model(name, seed=seed * 1000 + k, quick=quick, device=device, **options)
                       for k in range(members)]
        self.config = self.models[0].config
        self.fit_seconds = None

    def fit(self, prepared: _data.PreparedData, progress: bool = False) -> "SeedEnsemble":
        started = time.perf_counter()
        for member in self.models:
            member.fit(prepared, progress=progress)
        self.fit_seconds = time.perf_counter() - started
        return self

    def simulate(self, trajectories: _data.Trajectories, **kwargs) -> np.ndarray:
        return np.mean([member.simulate(trajectories, **kwargs) for member in self.models], axis=0)


def inner_folds(pathway: str, data_dir=None) -> list[tuple[str, _data.PreparedData]]:
    """Leave-one-strain-out within the training strains of the paper's split: for each training
    strain, a split that trains on the other training strain(s) and holds it out. The paper's test
    strain (L2, I2) appears in none of them, so choices made on these folds never see it."""
    dataset = _data.load(pathway, data_dir=data_dir)
    train, _ = _data.default_split(dataset)
    folds = []
    for held in train:
        rest = [s for s in train if s != held]
        folds.append((held, _data.prepare(dataset, rest, [held], state_scaling="standardize", control_scaling="log1p")))
    return folds


def _scaled_score(model, prepared: _data.PreparedData, options: dict) -> float:
    state_scaling = options.get("state_scaling", "standardize")
    if state_scaling != prepared.state_scaler.method:
        prepared = _data.prepare(prepared.dataset, prepared.train.strains, prepared.test.strains,
                                 state_scaling=state_scaling, control_scaling="log1p")
    model.fit(prepared, progress=False)
    _, _, scores = evaluate(model, prepared, splits=("test",))
    return scores["test"]["mean_rmse_scaled"], scores["test"]["mean_rmse_integral"]


def ablation(experiments: dict[str, dict], pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 1,
             first_seed: int = 0, quick: bool = False, test: bool = True, device: str = "cpu",
             progress: bool = True, data_dir=None) -> pd.DataFrame:
    """Score neural ODE configurations by leave-one-strain-out within the training strains, and
    (``test``) on the paper's held-out strain, for the record only.

    experiments : ``{label: options}``; options go to :func:`make_model`, with two extra keys:
        ``model`` (``"node"`` by default, or ``"node-structured"``) and ``ensemble`` (number of
        seeds averaged, :class:`SeedEnsemble`; 1 by default).
    Returns one row per (experiment, pathway, seed, split): ``split`` is ``"inner:<strain>"`` for
    the inner folds and ``"test"``; scores are the mean scaled and integral RMSE over metabolites.
    """
    from tqdm import tqdm

    jobs = []
    for pathway in pathways:
        splits = [(f"inner:{held}", p) for held, p in inner_folds(pathway, data_dir)]
        if test:
            dataset = _data.load(pathway, data_dir=data_dir)
            splits.append(("test", _data.prepare(dataset, state_scaling="standardize", control_scaling="log1p")))
        for label, options in experiments.items():
            for seed in range(first_seed, first_seed + seeds):
                for split, prepared in splits:
                    jobs.append((label, options, pathway, seed, split, prepared))
    rows = []
    for label, options, pathway, seed, split, prepared in tqdm(jobs, desc="ablation", disable=not progress):
        options = dict(options)
        name, members = options.pop("model", "node"), options.pop("ensemble", 1)
        if members > 1:
            model = SeedEnsemble(name, members, seed=seed, quick=quick, device=device, **options)
        else:
            model = make_model(name, seed=seed, quick=quick, device=device, **options)
        started = time.perf_counter()
        try:
            scaled, integral = _scaled_score(model, prepared, options)
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
    return table.reset_index()
