"""Intervention effects against the synthetic truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import synthetic
from nodebio.experiments import validation

from conftest import TINY


def test_validate_on_synthetic_scores_against_the_true_effects():
    result = validation.validate_on_synthetic((2, 3), n_test_strains=2, proteins=["HMGR", "Limonene Synthase"],
                                      factors=(0.5, 2.0), members=2, progress=False, **TINY)
    summary, details = result.summary, result.details
    assert list(summary["training_strains"]) == [2, 3]
    assert set(summary.columns) >= {"spearman", "sign_agreement", "fold_change_error", "coverage",
                                    "heldout_rmse_scaled"}
    assert len(details) == 2 * 2 * 2 * 2  # counts x held-out strains x proteins x factors
    covered_details = (details["fold_change_low"] <= details["true_fold_change"]) & (
        details["true_fold_change"] <= details["fold_change_high"])
    for count, rows in details.groupby("training_strains"):
        assert summary.set_index("training_strains").loc[count, "coverage"] == pytest.approx(
            covered_details[rows.index].mean())
    # the truth is the mechanistic model with the enzyme scaled
    pathway = synthetic.SyntheticPathway()
    strains = pathway.sample_strains(5, seed=0)
    held_out = strains[-1]
    row = details[(details["strain"] == held_out.name) & (details["intervention"] == "Limonene Synthase x2")].iloc[0]
    base = pathway.simulate(held_out, (0.0, 72.0))["Limonene"].iloc[-1]
    up = pathway.simulate(held_out, (0.0, 72.0), scale={"Limonene Synthase": 2.0})["Limonene"].iloc[-1]
    assert row["true_fold_change"] == pytest.approx(up / base)
    covered = (details["fold_change_low"] <= details["true_fold_change"]) & (
        details["true_fold_change"] <= details["fold_change_high"])
    assert summary.loc[0, "coverage"] == pytest.approx(covered[details["training_strains"] == 2].mean())


def test_effect_scores_on_known_inputs():
    details = pd.DataFrame({"true_fold_change": [0.5, 0.9, 1.2, 2.0, 1.01],
                            "fold_change": [0.6, 0.95, 1.1, 1.5, 0.99],
                            "covered": [True, False, True, True, False]})
    scores = validation.effect_scores(details, sign_threshold=0.05)
    assert scores["spearman"] == pytest.approx(1.0)
    assert scores["sign_agreement"] == 1.0  # the 1.01 effect is below the threshold
    assert scores["coverage"] == pytest.approx(0.6)
    assert scores["fold_change_error"] == pytest.approx(0.1)  # median of 0.1, 0.05, 0.1, 0.5, 0.02


def test_validation_on_the_harder_truth_with_calibration_and_recommendations():
    pathway = synthetic.SyntheticPathway.hard()
    result = validation.validate_on_synthetic((3,), n_test_strains=1, n_outside=1, pathway=pathway, calibrate=True,
                                              recommend_top=2, n_random_designs=5, proteins=["HMGR", "MK"],
                                              members=2, progress=False, quick=True, **TINY)
    summary, details, recs = result.summary, result.details, result.recommendations
    assert list(summary["group"]) == ["in range", "out of range"]
    assert set(details.loc[details["group"] == "out of range", "strain"]) == {"X1"}
    assert summary["ideal_coverage"].iloc[0] == pytest.approx(0.30, abs=0.01)
    assert summary["calibration_scale"].notna().all()
    covered = (details["fold_change_low"] <= details["true_fold_change"]) & (
        details["true_fold_change"] <= details["fold_change_high"])
    assert (covered == details["covered"]).all()
    for group, rows in details.groupby("group"):
        row = summary.set_index("group").loc[group]
        assert row["coverage"] == pytest.approx(rows["covered"].mean())
        assert row["coverage_members"] == pytest.approx(rows["covered_members"].mean())
    assert len(recs) == 1 and recs.loc[0, "strain"] == "S4"
    random = np.asarray(recs.loc[0, "random_titers"], dtype=float)
    assert len(random) == 5 and len(set(random)) > 1
    assert recs.loc[0, "random_median"] == pytest.approx(np.median(random))
    assert recs.loc[0, "random_p90"] == pytest.approx(np.quantile(random, 0.9))
    assert recs.loc[0, "beats_random_p90"] == (recs.loc[0, "best_recommended"] > recs.loc[0, "random_p90"])
    assert result.settings["pathway"]["feedback"] is True
    # without calibration, the intervals are the members' range
    plain = validation.validate_on_synthetic((3,), n_test_strains=1, proteins=["HMGR"], members=2, progress=False,
                                             **TINY)
    assert (plain.details["covered"] == plain.details["covered_members"]).all()
    assert plain.summary["calibration_scale"].isna().all()


def test_validation_table_bad_mode():
    with pytest.raises(ValueError, match="Unknown mode: 'fast'"):
        validation.validation_table("fast")


def test_truth_cache_is_used_and_filled():
    cache: dict = {}
    first = validation.validate_on_synthetic((2,), n_test_strains=1, proteins=["HMGR"], factors=(2.0,), members=1,
                                             model="mean", progress=False, truth_cache=cache)
    assert set(cache) == {("S3", "HMGR x2")}
    cache[("S3", "HMGR x2")] = 7.0  # a value the mechanistic model never gives: the cache is read, not recomputed
    second = validation.validate_on_synthetic((2,), n_test_strains=1, proteins=["HMGR"], factors=(2.0,), members=1,
                                              model="mean", progress=False, truth_cache=cache)
    assert first.details["true_fold_change"].iloc[0] != 7.0 and second.details["true_fold_change"].iloc[0] == 7.0


def test_intervention_skill_by_hand_against_the_direction_rule():
    # one strain, three proteins at x2 and x0.5; the truth: B matters most, more C lowers the product
    details = pd.DataFrame({
        "strain": "S", "protein": ["A", "B", "C"] * 2, "factor": [2.0] * 3 + [0.5] * 3,
        "true_fold_change": [1.1, 1.8, 0.8, 0.9, 0.5, 1.2],
        "fold_change": [1.05, 1.5, 0.9, 0.95, 0.6, 1.1],   # right ranks and signs everywhere
    })
    skill = validation.intervention_skill(details, sign_threshold=0.05)
    assert skill["within_factor"] == pytest.approx(1.0)
    assert skill["sign"] == 1.0
    # the rule says up at x2 and down at x0.5: wrong for C both times (2 of 6 clear effects)
    assert skill["rule_sign"] == pytest.approx(4 / 6)
    assert skill["true_against_rule"] == 2.0 and skill["predicted_against_rule"] == 2.0
    assert skill["effect_error"] == pytest.approx(np.median(np.abs(np.log2(details["fold_change"])
                                                                   - np.log2(details["true_fold_change"]))))
    # a model that is the rule itself ranks nothing within a factor and gets the rule's sign
    rule_like = details.assign(fold_change=validation.direction_rule(details["factor"]))
    as_rule = validation.intervention_skill(rule_like, sign_threshold=0.05)
    assert np.isnan(as_rule["within_factor"]) and as_rule["sign"] == as_rule["rule_sign"]
    assert as_rule["predicted_against_rule"] == 0.0
    # reversed ranks within each factor
    reversed_ = details.assign(fold_change=[1.5, 1.05, 1.2, 0.6, 0.95, 0.9])
    assert validation.intervention_skill(reversed_, 0.05)["within_factor"] == pytest.approx(-0.5)


def test_effect_scores_include_the_skill_when_the_table_names_proteins_and_factors():
    details = pd.DataFrame({"strain": "S", "protein": ["A", "B", "C"], "factor": 2.0,
                            "true_fold_change": [1.1, 1.8, 0.8], "fold_change": [1.05, 1.5, 0.9],
                            "covered": True})
    scores = validation.effect_scores(details, sign_threshold=0.05)
    assert {"within_factor", "rule_sign", "rule_spearman", "effect_error"} <= set(scores)
    assert "within_factor" not in validation.effect_scores(details.drop(columns="protein"), 0.05)
