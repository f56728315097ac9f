"""Fit plans: the fits an experiment needs, listed first, then run in parallel into the model store.

An experiment of the book is many independent fits (models x seeds x held-out strains). A
:class:`FitSpec` names one of them in plain values (the model, its configuration and options, the
dataset, the split, the seed); :func:`reproduce_plan` lists those of
:func:`nodebio.experiments.compare.reproduce` and of its leave-one-strain-out. :func:`execute`
drops the fits the model store already holds (:func:`nodebio.store.fit_key`) and runs the rest in
``jobs`` worker processes (joblib's loky backend, one torch thread each), each saving its fit into
the store, which is safe with several writers. The experiment then runs as usual and finds every
fit in the store: the tables are those of a serial run (tested), only sooner.

The same plan runs where the workers are: a :class:`FitSpec` is a few strings and numbers, so a
plan can be written out (:meth:`FitSpec.to_dict`) and its fits run by a scheduler of the user's
(each worker calls :func:`run_spec` with the shared store's folder).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from nodebio import data as _data
from nodebio.errors import UsageError

__all__ = ["ENV", "FitSpec", "default_jobs", "reproduce_plan", "pending", "run_spec", "execute"]

#: The environment variable with the number of worker processes (default 1).
ENV = "NODEBIO_JOBS"


@dataclass(frozen=True)
class FitSpec:
    """One fit: ``model`` (a name of :func:`nodebio.models.make_model`) with ``configuration``,
    ``seed``, ``quick``, ``device`` and ``options`` (pairs, sorted), on ``dataset`` (a pathway of
    the package) trained on ``train`` and scored on ``test``."""

    model: str
    configuration: str
    seed: int
    dataset: str
    train: tuple[str, ...]
    test: tuple[str, ...]
    quick: bool = False
    device: str = "cpu"
    options: tuple = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def make(self, data_dir=None):
        """(the unfitted model, the data it is fitted on), as the experiment makes them."""
        from nodebio.experiments.compare import _own_states
        from nodebio.models import make_model

        dataset = _data.load(self.dataset, data_dir=data_dir)
        prepared = _data.prepare(dataset, list(self.train), list(self.test))
        configuration = "careful" if self.configuration in ("-", "tuned") else self.configuration
        model = make_model(self.model, seed=self.seed, quick=self.quick, configuration=configuration,
                           device=self.device, **dict(self.options))
        return model, _own_states(model, prepared)


def default_jobs(jobs: int | None = None) -> int:
    """``jobs`` itself, else ``$NODEBIO_JOBS``, else 1; at least 1."""
    value = jobs if jobs is not None else os.environ.get(ENV) or 1
    try:
        value = int(value)
    except ValueError:
        raise UsageError(f"${ENV} must be a whole number of worker processes, got {value!r}.") from None
    if value < 1:
        raise UsageError(f"The number of worker processes (--jobs, ${ENV}) must be at least 1, got {value}.")
    return value


def reproduce_plan(pathways: Sequence[str], *, seeds: int, first_seed: int = 0, quick: bool = False,
                   loso: bool = True, loso_seeds: int | None = None, device: str = "cpu") -> list[FitSpec]:
    """The fits of :func:`nodebio.experiments.compare.reproduce` with the same arguments that can
    be listed before it runs: every model on the paper's split but the tuned baselines (whose
    options the inner folds choose during the run), and every leave-one-strain-out fit."""
    from nodebio.experiments.compare import LOSO_MODELS, _variants
    from nodebio.models.registry import REFERENCE_MODELS

    specs = []
    for pathway in pathways:
        spec = _data.PATHWAYS[pathway]
        for name, configuration, seed in _variants(range(first_seed, first_seed + seeds), pathway):
            if configuration != "tuned":
                specs.append(FitSpec(name, configuration, seed, pathway, tuple(spec.train), tuple(spec.test),
                                     quick, device))
        if loso:
            for held_out in spec.strains:
                train = tuple(s for s in spec.strains if s != held_out)
                for name, configuration in LOSO_MODELS:
                    count = 1 if name in REFERENCE_MODELS else (loso_seeds or min(seeds, 3))
                    for seed in range(first_seed, first_seed + count):
                        specs.append(FitSpec(name, configuration, seed, pathway, train, (held_out,), quick, device))
    return list(dict.fromkeys(specs))


def pending(specs: Iterable[FitSpec], store, data_dir=None) -> list[FitSpec]:
    """The specs whose fit ``store`` does not hold yet (one per key: duplicates dropped)."""
    from nodebio import store as _store

    chosen = _store.default_store(store)
    missing, seen = [], set()
    for spec in specs:
        model, prepared = spec.make(data_dir)
        key = _store.fit_key(model, prepared)
        digest = _store._digest(key)
        if digest in seen or chosen.load(key) is not None:
            continue
        seen.add(digest)
        missing.append(spec)
    return missing


def run_spec(spec: FitSpec | dict, store_folder: str | os.PathLike, data_dir=None) -> float:
    """Fit one spec into the store at ``store_folder`` (what a worker runs); the fit's seconds."""
    from nodebio import store as _store

    spec = spec if isinstance(spec, FitSpec) else FitSpec(**{**spec, "train": tuple(spec["train"]),
                                                             "test": tuple(spec["test"]),
                                                             "options": tuple(map(tuple, spec["options"]))})
    model, prepared = spec.make(data_dir)
    fitted = _store.fit(model, prepared, store=store_folder, device=spec.device, progress=False)
    return float(fitted.fit_seconds or 0.0)


def _worker(spec: FitSpec, store_folder: str, data_dir) -> float:
    import torch

    torch.set_num_threads(1)  # a worker process of its own: one thread, as the command runs
    return run_spec(spec, store_folder, data_dir)


def execute(specs: Sequence[FitSpec], *, store, jobs: int | None = None, data_dir=None,
            progress: bool = False) -> dict:
    """Run the fits of ``specs`` that ``store`` lacks in ``jobs`` worker processes (default
    :func:`default_jobs`); with one job, in this process. Returns ``{"planned", "pending", "jobs"}``."""
    from nodebio import store as _store

    chosen = _store.default_store(store)
    if chosen is None:
        raise UsageError("A fit plan runs into a model store: give store= (a folder) or set $NODEBIO_STORE.")
    chosen.check()
    jobs = default_jobs(jobs)
    todo = pending(specs, chosen, data_dir)
    folder = str(Path(chosen.folder).resolve())
    if jobs == 1 or len(todo) <= 1:
        from tqdm import tqdm

        for spec in tqdm(todo, desc="fits", disable=not progress):
            run_spec(spec, folder, data_dir)
    else:
        from joblib import Parallel, delayed

        Parallel(n_jobs=jobs, backend="loky", verbose=5 if progress else 0)(
            delayed(_worker)(spec, folder, data_dir) for spec in todo)
    return {"planned": len(specs), "pending": len(todo), "jobs": jobs}
