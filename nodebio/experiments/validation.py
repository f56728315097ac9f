"""Interventions checked against a known truth: the synthetic pathway.

:func:`validate_on_synthetic` trains ensembles on synthetic strains and compares their predicted
single-enzyme intervention effects with the true ones of the mechanistic model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio.errors import unknown_message
from nodebio.interventions import simulate_interventions, single_protein_scan, training_range
from nodebio.models.ensemble import Ensemble

__all__ = ["ValidationResult", "validate_on_synthetic"]




@dataclass
class ValidationResult:
    """Predicted against true intervention effects on held-out synthetic strains.

    summary : one row per number of training strains: ``training_strains, spearman,
        sign_agreement, fold_change_error, coverage, heldout_rmse_scaled, scenarios, fit_seconds``.
    details : one row per (training strains, held-out strain, intervention): ``true_fold_change,
        fold_change, fold_change_low, fold_change_high, covered, sign_ok``.
    settings : what produced it.
    """

    summary: pd.DataFrame
    details: pd.DataFrame
    settings: dict


def effect_scores(details: pd.DataFrame, sign_threshold: float) -> dict:
    """Spearman, sign agreement (effects above ``sign_threshold`` in ``|log2 fold change|``), median
    absolute fold-change error and interval coverage of a table of predicted and true effects."""
    from scipy.stats import spearmanr

    true, pred = details["true_fold_change"].to_numpy(), details["fold_change"].to_numpy()
    finite = np.isfinite(pred)
    rho = spearmanr(true[finite], pred[finite]).statistic if finite.sum() > 2 else float("nan")
    clear = np.abs(np.log2(true)) > sign_threshold
    sign_ok = np.sign(true - 1.0) == np.sign(pred - 1.0)
    return {
        "spearman": float(rho),
        "sign_agreement": float(sign_ok[clear].mean()) if clear.any() else float("nan"),
        "fold_change_error": float(np.nanmedian(np.abs(pred - true))),
        "coverage": float(details["covered"].mean()),
    }


def validate_on_synthetic(n_training_strains: Sequence[int] = (2, 5, 10, 20), *, n_test_strains: int = 3,
                          proteins: Sequence[str] | None = None, factors: Sequence[float] = (0.5, 2.0),
                          members: int = 5, seed: int = 0, data_seed: int | None = None, noise: float = 0.05,
                          level: float = 0.9,
                          bootstrap: bool = False, sign_threshold: float = 0.05, progress: bool = True,
                          **options) -> ValidationResult:
    """Train ensembles on synthetic strains and check their single-protein intervention effects.

    From one draw of ``max(n_training_strains) + n_test_strains`` strains of
    :class:`nodebio.synthetic.SyntheticPathway` (noisy measurements, ``noise``), the last
    ``n_test_strains`` are held out; for each n in ``n_training_strains`` an ensemble of
    ``members`` neural ODEs trains on the first n strains (nested sets). For every held-out strain,
    protein and factor, the predicted fold change of the final product titer (from the measured
    initial state and controls) is compared with the true one (the noise-free mechanistic model
    with that enzyme scaled).

    Scores per n: Spearman rank correlation of predicted and true fold changes; sign agreement
    (up or down) over the effects larger than ``sign_threshold`` in ``|log2 fold change|``; the
    median absolute error of the fold change; coverage, the fraction of true fold changes inside
    the ensemble's ``level`` interval; and the mean scaled RMSE of the ensemble mean on the
    held-out strains. ``seed`` is the ensembles' seed, ``data_seed`` that of the synthetic strains
    and their noise (``seed`` when None). ``options`` go to the neural ODE (e.g. ``iterations``).
    """
    from nodebio import metrics, synthetic

    counts = sorted({int(n) for n in n_training_strains})
    if not counts or counts[0] < 1:
        raise ValueError(f"n_training_strains must be positive integers, got {list(n_training_strains)}.")
    if n_test_strains < 1:
        raise ValueError(f"n_test_strains must be at least 1, got {n_test_strains}.")
    proteins = list(proteins or synthetic.ENZYMES)
    pathway = synthetic.SyntheticPathway()
    total = counts[-1] + n_test_strains
    data_seed = seed if data_seed is None else data_seed
    strains = pathway.sample_strains(total, seed=data_seed)
    dataset = synthetic.make_dataset(total, seed=data_seed, noise=noise, pathway=pathway)
    names = list(dataset.strains)
    test_names = names[-n_test_strains:]
    scan = single_protein_scan(proteins, factors)
    unknown = [p for p in proteins if p not in dataset.controls]
    if unknown:
        raise ValueError(unknown_message("protein", unknown, dataset.controls))

    product = dataset.product
    truth = _true_effects(pathway, strains[-n_test_strains:], scan, product)

    summary, details = [], []
    for n in counts:
        prepared = _data.prepare(dataset, names[:n], test_names)
        ensemble = Ensemble("node", members, seed=seed, bootstrap=bootstrap, **options).fit(prepared,
                                                                                           progress=progress)
        fit_seconds = sum(m.fit_seconds for m in ensemble.members)
        spread = metrics.training_spread(prepared.train.x, prepared.train.states)
        mean_prediction = ensemble.simulate(prepared.test)
        rmse = metrics.normalized(metrics.rmse_at_measurements(
            metrics.predictions_table(prepared.test.strains, prepared.test.times, mean_prediction,
                                      prepared.test.states, prepared.test.measured), prepared.test.states), spread)
        rows = _predicted_effects(ensemble, prepared, scan, product, level, truth)
        frame = pd.DataFrame(rows)
        frame.insert(0, "training_strains", n)
        frame["sign_ok"] = np.sign(frame["true_fold_change"] - 1) == np.sign(frame["fold_change"] - 1)
        details.append(frame)
        summary.append({"training_strains": n, **effect_scores(frame, sign_threshold),
                        "heldout_rmse_scaled": float(rmse.mean()), "scenarios": len(frame),
                        "fit_seconds": fit_seconds})
    settings = {"n_training_strains": counts, "n_test_strains": n_test_strains, "test_strains": test_names,
                "proteins": proteins, "factors": list(map(float, factors)), "members": members, "seed": seed,
                "data_seed": data_seed, "noise": noise, "level": level, "bootstrap": bootstrap,
                "sign_threshold": sign_threshold, "options": dict(options)}
    return ValidationResult(pd.DataFrame(summary), pd.concat(details, ignore_index=True), settings)


def _true_effects(pathway, strains, scan, product: str) -> dict:
    """The true fold change of the final product titer of every strain under every scaling of
    ``scan``: ``{(strain, intervention): fold change}``, from the noise-free mechanistic model."""
    from nodebio import synthetic

    end = float(synthetic.SAMPLING_HOURS[-1])
    truth = {}
    for strain in strains:
        reference = pathway.simulate(strain, (0.0, end))[product].iloc[-1]
        for iv in scan:
            change = iv.changes[0]
            scaled = pathway.simulate(strain, (0.0, end), scale={change.protein: change.factor})
            truth[(strain.name, str(iv))] = scaled[product].iloc[-1] / reference
    return truth


def _predicted_effects(ensemble, prepared, scan, product: str, level: float, truth: dict) -> list[dict]:
    """One row per held-out strain and intervention: predicted fold change and interval, the truth."""
    ranges = training_range(prepared.train)
    rows = []
    for strain in prepared.test.strains:
        result = simulate_interventions(ensemble, prepared.test, scan, strain=strain, product=product,
                                        control_range=ranges, level=level)
        for _, row in result.table(ranked=False).iloc[1:].iterrows():
            true_fc = truth[(strain, row["intervention"])]
            rows.append({"strain": strain, "intervention": row["intervention"], "protein": row["protein"],
                         "factor": row["factor"], "true_fold_change": true_fc, "fold_change": row["fold_change"],
                         "fold_change_low": row["fold_change_low"], "fold_change_high": row["fold_change_high"],
                         "extrapolation": row["extrapolation"],
                         "covered": bool(row["fold_change_low"] <= true_fc <= row["fold_change_high"])})
    return rows
