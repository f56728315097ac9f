"""The model store: every fitted model saved once, and reused wherever the same fit is asked for.

A fit is keyed by everything that determines it: the model's name and its whole configuration
(options, seed, quick sizes), the data (the dataset's sha256, or of its table where it has none),
the split (training and held-out strains) and the grid and scalings of the prepared data, and
the package version. :func:`fit` returns the stored model when that key is there, else fits,
saves and returns it; a changed key (another option, seed, split, data or version) is a new fit.

Where: a folder given as an argument or by ``NODEBIO_STORE`` (the book's build sets
``NODEBIO_STORE=_build/store``, so that every chapter and ``reproduce`` share the fits of one
build). Without either, nothing is stored: the library and the tests fit afresh unless asked.

Neural ODEs are stored as their checkpoints (:meth:`~nodebio.models.NeuralODEModel.save`), the
other models pickled, each next to a JSON file with its key. An entry that cannot be read, or
whose key differs from the one asked for, is never used: it is refitted, with a warning, and
replaced.

:func:`last_fit` says whether the last :func:`fit` came from the store, for a chapter to say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path

import nodebio
from nodebio import data as _data

__all__ = ["ENV", "ModelStore", "StoreWarning", "default_store", "fit", "fit_key", "last_fit"]

#: The environment variable naming the store's folder.
ENV = "NODEBIO_STORE"

_LAST: dict = {"from_store": False, "key": None, "path": None}


class StoreWarning(UserWarning):
    """A stored entry could not be used (unreadable or of another key) and was refitted."""


def _data_sha256(prepared: _data.PreparedData) -> str:
    if prepared.dataset.sha256:
        return prepared.dataset.sha256
    table = prepared.dataset.table.to_csv(index=False).encode()
    return hashlib.sha256(table).hexdigest()


def fit_key(model, prepared: _data.PreparedData) -> dict:
    """What determines the fit of an unfitted ``model`` on ``prepared`` (a JSON-able dict)."""
    config = getattr(model, "config", None)
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
    }


def _digest(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


class ModelStore:
    """Fitted models in a folder, one entry per key (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _paths(self, key: dict) -> tuple[Path, Path]:
        digest = _digest(key)[:20]
        stem = f"{key['dataset']}-{key['model']}-{digest}"
        suffix = ".pt" if key["class"] == "NeuralODEModel" else ".pkl"
        return self.folder / (stem + suffix), self.folder / (stem + ".json")

    def load(self, key: dict, device: str = "cpu"):
        """The stored model of ``key``, or None (absent; or unusable: then with a warning)."""
        path, meta_path = self._paths(key)
        if not path.exists() and not meta_path.exists():
            return None
        try:
            meta = json.loads(meta_path.read_text())
            if meta["key"] != json.loads(json.dumps(key, default=str)):
                raise ValueError("its key differs from the one asked for")
            if key["class"] == "NeuralODEModel":
                from nodebio.models.node import NeuralODEModel

                model = NeuralODEModel.load(path, device=device)
                if (model.data_sha256 != key["data_sha256"] or list(model.train_strains) != key["train"]
                        or list(model.states) != key["states"] or list(model.controls) != key["controls"]):
                    raise ValueError("the checkpoint was trained on other data")
            else:
                with path.open("rb") as handle:
                    model = pickle.load(handle)
                if type(model).__name__ != key["class"]:
                    raise ValueError(f"it holds a {type(model).__name__}")
            model.fit_seconds = meta.get("fit_seconds")
        except Exception as error:  # any unreadable or mismatching entry is refitted, never used
            warnings.warn(f"The stored model {path.name} cannot be used ({error}); fitting it again.",
                          StoreWarning, stacklevel=3)
            return None
        return model

    def save(self, key: dict, model) -> Path:
        """Write a fitted model under ``key`` (atomically: a reader never sees half a file)."""
        path, meta_path = self._paths(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        if key["class"] == "NeuralODEModel":
            model.save(tmp)
        else:
            with tmp.open("wb") as handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        meta = {"key": key, "fit_seconds": getattr(model, "fit_seconds", None), "saved": time.time()}
        tmp_meta = meta_path.with_name(meta_path.name + ".tmp")
        tmp_meta.write_text(json.dumps(meta, indent=1, default=str))
        tmp_meta.replace(meta_path)
        return path

    def fit(self, model, prepared: _data.PreparedData, *, device: str = "cpu", progress: bool = False):
        """The stored fit of ``model`` (unfitted) on ``prepared``, or ``model`` fitted and stored."""
        key = fit_key(model, prepared)
        stored = self.load(key, device=device)
        path = self._paths(key)[0]
        if stored is not None:
            _LAST.update(from_store=True, key=key, path=path)
            stored.from_store_ = True
            return stored
        started = time.perf_counter()
        model.fit(prepared, progress=progress)
        if getattr(model, "fit_seconds", None) is None:
            model.fit_seconds = time.perf_counter() - started
        self.save(key, model)
        model.from_store_ = False
        _LAST.update(from_store=False, key=key, path=path)
        return model

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
