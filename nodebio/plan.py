"""Fit plans: the fits an experiment needs, listed first, then run in parallel into the model store.

An experiment of the book is many independent fits (models x seeds x held-out strains). A
:class:`FitSpec` names one of them in plain values (the model, its configuration and options, the
dataset, the split, the seed); :func:`reproduce_plan` lists those of
:func:`nodebio.experiments.compare.reproduce` and of its leave-one-strain-out. :func:`execute`
drops the fits the model store already holds (:func:`nodebio.store.fit_key`) and runs the rest in
``jobs`` worker processes (joblib's loky backend, one torch thread each), each saving its fit into
the store, which is safe with several writers. The experiment then runs as usual and finds every
fit in the store: the tables are those of a serial run (tested), only sooner.

The same plan runs where the workers are. With ``scheduler`` (``nodebio reproduce --scheduler``),
:func:`execute` sends the fits to a Dask cluster (the optional extra ``pip install
'nodebio[cluster]'``): a running ``distributed`` scheduler given by its address
(``tcp://HOST:8786``), a ``distributed.Client``, or a *cluster file*, a small YAML file naming a
cluster class and its options, for example a Slurm cluster of ``dask-jobqueue``::

    cluster: dask_jobqueue.SLURMCluster  # module.Class
    options:                             # its arguments
      cores: 1
      processes: 1
      memory: 4GB
      walltime: "01:00:00"
      job_script_prologue:
        - source ~/nodebio/.venv/bin/activate
        - export OMP_NUM_THREADS=1
    workers: 16                          # cluster.scale(16)

Every worker needs the same nodebio and the same library versions (the store key includes them),
the data (``$NODEBIO_DATA_DIR`` or its cache) and the model store's folder, on a file system they
share, with the account's signing key (:mod:`nodebio.safeio`). A :class:`FitSpec` is a few strings
and numbers (:meth:`FitSpec.to_dict`), so a plan can also be written out and run by any scheduler:
each worker calls :func:`run_spec` with the shared store's folder.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from nodebio import data as _data
from nodebio.errors import UsageError

__all__ = ["ENV", "SCHEDULER_ENV", "FitSpec", "default_jobs", "default_scheduler", "read_cluster_file",
           "dask_client", "reproduce_plan", "pending", "run_spec", "execute"]

#: The environment variable with the number of worker processes (default 1).
ENV = "NODEBIO_JOBS"
#: The environment variable naming a Dask scheduler: an address or a cluster file (default: none).
SCHEDULER_ENV = "NODEBIO_SCHEDULER"
#: The keys of a cluster file (:func:`read_cluster_file`).
CLUSTER_KEYS = ("cluster", "options", "workers")
_INSTALL = "pip install -e '.[cluster]'"
#: How long to wait for a scheduler given by its address to answer.
CONNECT_TIMEOUT = "30s"


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


def default_scheduler(scheduler=None):
    """``scheduler`` itself, else ``$NODEBIO_SCHEDULER``, else None (no cluster)."""
    if scheduler is not None:
        return scheduler
    return os.environ.get(SCHEDULER_ENV) or None


def read_cluster_file(path: str | os.PathLike) -> dict:
    """The cluster file at ``path`` (see the module's documentation), checked: ``cluster`` (a
    class named ``module.Class``), ``options`` (a mapping, default none) and ``workers`` (a whole
    number, default 1)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"No cluster file at {path}: give a scheduler's address (tcp://HOST:8786) or a YAML "
                         "file with the keys cluster, options and workers.")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise UsageError(f"The cluster file {path} is not valid YAML: {error}") from None
    if not isinstance(config, dict) or "cluster" not in config:
        raise UsageError(f"The cluster file {path} has no key 'cluster': name the cluster class, e.g. "
                         "'cluster: dask_jobqueue.SLURMCluster'.")
    unknown = sorted(set(config) - set(CLUSTER_KEYS))
    if unknown:
        raise UsageError(f"The cluster file {path} has unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"its keys are {', '.join(CLUSTER_KEYS)}.")
    options = config.get("options") or {}
    if not isinstance(options, dict):
        raise UsageError(f"'options' in the cluster file {path} must be a mapping of the class's arguments.")
    workers = config.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise UsageError(f"'workers' in the cluster file {path} must be a whole number of at least 1, "
                         f"got {workers!r}.")
    name = str(config["cluster"])
    if "." not in name:
        raise UsageError(f"'cluster' in the cluster file {path} must be a class named module.Class, got {name!r}.")
    return {"cluster": name, "options": options, "workers": workers}


def _cluster_class(name: str):
    module, _, attribute = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except ImportError as error:
        raise UsageError(f"Cannot import {module!r} for the cluster class {name!r} ({error}); "
                         f"install it (`{_INSTALL}` installs dask, distributed and dask-jobqueue).") from None
    except AttributeError:
        raise UsageError(f"{module!r} has no cluster class {attribute!r}.") from None
    return found


@contextlib.contextmanager
def dask_client(scheduler) -> Iterator:
    """A ``distributed.Client`` for ``scheduler``: a client (used as it is, left open), the
    address of a running scheduler (``tcp://HOST:8786``) or the path of a cluster file
    (:func:`read_cluster_file`: the cluster is started, scaled to its workers and closed after)."""
    try:
        import distributed
    except ImportError:
        raise UsageError(f"Running a plan on a Dask cluster needs dask and distributed: `{_INSTALL}`.") from None
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    text = str(scheduler)
    if "://" in text:
        try:
            client = distributed.Client(text, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise UsageError(f"No Dask scheduler answered at {text} ({error}): start one with "
                             "`dask scheduler` and its workers with `dask worker ADDRESS`.") from None
        with client:
            yield client
        return
    config = read_cluster_file(text)
    with _cluster_class(config["cluster"])(**config["options"]) as cluster:
        cluster.scale(config["workers"])
        with distributed.Client(cluster) as client:
            yield client


def _on_cluster(todo: Sequence[FitSpec], folder: str, data_dir, scheduler, progress: bool) -> int:
    """Run ``todo`` on the Dask cluster of ``scheduler`` (:func:`dask_client`); its worker count."""
    import distributed
    from tqdm import tqdm

    with dask_client(scheduler) as client:
        futures = client.map(_worker, list(todo), store_folder=folder, data_dir=data_dir, pure=False)
        failed = []
        for future in tqdm(distributed.as_completed(futures), total=len(futures), desc="fits on the cluster",
                           disable=not progress):
            if future.status != "finished":  # an error, or a fit cancelled or lost with its worker
                failed.append(future)
        if failed:
            spec = todo[futures.index(failed[0])]
            error = failed[0].exception() if failed[0].status == "error" else RuntimeError(failed[0].status)
            raise RuntimeError(f"{len(failed)} of {len(todo)} fits failed on the cluster; the first, "
                               f"{spec.model} ({spec.configuration}) seed {spec.seed} on {spec.dataset} trained on "
                               f"{', '.join(spec.train)}: {type(error).__name__}: {error}") from error
        return len(client.scheduler_info().get("workers", {}))


def execute(specs: Sequence[FitSpec], *, store, jobs: int | None = None, data_dir=None,
            progress: bool = False, scheduler=None) -> dict:
    """Run the fits of ``specs`` that ``store`` lacks in ``jobs`` worker processes (default
    :func:`default_jobs`); with one job, in this process; with ``scheduler`` (default
    :func:`default_scheduler`), on that Dask cluster (:func:`dask_client`) instead, into a store
    folder its workers share. Returns ``{"planned", "pending", "jobs", "scheduler"}``
    (``jobs``: the cluster's workers when it ran there)."""
    from nodebio import store as _store

    chosen = _store.default_store(store)
    if chosen is None:
        raise UsageError("A fit plan runs into a model store: give store= (a folder) or set $NODEBIO_STORE.")
    chosen.check()
    scheduler = default_scheduler(scheduler)
    jobs = default_jobs(jobs)
    todo = pending(specs, chosen, data_dir)
    folder = str(Path(chosen.folder).resolve())
    if scheduler is not None:
        jobs = _on_cluster(todo, folder, data_dir, scheduler, progress) if todo else 0
    elif jobs == 1 or len(todo) <= 1:
        from tqdm import tqdm

        for spec in tqdm(todo, desc="fits", disable=not progress):
            run_spec(spec, folder, data_dir)
    else:
        from joblib import Parallel, delayed

        Parallel(n_jobs=jobs, backend="loky", verbose=5 if progress else 0)(
            delayed(_worker)(spec, folder, data_dir) for spec in todo)
    return {"planned": len(specs), "pending": len(todo), "jobs": jobs,
            "scheduler": None if scheduler is None else _describe(scheduler)}


def _describe(scheduler) -> str:
    """A scheduler as the results record it (a client by its scheduler's address)."""
    address = getattr(getattr(scheduler, "scheduler", None), "address", None)
    return str(address or scheduler)
