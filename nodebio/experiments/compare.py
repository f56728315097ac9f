"""The head-to-head: every model scored the same way, and the paper's comparison reproduced.

All models share one shape (``fit(prepared)``, ``simulate(trajectories)``), so one function,
:func:`nodebio.metrics.evaluate`, scores any of them on the held-out strains, and :func:`reproduce` runs the
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
from nodebio import store as _store
from nodebio.errors import unknown_message
from nodebio.models.registry import NEURAL_MODELS, make_model

__all__ = ["PAPER_IMPROVEMENT", "NODE_MODELS", "reproduce", "leave_one_strain_out", "fit_and_score", "score_rows",
           "summarize", "improvements", "loso_summary", "write_results", "markdown_table"]

#: The neural ODE variants whose improvement over every reference the comparison reports.
NODE_MODELS = NEURAL_MODELS

#: Improvement of the neural ODE over the 2018 pipeline reported by the paper (%).
PAPER_IMPROVEMENT = {"limonene": 94.38, "isopentenol": 97.65}


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
    model = _store.fit(model, prepared, store=store, device=device, progress=False)
    fit_seconds = (model.fit_seconds if getattr(model, "from_store_", False) and model.fit_seconds is not None
                   else time.perf_counter() - started)
    _, trajectories, scores = metrics.evaluate(model, prepared, splits=("test",))
    return model, fit_seconds, scores["test"], trajectories


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
            "status": "; ".join(score["status"]), "fit_seconds": fit_seconds,
            "simulate_seconds": score["simulate_seconds"],
        })
    return rows


def leave_one_strain_out(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, quick: bool = False,
                         seed: int = 0, device: str = "auto", progress: bool = True,
                         data_dir=None, store=None) -> pd.DataFrame:
    """Every strain held out in turn (trained on the other two): the neural ODE (both variants),
    the careful gradient-boosting baseline and the training-strain mean. One row per (pathway, held-out
    strain, model, state)."""
    from tqdm import tqdm

    cases = [(p, s) for p in pathways for s in _data.PATHWAYS[p].strains]
    rows = []
    for pathway, held_out in tqdm(cases, desc="leave one strain out", disable=not progress):
        dataset = _data.load(pathway, data_dir=data_dir)
        train = [s for s in dataset.strains if s != held_out]
        prepared = _data.prepare(dataset, train, [held_out])
        for name, configuration in (("node", "-"), ("node-structured", "-"), ("baseline-gb", "careful"), ("mean", "-")):
            _, fit_seconds, score, _ = fit_and_score(name, configuration, seed, prepared, quick, device, store)
            rows.extend(score_rows(pathway, name, configuration, seed, fit_seconds, score, held_out))
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


def markdown_table(frame: pd.DataFrame, digits: int = 3) -> str:
    """A DataFrame as a Markdown table, numbers to ``digits`` significant digits."""
    columns = list(frame.columns)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for _, row in frame.iterrows():
        cells = [f"{v:.{digits}g}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reproduce(pathways: Sequence[str] = tuple(_data.PATHWAYS), *, seeds: int = 5, first_seed: int = 0,
              quick: bool = False, loso: bool = True, out: str | Path | None = "results", device: str = "auto",
              progress: bool = True, data_dir=None, store=None) -> dict:
    """Run the paper's comparison; returns and (with ``out``) writes the tables.

    For each pathway, on the paper's split (train low + high producer, test the medium one):
    the neural ODE (plain and pathway-structured) with ``seeds`` seeds (``first_seed``, ``first_seed + 1``, ...), both baselines in both configurations with the same
    seeds, the training-strain mean; then (``loso``) :func:`leave_one_strain_out`.
    Files in ``out``: ``results.csv`` (one row per run and metabolite), ``summary.csv``,
    ``improvement.csv``, ``loso.csv``, ``results.json`` and ``results.md`` (the tables, with the
    paper's numbers next to ours). ``store``: as for :func:`fit_and_score` (every fit of the
    comparison goes through it; by default ``$NODEBIO_STORE`` when set).
    """
    from tqdm import tqdm

    if seeds < 1:
        raise ValueError(f"seeds must be at least 1, got {seeds}.")
    unknown = [p for p in pathways if p not in _data.PATHWAYS]
    if unknown:
        raise _data.DataValidationError(unknown_message("pathway", unknown, list(_data.PATHWAYS)))
    started = time.perf_counter()
    rows, trajectories = [], []
    jobs = [(p, *v) for p in pathways for v in _variants(range(first_seed, first_seed + seeds))]
    prepared_by_pathway = {}
    for pathway, name, configuration, seed in tqdm(jobs, desc="reproduce", disable=not progress):
        if pathway not in prepared_by_pathway:
            prepared_by_pathway[pathway] = _data.prepare(_data.load(pathway, data_dir=data_dir))
        prepared = prepared_by_pathway[pathway]
        _, fit_seconds, score, trajectory = fit_and_score(name, configuration, seed, prepared, quick, device, store)
        held_out = ",".join(prepared.test.strains)
        rows.extend(score_rows(pathway, name, configuration, seed, fit_seconds, score, held_out))
        trajectory = trajectory.assign(pathway=pathway, model=name, configuration=configuration, seed=seed)
        trajectories.append(trajectory)
    results = pd.DataFrame(rows)
    summary = summarize(results)
    gains = improvements(summary)
    loso_table = (leave_one_strain_out(pathways, quick=quick, seed=first_seed, device=device, progress=progress,
                                       data_dir=data_dir, store=store) if loso else None)
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
        markdown_table(output["summary"]),
        "## Improvement of the neural ODE over each reference (%), next to the paper's",
        markdown_table(output["improvement"]),
    ]
    if output.get("loso") is not None:
        output["loso"].to_csv(out / "loso.csv", index=False)
        loso = loso_summary(output["loso"])
        document["loso"] = loso.to_dict(orient="records")
        sections += ["## Leave one strain out: mean scaled RMSE", markdown_table(loso)]
    (out / "results.json").write_text(json.dumps(document, indent=2, default=float))
    (out / "results.md").write_text("\n\n".join(sections) + "\n")
