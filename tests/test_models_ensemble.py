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
