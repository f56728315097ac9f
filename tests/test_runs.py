"""The run folder: what `nodebio train` writes is enough for `nodebio simulate`, and a changed or
foreign folder is refused with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from nodebio import cli, data, runs, synthetic
from nodebio.errors import CheckpointMismatchError


@pytest.fixture(scope="module")
def csv_run(tmp_path_factory):
    """A neural ODE trained from a CSV of the user's own, which is then deleted."""
    folder = tmp_path_factory.mktemp("csvrun")
    table = folder / "mine.csv"
    synthetic.generate(4, seed=2).to_csv(table, index=False)
    out = folder / "run"
    assert cli.main(["train", "--csv", str(table), "--states", "Mevalonate,IPP/DMAPP,Limonene",
                     "--controls", "HMGR,MK,PMK,PMD", "--train", "S1,S2,S3", "--test", "S4", "--out", str(out),
                     "--epochs", "4", "--ensemble", "2", "--device", "cpu", "--no-progress"]) == 0
    table.unlink()
    return out


def test_a_csv_run_simulates_without_its_csv(csv_run, capsys, tmp_path):
    record = json.loads((csv_run / "run.json").read_text())
    assert record["format"] == runs.RUN_FORMAT and record["dataset"]["kind"] == "table"
    assert record["members"] == ["model.pt", "model-seed1.pt"]
    capsys.readouterr()
    scan = tmp_path / "scan.csv"
    assert cli.main(["simulate", str(csv_run), "--strain", "S4", "--scan", "single", "--out", str(scan)]) == 0
    assert "Limonene at 72 h in strain S4" in capsys.readouterr().out
    table = pd.read_csv(scan)
    assert len(table) == 1 + 2 * 4  # the unmodified strain, then 4 proteins x 2 factors
    # the rebuilt dataset is the one the models learned
    run = runs.read_run(csv_run)
    dataset = run.dataset()
    assert dataset.sha256 == record["data_sha256"] and dataset.product == record["dataset"]["product"]
    assert dataset.strains == ("S1", "S2", "S3", "S4")
    assert len(run.members()) == 2


def test_a_changed_data_copy_is_refused(csv_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(csv_run, copy)
    frame = pd.read_csv(copy / runs.DATA_COPY)
    frame.loc[0, "Limonene"] = 1.0
    frame.to_csv(copy / runs.DATA_COPY, index=False)
    assert cli.main(["simulate", str(copy), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "changed after the run was trained" in capsys.readouterr().err


def test_foreign_folders_are_clear_errors(tmp_path, csv_run):
    with pytest.raises(FileNotFoundError, match="no run folder"):
        runs.read_run(tmp_path / "nothing")
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(CheckpointMismatchError, match="not a readable run record"):
        runs.read_run(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(CheckpointMismatchError, match="not a nodebio run record"):
        runs.read_run(tmp_path)


def test_synthetic_and_baseline_runs_record_how_to_rebuild_their_data(tmp_path, synthetic_run):
    record = runs.read_run(synthetic_run).record
    assert record["dataset"] == {"kind": "synthetic", "strains": 5, "seed": 0, "noise": 0.05}
    assert runs.read_run(synthetic_run).dataset().sha256 == record["data_sha256"]
    out = tmp_path / "gb"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--model", "baseline-gb",
                     "--quick", "--out", str(out), "--no-progress"]) == 0
    run = runs.read_run(out)
    assert run.record["members"] == ["model.pkl"] and run.model == "baseline-gb"
    [model] = run.members()
    held_out = data.prepare(run.dataset(), run.record["train_strains"], run.record["test_strains"]).test
    assert model.simulate(held_out).shape[:2] == (2, len(held_out.times))


# -- a run folder is written whole or not at all --------------------------------------------------

TRAIN = ["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--epochs", "4", "--device", "cpu",
         "--no-progress"]


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_an_existing_run_is_kept_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    before = _files(out)
    assert cli.main(TRAIN + ["--out", str(out), "--seed", "1"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err
    assert _files(out) == before
    assert cli.main(TRAIN + ["--out", str(out), "--seed", "1", "--overwrite"]) == 0
    assert json.loads((out / "run.json").read_text())["seed"] == 1
    assert not list(tmp_path.glob(".run.*"))  # no staging folder or lock left behind


def test_an_interrupted_run_leaves_the_old_run_and_resumes(tmp_path, monkeypatch, capsys):
    from nodebio.models.node import NeuralODEModel

    out = tmp_path / "run"
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    before = _files(out)
    original = NeuralODEModel._step

    def interrupted(self, objective, optimizer, scheduler, generator, iteration):
        if iteration == 2:
            raise KeyboardInterrupt
        return original(self, objective, optimizer, scheduler, generator, iteration)

    monkeypatch.setattr(NeuralODEModel, "_step", interrupted)
    capsys.readouterr()
    assert cli.main(TRAIN + ["--out", str(out), "--epochs", "8", "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "--resume" in err
    assert _files(out) == before  # the old run is untouched
    staging = runs.staging_folder(out)
    assert (staging / "model.pt").is_file()
    monkeypatch.setattr(NeuralODEModel, "_step", original)
    assert cli.main(TRAIN + ["--out", str(out), "--epochs", "8", "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["iterations_run"] == 8
    assert not staging.exists()


def test_a_second_writer_is_refused(tmp_path):
    out = tmp_path / "run"
    with runs.lock(out):
        with pytest.raises(runs.RunLockedError, match="another `nodebio train` is writing"):
            with runs.lock(out):
                pass
    with runs.lock(out):  # released
        pass


def test_output_paths_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cli.main(TRAIN + ["--out", str(afile)]) == 2
    assert "is a file" in capsys.readouterr().err
    # a folder this process cannot write (root writes anywhere, so the check is made to say no)
    locked = tmp_path / "ro"
    locked.mkdir()
    monkeypatch.setattr(runs.os, "access", lambda path, mode: Path(path) != locked)
    fitted = []
    monkeypatch.setattr(runs, "_fit_into", lambda *a, **k: fitted.append(1))
    assert cli.main(TRAIN + ["--out", str(locked / "run")]) == 2
    assert "cannot write" in capsys.readouterr().err and not fitted
    assert cli.main(["reproduce", "--quick", "--out", str(locked / "r"), "--no-progress"]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_simulate_never_writes_over_a_file_of_a_run(synthetic_run, capsys):
    before = (synthetic_run / "metrics.json").read_bytes()
    assert cli.main(["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2",
                     "--out", str(synthetic_run / "metrics.json")]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert (synthetic_run / "metrics.json").read_bytes() == before


def test_members_of_another_split_are_refused(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(TRAIN + ["--out", str(a), "--train", "S1,S2", "--test", "S3,S4"]) == 0
    assert cli.main(TRAIN + ["--out", str(b), "--train", "S1,S3", "--test", "S2,S4"]) == 0
    assert cli.main(["simulate", str(a), str(b), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "trained on strains S1, S3, member 0 on S1, S2" in capsys.readouterr().err
    c = tmp_path / "c"
    assert cli.main(TRAIN + ["--out", str(c), "--train", "S1,S2", "--test", "S4"]) == 0
    assert cli.main(["simulate", str(a), str(c), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "held out other strains" in capsys.readouterr().err


def test_overwrite_never_replaces_a_folder_that_is_not_a_run(tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    assert cli.main(TRAIN + ["--out", str(folder), "--overwrite"]) == 2
    assert "holds files but no run" in capsys.readouterr().err
    assert (folder / "notes.txt").read_text() == "mine"


def test_simulate_needs_a_neural_run(tmp_path, capsys):
    out = tmp_path / "mean"
    assert cli.main(TRAIN + ["--out", str(out), "--model", "mean"]) == 2  # --epochs applies to neural ODEs only
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--no-progress", "--out", str(out),
                     "--model", "mean"]) == 0
    assert cli.main(["simulate", str(out), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "holds a 'mean' model" in capsys.readouterr().err
