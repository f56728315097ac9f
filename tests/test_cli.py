"""The nodebio command line: every command, good and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from nodebio import cli, data, synthetic
from nodebio.models import structured
from nodebio.models.node import NeuralODEModel


def test_info_on_a_pathway(limonene_path, capsys):
    assert cli.main(["info", "limonene", "--data-dir", str(limonene_path.parent)]) == 0
    out = capsys.readouterr().out
    assert "Dataset 'limonene': 3 strains" in out and "sampling times" in out


def test_info_on_a_user_csv(tidy_csv, capsys):
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1"]) == 0
    assert "2 strains, 2 states, 1 controls" in capsys.readouterr().out


def test_info_bad_inputs(tidy_csv, capsys):
    assert cli.main(["info", "limonen"]) == 2
    assert "did you mean 'limonene'" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,zz", "--controls", "E1"]) == 2
    assert "Unknown column: 'zz'" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv)]) == 2
    assert "--csv needs --states" in capsys.readouterr().err
    assert cli.main(["info"]) == 2
    assert "Name a pathway table" in capsys.readouterr().err


def test_fetch_with_a_bad_folder_is_a_clear_error(tmp_path, limonene_path, capsys):
    (tmp_path / "limonene_data.csv").write_text("corrupted")
    assert cli.main(["fetch", "--data-dir", str(tmp_path)]) == 2
    assert "expected " + data.REGISTRY["limonene_data.csv"].sha256 in capsys.readouterr().err


def test_synthetic_writes_a_loadable_csv(tmp_path, capsys):
    out = tmp_path / "syn.csv"
    assert cli.main(["synthetic", "--strains", "3", "--seed", "1", "--out", str(out)]) == 0
    frame = pd.read_csv(out)
    assert frame["Strain"].nunique() == 3
    dataset = data.load_csv(out, states=["Mevalonate", "Limonene"], controls=["HMGR"])
    assert dataset.strains == ("S1", "S2", "S3")


@pytest.mark.parametrize("arguments, message", [
    (["--noise", "nan"], "noise must be a finite standard deviation of 0 or more (--noise), got nan"),
    (["--noise", "inf"], "noise must be a finite standard deviation of 0 or more (--noise), got inf"),
    (["--strains", "10000000"], "At most 1000 synthetic strains, got 10000000"),
])
def test_synthetic_refuses_a_noise_or_size_it_cannot_honour(tmp_path, capsys, arguments, message):
    out = tmp_path / "syn.csv"
    assert cli.main(["synthetic", *arguments, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()

def test_train_cli_with_every_model(tmp_path, limonene_path, capsys):
    for name in ("baseline-gb", "baseline-rf", "mean"):
        out = tmp_path / name
        assert cli.main(["train", "--model", name, "--dataset", "limonene", "--out", str(out), "--quick",
                         "--no-progress", "--data-dir", str(limonene_path.parent)]) == 0
        metrics_json = json.loads((out / "metrics.json").read_text())
        assert metrics_json["model"] == name and metrics_json["test_strains"] == ["L2"]
        assert set(metrics_json["test"]["rmse_integral"]) == set(data.PATHWAYS["limonene"].states)
    assert cli.main(["train", "--model", "mean", "--dataset", "limonene", "--iterations", "3", "--out", str(tmp_path / "x"),
                     "--data-dir", str(limonene_path.parent)]) == 2
    assert "--iterations and --solver apply to the neural ODEs (node, node-structured, node-kinetic) only" in capsys.readouterr().err


def test_reproduce_cli_passes_its_arguments_and_prints_the_results(tmp_path, capsys, monkeypatch):
    # the computation is tested once, in test_experiments_compare (a quick reproduction takes a minute);
    # here, what the command gives the library and what it prints
    from nodebio.experiments import compare

    seen = {}

    def reproduce(pathways, **kwargs):
        seen.update(pathways=pathways, **kwargs)
        out = kwargs["out"]
        out.mkdir()
        (out / "results.md").write_text("# Results\nImprovement of the neural ODE: ...\n")
        (out / compare.MANIFEST).write_text(json.dumps({"files": {"results.md": "0" * 64}}))
        return {"seconds": 12.0}

    monkeypatch.setattr(compare, "reproduce", reproduce)
    out = tmp_path / "results"
    assert cli.main(["reproduce", "--quick", "--seeds", "1", "--pathways", "limonene", "--no-loso",
                     "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert seen == {"pathways": ["limonene"], "seeds": 1, "first_seed": 0, "quick": True, "loso": False, "out": out,
                    "device": "cpu", "progress": False, "overwrite": False, "jobs": None, "scheduler": None,
                    "store": None}
    printed = capsys.readouterr().out
    assert "Improvement of the neural ODE" in printed
    assert f"wrote {compare.MANIFEST}, results.md to {out} in 12 s" in printed
    assert cli.main(["reproduce", "--out", str(tmp_path / "r2"), "--no-progress"]) == 0
    assert seen["seeds"] == 5 and seen["quick"] is False and seen["pathways"] == list(data.PATHWAYS)


def test_train_cli_on_the_real_data(tmp_path, limonene_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "limonene", "--train", "L1,L3", "--test", "L2", "--out", str(out),
                     "--quick", "--iterations", "6", "--no-progress", "--device", "cpu", "--data-dir", str(limonene_path.parent)])
    assert code == 0
    assert {"model.pt", "predictions.csv", "trajectories.csv", "metrics.json"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_strains"] == ["L2"] and metrics["iterations_run"] == 6
    assert set(metrics["test"]["rmse_measured"]) == set(data.PATHWAYS["limonene"].states)
    assert metrics["test"]["mean_rmse_grid"] > 0
    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns[:5]) == ["strain", "time", "variable", "measured", "predicted"]
    assert set(predictions.loc[predictions["split"] == "test", "strain"]) == {"L2"}


def test_train_cli_on_synthetic_and_user_csv(tmp_path, capsys):
    out = tmp_path / "syn"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--out", str(out),
                     "--iterations", "4", "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_strains"] == ["S3", "S4"]
    csv = tmp_path / "mine.csv"
    synthetic.generate(3, seed=5).to_csv(csv, index=False)
    out2 = tmp_path / "csv"
    assert cli.main(["train", "--csv", str(csv), "--states", "Mevalonate,Limonene", "--controls", "HMGR,MK",
                     "--train", "S1,S2", "--test", "S3", "--out", str(out2), "--iterations", "4", "--no-progress"]) == 0
    assert json.loads((out2 / "metrics.json").read_text())["test_strains"] == ["S3"]


def test_train_cli_bad_inputs(tmp_path, tidy_csv, limonene_path, capsys):
    base = ["train", "--out", str(tmp_path / "x"), "--iterations", "2", "--no-progress", "--data-dir", str(limonene_path.parent)]
    assert cli.main(base + ["--dataset", "limonene", "--train", "L1", "--test", "L9"]) == 2
    assert "Unknown strain: 'L9'" in capsys.readouterr().err
    assert cli.main(base + ["--dataset", "limonene", "--device", "cuda"]) == (0 if torch.cuda.is_available() else 2)
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in capsys.readouterr().err
    assert cli.main(base + ["--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1"]) == 2
    assert "Give --train and --test" in capsys.readouterr().err
    assert cli.main(base) == 2
    assert "Give --dataset NAME or --csv FILE" in capsys.readouterr().err
    assert cli.main(base + ["--dataset", "limonene", "--resume", "--out", str(tmp_path / "empty")]) == 2
    assert "Cannot resume" in capsys.readouterr().err


def test_cli_trains_the_structured_model_on_synthetic_data(tmp_path):
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--model", "node-structured",
                     "--quick", "--iterations", "6", "--out", str(out), "--no-progress", "--device", "cpu"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model"] == "node-structured" and metrics["config"]["structure"] == "structured"
    loaded = NeuralODEModel.load(out / "model.pt")
    assert isinstance(loaded.field, structured.StructuredField)


SYNTHETIC_REACTIONS = """\
# the synthetic pathway over three of its measured states
reactions:
  - name: HMGR
    products: {Mevalonate: 1}        # HMG-CoA is not a state here: a supply
    enzymes: [HMGR]
  - name: MK/PMK/PMD
    substrates: [Mevalonate]
    products: [IPP/DMAPP]
    enzymes: [MK, PMK, PMD]
    lumped: [Mev-P, Mev-PP]
  - name: Idi/GPPS/LS
    substrates: {IPP/DMAPP: 2}
    products: {Limonene: 1}
    enzymes: [Idi, GPPS, Limonene Synthase]
    lumped: [GPP]
"""


def test_cli_trains_the_structured_model_with_reactions_from_a_file(tmp_path, capsys, monkeypatch):
    given = tmp_path / "given"
    given.mkdir()
    csv, reactions = given / "mine.csv", given / "pathway.yaml"
    synthetic.generate(4, seed=2).to_csv(csv, index=False)
    reactions.write_text(SYNTHETIC_REACTIONS)
    out = tmp_path / "run"
    base = ["train", "--csv", str(csv), "--states", "Mevalonate,IPP/DMAPP,Limonene", "--controls",
            "HMGR,MK,PMK,PMD,Idi,GPPS,Limonene Synthase", "--product", "Limonene", "--train", "S1,S2,S3",
            "--test", "S4", "--model", "node-structured", "--iterations", "4", "--no-progress", "--device", "cpu"]
    assert cli.main(base + ["--reactions", str(reactions), "--out", str(out)]) == 0
    loaded = NeuralODEModel.load(out / "model.pt")
    assert loaded.reactions == data.read_reactions(reactions) and loaded.field.n_reactions == 3
    # the run simulates with neither the CSV nor the reaction file: the checkpoint carries the reactions
    for path in (csv, reactions):
        path.unlink()
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["simulate", str(out), "--strain", "S4", "--scale", "HMGR=2"]) == 0
    assert "HMGR x2" in capsys.readouterr().out

    # a reaction naming a column the CSV lacks: exit code 2, one line naming the column and the reaction
    synthetic.generate(4, seed=2).to_csv(csv, index=False)
    bad = given / "bad.yaml"
    bad.write_text(SYNTHETIC_REACTIONS.replace("substrates: {IPP/DMAPP: 2}", "substrates: {GPP: 1}"))
    assert cli.main(base + ["--reactions", str(bad), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yaml" in err and "'Idi/GPPS/LS'" in err and "'GPP'" in err
    assert not (tmp_path / "bad").exists()
    # only the structured model takes a reaction list
    plain = [a if a != "node-structured" else "node" for a in base]
    assert cli.main(plain + ["--reactions", str(bad), "--out", str(tmp_path / "plain")]) == 2
    assert "--reactions applies to --model node-structured or node-kinetic only, not to 'node'" in capsys.readouterr().err


def test_cli_reactions_replace_the_list_of_a_named_dataset(tmp_path):
    renamed = [data.Reaction("HMG-CoA reductase", r.substrates, r.products, r.enzymes, r.modifiers, r.lumped)
               if r.name == "HMGR" else r for r in data.reactions_for("synthetic")]
    reactions = data.write_reactions(tmp_path / "renamed.yml", renamed)
    out = tmp_path / "run"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--model", "node-structured",
                     "--reactions", str(reactions), "--iterations", "2", "--out", str(out), "--no-progress",
                     "--device", "cpu"]) == 0
    names = [r.name for r in NeuralODEModel.load(out / "model.pt").reactions]
    assert "HMG-CoA reductase" in names and "HMGR" not in names


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
    (["--strain", "S4", "--scale", "HMGR=0"], "must be a number from 0.001 to 1000"),
    (["--strain", "S4", "--scale", "HMGR=-1"], "must be a number from 0.001 to 1000"),
    (["--strain", "S4", "--scale", "HMGR=1e300"], "must be a number from 0.001 to 1000, got 1e+300"),
    (["--strain", "S4", "--scale", "HMGR=inf"], "a level of 0 to remove it (--set PROTEIN=0"),
    (["--strain", "S4", "--scan", "single", "--factors", ""], "--factors is empty"),
    (["--strain", "S4", "--scan", "single", "--factors", "0.5,two"], "--factors: 'two' is not a number"),
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
    record = json.loads((copy / "run.json").read_text())
    record["dataset"]["seed"] += 1  # other strains than those the models learned
    (copy / "run.json").write_text(json.dumps(record))
    assert cli.main(["simulate", str(copy), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "not the data of the run" in capsys.readouterr().err
    assert cli.main(["simulate", str(tmp_path / "nothing"), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "No checkpoint or run folder" in capsys.readouterr().err


def test_cli_simulate_on_a_real_pathway(limonene_path, tmp_path, capsys):
    run = tmp_path / "lim"
    assert cli.main(["train", "--dataset", "limonene", "--out", str(run), "--iterations", "4", "--device", "cpu",
                     "--no-progress", "--data-dir", str(limonene_path.parent)]) == 0
    capsys.readouterr()
    assert cli.main(["simulate", str(run), "--strain", "L2", "--scale", "HMGR=2",
                     "--data-dir", str(limonene_path.parent)]) == 0
    captured = capsys.readouterr()
    assert "Limonene at 72 h in strain L2 (g/L)" in captured.out
    assert "one model: the interval is a point" in captured.err
    assert (run / "interventions-L2.csv").is_file()


# -- no traceback for a user's mistake ------------------------------------------------------------

def test_csv_needs_controls_and_flag_names_are_used(tidy_csv, tmp_path, capsys):
    assert cli.main(["train", "--csv", str(tidy_csv), "--states", "m1,m2", "--out", str(tmp_path / "r")]) == 2
    assert "--csv needs --controls" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1", "--controls", "E1", "--time-col", "Houre"]) == 2
    err = capsys.readouterr().err
    assert "--time-col" in err and "time_col=" not in err


def test_duplicate_strains_and_product_flag(tidy_csv, tmp_path, capsys):
    assert cli.main(["train", "--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1",
                     "--train", "A,A", "--test", "B", "--out", str(tmp_path / "r")]) == 2
    assert "listed twice" in capsys.readouterr().err
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1",
                     "--product", "m1"]) == 0
    assert cli.main(["info", "--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1",
                     "--product", "m3"]) == 2
    assert "The product 'm3' must be one of the states" in capsys.readouterr().err


def test_time_unit_flag(tmp_path, tidy_frame, capsys):
    path = tmp_path / "minutes.csv"
    tidy_frame.assign(Hour=tidy_frame["Hour"] * 60).to_csv(path, index=False)
    assert cli.main(["info", "--csv", str(path), "--states", "m1,m2", "--controls", "E1", "--time-unit", "min"]) == 0
    assert "0-10 h" in capsys.readouterr().out


def test_unreadable_checkpoints_say_so_plainly(synthetic_run, tmp_path, capsys):
    import shutil

    for name, content in (("truncated", (synthetic_run / "model.pt").read_bytes()[:100]), ("garbage", b"\x00" * 64)):
        folder = tmp_path / name
        shutil.copytree(synthetic_run, folder)
        (folder / "model.pt").write_bytes(content)
        assert cli.main(["simulate", str(folder), "--strain", "S4", "--scale", "HMGR=2"]) == 2
        err = capsys.readouterr().err
        assert "is not a nodebio checkpoint" in err and "weights_only" not in err and len(err.splitlines()) == 1


def test_interventions_outside_the_experiment_and_unsafe_strain_names(synthetic_run, tmp_path, capsys):
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2@100-200"]) == 2
    assert "outside the experiment (0-72 h)" in capsys.readouterr().err


def test_data_warnings_are_one_line(tmp_path, tidy_frame, capsys):
    path = tmp_path / "minutes.csv"
    tidy_frame.assign(Hour=tidy_frame["Hour"] * 500).to_csv(path, index=False)
    assert cli.main(["info", "--csv", str(path), "--states", "m1,m2", "--controls", "E1"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: The times in") and "--time-unit" in err and "loading.py" not in err


def test_cli_trains_the_kinetic_model_on_a_csv_with_reactions_and_simulates_it(tmp_path, capsys):
    csv, reactions = tmp_path / "mine.csv", tmp_path / "pathway.yaml"
    synthetic.generate(4, seed=2).to_csv(csv, index=False)
    reactions.write_text(SYNTHETIC_REACTIONS)
    out = tmp_path / "run"
    assert cli.main(["train", "--csv", str(csv), "--states", "Mevalonate,IPP/DMAPP,Limonene", "--controls",
                     "HMGR,MK,PMK,PMD,Idi,GPPS,Limonene Synthase", "--product", "Limonene", "--train", "S1,S2,S3",
                     "--test", "S4", "--model", "node-kinetic", "--iterations", "4", "--no-progress", "--device", "cpu",
                     "--reactions", str(reactions), "--out", str(out)]) == 0
    loaded = NeuralODEModel.load(out / "model.pt")
    assert loaded.config.structure == "kinetic" and loaded.control_scaler.method == "none"
    capsys.readouterr()
    assert cli.main(["simulate", str(out), "--strain", "S4", "--scale", "HMGR=2"]) == 0
    assert "HMGR x2" in capsys.readouterr().out


def test_run_command_prints_the_command_and_its_output(tmp_path, capsys):
    from nodebio import examples

    csv, _ = examples.copy_example(tmp_path)
    states, controls = ",".join(examples.STATES), ",".join(examples.CONTROLS)
    command = f"nodebio info --csv {csv.name} --states {states} --controls '{controls}'"
    result = cli.run_command(command, cwd=tmp_path)
    out = capsys.readouterr().out
    assert out.startswith(f"$ {command}\n") and "Dataset 'synthetic-limonene': 4 strains" in out
    assert result.returncode == 0
    wrong = cli.run_command(f"nodebio info --csv {csv.name} --states Mevalonat --controls AtoB", cwd=tmp_path,
                            expect_failure=True)
    assert wrong.returncode == 2 and "did you mean 'Mevalonate'" in wrong.stderr
    assert "did you mean 'Mevalonate'" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match=r"failed \(exit status 2\)"):
        cli.run_command("nodebio info --csv missing.csv --states A --controls B", cwd=tmp_path)
    with pytest.raises(RuntimeError, match="succeeded, but a failure was expected"):
        cli.run_command(command, cwd=tmp_path, expect_failure=True)
    with pytest.raises(ValueError, match="runs nodebio command lines"):
        cli.run_command("ls -l")


def test_cli_recommend_on_a_synthetic_run(synthetic_run, tmp_path, capsys):
    out = tmp_path / "recs"
    arguments = ["recommend", str(synthetic_run), "--strain", "S4", "--n", "4", "--proteins", "HMGR,MK,PMK",
                 "--out", str(out)]
    # three training strains: 3 titer and 6 fold-change scores, fewer than the 9 a 90% interval needs
    assert cli.main(arguments) == 2
    refused = capsys.readouterr().err
    assert "3 of the titer and 6 of the fold change inner held-out scores" in refused
    assert "needs at least 9" in refused
    assert "--force" in refused and "--no-calibration" in refused and not out.exists()
    assert cli.main([*arguments, "--force"]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "ranked by ei; intervals:" in printed and "inner held-out scores" in printed
    assert "warning: --force" in captured.err and "no guaranteed level" in captured.err
    assert "unmodified S4: predicted" in printed and "measured" in printed
    table = pd.read_csv(out / "recommendations-S4.csv")
    assert len(table) == 4 and table["acquisition"].is_monotonic_decreasing
    assert (out / "recommendations-S4.png").is_file()
    assert cli.main(["recommend", str(synthetic_run), "--strain", "S4", "--n", "2", "--no-calibration",
                     "--acquisition", "mean", "--force"]) == 0
    captured = capsys.readouterr()
    assert "members' range (2 members, not calibrated)" in captured.out
    assert "warning" not in captured.err  # --force with nothing to force warns of nothing


@pytest.mark.parametrize("arguments, message", [
    (["--strain", "S4", "--proteins", "HMGQ"], "Unknown protein: 'HMGQ'"),
    (["--strain", "S4", "--factors", "0,2"], "Factors (--factors) must be numbers from 0.001 to 1000"),
    (["--strain", "S4", "--factors", "-1"], "Factors (--factors) must be numbers from 0.001 to 1000"),
    (["--strain", "S4", "--factors", "1"], "Factors (--factors) of 1 change nothing"),
    (["--strain", "S4", "--factors", ""], "--factors is empty"),
    (["--strain", "S4", "--factors", "x"], "--factors: 'x' is not a number"),
    (["--strain", "S4", "--max-fold", "-2"], "(--max-fold) must be a number from 1.1 to 1000"),
    (["--strain", "S4", "--max-fold", "1e300"], "(--max-fold) must be a number from 1.1 to 1000"),
    (["--strain", "S4", "--max-fold", "1.0000001"], "(--max-fold) must be a number from 1.1 to 1000"),
    (["--strain", "S4", "--proteins", "HMGR", "--factors", "50,100", "--max-fold", "2"], "Empty trust region"),
    (["--strain", "S9"], "Unknown strain: 'S9'"),
])
def test_cli_recommend_bad_inputs(synthetic_run, capsys, arguments, message):
    assert cli.main(["recommend", str(synthetic_run), "--no-calibration", *arguments]) == 2
    assert message in capsys.readouterr().err


def test_cli_recommend_on_real_pathways_and_a_csv_run(limonene_path, tmp_path, capsys):
    for pathway, strain in (("limonene", "L1"), ("isopentenol", "I1")):
        run = tmp_path / pathway
        assert cli.main(["train", "--dataset", pathway, "--out", str(run), "--iterations", "3", "--ensemble", "2",
                         "--device", "cpu", "--no-progress", "--data-dir", str(limonene_path.parent)]) == 0
        capsys.readouterr()
        assert cli.main(["recommend", str(run), "--strain", strain, "--n", "3", "--force",
                         "--data-dir", str(limonene_path.parent)]) == 0
        assert "too few for a calibrated 90% interval" in capsys.readouterr().out  # two training strains
    csv = tmp_path / "mine.csv"
    synthetic.generate(4, seed=5).to_csv(csv, index=False)
    run = tmp_path / "csv"
    assert cli.main(["train", "--csv", str(csv), "--states", "Mevalonate,Limonene", "--controls", "HMGR,MK",
                     "--product", "Limonene", "--train", "S1,S2,S3", "--test", "S4", "--iterations", "3",
                     "--no-progress", "--device", "cpu", "--out", str(run)]) == 0
    capsys.readouterr()
    assert cli.main(["recommend", str(run), "--strain", "S4", "--n", "2", "--no-calibration"]) == 0
    printed = capsys.readouterr().out
    assert "Limonene at the final time in strain S4" in printed and "members' range" in printed


def test_the_same_run_given_twice_is_refused(synthetic_run, capsys):
    assert cli.main(["simulate", str(synthetic_run), str(synthetic_run / "."), "--strain", "S4",
                     "--scale", "HMGR=2"]) == 2
    assert "is given twice" in capsys.readouterr().err


def test_odd_strain_names_are_printed_escaped_and_long_ones_make_short_file_names():
    from nodebio import interventions as iv

    assert cli.shown_name("L2\u202e3L") == "L2\\u202e3L" and cli.shown_name("L2") == "L2"
    long_a, long_b = "x" * 5000 + "a", "x" * 5000 + "b"
    assert len(iv.safe_file_name(long_a)) <= 80 and iv.safe_file_name(long_a) != iv.safe_file_name(long_b)
    assert iv.safe_file_name("v1.1") == "v1.1"


def test_simulate_writes_its_files_before_printing(synthetic_run, tmp_path, monkeypatch):
    import builtins

    out = tmp_path / "table.csv"
    original = builtins.print

    def closed_pipe(*args, **kwargs):
        if kwargs.get("file") is None:
            raise BrokenPipeError(32, "Broken pipe")
        return original(*args, **kwargs)

    monkeypatch.setattr(builtins, "print", closed_pipe)
    with pytest.raises(BrokenPipeError):
        cli.simulate_command(cli.build_parser().parse_args(
            ["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2", "--out", str(out)]))
    monkeypatch.undo()
    assert len(pd.read_csv(out)) == 2


def test_a_full_disk_names_the_file_and_leaves_nothing(synthetic_run, tmp_path, capsys, monkeypatch):
    out = tmp_path / "table.csv"

    original = pd.DataFrame.to_csv

    def full(self, path=None, *args, **kwargs):
        if path is None or Path(path).parent != tmp_path:
            return original(self, path, *args, **kwargs)
        Path(path).write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: No space left on device: {out}\n"
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_store_path_that_is_a_file_fails_reproduce_before_any_fit(tmp_path, capsys, monkeypatch):
    from nodebio.experiments import compare

    store = tmp_path / "store"
    store.write_text("")
    monkeypatch.setenv("NODEBIO_STORE", str(store))
    monkeypatch.setattr(compare, "fit_and_score", lambda *a, **k: pytest.fail("fitted before checking the store"))
    assert cli.main(["reproduce", "--quick", "--seeds", "1", "--pathways", "limonene", "--no-loso",
                     "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "is a file, not a folder: point $NODEBIO_STORE at a folder" in capsys.readouterr().err


def test_simulate_of_a_diverging_field_exits_2(synthetic_run, tmp_path, capsys, monkeypatch):
    from nodebio import interventions as iv
    from nodebio.errors import SolverError

    def diverging(*args, **kwargs):
        raise SolverError("The ODE solve diverged at 30.0 h (values above 1e12).")

    monkeypatch.setattr(iv, "simulate_strain", diverging)
    out = tmp_path / "table.csv"
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2", "--out", str(out)]) == 2
    assert "error: The ODE solve diverged" in capsys.readouterr().err and not out.exists()


def test_simulate_says_why_a_fold_change_is_undefined(synthetic_run, capsys, monkeypatch):
    from nodebio import interventions as iv

    real = iv.simulate_strain

    def nothing_made(*args, **kwargs):
        result = real(*args, **kwargs)
        result.trajectories = result.trajectories.copy()
        result.trajectories[..., result.states.index(result.product)] = -0.119  # a negative prediction
        return result

    monkeypatch.setattr(iv, "simulate_strain", nothing_made)
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2"]) == 0
    captured = capsys.readouterr()
    assert "predicted Limonene is 0 in 2 of 2 model(s): no fold change can be computed there" in captured.err
    assert "-0.119" not in captured.out
