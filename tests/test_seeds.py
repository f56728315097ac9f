"""The one seed rule: member seeds, named streams, and a data seed apart from the model seed."""

from __future__ import annotations

import json

import numpy as np

from nodebio import cli, seeds, synthetic


def test_member_and_sub_seeds():
    assert [seeds.member_seed(3, k) for k in range(3)] == [3, 4, 5]
    assert seeds.sub_seed(2, 5) == 2005
    assert seeds.rng(4, seeds.NOISE).normal() == seeds.rng(4, seeds.NOISE).normal()
    assert seeds.rng(4, seeds.NOISE).normal() != seeds.rng(4, seeds.STRAINS).normal()


def test_synthetic_strains_and_noise_use_their_own_streams():
    pathway = synthetic.SyntheticPathway()
    strains = pathway.sample_strains(2, seed=5)
    expected = np.exp(seeds.rng(5, seeds.STRAINS).normal(0.0, pathway.expression_spread, len(synthetic.ENZYMES)))
    got = np.array([strains[0].expression[e] / pathway.reference[e] for e in synthetic.ENZYMES])
    np.testing.assert_allclose(got, expected)


def test_data_seed_and_model_seed_vary_apart(tmp_path):
    def train(name, *flags):
        out = tmp_path / name
        assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--iterations", "2",
                         "--out", str(out), "--device", "cpu", "--no-progress", *flags]) == 0
        return json.loads((out / "run.json").read_text()), json.loads((out / "metrics.json").read_text())

    base_run, base_scores = train("a", "--seed", "0", "--data-seed", "0")
    other_model, other_scores = train("b", "--seed", "1", "--data-seed", "0")
    other_data, _ = train("c", "--seed", "0", "--data-seed", "1")
    assert other_model["data_sha256"] == base_run["data_sha256"]  # same strains, another model
    assert other_scores["test"]["mean_rmse_scaled"] != base_scores["test"]["mean_rmse_scaled"]
    assert other_data["data_sha256"] != base_run["data_sha256"]  # other strains
    assert other_data["dataset"]["seed"] == 1 and other_data["seed"] == 0
