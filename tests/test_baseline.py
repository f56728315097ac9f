"""The 2018 baseline, the training-strain mean, the metrics and the comparison."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from nodebio import baseline, cli, compare, data, metrics, synthetic


@pytest.fixture(scope="module")
def prepared_synthetic():
    dataset = synthetic.make_dataset(4, seed=1, noise=0.02)
    return data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=60)


# -- derivative estimation ------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["savgol", "central"])
def test_derivative_of_a_known_function(method):
    times = np.linspace(0.0, 10.0, 201)
    values = np.stack([np.sin(times), times**2], -1)
    expected = np.stack([np.cos(times), 2 * times], -1)
    estimate = baseline.estimate_derivatives(times, values, method)
    inner = slice(5, -5)
    assert np.allclose(estimate[inner], expected[inner], atol=5e-3)  # savgol bias ~ h^2 f'''


def test_savgol_is_exact_on_a_quadratic_everywhere():
    times = np.linspace(0.0, 5.0, 30)
    values = (3 * times**2 - times + 2)[:, None]
    assert np.allclose(baseline.estimate_derivatives(times, values), (6 * times - 1)[:, None], atol=1e-8)


def test_derivative_batched_over_strains():
    times = np.linspace(0.0, 1.0, 11)
    values = np.stack([np.outer(times, [1.0, 2.0]), np.outer(times, [3.0, 4.0])])
    assert np.allclose(baseline.estimate_derivatives(times, values), [[[1, 2]] * 11, [[3, 4]] * 11])


def test_derivative_errors():
    with pytest.raises(ValueError, match="even time grid"):
        baseline.estimate_derivatives(np.array([0.0, 1.0, 3.0, 4.0]), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="odd window"):
        baseline.estimate_derivatives(np.linspace(0, 1, 11), np.zeros((11, 1)), window=6)
    with pytest.raises(ValueError, match="Unknown derivative method"):
        baseline.estimate_derivatives(np.linspace(0, 1, 11), np.zeros((11, 1)), method="spline")


# -- the published gap filling --------------------------------------------------------------------

def test_published_resample_interpolates_by_row_position(tmp_path):
    # one gap at 10 h between 2 h and 12 h: by position it is the midpoint, in time it is not
    frame = pd.DataFrame({"Strain": ["A"] * 4, "Hour": [0.0, 2.0, 10.0, 12.0], "E": [1.0, 1.0, 1.0, 1.0],
                          "m": [0.0, 2.0, None, 12.0]})
    dataset = data.from_frame(frame, states=["m"], controls=["E"])
    published = baseline.published_resample(dataset, n_points=13)
    careful = data.resample(dataset, n_points=13)
    at_10 = list(published.times).index(10.0)
    assert published.x[0, at_10, 0] == pytest.approx(7.0)   # (2 + 12) / 2
    assert careful.x[0, at_10, 0] == pytest.approx(10.0)    # linear in time
    assert published.x.shape == careful.x.shape


# -- the compiled tree ensembles -------------------------------------------------------------------

def test_compiled_ensembles_give_scikit_learns_predictions():
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5))
    targets = [np.sin(x[:, 0]) + x[:, 1] ** 2, x[:, 2] * x[:, 3]]
    probe = rng.normal(size=(40, 5))
    for family in (GradientBoostingRegressor, RandomForestRegressor):
        models = [family(n_estimators=20, random_state=i).fit(x, y) for i, y in enumerate(targets)]
        compiled = baseline.CompiledEnsemble(models)
        expected = np.stack([m.predict(probe) for m in models], -1)
        assert np.allclose(compiled.predict(probe), expected, rtol=0, atol=1e-12)
        assert np.allclose(baseline.CompiledEnsemble(models[0]).predict(probe), expected[:, 0], atol=1e-12)
    with pytest.raises(TypeError, match="Cannot compile"):
        baseline.CompiledEnsemble(object())


# -- the models ----------------------------------------------------------------------------------

@pytest.mark.parametrize("regressor", ["gb", "rf"])
@pytest.mark.parametrize("configuration", ["careful", "published"])
def test_baseline_fits_and_simulates(prepared_synthetic, regressor, configuration):
    model = baseline.DerivativeRegressionModel(regressor=regressor, configuration=configuration, n_estimators=10)
    model.fit(prepared_synthetic)
    predicted = model.simulate(prepared_synthetic.test)
    assert predicted.shape == prepared_synthetic.test.x.shape
    assert model.status_ == ["ok"]
    assert (predicted >= 0).all()  # clipped at 0
    assert np.allclose(predicted[:, 0], prepared_synthetic.test.x[:, 0])
    again = baseline.DerivativeRegressionModel(regressor=regressor, configuration=configuration, n_estimators=10)
    assert np.array_equal(again.fit(prepared_synthetic).simulate(prepared_synthetic.test), predicted)


def test_solver_is_a_parameter(prepared_synthetic):
    fixed = baseline.DerivativeRegressionModel(n_estimators=5).fit(prepared_synthetic)
    adaptive = baseline.DerivativeRegressionModel(n_estimators=5, solver="RK45", rtol=1e-5, atol=1e-7).fit(prepared_synthetic)
    a, b = fixed.simulate(prepared_synthetic.test), adaptive.simulate(prepared_synthetic.test)
    assert adaptive.status_ == ["ok"] and fixed.config.solver == "rk4"
    assert baseline.DerivativeRegressionModel(configuration="published").config.solver == "dop853-stepped"
    assert np.isfinite(b).all() and np.allclose(a[:, 0], b[:, 0])
    # the fixed step evaluates the field 4 times per grid interval; the adaptive solver chooses
    assert fixed.evaluations_ == [4 * (len(prepared_synthetic.test.times) - 1)]
    assert adaptive.evaluations_ != fixed.evaluations_
    with pytest.raises(ValueError, match="Unknown solver 'euler'"):
        baseline.DerivativeRegressionModel(solver="euler")


def test_compiled_and_scikit_learn_simulations_agree(prepared_synthetic):
    fast = baseline.DerivativeRegressionModel(n_estimators=5).fit(prepared_synthetic)
    slow = baseline.DerivativeRegressionModel(n_estimators=5, compiled=False).fit(prepared_synthetic)
    assert np.allclose(fast.simulate(prepared_synthetic.test), slow.simulate(prepared_synthetic.test), atol=1e-10)


def test_diverging_baseline_is_reported_not_replaced(prepared_synthetic):
    model = baseline.DerivativeRegressionModel(n_estimators=5, divergence_factor=1e-6).fit(prepared_synthetic)
    predicted = model.simulate(prepared_synthetic.test)
    assert model.status_[0].startswith("diverged at")
    assert np.isnan(predicted[0, -1]).all()
    assert np.allclose(predicted[0, 0], prepared_synthetic.test.x[0, 0])


def test_failing_solver_is_reported(prepared_synthetic):
    model = baseline.DerivativeRegressionModel(n_estimators=5, configuration="published", max_evaluations=50)
    model.fit(prepared_synthetic)
    predicted = model.simulate(prepared_synthetic.test)
    assert model.status_[0].startswith("solver failed at")
    assert np.isnan(predicted[0, -1]).all()


def test_tpot_is_optional_with_a_clear_error(prepared_synthetic):
    try:
        import tpot  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"pip install 'nodebio\[tpot\]'"):
            baseline.DerivativeRegressionModel(regressor="tpot").fit(prepared_synthetic)
    else:
        pytest.skip("TPOT is installed: the missing-package message cannot be checked here")


def test_baseline_bad_options():
    with pytest.raises(ValueError, match="regressor must be"):
        baseline.DerivativeRegressionModel(regressor="svm")
    with pytest.raises(ValueError, match="configuration must be"):
        baseline.DerivativeRegressionModel(configuration="exact")
    with pytest.raises(RuntimeError, match="not fitted"):
        baseline.DerivativeRegressionModel().simulate(None)


def test_training_mean(prepared_synthetic):
    model = baseline.TrainingMeanModel().fit(prepared_synthetic)
    predicted = model.simulate(prepared_synthetic.test)
    assert np.allclose(predicted[0], prepared_synthetic.train.x.mean(axis=0))


# -- metrics --------------------------------------------------------------------------------------

def test_integral_rmse_by_hand():
    times = np.array([0.0, 1.0, 2.0])
    truth = np.zeros((1, 3, 2))
    predicted = np.zeros((1, 3, 2))
    predicted[0, :, 0] = 2.0          # squared error 4 over 2 h -> integral 8
    predicted[0, :, 1] = [0.0, 1.0, 0.0]  # trapezoid of [0, 1, 0] -> 1
    result = metrics.rmse_integral(times, predicted, truth, ["a", "b"])
    assert result["a"] == pytest.approx(np.sqrt(8.0))
    assert result["b"] == pytest.approx(1.0)


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


# -- comparison and CLI ---------------------------------------------------------------------------

def test_every_model_evaluates_the_same_way(prepared_synthetic):
    for name in compare.MODEL_NAMES:
        model = compare.make_model(name, quick=True, device="cpu")
        model.fit(prepared_synthetic, **({"progress": False} if name.startswith("node") else {}))
        predictions, trajectories, scores = compare.evaluate(model, prepared_synthetic)
        assert set(scores) == {"test", "train"}
        assert set(scores["test"]["rmse_integral"]) == set(prepared_synthetic.test.states)
        assert scores["test"]["status"] == ["ok"]
        assert len(trajectories) == 4 * 60 * 6
    with pytest.raises(ValueError, match="Unknown model"):
        compare.make_model("lstm")


def test_reproduce_quick_writes_the_tables(tmp_path, limonene_path):
    output = compare.reproduce(["limonene"], seeds=1, quick=True, loso=False, out=tmp_path / "res",
                               device="cpu", progress=False, data_dir=limonene_path.parent)
    files = {p.name for p in (tmp_path / "res").iterdir()}
    assert {"results.csv", "summary.csv", "improvement.csv", "results.json", "results.md"} <= files
    summary = output["summary"]
    assert set(summary["model"]) == {"node", "node-structured", "baseline-gb", "baseline-rf", "mean"}
    assert len(summary) == 7  # two neural ODEs, 2 x 2 baselines, mean
    improvement = output["improvement"]
    assert (improvement["paper_%"] == 94.38).all() and len(improvement) == 10  # 2 variants x 5 references
    assert set(improvement["model"]) == {"node", "node-structured"}
    markdown = (tmp_path / "res" / "results.md").read_text()
    assert "94.4" in markdown and "baseline-rf" in markdown
    document = json.loads((tmp_path / "res" / "results.json").read_text())
    assert document["settings"]["seeds"] == 1
    with pytest.raises(data.DataValidationError, match="Unknown pathway"):
        compare.reproduce(["limonen"], quick=True, out=None)


def test_train_cli_with_every_model(tmp_path, limonene_path, capsys):
    for name in ("baseline-gb", "baseline-rf", "mean"):
        out = tmp_path / name
        assert cli.main(["train", "--model", name, "--dataset", "limonene", "--out", str(out), "--quick",
                         "--no-progress", "--data-dir", str(limonene_path.parent)]) == 0
        metrics_json = json.loads((out / "metrics.json").read_text())
        assert metrics_json["model"] == name and metrics_json["test_strains"] == ["L2"]
        assert set(metrics_json["test"]["rmse_integral"]) == set(data.PATHWAYS["limonene"].states)
    assert cli.main(["train", "--model", "mean", "--dataset", "limonene", "--epochs", "3", "--out", str(tmp_path / "x"),
                     "--data-dir", str(limonene_path.parent)]) == 2
    assert "--epochs and --solver apply to --model node only" in capsys.readouterr().err


def test_leave_one_strain_out_quick(isopentenol_path):
    table = compare.leave_one_strain_out(["isopentenol"], quick=True, device="cpu", progress=False,
                                         data_dir=isopentenol_path.parent)
    assert set(table["held_out"]) == {"I1", "I2", "I3"}
    assert set(table["model"]) == {"node", "node-structured", "baseline-gb", "mean"}
    summary = compare.loso_summary(table)
    assert len(summary) == 3 and summary["node beats mean"].dtype == bool
    assert summary["node-structured beats mean"].dtype == bool


def test_reproduce_cli(tmp_path, limonene_path, capsys, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(limonene_path.parent))
    out = tmp_path / "results"
    assert cli.main(["reproduce", "--quick", "--seeds", "1", "--pathways", "limonene", "--no-loso",
                     "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert "Improvement of the neural ODE" in capsys.readouterr().out
    assert (out / "results.md").exists()
