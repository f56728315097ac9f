"""The pathway-structured neural ODE: wiring, non-negative fluxes, training, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nodebio import data, synthetic, models
from nodebio.models import fields, structured
from nodebio.errors import CheckpointMismatchError
from nodebio.models.node import NeuralODEModel

from conftest import has_data


def _scrambled_field(prepared, seed=0, **options):
    """A structured field with large random weights, so that every input visibly matters."""
    m = NeuralODEModel(**{**SMALL, **options}, seed=seed)
    m.device = torch.device("cpu")
    m._setup(prepared)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in m.field.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * (0.5 if name == "log_yield" else 1.0))
    return m.field.double()

SMALL = dict(structure="structured", flux_width=8, depth=2, iterations=12, eval_every=4, windows_per_strain=2,
             device="cpu")


def test_an_enzyme_changes_only_the_metabolites_of_its_reactions(node_prepared):
    field = _scrambled_field(node_prepared)
    states, controls = node_prepared.train.states, node_prepared.train.controls
    reactions = data.reactions_for("synthetic")
    S = data.stoichiometry(reactions, states, controls)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, len(states), generator=generator, dtype=torch.float64)
    u = torch.randn(3, 5, len(controls), generator=generator, dtype=torch.float64)
    times = torch.linspace(0.0, 4.0, 5, dtype=torch.float64)
    field.set_controls(times, u)
    base = field.rates_on_grid(x)
    for k, enzyme in enumerate(controls):
        bumped = u.clone()
        bumped[..., k] += 1.0
        field.set_controls(times, bumped)
        changed = (field.rates_on_grid(x) - base).abs().amax(dim=(0, 1)) > 1e-9
        catalysed = [j for j, r in enumerate(reactions) if enzyme in r.enzymes]
        expected = np.zeros(len(states), bool)
        for j in catalysed:
            expected |= S[:, j] != 0
        assert changed.numpy().tolist() == expected.tolist(), enzyme
        assert catalysed, f"{enzyme} catalyses nothing in the synthetic reaction list"
    # and a state moves only the fluxes of the reactions that take it as input
    field.set_controls(times, u)
    fluxes = field.fluxes_on_grid(x)
    for i, state in enumerate(states):
        moved = x.clone()
        moved[..., i] += 0.5
        changed = (field.fluxes_on_grid(moved) - fluxes).abs().amax(dim=(0, 1)) > 1e-12
        assert changed.numpy().tolist() == [state in r.inputs for r in reactions], state


@pytest.mark.parametrize("flux_form,scaling", [("softplus", "standardize"), ("saturating", "log1p")])
def test_fluxes_are_never_negative(flux_form, scaling):
    dataset = synthetic.make_dataset(3, seed=2)
    prepared = data.prepare(dataset, ["S1", "S2"], ["S3"], n_points=30, state_scaling=scaling)
    field = _scrambled_field(prepared, seed=5, flux_form=flux_form, state_scaling=scaling)
    generator = torch.Generator().manual_seed(2)
    x = 3.0 * torch.randn(64, 4, len(prepared.train.states), generator=generator, dtype=torch.float64)
    u = 3.0 * torch.randn(64, 4, len(prepared.train.controls), generator=generator, dtype=torch.float64)
    field.set_controls(torch.linspace(0.0, 3.0, 4, dtype=torch.float64), u)
    v = field.fluxes_on_grid(x)
    assert v.shape == (64, 4, len(data.reactions_for("synthetic")))
    assert (v >= 0).all()
    assert (v > 0).any()
    # yields are positive: a product's coefficient never turns into a consumption
    S = field.effective_stoichiometry()
    assert ((S > 0) == (field.production > 0)).all() and ((S < 0) == (field.consumption > 0)).all()
    # with the saturating form, a reaction stops when its substrate is gone
    if flux_form == "saturating":
        empty = x.clone()
        empty[..., prepared.train.states.index("HMG-CoA")] = -10.0  # below zero concentration
        j = [r.name for r in data.reactions_for("synthetic")].index("HMGR")
        assert torch.allclose(field.fluxes_on_grid(empty)[..., j], torch.zeros(64, 4, dtype=torch.float64))


def test_structured_field_is_consistent_with_its_solve(node_prepared):
    field = _scrambled_field(node_prepared, seed=7)
    x = torch.randn(2, 6, len(node_prepared.train.states), dtype=torch.float64)
    u = torch.randn(2, 6, len(node_prepared.train.controls), dtype=torch.float64)
    times = torch.linspace(0.0, 5.0, 6, dtype=torch.float64)
    field.set_controls(times, u)
    on_grid = fields.rates_on_grid(field, x)
    assert torch.allclose(on_grid[:, 3], field(times[3], x[:, 3]))
    # standardized states: dx/dt (scaled) times the scale is S v - losses in original units
    c = field.concentrations(x)
    v = field.fluxes_on_grid(x)
    dc = v @ field.effective_stoichiometry().T - field.loss_rates() * c.clamp(min=0)
    assert torch.allclose(on_grid * field.state_scale, dc)


def test_structured_model_trains_predicts_and_intervenes(structured_fitted, node_prepared):
    assert isinstance(structured_fitted.field, structured.StructuredField)
    assert [r.name for r in structured_fitted.reactions] == [r.name for r in data.reactions_for("synthetic")]
    losses = [h["train_rollout_loss"] for h in structured_fitted.history if "train_rollout_loss" in h]
    assert losses[-1] < losses[0]
    test = node_prepared.test
    predicted = structured_fitted.simulate(test)
    assert predicted.shape == test.x.shape and np.isfinite(predicted).all()
    # an intervention through controls= changes the simulation, and only where it should:
    # more limonene synthase leaves the upper pathway (acetyl-CoA .. Mev-P) untouched
    k = test.controls.index("Limonene Synthase")
    u = test.u.copy()
    u[..., k] *= 4.0
    boosted = structured_fitted.simulate(test, controls=u)
    upper = [test.states.index(s) for s in ("Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P")]
    lower = [test.states.index(s) for s in ("IPP/DMAPP", "Limonene")]
    assert np.allclose(boosted[..., upper], predicted[..., upper], rtol=1e-5, atol=1e-7)
    assert not np.allclose(boosted[..., lower], predicted[..., lower])


def test_structured_checkpoints_round_trip_and_mismatch(structured_fitted, node_prepared, tmp_path):
    path = structured_fitted.save(tmp_path / "structured.pt")
    loaded = NeuralODEModel.load(path, expect=node_prepared)
    assert isinstance(loaded.field, structured.StructuredField)
    assert loaded.config.structure == "structured"
    assert [r.to_dict() for r in loaded.reactions] == [r.to_dict() for r in structured_fitted.reactions]
    np.testing.assert_allclose(loaded.simulate(node_prepared.test), structured_fitted.simulate(node_prepared.test),
                               rtol=1e-6, atol=1e-9)
    other = data.prepare(data.load("isopentenol"), n_points=60) if has_data("isopentenol_data.csv") else None
    if other is not None:
        with pytest.raises(CheckpointMismatchError, match="states do not match"):
            NeuralODEModel.load(path, expect=other)
    fewer = node_prepared.test.subset(node_prepared.test.strains)
    fewer.states = fewer.states[:-1]
    fewer.x = fewer.x[..., :-1]
    with pytest.raises(CheckpointMismatchError, match="missing Limonene"):
        loaded.simulate(fewer)


def test_structured_training_is_deterministic(node_prepared):
    a = NeuralODEModel(**{**SMALL, "iterations": 4}, seed=11, input_noise=0.05).fit(node_prepared, progress=False)
    b = NeuralODEModel(**{**SMALL, "iterations": 4}, seed=11, input_noise=0.05).fit(node_prepared, progress=False)
    np.testing.assert_array_equal(a.simulate(node_prepared.test), b.simulate(node_prepared.test))


def test_options_are_checked():
    with pytest.raises(ValueError, match="structure must be"):
        NeuralODEModel(structure="graph")
    with pytest.raises(ValueError, match=r"structure='structured': use_time \(for mlp\)"):
        NeuralODEModel(structure="structured", use_time=True)
    with pytest.raises(ValueError, match="yields must be"):
        NeuralODEModel(structure="structured", yields="free")
    structured = models.make_model("node-structured", seed=1, quick=True, device="cpu")
    assert structured.config.structure == "structured" and structured.config.seed == 1


def test_monotone_fluxes_grow_with_their_enzymes_and_substrates(node_prepared):
    field = _scrambled_field(node_prepared, seed=4, monotone_fluxes=True)
    reactions = data.reactions_for("synthetic")
    states, controls = node_prepared.train.states, node_prepared.train.controls
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(16, 3, len(states), generator=generator, dtype=torch.float64)
    u = torch.randn(16, 3, len(controls), generator=generator, dtype=torch.float64)
    times = torch.linspace(0.0, 2.0, 3, dtype=torch.float64)
    field.set_controls(times, u)
    base = field.fluxes_on_grid(x)
    for k, enzyme in enumerate(controls):
        more = u.clone()
        more[..., k] += 0.7
        field.set_controls(times, more)
        delta = field.fluxes_on_grid(x) - base
        for j, reaction in enumerate(reactions):
            if enzyme in reaction.enzymes:
                assert (delta[..., j] >= -1e-12).all() and (delta[..., j] > 0).any(), (enzyme, reaction.name)
    field.set_controls(times, u)
    i = states.index("HMG-CoA")
    more = x.clone()
    more[..., i] += 0.7
    j = [r.name for r in reactions].index("HMGR")
    assert (field.fluxes_on_grid(more)[..., j] - base[..., j] >= -1e-12).all()
    # the unconstrained field is not monotone (so the test above can fail)
    free = _scrambled_field(node_prepared, seed=4)
    free.set_controls(times, u)
    free_base = free.fluxes_on_grid(x)
    k = controls.index("HMGR")
    more = u.clone()
    more[..., k] += 0.7
    free.set_controls(times, more)
    assert ((free.fluxes_on_grid(x) - free_base)[..., j] < 0).any()


def test_repr_names_the_structure(structured_fitted):
    assert "structured, 6 reactions" in repr(structured_fitted)
