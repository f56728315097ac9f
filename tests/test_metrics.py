"""Scores by hand: both RMSE definitions, scaling, failed simulations, improvements, evaluate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import metrics
from nodebio.experiments import compare


def test_integral_rmse_by_hand():
    times = np.array([0.0, 1.0, 2.0])
    truth = np.zeros((1, 3, 2))
    predicted = np.zeros((1, 3, 2))
    predicted[0, :, 0] = 2.0          # squared error 4 over 2 h -> integral 8
    predicted[0, :, 1] = [0.0, 1.0, 0.0]  # trapezoid of [0, 1, 0] -> 1
    result = metrics.rmse_integral(times, predicted, truth, ["a", "b"])
    assert result["a"] == pytest.approx(np.sqrt(8.0))
    assert result["b"] == pytest.approx(1.0)


def test_integral_rmse_averages_the_strains_integrals_then_takes_the_root():
    times = np.array([0.0, 1.0, 2.0])
    truth = np.zeros((3, 3, 1))
    predicted = np.zeros((3, 3, 1))
    predicted[0, :, 0] = 2.0  # integral 8
    predicted[1, :, 0] = 1.0  # integral 2
    # the third strain is perfect: integral 0; the mean of (8, 2, 0) is 10/3
    result = metrics.rmse_integral(times, predicted, truth, ["a"])
    assert result["a"] == pytest.approx(np.sqrt(10.0 / 3.0), rel=1e-12)
    # not the root of the sum (sqrt 10), nor the mean of the roots ((sqrt 8 + sqrt 2) / 3)
    assert result["a"] != pytest.approx(np.sqrt(10.0)) and result["a"] != pytest.approx((np.sqrt(8) + np.sqrt(2)) / 3)
    # the order of the strains does not matter
    assert metrics.rmse_integral(times, predicted[::-1], truth, ["a"])["a"] == pytest.approx(result["a"], rel=1e-12)


def test_point_rmse_and_scaling_by_hand():
    table = pd.DataFrame({"strain": "S", "time": [0.0, 1.0, 0.0, 1.0], "variable": ["a", "a", "b", "b"],
                          "measured": [1.0, 2.0, 0.0, 0.0], "predicted": [1.0, 4.0, 3.0, 4.0]})
    rmse = metrics.rmse_at_measurements(table, ["a", "b"])
    assert rmse["a"] == pytest.approx(np.sqrt(2.0))
    assert rmse["b"] == pytest.approx(np.sqrt(12.5))
    scaled = metrics.normalized(rmse, pd.Series({"a": 2.0, "b": 0.5}))
    assert scaled["a"] == pytest.approx(np.sqrt(2.0) / 2)


def test_failed_simulations_are_scored_as_failed():
    table = pd.DataFrame({"strain": "S", "time": [0.0, 1.0], "variable": ["a", "a"],
                          "measured": [1.0, 2.0], "predicted": [1.0, np.nan]})
    assert np.isnan(metrics.rmse_at_measurements(table, ["a"])["a"])
    assert np.isnan(metrics.rmse_integral(np.array([0.0, 1.0]), np.array([[[1.0], [np.nan]]]),
                                          np.zeros((1, 2, 1)), ["a"])["a"])
    results = pd.DataFrame({"pathway": "p", "held_out": "X", "model": "m", "configuration": "-",
                            "seed": [0, 0, 1, 1], "state": ["a", "b", "a", "b"],
                            "rmse_integral": [1.0, 2.0, np.nan, 2.0], "rmse_measured": [1.0, 2.0, np.nan, 2.0],
                            "rmse_scaled": [1.0, 2.0, np.nan, 2.0],
                            "status": ["ok", "ok", "diverged at 5.0 h", "diverged at 5.0 h"]})
    summary = compare.summarize(results).iloc[0]
    assert np.isnan(summary["rmse_scaled_mean"])
    assert summary["status"] == "1 of 2 runs: diverged at 5.0 h"


def test_improvement_and_mean_sd():
    assert metrics.improvement(1.0, 20.0) == pytest.approx(95.0)
    assert metrics.improvement(2.0, 1.0) == pytest.approx(-100.0)
    frame = pd.DataFrame({"model": ["a", "a", "b"], "v": [1.0, 3.0, 5.0]})
    stats = metrics.mean_sd(frame, ["model"], "v").set_index("model")
    assert stats.loc["a", "mean"] == 2.0 and stats.loc["a", "sd"] == pytest.approx(np.sqrt(2.0))
    assert stats.loc["b", "sd"] == 0.0 and stats.loc["b", "count"] == 1


def test_predictions_table_interpolates_at_measured_times():
    measured = pd.DataFrame({"strain": ["S"], "time": [1.5], "variable": ["a"], "kind": ["state"],
                             "value": [7.0], "measured": [True]})
    predicted = np.array([[[0.0], [2.0], [4.0]]])
    table = metrics.predictions_table(["S"], np.array([0.0, 1.0, 2.0]), predicted, ["a"], measured)
    assert table["predicted"].item() == pytest.approx(3.0) and table["measured"].item() == 7.0


def test_titer_error_at_the_last_measured_time():
    table = pd.DataFrame({"strain": ["A", "A", "A", "B", "B"], "time": [0.0, 24.0, 72.0, 0.0, 72.0],
                          "variable": ["P", "P", "P", "P", "P"], "measured": [0.0, 1.0, 2.0, 0.0, 4.0],
                          "predicted": [0.0, 5.0, 3.0, 0.0, 2.0]})
    result = metrics.titer_error(table, "P")
    assert result["titer_error"] == pytest.approx((1.0 + 2.0) / 2)
    assert result["titer_relative_error"] == pytest.approx((0.5 + 0.5) / 2) and result["titer_hours"] == 72.0
    assert np.isnan(metrics.titer_error(table, "Q")["titer_error"])


def test_score_table_puts_models_next_to_the_references(baseline_prepared):
    from nodebio.models import references

    class Negative(references.PersistenceModel):
        def predict(self, times, u, start):
            return -super().predict(times, u, start) - 1.0

    table = metrics.score_table({"negated": Negative().fit(baseline_prepared)}, baseline_prepared)
    assert list(table.index) == ["negated", "mean (reference)", "persistence (reference)", "nearest (reference)"]
    assert list(table["kind"]) == ["model", "reference", "reference", "reference"]
    assert table.loc["negated", "test negative values (%)"] == 100.0
    assert table.loc["persistence (reference)", "test negative values (%)"] == 0.0
    _, _, scores = metrics.evaluate(references.PersistenceModel().fit(baseline_prepared), baseline_prepared)
    assert table.loc["persistence (reference)", "test scaled RMSE"] == scores["test"]["mean_rmse_scaled"]
    assert table.loc["persistence (reference)", "train scaled RMSE"] == scores["train"]["mean_rmse_scaled"]
    only = metrics.score_table({}, baseline_prepared, splits=("test",), references=("zero",))
    assert list(only.columns) == ["kind", "test scaled RMSE", "test negative values (%)"]
    with pytest.raises(ValueError, match="Unknown reference.*'best'.*choose from"):
        metrics.score_table({}, baseline_prepared, references=("best",))


def test_solver_error_measures_the_distance_to_the_converged_solution(node_prepared):
    from nodebio.models.node import NeuralODEModel

    model = NeuralODEModel(iterations=6, eval_every=3, width=16, device="cpu", seed=0).fit(node_prepared,
                                                                                           progress=False)
    spread = metrics.training_spread(node_prepared.train.x, node_prepared.train.states)
    error = metrics.solver_error(model, node_prepared.train, spread)
    converged = model.simulate(node_prepared.train, solver="dopri5", rtol=1e-7, atol=1e-9)
    default = model.simulate(node_prepared.train)
    by_hand = (np.abs(default - converged).max(axis=(0, 1)) / spread.to_numpy()).max()
    assert error["default"] == pytest.approx(by_hand)
    assert error["negative_share"] == pytest.approx((default < 0).mean())
    # a coarser step lies further from the converged solution, a finer one closer
    model.config.step_size = 12.0
    coarse = metrics.solver_error(model, node_prepared.train, spread)
    assert coarse["default"] > error["default"] > 0 and coarse["halved"] < coarse["default"]
