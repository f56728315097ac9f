"""Calibrated intervals: the ideal coverage of an ensemble, conformal quantiles, inner scores."""

from __future__ import annotations

import numpy as np
import pytest

from nodebio import calibration, synthetic
from nodebio import interventions as iv

from conftest import TINY


def test_ideal_coverage_of_small_ensembles():
    # the 5th-95th percentile range of M exchangeable members holds one more draw this often
    assert calibration.ideal_coverage(5) == pytest.approx(0.62, abs=0.01)
    assert calibration.ideal_coverage(2) == pytest.approx(0.30, abs=0.01)
    assert calibration.ideal_coverage(200) == pytest.approx(0.89, abs=0.01)
    assert calibration.ideal_coverage(5, draws=1000) == calibration.ideal_coverage(5, draws=1000)  # seeded
    with pytest.raises(ValueError, match="members must be at least 1"):
        calibration.ideal_coverage(0)
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        calibration.ideal_coverage(5, level=1.5)


@pytest.mark.parametrize("scores, level, expected", [
    ([1.0, 2.0, 3.0, 4.0], 0.5, (3.0, True)),   # (n+1) level = 2.5: the 3rd smallest (round would take the 2nd)
    ([3.0, 1.0, 2.0], 0.6, (3.0, True)),        # 2.4: the 3rd (round: the 2nd)
    (list(range(1, 9)), 0.9, (8.0, False)),     # 8.1: the 9th of 8 does not exist (round: the 8th, "exact")
    (list(range(1, 20)), 0.9, (18.0, True)),    # exactly 18: the 18th
])
def test_conformal_quantile_takes_the_ceiling_and_says_when_it_does_not_exist(scores, level, expected):
    assert calibration.conformal_quantile(scores, level) == expected


def test_conformal_quantile():
    scores = np.arange(1.0, 10.0)  # 9 scores: the ceil(10 x 0.9) = 9th smallest
    assert calibration.conformal_quantile(scores, 0.9) == (9.0, True)
    assert calibration.conformal_quantile(scores, 0.5) == (5.0, True)
    assert calibration.conformal_quantile([1.0, 3.0], 0.9) == (3.0, False)  # too few: the largest, flagged
    with pytest.raises(ValueError, match="No finite calibration score"):
        calibration.conformal_quantile([np.nan], 0.9)


def test_bounds_scale_the_members_spread():
    cal = calibration.Calibration(scale={"titer": 2.0, "fold_change": 3.0}, exact={"titer": True, "fold_change": True},
                                  floor=0.01, members=3)
    members = np.exp(np.array([[0.0, 1.0], [0.1, 1.0], [0.2, 1.0]]))  # (3 members, 2 designs)
    center, low, high = cal.bounds(members, "fold_change")
    assert center == pytest.approx(np.exp([0.1, 1.0]))
    assert np.log(high[0]) - np.log(center[0]) == pytest.approx(3.0 * 0.1)  # sd 0.1 times the scale
    assert np.log(high[1]) - np.log(center[1]) == pytest.approx(3.0 * 0.01)  # identical members: the floor
    assert cal.calibrated and "calibrated 90% interval" in cal.describe()
    rough = calibration.Calibration(scale={"titer": 2.0, "fold_change": 3.0},
                                    exact={"titer": False, "fold_change": False})
    assert not rough.calibrated and "too few" in rough.describe()


@pytest.fixture(scope="module")
def calibrated():
    dataset = synthetic.make_dataset(5, seed=2, noise=0.05)
    return dataset, calibration.calibrate(dataset, ["S1", "S2", "S3", "S4"], members=2, seed=0, **TINY)


def test_calibrate_scores_inner_held_out_strains(calibrated):
    dataset, cal = calibrated
    scores = cal.scores
    assert set(scores["kind"]) == {"titer", "fold_change"}
    assert set(scores["strain"]) == {"S1", "S2", "S3", "S4"}  # never the held-out S5
    assert (scores["kind"] == "fold_change").sum() == 4 * 3  # each left-out strain against the 3 others
    for kind in calibration.KINDS:
        inner = scores.loc[scores["kind"] == kind, "score"]
        # the scale covers the inner scores at the level (the conformal property on its own data)
        k = int(np.ceil((len(inner) + 1) * 0.9))
        assert cal.exact[kind] == (k <= len(inner))  # 4 titer scores: k = 5, no exact quantile; 12: k = 12
        assert cal.scale[kind] == pytest.approx(np.sort(inner)[min(k, len(inner)) - 1])
        if cal.exact[kind]:
            assert (inner <= cal.scale[kind]).mean() >= cal.level - 1e-9
    assert cal.exact == {"titer": False, "fold_change": True} and not cal.calibrated
    row = scores[scores["kind"] == "titer"].iloc[0]
    assert row["score"] == pytest.approx(abs(row["observed"] - row["predicted"]) / row["sd"])


def test_intervention_table_uses_the_calibration(intervention_ensemble, intervention_prepared, calibrated):
    _, cal = calibrated
    p = intervention_prepared
    scan = iv.single_protein_scan(["HMGR"], [2.0])
    plain = iv.simulate_interventions(intervention_ensemble, p.test, scan, product="Limonene")
    scaled = iv.simulate_interventions(intervention_ensemble, p.test, scan, product="Limonene", calibration=cal)
    assert plain.table()["interval"].iloc[0].startswith("members' range")
    table = scaled.table(ranked=False)
    assert table["interval"].iloc[0] == cal.describe("fold_change")
    folds = scaled.fold_changes[:, 1]
    logs = np.log(folds)
    half = cal.scale["fold_change"] * max(logs.std(ddof=1), cal.floor)
    assert np.log(table.loc[1, "fold_change_high"]) == pytest.approx(logs.mean() + half)
    assert np.log(table.loc[1, "fold_change_low"]) == pytest.approx(logs.mean() - half)
    with pytest.raises(ValueError, match="at least two training strains"):
        calibration.calibrate(synthetic.make_dataset(2, seed=0), ["S1"], members=1, **TINY)
