"""The run folder: written by :func:`train_run` (``nodebio train``), read by :func:`read_run`
(``nodebio simulate``, :meth:`nodebio.models.Ensemble.load`). This module alone knows its layout.

A run folder holds

- ``run.json``: what the run is: the model and its configuration, how to rebuild its dataset
  (``dataset``: a pathway table by name, the synthetic pathway by its data seed, or the copy
  ``data.csv``), the data's sha256, the split, the seeds, the member files, the package version;
- ``model.pt`` (a neural ODE checkpoint, resumable) and, for an ensemble, ``model-seed<S>.pt`` for
  each further member; ``model.pkl`` for the other models;
- ``data.csv``: for a dataset that cannot be rebuilt by name (one read with ``--csv`` or made with
  :func:`nodebio.data.from_frame`), a copy of its validated table, so that the run simulates its own
  strains with nothing else at hand;
- ``metrics.json`` (the scores of every split, :func:`nodebio.metrics.evaluate`),
  ``predictions.csv`` and ``trajectories.csv``.

A model checkpoint records the sha256 of its data; :func:`run_dataset` refuses data with another.

A scikit-learn ``model.pkl`` is a pickle signed with the account's key
(:func:`nodebio.safeio.dump_signed`): one made elsewhere is refused, never unpickled, since
unpickling runs code. ``run.json`` is checked field by field before it is used.

Nothing is lost: :func:`train_run` writes into a staging folder beside the output
(:func:`staging_folder`, ``.NAME.partial``) and renames it into place only when the run is complete,
so an interrupted or failed training leaves an existing run untouched and its checkpoint in the
staging folder for ``resume``. A folder that holds a run is replaced only with ``overwrite``; a lock
file (:func:`lock`) refuses a second writer; output paths are checked before any work
(:func:`check_output_folder`, :func:`check_output_file`). Other commands never write over a file
of any run folder: only new files, or their own ``interventions-*.csv`` and ``recommendations-*``,
never through a symbolic link, and every file whole (:mod:`nodebio.safeio`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import nodebio
from nodebio import data as _data
from nodebio import safeio
from nodebio.errors import (CheckpointMismatchError, DataValidationError, IncompleteRunError, MissingFileError,
                            OutputPathError, RunExistsError, RunLockedError)

__all__ = ["RUN_FORMAT", "RUN_FILE", "METRICS_FILE", "DATA_COPY", "Run", "dataset_source", "train_run", "read_run",
           "run_dataset", "save_members", "load_members", "staging_folder", "lock", "check_output_folder",
           "check_output_file", "is_run_folder", "RunLockedError"]

RUN_FORMAT = "nodebio-run-1"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.json"
DATA_COPY = "data.csv"


@dataclass
class Run:
    """A run folder as read by :func:`read_run`: ``record`` is ``run.json``, ``metrics`` is
    ``metrics.json`` (empty when missing)."""

    folder: Path
    record: dict
    metrics: dict = field(default_factory=dict)

    @property
    def model(self) -> str:
        return self.record["model"]

    def members(self, device: str = "cpu") -> list:
        """The fitted models of the run (the members of an ensemble, or the one model)."""
        files = [self.folder / name for name in self.record["members"]]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise IncompleteRunError(f"The run {self.folder} lacks {', '.join(missing)}: it is incomplete; "
                                     "train it again.")
        if any(f.suffix == ".pkl" for f in files):
            return [safeio.load_signed(f) for f in files]
        return load_members(files, device=device)

    def dataset(self, data_dir=None) -> _data.Dataset:
        """The run's dataset, rebuilt from ``run.json`` and checked against the data sha256."""
        return _rebuild(self.folder, self.record, data_dir)


def dataset_source(dataset: _data.Dataset, synthetic: dict | None = None) -> dict:
    """How a run will rebuild ``dataset``: ``{"kind": "pathway", ...}`` for a pathway table of the
    registry, ``{"kind": "synthetic", "strains", "seed", "noise"}`` when ``synthetic`` gives the
    generator's settings, else ``{"kind": "table", ...}`` (the run keeps a copy of the table)."""
    if synthetic is not None:
        return {"kind": "synthetic", **synthetic}
    spec = _data.PATHWAYS.get(dataset.name)
    if spec is not None and dataset.sha256 == _data.REGISTRY[spec.file].sha256:
        return {"kind": "pathway", "name": dataset.name, "states": list(dataset.states),
                "controls": list(dataset.controls)}
    return {"kind": "table", "file": DATA_COPY, "name": dataset.name, "states": list(dataset.states),
            "controls": list(dataset.controls), "product": dataset.product, "units": dict(dataset.units),
            "time_unit": dataset.input_time_unit}


def train_run(dataset: _data.Dataset, out: str | Path, *, model: str = "node", train: Sequence[str] | None = None,
              test: Sequence[str] | None = None, seed: int = 0, ensemble: int = 1, quick: bool = False,
              configuration: str = "careful", device: str = "auto", options: dict | None = None,
              resume: bool = False, overwrite: bool = False, progress: bool = True,
              synthetic: dict | None = None) -> tuple[Run, dict]:
    """Train ``model`` on ``dataset`` and write a run folder ``out``; returns the run and the scores.

    train, test : strain lists (default :func:`nodebio.data.default_split`). ensemble : number of
    neural ODEs (seeds by :func:`nodebio.seeds.member_seed`). options : the model's options
    (e.g. ``{"iterations": 100}``). synthetic : the generator settings of a synthetic dataset
    (``strains, seed, noise``). A folder ``out`` that already holds a run is replaced only with
    ``overwrite``; ``resume`` continues the neural ODE of an interrupted run (its staging folder)
    or of the run in ``out``. The run is written into :func:`staging_folder` and moved into place
    when complete.
    """
    from nodebio.models.registry import is_neural

    neural = is_neural(model)
    if ensemble < 1:
        raise DataValidationError(f"The ensemble size must be at least 1, got {ensemble}.")
    if (ensemble > 1 or resume) and not neural:
        raise DataValidationError(f"Ensembles and resuming apply to the neural ODEs only, not to {model!r}.")
    out = Path(out)
    if out.is_symlink():  # a link to a run folder: write the run where it points, and keep the link
        out = out.resolve()
    check_output_folder(out)
    train, test = _split(dataset, train, test)
    staging = staging_folder(out)
    with lock(out):
        _prepare_staging(out, staging, resume=resume, overwrite=overwrite)
        try:
            record, result = _fit_into(staging, dataset, model=model, train=train, test=test, seed=seed,
                                       ensemble=ensemble, quick=quick, configuration=configuration, device=device,
                                       options=options or {}, resume=resume, progress=progress,
                                       synthetic=synthetic)
        except BaseException:
            if not (staging / "model.pt").is_file():  # nothing to resume: leave no trace
                shutil.rmtree(staging, ignore_errors=True)
            raise
        _move_into_place(staging, out)
    return Run(out, record, result), {split: result[split] for split in ("train", "test")}


def staging_folder(out: str | Path) -> Path:
    """Where :func:`train_run` writes the run ``out`` until it is complete: ``.NAME.partial`` beside it."""
    out = Path(out)
    return out.parent / f".{out.name}.partial"


@contextmanager
def lock(out: str | Path) -> Iterator[Path]:
    """Hold the lock of the run folder ``out`` (``.NAME.lock`` beside it, holding the process id, its
    start time and the boot id: :func:`nodebio.safeio.process_identity`); :class:`RunLockedError`
    while another live process holds it. A lock left by a process that is gone is taken over, and
    so is one whose process id now belongs to another process (started at another time)."""
    out = Path(out)
    path = out.parent / f".{out.name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                text, age = path.read_text().strip(), time.time() - path.stat().st_mtime
            except OSError:
                continue  # released meanwhile: try again
            # an empty lock is being written by its holder, unless it is old
            starting = not text and age < 10
            if starting or safeio.holder_alive(text):
                holder = "starting" if starting else text.split()[0]
                raise RunLockedError(
                    f"another `nodebio train` is writing {out} (process {holder}, lock file {path}); wait for it "
                    "to finish, or give another --out.") from None
            path.unlink(missing_ok=True)  # its process is gone
    with os.fdopen(descriptor, "w") as handle:
        handle.write(safeio.process_identity())
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def check_output_folder(out: str | Path) -> None:
    """Raise :class:`~nodebio.errors.OutputPathError` unless a run folder can be written at ``out``: not a file, and
    its nearest existing folder writable."""
    out = Path(out)
    try:
        if out.exists() and not out.is_dir():
            raise OutputPathError(f"{out} is a file: the output of a run is a folder; give a folder path.")
        existing = next(p for p in [out, *out.parents] if p.exists())
        writable = os.access(existing, os.W_OK | os.X_OK)
    except PermissionError:  # a folder on the way cannot even be looked into
        existing, writable = out.parent, False
    if not writable:
        raise OutputPathError(f"cannot write {out}: {existing} is not writable. Give an output folder you can write.")


def is_run_folder(folder: str | Path) -> bool:
    """Whether ``folder`` holds a nodebio run (a ``run.json``) or is the staging folder of one."""
    folder = Path(folder)
    return (folder / RUN_FILE).is_file() or bool(re.fullmatch(r"\..+\.partial", folder.name))


#: Files that commands other than ``train`` write into run folders, and may write again.
DERIVED_FILES = re.compile(r"(interventions|recommendations)-.*\.(csv|png)")


def check_output_file(path: str | Path, runs: Sequence[str | Path] = ()) -> None:
    """Raise :class:`~nodebio.errors.OutputPathError` unless a file can be written at ``path``: not a
    folder, its folder writable, and not a file of a run: in a run folder (one of ``runs``, or any
    folder holding a ``run.json``) only a new file, or again one of the derived files
    ``interventions-*.csv`` and ``recommendations-*.csv/.png``, and never through a symbolic link."""
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder: give the path of a file.")
    parent = path.parent.resolve()
    run = next((Path(r) for r in runs if Path(r).is_dir() and Path(r).resolve() == parent), None)
    if run is None and is_run_folder(parent):
        run = path.parent
    if run is not None:
        if _is_run_file(path.name):
            raise OutputPathError(f"{path} would overwrite {path.name}, a file of the run {run}; "
                                  "write it somewhere else.")
        if path.is_symlink():
            raise OutputPathError(f"{path} is a symbolic link inside the run {run}: nodebio never writes through a "
                                  "link in a run folder; remove the link, or write somewhere else.")
        if path.exists() and not DERIVED_FILES.fullmatch(path.name):
            raise OutputPathError(f"{path} would overwrite {path.name} inside the run {run}, a file nodebio did not "
                                  "write there; write it somewhere else.")
    check_output_folder(path.parent)


def _is_run_file(name: str) -> bool:
    return (name in (RUN_FILE, METRICS_FILE, DATA_COPY, "predictions.csv", "trajectories.csv", "model.pkl")
            or (name.startswith("model") and name.endswith(".pt")))


def _prepare_staging(out: Path, staging: Path, *, resume: bool, overwrite: bool) -> None:
    """Check what ``out`` and ``staging`` hold, and make the staging folder to write into."""
    holds_files = out.is_dir() and any(out.iterdir())
    if holds_files and not (out / RUN_FILE).is_file():
        raise RunExistsError(
            f"{out} holds files but no run (no {RUN_FILE}): nodebio never replaces a folder it did not write; "
            "give an empty or new --out.")
    if holds_files and not (overwrite or resume):
        raise RunExistsError(
            f"{out} already holds a run; give --overwrite (overwrite=True) to replace it (the old run stays "
            "until the new one is complete), --resume to continue it, or another --out.")
    if staging.exists() and not resume and not (staging / "model.pt").is_file():
        shutil.rmtree(staging)  # an interrupted run without a checkpoint: nothing to resume (the lock is ours)
    if staging.exists() and not resume:
        if not overwrite:
            raise RunExistsError(
                f"{staging} holds an interrupted run of {out}: continue it with --resume, or start anew with "
                "--overwrite.")
        shutil.rmtree(staging)
    staging.mkdir(parents=True, exist_ok=True)
    if resume and not (staging / "model.pt").exists():
        if not (out / "model.pt").is_file():
            raise MissingFileError(f"Cannot resume: no checkpoint in {staging} or {out}.")
        shutil.copy2(out / "model.pt", staging / "model.pt")


def _move_into_place(staging: Path, out: Path) -> None:
    """Replace ``out`` by the complete run in ``staging``: the old run is renamed aside, the new one
    renamed into place, then the old one removed. If the second rename fails, the old run is put
    back; if a process died between the two, the next call puts it back before anything else."""
    old = out.parent / f".{out.name}.old"
    present = out.exists() or out.is_symlink()
    if (old.exists() or old.is_symlink()) and not present:
        old.rename(out)  # the only copy of the old run: back in place first
        present = True
    _remove(old)
    if present:
        out.rename(old)
    try:
        staging.rename(out)
    except BaseException:
        if present and not (out.exists() or out.is_symlink()):
            old.rename(out)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    """Remove a folder, or a symbolic link (never what it points to)."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def _fit_into(folder: Path, dataset: _data.Dataset, *, model: str, train: list[str], test: list[str], seed: int,
              ensemble: int, quick: bool, configuration: str, device: str, options: dict, resume: bool,
              progress: bool, synthetic: dict | None) -> tuple[dict, dict]:
    """Fit the model (and the ensemble's further members) and write every file of the run."""
    from nodebio import metrics
    from nodebio.models.registry import is_neural, make_model, prepare_for
    from nodebio.seeds import member_seed

    fitted = make_model(model, seed=seed, quick=quick, configuration=configuration, device=device, **options)
    prepared = prepare_for(fitted, dataset, train, test)
    if progress:
        print(f"training {model} on {dataset.name} strains {', '.join(train)}; held out: {', '.join(test)}",
              flush=True)
    if is_neural(model):
        fitted.fit(prepared, checkpoint=folder / "model.pt", resume=resume, progress=progress)
        members = ["model.pt"]
        for k in range(1, ensemble):
            member = make_model(model, seed=member_seed(seed, k), quick=quick, configuration=configuration,
                                device=device, **options)
            if progress:
                print(f"ensemble member {k + 1} of {ensemble} (seed {member.config.seed})", flush=True)
            member.fit(prepared, progress=progress)
            members += [p.name for p in save_members(folder, [member])]
    else:
        fitted.fit(prepared, progress=progress)
        safeio.dump_signed(fitted, folder / "model.pkl")
        members = ["model.pkl"]
    predictions, trajectories, scores = metrics.evaluate(fitted, prepared)
    with safeio.atomic_path(folder / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False)
    with safeio.atomic_path(folder / "trajectories.csv") as tmp:
        trajectories.to_csv(tmp, index=False)
    source = dataset_source(dataset, synthetic)
    configured = hasattr(getattr(fitted, "config", None), "configuration")  # models that have configurations
    record = {"format": RUN_FORMAT, "model": model, "configuration": configuration if configured else None,
              "dataset": source, "data_sha256": dataset.sha256, "train_strains": list(train),
              "test_strains": list(test), "seed": seed, "members": members,
              "nodebio_version": nodebio.__version__}
    if source["kind"] == "table":
        record["data_copy_sha256"] = _write_copy(folder / DATA_COPY, dataset)
    result = {key: record[key] for key in ("model", "configuration", "data_sha256", "nodebio_version",
                                           "train_strains", "test_strains", "seed")}
    result.update(dataset=dataset.name, fit_seconds=fitted.fit_seconds,
                  units={k: v for k, v in dataset.units.items() if k in dataset.states}, **scores)
    if is_neural(model):
        result.update(device=str(fitted.device), iterations_run=len(fitted.history), config=asdict(fitted.config),
                      ensemble_seeds=[member_seed(seed, k) for k in range(ensemble)])
    elif hasattr(fitted, "config"):
        result["config"] = asdict(fitted.config)
    safeio.write_text(folder / METRICS_FILE, json.dumps(result, indent=2, default=float))
    safeio.write_text(folder / RUN_FILE, json.dumps(record, indent=2))
    return record, result


def read_run(folder: str | Path) -> Run:
    """The run of a folder written by :func:`train_run`."""
    folder = Path(folder)
    path = folder / RUN_FILE
    if not path.is_file():
        what = "no run folder" if not folder.exists() else f"no {RUN_FILE}"
        raise MissingFileError(f"{folder}: {what}; write one with `nodebio train --out {folder}`.")
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointMismatchError(f"{path} is not a readable run record ({error}).") from None
    if not isinstance(record, dict) or record.get("format") != RUN_FORMAT:
        found = record.get("format") if isinstance(record, dict) else f"a JSON {type(record).__name__}"
        raise CheckpointMismatchError(f"{path} is not a nodebio run record (format {found!r}).")
    _check_record(path, record)
    metrics_path = folder / METRICS_FILE
    try:
        metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    except json.JSONDecodeError as error:
        raise CheckpointMismatchError(f"{metrics_path} is not readable JSON ({error}); train the run again.") from None
    return Run(folder, record, metrics if isinstance(metrics, dict) else {})


def _check_record(path: Path, record: dict) -> None:
    """Raise :class:`CheckpointMismatchError` naming the first field of ``run.json`` of a wrong type
    or value; cheap checks only, before any work."""
    from nodebio.synthetic import MAX_STRAINS

    def wrong(field: str, expected: str):
        value = record.get(field) if "." not in field else record.get("dataset", {}).get(field.split(".", 1)[1])
        return CheckpointMismatchError(f"{path}: the field {field!r} should be {expected}, not {value!r}; this run "
                                       "record was edited or damaged: train the run again.")

    def names(value) -> bool:
        return isinstance(value, list) and all(isinstance(v, str) and v for v in value)

    if not isinstance(record.get("model"), str):
        raise wrong("model", "a model name")
    members = record.get("members")
    if not names(members) or not members or any(Path(m).name != m or m.startswith(".") for m in members):
        raise wrong("members", "a list of file names in the run folder")
    for field in ("train_strains", "test_strains"):
        if not names(record.get(field)):
            raise wrong(field, "a list of strain names")
    if not isinstance(record.get("data_sha256"), (str, type(None))):
        raise wrong("data_sha256", "a sha256")
    source = record.get("dataset")
    if not isinstance(source, dict):
        raise wrong("dataset", "an object saying how to rebuild the data")
    kind = source.get("kind")
    if kind == "synthetic":
        strains, seed, noise = source.get("strains"), source.get("seed"), source.get("noise")
        if not isinstance(strains, int) or isinstance(strains, bool) or not 1 <= strains <= MAX_STRAINS:
            raise wrong("dataset.strains", f"a number of strains from 1 to {MAX_STRAINS}")
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise wrong("dataset.seed", "a seed (an integer of 0 or more)")
        if not isinstance(noise, (int, float)) or isinstance(noise, bool) or not (math.isfinite(noise) and noise >= 0):
            raise wrong("dataset.noise", "a finite noise level of 0 or more")
    elif kind in ("pathway", "table"):
        if not isinstance(source.get("name"), str):
            raise wrong("dataset.name", "a dataset name")
        for field in ("states", "controls"):
            if not names(source.get(field)):
                raise wrong(f"dataset.{field}", "a list of column names")
        if kind == "table" and (not isinstance(source.get("file"), str) or Path(source["file"]).name != source["file"]):
            raise wrong("dataset.file", "the file name of the run's copy of its data")


def run_dataset(paths: str | Path | Sequence[str | Path], ensemble, *, data_dir=None,
                dataset: _data.Dataset | None = None) -> _data.Dataset:
    """The dataset that the models in ``paths`` (run folders or checkpoints) were trained on.

    ``dataset``, when given, is used instead of what the first run folder records (a table given
    again with ``--csv``); without a run record, a pathway table is loaded by the models' dataset
    name. Raises :class:`~nodebio.errors.CheckpointMismatchError` when the data's sha256 is not the models'.
    """
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    folder = paths[0] if paths[0].is_dir() else paths[0].parent
    name = ensemble.dataset_name
    if dataset is not None and (folder / RUN_FILE).is_file():
        recorded = read_run(folder).record["dataset"].get("time_unit", "h")
        if dataset.input_time_unit != recorded:
            raise CheckpointMismatchError(
                f"The run {folder} read its table's times in {recorded!r}, the table given here in "
                f"{dataset.input_time_unit!r}: give --time-unit {recorded}.")
    if dataset is None:
        if (folder / RUN_FILE).is_file():
            dataset = read_run(folder).dataset(data_dir)
        elif name in _data.PATHWAYS:
            dataset = _data.load(name, states=list(ensemble.states), controls=list(ensemble.controls),
                                 data_dir=data_dir)
        else:
            raise DataValidationError(
                f"The models in {folder} were trained on {name!r} and the folder holds no {RUN_FILE} saying "
                "how to rebuild it; give its table with --csv FILE --states ... --controls ... as when training.")
    if ensemble.data_sha256 is not None and dataset.sha256 != ensemble.data_sha256:
        raise CheckpointMismatchError(
            f"The models in {folder} were trained on data with sha256 {str(ensemble.data_sha256)[:12]}, but "
            f"{dataset.name!r} here has sha256 {str(dataset.sha256)[:12]}: these are not the data of the run. "
            "Simulate with the data it was trained on, or train again.")
    return dataset


def save_members(folder: str | Path, members: Sequence) -> list[Path]:
    """Write each neural ODE of ``members`` as ``folder/model-seed<seed>.pt``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [m.save(folder / f"model-seed{m.config.seed}.pt") for m in members]


def load_members(paths: str | Path | Sequence[str | Path], *, device: str = "cpu") -> list:
    """The neural ODEs of checkpoint files, of the members a run folder's ``run.json`` lists, or of
    every ``model*.pt`` of a folder without one."""
    from nodebio.models.node import NeuralODEModel

    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir() and (p / RUN_FILE).is_file():
            record = read_run(p).record
            if not any(name.endswith(".pt") for name in record["members"]):
                raise DataValidationError(
                    f"{p} holds a {record['model']!r} model: simulating interventions needs neural ODEs (train one "
                    f"with `nodebio train --model node --out ...`).")
            files.extend(p / name for name in record["members"] if name.endswith(".pt"))
        elif p.is_dir():
            found = sorted(p.glob("model*.pt"))
            if not found:
                raise MissingFileError(
                    f"No model*.pt checkpoint in {p}: train one with "
                    f"`nodebio train --out {p}` (add --ensemble 5 for intervals)."
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        else:
            raise MissingFileError(f"No checkpoint or run folder at {p}.")
    return [NeuralODEModel.load(f, device=device) for f in files]


def _split(dataset: _data.Dataset, train, test) -> tuple[list[str], list[str]]:
    if train is not None and test is not None:
        return list(train), list(test)
    try:
        default_train, default_test = _data.default_split(dataset)
    except DataValidationError:
        raise DataValidationError(
            f"Give --train and --test (train= and test= in Python), strains of {', '.join(dataset.strains)}."
        ) from None
    return list(train or default_train), list(test or default_test)


def _write_copy(path: Path, dataset: _data.Dataset) -> str:
    """Write the dataset's validated table (measured values, empty where none) as a tidy CSV."""
    table = dataset.table[["strain", "time", *dataset.controls, *dataset.states]]
    with safeio.atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return _data.file_sha256(path)


def _rebuild(folder: Path, record: dict, data_dir=None) -> _data.Dataset:
    source = record["dataset"]
    kind = source.get("kind")
    if kind == "pathway":
        dataset = _data.load(source["name"], states=source["states"], controls=source["controls"],
                             data_dir=data_dir)
    elif kind == "synthetic":
        from nodebio import synthetic

        dataset = synthetic.make_dataset(n_strains=source["strains"], seed=source["seed"], noise=source["noise"])
    elif kind == "table":
        path = folder / source["file"]
        if not path.is_file():
            raise MissingFileError(f"The run {folder} lacks its copy of the data, {path.name}; train it again.")
        if _data.file_sha256(path) != record.get("data_copy_sha256"):
            raise CheckpointMismatchError(
                f"{path} was changed after the run was trained: these are not the data of the run. "
                "Train again on the changed table.")
        dataset = _data.load_csv(path, states=source["states"], controls=source["controls"], time_col="time",
                                 strain_col="strain", units=source.get("units"), name=source["name"],
                                 product=source.get("product"))
        dataset.sha256 = record["data_sha256"]  # the copy stands for the table the run was trained on
        dataset.input_time_unit = source.get("time_unit", "h")  # the copy is in hours; the table was not
    else:
        raise CheckpointMismatchError(f"{folder / RUN_FILE} names an unknown kind of dataset: {kind!r}.")
    if dataset.sha256 != record.get("data_sha256"):
        raise CheckpointMismatchError(
            f"The run {folder} was trained on data with sha256 {str(record.get('data_sha256'))[:12]}, but its "
            f"dataset rebuilt here has sha256 {str(dataset.sha256)[:12]}: these are not the data of the run. "
            "Train it again.")
    return dataset

