"""The run folder: what `nodebio train` writes is enough for `nodebio simulate`, and a changed or
foreign folder is refused with a clear error."""

from __future__ import annotations

import json

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
