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
                     "--iterations", "4", "--ensemble", "2", "--device", "cpu", "--no-progress"]) == 0
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

TRAIN = ["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--iterations", "4", "--device", "cpu",
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
    assert cli.main(TRAIN + ["--out", str(out), "--iterations", "8", "--overwrite"]) == 130
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "interrupted" in err and "--resume" in err
    assert _files(out) == before  # the old run is untouched
    staging = runs.staging_folder(out)
    assert (staging / "model.pt").is_file()
    monkeypatch.setattr(NeuralODEModel, "_step", original)
    assert cli.main(TRAIN + ["--out", str(out), "--iterations", "8", "--resume"]) == 0
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
    assert cli.main(TRAIN + ["--out", str(out), "--model", "mean"]) == 2  # --iterations applies to neural ODEs only
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--no-progress", "--out", str(out),
                     "--model", "mean"]) == 0
    assert cli.main(["simulate", str(out), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "holds a 'mean' model" in capsys.readouterr().err


# -- files of received runs, other runs' files, links, locks ----------------------------------------

MEAN = ["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--model", "mean", "--no-progress"]


@pytest.fixture
def mean_run(tmp_path):
    out = tmp_path / "mean"
    assert cli.main(MEAN + ["--out", str(out)]) == 0
    return out


class _Payload:
    """Unpickling runs ``open(marker, "w")``: the file appears if the pickle is ever loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_model_pkl_of_a_received_run_never_runs(mean_run, tmp_path):
    import pickle

    from nodebio.errors import UntrustedFileError

    [model] = runs.read_run(mean_run).members()  # the account's own run reads back
    marker = tmp_path / "ran"
    (mean_run / "model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(UntrustedFileError, match="model.pkl is not a pickle signed by nodebio"):
        runs.read_run(mean_run).members()
    assert not marker.exists()


def test_output_flags_never_write_over_a_file_of_any_run(synthetic_run, mean_run, tmp_path, capsys):
    (mean_run / "mine.txt").write_text("mine")
    before = _files(mean_run)
    scale = ["simulate", str(synthetic_run), "--strain", "S4", "--scale", "HMGR=2"]
    for flag, name in (("--out", "model.pkl"), ("--trajectories", "run.json"), ("--out", "model.pt"),
                       ("--out", "mine.txt")):
        assert cli.main(scale + [flag, str(mean_run / name)]) == 2, name
        assert "would overwrite" in capsys.readouterr().err
    assert cli.main(["synthetic", "--strains", "2", "--out", str(mean_run / "model.pkl")]) == 2
    assert "would overwrite model.pkl, a file of the run" in capsys.readouterr().err
    assert _files(mean_run) == before
    # a new file, or the run's own interventions table again, is fine
    assert cli.main(scale + ["--out", str(mean_run / "scan.csv")]) == 0
    assert cli.main(scale) == 0 and cli.main(scale) == 0


def test_a_linked_file_in_a_run_folder_is_never_written_through(synthetic_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(synthetic_run, run)
    elsewhere = tmp_path / "elsewhere.csv"
    elsewhere.write_text("precious")
    (run / "interventions-S4.csv").unlink(missing_ok=True)
    (run / "interventions-S4.csv").symlink_to(elsewhere)
    assert cli.main(["simulate", str(run), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert elsewhere.read_text() == "precious"


def test_a_lock_of_a_reused_process_id_is_stale(tmp_path):
    from nodebio import safeio

    out = tmp_path / "run"
    lock_file = tmp_path / ".run.lock"
    lock_file.write_text(f"1 {int(safeio.process_identity(1).split()[1]) + 1} {safeio.process_identity().split()[2]}")
    with runs.lock(out):  # process 1 is alive but started at another time: not the holder
        assert lock_file.read_text() == safeio.process_identity()
    lock_file.write_text(safeio.process_identity())  # this very process: alive and the same
    with pytest.raises(runs.RunLockedError, match=f"process {__import__('os').getpid()}"):
        with runs.lock(out):
            pass


def test_an_interruption_before_the_first_checkpoint_leaves_nothing_to_resume(tmp_path, capsys):
    out = tmp_path / "run"
    staging = runs.staging_folder(out)
    staging.mkdir()  # what a SIGTERM before the first checkpoint leaves
    assert cli.main(TRAIN + ["--out", str(out)]) == 0
    assert (out / "run.json").is_file() and not staging.exists()


def test_overwrite_through_a_linked_run_folder(tmp_path, capsys):
    real, link = tmp_path / "real", tmp_path / "link"
    assert cli.main(MEAN + ["--out", str(real)]) == 0
    link.symlink_to(real, target_is_directory=True)
    for seed in ("1", "2"):
        assert cli.main(MEAN + ["--out", str(link), "--overwrite", "--seed", seed]) == 0, capsys.readouterr().err
        assert link.is_symlink() and json.loads((real / "run.json").read_text())["seed"] == int(seed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]


@pytest.mark.parametrize("field, value, message", [
    ("members", 3, "'members' should be a list of file names"),
    ("members", None, "'members' should be a list of file names"),
    ("members", "model.pkl", "'members' should be a list of file names"),
    ("members", ["../../etc/passwd"], "'members' should be a list of file names"),
    ("dataset", "synthetic", "'dataset' should be an object"),
    ("train_strains", "S1", "'train_strains' should be a list of strain names"),
    ("dataset.strains", 10_000_000, "'dataset.strains' should be a number of strains from 1 to 1000"),
    ("dataset.strains", "5", "'dataset.strains' should be a number"),
    ("dataset.noise", float("nan"), "'dataset.noise' should be a finite noise level"),
])
def test_a_run_record_of_wrong_types_is_a_clear_error(mean_run, capsys, field, value, message):
    record = json.loads((mean_run / "run.json").read_text())
    if "." in field:
        record["dataset"][field.split(".")[1]] = value
    else:
        record[field] = value
    (mean_run / "run.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointMismatchError, match=message):
        runs.read_run(mean_run)
    assert cli.main(["simulate", str(mean_run), "--strain", "S4", "--scale", "HMGR=2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and message.split(" should")[0] in err


def test_a_run_record_that_is_a_list_is_a_clear_error(mean_run, capsys):
    (mean_run / "run.json").write_text("[]")
    with pytest.raises(CheckpointMismatchError, match="not a nodebio run record"):
        runs.read_run(mean_run)


def test_an_incomplete_run_is_a_run_error(mean_run):
    from nodebio.errors import IncompleteRunError

    (mean_run / "model.pkl").unlink()
    with pytest.raises(IncompleteRunError, match="lacks model.pkl: it is incomplete"):
        runs.read_run(mean_run).members()


def test_a_failure_between_the_two_renames_keeps_the_old_run(tmp_path):
    from pathlib import Path

    from nodebio import runs as _runs

    out, staging = tmp_path / "run", tmp_path / ".run.partial"
    out.mkdir()
    (out / "run.json").write_text("old")
    staging.mkdir()
    (staging / "run.json").write_text("new")
    original = Path.rename

    def failing(self, target):
        if self == staging:
            raise OSError(28, "No space left on device", str(target))
        return original(self, target)

    Path.rename = failing
    try:
        with pytest.raises(OSError):
            _runs._move_into_place(staging, out)
    finally:
        Path.rename = original
    assert (out / "run.json").read_text() == "old" and (staging / "run.json").read_text() == "new"
    # a process that died between the two renames left the old run aside and no run in place:
    # the next replacement puts it back before anything else, and then replaces it
    (tmp_path / ".run.old").mkdir()
    (tmp_path / ".run.old" / "run.json").write_text("older")
    import shutil

    shutil.rmtree(out)
    _runs._move_into_place(staging, out)
    assert (out / "run.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
