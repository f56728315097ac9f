"""The project's own contracts: pins, environment file, chapters and their parameters."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from nodebio import book

ROOT = Path(__file__).resolve().parent.parent


def test_lock_pins_exact_versions_and_torch():
    lines = book.lock_requirements()
    assert lines, "requirements.lock is empty"
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), f"not an exact pin: {line}"
    assert "torch==2.13.0" in lines
    names = {line.split("==")[0].lower() for line in lines}
    for needed in ("jupyter-book", "papermill", "nbval", "jupytext", "pooch", "pytest", "torchdiffeq"):
        assert needed in names, f"{needed} missing from requirements.lock"
    jb = next(line for line in lines if line.lower().startswith("jupyter-book=="))
    assert jb.split("==")[1].startswith("1."), "the book is built with Jupyter Book 1.x"


def test_environment_yml_agrees_with_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python=")]
    assert len(pythons) == 1
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = [p for p in pip if not p.startswith("-")]
    assert sorted(pins) == sorted(book.lock_requirements()), (
        "environment.yml and requirements.lock disagree: run `make env-file`"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, pythons[0].split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_pyproject_extra_reads_the_lock():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = config["tool"]["setuptools"]["dynamic"]["optional-dependencies"]
    assert extras["lock"]["file"] == ["requirements.lock"]


def test_every_chapter_has_the_parameters_cell():
    chapters = [c for c in book.chapters() if book.is_notebook(c)]
    assert {c.stem for c in chapters} >= {"intro", "data"}
    for chapter in chapters:
        params = book.parameters_of(chapter)
        assert set(book.PARAMETER_NAMES) <= set(params), chapter
        assert params["MODE"] in book.MODES


def test_no_executed_notebook_in_the_sources():
    assert not list((ROOT / "book").glob("*.ipynb"))


FAILING = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

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
    # cells: 0 install, 1 title, 2 parameters, 3 injected parameters, 4 x = 1, 5 the raise
    assert "cell 5 of the notebook" in message
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


def test_missing_toc_entry_is_an_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/none\n")
    with pytest.raises(FileNotFoundError, match="book/none"):
        book.chapters(tmp_path / "_toc.yml")


def test_python_version():
    assert sys.version_info >= (3, 11)


def test_median_seconds():
    from nodebio.timing import median_seconds

    calls = []
    assert median_seconds(lambda: calls.append(1), 3) >= 0.0
    assert len(calls) == 4  # one warm-up call, then the timed ones
    with pytest.raises(ValueError, match="at least 1"):
        median_seconds(lambda: None, 0)
