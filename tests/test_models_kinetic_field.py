"""The enzyme-linear kinetic field: fluxes proportional to their enzymes, growth dilution, the
warm start by derivative matching, checkpoints and the model ``node-kinetic``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nodebio import data, metrics, synthetic
from nodebio.models import kinetic_field, make_model, prepare_for, solve
from nodebio.models.node import NeuralODEModel
from nodebio.errors import UsageError

from conftest import has_data

SMALL = dict(iterations=12, eval_every=4, windows_per_strain=2, device="cpu")


@pytest.fixture(scope="module")
def kinetic_prepared():
    """Four synthetic strains with enzymes in original units (what node-kinetic trains on)."""
    return data.prepare(synthetic.make_dataset(4, seed=0, noise=0.02), ["S1", "S2", "S3"], ["S4"], n_points=60,
                        control_scaling="none")


def _field(prepared, seed=0, **options):
    """A kinetic field with random parameters, so that every part of a flux visibly matters."""
    field = kinetic_field.kinetic_field(prepared, data.reactions_for("synthetic"), **options)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in field.named_parameters():
            p.add_(torch.randn(p.shape, generator=generator) * 0.5)
    return field.double()


def _grid(prepared, strains=2):
    trajectories = prepared.train
    states = torch.as_tensor(prepared.state_scaler.transform(trajectories.x[:strains]))
    controls = torch.as_tensor(trajectories.u[:strains])
    return torch.as_tensor(trajectories.times), states, controls


def test_a_flux_is_proportional_to_its_enzymes(kinetic_prepared):
    field = _field(kinetic_prepared)
    times, states, controls = _grid(kinetic_prepared)
    reactions = data.reactions_for("synthetic")
    names = list(kinetic_prepared.train.controls)
    field.set_controls(times, controls)
    before = field.fluxes_on_grid(states)
    for j, reaction in enumerate(reactions):
        if not reaction.enzymes:
            continue
        scaled = controls.clone()
        for enzyme in reaction.enzymes:
            scaled[..., names.index(enzyme)] *= 20.0
        field.set_controls(times, scaled)
        after = field.fluxes_on_grid(states)
        # twenty times the enzyme: twenty times the flux of its reaction, the other fluxes unchanged
        assert torch.allclose(after[..., j], 20.0 * before[..., j], rtol=1e-9, atol=0), reaction.name
        others = [k for k, r in enumerate(reactions) if not set(r.enzymes) & set(reaction.enzymes)]
        assert torch.allclose(after[..., others], before[..., others], rtol=1e-12, atol=0)


def test_a_lumped_step_is_limited_by_its_scarcest_enzyme(kinetic_prepared):
    field = _field(kinetic_prepared)
    times, states, controls = _grid(kinetic_prepared)
    reactions = data.reactions_for("synthetic")
    names = list(kinetic_prepared.train.controls)
    j = next(j for j, r in enumerate(reactions) if len(r.enzymes) > 1)
    field.set_controls(times, controls)
    before = field.fluxes_on_grid(states)[..., j]
    fluxes = {}
    for factor in (1e3, 1e6):
        one = controls.clone()
        one[..., names.index(reactions[j].enzymes[0])] *= factor
        field.set_controls(times, one)
        fluxes[factor] = field.fluxes_on_grid(states)[..., j]
    # more of one enzyme helps, but less than in proportion, and saturates at the others' limit
    assert (fluxes[1e3] > before).all() and (fluxes[1e3] < 1e3 * before).all()
    assert torch.allclose(fluxes[1e6], fluxes[1e3], rtol=1e-2, atol=0)


def test_fluxes_are_non_negative_and_stop_without_substrate(kinetic_prepared):
    field = _field(kinetic_prepared)
    times, states, controls = _grid(kinetic_prepared)
    field.set_controls(times, controls)
    typical = field.fluxes_on_grid(states)
    assert (typical >= 0).all()
    reactions = data.reactions_for("synthetic")
    names = list(kinetic_prepared.train.states)
    empty = torch.as_tensor(kinetic_prepared.state_scaler.transform(np.zeros(len(names))))
    fluxes = field.fluxes_on_grid(empty.expand_as(states).clone())
    for j, reaction in enumerate(reactions):
        if reaction.substrates:
            assert fluxes[..., j].abs().max() < 1e-6 * typical[..., j].max(), reaction.name


def test_growth_rate_of_an_exponential_culture():
    times = torch.linspace(0.0, 10.0, 51, dtype=torch.float64)
    od = torch.stack([0.1 * torch.exp(0.3 * times), 2.0 - 0.1 * times])  # growing, then a falling OD
    mu = kinetic_field.growth_rate(od, times)
    assert torch.allclose(mu[0], torch.full_like(times, 0.3), atol=2e-3)
    assert (mu[1] == 0).all()  # a falling OD dilutes nothing


def test_growth_dilutes_the_pools_but_not_the_product(kinetic_prepared):
    with_od = _with_od(kinetic_prepared)
    times, states, controls = _grid(with_od)
    diluted = _field(with_od, growth="OD600")
    plain = _field(with_od, growth=None)
    plain.load_state_dict(diluted.state_dict())
    for field in (diluted, plain):
        field.set_controls(times, controls)
    difference = plain.rates_on_grid(states) - diluted.rates_on_grid(states)
    product = list(with_od.train.states).index(with_od.dataset.product)
    assert difference[..., product].abs().max() == 0
    concentrations = diluted.concentrations(states).clamp(min=0)
    mu = kinetic_field.growth_rate(controls[..., list(with_od.train.controls).index("OD600")], times)
    expected = mu.unsqueeze(-1) * concentrations / diluted.state_scale
    others = [i for i in range(len(with_od.train.states)) if i != product]
    assert torch.allclose(difference[..., others], expected[..., others], rtol=1e-9, atol=1e-12)
    assert expected[..., others].abs().max() > 0


def _with_od(prepared):
    """The same synthetic strains with their optical density among the controls."""
    dataset = prepared.dataset
    frame = synthetic.generate(4, seed=0, noise=0.02)
    with_od = data.from_frame(frame, states=list(dataset.states), controls=[*dataset.controls, "OD600"],
                              name="synthetic-od", units=dataset.units, product=dataset.product)
    return data.prepare(with_od, ["S1", "S2", "S3"], ["S4"], n_points=60, control_scaling="none")


@pytest.mark.parametrize("growth", [None, "OD600"])
def test_fused_solve_equals_torchdiffeq(kinetic_prepared, growth):
    prepared = _with_od(kinetic_prepared)
    field = _field(prepared, growth=growth)
    times, states, controls = _grid(prepared, strains=3)
    x0 = states[:, 0]
    reference = solve.integrate(field, x0, times, controls, solver="torchdiffeq-rk4", step_size=2.0)
    fused = solve.integrate(field, x0, times, controls, solver="rk4", step_size=2.0)
    assert (reference - x0.unsqueeze(1)).abs().max() > 0.05
    assert torch.allclose(fused, reference, rtol=0, atol=1e-9)


def test_the_field_refuses_scaled_enzymes_and_a_missing_or_bad_growth_column(kinetic_prepared):
    reactions = data.reactions_for("synthetic")
    scaled = data.prepare(kinetic_prepared.dataset, ["S1", "S2", "S3"], ["S4"], n_points=60)
    with pytest.raises(ValueError, match="control_scaling='none'"):
        kinetic_field.kinetic_field(scaled, reactions)
    with pytest.raises(data.DataValidationError, match="growth='OD600' names the optical-density column"):
        kinetic_field.kinetic_field(kinetic_prepared, reactions, growth="OD600")
    with pytest.raises(ValueError, match="control_scaling='none' with structure='kinetic'"):
        NeuralODEModel(structure="kinetic", control_scaling="log1p")
    with pytest.raises(ValueError, match=r"do not apply to structure=.mlp.: growth \(for kinetic\)"):
        NeuralODEModel(growth="OD600")


def test_node_kinetic_trains_checkpoints_and_warm_starts(kinetic_prepared, tmp_path):
    model = make_model("node-kinetic", seed=1, collocation_iterations=30, **SMALL)
    assert model.config.control_scaling == "none" and model.config.structure == "kinetic"
    model.fit(prepare_for(model, kinetic_prepared.dataset, ["S1", "S2", "S3"], ["S4"]), progress=False)
    # derivative matching lowers its own loss before the trajectory training starts
    assert len(model.collocation_history) == 30
    assert model.collocation_history[-1] < 0.8 * model.collocation_history[0]
    path = model.save(tmp_path / "kinetic.pt")
    loaded = NeuralODEModel.load(path)
    assert loaded.reactions == model.reactions and "kinetic" in repr(loaded)
    test = prepare_for(model, kinetic_prepared.dataset, ["S1", "S2", "S3"], ["S4"]).test
    assert np.array_equal(loaded.simulate(test), model.simulate(test))
    # same seed, same numbers
    again = make_model("node-kinetic", seed=1, collocation_iterations=30, **SMALL).fit(
        prepare_for(model, kinetic_prepared.dataset, ["S1", "S2", "S3"], ["S4"]), progress=False)
    assert np.array_equal(again.simulate(test), model.simulate(test))


@pytest.mark.skipif(not has_data("limonene_data.csv") or not has_data("isopentenol_data.csv"),
                    reason="the 2018 tables are not available")
def test_node_kinetic_on_both_pathways_with_growth_from_the_tables():
    for pathway in data.PATHWAYS:
        model = make_model("node-kinetic", quick=True, growth="OD600", device="cpu")
        prepared = prepare_for(model, data.load(pathway))  # reloaded with OD600 among the controls
        assert prepared.train.controls[-1] == "OD600"
        model.fit(prepared, progress=False)
        _, _, scores = metrics.evaluate(model, prepared, splits=("test",))
        assert np.isfinite(scores["test"]["mean_rmse_scaled"])


def test_fluxes_of_a_fitted_model_scale_with_the_enzyme_for_the_kinetic_field_only(kinetic_prepared, node_prepared):
    kinetic = make_model("node-kinetic", seed=0, **SMALL).fit(kinetic_prepared, progress=False)
    structured = make_model("node-structured", seed=0, **SMALL).fit(node_prepared, progress=False)
    grid = kinetic_prepared.test
    column = list(grid.controls).index("HMGR")
    j = [r.name for r in kinetic.reactions].index("HMGR")
    ratios = {}
    for name, model in (("kinetic", kinetic), ("structured", structured)):
        more = grid.u.copy()
        more[..., column] *= 20.0
        ratios[name] = model.fluxes(grid, controls=more)[..., j] / model.fluxes(grid)[..., j]
    assert np.allclose(ratios["kinetic"], 20.0, rtol=1e-4)
    assert not np.allclose(ratios["structured"], 20.0, rtol=0.1)  # a saturating network
    with pytest.raises(UsageError, match="Only the structured and kinetic"):
        make_model("node", seed=0, **SMALL).fit(node_prepared, progress=False).fluxes(node_prepared.test)


def test_a_homeostatic_supply_refills_a_drained_pool(kinetic_prepared):
    field = _field(kinetic_prepared, homeostatic_supply=True, correction=False)
    times, states, controls = _grid(kinetic_prepared)
    reactions = data.reactions_for("synthetic")
    supply = next(j for j, r in enumerate(reactions) if not r.substrates)
    made = list(kinetic_prepared.train.states).index(next(iter(reactions[supply].products)))
    field.set_controls(times, controls)
    c = field.concentrations(states)
    fluxes = []
    for level in (0.0, 0.5, 2.0):
        x = states.clone()
        set_point = float((field.supply_set_point[made] * torch.exp(field.log_set_point[made])).detach())
        wanted = c[..., made].clone().fill_(level * set_point)
        x[..., made] = (wanted - field.state_mean[made]) / field.state_scale[made]
        fluxes.append(field.fluxes_on_grid(x)[..., supply])
    assert (fluxes[0] > fluxes[1]).all() and (fluxes[2] == 0).all()  # empty: fastest; above the set point: none
