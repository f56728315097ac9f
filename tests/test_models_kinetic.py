"""Costello & Garcia Martin's kinetic model: rate laws, fits, failures, SBML and its cross-check."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nodebio import data, models
from nodebio.models import _sbml, kinetic
from nodebio.models.kinetic import ENZYMES, PARAMETER_NAMES, STATES, CostelloKineticModel


def _params(**values) -> np.ndarray:
    p = dict.fromkeys(PARAMETER_NAMES, 1.0)
    p.update(values)
    return np.array([p[n] for n in PARAMETER_NAMES])


@pytest.fixture(scope="module")
def limonene_prepared(limonene) -> data.PreparedData:
    return data.prepare(limonene)


@pytest.fixture(scope="module")
def careful(limonene_prepared) -> CostelloKineticModel:
    """A quick careful fit on L1 + L3 (it runs the quick published fit first)."""
    return models.make_model("costello-kinetic", configuration="careful", quick=True, seed=0).fit(limonene_prepared)


def test_rate_laws_by_hand():
    # every parameter 1 and every level 1: each Michaelis-Menten term is 1 over its denominator's terms
    v = kinetic.fluxes([1.0] * 6, [1.0] * 7, _params())
    assert v == pytest.approx({"Vin": 1.0, "v1": 1 / 2, "v2": 1 / 3, "v3": 1 / 4, "v4": 1 / 4, "v5": 1 / 2,
                               "v6": 1 / 4, "v7": 1 / 2, "v8": 1 / 4, "v9": 1 / 2})
    # a lopsided case, worked out by hand
    states = [2.0, 3.0, 0.5, 4.0, 0.1, 7.0]        # acetyl-CoA, HMG-CoA, mevalonate, Mev-P, IPP/DMAPP, limonene
    enzymes = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]  # AtoB, HMGS, HMGR, MK, PMK, PMD, LS
    p = _params(**{"Acetoacetyl-CoA": 0.2, "Mev-PP": 5.0, "GPP": 3.0, "GPPS": 2.0, "k11": 2.0, "k12": 3.0,
                   "k24": 0.5, "k35": 4.0, "k45": 0.0, "k52": 6.0, "k65": 2.0, "k82": 0.01, "k92": 9.0,
                   "Vin": 5.0, "ks3": 2.0})
    v = kinetic.fluxes(states, enzymes, p)
    assert v["v1"] == pytest.approx(2 * 10 * 2 / (3 + 2))                          # 8
    assert v["v2"] == pytest.approx(20 * 2 * 0.2 * 2 / (0.2 + 2 + 0.5 * 2 * 0.2))   # 16 / 2.4
    assert v["v3"] == pytest.approx(30 * 3 / (2 + 0.2 + 3 + 4))                     # HMG-CoA / (s1 + s2 + s3 + 4)
    assert v["v4"] == pytest.approx(40 * 0.5 / (3 + 4 + 0.5))                      # GPP and Mev-P compete
    assert v["v5"] == pytest.approx(50 * 4 / (6 + 4))
    assert v["v6"] == pytest.approx(60 * 5 / (4 + 0.5 + 5 + 2))
    assert v["v8"] == pytest.approx(2 * 0.01 / (0.01 + 0.1 + 0.1 + 0.01))          # IPP = DMAPP = the pool
    assert v["v9"] == pytest.approx(70 * 3 / (9 + 3))
    d = kinetic.rates(states, enzymes, p)
    assert d == pytest.approx((5 - v["v1"] - v["v2"], v["v2"] - v["v3"], v["v3"] - v["v4"], v["v4"] - v["v5"],
                               v["v6"] - 2 * v["v8"], v["v9"]))
    # the solver's scalar right-hand side is the same function
    rng = np.random.default_rng(3)
    for _ in range(5):
        x, e, q = rng.uniform(0.01, 5, 6), rng.uniform(1, 100, 7), 10 ** rng.uniform(-3, 3, 39)
        assert kinetic._rhs_factory(q)(list(x), list(e)) == pytest.approx(kinetic.rates(x, e, q), rel=1e-12)


def test_parameters_as_published():
    assert len(PARAMETER_NAMES) == 39 and len(kinetic.KINETIC_CONSTANTS) == 34
    assert kinetic.HELD_CONSTANT == ("Idi", "GPPS", "Acetoacetyl-CoA", "Mev-PP", "GPP")
    # the Idi flux cancels in the IPP/DMAPP pool: its parameters change no rate
    base = kinetic.rates([1.0] * 6, [1.0] * 7, _params())
    assert kinetic.rates([1.0] * 6, [1.0] * 7, _params(Idi=50.0, k71=9.0, k72=0.1)) == pytest.approx(base)


def test_published_derivatives(limonene_prepared):
    x, e, d = kinetic.published_derivatives(limonene_prepared.dataset, ["L1", "L3"])
    assert x.shape == (2, 100, 6) and e.shape == (2, 100, 7) and d.shape == (2, 100, 6)
    assert np.isfinite(d).all()
    # their step is span / 100 on a grid of 99 intervals: derivatives 100/99 of the slopes on the true grid
    assert np.allclose(d, np.gradient(x, np.linspace(0, 72, 100), axis=1) * 100 / 99)


def test_quick_fits_lower_the_training_error(careful, limonene_prepared):
    published = careful.fit_info_["published"]
    assert published["final"] < published["start"]
    info = careful.fit_info_["careful"]
    assert info["start_from"] in info["starts"]
    assert info["final"] < info["start"]
    assert np.isfinite(careful.params_).all() and (careful.params_ > 0).all()
    predicted = careful.simulate(limonene_prepared.train)
    assert predicted.shape == limonene_prepared.train.x.shape
    assert careful.status_ == ["ok", "ok"] and np.isfinite(predicted).all()
    assert set(careful.parameters()) == set(PARAMETER_NAMES)
    assert careful.fit_seconds > 0 and careful.train_strains == ("L1", "L3") and careful.test_strains == ("L2",)


def test_registry_and_configurations():
    assert "costello-kinetic" in models.MODEL_NAMES and "kinetic" not in models.MODEL_NAMES
    model = models.make_model("costello-kinetic", configuration="published", quick=True, seed=4)
    assert isinstance(model, CostelloKineticModel) and model.name == "costello-kinetic"
    # the former name is still accepted, and makes the same model
    assert isinstance(models.make_model("kinetic"), CostelloKineticModel)
    assert (model.config.configuration, model.config.seed, model.config.de_generations) == ("published", 4, 10)
    assert models.make_model("kinetic").config.configuration == "careful"
    with pytest.raises(ValueError, match="configuration must be"):
        models.make_model("kinetic", configuration="fast")
    with pytest.raises(RuntimeError, match="not fitted"):
        model.simulate(None)


def test_diverging_and_failed_solves_are_reported(careful, limonene_prepared):
    model = copy.deepcopy(careful)
    model.params_ = model.params_.copy()
    model.params_[PARAMETER_NAMES.index("Vin")] = 1e12  # acetyl-CoA supply far beyond any drain
    predicted = model.simulate(limonene_prepared.test)
    status = model.status_[0]
    assert status.startswith("diverged at ")
    failed = np.isnan(predicted[0]).any(axis=1)
    first = int(np.argmax(failed))
    assert failed[first:].all() and np.isfinite(predicted[0, :first]).all() and first >= 1  # NaN from the failure on
    assert float(status.split()[2]) <= limonene_prepared.test.times[first] + 0.05
    model = copy.deepcopy(careful)
    model.config.max_evaluations = 5
    predicted = model.simulate(limonene_prepared.test)
    assert model.status_[0].startswith("solver failed at ") and "more than 5 rate evaluations" in model.status_[0]
    assert np.isnan(predicted[0, 1:]).all()


def test_a_table_without_the_models_columns_is_a_clear_error(limonene, limonene_path, isopentenol_path):
    states = tuple(s for s in limonene.states if s != "Mev-P")
    without = data.load("limonene", states=states, data_dir=limonene_path.parent)
    with pytest.raises(data.DataValidationError, match=r"lacks the state column\(s\) 'Mev-P'.*load the limonene"):
        CostelloKineticModel(quick=True).fit(data.prepare(without))
    isopentenol = data.load("isopentenol", data_dir=isopentenol_path.parent)
    with pytest.raises(data.DataValidationError, match="limonene pathway only"):
        CostelloKineticModel(quick=True).fit(data.prepare(isopentenol))
    with_gpp = data.load("limonene", states=limonene.states + ("GPP",), data_dir=limonene_path.parent)
    with pytest.raises(data.DataValidationError, match=r"no rate law for the state column\(s\) 'GPP'"):
        CostelloKineticModel(quick=True).fit(data.prepare(with_gpp))


def test_sbml_is_valid_and_holds_the_fit(careful, tmp_path):
    libsbml = pytest.importorskip("libsbml")
    text = careful.to_sbml("L2")
    assert _sbml.problems(text) == []
    model = libsbml.readSBMLFromString(text).getModel()
    assert model.getNumReactions() == 9 and model.getNumSpecies() == 9
    for name, value in careful.parameters().items():
        if name in ("Acetoacetyl-CoA", "Mev-PP", "GPP"):
            assert model.getSpecies(_sbml.SPECIES_IDS[name]).getInitialConcentration() == pytest.approx(value, rel=1e-14)
        else:
            assert model.getParameter(_sbml.ENZYME_IDS.get(name, name)).getValue() == pytest.approx(value, rel=1e-14)
    assert model.getNumRules() == len(ENZYMES)  # the seven measured enzyme levels follow the strain
    template = careful.to_sbml()
    assert _sbml.problems(template) == [] and libsbml.readSBMLFromString(template).getModel().getNumRules() == 0
    path = careful.write_sbml(tmp_path / "kinetic.xml", "L1")
    assert _sbml.problems(path.read_text(encoding="utf-8")) == []
    with pytest.raises(data.DataValidationError, match="Unknown strain 'L9'"):
        careful.to_sbml("L9")


def test_piecewise_linear_knots():
    times = np.linspace(0, 10, 11)
    values = np.interp(times, [0, 4, 10], [1.0, 5.0, 2.0])
    t, v = _sbml.piecewise_linear(times, values)
    assert list(t) == [0, 4, 10] and np.allclose(v, [1, 5, 2])


@pytest.mark.parametrize("strain", ["L2", "L3"])
def test_libroadrunner_runs_the_sbml_to_the_same_trajectories(careful, limonene_prepared, strain):
    roadrunner = pytest.importorskip("roadrunner")
    model = copy.deepcopy(careful)
    model.config.rtol, model.config.atol, model.config.clip_at_zero = 1e-10, 1e-12, False
    grid = limonene_prepared.test if strain == "L2" else limonene_prepared.train.subset([strain])
    ours = model.simulate(grid)[0]
    assert model.status_ == ["ok"]
    runner = roadrunner.RoadRunner(model.to_sbml(strain))
    runner.integrator.relative_tolerance = 1e-10
    runner.integrator.absolute_tolerance = 1e-12
    runner.timeCourseSelections = ["time"] + [f"[{_sbml.SPECIES_IDS[s]}]" for s in grid.states]
    theirs = np.asarray(runner.simulate(times=list(grid.times)))
    assert np.allclose(theirs[:, 0], grid.times)
    np.testing.assert_allclose(theirs[:, 1:], ours, rtol=1e-4, atol=1e-9)
    assert [s for s in grid.states] == list(STATES)
