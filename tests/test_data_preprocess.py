"""Preprocessing: imputation in time, the even grid, scalers, splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import data


def test_impute_interpolates_in_time_not_by_row():
    # the gap at 10 h lies between 2 h and 12 h: 80% of the way in time, half-way by row
    frame = pd.DataFrame({"Strain": ["A"] * 4, "Hour": [0.0, 2.0, 10.0, 12.0], "E": [1.0] * 4,
                          "m": [0.0, 2.0, None, 12.0]})
    dataset = data.from_frame(frame, states=["m"], controls=["E"])
    filled = data.impute(dataset)
    assert filled.table.loc[2, "m"] == pytest.approx(2.0 + 0.8 * 10.0)
    assert filled.filled and not dataset.filled
    assert not filled.mask.loc[2, "m"]  # the mask still says "filled"


def test_impute_uneven_times_and_edges(limonene):
    filled = data.impute(limonene)
    l1 = filled.strain_table("L1")
    t, v = limonene.measurements("L1", "Acetyl-CoA")
    # 8 h lies between 4 h and 12 h: the time-weighted value, not the mean of the neighbours' rows
    expected = np.interp(8.0, t, v)
    assert l1.loc[l1["time"] == 8.0, "Acetyl-CoA"].item() == pytest.approx(expected)
    # after the last measurement (48 h) the value is held
    assert l1.loc[l1["time"] == 72.0, "Acetyl-CoA"].item() == pytest.approx(v[-1])
    assert not filled.table[list(filled.variables)].isna().any().any()


def test_resample_even_grid(limonene):
    grid = data.resample(limonene, n_points=200)
    assert grid.x.shape == (3, 200, len(limonene.states))
    assert grid.u.shape == (3, 200, len(limonene.controls))
    assert grid.times[0] == 0.0 and grid.times[-1] == 72.0
    assert np.allclose(np.diff(grid.times), 72.0 / 199)
    # the grid passes through the measured points that fall on it
    i = grid.index("L2")
    t, v = limonene.measurements("L2", "Mevalonate")
    on_grid = np.interp(t, grid.times, grid.x[i, :, limonene.states.index("Mevalonate")])
    assert np.allclose(on_grid[[0, -1]], v[[0, -1]])
    # measured values travel along
    assert set(grid.measured["strain"]) == {"L1", "L2", "L3"}
    assert grid.measured["measured"].all()


def test_resample_needs_two_points(limonene):
    with pytest.raises(data.DataValidationError, match="at least 2"):
        data.resample(limonene, n_points=1)


@pytest.mark.parametrize("method", ["standardize", "log1p", "none"])
def test_scaler_round_trip(method):
    rng = np.random.default_rng(0)
    values = rng.lognormal(0.0, 2.0, size=(3, 50, 4))
    values[..., 3] = 7.0  # a constant feature
    scaler = data.Scaler(method).fit(values)
    scaled = scaler.transform(values)
    assert np.allclose(scaler.inverse_transform(scaled), values, rtol=1e-12, atol=1e-12)
    if method != "none":
        assert np.allclose(scaled[..., :3].reshape(-1, 3).mean(0), 0.0, atol=1e-10)
        assert np.allclose(scaled[..., :3].reshape(-1, 3).std(0), 1.0)
    restored = data.Scaler.from_dict(scaler.to_dict())
    assert np.allclose(restored.transform(values), scaled)


def test_scaler_errors():
    with pytest.raises(ValueError, match="Unknown scaling"):
        data.Scaler("minmax")
    with pytest.raises(RuntimeError, match="not fitted"):
        data.Scaler().transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Expected 3 features, got 2"):
        data.Scaler().fit(np.ones((4, 3))).transform(np.ones((4, 2)))


def test_prepare_default_split(limonene):
    prepared = data.prepare(limonene)
    assert prepared.train.strains == ("L1", "L3")
    assert prepared.test.strains == ("L2",)
    assert prepared.train.x.shape == (2, 200, 6)
    assert set(prepared.test.measured["strain"]) == {"L2"}


def test_no_test_strain_value_reaches_the_scaler(limonene):
    reference = data.prepare(limonene, ["L1", "L3"], ["L2"])
    # change every value of the test strain drastically: the scalers must not move
    changed = data.Dataset(**{**limonene.__dict__})
    table = limonene.table.copy()
    rows = table["strain"] == "L2"
    table.loc[rows, list(limonene.variables)] = table.loc[rows, list(limonene.variables)] * 1000 + 5
    changed.table = table
    other = data.prepare(changed, ["L1", "L3"], ["L2"])
    for a, b in ((reference.state_scaler, other.state_scaler), (reference.control_scaler, other.control_scaler)):
        assert np.array_equal(a.mean_, b.mean_) and np.array_equal(a.scale_, b.scale_)
    assert not np.allclose(reference.test.x, other.test.x)
    # and the training strains' values are exactly those of the dataset
    assert np.array_equal(reference.train.x, other.train.x)


def test_prepare_without_default_split_needs_strains(tidy_csv):
    dataset = data.load_csv(tidy_csv, states=["m1", "m2"], controls=["E1"])
    with pytest.raises(data.DataValidationError, match="pass train= and test="):
        data.prepare(dataset)
    varying = data.load_csv(tidy_csv, states=["m1"], controls=["E1"])  # m2 is constant within A alone
    prepared = data.prepare(varying, ["A"], ["B"], n_points=11)
    assert prepared.train.x.shape == (1, 11, 1)


def test_a_strain_listed_twice_in_a_split_is_an_error(limonene):
    with pytest.raises(data.DataValidationError, match="'L1' is listed twice in the training strains"):
        data.prepare(limonene, ["L1", "L1"], ["L2"])


def test_preprocessing_is_per_strain_in_one_pass():
    """Many strains with uneven, different sampling times: imputation and the grid agree with a
    strain-by-strain reference computation."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(40):
        times = np.sort(rng.choice(np.arange(0, 80), size=12, replace=False)).astype(float)
        times[0], times[-1] = 0.0, 79.0
        for t in times:
            rows.append({"Strain": f"S{s}", "Hour": t, "E": rng.uniform(1, 2), "x": rng.uniform(0, 1)
                         if rng.uniform() > 0.2 else np.nan})
    frame = pd.DataFrame(rows)
    frame.loc[frame.groupby("Strain").head(1).index, "x"] = 0.5  # every strain has values
    dataset = data.from_frame(frame, states=["x"], controls=["E"])
    grid = data.resample(dataset, n_points=30)
    for s in ("S0", "S17", "S39"):
        t, v = dataset.measurements(s, "x")
        table = dataset.strain_table(s)
        expected = np.interp(grid.times, table["time"], np.interp(table["time"], t, v))
        np.testing.assert_allclose(grid.x[grid.index(s), :, 0], expected)


def test_a_state_constant_in_the_training_strains_is_refused(tidy_csv):
    dataset = data.load_csv(tidy_csv, states=["m1", "m2"], controls=["E1"])
    with pytest.raises(data.DataValidationError, match=r"State 'm2' has one value throughout the training strains "
                                                       r"\(A\): nothing to learn"):
        data.prepare(dataset, ["A"], ["B"], n_points=11)


def test_strains_of_different_spans_are_refused_naming_the_strain(tidy_frame):
    frame = tidy_frame.copy()
    frame.loc[frame["Strain"] == "B", "Hour"] = [0.0, 1.0, 2.0, 4.0]  # B ends at 4 h, A at 10 h
    dataset = data.from_frame(frame, states=["m1", "m2"], controls=["E1"])
    with pytest.raises(data.DataValidationError, match=r"do not span the same times: 'B' \(0-4 h\) against 0-10 h "
                                                       r"for the others. One grid for all would cut every strain to "
                                                       r"0-4 h"):
        data.resample(dataset)
    window = data.resample(dataset, t_start=0.0, t_end=4.0)  # a window asked for is resampled
    assert window.times[-1] == 4.0


@pytest.mark.parametrize("name", ["time", "strain"])
def test_a_column_named_like_the_tables_own_columns_is_refused(tidy_frame, name):
    frame = tidy_frame.rename(columns={"m2": name})
    with pytest.raises(data.DataValidationError, match=f"may not be named '{name}'"):
        data.from_frame(frame, states=["m1", name], controls=["E1"])
