"""The pathway-structured neural ODE: stoichiometry as data, wiring, non-negative fluxes, training."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nodebio import cli, compare, data, model, synthetic
from nodebio.train import CheckpointMismatchError, NeuralODEModel

SMALL = dict(structure="pathway", flux_width=8, depth=2, iterations=12, eval_every=4, windows_per_strain=2,
             device="cpu")


@pytest.fixture(scope="module")
def prepared_synthetic():
    dataset = synthetic.make_dataset(4, seed=0, noise=0.02)
    return data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=60, control_scaling="log1p")


@pytest.fixture(scope="module")
def fitted(prepared_synthetic):
    return NeuralODEModel(**SMALL, seed=3).fit(prepared_synthetic, progress=False)


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


def test_stoichiometry_of_the_limonene_pathway():
    spec = data.PATHWAYS["limonene"]
    reactions = data.reactions_for("limonene")
    S = data.stoichiometry(reactions, spec.states, spec.controls)
    assert S.shape == (len(spec.states), len(reactions))
    col = {r.name: j for j, r in enumerate(reactions)}
    row = {s: i for i, s in enumerate(spec.states)}
    assert S[row["HMG-CoA"], col["HMGR"]] == -1 and S[row["Mevalonate"], col["HMGR"]] == 1
    assert S[row["Acetyl-CoA"], col["AtoB/HMGS"]] == -3
    assert S[row["IPP/DMAPP"], col["Idi/GPPS/LS"]] == -2 and S[row["Limonene"], col["Idi/GPPS/LS"]] == 1
    # every reaction column touches only its own substrates and products
    for j, reaction in enumerate(reactions):
        touched = {spec.states[i] for i in np.flatnonzero(S[:, j])}
        assert touched == set(reaction.substrates) | set(reaction.products)
    # isopentenol lumps Mev-P (not among its states) into one step
    iso = data.PATHWAYS["isopentenol"]
    S_iso = data.stoichiometry(data.reactions_for("isopentenol"), iso.states, iso.controls)
    assert S_iso.shape == (len(iso.states), 5)
    step = next(r for r in data.reactions_for("isopentenol") if "Mev-P" in r.lumped)
    assert set(step.enzymes) == {"MK", "PMK", "PMD"}


def test_stoichiometry_names_what_is_missing():
    spec = data.PATHWAYS["isopentenol"]
    with pytest.raises(data.DataValidationError, match=r"'MK'.*'Mev-P'.*Add the column"):
        data.stoichiometry(data.reactions_for("limonene"), spec.states, spec.controls)
    bad = [data.Reaction("HMGR", {"HMG-CoA": 1}, {"Mevalonate": 1}, ("HMG reductase",))]
    with pytest.raises(data.DataValidationError, match=r"enzyme\(s\) absent.*'HMG reductase'.*Available: AtoB"):
        data.stoichiometry(bad, spec.states, spec.controls)
    with pytest.raises(ValueError, match="positive"):
        data.Reaction("x", {"HMG-CoA": -1}, {"Mevalonate": 1})
    with pytest.raises(data.DataValidationError, match="No reaction list for dataset 'mine'"):
        data.reactions_for("mine")
    # through the model: a clear error at fit time, naming the state
    prepared = data.prepare(synthetic.make_dataset(3, seed=1), ["S1", "S2"], ["S3"], n_points=30)
    wrong = [data.Reaction("GPPS", {"IPP/DMAPP": 2}, {"GPP": 1}, ("GPPS",))]
    with pytest.raises(data.DataValidationError, match="'GPP'"):
        NeuralODEModel(**SMALL, reactions=wrong).fit(prepared, progress=False)


def test_an_enzyme_changes_only_the_metabolites_of_its_reactions(prepared_synthetic):
    field = _scrambled_field(prepared_synthetic)
    states, controls = prepared_synthetic.train.states, prepared_synthetic.train.controls
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


def test_structured_field_is_consistent_with_its_solve(prepared_synthetic):
    field = _scrambled_field(prepared_synthetic, seed=7)
    x = torch.randn(2, 6, len(prepared_synthetic.train.states), dtype=torch.float64)
    u = torch.randn(2, 6, len(prepared_synthetic.train.controls), dtype=torch.float64)
    times = torch.linspace(0.0, 5.0, 6, dtype=torch.float64)
    field.set_controls(times, u)
    on_grid = model.rates_on_grid(field, x)
    assert torch.allclose(on_grid[:, 3], field(times[3], x[:, 3]))
    # standardized states: dx/dt (scaled) times the scale is S v - losses in original units
    c = field.concentrations(x)
    v = field.fluxes_on_grid(x)
    dc = v @ field.effective_stoichiometry().T - field.loss_rates() * c.clamp(min=0)
    assert torch.allclose(on_grid * field.state_scale, dc)


def test_structured_model_trains_predicts_and_intervenes(fitted, prepared_synthetic):
    assert isinstance(fitted.field, model.StructuredField)
    assert [r.name for r in fitted.reactions] == [r.name for r in data.reactions_for("synthetic")]
    losses = [h["train_rollout_loss"] for h in fitted.history if "train_rollout_loss" in h]
    assert losses[-1] < losses[0]
    test = prepared_synthetic.test
    predicted = fitted.simulate(test)
    assert predicted.shape == test.x.shape and np.isfinite(predicted).all()
    # an intervention through controls= changes the simulation, and only where it should:
    # more limonene synthase leaves the upper pathway (acetyl-CoA .. Mev-P) untouched
    k = test.controls.index("Limonene Synthase")
    u = test.u.copy()
    u[..., k] *= 4.0
    boosted = fitted.simulate(test, controls=u)
    upper = [test.states.index(s) for s in ("Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P")]
    lower = [test.states.index(s) for s in ("IPP/DMAPP", "Limonene")]
    assert np.allclose(boosted[..., upper], predicted[..., upper], rtol=1e-5, atol=1e-7)
    assert not np.allclose(boosted[..., lower], predicted[..., lower])


def test_structured_checkpoints_round_trip_and_mismatch(fitted, prepared_synthetic, tmp_path):
    path = fitted.save(tmp_path / "structured.pt")
    loaded = NeuralODEModel.load(path, expect=prepared_synthetic)
    assert isinstance(loaded.field, model.StructuredField)
    assert loaded.config.structure == "pathway"
    assert [r.to_dict() for r in loaded.reactions] == [r.to_dict() for r in fitted.reactions]
    np.testing.assert_allclose(loaded.simulate(prepared_synthetic.test), fitted.simulate(prepared_synthetic.test),
                               rtol=1e-6, atol=1e-9)
    other = data.prepare(data.load("isopentenol"), n_points=60) if _has_data() else None
    if other is not None:
        with pytest.raises(CheckpointMismatchError, match="states do not match"):
            NeuralODEModel.load(path, expect=other)
    fewer = prepared_synthetic.test.subset(prepared_synthetic.test.strains)
    fewer.states = fewer.states[:-1]
    fewer.x = fewer.x[..., :-1]
    with pytest.raises(CheckpointMismatchError, match="missing Limonene"):
        loaded.simulate(fewer)


def _has_data() -> bool:
    try:
        data.fetch("isopentenol_data.csv")
        return True
    except data.DataError:
        return False


def test_structured_training_is_deterministic(prepared_synthetic):
    a = NeuralODEModel(**{**SMALL, "iterations": 4}, seed=11, input_noise=0.05).fit(prepared_synthetic, progress=False)
    b = NeuralODEModel(**{**SMALL, "iterations": 4}, seed=11, input_noise=0.05).fit(prepared_synthetic, progress=False)
    np.testing.assert_array_equal(a.simulate(prepared_synthetic.test), b.simulate(prepared_synthetic.test))


def test_options_are_checked():
    with pytest.raises(ValueError, match="structure must be"):
        NeuralODEModel(structure="graph")
    with pytest.raises(ValueError, match="no time input"):
        NeuralODEModel(structure="pathway", use_time=True)
    with pytest.raises(ValueError, match="yields must be"):
        NeuralODEModel(structure="pathway", yields="free")
    structured = compare.make_model("node-structured", seed=1, quick=True, device="cpu")
    assert structured.config.structure == "pathway" and structured.config.seed == 1


def test_cli_trains_the_structured_model_on_synthetic_data(tmp_path):
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--model", "node-structured",
                     "--quick", "--epochs", "6", "--out", str(out), "--no-progress", "--device", "cpu"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "node-structured" and metrics["config"]["structure"] == "pathway"
    loaded = NeuralODEModel.load(out / "model.pt")
    assert isinstance(loaded.field, model.StructuredField)


def test_monotone_fluxes_grow_with_their_enzymes_and_substrates(prepared_synthetic):
    field = _scrambled_field(prepared_synthetic, seed=4, monotone_fluxes=True)
    reactions = data.reactions_for("synthetic")
    states, controls = prepared_synthetic.train.states, prepared_synthetic.train.controls
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
    free = _scrambled_field(prepared_synthetic, seed=4)
    free.set_controls(times, u)
    free_base = free.fluxes_on_grid(x)
    k = controls.index("HMGR")
    more = u.clone()
    more[..., k] += 0.7
    free.set_controls(times, more)
    assert ((free.fluxes_on_grid(x) - free_base)[..., j] < 0).any()


def test_ensemble_is_the_mean_of_its_members(prepared_synthetic):
    ensemble = compare.SeedEnsemble("node-structured", 2, seed=1, **{**SMALL, "iterations": 3})
    ensemble.fit(prepared_synthetic)
    assert [m.config.seed for m in ensemble.models] == [1000, 1001]
    test = prepared_synthetic.test
    members = [m.simulate(test) for m in ensemble.models]
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(ensemble.simulate(test), (members[0] + members[1]) / 2)


def test_ablation_table_separates_selection_and_test():
    import pandas as pd

    runs = pd.DataFrame([
        {"experiment": e, "pathway": p, "seed": 0, "split": s, "rmse_scaled": v, "rmse_integral": v,
         "status": "ok", "seconds": 1.0}
        for e, p, s, v in [("a", "limonene", "inner:L1", 1.0), ("a", "limonene", "inner:L3", 3.0),
                           ("a", "limonene", "test", 100.0), ("b", "limonene", "inner:L1", 2.0),
                           ("b", "limonene", "inner:L3", 2.5), ("b", "limonene", "test", 0.0)]])
    table = compare.ablation_table(runs).set_index("experiment")
    assert table.loc["a", "inner mean"] == 2.0 and table.loc["b", "inner mean"] == 2.25
    assert table.loc["a", "test limonene"] == 100.0  # reported, but not part of the selection score
    assert table["inner mean"].idxmin() == "a"


def test_inner_folds_never_contain_the_test_strain():
    if not _has_data():
        pytest.skip("the pathway tables are not available")
    for pathway, spec in data.PATHWAYS.items():
        folds = compare.inner_folds(pathway)
        assert [held for held, _ in folds] == list(spec.train)
        for held, prepared in folds:
            strains = set(prepared.train.strains) | set(prepared.test.strains)
            assert not strains & set(spec.test) and prepared.test.strains == (held,)


def test_repr_names_the_structure(fitted):
    assert "pathway-structured, 6 reactions" in repr(fitted)
