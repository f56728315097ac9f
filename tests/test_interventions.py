"""Interventions: composition, batched simulation, ensembles, extrapolation flags, the synthetic
validation and the ``nodebio simulate`` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from nodebio import cli, data, synthetic
from nodebio import interventions as iv
from nodebio.train import CheckpointMismatchError, NeuralODEModel

TINY = {"iterations": 6, "eval_every": 3, "width": 16, "device": "cpu"}


@pytest.fixture(scope="module")
def synthetic_prepared():
    dataset = synthetic.make_dataset(n_strains=5, seed=3)
    return data.prepare(dataset, list(dataset.strains[:3]), list(dataset.strains[3:]),
                        state_scaling="standardize", control_scaling="log1p")


@pytest.fixture(scope="module")
def ensemble(synthetic_prepared):
    return iv.Ensemble.fit(synthetic_prepared, members=3, first_seed=0, progress=False, **TINY)


# -- interventions as objects ---------------------------------------------------------------------


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
    (lambda: iv.scale("HMGR", 0), "must be a positive number"),
    (lambda: iv.scale("HMGR", -2), "must be a positive number"),
    (lambda: iv.scale("HMGR", float("nan")), "must be a positive number"),
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


# -- simulation -----------------------------------------------------------------------------------


def test_batched_equals_one_by_one(ensemble, synthetic_prepared):
    test = synthetic_prepared.test
    strain = test.strains[0]
    scenarios = iv.single_protein_scan(["HMGR", "Limonene Synthase", "AtoB"], [0.5, 2.0])
    batched = iv.simulate_interventions(ensemble, test, scenarios, strain=strain, product="Limonene")
    chunked = iv.simulate_interventions(ensemble, test, scenarios, strain=strain, product="Limonene", batch_size=2)
    np.testing.assert_allclose(chunked.trajectories, batched.trajectories, rtol=1e-5, atol=1e-6)
    for k, scenario in enumerate(scenarios, start=1):
        alone = iv.simulate_interventions(ensemble, test, [scenario], strain=strain, product="Limonene")
        np.testing.assert_allclose(alone.trajectories[:, 1], batched.trajectories[:, k], rtol=1e-5, atol=1e-6)
    # and the same as a member simulating the changed controls itself
    i = test.index(strain)
    u = scenarios[1].apply(test.u[i], test.times, test.controls)[None]
    direct = ensemble.members[0].simulate(test.subset([strain]), controls=u)
    np.testing.assert_allclose(batched.trajectories[0, 2], direct[0], rtol=1e-5, atol=1e-6)
    # the unmodified strain is the first scenario and its fold change is 1
    assert str(batched.interventions[0]) == "unmodified"
    np.testing.assert_allclose(batched.fold_changes[:, 0], 1.0)


def test_ensemble_intervals(ensemble, synthetic_prepared):
    test = synthetic_prepared.test
    scenarios = iv.single_protein_scan(["HMGR", "Limonene Synthase"], [0.25, 4.0])
    result = iv.simulate_interventions(ensemble, test, scenarios, product="Limonene", level=0.8)
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
    single = iv.simulate_interventions(ensemble.members[0], test, scenarios, product="Limonene").table()
    assert (single["titer_low"] == single["titer_high"]).all()


def test_extrapolation_flags(ensemble, synthetic_prepared):
    train = synthetic_prepared.train
    ranges = iv.training_range(train)
    strain = train.strains[0]  # a training strain lies inside the training range
    scenarios = [iv.scale("HMGR", 100.0), iv.scale("MK", 1.0 + 1e-9), iv.set_level("AtoB", 0.0)]
    result = iv.simulate_interventions(ensemble, train, scenarios, strain=strain, product="Limonene",
                                       control_range=ranges)
    table = result.table(ranked=False).set_index("intervention")
    assert not table.loc["unmodified", "extrapolation"]
    assert table.loc["HMGR x100", "extrapolation"] and table.loc["HMGR x100", "extrapolated_proteins"] == "HMGR"
    assert table.loc["HMGR x100", "adds_extrapolation"]
    assert not table.loc["MK x1", "extrapolation"]
    assert table.loc["AtoB = 0", "extrapolated_proteins"] == "AtoB"
    # without a range nothing is flagged
    plain = iv.simulate_interventions(ensemble, train, scenarios, strain=strain, product="Limonene").table()
    assert not plain["extrapolation"].any()


def test_simulation_input_errors(ensemble, synthetic_prepared):
    test = synthetic_prepared.test
    with pytest.raises(ValueError, match="Unknown protein: 'HMGQ'"):
        iv.simulate_interventions(ensemble, test, [iv.scale("HMGQ", 2)], product="Limonene")
    with pytest.raises(data.DataValidationError, match="Unknown strain: 'S9'"):
        iv.simulate_interventions(ensemble, test, [iv.scale("HMGR", 2)], strain="S9")
    with pytest.raises(ValueError, match="Unknown state: 'Limonen'"):
        iv.simulate_interventions(ensemble, test, [iv.scale("HMGR", 2)], product="Limonen")
    coarse = iv.strain_trajectories(synthetic_prepared.dataset, test.strains[0], np.linspace(0, 72, 50))
    with pytest.raises(CheckpointMismatchError, match="grid of 50 times"):
        iv.simulate_interventions(ensemble, coarse, [iv.scale("HMGR", 2)], product="Limonene")
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        iv.simulate_interventions(ensemble, test, [], level=1.5)


def test_ensemble_save_load_and_mismatch(ensemble, synthetic_prepared, tmp_path, limonene):
    paths = ensemble.save(tmp_path / "members")
    assert [p.name for p in paths] == ["model-seed0.pt", "model-seed1.pt", "model-seed2.pt"]
    loaded = iv.Ensemble.load(tmp_path / "members")
    np.testing.assert_allclose(loaded.simulate(synthetic_prepared.test), ensemble.simulate(synthetic_prepared.test),
                               rtol=1e-6)
    with pytest.raises(FileNotFoundError, match="No model\\*.pt checkpoint"):
        iv.Ensemble.load(tmp_path)
    other = data.prepare(limonene, state_scaling="standardize", control_scaling="log1p")
    stranger = NeuralODEModel(seed=0, **TINY).fit(other, progress=False)
    with pytest.raises(ValueError, match="trained on different data"):
        iv.Ensemble([ensemble.members[0], stranger])
    from dataclasses import replace

    renamed = replace(synthetic_prepared.test, controls=("Enzyme X",) + synthetic_prepared.test.controls[1:])
    with pytest.raises(CheckpointMismatchError, match="Enzyme X"):
        iv.simulate_interventions(ensemble, renamed, [iv.scale("HMGR", 2)])


def test_bootstrap_members_train_on_resampled_strains(synthetic_prepared):
    boot = iv.Ensemble.fit(synthetic_prepared, members=3, bootstrap=True, progress=False, **TINY)
    assert boot.bootstrap
    samples = [m.train_strains for m in boot.members]
    assert all(len(s) == 3 and set(s) <= set(synthetic_prepared.train.strains) for s in samples)
    assert any(len(set(s)) < 3 for s in samples) or len({tuple(s) for s in samples}) > 1


# -- validation against the synthetic truth --------------------------------------------------------


def test_validate_on_synthetic_scores_against_the_true_effects():
    result = iv.validate_on_synthetic((2, 3), n_test_strains=2, proteins=["HMGR", "Limonene Synthase"],
                                      factors=(0.5, 2.0), members=2, progress=False, **TINY)
    summary, details = result.summary, result.details
    assert list(summary["training_strains"]) == [2, 3]
    assert set(summary.columns) >= {"spearman", "sign_agreement", "fold_change_error", "coverage",
                                    "heldout_rmse_scaled"}
    assert len(details) == 2 * 2 * 2 * 2  # counts x held-out strains x proteins x factors
    assert summary["coverage"].between(0, 1).all()
    # the truth is the mechanistic model with the enzyme scaled
    pathway = synthetic.SyntheticPathway()
    strains = pathway.sample_strains(5, seed=0)
    held_out = strains[-1]
    row = details[(details["strain"] == held_out.name) & (details["intervention"] == "Limonene Synthase x2")].iloc[0]
    base = pathway.simulate(held_out, (0.0, 72.0))["Limonene"].iloc[-1]
    up = pathway.simulate(held_out, (0.0, 72.0), scale={"Limonene Synthase": 2.0})["Limonene"].iloc[-1]
    assert row["true_fold_change"] == pytest.approx(up / base)
    covered = (details["fold_change_low"] <= details["true_fold_change"]) & (
        details["true_fold_change"] <= details["fold_change_high"])
    assert summary.loc[0, "coverage"] == pytest.approx(covered[details["training_strains"] == 2].mean())


def test_effect_scores_on_known_inputs():
    details = pd.DataFrame({"true_fold_change": [0.5, 0.9, 1.2, 2.0, 1.01],
                            "fold_change": [0.6, 0.95, 1.1, 1.5, 0.99],
                            "covered": [True, False, True, True, False]})
    scores = iv._effect_scores(details, sign_threshold=0.05)
    assert scores["spearman"] == pytest.approx(1.0)
    assert scores["sign_agreement"] == 1.0  # the 1.01 effect is below the threshold
    assert scores["coverage"] == pytest.approx(0.6)
    assert scores["fold_change_error"] == pytest.approx(0.1)  # median of 0.1, 0.05, 0.1, 0.5, 0.02


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "syn"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "5", "--out", str(out),
                     "--epochs", "4", "--ensemble", "2", "--device", "cpu", "--no-progress"]) == 0
    return out


def test_cli_simulate_one_intervention(synthetic_run, capsys, tmp_path):
    capsys.readouterr()
    traj = tmp_path / "traj.csv"
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2",
                     "--scale", "Limonene Synthase=0.5", "--trajectories", str(traj)]) == 0
    out = capsys.readouterr().out
    assert "2 model(s), 90% interval" in out and "HMGR x2, Limonene Synthase x0.5" in out
    frame = pd.read_csv(traj)
    assert set(frame["intervention"]) == {"unmodified", "HMGR x2, Limonene Synthase x0.5"}
    assert set(frame["member"]) == {0, 1}


def test_cli_simulate_scan_writes_the_ranked_table(synthetic_run, tmp_path, capsys):
    out = tmp_path / "scan.csv"
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S5", "--scan", "single",
                     "--factors", "0.5,2", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:9]) == ["rank", "intervention", "protein", "factor", "titer_mean", "titer_low",
                                       "titer_high", "fold_change", "extrapolation"]
    assert len(table) == 1 + 2 * len(synthetic.ENZYMES)
    assert table["titer_mean"].is_monotonic_decreasing
    pair = tmp_path / "pair.csv"
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S5", "--scan", "pair", "--proteins",
                     "HMGR,MK", "--factors", "0.5,1,2", "--out", str(pair)]) == 0
    assert len(pd.read_csv(pair)) == 1 + 9  # the reference, then the 3 x 3 grid


@pytest.mark.parametrize("arguments, message", [
    (["--strain", "S9", "--scale", "HMGR=2"], "Unknown strain: 'S9'"),
    (["--strain", "S4", "--scale", "HMGQ=2"], "Unknown protein: 'HMGQ'"),
    (["--strain", "S4", "--scale", "HMGR=0"], "must be a positive number"),
    (["--strain", "S4", "--scale", "HMGR=-1"], "must be a positive number"),
    (["--strain", "S4"], "Give --scale"),
    (["--strain", "S4", "--scan", "pair", "--proteins", "HMGR"], "two proteins"),
])
def test_cli_simulate_bad_inputs(synthetic_run, capsys, arguments, message):
    assert cli.main(["simulate", str(synthetic_run), *arguments]) == 2
    assert message in capsys.readouterr().err


def test_cli_simulate_model_data_mismatch(synthetic_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(synthetic_run, copy)
    record = json.loads((copy / "metrics.json").read_text())
    record["synthetic"]["seed"] += 1  # other strains than those the models learned
    (copy / "metrics.json").write_text(json.dumps(record))
    assert cli.main(["simulate", str(copy), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "not the data of the run" in capsys.readouterr().err
    assert cli.main(["simulate", str(tmp_path / "nothing"), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "No checkpoint or run folder" in capsys.readouterr().err


def test_cli_simulate_on_a_real_pathway(limonene_path, tmp_path, capsys):
    run = tmp_path / "lim"
    assert cli.main(["train", "--dataset", "limonene", "--out", str(run), "--epochs", "4", "--device", "cpu",
                     "--no-progress", "--data-dir", str(limonene_path.parent)]) == 0
    capsys.readouterr()
    assert cli.main(["simulate", str(run), "--strain", "L2", "--scale", "HMGR=2",
                     "--data-dir", str(limonene_path.parent)]) == 0
    captured = capsys.readouterr()
    assert "Limonene at 72 h in strain L2 (g/L)" in captured.out
    assert "one model: the interval is a point" in captured.err
    assert (run / "interventions-L2.csv").is_file()


def test_intervention_figures(ensemble, synthetic_prepared):
    import matplotlib

    matplotlib.use("Agg")
    from nodebio import plots

    test = synthetic_prepared.test
    single = iv.simulate_interventions(ensemble, test, iv.single_protein_scan(["HMGR", "MK"], [0.5, 2]),
                                       product="Limonene", control_range=iv.training_range(synthetic_prepared.train))
    fig = plots.plot_single_protein_effects(single.table())
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] != []
    pair = iv.simulate_interventions(ensemble, test, iv.pairwise_scan("HMGR", "MK", [0.5, 1, 2]), product="Limonene")
    fig = plots.plot_pairwise_heatmap(pair, "HMGR", "MK")
    assert fig.axes[0].images[0].get_array().shape == (3, 3)
    with pytest.raises(ValueError, match="'PMK' is not scanned"):
        plots.plot_pairwise_heatmap(pair, "HMGR", "PMK")
    fig = plots.plot_intervention_trajectories(single)
    assert len(fig.axes[0].lines) == 3  # unmodified, best, worst
    with pytest.raises(ValueError, match="No intervention 'HMGR x9'"):
        plots.plot_intervention_trajectories(single, ["HMGR x9"])


def test_random_designs_are_seeded_and_in_range():
    designs = iv.random_designs(["A", "B", "C"], 50, low=0.5, high=2.0, seed=4)
    assert len(designs) == 50 and all(d.proteins == ("A", "B", "C") for d in designs)
    factors = np.array([[d.factor(p) for p in "ABC"] for d in designs])
    assert factors.min() >= 0.5 and factors.max() <= 2.0
    assert [str(d) for d in designs] == [str(d) for d in iv.random_designs(["A", "B", "C"], 50, low=0.5, high=2.0, seed=4)]


def test_effects_against_truth_figure():
    import matplotlib

    matplotlib.use("Agg")
    from nodebio import plots

    details = pd.DataFrame({"training_strains": [2, 2, 3, 3], "true_fold_change": [0.5, 2.0, 0.5, 2.0],
                            "fold_change": [0.8, 1.5, 0.6, 1.9], "fold_change_low": [0.7, 1.2, 0.5, 1.7],
                            "fold_change_high": [0.9, 1.8, 0.7, 2.1]})
    summary = pd.DataFrame({"training_strains": [2, 3], "spearman": [1.0, 1.0]})
    result = iv.ValidationResult(summary, details, {"level": 0.9})
    fig = plots.plot_effects_against_truth({"a": result, "b": result})
    assert len(fig.axes) == 2 and "3 training strains" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_effects_against_truth({})
