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
    assert "here baseline-gb (published)) is reproduced by no neural ODE" in sentence
    assert "node has a 11.1% higher integral RMSE" in sentence and "node-structured has a 11.1% lower" in sentence
    assert "6.1% to 16.1%" in sentence
    assert "strongest reference is persistence (6; node 10, node-structured 8): no neural ODE beats it" in sentence
    strongest = verdict.strongest_references(summary, ("node", "node-structured"))
    assert set(strongest["strongest reference"]) == {"persistence"}
    improvement.loc[1, "improvement_integral_%"] = 95.0
    table = verdict.assessment(summary, improvement, {"limonene": 94.38}, ("node", "node-structured"))
    assert list(table["margin_reproduced"]) == [False, True]  # every variant reported, none chosen
    assert "reproduced by node-structured" in verdict.verdict(summary, improvement, {"limonene": 94.38},
                                                              ("node", "node-structured"))["limonene"]


def test_hypothesis_against_the_stored_2018_run():
    summary = _summary()
    sentence = verdict.hypothesis(summary, {"limonene": 94.38}, ("node", "node-structured"))["limonene"]
    assert f"node-structured would show {(1 - 8.0 / 53.56) * 100:.1f}%" in sentence and "94.38%" in sentence
    assert "needs a model scoring 3.01" in sentence and "not supported" in sentence
    drifting = pd.concat([summary, pd.DataFrame([{"pathway": "limonene", "model": "tpot", "configuration": "published",
                                                  "rmse_integral_mean": 50.0}])])
    assert "half supported" in verdict.hypothesis(drifting, {"limonene": 94.38}, ("node",))["limonene"]
    close = drifting.assign(rmse_integral_mean=drifting["rmse_integral_mean"].where(drifting["model"] != "node", 3.0))
    assert "consistent with this run" in verdict.hypothesis(close, {"limonene": 94.38}, ("node",))["limonene"]


def test_a_sparsely_measured_variable_leaves_the_interval_finite():
    a_points, a_grid = _runs("node", "-", [0, 1], 1.0)
    b_points, b_grid = _runs("mean", "-", [0], 2.0)
    points = pd.concat([a_points, b_points])
    points = points[(points["variable"] == "A") | (points["time"] == 72.0)]  # B measured once
    improvement = pd.DataFrame([{"model": "node", "pathway": "p", "reference": "mean",
                                 "improvement_integral_%": 50.0, "improvement_scaled_%": 50.0}])
    row = verdict.bootstrap_improvements(points, pd.concat([a_grid, b_grid]), improvement, draws=300).iloc[0]
    assert row["scaled_low"] == pytest.approx(50.0) and row["scaled_high"] == pytest.approx(50.0)
