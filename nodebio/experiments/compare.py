"""The head-to-head: every model scored the same way, and the paper's comparison reproduced.

All models share one shape (``fit(prepared)``, ``simulate(trajectories)``), so one function,
:func:`nodebio.metrics.evaluate`, scores any of them on the held-out strains, and :func:`reproduce`
runs the paper's comparison: for both pathways, the neural ODEs over several seeds; the 2018
baseline (both regressor families; as published, with the published feature lists, careful, and
tuned by the inner folds); TPOT from its artifact (``TPOT, 30-s search`` while the artifact is a
search bounded in time, not the published one); Costello & Garcia Martin's
kinetic model (limonene); the model-free references (training mean, persistence, nearest strain,
zero); all evaluated on the held-out medium strain, plus leave-one-strain-out. The statistics and
the verdict are computed by :mod:`nodebio.experiments.verdict`.

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
from nodebio import store as _store
from nodebio.errors import UsageError, unknown_message
from nodebio.experiments import claims as _claims
from nodebio.experiments import verdict as _verdict
from nodebio.models.registry import NEURAL_MODELS, REFERENCE_MODELS, make_model, prepare_like

__all__ = ["PAPER_IMPROVEMENT", "NODE_MODELS", "reproduce", "leave_one_strain_out", "fit_and_score", "score_rows",
           "summarize", "improvements", "loso_summary", "write_results", "markdown_table", "check_results_folder",
           "MANIFEST", "tpot_configuration"]

#: The file of a results folder that lists what :func:`write_results` wrote (name and sha256 of each).
MANIFEST = "manifest.json"

#: The neural ODE variants whose improvement over every reference the comparison reports.
NODE_MODELS = NEURAL_MODELS

#: Improvement of the neural ODE over the 2018 pipeline reported by the paper (%).
PAPER_IMPROVEMENT = {"limonene": 94.38, "isopentenol": 97.65}


#: Mechanistic references and the pathways they cover: Costello & Garcia Martin's kinetic model
#: (:mod:`nodebio.models.kinetic`) exists for the limonene pathway only.
MECHANISTIC = {"costello-kinetic": ("limonene",)}
def _variants(seeds: Iterable[int], pathway: str):
    """(model, configuration, seed) of the comparison on ``pathway``. Configuration ``"tuned"``: the
    careful baseline with the options :func:`nodebio.experiments.ablation.tune` chose by the inner
    folds. The model-free references are deterministic: one run each."""
    seeds = list(seeds)
    for name in NEURAL_MODELS:
        for seed in seeds:
            yield name, "-", seed
    configurations = ("published", "published-features", "careful", "tuned")
    for name in ("baseline-gb", "baseline-rf"):
        for configuration in configurations:
            for seed in seeds:
                yield name, configuration, seed
    for name, pathways in MECHANISTIC.items():
        if pathway in pathways:
            for configuration in ("published", "careful"):
                for seed in seeds:
                    yield name, configuration, seed
    for name in REFERENCE_MODELS:
        yield name, "-", seeds[0]


def fit_and_score(name: str, configuration: str, seed: int, prepared: _data.PreparedData, quick: bool = False,
                  device: str = "auto", store=None, **options):
    """Make, fit and score one model on the held-out strains of ``prepared``:
    (model, fit seconds, the test scores of :func:`nodebio.metrics.evaluate`, trajectories).

    ``store``: a folder or :class:`nodebio.store.ModelStore` to take the fitted model from (and
    save it to); None uses ``$NODEBIO_STORE`` when set, else fits afresh. A model from the store
    has ``from_store_`` True and reports the seconds of its original fit.
    """
    model = make_model(name, seed=seed, quick=quick, configuration=configuration, device=device, **options)
    started = time.perf_counter()
    own = _own_states(model, prepared)
    model = _store.fit(model, own, store=store, device=device, progress=False)
    fit_seconds = (model.fit_seconds if getattr(model, "from_store_", False) and model.fit_seconds is not None
                   else time.perf_counter() - started)
    if own is not prepared:
        model = _ScoredOn(model, own)
    predictions, trajectories, scores = metrics.evaluate(model, prepared, splits=("test",))
    score = {**scores["test"], "predictions": predictions}
    return model, fit_seconds, score, trajectories


def _own_states(model, prepared: _data.PreparedData) -> _data.PreparedData:
    """The data a model simulates: ``prepared``, except for a model with scalings of its own (the
    kinetic neural ODE takes enzymes in original units), prepared with them, and the 2018 pipeline
    with its published feature lists, which simulates the states of its lists (Mev-P for isopentenol, which this
    comparison leaves out of the scores: the source table copies I3's series into I2)."""
    own = prepare_like(model, prepared)  # e.g. node-kinetic: enzymes in original units
    if own is not prepared or getattr(getattr(model, "config", None), "configuration", None) != "published-features":
        return own
    from nodebio.models.published import published_states

    states = list(published_states(prepared.dataset.name))
    if states == list(prepared.train.states):
        return prepared
    source = prepared.dataset.source
    dataset = _data.load(prepared.dataset.name, states=states, controls=list(prepared.train.controls),
                         data_dir=Path(source).parent if source else None)
    return _data.prepare(dataset, prepared.train.strains, prepared.test.strains, n_points=len(prepared.train.times))


class _ScoredOn:
    """A model fitted on more states than the comparison scores: it simulates the held-out strains
    of its own data and is scored on the comparison's states only (as TPOT's artifact is)."""

    def __init__(self, model, own: _data.PreparedData):
        self.model, self.own = model, own
        self.name, self.fit_seconds = model.name, model.fit_seconds

    def simulate(self, trajectories: _data.Trajectories, **_none) -> np.ndarray:
        grid = self.own.test
        if tuple(trajectories.strains) != tuple(grid.strains):
            raise UsageError(f"{self.name} simulates the held-out strains of its own data only ({', '.join(grid.strains)}).")
        predicted = self.model.simulate(grid)
        self.status_ = list(getattr(self.model, "status_", ["ok"] * len(grid.strains)))
        return predicted[..., [grid.states.index(s) for s in trajectories.states]]


def tpot_configuration(provenance: dict) -> str:
    """The configuration name of a TPOT artifact's runs: ``"published"`` for searches run as
    published (no time bound), else the bound, ``"30-s search"`` for ``max_time_mins=0.5``
    (named ``TPOT, 30-s search`` by ``nodebio.experiments.verdict.label``)."""
    bound = provenance.get("settings", {}).get("max_time_mins")
    if bound is None:
        return "published"
    seconds = float(bound) * 60.0
    return f"{seconds:g}-s search" if seconds < 120 else f"{float(bound):g}-min search"


def _load_artifact(pathway: str):
    """The TPOT artifact of ``pathway`` (:func:`nodebio.experiments.tpot_artifact.load`), or a line
    saying why it is not included (missing or stale); a malformed one raises
    :class:`~nodebio.experiments.tpot_artifact.ArtifactFormatError` (called before any fit)."""
    from nodebio.experiments import tpot_artifact

    try:
        return tpot_artifact.load(pathway)
    except (tpot_artifact.ArtifactMissingError, tpot_artifact.StaleArtifactError) as error:
        return f"not included: {error}"


def _artifact_runs(pathway: str, prepared: _data.PreparedData, frame=None) -> tuple[list, str, str]:
    """The runs of TPOT from its committed artifact (:mod:`nodebio.experiments.tpot_artifact`):
    [(seed, test score, trajectories)], a line saying where they came from, or why none, and their
    configuration (:func:`tpot_configuration`). ``frame``: the artifact as :func:`_load_artifact`
    gave it (loaded here when None)."""
    from nodebio.experiments import tpot_artifact

    frame = _load_artifact(pathway) if frame is None else frame
    if isinstance(frame, str):
        return [], frame, "published"
    runs = []
    for seed in sorted(frame["seed"].unique()):
        model = tpot_artifact.ArtifactModel(frame, int(seed)).fit(prepared)
        table, trajectory, scores = metrics.evaluate(model, prepared, splits=("test",))
        runs.append((int(seed), {**scores["test"], "predictions": table}, trajectory))
    entry = frame.attrs.get("provenance", {})
    configuration = tpot_configuration(entry)
    return runs, (f"{_verdict.tpot_label(configuration)}, from the artifact made {entry.get('created', '?')} with `{entry.get('command', '?')}` "
                  f"(seeds {', '.join(str(s) for s, _, _ in runs)}; TPOT {entry.get('packages', {}).get('tpot', '?')}; "
                  f"{entry.get('time_bound', '')})"), configuration


def score_rows(pathway: str, name: str, configuration: str, seed: int, fit_seconds: float, score: dict,
               held_out: str) -> list[dict]:
    """One row per metabolite of a test score (:func:`nodebio.metrics.evaluate`), labelled with the
    run: the rows of ``results.csv`` and :func:`summarize`."""
    rows = []
    for state in score["rmse_measured"]:
        rows.append({
            "pathway": pathway, "held_out": held_out, "model": name, "configuration": configuration,
            "seed": seed, "state": state,
            "rmse_integral": score["rmse_integral"][state], "rmse_measured": score["rmse_measured"][state],
            "rmse_scaled": score["rmse_scaled"][state],
            "titer_error": score.get("titer_error", np.nan),
            "titer_relative_error": score.get("titer_relative_error", np.nan),
            "status": "; ".join(score["status"]), "fit_seconds": fit_seconds,
            "simulate_seconds": score["simulate_seconds"],
        })
    return rows


#: The models held out strain by strain: the neural ODEs, the careful baseline, every reference.
LOSO_MODELS = (*((name, "-") for name in NEURAL_MODELS), ("baseline-gb", "careful"),
               *((name, "-") for name in REFERENCE_MODELS))


def leave_one_strain_out(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, quick: bool = False,
                         seeds: int = 3, seed: int = 0, device: str = "auto", progress: bool = True,
                         data_dir=None, store=None) -> pd.DataFrame:
    """Every strain held out in turn (trained on the other two): ``LOSO_MODELS``, with ``seeds``
    seeds from ``seed`` (the references once). One row per (pathway, held-out strain, model,
    seed, state). ``store`` as for :func:`fit_and_score`."""
    from tqdm import tqdm

    cases = [(p, s) for p in pathways for s in _data.PATHWAYS[p].strains]
    rows = []
    for pathway, held_out in tqdm(cases, desc="leave one strain out", disable=not progress):
        dataset = _data.load(pathway, data_dir=data_dir)
        train = [s for s in dataset.strains if s != held_out]
        prepared = _data.prepare(dataset, train, [held_out])
        for name, configuration in LOSO_MODELS:
            for run_seed in range(seed, seed + (1 if name in REFERENCE_MODELS else seeds)):
                _, fit_seconds, score, _ = fit_and_score(name, configuration, run_seed, prepared, quick, device,
                                                         store)
                rows.extend(score_rows(pathway, name, configuration, run_seed, fit_seconds, score, held_out))
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over metabolites of each score per run, then mean ± sd over seeds, per model."""
    keys = ["pathway", "held_out", "model", "configuration"]
    columns = ["rmse_integral", "rmse_measured", "rmse_scaled", "titer_error", "titer_relative_error"]
    per_run = (results.groupby(keys + ["seed"], sort=False)[[c for c in columns if c in results]]
               .agg(lambda v: v.mean(skipna=False)).reset_index())
    parts = []
    for column in [c for c in ("rmse_integral", "rmse_scaled", "titer_error", "titer_relative_error")
                   if c in per_run]:
        stats = metrics.mean_sd(per_run, keys, column).rename(
            columns={"mean": f"{column}_mean", "sd": f"{column}_sd", "count": "seeds"})
        parts.append(stats.set_index(keys))
    summary = pd.concat(parts, axis=1)
    summary = summary.loc[:, ~summary.columns.duplicated()].reset_index()
    runs = results.drop_duplicates(keys + ["seed"])
    status = runs.groupby(keys, sort=False)["status"].agg(
        lambda s: "ok" if (s == "ok").all() else f"{(s != 'ok').sum()} of {len(s)} runs: " + "; ".join(sorted(set(s) - {"ok"})))
    return summary.merge(status.reset_index(), on=keys)


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
                    "reference": _verdict.label(ref["model"], ref["configuration"]),
                    "improvement_integral_%": metrics.improvement(node["rmse_integral_mean"], ref["rmse_integral_mean"]),
                    "improvement_scaled_%": metrics.improvement(node["rmse_scaled_mean"], ref["rmse_scaled_mean"]),
                    "improvement_titer_%": metrics.improvement(node.get("titer_error_mean", np.nan),
                                                               ref.get("titer_error_mean", np.nan)),
                    "paper_%": PAPER_IMPROVEMENT.get(pathway, np.nan),
                })
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table, numbers to ``digits`` significant digits."""
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [f"{v:.{digits}g}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reproduce(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 5, first_seed: int = 0,
              quick: bool = False, loso: bool = True, loso_seeds: int | None = None,
              out: str | Path | None = "results", device: str = "auto", progress: bool = True,
              data_dir=None, store=None, overwrite: bool = False, jobs: int | None = None,
              scheduler=None) -> dict:
    """Run the paper's comparison; returns and (with ``out``) writes the tables.

    For each pathway, on the paper's split (train low + high producer, test the medium one): the
    neural ODEs (plain and pathway-structured) with ``seeds`` seeds (``first_seed``,
    ``first_seed + 1``, ...), both baselines as published, careful and tuned by the inner folds
    (:func:`nodebio.experiments.ablation.tune`) with the same seeds, TPOT from its committed
    artifact (:mod:`nodebio.experiments.tpot_artifact`; named by :func:`tpot_configuration`,
    ``TPOT, 30-s search`` for a bounded search), Costello & Garcia Martin's kinetic
    model (limonene; both fits, ``MECHANISTIC``), and every model-free reference (training
    mean, persistence, nearest strain, zero); then (``loso``)
    :func:`leave_one_strain_out` with ``loso_seeds`` seeds (default: ``min(seeds, 3)``).
    Returned tables: ``results`` (one row per run and metabolite), ``predictions`` (every measured
    point of every run), ``trajectories``, ``summary`` (mean and sd over seeds: both RMSE
    definitions and the titer error), ``improvement`` (with bootstrap intervals),
    ``per_metabolite``, ``strongest`` (the strongest reference per metric), ``verdict`` and
    ``hypothesis`` (sentences; in a quick run they begin "In this quick run"), ``tuning``, ``loso``
    and ``loso_improvement`` (the spread over held-out strains the verdict reports; None without
    ``loso``). Files in ``out``: the tables as CSV, ``results.json``, ``results.md`` and
    ``manifest.json`` (:func:`write_results`: the folder is written whole and replaced only with
    ``overwrite``, checked before any work). ``store``: as for :func:`fit_and_score` (every fit of
    the comparison goes through it; by default ``$NODEBIO_STORE`` when set). ``jobs``: worker
    processes (default ``$NODEBIO_JOBS``, else 1); with more than one, the fits that can be listed
    beforehand (:func:`nodebio.plan.reproduce_plan`) run in parallel into the store first (a
    temporary one when there is none), and the comparison then reads them from it: the same tables.
    ``scheduler`` (default ``$NODEBIO_SCHEDULER``): run those fits on a Dask cluster instead
    (:func:`nodebio.plan.execute`), into ``store``, which must be a folder its workers share.
    """
    from nodebio import plan as _plan

    scheduler = _plan.default_scheduler(scheduler)
    if scheduler is not None and _store.default_store(store) is None:
        raise UsageError("A plan on a Dask cluster runs into a model store that every worker can reach: give "
                         "store= (--store) or set $NODEBIO_STORE to a folder on a shared file system.")
    if _plan.default_jobs(jobs) > 1 and _store.default_store(store) is None:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="nodebio-store-") as folder:
            return reproduce(pathways, seeds=seeds, first_seed=first_seed, quick=quick, loso=loso,
                             loso_seeds=loso_seeds, out=out, device=device, progress=progress, data_dir=data_dir,
                             store=folder, overwrite=overwrite, jobs=jobs, scheduler=scheduler)
    if seeds < 1:
        raise UsageError(f"seeds must be at least 1, got {seeds}.")
    unknown = [p for p in pathways if p not in _data.PATHWAYS]
    if unknown:
        raise _data.DataValidationError(unknown_message("pathway", unknown, list(_data.PATHWAYS)))
    if out is not None:
        check_results_folder(Path(out), overwrite=overwrite)
    started = time.perf_counter()
    loaded = {p: _load_artifact(p) for p in pathways}  # a malformed artifact is an error before any fit
    chosen = _store.default_store(store)
    if chosen is not None:
        chosen.check()
    planned = None
    if _plan.default_jobs(jobs) > 1 or scheduler is not None:
        specs = _plan.reproduce_plan(pathways, seeds=seeds, first_seed=first_seed, quick=quick, loso=loso,
                                     loso_seeds=loso_seeds, device=device)
        planned = _plan.execute(specs, store=chosen, jobs=jobs, data_dir=data_dir, progress=progress,
                                scheduler=scheduler)
    runs = _Runs()
    prepared = {p: _data.prepare(_data.load(p, data_dir=data_dir)) for p in pathways}
    fits = [(p, *v) for p in pathways for v in _variants(range(first_seed, first_seed + seeds), p)]
    tuning, from_store = _fit_jobs(fits, prepared, runs, first_seed=first_seed, quick=quick, device=device,
                                   store=store, progress=progress, data_dir=data_dir)
    artifacts = {}
    for pathway in pathways:
        found, artifacts[pathway], configuration = _artifact_runs(pathway, prepared[pathway], loaded[pathway])
        for seed, score, trajectory in found:
            runs.add(pathway, "tpot", configuration, seed, float("nan"), score, trajectory, prepared[pathway])
    output = runs.tables(pathways)
    output["tuning"] = pd.DataFrame([{"pathway": p, "model": m, **o} for (p, m), o in tuning.items()])
    output["loso"] = (leave_one_strain_out(pathways, quick=quick, seeds=loso_seeds or min(seeds, 3),
                                           seed=first_seed, device=device, progress=progress, data_dir=data_dir,
                                           store=store)
                      if loso else None)
    output.update(analyse(output["results"], output["predictions"], output["trajectories"], loso=output["loso"],
                          quick=quick))
    output["seconds"] = time.perf_counter() - started
    output["settings"] = {"pathways": list(pathways), "seeds": seeds, "first_seed": first_seed, "quick": quick,
                          "loso_seeds": (loso_seeds or min(seeds, 3)) if loso else 0, "device": device,
                          "fits": len(fits), "fits_from_store": from_store, "tpot_artifact": artifacts,
                          "plan": planned}
    if out is not None:
        write_results(output, Path(out), overwrite=overwrite)
    return output


class _Runs:
    """The runs of the comparison as they come: rows per metabolite, measured points, trajectories."""

    def __init__(self):
        self.rows, self.predictions, self.trajectories = [], [], []

    def add(self, pathway, name, configuration, seed, fit_seconds, score, trajectory, prepared) -> None:
        held_out = ",".join(prepared.test.strains)
        self.rows.extend(score_rows(pathway, name, configuration, seed, fit_seconds, score, held_out))
        labels = dict(pathway=pathway, model=name, configuration=configuration, seed=seed)
        self.predictions.append(score["predictions"].assign(**labels))
        self.trajectories.append(trajectory.assign(**labels))

    def tables(self, pathways: Sequence[str]) -> dict:
        order = {p: i for i, p in enumerate(pathways)}
        results = pd.DataFrame(self.rows).sort_values("pathway", key=lambda s: s.map(order), kind="stable")
        return {"results": results, "predictions": pd.concat(self.predictions, ignore_index=True),
                "trajectories": pd.concat(self.trajectories, ignore_index=True)}


def _fit_jobs(jobs, prepared: dict, runs: _Runs, *, first_seed, quick, device, store, progress,
              data_dir) -> tuple[dict, int]:
    """Fit and score every (pathway, model, configuration, seed) job into ``runs``; the tuned
    baselines' options are chosen once per pathway. Returns (tuning, fits that came from the store)."""
    from tqdm import tqdm

    from nodebio.experiments.ablation import tune

    tuning, from_store = {}, 0
    for pathway, name, configuration, seed in tqdm(jobs, desc="reproduce", disable=not progress):
        options = {}
        if configuration == "tuned":
            if (pathway, name) not in tuning:
                tuning[(pathway, name)] = tune(name, pathway, seed=first_seed, quick=quick, data_dir=data_dir)[0]
            options = tuning[(pathway, name)]
        model, fit_seconds, score, trajectory = fit_and_score(
            name, "careful" if configuration == "tuned" else configuration, seed, prepared[pathway], quick, device,
            store, **options)
        from_store += bool(getattr(model, "from_store_", False))
        runs.add(pathway, name, configuration, seed, fit_seconds, score, trajectory, prepared[pathway])
    return tuning, from_store


def analyse(results: pd.DataFrame, predictions: pd.DataFrame, trajectories: pd.DataFrame, *,
            loso: pd.DataFrame | None = None, quick: bool = False) -> dict:
    """The tables computed from the runs: summary, improvement (with block-bootstrap intervals,
    titer included), per-metabolite errors, the strongest references, the verdict and the
    hypothesis, and the paper's claims this run can answer (``claims``,
    :func:`nodebio.experiments.claims.claims_table`: the margins, the back-computed score, the stored
    run's numbers; speed and regularisation come from their own runs); with ``loso``
    (:func:`leave_one_strain_out`) the spread over held-out strains (``loso_improvement``,
    :func:`nodebio.experiments.verdict.loso_improvements`) beside the verdict."""
    summary = summarize(results)
    gains = _verdict.bootstrap_improvements(predictions, trajectories, improvements(summary), results=results)
    spread = (_verdict.loso_improvements(loso, ("mean",), NODE_MODELS) if loso is not None and len(loso)
              else None)
    return {"summary": summary, "improvement": gains,
            "per_metabolite": _verdict.per_metabolite(results),
            "strongest": _verdict.strongest_references(summary, NODE_MODELS),
            "assessment": _verdict.assessment(summary, gains, PAPER_IMPROVEMENT, NODE_MODELS),
            "loso_improvement": spread,
            "verdict": _verdict.verdict(summary, gains, PAPER_IMPROVEMENT, NODE_MODELS, loso=spread, quick=quick),
            "hypothesis": _verdict.hypothesis(summary, PAPER_IMPROVEMENT, NODE_MODELS, quick=quick),
            "claims": _claims.claims_table(improvement=gains, results=results, neural=NODE_MODELS, quick=quick)}


def loso_summary(loso_table: pd.DataFrame) -> pd.DataFrame:
    """Mean scaled RMSE per (pathway, held-out strain, model) over seeds, the best model-free
    reference, and, by the rule of :func:`nodebio.experiments.verdict.decide` (the interval over
    seeds of the difference excludes zero), how each neural ODE variant compares with the
    training-strain mean (``<variant> vs mean``: ``lower``, ``higher``, ``indistinguishable`` or
    ``missing``) and whether it beats it and the best model-free reference (``beats`` only when its
    error is lower by the rule; a lower mean within the seeds' noise is not a win)."""
    per_seed = loso_table.groupby(["pathway", "held_out", "model", "seed"], sort=False)["rmse_scaled"].mean()
    table = per_seed.groupby(["pathway", "held_out", "model"], sort=False).mean().unstack("model")
    present = [m for m in REFERENCE_MODELS if m in table]
    if present:
        table["best reference"] = table[present].idxmin(axis=1)
    words = {"above": "lower", "below": "higher", "indistinguishable": "indistinguishable", "missing": "missing"}
    for variant in NODE_MODELS:
        if variant not in table:
            continue
        outcomes = {"mean": [], "best": []}
        for pathway, held_out in table.index:
            def seeds(model):
                return per_seed.get((pathway, held_out, model), pd.Series(dtype=float)).to_numpy(dtype=float)

            mine = seeds(variant)
            outcomes["mean"].append(_verdict.bootstrap_difference(mine, seeds("mean")).outcome)
            best = table.loc[(pathway, held_out), "best reference"] if present else None
            outcomes["best"].append(_verdict.bootstrap_difference(mine, seeds(best)).outcome if best else "missing")
        table[f"{variant} vs mean"] = [words[o] for o in outcomes["mean"]]
        table[f"{variant} beats mean"] = [o == "above" for o in outcomes["mean"]]
        if present:
            table[f"{variant} beats best reference"] = [o == "above" for o in outcomes["best"]]
    return table.reset_index()


def check_results_folder(out: str | Path, *, overwrite: bool = False) -> Path:
    """Raise unless :func:`write_results` may write ``out``: a writable path, and either empty or new,
    or (with ``overwrite``) holding results of :func:`write_results` (its :data:`MANIFEST`); a folder
    of other files is never replaced. Returns the folder to write (a link's target)."""
    from nodebio.errors import RunExistsError
    from nodebio.runs import check_output_folder

    out = Path(out)
    if out.is_symlink():
        out = out.resolve()
    check_output_folder(out)
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).is_file():
            raise RunExistsError(f"{out} holds files but no {MANIFEST}: nodebio never replaces a folder it did not "
                                 "write; give an empty or new --out.")
        if not overwrite:
            raise RunExistsError(f"{out} already holds results of `nodebio reproduce`; give --overwrite "
                                 "(overwrite=True) to replace them (the old results stay until the new ones are "
                                 "complete), or another --out.")
    return out


def write_results(output: dict, out: Path, *, overwrite: bool = False) -> list[str]:
    """Write the tables of :func:`reproduce` as CSV files, ``results.json``, ``results.md`` and
    :data:`MANIFEST` (the name and sha256 of every file written) into ``out``, whole: into a
    staging folder beside it, then renamed into place, so that ``out`` never mixes files of two
    runs. An ``out`` holding files is replaced only when it holds earlier results and ``overwrite``
    (:func:`check_results_folder`). Returns the names of the files written."""
    from nodebio import runs, safeio

    out = check_results_folder(out, overwrite=overwrite)
    staging = runs.staging_folder(out)
    with runs.lock(out):
        runs._remove(staging)
        staging.mkdir(parents=True)
        try:
            written = _write_tables(output, staging)
            manifest = {"format": "nodebio-results-1", "files": {name: _data.file_sha256(staging / name)
                                                                 for name in written}}
            safeio.write_text(staging / MANIFEST, json.dumps(manifest, indent=2))
            check_results_folder(out, overwrite=overwrite)  # again: another process may have written it meanwhile
            runs._move_into_place(staging, out)
        except BaseException:
            runs._remove(staging)
            raise
    return [*written, MANIFEST]


def _write_tables(output: dict, out: Path) -> list[str]:
    written = []
    for name in ("results", "predictions", "trajectories", "summary", "improvement", "per_metabolite", "strongest",
                 "assessment", "tuning"):
        output[name].to_csv(out / f"{name}.csv", index=False)
        written.append(f"{name}.csv")
    document = {"settings": output["settings"], "seconds": output["seconds"], "verdict": output["verdict"],
                "hypothesis": output["hypothesis"],
                **{name: output[name].to_dict(orient="records")
                   for name in ("summary", "improvement", "strongest", "assessment", "tuning")},
                "paper_improvement_%": PAPER_IMPROVEMENT}
    sections = [
        "# Reproduction of the neural ODE vs 2018 pipeline comparison",
        f"Settings: {json.dumps(output['settings'])}; {output['seconds']:.0f} s.",
        "## Verdict", *output["verdict"].values(), *output["hypothesis"].values(),
        "TPOT (its committed artifact): " + "; ".join(f"{p}: {line}" for p, line in output["settings"]["tpot_artifact"].items()),
        "## Held-out medium strain: mean over metabolites (mean and sd over seeds), and the 72-h titer error",
        markdown_table(output["summary"]),
        "## The strongest reference per pathway and metric", markdown_table(output["strongest"]),
        "## Improvement of the neural ODE over each reference (%), 90% bootstrap intervals, next to the paper's",
        markdown_table(output["improvement"]),
        "## Scaled RMSE per metabolite (mean over seeds)", markdown_table(output["per_metabolite"]),
        "## Options the tuned baselines chose by the inner folds", markdown_table(output["tuning"]),
    ]
    if output.get("loso") is not None:
        output["loso"].to_csv(out / "loso.csv", index=False)
        written.append("loso.csv")
        loso = loso_summary(output["loso"])
        document["loso"] = loso.to_dict(orient="records")
        sections += ["## Leave one strain out: mean scaled RMSE", markdown_table(loso)]
    for name, title in (("loso_improvement", "Leave one strain out: the improvement's spread over held-out strains"),
                        ("claims", "The paper's claims beside ours")):
        table = output.get(name)
        if isinstance(table, pd.DataFrame) and not table.empty:
            table.to_csv(out / f"{name}.csv", index=False)
            written.append(f"{name}.csv")
            document[name] = table.to_dict(orient="records")
            sections += [f"## {title}", markdown_table(table)]
    (out / "results.json").write_text(json.dumps(document, indent=2, default=float))
    (out / "results.md").write_text("\n\n".join(sections) + "\n")
    return written + ["results.json", "results.md"]
