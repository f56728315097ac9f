"""bookbuild.execution and bookbuild.timings: chapters executed with papermill, failures named,
parameters injected, the kernels' environment, and the timing records."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import bookbuild as book
import bookbuild.timings

from conftest import MYST_HEADER

ROOT = Path(__file__).resolve().parent.parent


FAILING = MYST_HEADER + """
# Broken

```{code-cell} ipython3
:tags: [parameters]
MODE = "full"
SEED = 0
DEVICE = "auto"
PATHWAY = "limonene"
```

```{code-cell} ipython3
x = 1
```

```{code-cell} ipython3
raise ValueError("this chapter is broken on purpose")
```
"""


def test_a_failing_cell_names_the_chapter_and_the_cell(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "broken.md").write_text(FAILING)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/broken\n")
    with pytest.raises(book.ChapterError) as info:
        book.execute("quick", tmp_path / "_build" / "src", toc=tmp_path / "_toc.yml")
    message = str(info.value)
    assert "book/broken.md" in message
    # cells: (0 install, where the repository is public), title, parameters, injected parameters,
    # x = 1, the raise
    assert f"cell {4 + book.public_repository()} of the notebook" in message
    assert "starting `raise ValueError(" in message
    assert "this chapter is broken on purpose" in message


def test_parameters_are_injected(tmp_path):
    import nbformat

    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "ok.md").write_text(FAILING.split("```{code-cell} ipython3\nraise")[0])
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/ok\n")
    out = tmp_path / "nb"
    [path] = book.prepare("quick", out, {"SEED": 7, "OTHER": 1}, toc=tmp_path / "_toc.yml")
    notebook = nbformat.read(path, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'MODE = "quick"' in injected[0].source and "SEED = 7" in injected[0].source
    assert "OTHER" not in injected[0].source  # only the chapter's own parameters


CHAPTER = MYST_HEADER + """
# Timed

```{code-cell} ipython3
:tags: [parameters]
MODE = "full"
SEED = 0
DEVICE = "auto"
PATHWAY = "limonene"
```

```{code-cell} ipython3
import os
print(os.environ["NODEBIO_BUILD_DIR"])
```
"""


def test_execute_records_timings_and_hardware_and_time_writes_a_stamped_file(tmp_path, monkeypatch):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "timed.md").write_text(CHAPTER)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/timed\n")
    monkeypatch.setattr(bookbuild.timings, "ROOT", tmp_path)  # the build goes to ROOT/_build/timing-quick
    monkeypatch.delenv("NODEBIO_BUILD_DIR", raising=False)
    path = book.record_timings("quick", label="test-machine", note="a test", out_dir=tmp_path / "timings",
                               toc=tmp_path / "_toc.yml")
    record = json.loads(path.read_text())
    assert path.name == "test-machine-quick.json"
    assert record["mode"] == "quick" and record["note"] == "a test"
    assert record["command"] == "python -m bookbuild time --mode quick --label test-machine"
    assert set(record["seconds"]) == {"book/timed.md"} and record["seconds"]["book/timed.md"] > 0
    assert {"cpu", "logical_cores", "platform", "python", "torch", "cuda_device"} <= set(record["hardware"])
    build = tmp_path / "_build" / "timing-quick" / "src"
    assert book.build_record(build)["seconds"] == record["seconds"]
    assert os.environ["NODEBIO_BUILD_DIR"] == str(build.resolve())  # what the kernels read
    assert book.recorded_timings(tmp_path / "timings") == [record]


def test_recorded_timings_of_the_repository_are_complete():
    names = {str(c.relative_to(ROOT)) for c in book.chapters() if book.is_notebook(c)}
    records = book.recorded_timings()
    assert records, "no timing measurements in book/_timings (python -m bookbuild time)"
    for record in records:
        assert record["mode"] in book.MODES
        # the command each was measured with: the measurements made before the build moved to
        # bookbuild/ keep the name it had then
        assert record["command"].startswith(("python -m bookbuild time", "python -m bookbuild execute",
                                             "python -m nodebio.book time"))
        assert set(record["seconds"]) <= names
        assert all(s > 0 for s in record["seconds"].values())


def test_with_jobs_the_books_plan_runs_first_and_the_record_keeps_its_seconds(tmp_path, monkeypatch, limonene_path):
    import bookbuild.planning
    from nodebio import plan, store

    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "timed.md").write_text(CHAPTER)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/timed\n")
    monkeypatch.setattr(bookbuild.timings, "ROOT", tmp_path)
    monkeypatch.delenv("NODEBIO_BUILD_DIR", raising=False)
    # execute sets these for its kernels: restored after the test
    monkeypatch.setenv("NODEBIO_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("NODEBIO_JOBS", "1")
    monkeypatch.setenv("NODEBIO_DATA_DIR", str(limonene_path.parent))
    specs = [plan.FitSpec(name, "-", 0, "limonene", ("L1", "L3"), ("L2",), quick=True)
             for name in ("mean", "persistence")]
    asked = []
    monkeypatch.setattr(bookbuild.planning, "book_plan",
                        lambda mode, extra, only, toc: asked.append((mode, only)) or {"timed": specs})
    path = book.record_timings("quick", label="m", out_dir=tmp_path / "timings", toc=tmp_path / "_toc.yml", jobs=2)
    record = json.loads(path.read_text())
    assert asked == [("quick", ["timed"])]
    assert (record["plan"]["planned"], record["plan"]["pending"], record["plan"]["jobs"]) == (2, 2, 2)
    assert record["command"] == "python -m bookbuild time --mode quick --label m --jobs 2"
    assert record["total_seconds"] == round(sum(record["seconds"].values()) + record["plan"]["seconds"], 1)
    assert plan.pending(specs, store.ModelStore(tmp_path / "store"), limonene_path.parent) == []
    assert os.environ["NODEBIO_JOBS"] == "2"  # what the kernels inherit


def test_the_kernels_import_bookbuild_from_the_repository(tmp_path, monkeypatch):
    """bookbuild is not installed: the kernels (started in the chapter's build folder) find it
    through the kernelspec that execute writes, whatever PYTHONPATH and the cwd were, with the
    build tree given as a relative path like the Makefile's ``--out _build/src``."""
    (tmp_path / "book").mkdir()
    chapter = CHAPTER.replace('print(os.environ["NODEBIO_BUILD_DIR"])',
                              'import bookbuild\nprint("BOOKBUILD", bookbuild.__file__)')
    (tmp_path / "book" / "imports.md").write_text(chapter)
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/imports\n")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    book.execute("quick", Path("_build") / "src", toc=tmp_path / "_toc.yml")
    out = tmp_path / "_build" / "src"
    spec = json.loads((tmp_path / "_build" / ".jupyter" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["env"]["PYTHONPATH"].split(os.pathsep)[0] == str(ROOT)
    import nbformat

    outputs = [o for c in nbformat.read(out / "book" / "imports.ipynb", as_version=4).cells
               for o in c.get("outputs", []) if o.get("name") == "stdout"]
    printed = "".join(o["text"] for o in outputs)
    assert f"BOOKBUILD {ROOT / 'bookbuild' / '__init__.py'}" in printed


def test_python_path_puts_the_repository_first_once():
    from bookbuild.sources import python_path

    assert python_path({}) == str(ROOT)
    assert python_path({"PYTHONPATH": f"/a{os.pathsep}{ROOT}{os.pathsep}/b"}).split(os.pathsep) == [str(ROOT), "/a", "/b"]
