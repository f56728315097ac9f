"""The TPOT baseline as published, run once in its own environment and kept as an artifact.

TPOT 0.12 needs a scikit-learn, numpy and xgboost older than the book's, so it never enters the
main environment: ``make tpot`` builds ``.venv-tpot`` from ``requirements-tpot.lock`` (nodebio
installed there without its dependencies: this module, :mod:`nodebio.data` and
:mod:`nodebio.models.baseline` import no torch) and runs :func:`generate`:

    python -m nodebio.experiments.tpot_artifact --pathways limonene,isopentenol --seeds 0,1,2 --max-time-mins 0.5

For each pathway and seed it fits the 2018 pipeline in its ``"published-features"``
configuration (:class:`nodebio.models.baseline.DerivativeRegressionModel`; their hand-picked
inputs per metabolite, **which include measured series of the held-out strain**, and their row
handling) with one TPOT search per metabolite at the settings of their code (generations 50,
population 30, TPOT's default 5-fold CV, one core), bounded in time by ``max_time_mins`` per
search, simulates the held-out strain on the 200-point grid, and writes

- ``data/artifacts/tpot-<pathway>.csv``: ``strain, time, variable, predicted, seed``;
- ``data/artifacts/tpot-provenance.json``: per pathway, the date, command, package versions of
  the TPOT environment, the data files' sha256, seeds, settings, the pipeline TPOT found per
  metabolite, solver status and wall time.

:func:`load` reads an artifact in the main environment and refuses one that is missing, edited,
or made from data whose sha256 is not the registry's; :func:`held_out_scores` scores it as
:func:`nodebio.metrics.evaluate` scores a model.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _datetime
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio import safeio
from nodebio.errors import UsageError, unknown_message

__all__ = ["ARTIFACT_DIR", "PROVENANCE_FILE", "SETTINGS", "PACKAGES", "ArtifactMissingError", "StaleArtifactError",
           "ArtifactFormatError",
           "artifact_path", "generate", "load", "load_provenance", "predictions_array", "held_out_scores",
           "ArtifactModel", "main"]

#: Where the committed artifacts live (``data/artifacts`` of the repository; not git-ignored).
#: ``$NODEBIO_ARTIFACT_DIR`` when set (an installed package has no repository beside it).
ARTIFACT_DIR = Path(os.environ.get("NODEBIO_ARTIFACT_DIR") or Path(__file__).resolve().parents[2] / "data" / "artifacts")
PROVENANCE_FILE = "tpot-provenance.json"

#: The TPOT search of their code (``KineticLearning/__init__.py``, ``dynamic_model.search``):
#: ``TPOTRegressor(generations=50, population_size=30, n_jobs=1)``, TPOT's default cv (5-fold,
#: unshuffled) and configuration; the time bounds are ours (see :func:`generate`).
SETTINGS = {
    "configuration": "published-features",
    "regressor": "tpot",
    "generations": 50,
    "population_size": 30,
    "cv": 5,
    "n_jobs": 1,
    "max_eval_time_mins": 0.2,
    "config_dict": "TPOT's default regressor configuration (XGBRegressor included: xgboost is installed)",
    "n_points": 200,
    "solver": "dop853-stepped",
    "max_evaluations": 50_000,
}

#: The packages whose versions the provenance records.
PACKAGES = ("tpot", "deap", "xgboost", "scikit-learn", "numpy", "scipy", "pandas", "joblib", "stopit",
            "update-checker", "nodebio")

_COLUMNS = ["strain", "time", "variable", "predicted", "seed"]


class ArtifactMissingError(FileNotFoundError):
    """The TPOT artifact (or its provenance) is not there."""


class StaleArtifactError(RuntimeError):
    """The artifact was made from other data, or was changed after it was made."""


class ArtifactFormatError(_data.DataValidationError):
    """The provenance file is not readable JSON or lacks a field, or the artifact holds predictions
    that are not finite numbers: the message names the file and the field."""


def artifact_path(pathway: str, artifact_dir: str | os.PathLike | None = None) -> Path:
    return Path(artifact_dir or ARTIFACT_DIR) / f"tpot-{pathway}.csv"


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _data_files(pathway: str) -> list[str]:
    """The registered files a run of ``pathway`` reads: its table and the raw metabolomics (ATP)."""
    from nodebio.models.published import _METABOLOMICS_FILE

    return [_data.PATHWAYS[pathway].file, _METABOLOMICS_FILE]


class _Logged:
    """Wraps a regressor to print one line when its fit ends (the progress of :func:`generate`);
    ``fit`` returns the fitted regressor itself."""

    def __init__(self, inner, label: str):
        self.inner, self.label = inner, label

    def fit(self, features, targets):
        started = time.perf_counter()
        self.inner.fit(features, targets)
        found = getattr(self.inner, "description", type(self.inner).__name__)
        print(f"  {self.label}: fitted in {time.perf_counter() - started:.0f} s "
              f"({getattr(self.inner, 'evaluated', '?')} pipelines evaluated): {found}", flush=True)
        return self.inner  # the model keeps the fitted regressor itself


def run_one(pathway: str, seed: int, max_time_mins: float, *, data_dir=None, regressor: str = "tpot",
            settings: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """Fit and simulate one pathway and seed: (rows of the artifact, the run's provenance).

    ``regressor="gb"`` runs the same path without TPOT (for tests of this module).
    """
    from nodebio.models.baseline import DerivativeRegressionModel, published_states

    settings = {**SETTINGS, **(settings or {})}
    dataset = _data.load(pathway, states=published_states(pathway), data_dir=data_dir)
    prepared = _data.prepare(dataset, n_points=settings["n_points"])
    model = DerivativeRegressionModel(
        regressor=regressor, configuration=settings["configuration"], seed=seed,
        tpot_generations=settings["generations"], tpot_population=settings["population_size"],
        tpot_cv=settings["cv"], tpot_max_time_mins=max_time_mins,
        tpot_max_eval_time_mins=settings["max_eval_time_mins"], solver=settings["solver"],
        max_evaluations=settings["max_evaluations"], n_estimators=settings.get("n_estimators", 100))
    make = model._make_regressor
    model._make_regressor = lambda j: _Logged(make(j), f"{pathway} seed {seed} {dataset.states[j]}")
    started = time.perf_counter()
    model.fit(prepared)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.simulate(prepared.test)
    simulate_seconds = time.perf_counter() - started
    print(f"  {pathway} seed {seed}: simulated {', '.join(prepared.test.strains)} in {simulate_seconds:.0f} s "
          f"({'; '.join(model.status_)})", flush=True)
    rows = []
    for i, strain in enumerate(prepared.test.strains):
        for j, state in enumerate(prepared.test.states):
            rows.append(pd.DataFrame({"strain": strain, "time": prepared.test.times, "variable": state,
                                      "predicted": predicted[i, :, j], "seed": seed}))
    pipelines = {}
    for state, fitted in zip(dataset.states, model.regressors_):
        inner = getattr(fitted, "inner", fitted)
        pipelines[state] = {"pipeline": getattr(inner, "description", repr(inner)),
                            "cv_score": getattr(inner, "cv_score", None),
                            "pipelines_evaluated": getattr(inner, "evaluated", None)}
    info = {
        "seed": seed, "train": list(prepared.train.strains), "held_out": list(prepared.test.strains),
        "states": list(dataset.states), "covariates": list(model.covariates),
        "feature_lists": {s: list(f) for s, f in model.feature_lists_.items()},
        "pipelines": pipelines, "status": list(model.status_), "evaluations": [int(e) for e in model.evaluations_],
        "fit_seconds": round(fit_seconds, 1), "simulate_seconds": round(simulate_seconds, 1),
    }
    return pd.concat(rows, ignore_index=True), info


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on the provenance file while it is read, merged and written."""
    import fcntl

    with open(folder / (PROVENANCE_FILE + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def generate(pathways: Sequence[str], seeds: Sequence[int], max_time_mins: float,
             out: str | os.PathLike | None = None, *, data_dir=None, regressor: str = "tpot",
             settings: dict | None = None, command: str | None = None) -> dict:
    """Run the TPOT baseline for ``pathways`` x ``seeds`` and write the artifact into ``out``.

    ``max_time_mins`` bounds each TPOT search (one metabolite, one seed; TPOT's own
    ``max_time_mins``, on one core), ``SETTINGS["max_eval_time_mins"]`` each pipeline. The other
    pathways' entries of an existing provenance file are kept. Returns the provenance.
    """
    unknown = [p for p in pathways if p not in _data.PATHWAYS]
    if unknown:
        raise _data.DataValidationError(unknown_message("pathway", unknown, list(_data.PATHWAYS)))
    folder = Path(out or ARTIFACT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    settings = {**SETTINGS, **(settings or {}), "regressor": regressor, "max_time_mins": max_time_mins}
    command = command or " ".join([Path(sys.executable).name, "-m", "nodebio.experiments.tpot_artifact", *sys.argv[1:]])
    entries = {}
    for pathway in pathways:
        started = time.perf_counter()
        frames, runs = [], []
        for seed in seeds:
            print(f"{pathway} seed {seed}: one search per metabolite, at most {max_time_mins:g} min each", flush=True)
            frame, info = run_one(pathway, int(seed), max_time_mins, data_dir=data_dir, regressor=regressor,
                                  settings=settings)
            frames.append(frame)
            runs.append(info)
        table = pd.concat(frames, ignore_index=True)[_COLUMNS]
        target = artifact_path(pathway, folder)
        with safeio.atomic_path(target) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
        data_sha = {name: _data.file_sha256(_data.fetch(name, data_dir=data_dir)) for name in _data_files(pathway)}
        entries[pathway] = {
            "created": _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": _versions(),
            "data_sha256": data_sha,
            "file": target.name,
            "file_sha256": _sha256(target),
            "seeds": [int(s) for s in seeds],
            "settings": settings,
            "time_bound": (f"TPOT max_time_mins={max_time_mins:g} per metabolite search and "
                           f"max_eval_time_mins={settings['max_eval_time_mins']:g} per pipeline, n_jobs=1; the "
                           "published searches ran to completion (50 generations) without a bound"),
            "runs": runs,
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
        print(f"{pathway}: wrote {target} ({target.stat().st_size} bytes) in {entries[pathway]['wall_seconds']:.0f} s",
              flush=True)
    with _locked(folder):
        path = folder / PROVENANCE_FILE
        provenance = json.loads(path.read_text()) if path.exists() else {}
        provenance.setdefault("artifact", "Held-out predictions of the 2018 pipeline (TPOT, published-features)")
        provenance.setdefault("pathways", {}).update(entries)
        provenance["pathways"] = dict(sorted(provenance["pathways"].items()))
        safeio.write_text(path, json.dumps(provenance, indent=1, default=_json_default) + "\n")
    return provenance


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


def load_provenance(artifact_dir: str | os.PathLike | None = None) -> dict:
    path = Path(artifact_dir or ARTIFACT_DIR) / PROVENANCE_FILE
    if not path.exists():
        raise ArtifactMissingError(f"No TPOT artifact in {path.parent} ({PROVENANCE_FILE} is missing): run "
                                   "`make tpot`, which builds the TPOT environment and generates it.")
    try:
        provenance = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactFormatError(f"{path} is not readable JSON ({error}): restore it from the repository "
                                  "(git checkout), or regenerate the artifact with `make tpot`.") from None
    entries = provenance.get("pathways") if isinstance(provenance, dict) else None
    if not isinstance(entries, dict):
        raise ArtifactFormatError(f"{path} has no 'pathways' object: restore it from the repository, or regenerate "
                                  "the artifact with `make tpot`.")
    for pathway, entry in entries.items():
        problem = (None if isinstance(entry, dict) else "is not an object")
        if problem is None and not isinstance(entry.get("file_sha256"), str):
            problem = "has no 'file_sha256' (the sha256 of its CSV)"
        if problem is None and not isinstance(entry.get("data_sha256", {}), dict):
            problem = "has a 'data_sha256' that is not an object of file names and sha256"
        if problem is not None:
            raise ArtifactFormatError(f"{path}: the entry of {pathway!r} {problem}: restore the file from the "
                                      "repository, or regenerate the artifact with `make tpot`.")
    return provenance


def load(pathway: str, artifact_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """The held-out predictions of the TPOT baseline for ``pathway``, checked.

    Columns ``strain, time, variable, predicted, seed``; ``.attrs["provenance"]`` holds the
    pathway's provenance. Raises :class:`ArtifactMissingError` when the artifact is not there and
    :class:`StaleArtifactError` when its CSV differs from what was generated or its data files'
    sha256 are not those of :data:`nodebio.data.REGISTRY` (regenerate with ``make tpot``).
    """
    provenance = load_provenance(artifact_dir)
    entries = provenance.get("pathways", {})
    if pathway not in entries:
        raise ArtifactMissingError(
            f"The TPOT artifact has no {pathway!r} run (it has: {', '.join(entries) or 'none'}): run `make tpot` or "
            f"python -m nodebio.experiments.tpot_artifact --pathways {pathway} in .venv-tpot.")
    entry = entries[pathway]
    path = artifact_path(pathway, artifact_dir)
    if not path.exists():
        raise ArtifactMissingError(f"{path} is missing though {PROVENANCE_FILE} lists it: regenerate with `make tpot`.")
    if _sha256(path) != entry["file_sha256"]:
        raise StaleArtifactError(f"{path} was changed after it was generated (its sha256 is not the one in "
                                 f"{PROVENANCE_FILE}): regenerate with `make tpot`.")
    expected = set(_data_files(pathway))
    recorded = entry.get("data_sha256", {})
    if set(recorded) != expected:
        raise StaleArtifactError(f"The TPOT artifact of {pathway!r} records data files {sorted(recorded)}, expected "
                                 f"{sorted(expected)}: regenerate with `make tpot`.")
    for name, sha in recorded.items():
        registered = _data.REGISTRY[name].sha256
        if sha != registered:
            raise StaleArtifactError(
                f"The TPOT artifact of {pathway!r} was made from {name} with sha256 {sha[:12]}..., but the data "
                f"registry has {registered[:12]}...: it is stale. Regenerate it with `make tpot`.")
    frame = pd.read_csv(path, dtype={"strain": str, "variable": str})
    if list(frame.columns) != _COLUMNS:
        raise StaleArtifactError(f"{path} has columns {list(frame.columns)}, expected {_COLUMNS}.")
    predicted = pd.to_numeric(frame["predicted"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(predicted)
    if bad.any():
        first = frame.index[bad][0]
        raise ArtifactFormatError(
            f"{path}: {int(bad.sum())} of {len(frame)} predictions are not finite numbers (the first: row {first + 2}, "
            f"{frame.loc[first, 'variable']!r} of {frame.loc[first, 'strain']!r} at {frame.loc[first, 'time']} h: "
            f"{frame.loc[first, 'predicted']}): regenerate the artifact with `make tpot`.")
    frame.attrs["provenance"] = entry
    return frame


def predictions_array(frame: pd.DataFrame, seed: int, strains: Sequence[str], states: Sequence[str],
                      times: np.ndarray) -> np.ndarray:
    """(S, T, n_states) predictions of one seed, on ``times`` (which must be the artifact's grid)."""
    part = frame[frame["seed"] == seed]
    out = np.full((len(strains), len(times), len(states)), np.nan)
    for i, strain in enumerate(strains):
        for j, state in enumerate(states):
            rows = part[(part["strain"] == strain) & (part["variable"] == state)].sort_values("time")
            if rows.empty:
                raise _data.DataValidationError(f"The artifact has no predictions of {state!r} for {strain!r}, seed {seed}.")
            if len(rows) != len(times) or not np.allclose(rows["time"].to_numpy(), times, rtol=1e-5, atol=1e-4):
                raise _data.DataValidationError("The artifact's time grid is not the grid asked for.")
            out[i, :, j] = rows["predicted"].to_numpy(dtype=float)
    return out


def held_out_scores(pathway: str, artifact_dir=None, *, data_dir=None,
                    states: Sequence[str] | None = None) -> pd.DataFrame:
    """Scores of the artifact on the held-out strain, per seed and state, as
    :func:`nodebio.metrics.evaluate` computes them: ``rmse_integral`` against the preprocessed data
    on the grid, ``rmse_scaled`` (RMSE at the measured points over the training spread).
    ``states`` default to nodebio's states of the pathway (:data:`nodebio.data.PATHWAYS`)."""
    from nodebio import metrics

    frame = load(pathway, artifact_dir)
    dataset = _data.load(pathway, states=states, data_dir=data_dir)
    prepared = _data.prepare(dataset, n_points=len(frame["time"].unique()))
    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
    rows = []
    for seed in sorted(frame["seed"].unique()):
        test = prepared.test
        predicted = predictions_array(frame, int(seed), test.strains, test.states, test.times)
        integral = metrics.rmse_integral(test.times, predicted, test.x, test.states)
        table = metrics.predictions_table(test.strains, test.times, predicted, test.states, test.measured)
        scaled = metrics.normalized(metrics.rmse_at_measurements(table, test.states), spread)
        for state in test.states:
            rows.append({"pathway": pathway, "held_out": ",".join(test.strains), "seed": int(seed), "state": state,
                         "rmse_integral": integral[state], "rmse_scaled": scaled[state]})
    return pd.DataFrame(rows)


class ArtifactModel:
    """The predictions of one seed of the artifact as a model with the ``fit``/``simulate`` signature,
    so that :func:`nodebio.metrics.evaluate` scores it like any model. It predicts the strains the
    artifact holds (the held-out strain) and nothing else: no other strain, controls or initial
    state can be simulated by a table of numbers."""

    name = "tpot"

    def __init__(self, frame: pd.DataFrame, seed: int):
        self.frame, self.seed = frame, int(seed)
        self.fit_seconds = float("nan")
        self.config = None

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False) -> "ArtifactModel":
        self.states, self.controls = tuple(prepared.train.states), tuple(prepared.train.controls)
        self.train_strains, self.test_strains = tuple(prepared.train.strains), tuple(prepared.test.strains)
        self.dataset_name = prepared.dataset.name
        return self

    def simulate(self, trajectories: _data.Trajectories, *, controls=None, x0=None) -> np.ndarray:
        if controls is not None or x0 is not None:
            raise UsageError("The TPOT artifact holds predictions of the measured strains only: it cannot simulate "
                             "other controls or initial states.")
        self.status_ = ["ok"] * len(trajectories.strains)
        return predictions_array(self.frame, self.seed, trajectories.strains, trajectories.states,
                                 np.asarray(trajectories.times))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodebio.experiments.tpot_artifact", description=__doc__.split("\n")[0])
    parser.add_argument("--pathways", default="limonene,isopentenol")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-time-mins", type=float, default=0.5,
                        help="TPOT's bound per metabolite search (minutes); default 0.5, as the committed artifact")
    parser.add_argument("--out", default=None, help=f"artifact folder (default {ARTIFACT_DIR})")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    generate([p.strip() for p in args.pathways.split(",") if p.strip()],
             [int(s) for s in args.seeds.split(",") if s.strip()], args.max_time_mins, args.out)
    print(f"done in {time.perf_counter() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
