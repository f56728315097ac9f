"""Shared fixtures. The real data come from $NODEBIO_DATA_DIR when set (CI points it at a
read-only copy), else from the per-user cache, downloading once.

Tests marked ``book`` need the built site or a browser (every test that uses the ``site``
fixture is marked automatically); ``make unit`` deselects them with ``-m "not book"``.
"""

from __future__ import annotations

import functools
import os
import http.server
import threading
from pathlib import Path

# torch on one thread, as the command and the book's build run it (see nodebio.models.node.TrainConfig);
# set before torch is first imported, since the library never changes the thread count itself.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nodebio import data, synthetic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # Registered here rather than in pyproject.toml: the build tooling keeps to its own files.
    config.addinivalue_line("markers", "book: needs the built site (_build/html) or a browser; "
                                       "`make unit` (-m 'not book') leaves these out")
    # The chapters under nbval (`make test`) run in kernels started in their own folders;
    # the instructors' and reproducibility pages import bookbuild, which is not installed but
    # imported from the repository root: the kernels inherit this PYTHONPATH.
    from bookbuild.sources import python_path

    os.environ["PYTHONPATH"] = python_path()


def pytest_collection_modifyitems(config, items):
    for item in items:
        # the tests of the built site, and the chapters' cells under nbval
        if "site" in getattr(item, "fixturenames", ()) or type(item).__module__.startswith("nbval"):
            item.add_marker(pytest.mark.book)


def has_data(name: str) -> bool:
    """Whether a registered data file is at hand (in $NODEBIO_DATA_DIR or the cache, or downloadable)."""
    try:
        data.fetch(name)
        return True
    except data.DataError:
        return False


@pytest.fixture(autouse=True)
def _no_model_store(monkeypatch):
    """The tests fit afresh: a model store only where a test asks for one (a build may set
    $NODEBIO_STORE around them)."""
    monkeypatch.delenv("NODEBIO_STORE", raising=False)
    monkeypatch.delenv("NODEBIO_JOBS", raising=False)  # serial unless a test asks for workers
    monkeypatch.delenv("NODEBIO_SCHEDULER", raising=False)


@pytest.fixture(scope="session")
def limonene_path() -> Path:
    return data.fetch("limonene_data.csv")


@pytest.fixture(scope="session")
def isopentenol_path() -> Path:
    return data.fetch("isopentenol_data.csv")


@pytest.fixture(scope="session")
def limonene(limonene_path) -> data.Dataset:
    return data.load("limonene", data_dir=limonene_path.parent)


@pytest.fixture
def tidy_frame() -> pd.DataFrame:
    """A small valid table: 2 strains x 4 times, 1 control, 2 states, one gap."""
    return pd.DataFrame({
        "Strain": ["A"] * 4 + ["B"] * 4,
        "Hour": [0.0, 2.0, 6.0, 10.0] * 2,
        "E1": [1.0, 2.0, 3.0, 4.0, 2.0, 4.0, 6.0, 8.0],
        "m1": [0.0, 1.0, None, 5.0, 0.5, 1.5, 2.5, 3.5],
        "m2": [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
    })


@pytest.fixture
def tidy_csv(tmp_path, tidy_frame) -> Path:
    path = tmp_path / "tidy.csv"
    tidy_frame.to_csv(path, index=False)
    return path


@pytest.fixture
def http_folder(tmp_path):
    """Serve a temporary folder on 127.0.0.1; yields (folder, base_url)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# -- small synthetic data and models shared by the model, ensemble, intervention and CLI tests ----


@pytest.fixture(scope="module")
def baseline_prepared() -> data.PreparedData:
    """Four synthetic strains (data seed 1) on a 60-point grid: S1-S3 train, S4 held out."""
    return data.prepare(synthetic.make_dataset(4, seed=1, noise=0.02), ["S1", "S2", "S3"], ["S4"], n_points=60)


@pytest.fixture(scope="module")
def node_prepared() -> data.PreparedData:
    """Four synthetic strains (data seed 0) on a 60-point grid: S1-S3 train, S4 held out."""
    return data.prepare(synthetic.make_dataset(4, seed=0, noise=0.02), ["S1", "S2", "S3"], ["S4"], n_points=60)


@pytest.fixture(scope="module")
def structured_fitted(node_prepared):
    """A small pathway-structured neural ODE fitted on :func:`node_prepared`."""
    from nodebio.models import NeuralODEModel

    return NeuralODEModel(structure="structured", flux_width=8, depth=2, iterations=12, eval_every=4,
                          windows_per_strain=2, device="cpu", seed=3).fit(node_prepared, progress=False)


#: Options of the tiny neural ODEs of the ensemble and intervention tests.
TINY = {"iterations": 6, "eval_every": 3, "width": 16, "device": "cpu"}


@pytest.fixture(scope="module")
def intervention_prepared() -> data.PreparedData:
    """Five synthetic strains (data seed 3): three train, two held out."""
    dataset = synthetic.make_dataset(n_strains=5, seed=3)
    return data.prepare(dataset, list(dataset.strains[:3]), list(dataset.strains[3:]))


@pytest.fixture(scope="module")
def intervention_ensemble(intervention_prepared):
    """Three tiny neural ODEs (seeds 0-2) fitted on :func:`intervention_prepared`."""
    from nodebio.models import Ensemble

    return Ensemble("node", 3, seed=0, **TINY).fit(intervention_prepared)


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory) -> Path:
    """A run folder of ``nodebio train`` on five synthetic strains, an ensemble of two."""
    from nodebio import cli

    out = tmp_path_factory.mktemp("runs") / "syn"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "5", "--out", str(out),
                     "--iterations", "4", "--ensemble", "2", "--device", "cpu", "--no-progress"]) == 0
    return out


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site: ``$NODEBIO_SITE`` (``make test`` builds it from the quick chapters), else
    ``_build/html``; the site tests are skipped when neither was built."""
    given = os.environ.get("NODEBIO_SITE")
    path = Path(given) if given else ROOT / "_build" / "html"
    if not path.is_absolute():
        path = ROOT / path
    if not (path / "index.html").is_file():
        if given:
            pytest.fail(f"NODEBIO_SITE={given} but {path}/index.html does not exist: build the book first")
        pytest.skip("no built site in _build/html: `make test` builds one (or `make book MODE=quick`)")
    return path


#: The jupytext header of a MyST chapter, for the small chapters the bookbuild tests write.
MYST_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""
