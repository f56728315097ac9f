"""The synthetic pathway: determinism, layout, interventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nodebio import data, synthetic


def test_same_seed_same_numbers():
    a = synthetic.generate(4, seed=3, noise=0.1)
    b = synthetic.generate(4, seed=3, noise=0.1)
    pd.testing.assert_frame_equal(a, b)


def test_other_seed_other_strains():
    a = synthetic.generate(3, seed=0, noise=0.0)
    b = synthetic.generate(3, seed=1, noise=0.0)
    assert not np.allclose(a[list(synthetic.ENZYMES)], b[list(synthetic.ENZYMES)])


def test_layout_matches_the_real_tables(limonene):
    frame = synthetic.generate(3, seed=0)
    assert list(frame.columns[:2]) == ["Strain", "Hour"]
    assert set(limonene.states) <= set(frame.columns)
    assert set(limonene.controls) <= set(frame.columns)
    assert sorted(frame["Hour"].unique()) == list(synthetic.SAMPLING_HOURS)
    # it loads with the same validation as real data, the same state and control names
    dataset = synthetic.make_dataset(3, seed=0)
    assert dataset.states == limonene.states and dataset.controls == limonene.controls
    assert (frame[list(synthetic.MEASURED_STATES)] >= 0).all().all()


def test_hidden_intermediates_optional():
    frame = synthetic.generate(2, include_hidden=True)
    assert set(synthetic.HIDDEN_STATES) <= set(frame.columns)
    assert not set(synthetic.HIDDEN_STATES) & set(synthetic.generate(2).columns)


def test_noise_free_is_the_simulation():
    pathway = synthetic.SyntheticPathway()
    strain = pathway.sample_strains(1, seed=0)[0]
    frame = pathway.generate([strain], noise=0.0)
    direct = pathway.simulate(strain)
    assert np.allclose(frame["Limonene"], direct["Limonene"])


def test_intervention_scales_the_enzyme_and_acts_downstream():
    pathway = synthetic.SyntheticPathway()
    strain = pathway.sample_strains(1, seed=0)[0]
    base = pathway.simulate(strain)
    more = pathway.simulate(strain, scale={"HMGR": 2.0})
    assert np.allclose(more["HMGR"], 2.0 * base["HMGR"])
    assert np.allclose(more["MK"], base["MK"])
    # more HMGR: less HMG-CoA (its substrate), more mevalonate (its product)
    assert more["HMG-CoA"].iloc[-1] < base["HMG-CoA"].iloc[-1]
    assert more["Mevalonate"].iloc[-1] > base["Mevalonate"].iloc[-1]


def test_bad_interventions():
    pathway = synthetic.SyntheticPathway()
    strain = pathway.sample_strains(1)[0]
    with pytest.raises(ValueError, match=r"Unknown enzyme: 'HMGRR' \(did you mean 'HMGR'\?\)"):
        pathway.simulate(strain, scale={"HMGRR": 2.0})
    with pytest.raises(ValueError, match="positive"):
        pathway.simulate(strain, scale={"HMGR": 0.0})
    with pytest.raises(ValueError, match="at least 1"):
        pathway.sample_strains(0)
    with pytest.raises(ValueError, match="non-negative"):
        synthetic.generate(2, noise=-1.0)


def test_synthetic_dataset_prepares():
    dataset = synthetic.make_dataset(5, seed=0)
    prepared = data.prepare(dataset, ["S1", "S2", "S3", "S4"], ["S5"], n_points=50)
    assert prepared.train.x.shape == (4, 50, 6)
