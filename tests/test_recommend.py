"""Recommendations: candidate designs, the trust region, acquisition rules, the ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from nodebio import recommend, synthetic


def test_candidate_designs_singles_pairs_and_random():
    designs = recommend.candidate_designs(["HMGR", "MK", "PMK"], 4.0, levels=2, n_random=5, seed=1)
    singles = [d for d in designs if len(d.changes) == 1]
    assert sorted({d.factor("HMGR") for d in singles if d.proteins == ("HMGR",)}) == [0.25, 0.5, 2.0, 4.0]
    assert len(singles) == 3 * 4 and len([d for d in designs if len(d.changes) == 2]) == 3 * 16
    random = [d for d in designs if len(d.changes) == 3]
    assert len(random) == 5 and all(0.25 <= d.factor(p) <= 4 for d in random for p in d.proteins)
    again = recommend.candidate_designs(["HMGR", "MK", "PMK"], 4.0, levels=2, n_random=5, seed=1)
    assert [str(d) for d in again] == [str(d) for d in designs]  # seeded
    given = recommend.candidate_designs(["HMGR"], factors=[0.5, 1.0, 3.0])
    assert [str(d) for d in given] == ["HMGR x0.5", "HMGR x3"]


@pytest.mark.parametrize("kwargs, message", [
    ({"max_fold": 1.0}, r"max_fold \(--max-fold\) must be a number from 1.1 to 1000"),
    ({"max_fold": -2.0}, r"max_fold \(--max-fold\) must be a number from 1.1 to 1000"),
    ({"max_fold": 1e300}, r"max_fold \(--max-fold\) must be a number from 1.1 to 1000 .*got 1e\+300"),
    ({"max_fold": 1.0000001}, r"max_fold \(--max-fold\) must be a number from 1.1 to 1000"),
    ({"factors": [0.0, 2.0]}, r"Factors \(--factors\) must be numbers from 0.001 to 1000"),
    ({"factors": [-1.0]}, r"Factors \(--factors\) must be numbers from 0.001 to 1000"),
    ({"factors": [1e300]}, r"Factors \(--factors\) must be numbers from 0.001 to 1000 .*got 1e\+300"),
    ({"factors": [1.0]}, r"Factors \(--factors\) of 1 change nothing"),
    ({"factors": []}, r"Factors \(--factors\) must be numbers .* got none"),
])
def test_candidate_designs_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recommend.candidate_designs(["HMGR"], **kwargs)


def test_duplicate_factors_give_each_design_once():
    designs = recommend.candidate_designs(["HMGR", "MK"], factors=[2.0, 2, 0.5, 2.0], n_random=0)
    names = [str(d) for d in designs]
    assert len(names) == len(set(names)) == 2 * 2 + 2 * 2


def test_strains_with_dots_get_files_of_their_own(tmp_path):
    first, second = recommend.recommendation_paths(tmp_path, "v1.1"), recommend.recommendation_paths(tmp_path, "v1.2")
    assert [p.name for p in first] == ["recommendations-v1.1.csv", "recommendations-v1.1.png"]
    assert [p.name for p in second] == ["recommendations-v1.2.csv", "recommendations-v1.2.png"]


def test_acquisition_rules():
    mean, sigma, high = np.array([0.0, 0.5, -0.5]), np.array([1.0, 0.1, 0.1]), np.array([3.0, 2.0, 1.0])
    ei = recommend.acquisition(mean, sigma, high, "ei")
    assert ei[0] == pytest.approx(norm.pdf(0.0))
    assert ei[1] == pytest.approx(0.5, abs=1e-6) and ei[2] == pytest.approx(0.0, abs=1e-6)
    assert list(recommend.acquisition(mean, sigma, high, "ucb")) == [3.0, 2.0, 1.0]
    assert recommend.acquisition(mean, sigma, high, "mean") == pytest.approx(np.exp(mean))
    with pytest.raises(ValueError, match="Unknown acquisition rule: 'best'"):
        recommend.acquisition(mean, sigma, high, "best")


def test_recommend_ranks_by_the_acquisition(intervention_ensemble, intervention_prepared, tmp_path):
    dataset = intervention_prepared.dataset
    everything = recommend.recommend(intervention_ensemble, dataset, "S4", n=None, rule="mean",
                                     proteins=["HMGR", "Limonene Synthase", "MK"], n_random=10)
    table = everything.table
    assert table["acquisition"].is_monotonic_decreasing and list(table["rank"]) == list(range(1, len(table) + 1))
    # the top design is the one with the highest predicted fold change of all candidates
    assert table.loc[0, "fold_change"] == pytest.approx(table["fold_change"].max())
    assert everything.interval.startswith("members' range")
    top = recommend.recommend(intervention_ensemble, dataset, "S4", n=3, rule="mean",
                              proteins=["HMGR", "Limonene Synthase", "MK"], n_random=10)
    pd.testing.assert_frame_equal(top.table, table.head(3))
    files = top.save(tmp_path)
    assert [f.name for f in files] == ["recommendations-S4.csv", "recommendations-S4.png"]
    assert len(pd.read_csv(files[0])) == 3


def test_trust_region_drops_designs_and_an_empty_one_is_an_error(intervention_ensemble, intervention_prepared):
    dataset = intervention_prepared.dataset
    wide = recommend.recommend(intervention_ensemble, dataset, "S4", n=None, proteins=["HMGR"], factors=[0.5, 2, 50])
    assert "HMGR x50" not in set(wide.table["design"]) and "HMGR x2" in set(wide.table["design"])
    with pytest.raises(ValueError, match="Empty trust region: no candidate design of strain 'S4'"):
        recommend.recommend(intervention_ensemble, dataset, "S4", proteins=["HMGR"], factors=[50, 100], max_fold=2)
    with pytest.raises(ValueError, match="Unknown protein: 'HMGQ'"):
        recommend.recommend(intervention_ensemble, dataset, "S4", proteins=["HMGQ"])


def test_recommend_works_with_a_baseline_model(intervention_prepared):
    from nodebio.models import Ensemble

    baseline = Ensemble("baseline-gb", 1, quick=True).fit(intervention_prepared)
    result = recommend.recommend(baseline, intervention_prepared.dataset, "S5", n=5, rule="mean",
                                 proteins=list(synthetic.ENZYMES[-3:]), n_random=0)
    assert len(result.table) == 5 and result.table["fold_change"].is_monotonic_decreasing


def test_the_trust_region_bounds_both_ways_by_hand():
    from nodebio import data, interventions as iv

    # two strains; peaks of E: 2 and 8 (of F: 1 and 1)
    u = np.zeros((2, 3, 2))
    u[0, :, 0], u[1, :, 0] = [1, 2, 1], [4, 8, 4]
    u[:, :, 1] = 1.0
    train = data.Trajectories(strains=("A", "B"), times=np.array([0.0, 1.0, 2.0]), states=("x",),
                              controls=("E", "F"), x=np.ones((2, 3, 1)), u=u,
                              measured=pd.DataFrame(), units={})
    region = recommend.trust_region(train, max_fold=4)
    assert region.loc["E", "low"] == 0.5 and region.loc["E", "high"] == 32.0
    assert region.loc["F", "low"] == 0.25 and region.loc["F", "high"] == 4.0
    peaks = pd.Series({"E": 2.0, "F": 1.0})
    # E from a peak of 2: x0.25 reaches 0.5 (the lower bound, inside), x0.2 leaves it; x16 reaches 32, x17 leaves
    assert recommend.inside_region(iv.scale("E", 0.25), peaks, region)
    assert not recommend.inside_region(iv.scale("E", 0.2), peaks, region)
    assert recommend.inside_region(iv.scale("E", 16), peaks, region)
    assert not recommend.inside_region(iv.scale("E", 17), peaks, region)
    # a pair is inside only when both proteins are
    assert not recommend.inside_region(iv.scale("E", 2) + iv.scale("F", 0.2), peaks, region)


def test_too_few_inner_scores_are_refused_unless_forced_and_the_titers_are_physical(intervention_ensemble,
                                                                                    intervention_prepared):
    from nodebio import calibration
    from nodebio.errors import UncalibratedIntervalsError

    dataset = intervention_prepared.dataset
    scores = pd.DataFrame({"kind": ["titer"] * 3 + ["fold_change"] * 6, "score": 1.0})
    few = calibration.Calibration(scale={"titer": 2.0, "fold_change": 2.0},
                                  exact={"titer": False, "fold_change": False}, members=2, scores=scores)
    assert few.counts() == {"titer": 3, "fold_change": 6}
    with pytest.raises(UncalibratedIntervalsError, match="3 of the titer and 6 of the fold change.*at least 9"):
        recommend.recommend(intervention_ensemble, dataset, "S4", n=3, calibration=few)
    forced = recommend.recommend(intervention_ensemble, dataset, "S4", n=3, calibration=few, force=True)
    assert "too few for a calibrated" in forced.interval and forced.settings["forced"]
    assert (forced.table[["titer_mean", "titer_low", "titer_high"]] >= 0).all().all()
    times, values = dataset.measurements("S4", dataset.product)
    assert forced.measured == {"time": float(times[-1]), "titer": float(values[-1])}


@pytest.mark.parametrize("level, needed", [(0.9, 9), (0.95, 19), (0.8, 4), (0.5, 1)])
def test_scores_needed_is_where_the_conformal_quantile_starts_to_exist(level, needed):
    from nodebio import calibration

    assert calibration.scores_needed(level) == needed
    assert calibration.conformal_quantile(np.arange(needed, dtype=float), level)[1]
    if needed > 1:
        assert not calibration.conformal_quantile(np.arange(needed - 1, dtype=float), level)[1]
    assert calibration.too_few_scores(calibration.score_counts(9), 0.9) is None
    assert "2 of the titer and 2 of the fold change" in calibration.too_few_scores(calibration.score_counts(2))


def test_negative_simulated_titers_are_clipped_and_counted():
    table = pd.DataFrame({"intervention": ["unmodified", "a", "b"], "protein": ["", "HMGR", "MK"],
                          "titer_mean": [0.5, -0.2, 1.0], "titer_low": [-0.1, -0.4, 0.8], "titer_high": [0.9, 0.1, 1.2],
                          "fold_change": [1.0, 0.5, 2.0], "fold_change_low": [1.0, 0.4, 1.5],
                          "fold_change_high": [1.0, 0.6, 2.5], "extrapolation": False, "extrapolated_proteins": "",
                          "interval": "members' range"})

    class Result:
        strain, product, interval_name = "S4", "Limonene", "members' range"
        fold_changes = np.array([[1.0, 0.5, 2.0], [1.0, 0.6, 2.2]])

        def table(self, ranked):
            return table.copy()

        def factors(self):
            return {"HMGR": np.array([1.0, 2.0, 1.0]), "MK": np.array([1.0, 1.0, 2.0])}

    ranked = recommend._ranked(Result(), ["HMGR", "MK"], pd.DataFrame(), None, "mean", None, settings={})
    assert ranked.settings["clipped"] == 3  # two in the designs, one in the unmodified strain
    assert (ranked.table[["titer_mean", "titer_low", "titer_high"]] >= 0).all().all()
    assert ranked.unmodified["titer_low"] == 0.0
