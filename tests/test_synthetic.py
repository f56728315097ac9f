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
    with pytest.raises(ValueError, match="finite standard deviation of 0 or more"):
        synthetic.generate(2, noise=-1.0)


def test_synthetic_dataset_prepares():
    dataset = synthetic.make_dataset(5, seed=0)
    prepared = data.prepare(dataset, ["S1", "S2", "S3", "S4"], ["S5"], n_points=50)
    assert prepared.train.x.shape == (4, 50, 6)


def test_promoter_design_correlates_enzymes_within_an_operon():
    pathway = synthetic.SyntheticPathway(design="promoters")
    strains = pathway.sample_strains(30, seed=0)
    levels = np.log([[s.expression[e] for e in synthetic.ENZYMES] for s in strains])
    corr = np.corrcoef(levels.T)
    i, j = synthetic.ENZYMES.index("AtoB"), synthetic.ENZYMES.index("HMGR")
    assert corr[i, j] > 0.8  # same operon, same promoter
    independent = np.log([[s.expression[e] for e in synthetic.ENZYMES]
                          for s in synthetic.SyntheticPathway().sample_strains(30, seed=0)])
    assert abs(np.corrcoef(independent.T)[i, j]) < 0.5
    with pytest.raises(ValueError, match="Unknown strain design: 'promoter'"):
        synthetic.SyntheticPathway(design="promoter")
    with pytest.raises(ValueError, match="burden must be a non-negative number"):
        synthetic.SyntheticPathway(burden=-1)


def test_sample_outside_leaves_the_training_range():
    pathway = synthetic.SyntheticPathway.hard()
    training = pathway.sample_strains(5, seed=1)
    outside = pathway.sample_outside(3, training, seed=1, fold=3.0, enzymes=6)
    for strain in outside:
        above = [e for e in synthetic.ENZYMES if strain.expression[e] >= 3.0 * max(t.expression[e] for t in training)]
        assert len(above) >= 6
    assert [s.name for s in outside] == ["X1", "X2", "X3"]
    again = pathway.sample_outside(3, training, seed=1, fold=3.0, enzymes=6)
    assert [s.expression for s in again] == [s.expression for s in outside]
    with pytest.raises(ValueError, match="needs the training strains"):
        pathway.sample_outside(1, [])


def test_misspecifications_change_the_truth():
    strain = synthetic.SyntheticPathway().sample_strains(1, seed=0)[0]
    plain = synthetic.SyntheticPathway().simulate(strain)
    feedback = synthetic.SyntheticPathway(feedback=True).simulate(strain)
    # HMGS inhibited by HMG-CoA: less HMG-CoA piles up
    assert feedback["HMG-CoA"].iloc[-1] < plain["HMG-CoA"].iloc[-1]
    branch = synthetic.SyntheticPathway(branch=0.5).simulate(strain)
    assert branch["IPP/DMAPP"].iloc[-1] < plain["IPP/DMAPP"].iloc[-1]
    assert branch["Limonene"].iloc[-1] < plain["Limonene"].iloc[-1]
    burdened = synthetic.SyntheticPathway(burden=1.0)
    base, more = burdened.simulate(strain), burdened.simulate(strain, scale={"Limonene Synthase": 4.0})
    # expressing more slows growth; without burden the OD ignores the enzymes
    assert more["OD600"].iloc[3] < base["OD600"].iloc[3]
    assert np.allclose(synthetic.SyntheticPathway().simulate(strain, scale={"Limonene Synthase": 4.0})["OD600"],
                       plain["OD600"])


def test_make_dataset_of_given_strains():
    pathway = synthetic.SyntheticPathway.hard()
    strains = pathway.sample_strains(3, seed=0) + pathway.sample_outside(1, pathway.sample_strains(3, seed=0))
    dataset = synthetic.make_dataset(seed=0, pathway=pathway, strains=strains)
    assert dataset.strains == ("S1", "S2", "S3", "X1")
