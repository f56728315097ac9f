"""The model store: every fitted model saved once, and reused wherever the same fit is asked for.

A fit is keyed by everything that determines it: the model's name and its whole configuration
(options, seed, quick sizes), the data (the dataset's sha256, or of its table where it has none),
the split (training and held-out strains) and the grid and scalings of the prepared data, the
package version, the sha256 of the package's source (:func:`source_sha256`: every ``.py`` file
under ``nodebio/`` except ``cli.py`` and ``plots.py``, which fitting never runs) and the versions
of torch, numpy, scipy and scikit-learn. A stale fit is retired by construction: any change of
the code that fits, or of the libraries it runs on, is another key. :func:`fit` returns the
stored model when that key is there, else fits, saves and returns it.

Where: a folder given as an argument or by ``NODEBIO_STORE`` (the book's build sets
``NODEBIO_STORE=_build/store``, so that every chapter and ``reproduce`` share the fits of one
build). Without either, nothing is stored: the library and the tests fit afresh unless asked.

Neural ODEs are stored as their checkpoints (:meth:`~nodebio.models.NeuralODEModel.save`, read
back with ``weights_only``), the other models as pickles signed with the account's key
(:func:`nodebio.safeio.dump_signed`: an entry made elsewhere is never unpickled), each next to a
JSON file with its key. An entry that cannot be read, that is not signed by this account, or
whose key differs from the one asked for, is never used: it is refitted, with a warning, and
replaced. Entry names are made of the dataset's and model's names reduced to letters, digits,
``.``, ``_`` and ``-``, so that no name writes outside the store.

Several processes may share a store: entries are written to unique temporary names and renamed
into place (the key file first, the model last, so a reader finds a model only with its key), and
one process fits a key at a time (an ``fcntl`` lock per key, released by the system when its
holder dies): a second process asking for the same fit waits, then reads it. A store that cannot
be written (read-only, full) never loses the fit just made: a warning names the folder and
``NODEBIO_STORE``, and the fitted model is returned.

:func:`last_fit` says whether the last :func:`fit` came from the store, for a chapter to say so.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
import re
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from importlib import metadata
from pathlib import Path

import nodebio
from nodebio import data as _data
from nodebio import safeio
from nodebio.errors import NodebioError, StoreError

__all__ = ["ENV", "ModelStore", "StoreWarning", "default_store", "fit", "fit_key", "last_fit", "source_sha256",
           "library_versions"]

#: The environment variable naming the store's folder.
ENV = "NODEBIO_STORE"

_LAST: dict = {"from_store": False, "key": None, "path": None}


class _Unusable(Exception):
    """An entry that exists but is not the fit asked for (raised and caught inside :meth:`ModelStore.load`)."""


#: What reading an entry raises when the entry cannot be used (refitted, with a warning): a key or
#: file that does not match, an unreadable or truncated file (OSError, JSON and pickle errors), a
#: checkpoint that is not one or an unsigned pickle (the package's errors), a pickle of classes that
#: no longer exist. Anything else is a bug and propagates.
_UNUSABLE = (_Unusable, NodebioError, OSError, ValueError, KeyError, EOFError, pickle.UnpicklingError,
             AttributeError, ImportError)


class StoreWarning(UserWarning):
    """A stored entry could not be used (unreadable or of another key) and was refitted, or a fit
    could not be saved."""


#: Modules that fitting never runs: left out of :func:`source_sha256`.
UNHASHED = ("cli.py", "plots.py")
#: The libraries whose versions are part of the key.
LIBRARIES = ("torch", "numpy", "scipy", "scikit-learn")


def source_sha256(root: str | os.PathLike | None = None) -> str:
    """sha256 of the package's source that fitting depends on: every ``.py`` file under
    ``nodebio/`` (or under ``root``) except ``UNHASHED``, by relative path and content
    (computed once per process for the package itself)."""
    if root is None:
        return _package_sha256()
    return _tree_sha256(Path(root))


@functools.lru_cache(maxsize=None)
def _package_sha256() -> str:
    return _tree_sha256(Path(nodebio.__file__).resolve().parent)


def _tree_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative in UNHASHED or "__pycache__" in path.parts:
            continue
        digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def library_versions() -> dict:
    """The installed versions of ``LIBRARIES`` (None where one is not installed)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _data_sha256(prepared: _data.PreparedData) -> str:
    if prepared.dataset.sha256:
        return prepared.dataset.sha256
    table = prepared.dataset.table.to_csv(index=False).encode()
    return hashlib.sha256(table).hexdigest()


def fit_key(model, prepared: _data.PreparedData) -> dict:
    """What determines the fit of an unfitted ``model`` on ``prepared`` (a JSON-able dict)."""
    config = getattr(model, "config", None)
    if hasattr(model, "get_params"):  # the options that apply to the model, as it lists them
        options = dict(model.get_params())
    else:
        options = asdict(config) if is_dataclass(config) else {}
    reactions = getattr(model, "reactions", None)
    if reactions is not None:
        options["reactions"] = [r.to_dict() for r in reactions]
    return {
        "model": getattr(model, "name", type(model).__name__),
        "class": type(model).__name__,
        "options": options,
        "data_sha256": _data_sha256(prepared),
        "dataset": prepared.dataset.name,
        "states": list(prepared.train.states),
        "controls": list(prepared.train.controls),
        "product": prepared.dataset.product,
        "time_unit": getattr(prepared.dataset, "input_time_unit", "h"),
        "train": list(prepared.train.strains),
        "test": list(prepared.test.strains),
        "grid": [float(prepared.train.times[0]), float(prepared.train.times[-1]), len(prepared.train.times)],
        "scaling": [prepared.state_scaler.method, prepared.control_scaler.method],
        "nodebio_version": nodebio.__version__,
        "source_sha256": source_sha256(),
        "libraries": library_versions(),
    }


def _safe_name(text) -> str:
    """``text`` reduced to letters, digits, ``.``, ``_`` and ``-`` (never a path), at most 60 characters."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).lstrip(".")[:60]
    return cleaned or "_"


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class ModelStore:
    """Fitted models in a folder, one entry per key (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _paths(self, key: dict) -> tuple[Path, Path]:
        digest = _digest(key)[:20]
        stem = f"{_safe_name(key['dataset'])}-{_safe_name(key['model'])}-{digest}"
        suffix = ".pt" if key["class"] == "NeuralODEModel" else ".pkl"
        return self.folder / (stem + suffix), self.folder / (stem + ".json")

    def check(self) -> None:
        """Raise :class:`~nodebio.errors.StoreError` when the store's folder is a file (before any fit)."""
        self._check_folder()

    def _check_folder(self) -> None:
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"The model store {self.folder} (${ENV}) is a file, not a folder: point ${ENV} at a "
                             "folder, or unset it to fit without a store.")

    def load(self, key: dict, device: str = "cpu"):
        """The stored model of ``key``, or None (absent; or unusable: then with a warning)."""
        path, meta_path = self._paths(key)
        if not path.exists():  # the model is written last: without it, there is no entry yet
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta["key"] != json.loads(json.dumps(key, default=str)):
                raise _Unusable("its key differs from the one asked for")
            if key["class"] == "NeuralODEModel":
                from nodebio.models.node import NeuralODEModel

                model = NeuralODEModel.load(path, device=device)
                if (model.data_sha256 != key["data_sha256"] or list(model.train_strains) != key["train"]
                        or list(model.states) != key["states"] or list(model.controls) != key["controls"]):
                    raise _Unusable("the checkpoint was trained on other data")
            else:
                model = safeio.load_signed(path)
                if type(model).__name__ != key["class"]:
                    raise _Unusable(f"it holds a {type(model).__name__}")
            model.fit_seconds = meta.get("fit_seconds")
        except _UNUSABLE as error:  # an unreadable, unsigned or mismatching entry is refitted, never used
            warnings.warn(f"The stored model {path.name} cannot be used ({error}); fitting it again.",
                          StoreWarning, stacklevel=3)
            return None
        return model

    def save(self, key: dict, model) -> Path:
        """Write a fitted model under ``key``: each file whole under a unique temporary name, the key
        first and the model last, so that a reader never sees half an entry."""
        self._check_folder()
        path, meta_path = self._paths(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"key": key, "fit_seconds": getattr(model, "fit_seconds", None), "saved": time.time()}
        safeio.write_text(meta_path, json.dumps(meta, indent=1, default=str))
        with safeio.atomic_path(path) as tmp:
            if key["class"] == "NeuralODEModel":
                model.save(tmp)
            else:
                safeio.dump_signed(model, tmp)
        return path

    @contextmanager
    def _lock(self, key: dict):
        """Hold the lock of ``key``'s entry (an ``fcntl`` lock: released by the system if this process dies);
        without a writable store, no lock (nothing will be saved either)."""
        lock_path = self._paths(key)[0].with_suffix(".lock")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(lock_path, os.O_CREAT | os.O_RDWR | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError:
            yield
            return
        try:
            import fcntl

            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)

    def fit(self, model, prepared: _data.PreparedData, *, device: str = "cpu", progress: bool = False):
        """The stored fit of ``model`` (unfitted) on ``prepared``, or ``model`` fitted and stored."""
        self._check_folder()
        key = fit_key(model, prepared)
        path = self._paths(key)[0]
        stored = self.load(key, device=device)
        if stored is None:
            with self._lock(key):
                stored = self.load(key, device=device)  # another process may have fitted it meanwhile
                if stored is None:
                    started = time.perf_counter()
                    model.fit(prepared, progress=progress)
                    if getattr(model, "fit_seconds", None) is None:
                        model.fit_seconds = time.perf_counter() - started
                    try:
                        self.save(key, model)
                    except OSError as error:
                        warnings.warn(
                            f"The model store {self.folder} (${ENV}) cannot be written ({error}); the fit is used "
                            f"but not stored. Point ${ENV} at a writable folder, or unset it.", StoreWarning,
                            stacklevel=3)
                    model.from_store_ = False
                    _LAST.update(from_store=False, key=key, path=path)
                    return model
        _LAST.update(from_store=True, key=key, path=path)
        stored.from_store_ = True
        return stored

    def __repr__(self) -> str:
        return f"ModelStore({str(self.folder)!r})"


def default_store(store: "ModelStore | str | os.PathLike | None" = None) -> ModelStore | None:
    """The store to use: ``store`` itself (a folder or a :class:`ModelStore`), else the folder
    named by ``NODEBIO_STORE``, else None (no store)."""
    if isinstance(store, ModelStore):
        return store
    folder = store if store is not None else os.environ.get(ENV) or None
    return ModelStore(folder) if folder else None


def fit(model, prepared: _data.PreparedData, *, store=None, device: str = "cpu", progress: bool = False):
    """Fit ``model`` on ``prepared`` through the store (:func:`default_store` of ``store``), or
    plainly when there is none. Returns the fitted model; see :func:`last_fit`."""
    chosen = default_store(store)
    if chosen is None:
        model.fit(prepared, progress=progress)
        _LAST.update(from_store=False, key=None, path=None)
        return model
    return chosen.fit(model, prepared, device=device, progress=progress)


def last_fit() -> dict:
    """Where the last :func:`fit` came from: ``{"from_store": bool, "key": dict or None, "path":
    the entry's file or None}``; a chapter prints "(from the model store)" when ``from_store``."""
    return dict(_LAST)
