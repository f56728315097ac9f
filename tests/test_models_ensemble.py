"""The one ensemble: mean of its members, save/load, mismatches, bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from nodebio import interventions as iv
from nodebio import data, models
from nodebio.errors import CheckpointMismatchError
from nodebio.models.node import NeuralODEModel

from conftest import TINY


SMALL = dict(structure="structured", flux_width=8, depth=2, iterations=12, eval_every=4, windows_per_strain=2,
             device="cpu")

def test_ensemble_is_the_mean_of_its_members(node_prepared):
    ensemble = models.Ensemble("node-structured", 2, seed=1, **{**SMALL, "iterations": 3})
    ensemble.fit(node_prepared)
    assert ensemble.seeds == [1, 2]  # nodebio.seeds.member_seed
    test = node_prepared.test
    members = [m.simulate(test) for m in ensemble.members]
    assert not np.allclose(members[0], members[1])
    np.testing.assert_allclose(ensemble.simulate(test), (members[0] + members[1]) / 2)


def test_an_ensemble_of_three_unequal_members_is_their_mean_not_their_median(intervention_ensemble,
                                                                             intervention_prepared):
    test = intervention_prepared.test
    members = np.stack([m.simulate(test) for m in intervention_ensemble.members])
    assert len(members) == 3
    np.testing.assert_allclose(intervention_ensemble.simulate(test), members.sum(axis=0) / 3, rtol=1e-12)
    # the members differ enough for the median to be another number
    assert np.abs(np.median(members, axis=0) - members.mean(axis=0)).max() > 1e-6 * np.abs(members).max()


def test_ensemble_save_load_and_mismatch(intervention_ensemble, intervention_prepared, tmp_path, limonene):
    paths = intervention_ensemble.save(tmp_path / "members")
    assert [p.name for p in paths] == ["model-seed0.pt", "model-seed1.pt", "model-seed2.pt"]
    loaded = models.Ensemble.load(tmp_path / "members")
    np.testing.assert_allclose(loaded.simulate(intervention_prepared.test), intervention_ensemble.simulate(intervention_prepared.test),
                               rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="No model\\*.pt checkpoint"):
        models.Ensemble.load(tmp_path)
    other = data.prepare(limonene, state_scaling="standardize", control_scaling="log1p")
    stranger = NeuralODEModel(seed=0, **TINY).fit(other, progress=False)
    with pytest.raises(ValueError, match="trained on different data"):
        models.Ensemble.of([intervention_ensemble.members[0], stranger])
    from dataclasses import replace

    renamed = replace(intervention_prepared.test, controls=("Enzyme X",) + intervention_prepared.test.controls[1:])
    with pytest.raises(CheckpointMismatchError, match="Enzyme X"):
        iv.simulate_interventions(intervention_ensemble, renamed, [iv.scale("HMGR", 2)])


def test_bootstrap_members_train_on_resampled_strains(intervention_prepared):
    boot = models.Ensemble("node", 3, bootstrap=True, **TINY).fit(intervention_prepared)
    assert boot.bootstrap
    samples = [m.train_strains for m in boot.members]
    assert all(len(s) == 3 and set(s) <= set(intervention_prepared.train.strains) for s in samples)
    assert any(len(set(s)) < 3 for s in samples) or len({tuple(s) for s in samples}) > 1


# -- members trained as one batched model --------------------------------------------------------


def test_members_trained_together_are_the_members_trained_alone(node_prepared):
    from nodebio.models import batched

    # seeds and settings where two members stop early (at 10 of 30 iterations) and one goes on
    options = dict(iterations=30, eval_every=2, patience=1, learning_rate=0.03, width=16, device="cpu")
    alone = [NeuralODEModel(seed=s, **options).fit(node_prepared, progress=False) for s in (4, 5, 6)]
    together = batched.fit_members([NeuralODEModel(seed=s, **options) for s in (4, 5, 6)], node_prepared)
    for a, b in zip(alone, together):
        # the same iterations (early stops included), losses and weights, up to the rounding of
        # batched against single matrix products (float32)
        assert [h["iteration"] for h in a.history] == [h["iteration"] for h in b.history]
        np.testing.assert_allclose([h["loss"] for h in a.history], [h["loss"] for h in b.history], rtol=1e-4)
        np.testing.assert_allclose(a.simulate(node_prepared.test), b.simulate(node_prepared.test), rtol=1e-4,
                                   atol=1e-5)
        assert a.best_train_rollout_loss == pytest.approx(b.best_train_rollout_loss, rel=1e-4)
    # at least one member stopped early and was frozen while the others went on
    assert [len(m.history) for m in together] == [len(m.history) for m in alone]
    assert min(len(m.history) for m in together) < 30 == max(len(m.history) for m in together)


def test_an_ensemble_trains_its_members_together_where_it_can(node_prepared, monkeypatch):
    from nodebio.models import batched

    calls = []
    original = batched.fit_members
    monkeypatch.setattr(batched, "fit_members", lambda *a, **k: calls.append(1) or original(*a, **k))
    plain = models.Ensemble("node", 3, seed=1, iterations=6, eval_every=3, width=16, device="cpu").fit(node_prepared)
    one_by_one = models.Ensemble("node", 3, seed=1, iterations=6, eval_every=3, width=16, device="cpu",
                                 batched=False).fit(node_prepared)
    assert calls == [1]
    np.testing.assert_allclose(plain.simulate(node_prepared.test), one_by_one.simulate(node_prepared.test),
                               rtol=1e-4, atol=1e-5)
    # the structured field and bootstrap members train one after another
    assert not batched.can_batch(models.Ensemble("node-structured", 2, **SMALL).members)
    models.Ensemble("node", 2, seed=1, bootstrap=True, iterations=3, eval_every=3, width=16,
                    device="cpu").fit(node_prepared)
    assert calls == [1]
    assert not batched.can_batch([NeuralODEModel(seed=0, solver="dopri5"), NeuralODEModel(seed=1, solver="dopri5")])
    assert not batched.can_batch([NeuralODEModel(seed=0, width=8), NeuralODEModel(seed=1, width=16)])


def test_members_trained_together_save_as_ordinary_checkpoints(node_prepared, tmp_path):
    ensemble = models.Ensemble("node", 2, seed=0, iterations=6, eval_every=3, width=16,
                               device="cpu").fit(node_prepared)
    ensemble.save(tmp_path)
    loaded = models.Ensemble.load(tmp_path)
    np.testing.assert_array_equal(loaded.simulate(node_prepared.test), ensemble.simulate(node_prepared.test))
