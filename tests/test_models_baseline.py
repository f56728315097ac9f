"""The 2018 derivative-regression baseline: derivatives, the published grid, compiled trees, solvers, failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import data
from nodebio.models import baseline

from conftest import has_data


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
    with pytest.raises(ValueError, match="Cannot compile"):
        baseline.CompiledEnsemble(object())


@pytest.mark.parametrize("regressor", ["gb", "rf"])
@pytest.mark.parametrize("configuration", ["careful", "published"])
def test_baseline_fits_and_simulates(baseline_prepared, regressor, configuration):
    model = baseline.DerivativeRegressionModel(regressor=regressor, configuration=configuration, n_estimators=10)
    model.fit(baseline_prepared)
    predicted = model.simulate(baseline_prepared.test)
    assert predicted.shape == baseline_prepared.test.x.shape
    assert model.status_ == ["ok"]
    assert (predicted >= 0).all()  # clipped at 0
    assert np.allclose(predicted[:, 0], baseline_prepared.test.x[:, 0])
    again = baseline.DerivativeRegressionModel(regressor=regressor, configuration=configuration, n_estimators=10)
    assert np.array_equal(again.fit(baseline_prepared).simulate(baseline_prepared.test), predicted)


def test_solver_is_a_parameter(baseline_prepared):
    fixed = baseline.DerivativeRegressionModel(n_estimators=5).fit(baseline_prepared)
    adaptive = baseline.DerivativeRegressionModel(n_estimators=5, solver="RK45", rtol=1e-5, atol=1e-7).fit(baseline_prepared)
    a, b = fixed.simulate(baseline_prepared.test), adaptive.simulate(baseline_prepared.test)
    assert adaptive.status_ == ["ok"] and fixed.config.solver == "rk4"
    assert baseline.DerivativeRegressionModel(configuration="published").config.solver == "dopri5-stepped"
    assert np.isfinite(b).all() and np.allclose(a[:, 0], b[:, 0])
    # the fixed step evaluates the field 4 times per grid interval; the adaptive solver chooses
    assert fixed.evaluations_ == [4 * (len(baseline_prepared.test.times) - 1)]
    assert adaptive.evaluations_ != fixed.evaluations_
    with pytest.raises(ValueError, match="Unknown solver 'euler'"):
        baseline.DerivativeRegressionModel(solver="euler")


def test_compiled_and_scikit_learn_simulations_agree(baseline_prepared):
    fast = baseline.DerivativeRegressionModel(n_estimators=5).fit(baseline_prepared)
    slow = baseline.DerivativeRegressionModel(n_estimators=5, compiled=False).fit(baseline_prepared)
    assert np.allclose(fast.simulate(baseline_prepared.test), slow.simulate(baseline_prepared.test), atol=1e-10)


@pytest.mark.parametrize("regressor", ["gb", "rf"])
def test_batched_rk4_equals_one_strain_at_a_time(baseline_prepared, regressor):
    model = baseline.DerivativeRegressionModel(regressor=regressor, n_estimators=10).fit(baseline_prepared)
    grid = baseline_prepared.train  # three strains, and scenarios: their controls scaled
    rng = np.random.default_rng(0)
    u = np.concatenate([grid.u, grid.u * rng.lognormal(0.0, 0.3, (len(grid.strains), 1, grid.u.shape[-1]))])
    x0 = np.concatenate([grid.x[:, 0], grid.x[:, 0]])
    paths, status, evaluations = model._solve_careful_batch(grid.times, x0, u)
    for i in range(len(x0)):
        path, one_status, one_evaluations = model._solve_careful(grid.times, x0[i], u[i])
        assert np.array_equal(paths[i], path, equal_nan=True), i
        assert (status[i], evaluations[i]) == (one_status, one_evaluations)


def test_batched_rk4_stops_only_the_diverging_trajectories(baseline_prepared):
    model = baseline.DerivativeRegressionModel(n_estimators=5).fit(baseline_prepared)
    test = baseline_prepared.test
    x0 = np.concatenate([test.x[:, 0], 1e3 * model.upper_[None]])  # the second one starts out of range
    u = np.concatenate([test.u, test.u])
    paths, status, evaluations = model._solve_careful_batch(test.times, x0, u)
    assert status[0] == "ok" and status[1].startswith("diverged at")
    assert np.isfinite(paths[0]).all() and np.isnan(paths[1, 1:]).all()
    assert evaluations == [4 * (len(test.times) - 1), 4]
    one, _, _ = model._solve_careful(test.times, x0[0], u[0])
    assert np.array_equal(paths[0], one)


def test_diverging_baseline_is_reported_not_replaced(baseline_prepared):
    model = baseline.DerivativeRegressionModel(n_estimators=5, divergence_factor=1e-6).fit(baseline_prepared)
    predicted = model.simulate(baseline_prepared.test)
    assert model.status_[0].startswith("diverged at")
    assert np.isnan(predicted[0, -1]).all()
    assert np.allclose(predicted[0, 0], baseline_prepared.test.x[0, 0])


def test_failing_solver_is_reported(baseline_prepared):
    model = baseline.DerivativeRegressionModel(n_estimators=5, configuration="published", max_evaluations=50)
    model.fit(baseline_prepared)
    predicted = model.simulate(baseline_prepared.test)
    assert model.status_[0].startswith("solver failed at")
    assert np.isnan(predicted[0, -1]).all()


def test_tpot_is_optional_with_a_clear_error(baseline_prepared):
    try:
        import tpot  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match=r"make tpot"):
            baseline.DerivativeRegressionModel(regressor="tpot").fit(baseline_prepared)
    else:
        pytest.skip("TPOT is installed: the missing-package message cannot be checked here")


def test_baseline_bad_options():
    with pytest.raises(ValueError, match="regressor must be"):
        baseline.DerivativeRegressionModel(regressor="svm")
    with pytest.raises(ValueError, match="configuration must be"):
        baseline.DerivativeRegressionModel(configuration="exact")
    assert baseline.BaselineConfig(configuration="published-features").solver == "dopri5-stepped"
    with pytest.raises(RuntimeError, match="not fitted"):
        baseline.DerivativeRegressionModel().simulate(None)


# --- "published-features": their hand-picked inputs, with measured series of the simulated strain ---

def test_published_feature_lists_as_data():
    for pathway, lists in baseline.PUBLISHED_FEATURES.items():
        spec = data.PATHWAYS[pathway]
        assert tuple(lists) == baseline.published_states(pathway)
        for state, inputs in lists.items():
            assert state in inputs  # every metabolite sees itself
            for name in inputs:
                assert name in lists or name in spec.controls or name in baseline.PUBLISHED_COVARIATES, name
        # mevalonate's inputs leave out the enzymes that make it
        assert not {"HMGS", "HMGR"} & set(lists["Mevalonate"])
        assert {"OD600", "ATP", "Pyruvate", "citrate"} <= set(lists["Acetyl-CoA"])
    assert "GPP" in baseline.PUBLISHED_FEATURES["limonene"]["Limonene"]
    assert "Mev-P" in baseline.published_states("isopentenol")
    assert "Mev-P" not in data.PATHWAYS["isopentenol"].states


def _toy(covariate_rows=True):
    """Three strains, two states (m, n), one control (E); covariate OD on extra rows."""
    rows, cov = [], []
    for k, strain in enumerate(["A", "B", "C"]):
        for t in (0.0, 4.0, 8.0, 12.0, 16.0):
            rows.append({"Strain": strain, "Hour": t, "E": 1.0 + k + 0.1 * t, "m": (1 + k) * (1 + 0.2 * t),
                         "n": 0.5 + 0.05 * k * t})
        for t in (0.0, 2.0, 4.0, 8.0, 12.0, 16.0):
            cov.append({"strain": strain, "time": t, "OD": 1.0 + 2.0 * k + 0.3 * t})
    dataset = data.from_frame(pd.DataFrame(rows), states=["m", "n"], controls=["E"], name="toy")
    return dataset, pd.DataFrame(cov)


TOY_FEATURES = {"m": ("m", "OD", "E"), "n": ("n", "m", "OD")}


def test_published_feature_resample_keeps_covariate_rows_by_position():
    rows = pd.DataFrame({"Strain": ["A"] * 2, "Hour": [0.0, 10.0], "E": [1.0, 1.0], "m": [0.0, 10.0]})
    dataset = data.from_frame(rows, states=["m"], controls=["E"], min_times=2)
    covariates = pd.DataFrame({"strain": ["A"] * 3, "time": [0.0, 2.0, 10.0], "OD": [1.0, 2.0, 3.0]})
    grids, w = baseline.published_feature_resample(dataset, covariates, n_points=6)
    at_2 = list(grids.times).index(2.0)
    assert grids.x[0, at_2, 0] == pytest.approx(5.0)  # the covariate-only row at 2 h is a row: midpoint by position
    assert w[0, at_2, 0] == pytest.approx(2.0)
    assert w.shape == (1, 6, 1)


def test_published_features_use_the_simulated_strains_own_covariates():
    dataset, covariates = _toy()
    prepared = data.prepare(dataset, ["A", "B"], ["C"], n_points=25)
    model = baseline.DerivativeRegressionModel(regressor="gb", configuration="published-features",
                                               n_estimators=20, features=TOY_FEATURES)
    model.fit(prepared, covariates=covariates)
    assert model.covariates == ("OD",)
    assert model.inputs_ == [[0, 3, 2], [1, 0, 3]]  # order: states, controls, covariates
    own = model.simulate(prepared.test)
    _, w_c = baseline.published_feature_resample(dataset.subset(["C"]), covariates, n_points=25)
    _, w_a = baseline.published_feature_resample(dataset.subset(["A"]), covariates, n_points=25)
    assert np.allclose(model.simulate(prepared.test, covariates=w_c), own, equal_nan=True)
    assert not np.allclose(model.simulate(prepared.test, covariates=w_a), own, equal_nan=True)
    assert model.status_ == ["ok"]


def test_published_features_missing_covariate_is_a_clear_error():
    dataset, covariates = _toy()
    prepared = data.prepare(dataset, ["A", "B"], ["C"], n_points=25)
    model = baseline.DerivativeRegressionModel(regressor="gb", configuration="published-features",
                                               n_estimators=5, features=TOY_FEATURES)
    with pytest.raises(data.DataValidationError, match=r"Covariate column\(s\) 'OD' missing"):
        model.fit(prepared, covariates=covariates.drop(columns="OD"))
    with pytest.raises(data.DataValidationError, match="No covariate rows for strain 'C'"):
        model.fit(prepared, covariates=covariates.query("strain != 'C'"))
    with pytest.raises(data.DataValidationError, match="No feature list for state"):
        baseline.DerivativeRegressionModel(configuration="published-features", features={"m": ("m",)}).fit(
            prepared, covariates=covariates)


@pytest.mark.skipif(not has_data("limonene_data.csv") or not has_data("time_series_metabolomics.csv"),
                    reason="the pathway data are not at hand")
def test_load_covariates_reads_atp_from_the_metabolomics_and_keeps_every_row():
    covariates = baseline.load_covariates("limonene")
    assert list(covariates.columns) == ["strain", "time", *baseline.PUBLISHED_COVARIATES]
    l2 = covariates[covariates["strain"] == "L2"].set_index("time")
    raw = data.read_raw("time_series_metabolomics.csv")
    raw = raw[raw["Strain"] == "L2"].set_index("Hour")
    assert l2.loc[0.0, "ATP"] == pytest.approx(raw.loc[0, "ATP (uM)"])
    assert np.isnan(l2.loc[2.0, "ATP"]) and l2.loc[2.0, "Pyruvate"] > 0  # the 2 h row is kept
    with pytest.raises(data.DataValidationError, match="'Glucose' is in neither"):
        baseline.load_covariates("limonene", ["Glucose"])


@pytest.mark.skipif(not has_data("isopentenol_data.csv") or not has_data("time_series_metabolomics.csv"),
                    reason="the pathway data are not at hand")
def test_published_features_on_the_pathway_data():
    default = data.prepare(data.load("isopentenol"))
    with pytest.raises(data.DataValidationError, match="published_states"):
        baseline.DerivativeRegressionModel(configuration="published-features", n_estimators=5).fit(default)
    dataset = data.load("isopentenol", states=baseline.published_states("isopentenol"))
    prepared = data.prepare(dataset)
    model = baseline.DerivativeRegressionModel(configuration="published-features", n_estimators=10).fit(prepared)
    assert set(model.covariates) == {"OD600", "ATP", "NAD", "NADP", "Pyruvate", "citrate"}
    predicted = model.simulate(prepared.test)
    assert predicted.shape == (1, 200, 6)
    # I2's covariates are I2's own measurements (OD600 at 0 h)
    i2 = data.read_raw("isopentenol_data.csv").query("Strain == 'I2' and Hour == 0")
    assert model._published_covariates["I2"][0, model.covariates.index("OD600")] == pytest.approx(i2["OD600"].iloc[0])


def test_published_resample_keeps_every_strains_times_when_spans_differ():
    # A is sampled over 0-24 h, B (the last strain) over 0-12 h: one grid over 0-24 h, each strain at its times
    frame = pd.DataFrame({"Strain": ["A"] * 4 + ["B"] * 3, "Hour": [0.0, 8.0, 16.0, 24.0, 0.0, 6.0, 12.0],
                          "E": [1.0] * 7, "m": [0.0, 8.0, 16.0, 24.0, 5.0, 11.0, 17.0]})
    dataset = data.from_frame(frame, states=["m"], controls=["E"], min_times=3)
    published = baseline.published_resample(dataset, n_points=7)
    assert list(published.times) == [0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0]
    a, b = published.x[0, :, 0], published.x[1, :, 0]
    assert a == pytest.approx([0.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0])  # A's values at A's hours
    assert b[:4] == pytest.approx([5.0, 8.0, 14.0, 17.0])  # B: by row position (4 h halfway between 0 and 6 h)
    assert b[4:] == pytest.approx([17.0] * 3)  # after B's last sample, its last value repeats
    covariates = pd.DataFrame({"strain": ["A", "A", "B", "B"], "time": [0.0, 24.0, 0.0, 12.0], "OD": [1.0, 3.0, 1.0, 2.0]})
    grids, w = baseline.published_feature_resample(dataset, covariates, n_points=7)
    assert list(grids.times) == list(published.times)
    assert grids.x[0, :, 0] == pytest.approx(a)
    assert w[0, -1, 0] == pytest.approx(3.0) and w[1, 3, 0] == pytest.approx(2.0)


def test_published_solver_is_dopri5_as_the_stored_run(baseline_prepared):
    model = baseline.DerivativeRegressionModel(configuration="published", n_estimators=10).fit(baseline_prepared)
    assert model.config.solver == "dopri5-stepped"
    dopri5 = model.simulate(baseline_prepared.test)
    assert model.status_ == ["ok"] * len(baseline_prepared.test.strains)
    model.config.solver = "dop853-stepped"
    dop853 = model.simulate(baseline_prepared.test)
    assert not np.array_equal(dopri5, dop853)  # another integrator: the stored run's is the one used
    assert np.isfinite(dopri5).all()
