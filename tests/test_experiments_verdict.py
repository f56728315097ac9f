"""The statistics of the comparison and its verdict, on tables made by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio.experiments import verdict


def _runs(model, configuration, seeds, offset):
    """Measured points and grid trajectories of runs whose error is ``offset`` everywhere."""
    points, grid = [], []
    for seed in seeds:
        for variable in ("A", "B"):
            for t in (0.0, 12.0, 24.0, 72.0):
                points.append({"pathway": "p", "model": model, "configuration": configuration, "seed": seed,
                               "strain": "S", "time": t, "variable": variable, "measured": 1.0,
                               "predicted": 1.0 + offset, "spread": 2.0})
            for t in np.linspace(0, 72, 11):
                grid.append({"pathway": "p", "model": model, "configuration": configuration, "seed": seed,
                             "strain": "S", "time": t, "variable": variable, "data": 1.0, "predicted": 1.0 + offset})
    return pd.DataFrame(points), pd.DataFrame(grid)


def test_bootstrap_interval_of_a_constant_error_is_a_point():
    a_points, a_grid = _runs("node", "-", [0, 1], 1.0)
    b_points, b_grid = _runs("mean", "-", [0], 2.0)
    improvement = pd.DataFrame([{"model": "node", "pathway": "p", "reference": "mean",
                                 "improvement_integral_%": 50.0, "improvement_scaled_%": 50.0}])
    table = verdict.bootstrap_improvements(pd.concat([a_points, b_points]), pd.concat([a_grid, b_grid]), improvement,
                                           draws=200)
    row = table.iloc[0]
    assert row["scaled_low"] == pytest.approx(50.0) and row["scaled_high"] == pytest.approx(50.0)
    assert row["integral_low"] == pytest.approx(50.0, abs=1e-6) and row["integral_high"] == pytest.approx(50.0, abs=1e-6)


def test_bootstrap_interval_widens_with_disagreeing_seeds_and_holds_the_point():
    a_points, a_grid = _runs("node", "-", [0], 0.5)
    c_points, c_grid = _runs("node", "-", [1], 1.5)
    b_points, b_grid = _runs("mean", "-", [0], 2.0)
    improvement = pd.DataFrame([{"model": "node", "pathway": "p", "reference": "mean",
                                 "improvement_integral_%": 50.0, "improvement_scaled_%": 50.0}])
    table = verdict.bootstrap_improvements(pd.concat([a_points, c_points, b_points]),
                                           pd.concat([a_grid, c_grid, b_grid]), improvement, draws=500, level=0.9)
    row = table.iloc[0]
    assert row["scaled_low"] < 50.0 < row["scaled_high"]
    assert row["scaled_low"] == pytest.approx(25.0) and row["scaled_high"] == pytest.approx(75.0)


def _summary():
    rows = [("node", "-", 10.0, 1.5, 0.3), ("node-structured", "-", 8.0, 1.4, 0.2),
            ("baseline-gb", "published", 9.0, 1.3, 0.4), ("persistence", "-", 6.0, 1.2, 0.05)]
    return pd.DataFrame([{"pathway": "limonene", "held_out": "L2", "model": m, "configuration": c,
                          "rmse_integral_mean": i, "rmse_scaled_mean": s, "titer_error_mean": t} for m, c, i, s, t in rows])


def test_verdict_names_the_reference_and_whether_the_margin_is_reproduced():
    summary = _summary()
    improvement = pd.DataFrame([
        {"model": m, "pathway": "limonene", "reference": "baseline-gb (published)", "improvement_integral_%": g,
         "integral_low": g - 5, "integral_high": g + 5} for m, g in (("node", -11.1), ("node-structured", 11.1))])
    sentence = verdict.verdict(summary, improvement, {"limonene": 94.38}, ("node", "node-structured"))["limonene"]
    assert "here against baseline-gb (published)) is reproduced by no neural ODE" in sentence
    assert "up to 94.38%" in sentence  # the paper's "up to", kept
    assert "node has a 11.1% higher integral RMSE (falls short of the paper's margin" in sentence
    assert "node-structured has a 11.1% lower" in sentence and "6.1% to 16.1%" in sentence
    assert "conditional on that strain" in sentence and "held-out strain L2" in sentence
    # no interval against the strongest reference: the comparison is not decided, nor worded as a win
    assert "strongest reference is persistence (6)" in sentence and "cannot be compared" in sentence
    assert " beats " not in sentence
    strongest = verdict.strongest_references(summary, ("node", "node-structured"))
    assert set(strongest["strongest reference"]) == {"persistence"}
    improvement.loc[1, ["improvement_integral_%", "integral_low", "integral_high"]] = [95.0, 91.0, 98.0]
    table = verdict.assessment(summary, improvement, {"limonene": 94.38}, ("node", "node-structured"))
    assert list(table["margin_reproduced"]) == [False, True]  # every variant reported, none chosen
    assert list(table["margin"]) == ["below", "above"]
    assert "reproduced by node-structured" in verdict.verdict(summary, improvement, {"limonene": 94.38},
                                                              ("node", "node-structured"))["limonene"]
    improvement.loc[1, "integral_low"] = 85.0  # the interval includes 90%: not a result either way
    table = verdict.assessment(summary, improvement, {"limonene": 94.38}, ("node", "node-structured"))
    assert list(table["margin"]) == ["below", "indistinguishable"]
    assert "cannot be told from the paper's margin" in verdict.verdict(summary, improvement, {"limonene": 94.38},
                                                                      ("node", "node-structured"))["limonene"]


def _strongest_case(low, high):
    summary = _summary()
    improvement = pd.DataFrame([
        {"model": "node", "pathway": "limonene", "reference": "persistence", "improvement_integral_%": 10.0,
         "integral_low": low, "integral_high": high, "improvement_scaled_%": 10.0, "scaled_low": low,
         "scaled_high": high, "improvement_titer_%": 10.0, "titer_low": low, "titer_high": high}])
    return verdict.verdict(summary, improvement, {"limonene": 94.38}, ("node",))["limonene"]


def test_verdict_words_a_tie_as_indistinguishable_and_a_clear_win_as_lower():
    tie = _strongest_case(-20.0, 30.0)
    assert "node and persistence are indistinguishable on error" in tie and "includes zero" in tie
    win = _strongest_case(4.0, 16.0)
    assert "node has a lower error than persistence" in win and "indistinguishable" not in win
    loss = _strongest_case(-16.0, -4.0)
    assert "node has a higher error than persistence" in loss
    assert "4.0% to 16.0%" in win


def test_verdict_in_a_quick_run_says_so():
    summary = _summary()
    improvement = pd.DataFrame([{"model": "node", "pathway": "limonene", "reference": "baseline-gb (published)",
                                 "improvement_integral_%": 20.0, "integral_low": 10.0, "integral_high": 30.0}])
    text = verdict.verdict(summary, improvement, {"limonene": 94.38}, ("node",), quick=True)["limonene"]
    assert text.startswith("In this quick run, on limonene")
    assert verdict.hypothesis(summary, {"limonene": 94.38}, ("node",), quick=True)["limonene"].startswith(
        "In this quick run, against")


def test_the_verdict_measures_the_margin_against_both_families_as_published():
    summary = _summary()
    rows = [("TPOT, 30-s search", 96.0, 92.0, 99.0), ("baseline-gb (published)", 40.0, 20.0, 60.0),
            ("baseline-rf (published)", 88.0, 80.0, 95.0)]
    improvement = pd.DataFrame([{"model": "node", "pathway": "limonene", "reference": r, "improvement_integral_%": g,
                                 "integral_low": lo, "integral_high": hi} for r, g, lo, hi in rows])
    table = verdict.assessment(summary, improvement, {"limonene": 94.38}, ("node",))
    row = table.iloc[0]
    assert row["reference_2018"] == "TPOT, 30-s search" and row["margin"] == "above"
    assert row["margin_vs_baseline-gb (published)"] == "below"
    assert row["margin_vs_baseline-rf (published)"] == "indistinguishable"
    text = verdict.verdict(summary, improvement, {"limonene": 94.38}, ("node",))["limonene"]
    assert "here against TPOT, 30-s search" in text
    assert "Against baseline-gb (published): node has a 40.0% lower integral RMSE (falls short" in text
    assert "Against baseline-rf (published)" in text


def test_hypothesis_against_the_stored_2018_run():
    summary = _summary()
    sentence = verdict.hypothesis(summary, {"limonene": 94.38}, ("node", "node-structured"))["limonene"]
    assert f"node-structured would show {(1 - 8.0 / 53.56) * 100:.1f}%" in sentence and "94.38%" in sentence
    assert "needs a model scoring 3.01 (a number back-computed" in sentence and "not supported" in sentence
    drifting = pd.concat([summary, pd.DataFrame([{"pathway": "limonene", "model": "tpot", "configuration": "published",
                                                  "rmse_integral_mean": 50.0}])])
    assert "half supported" in verdict.hypothesis(drifting, {"limonene": 94.38}, ("node",))["limonene"]
    close = drifting.assign(rmse_integral_mean=drifting["rmse_integral_mean"].where(drifting["model"] != "node", 3.0))
    assert "consistent with this run" in verdict.hypothesis(close, {"limonene": 94.38}, ("node",))["limonene"]
    bounded = drifting.assign(configuration=drifting["configuration"].where(drifting["model"] != "tpot", "30-s search"))
    text = verdict.hypothesis(bounded, {"limonene": 94.38}, ("node",))["limonene"]
    assert "Our run of TPOT, 30-s search scores 50" in text and "provisional" in text
    assert "baseline-gb (published) 9" in text


def test_a_sparsely_measured_variable_leaves_the_interval_finite():
    a_points, a_grid = _runs("node", "-", [0, 1], 1.0)
    b_points, b_grid = _runs("mean", "-", [0], 2.0)
    points = pd.concat([a_points, b_points])
    points = points[(points["variable"] == "A") | (points["time"] == 72.0)]  # B measured once
    improvement = pd.DataFrame([{"model": "node", "pathway": "p", "reference": "mean",
                                 "improvement_integral_%": 50.0, "improvement_scaled_%": 50.0}])
    row = verdict.bootstrap_improvements(points, pd.concat([a_grid, b_grid]), improvement, draws=300).iloc[0]
    assert row["scaled_low"] == pytest.approx(50.0) and row["scaled_high"] == pytest.approx(50.0)


# --- the rule ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("estimate, low, high, expected", [
    (5.0, 1.0, 9.0, "above"), (-5.0, -9.0, -1.0, "below"), (0.5, -1.0, 2.0, "indistinguishable"),
    (0.0, 0.0, 0.0, "indistinguishable"), (np.nan, 1.0, 2.0, "missing"), (1.0, np.nan, np.nan, "missing")])
def test_decide_is_the_rule(estimate, low, high, expected):
    assert verdict.decide(estimate, low, high) == expected


def test_bootstrap_difference_ties_wins_and_missing_seeds():
    tie = verdict.bootstrap_difference([1.44, 1.20, 1.70, 1.46], [1.46])
    assert tie.outcome == "indistinguishable"
    words = verdict.compare_words("the neural ODE", "the training-strain mean", tie, what="scaled RMSE",
                                  values=(1.45, 1.46), digits=2)
    assert words.startswith("the neural ODE and the training-strain mean are indistinguishable on scaled RMSE")
    win = verdict.bootstrap_difference([0.50, 0.52, 0.49], [1.46])
    assert win.outcome == "above" and win.low > 0
    assert "has a lower scaled RMSE than" in verdict.compare_words("a", "b", win, what="scaled RMSE")
    assert verdict.bootstrap_difference([0.5], [1.46]).outcome == "missing"  # one seed against one run
    assert verdict.bootstrap_difference([], [1.46]).outcome == "missing"  # the run is missing
    assert "cannot be compared" in verdict.compare_words("a", "b", verdict.bootstrap_difference([0.5], [1.0]),
                                                         what="error")
    relative = verdict.bootstrap_difference([1.0, 1.0], [2.0], relative=True)
    assert relative.estimate == pytest.approx(50.0) and relative.low == pytest.approx(50.0)


def test_computed_sentences_are_prefixed_in_quick_runs_and_absent_when_not_run():
    assert verdict.computed("The model wins.", quick=True) == "In this quick run, the model wins."
    assert verdict.computed("The model wins.", quick=False) == "The model wins."
    assert verdict.computed("The model wins.", ran=False) == ""
    assert verdict.computed(None) == ""
    called = []
    assert verdict.computed(lambda: called.append(1) or "x", ran=False) == "" and not called
    assert verdict.quick_prefix("ODE solvers differ.", True) == "In this quick run, ODE solvers differ."
    assert verdict.computed("On limonene it wins", quick=True, within=True) == "in this quick run, on limonene it wins"


def test_coverage_is_never_worded_without_width():
    text = verdict.coverage_words(1.0, 160.0)
    assert "covered 100%" in text and "upper/lower ratio of 160" in text and "say little" in text
    assert "say little" not in verdict.coverage_words(0.9, 1.8)
    assert "no measured coverage" in verdict.coverage_words(np.nan, 2.0)


def test_direction_against_chance():
    assert "indistinguishable from chance" in verdict.direction_words(10, 18)
    assert "better than chance" in verdict.direction_words(18, 18)
    assert "worse than chance" in verdict.direction_words(0, 18)
    assert "no clear effect" in verdict.direction_words(0, 0)
    assert "the direction is right (clear effects: |log2 fold change| above 0.17) in 10 of 18" in \
        verdict.direction_words(10, 18)
    # the best of a top 5 above the random 90th percentile: 41% by chance alone
    assert verdict.top_of_random_chance(5) == pytest.approx(1 - 0.9 ** 5)
    assert "indistinguishable from chance" in verdict.chance_words(3, 5, verdict.top_of_random_chance(5), what="x")
    assert "better than chance" in verdict.chance_words(10, 10, verdict.top_of_random_chance(5), what="x")


def test_clear_effect_threshold_is_the_noise_of_a_measured_pair():
    from scipy.stats import norm

    z = norm.ppf(0.5 + verdict.LEVEL / 2)
    assert verdict.CLEAR_EFFECT_LOG2 == pytest.approx(z * np.sqrt(2) * verdict.SYNTHETIC_NOISE / np.log(2))
    assert 2 ** verdict.CLEAR_EFFECT_LOG2 == pytest.approx(1.123, abs=1e-3)


def test_block_counts_draw_contiguous_blocks():
    rng = np.random.default_rng(0)
    counts = verdict.block_counts(200, 3, 50, rng)
    assert counts.shape == (50, 200) and np.allclose(counts.sum(axis=1), 200)
    for row in counts:
        drawn = row > 0
        runs = int(np.sum(drawn & ~np.roll(drawn, 1)))  # circular runs of drawn points
        assert 1 <= runs <= 3
    assert verdict.time_blocks(np.array([0, 4, 8, 12, 18, 24, 36, 48, 72.0])) == 3


def test_block_bootstrap_gives_an_interval_for_errors_correlated_in_time():
    # the error sits in the first third of the trajectory only: blocks keep it together
    points, grid = [], []
    for model, offset, seed in (("node", 1.0, 0), ("node", 1.0, 1), ("mean", 0.5, 0)):
        for t in np.linspace(0, 72, 9):
            for variable in ("A",):
                err = offset if t <= 24 else 0.1
                points.append({"pathway": "p", "model": model, "configuration": "-", "seed": seed, "time": t,
                               "variable": variable, "measured": 1.0, "predicted": 1.0 + err, "spread": 1.0})
        for t in np.linspace(0, 72, 73):
            err = offset if t <= 24 else 0.1
            grid.append({"pathway": "p", "model": model, "configuration": "-", "seed": seed, "time": t,
                         "variable": "A", "data": 1.0, "predicted": 1.0 + err})
    improvement = pd.DataFrame([{"model": "node", "pathway": "p", "reference": "mean",
                                 "improvement_integral_%": 0.0, "improvement_scaled_%": 0.0}])
    row = verdict.bootstrap_improvements(pd.DataFrame(points), pd.DataFrame(grid), improvement, draws=400).iloc[0]
    assert row["scaled_low"] < row["scaled_high"] and np.isfinite(row["integral_low"])


def _loso(gains):
    rows = []
    for strain, (node_values, mean_value) in gains.items():
        for seed, value in enumerate(node_values):
            rows.append({"pathway": "p", "held_out": strain, "model": "node", "seed": seed, "state": "A",
                         "rmse_scaled": value})
        rows.append({"pathway": "p", "held_out": strain, "model": "mean", "seed": 0, "state": "A",
                     "rmse_scaled": mean_value})
    return pd.DataFrame(rows)


def test_loso_improvements_spread_over_strains_and_the_rule():
    consistent = verdict.loso_improvements(_loso({"S1": ([0.5, 0.55], 1.0), "S2": ([0.4, 0.45], 1.0),
                                                  "S3": ([0.6, 0.62], 1.0)}), ("mean",), ("node",), draws=500)
    row = consistent.iloc[0]
    assert row["low_strain"] == pytest.approx(39.0)   # S3: 1 - 0.61
    assert row["high_strain"] == pytest.approx(57.5)  # S2: 1 - 0.425
    assert row["estimate"] == pytest.approx((47.5 + 57.5 + 39.0) / 3)
    assert row["low"] > 0 and verdict.decide(row["estimate"], row["low"], row["high"]) == "above"
    mixed = verdict.loso_improvements(_loso({"S1": ([0.5, 0.55], 1.0), "S2": ([1.5, 1.6], 1.0),
                                             "S3": ([0.9, 1.1], 1.0)}), ("mean",), ("node",), draws=500).iloc[0]
    assert mixed["low"] < 0 < mixed["high"]  # the ranking changes with the strain: no result
    words = verdict.loso_words(verdict.loso_improvements(
        _loso({"S1": ([0.5, 0.55], 1.0), "S2": ([1.5, 1.6], 1.0), "S3": ([0.9, 1.1], 1.0)}), ("mean",), ("node",),
        draws=200), "p")
    assert "across the 3 held-out strains" in words and "indistinguishable" in words
    assert verdict.loso_improvements(_loso({"S1": ([0.5], 1.0)}).query("model == 'node'"), ("mean",),
                                     ("node",)).empty  # the reference's rows are missing: no row


def test_verdict_reports_the_loso_spread_beside_the_held_out_interval():
    summary = _summary()
    improvement = pd.DataFrame([{"model": "node", "pathway": "limonene", "reference": "baseline-gb (published)",
                                 "improvement_integral_%": 20.0, "integral_low": 10.0, "integral_high": 30.0}])
    loso = verdict.loso_improvements(_loso({"L1": ([0.5, 0.55], 1.0), "L2": ([1.5, 1.6], 1.0),
                                            "L3": ([0.9, 1.1], 1.0)}).assign(pathway="limonene"), ("mean",),
                                     ("node",), draws=200)
    text = verdict.verdict(summary, improvement, {"limonene": 94.38}, ("node",), loso=loso)["limonene"]
    assert "conditional on that strain" in text and "Each strain held out in turn" in text
    assert "node against mean" in text


def test_targets_by_the_rule_when_intervals_are_given():
    summary = _summary().query("model != 'node-structured'")
    references = [("baseline-gb (published)", 5.0, 20.0), ("persistence", -10.0, 30.0)]
    improvement = pd.DataFrame([{"pathway": "limonene", "model": "node", "reference": r, "improvement_integral_%": 12.0,
                                 "integral_low": lo, "integral_high": hi, "improvement_scaled_%": 12.0,
                                 "scaled_low": 2.0, "scaled_high": 20.0, "improvement_titer_%": 1.0,
                                 "titer_low": 0.5, "titer_high": 2.0} for r, lo, hi in references])
    summary = summary.assign(rmse_integral_mean=[1.0, 9.0, 6.0], rmse_scaled_mean=[1.0, 1.3, 1.2],
                             titer_error_mean=[0.01, 0.4, 0.05])
    table = verdict.targets(summary, "node", ("node",), improvement=improvement).set_index("target")
    integral = table.loc["limonene: node beats every reference (Costello's integral RMSE)"]
    assert not integral["met"] and "smallest lower bound of the 90% intervals -10.0%" in integral["measured"]
    assert table.loc["limonene: node beats every reference (the scaled RMSE)", "met"]
    plain = verdict.targets(summary, "node", ("node",)).set_index("target")
    assert "means only, no interval" in plain.loc["limonene: node beats every reference (the scaled RMSE)", "measured"]
