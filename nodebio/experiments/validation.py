"""Interventions checked against a known truth: the synthetic pathway.

:func:`validate_on_synthetic` trains ensembles of any registry model on synthetic strains and
compares their predicted single-enzyme intervention effects with the true ones of the mechanistic
model: on held-out strains drawn like the training strains (*in range*) and, with ``n_outside``,
on strains deliberately outside the training range (*out of range*, as L2 is). With
``calibrate`` the intervals are calibrated by inner leave-one-strain-out
(:func:`nodebio.calibration.calibrate`); the members' range and the coverage an ideal ensemble of
that size would reach are reported beside them. With ``recommend_top`` it also checks
:func:`nodebio.recommend.recommend`: the true titer of the best of its top designs against random
designs of the same trust region and against the recommendations of a baseline model.

``python -m nodebio.experiments.validation --mode full [--json FILE]`` prints the validation
table over several data seeds (:func:`validation_table`).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio.errors import UsageError, unknown_message
from nodebio.experiments.verdict import CLEAR_EFFECT_LOG2
from nodebio.interventions import simulate_interventions, single_protein_scan, training_range
from nodebio.models.ensemble import Ensemble

__all__ = ["direction_rule", "intervention_skill", "ValidationResult", "effect_scores", "validate_on_synthetic", "validation_table", "plot_validation", "MODES",
           "main"]

@dataclass
class ValidationResult:
    """Predicted against true intervention effects on held-out synthetic strains.

    summary : one row per number of training strains and group (``in range``, ``out of range``):
        ``training_strains, group, spearman, sign_agreement, fold_change_error, coverage,
        interval_ratio, coverage_members, ideal_coverage, calibrated, calibration_scale, heldout_rmse_scaled,
        scenarios, fit_seconds``.
    details : one row per (training strains, held-out strain, intervention): ``group,
        true_fold_change, fold_change, fold_change_low, fold_change_high, covered, covered_members,
        sign_ok`` (the intervals calibrated when the validation calibrates).
    settings : what produced it. recommendations : one row when recommendations were checked.
    """

    summary: pd.DataFrame
    details: pd.DataFrame
    settings: dict
    recommendations: pd.DataFrame = field(default_factory=pd.DataFrame)


def effect_scores(details: pd.DataFrame, sign_threshold: float) -> dict:
    """The scores of a table of predicted and true effects (one row per strain and intervention).

    ``spearman``: the rank correlation over all rows (NaN for constant predictions), which the
    direction rule alone can reach (see :func:`intervention_skill`, whose scores are added when the
    table has ``strain``, ``protein`` and ``factor`` columns); ``sign_agreement``: over the clear
    effects (above ``sign_threshold`` in ``|log2 fold change|``); ``fold_change_error``: the median
    absolute error of the fold change; ``coverage`` of the intervals and ``interval_ratio``, the
    median ratio of their upper to lower end (their width: coverage alone rewards huge intervals).
    """
    from scipy.stats import spearmanr

    true, pred = details["true_fold_change"].to_numpy(), details["fold_change"].to_numpy()
    finite = np.isfinite(pred)
    varied = finite.sum() > 2 and np.ptp(pred[finite]) > 0 and np.ptp(true[finite]) > 0
    rho = spearmanr(true[finite], pred[finite]).statistic if varied else float("nan")  # a constant has no rank
    clear = np.abs(np.log2(true)) > sign_threshold
    sign_ok = np.sign(true - 1.0) == np.sign(pred - 1.0)
    scores = {
        "spearman": float(rho),
        "sign_agreement": float(sign_ok[clear].mean()) if clear.any() else float("nan"),
        "fold_change_error": float(np.nanmedian(np.abs(pred - true))),
        "coverage": float(details["covered"].mean()),
        "interval_ratio": float(np.nanmedian(details["fold_change_high"] / details["fold_change_low"]))
        if "fold_change_high" in details else float("nan"),
    }
    if {"strain", "protein", "factor"} <= set(details.columns):
        scores.update(intervention_skill(details, sign_threshold))
    return scores


def direction_rule(factors) -> np.ndarray:
    """The model-free reference for interventions: "more enzyme, more product", every enzyme alike.
    Its predicted fold change is the factor itself (a rank and a sign, nothing more)."""
    return np.asarray(factors, dtype=float)


def intervention_skill(details: pd.DataFrame, sign_threshold: float) -> dict:
    """What a metabolic engineer needs of predicted effects, beside the direction rule's scores on
    the same effects (:func:`direction_rule`), from a table with the columns ``strain``,
    ``protein``, ``factor``, ``true_fold_change`` and ``fold_change``.

    * ``within_factor``: which enzyme matters. For every strain and factor, the rank correlation of
      the predicted and the true fold changes across the proteins, averaged (NaN where either is
      constant, as the direction rule is: it cannot rank enzymes at one factor).
    * ``sign`` and ``rule_sign``: sign agreement on the clear effects (``|log2 true|`` above
      ``sign_threshold``), of the model and of the direction rule.
    * ``rule_spearman``: the direction rule's rank correlation over all rows, the level the
      model's ``spearman`` has to beat to say anything beyond the direction.
    * ``effect_error``: the median absolute error of the effect in log2 units.
    * ``true_against_rule`` and ``predicted_against_rule``: the clear effects, true and predicted,
      whose sign goes against the direction rule (more enzyme, less product), per strain.
    """
    from scipy.stats import spearmanr

    true = details["true_fold_change"].to_numpy(dtype=float)
    pred = details["fold_change"].to_numpy(dtype=float)
    rule = direction_rule(details["factor"])
    within = []
    for _, rows in details.groupby(["strain", "factor"], sort=False):
        t, p = rows["true_fold_change"].to_numpy(float), rows["fold_change"].to_numpy(float)
        if len(rows) > 2 and np.isfinite(p).all() and np.ptp(t) > 0 and np.ptp(p) > 0:
            within.append(spearmanr(t, p).statistic)
    clear = np.abs(np.log2(true)) > sign_threshold
    direction = np.sign(rule - 1.0)
    strains = details["strain"].nunique()
    varied = np.ptp(true) > 0 and np.ptp(rule) > 0
    return {
        "within_factor": float(np.mean(within)) if within else float("nan"),
        "sign": float((np.sign(pred - 1.0) == np.sign(true - 1.0))[clear].mean()) if clear.any() else float("nan"),
        "rule_sign": float((direction == np.sign(true - 1.0))[clear].mean()) if clear.any() else float("nan"),
        "rule_spearman": float(spearmanr(true, rule).statistic) if varied else float("nan"),
        "effect_error": float(np.nanmedian(np.abs(np.log2(np.clip(pred, 1e-12, None)) - np.log2(true)))),
        "true_against_rule": float((clear & (np.sign(true - 1.0) == -direction)).sum() / strains),
        "predicted_against_rule": float(((np.abs(np.log2(np.clip(pred, 1e-12, None))) > sign_threshold)
                                         & (np.sign(pred - 1.0) == -direction)).sum() / strains),
    }


def validate_on_synthetic(n_training_strains: Sequence[int] = (2, 5, 10, 20), *, n_test_strains: int = 3,
                          n_outside: int = 0, model: str = "node", pathway=None, calibrate: bool = False,
                          recommend_top: int = 0, baseline: str = "baseline-gb", n_random_designs: int = 100,
                          max_fold: float = 4.0, rule: str = "ei", floor: float | None = None,
                          truth_cache: dict | None = None, proteins: Sequence[str] | None = None,
                          factors: Sequence[float] = (0.5, 2.0),
                          members: int = 5, seed: int = 0, data_seed: int | None = None, noise: float = 0.05,
                          level: float = 0.9, bootstrap: bool = False, sign_threshold: float = CLEAR_EFFECT_LOG2,
                          quick: bool = False, progress: bool = True, **options) -> ValidationResult:
    """Train ensembles on synthetic strains and check their single-protein intervention effects.

    From one draw of ``max(n_training_strains) + n_test_strains`` strains of ``pathway`` (a
    :class:`nodebio.synthetic.SyntheticPathway`, the default one when None; noisy measurements,
    ``noise``), the last ``n_test_strains`` are held out (*in range*), and ``n_outside`` more are
    drawn outside the range of the training strains (:meth:`~nodebio.synthetic.SyntheticPathway.sample_outside`;
    *out of range*). For each n in ``n_training_strains`` an ensemble of ``members`` models
    ``model`` (a name of :func:`nodebio.models.make_model`; ``options`` and ``quick`` go to it)
    trains on the first n strains (nested sets). For every held-out strain, protein and factor,
    the predicted fold change of the final product titer (from the measured initial state and
    controls) is compared with the true one (the noise-free mechanistic model with that enzyme
    scaled).

    Scores per n and group (in range, out of range): Spearman rank correlation of predicted and
    true fold changes; sign agreement (up or down) over the effects larger than ``sign_threshold``
    in ``|log2 fold change|`` (by default :data:`nodebio.experiments.verdict.CLEAR_EFFECT_LOG2`,
    a change of about 12%, the one threshold of a clear effect); the median absolute error of the fold change;
    ``coverage``, the fraction of true fold changes inside the intervals (calibrated with
    ``calibrate``, else the members' ``level`` range), ``coverage_members`` that of the members'
    range and ``ideal_coverage`` that of a perfectly calibrated ensemble of ``members``
    (:func:`nodebio.calibration.ideal_coverage`); and the mean scaled RMSE of the ensemble mean on
    the group's strains. ``seed`` is the ensembles' seed, ``data_seed`` that of the synthetic
    strains and their noise (``seed`` when None); ``floor`` that of the calibration's spread
    (``nodebio.calibration.FLOOR`` when None). ``truth_cache``: a dict that keeps the true
    effects between calls on the same strains (the same ``pathway`` and ``data_seed``).

    ``recommend_top`` > 0 checks the recommendations for the first in-range held-out strain with the
    largest training set (:attr:`ValidationResult.recommendations`): the true titer of the best of
    the top ``recommend_top`` designs (rule ``rule``, trust region ``max_fold``), of the top designs
    of a single ``baseline`` model ranked by its predicted titer, and the 50th and 90th percentiles
    of ``n_random_designs`` random designs of the same candidate set.
    """
    from nodebio import calibration as _calibration
    from nodebio import synthetic

    counts = sorted({int(n) for n in n_training_strains})
    if not counts or counts[0] < 1:
        raise UsageError(f"n_training_strains must be positive integers, got {list(n_training_strains)}.")
    if n_test_strains < 1 or n_outside < 0:
        raise UsageError(f"n_test_strains must be at least 1 and n_outside at least 0, got {n_test_strains} "
                         f"and {n_outside}.")
    pathway = pathway or synthetic.SyntheticPathway()
    data_seed = seed if data_seed is None else data_seed
    strains, dataset, groups = _draw(pathway, counts[-1], n_test_strains, n_outside, data_seed, noise)
    proteins = list(proteins or synthetic.ENZYMES)
    unknown = [p for p in proteins if p not in dataset.controls]
    if unknown:
        raise UsageError(unknown_message("protein", unknown, dataset.controls))
    names, test_names = list(dataset.strains), list(groups)
    scan = single_protein_scan(proteins, factors)
    product = dataset.product
    truth = _true_effects(pathway, strains[counts[-1]:], scan, product, {} if truth_cache is None else truth_cache)
    ideal = _calibration.ideal_coverage(members, level)
    fit = {"model": model, "members": members, "seed": seed, "bootstrap": bootstrap, "quick": quick, **options}

    summary, details, recommendations = [], [], []
    for n in counts:
        ensemble = Ensemble(model, members, seed=seed, bootstrap=bootstrap, quick=quick, **options)
        prepared = _prepare(ensemble, dataset, names[:n], test_names)
        ensemble.fit(prepared, progress=progress)
        calibration = _calibration.calibrate(dataset, names[:n], level=level, product=product,
                                             floor=floor or _calibration.FLOOR, **fit) if calibrate else None
        frame = pd.DataFrame(_predicted_effects(ensemble, prepared, scan, product, level, truth, calibration))
        frame.insert(0, "training_strains", n)
        frame.insert(1, "group", frame["strain"].map(groups))
        frame["sign_ok"] = np.sign(frame["true_fold_change"] - 1) == np.sign(frame["fold_change"] - 1)
        details.append(frame)
        summary += _summarise(frame, ensemble, prepared, calibration, ideal, sign_threshold)
        if recommend_top and n == counts[-1]:
            recommendations.append(_check_recommendations(
                ensemble, calibration, dataset, pathway, strains[names.index(test_names[0])], prepared,
                top=recommend_top, baseline=baseline, n_random=n_random_designs, max_fold=max_fold, rule=rule,
                seed=seed, quick=quick, progress=progress))
    settings = {"n_training_strains": counts, "n_test_strains": n_test_strains, "n_outside": n_outside,
                "test_strains": test_names, "model": model, "pathway": _describe(pathway), "calibrate": calibrate,
                "proteins": proteins, "factors": list(map(float, factors)), "members": members, "seed": seed,
                "data_seed": data_seed, "noise": noise, "level": level, "bootstrap": bootstrap,
                "sign_threshold": sign_threshold, "options": dict(options), "recommend_top": recommend_top,
                "baseline": baseline, "rule": rule, "max_fold": max_fold,
                "floor": floor}
    return ValidationResult(pd.DataFrame(summary), pd.concat(details, ignore_index=True), settings,
                            pd.DataFrame(recommendations))


def _draw(pathway, n_train: int, n_test: int, n_outside: int, data_seed: int, noise: float):
    """The strains (training, in range, out of range), their noisy dataset, and the group of
    every held-out strain (``{name: "in range" | "out of range"}``, in order)."""
    from nodebio import synthetic

    drawn = pathway.sample_strains(n_train + n_test, seed=data_seed)
    outside = pathway.sample_outside(n_outside, drawn[:n_train], seed=data_seed) if n_outside else []
    dataset = synthetic.make_dataset(seed=data_seed, noise=noise, pathway=pathway, strains=drawn + outside)
    groups = {s.name: "in range" for s in drawn[n_train:]} | {s.name: "out of range" for s in outside}
    return drawn + outside, dataset, groups


def _summarise(frame: pd.DataFrame, ensemble: Ensemble, prepared, calibration, ideal: float,
               sign_threshold: float) -> list[dict]:
    """The summary rows of one number of training strains, one per group of held-out strains."""
    rows_out = []
    for group, rows in frame.groupby("group", sort=False):
        rows_out.append({"training_strains": int(frame["training_strains"].iloc[0]), "group": group,
                         **effect_scores(rows, sign_threshold),
                         "coverage_members": float(rows["covered_members"].mean()), "ideal_coverage": ideal,
                         "calibrated": bool(calibration is not None and calibration.calibrated),
                         "calibration_scale": calibration.scale["fold_change"] if calibration else float("nan"),
                         "heldout_rmse_scaled": _heldout_rmse(ensemble, prepared, sorted(set(rows["strain"]))),
                         "scenarios": len(rows), "fit_seconds": ensemble.fit_seconds})
    return rows_out


def _prepare(ensemble: Ensemble, dataset, train, test) -> _data.PreparedData:
    from nodebio.models.registry import prepare_for

    return prepare_for(ensemble.members[0], dataset, train, test)


def _describe(pathway) -> dict:
    return {k: getattr(pathway, k) for k in ("design", "feedback", "branch", "burden", "expression_spread")}


def _heldout_rmse(ensemble: Ensemble, prepared, strains: list[str]) -> float:
    """Mean scaled RMSE of the ensemble mean over ``strains`` of ``prepared.test``."""
    from nodebio import metrics

    test = prepared.test.subset(strains)
    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
    table = metrics.predictions_table(test.strains, test.times, ensemble.simulate(test), test.states, test.measured)
    return float(metrics.normalized(metrics.rmse_at_measurements(table, test.states), spread).mean())


def _true_titer(pathway, strain, design_row: pd.Series, proteins: Sequence[str], product: str) -> float:
    from nodebio import synthetic

    scale = {p: float(design_row[p]) for p in proteins if float(design_row[p]) != 1.0}
    return float(pathway.simulate(strain, (0.0, float(synthetic.SAMPLING_HOURS[-1])), scale=scale)[product].iloc[-1])


def _check_recommendations(ensemble, calibration, dataset, pathway, strain, prepared, *, top: int, baseline: str,
                           n_random: int, max_fold: float, rule: str, seed: int, quick: bool, progress: bool) -> dict:
    """True titers of the top recommended designs of ``strain`` (model and baseline) and of random
    designs of the same candidate set."""
    from nodebio import recommend

    product = dataset.product
    # the validation measures how these intervals cover, calibrated or not: force=True (they keep their label)
    ours = recommend.recommend(ensemble, dataset, strain.name, n=None, max_fold=max_fold, calibration=calibration,
                               rule=rule, seed=seed, force=True)
    other = Ensemble(baseline, 1, seed=seed, quick=quick)
    other.fit(_prepare(other, dataset, prepared.train.strains, prepared.test.strains), progress=progress)
    theirs = recommend.recommend(other, dataset, strain.name, n=None, max_fold=max_fold, rule="mean", seed=seed)
    proteins = [c for c in ours.table.columns if c in dataset.controls]
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(ours.table), size=min(n_random, len(ours.table)), replace=False)
    random_titers = [_true_titer(pathway, strain, ours.table.iloc[k], proteins, product) for k in picks]
    best_ours = max(_true_titer(pathway, strain, row, proteins, product) for _, row in ours.table.head(top).iterrows())
    best_theirs = max(_true_titer(pathway, strain, row, proteins, product)
                      for _, row in theirs.table.head(top).iterrows())
    unmodified = float(pathway.simulate(strain, (0.0, 72.0))[product].iloc[-1])
    p90 = float(np.quantile(random_titers, 0.9))
    return {"strain": strain.name, "candidates": len(ours.table), "unmodified": unmodified,
            "best_recommended": best_ours, "best_baseline": best_theirs,
            "random_median": float(np.median(random_titers)), "random_p90": p90, "beats_random_p90": best_ours > p90,
            "beats_baseline": best_ours > best_theirs,
            "interval": ours.interval, "random_titers": tuple(random_titers)}


def _true_effects(pathway, strains, scan, product: str, cache: dict) -> dict:
    """The true fold change of the final product titer of every strain under every scaling of
    ``scan``: ``{(strain, intervention): fold change}``, from the noise-free mechanistic model
    (those already in ``cache`` are taken from it, the others added to it)."""
    from nodebio import synthetic

    end = float(synthetic.SAMPLING_HOURS[-1])
    for strain in strains:
        todo = [iv for iv in scan if (strain.name, str(iv)) not in cache]
        if not todo:
            continue
        reference = pathway.simulate(strain, (0.0, end))[product].iloc[-1]
        for iv in todo:
            change = iv.changes[0]
            scaled = pathway.simulate(strain, (0.0, end), scale={change.protein: change.factor})
            cache[(strain.name, str(iv))] = scaled[product].iloc[-1] / reference
    return cache


def _predicted_effects(ensemble, prepared, scan, product: str, level: float, truth: dict,
                       calibration=None) -> list[dict]:
    """One row per held-out strain and intervention: predicted fold change and interval (calibrated
    when ``calibration`` is given), the members' range, the truth."""
    ranges = training_range(prepared.train)
    rows = []
    for strain in prepared.test.strains:
        result = simulate_interventions(ensemble, prepared.test, scan, strain=strain, product=product,
                                        control_range=ranges, level=level)
        members = result.table(ranked=False).iloc[1:]
        result.calibration = calibration
        table = result.table(ranked=False).iloc[1:]
        for (_, row), (_, raw) in zip(table.iterrows(), members.iterrows()):
            true_fc = truth[(strain, row["intervention"])]
            rows.append({"strain": strain, "intervention": row["intervention"], "protein": row["protein"],
                         "factor": row["factor"], "true_fold_change": true_fc, "fold_change": row["fold_change"],
                         "fold_change_low": row["fold_change_low"], "fold_change_high": row["fold_change_high"],
                         "extrapolation": row["extrapolation"],
                         "covered": bool(row["fold_change_low"] <= true_fc <= row["fold_change_high"]),
                         "covered_members": bool(raw["fold_change_low"] <= true_fc <= raw["fold_change_high"])})
    return rows


#: Settings of :func:`validation_table`: ``full`` is the setting of the targets (misspecified
#: generator, 10 training strains, 5 members, 5 data seeds); ``quick`` a small smoke run.
MODES = {
    "full": {"counts": (10,), "members": 5, "seeds": 5, "n_test": 3, "n_outside": 3, "n_random_designs": 100,
             "options": {}},
    "quick": {"counts": (4,), "members": 2, "seeds": 2, "n_test": 2, "n_outside": 2, "n_random_designs": 30,
              "options": {"iterations": 20, "eval_every": 5}},
}


def validation_table(mode: str = "full", *, model: str = "node", seeds: int | None = None, first_seed: int = 0,
                     counts: Sequence[int] | None = None, rule: str = "ei",
                     references: Sequence[str] = ("mean", "nearest"), device: str = "cpu",
                     progress: bool = False) -> dict:
    """The validation over data seeds ``first_seed, ...`` on the harder synthetic truth
    (:meth:`nodebio.synthetic.SyntheticPathway.hard`; in-range and out-of-range held-out strains,
    calibrated intervals, recommendations of ``model`` with the largest training set against
    random designs and the gradient-boosting baseline), with the model-free ``references`` scored
    the same way (one member, calibrated like the model; ``mean`` predicts no effect at all).
    ``counts``: numbers of training strains (those of ``mode`` when None). Returns a dict:
    ``effects`` (means over seeds per model, training strains and group), ``recommendations`` (one
    row per seed), ``summary`` (the per-seed summaries), ``first`` (the :class:`ValidationResult` of
    ``model`` for the first seed) and ``settings``. The model seed is the data seed."""
    from nodebio import synthetic

    if mode not in MODES:
        raise UsageError(unknown_message("mode", [mode], list(MODES)))
    spec = dict(MODES[mode], **({"counts": tuple(counts)} if counts else {}))
    seeds = seeds or spec["seeds"]
    summaries, recommendations, first = [], [], None
    for s in range(first_seed, first_seed + seeds):
        truth: dict = {}
        for name in (model, *references):
            ours = name == model
            result = validate_on_synthetic(
                spec["counts"], n_test_strains=spec["n_test"], n_outside=spec["n_outside"], model=name,
                pathway=synthetic.SyntheticPathway.hard(), calibrate=True, recommend_top=5 if ours else 0,
                n_random_designs=spec["n_random_designs"], members=spec["members"] if ours else 1, seed=s,
                data_seed=s, rule=rule, progress=progress, truth_cache=truth,
                **({"device": device, **spec["options"]} if ours else {}))
            summaries.append(result.summary.assign(seed=s, model=name))
            if ours:
                recommendations.append(result.recommendations.assign(seed=s))
                first = first or result
    summary = pd.concat(summaries, ignore_index=True)
    effects = summary.groupby(["model", "training_strains", "group"], sort=False)[
        [c for c in ("within_factor", "sign_agreement", "rule_sign", "spearman", "rule_spearman", "fold_change_error",
                     "coverage", "interval_ratio", "coverage_members", "ideal_coverage") if c in summary]].mean()
    recs = pd.concat(recommendations, ignore_index=True)
    return {"effects": effects, "recommendations": recs, "summary": summary, "first": first,
            "settings": {"mode": mode, "model": model, **{k: v for k, v in spec.items() if k != "seeds"},
                         "seeds": list(range(first_seed, first_seed + seeds)), "rule": rule,
                         "references": list(references), "level": 0.9}}


def plot_validation(result: ValidationResult):
    """Left: predicted against true fold change for the largest training set, in range (filled) and
    out of range (open), with the intervals of the details. Right: Spearman, coverage of those
    intervals and of the members' range, and the coverage of an ideal ensemble of that size, against
    the number of training strains (solid in range, dashed out of range)."""
    import matplotlib.pyplot as plt

    details, summary = result.details, result.summary
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4.2), constrained_layout=True)  # the page width
    largest = details[details["training_strains"] == details["training_strains"].max()]
    colors = {"in range": "tab:blue", "out of range": "tab:red"}  # the points on top of faint intervals
    for group, rows in largest.groupby("group", sort=False):
        err = np.clip(np.vstack([rows["fold_change"] - rows["fold_change_low"],
                                 rows["fold_change_high"] - rows["fold_change"]]), 0, None)
        color = colors.get(group, "tab:grey")
        left.errorbar(rows["true_fold_change"], rows["fold_change"], yerr=err, fmt="none", ecolor=color,
                      elinewidth=0.8, alpha=0.25, zorder=1)
        left.plot(rows["true_fold_change"], rows["fold_change"], "o", ms=4.5, color=color, zorder=3,
                  mfc="none" if group == "out of range" else color, label=group)
    values = np.concatenate([largest["true_fold_change"], largest["fold_change"]])
    values = values[np.isfinite(values) & (values > 0)]
    lo, hi = values.min() / 1.1, values.max() * 1.1
    left.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="perfect prediction")
    left.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="true fold change (mechanistic model)",
             ylabel="predicted fold change")
    left.set_title(f"{int(largest['training_strains'].iloc[0])} training strains", fontsize=10)
    left.legend(fontsize=8)
    left.grid(alpha=0.3, which="both")
    for group, rows in summary.groupby("group", sort=False):
        style = "-" if group == "in range" else "--"
        for column, color, label in (("spearman", "tab:blue", "Spearman"), ("coverage", "tab:green", "coverage"),
                                     ("coverage_members", "tab:orange", "coverage, members' range")):
            right.plot(rows["training_strains"], rows[column], style, marker="o", color=color,
                       label=f"{label} ({group})")
    right.plot(summary["training_strains"], summary["ideal_coverage"], ":", color="grey",
               label="members' range of an ideal ensemble")
    right.axhline(result.settings["level"], color="black", lw=0.6, label="nominal level")
    right.set(xlabel="training strains", ylabel="score", ylim=(min(-0.05, float(summary["spearman"].min()) - 0.05),
                                                              1.05))
    right.set_xticks(sorted(set(summary["training_strains"])))
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    return fig


def main(argv: list[str] | None = None) -> int:
    """``python -m nodebio.experiments.validation --mode full [--json FILE]``: print the table."""
    parser = argparse.ArgumentParser(prog="python -m nodebio.experiments.validation",
                                     description="Intervention effects, intervals and recommendations against "
                                                 "the harder synthetic truth.")
    parser.add_argument("--mode", default="full", choices=list(MODES))
    parser.add_argument("--model", default="node")
    parser.add_argument("--seeds", type=int, help="number of data seeds (default 5 full, 2 quick)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--rule", default="ei", help="acquisition rule: ei, ucb or mean")
    parser.add_argument("--json", help="also write the tables as JSON to this file")
    args = parser.parse_args(argv)
    out = validation_table(args.mode, model=args.model, seeds=args.seeds, first_seed=args.first_seed, rule=args.rule)
    recs = out["recommendations"]
    print(f"settings: {out['settings']}")
    print("\nsingle-enzyme effects (x0.5, x2), means over seeds:")
    print(out["effects"].round(3).to_string())
    print("\nrecommendations (true final titer, µM):")
    print(recs[["seed", "strain", "unmodified", "best_recommended", "best_baseline", "random_median", "random_p90",
                "beats_random_p90", "beats_baseline"]].round(4).to_string(index=False))
    from nodebio.experiments.verdict import chance_words, top_of_random_chance

    print("\n" + chance_words(int(recs["beats_random_p90"].sum()), len(recs), top_of_random_chance(5),
                              what="best of top-5 above the random 90th percentile")
          + "; " + chance_words(int(recs["beats_baseline"].sum()), len(recs), 0.5,
                                what="above the baseline's best of top-5")
          + f"; intervals: {recs['interval'].iloc[0]}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"effects": out["effects"].reset_index().to_dict(orient="records"),
                       "recommendations": recs.to_dict(orient="records"),
                       "summary": out["summary"].to_dict(orient="records"), "settings": out["settings"]},
                      handle, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
