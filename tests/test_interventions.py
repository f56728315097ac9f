"""Interventions: composition, batched simulation, intervals, extrapolation flags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nodebio import interventions as iv
from nodebio import data
from nodebio.errors import CheckpointMismatchError


def test_interventions_compose_and_print_readably():
    both = iv.scale("HMGR", 2) + iv.scale("Limonene Synthase", 0.5)
    assert str(both) == "HMGR x2, Limonene Synthase x0.5"
    assert both.proteins == ("HMGR", "Limonene Synthase")
    assert str(iv.UNMODIFIED) == "unmodified"
    assert str(iv.scale("MK", 3, start=24, end=48)) == "MK x3 (24-48 h)"
    assert str(iv.set_level("MK", 0)) == "MK = 0"
    assert (iv.scale("HMGR", 2) + iv.scale("HMGR", 1.5)).factor("HMGR") == pytest.approx(3.0)
    assert math.isnan(iv.scale("HMGR", 2, start=10).factor("HMGR"))
    assert both.factor("MK") == 1.0


def test_apply_scales_sets_and_respects_windows():
    times = np.array([0.0, 12.0, 24.0, 36.0, 48.0])
    u = np.arange(10, dtype=float).reshape(5, 2) + 1.0
    names = ["A", "B"]
    out = iv.scale("A", 2).apply(u, times, names)
    np.testing.assert_allclose(out[:, 0], 2 * u[:, 0])
    np.testing.assert_allclose(out[:, 1], u[:, 1])
    windowed = iv.scale("B", 10, start=12, end=36).apply(u, times, names)
    np.testing.assert_allclose(windowed[:, 1], u[:, 1] * np.array([1, 10, 10, 10, 1]))
    # changes apply in order: a level set after a scaling wins, a scaling after a level scales it
    np.testing.assert_allclose((iv.scale("A", 3) + iv.set_level("A", 7)).apply(u, times, names)[:, 0], 7.0)
    np.testing.assert_allclose((iv.set_level("A", 7) + iv.scale("A", 3)).apply(u, times, names)[:, 0], 21.0)
    assert np.shares_memory(out, u) is False
    np.testing.assert_allclose(u[:, 0], [1, 3, 5, 7, 9])  # the input is untouched


@pytest.mark.parametrize("make, message", [
    (lambda: iv.scale("HMGR", 0), "must be a number from 0.001 to 1000"),
    (lambda: iv.scale("HMGR", -2), "must be a number from 0.001 to 1000"),
    (lambda: iv.scale("HMGR", float("nan")), "must be a number from 0.001 to 1000"),
    (lambda: iv.scale("HMGR", float("inf")), r"a level of 0 to remove it \(--set PROTEIN=0"),
    (lambda: iv.scale("HMGR", 1e300), "must be a number from 0.001 to 1000, got 1e"),
    (lambda: iv.scale("HMGR", 1e-9), "must be a number from 0.001 to 1000, got 1e-09"),
    (lambda: iv.scale("HMGR", 5e-324), "must be a number from 0.001 to 1000, got 5e-324"),
    (lambda: iv.set_level("HMGR", -1), "non-negative"),
    (lambda: iv.scale("HMGR", 2, start=48, end=24), "must end after it starts"),
    (lambda: iv.pairwise_scan("MK", "MK", [1, 2]), "two different proteins"),
    (lambda: iv.parse_change("HMGR"), "write PROTEIN=VALUE"),
    (lambda: iv.parse_change("HMGR=two"), "is not a number"),
    (lambda: iv.log_factors(4, 0.25), "0 < low < high"),
])
def test_bad_interventions_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_factor_bounds_can_be_widened(monkeypatch):
    monkeypatch.setattr(iv, "FACTOR_BOUNDS", (1e-6, 1e6))
    assert iv.scale("HMGR", 1e5).factor("HMGR") == 1e5


def test_titers_are_never_negative():
    trajectories = np.zeros((2, 2, 3, 1))
    trajectories[:, :, -1, 0] = [[-0.119, 0.5], [0.2, -1.0]]  # a model's negative concentrations
    result = iv.InterventionResult([iv.UNMODIFIED, iv.scale("A", 2)], "S1", "P", np.arange(3.0), ("P",),
                                   trajectories, np.ones((2, 3, 1)), ("A",), [(), ()])
    np.testing.assert_array_equal(result.titers, [[0.0, 0.5], [0.2, 0.0]])
    assert (result.table()["titer_mean"] >= 0).all() and (result.table()["titer_low"] >= 0).all()


def test_unknown_protein_is_named_with_a_suggestion():
    with pytest.raises(ValueError, match=r"Unknown protein: 'HMGQ' \(did you mean"):
        iv.scale("HMGQ", 2).apply(np.ones((3, 2)), np.arange(3.0), ["HMGR", "MK"])


def test_parse_change_and_scans():
    assert iv.parse_change("Limonene Synthase=0.5") == iv.scale("Limonene Synthase", 0.5)
    assert iv.parse_change("HMGR=2@24-48") == iv.scale("HMGR", 2, start=24, end=48)
    assert iv.parse_change("MK=1e5", "set") == iv.set_level("MK", 1e5)
    single = iv.single_protein_scan(["A", "B"], [0.5, 1.0, 2.0])
    assert [str(s) for s in single] == ["A x0.5", "A x2", "B x0.5", "B x2"]
    pair = iv.pairwise_scan("A", "B", [0.5, 1, 2])
    assert len(pair) == 9 and str(pair[0]) == "A x0.5, B x0.5"
    np.testing.assert_allclose(iv.log_factors(0.25, 4, 5), [0.25, 0.5, 1, 2, 4])


def test_batched_equals_one_by_one(intervention_ensemble, intervention_prepared):
    test = intervention_prepared.test
    strain = test.strains[0]
    scenarios = iv.single_protein_scan(["HMGR", "Limonene Synthase", "AtoB"], [0.5, 2.0])
    batched = iv.simulate_interventions(intervention_ensemble, test, scenarios, strain=strain, product="Limonene")
    chunked = iv.simulate_interventions(intervention_ensemble, test, scenarios, strain=strain, product="Limonene", batch_size=2)
    np.testing.assert_allclose(chunked.trajectories, batched.trajectories, rtol=1e-5, atol=1e-6)
    for k, scenario in enumerate(scenarios, start=1):
        alone = iv.simulate_interventions(intervention_ensemble, test, [scenario], strain=strain, product="Limonene")
        np.testing.assert_allclose(alone.trajectories[:, 1], batched.trajectories[:, k], rtol=1e-5, atol=1e-6)
    # and the same as a member simulating the changed controls itself
    i = test.index(strain)
    u = scenarios[1].apply(test.u[i], test.times, test.controls)[None]
    direct = intervention_ensemble.members[0].simulate(test.subset([strain]), controls=u)
    np.testing.assert_allclose(batched.trajectories[0, 2], direct[0], rtol=1e-5, atol=1e-6)
    # the unmodified strain is the first scenario and its fold change is 1
    assert str(batched.interventions[0]) == "unmodified"
    np.testing.assert_allclose(batched.fold_changes[:, 0], 1.0)


def test_ensemble_intervals(intervention_ensemble, intervention_prepared):
    test = intervention_prepared.test
    scenarios = iv.single_protein_scan(["HMGR", "Limonene Synthase"], [0.25, 4.0])
    result = iv.simulate_interventions(intervention_ensemble, test, scenarios, product="Limonene", level=0.8)
    table = result.table(ranked=False)
    titers = result.titers
    assert titers.shape == (3, 5)
    np.testing.assert_allclose(table["titer_mean"], titers.mean(0))
    np.testing.assert_allclose(table["titer_low"], np.quantile(titers, 0.1, axis=0))
    np.testing.assert_allclose(table["titer_high"], np.quantile(titers, 0.9, axis=0))
    assert (table["titer_low"] <= table["titer_mean"]).all() and (table["titer_mean"] <= table["titer_high"]).all()
    assert (table["titer_high"] - table["titer_low"]).max() > 0  # members differ
    ranked = result.table()
    assert list(ranked["rank"]) == [1, 2, 3, 4, 5]
    assert ranked["titer_mean"].is_monotonic_decreasing
    assert list(ranked.columns[1:9]) == ["intervention", "protein", "factor", "titer_mean", "titer_low",
                                         "titer_high", "fold_change", "extrapolation"]
    # an ensemble of one: the interval is the point
    single = iv.simulate_interventions(intervention_ensemble.members[0], test, scenarios, product="Limonene").table()
    assert (single["titer_low"] == single["titer_high"]).all()


def test_extrapolation_flags(intervention_ensemble, intervention_prepared):
    train = intervention_prepared.train
    ranges = iv.training_range(train)
    strain = train.strains[0]  # a training strain lies inside the training range
    scenarios = [iv.scale("HMGR", 100.0), iv.scale("MK", 1.0 + 1e-9), iv.set_level("AtoB", 0.0)]
    result = iv.simulate_interventions(intervention_ensemble, train, scenarios, strain=strain, product="Limonene",
                                       control_range=ranges)
    table = result.table(ranked=False).set_index("intervention")
    assert not table.loc["unmodified", "extrapolation"]
    assert table.loc["HMGR x100", "extrapolation"] and table.loc["HMGR x100", "extrapolated_proteins"] == "HMGR"
    assert table.loc["HMGR x100", "adds_extrapolation"]
    assert not table.loc["MK x1", "extrapolation"]
    assert table.loc["AtoB = 0", "extrapolated_proteins"] == "AtoB"
    # without a range nothing is flagged
    plain = iv.simulate_interventions(intervention_ensemble, train, scenarios, strain=strain, product="Limonene").table()
    assert not plain["extrapolation"].any()


def test_simulation_input_errors(intervention_ensemble, intervention_prepared):
    test = intervention_prepared.test
    with pytest.raises(ValueError, match="Unknown protein: 'HMGQ'"):
        iv.simulate_interventions(intervention_ensemble, test, [iv.scale("HMGQ", 2)], product="Limonene")
    with pytest.raises(data.DataValidationError, match="Unknown strain: 'S9'"):
        iv.simulate_interventions(intervention_ensemble, test, [iv.scale("HMGR", 2)], strain="S9")
    with pytest.raises(ValueError, match="Unknown state: 'Limonen'"):
        iv.simulate_interventions(intervention_ensemble, test, [iv.scale("HMGR", 2)], product="Limonen")
    coarse = iv.strain_trajectories(intervention_prepared.dataset, test.strains[0], np.linspace(0, 72, 50))
    with pytest.raises(CheckpointMismatchError, match="grid of 50 times"):
        iv.simulate_interventions(intervention_ensemble, coarse, [iv.scale("HMGR", 2)], product="Limonene")
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        iv.simulate_interventions(intervention_ensemble, test, [], level=1.5)


def test_random_designs_are_seeded_and_in_range():
    designs = iv.random_designs(["A", "B", "C"], 50, low=0.5, high=2.0, seed=4)
    assert len(designs) == 50 and all(d.proteins == ("A", "B", "C") for d in designs)
    factors = np.array([[d.factor(p) for p in "ABC"] for d in designs])
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert [str(d) for d in designs] == [str(d) for d in iv.random_designs(["A", "B", "C"], 50, low=0.5, high=2.0, seed=4)]


def test_a_window_outside_the_experiment_is_an_error(intervention_ensemble, intervention_prepared):
    with pytest.raises(ValueError, match="HMGR x2 \\(100-200 h\\).*outside the experiment \\(0-72 h\\)"):
        iv.simulate_interventions(intervention_ensemble, intervention_prepared.test,
                                  [iv.scale("HMGR", 2, start=100, end=200)])


def test_file_names_of_strains_are_safe():
    assert iv.safe_file_name("../../../x") == "_.._.._x"
    assert iv.safe_file_name("L2") == "L2"
