"""bookbuild.student: the student edition and the instructors' key of the executed chapters.

The unit tests run on a small executed chapter written here; the tests of the built site
(marked ``book``) read every notebook of ``_student/`` and run each with papermill in quick mode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

import bookbuild as book
from bookbuild import student
from bookbuild.downloads import GLUE_MIME
from bookbuild.sources import EXECUTED_KEY, INSTALL_TAG

ROOT = Path(__file__).resolve().parent.parent

PROSE = """(chapter-small)=
# A small chapter

The error is {glue:text}`rmse` after {glue:text}`n_seeds` seeds, as {cite:t}`costello2018` measured
(the {term}`titer` of {ref}`the data chapter <chapter-small>`; see {ref}`chapter-small` and {cite}`chen2018neural`).

```{admonition} Learning objectives
:class: tip

- Train a model.
```
"""

EXERCISE = """## Exercises

````{exercise} Implement: a reference
:label: small-ex-reference

Write `f` so that it returns {glue:text}`rmse`.
````

````{solution-start} small-ex-reference
:class: dropdown
````

The lesson of the solution: SECRET-TEXT.
"""

SOLUTION_CODE = "def f():\n    return 'SECRET-CODE'\n\nf()"

AFTER = """````{solution-end}
````

````{exercise} Predict: text only
:label: small-ex-text

What happens?
````

````{solution} small-ex-text
:class: dropdown

It grows: SECRET-ANSWER.
````

## Summary

```python
{glue:text}`kept` in a code block of the prose stays as it is
```
"""


def _glue(name: str, value: str):
    return nbformat.v4.new_output("display_data", data={GLUE_MIME: repr(value), "text/plain": repr(value)},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})


def executed_chapter(install: bool = True) -> nbformat.NotebookNode:
    cells = []
    if install:
        cells.append(nbformat.v4.new_code_cell("%pip install nodebio", metadata={"tags": [INSTALL_TAG, "remove-cell"]}))
    cells += [
        nbformat.v4.new_markdown_cell(PROSE),
        nbformat.v4.new_code_cell('MODE = "full"\nSEED = 0', metadata={
            "tags": ["parameters"], EXECUTED_KEY: {"SEED": 0, "MODE": "quick"}}),
        nbformat.v4.new_code_cell('MODE = "quick"', metadata={"tags": ["injected-parameters", "remove-cell"]}),
        nbformat.v4.new_code_cell("glue_all(...)", metadata={"tags": ["remove-cell"]},
                                  outputs=[_glue("rmse", "0.25"), _glue("n_seeds", "3")]),
        nbformat.v4.new_markdown_cell(EXERCISE),
        nbformat.v4.new_code_cell(SOLUTION_CODE, outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "'SECRET-CODE'"}, execution_count=4)], execution_count=4),
        nbformat.v4.new_markdown_cell(AFTER),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["papermill"] = {"parameters": {"MODE": "quick"}}
    return notebook


CITES = {"costello2018": ("Costello and Garcia Martin", "2018"), "chen2018neural": ("Chen et al.", "2018")}


def _edition(keep: bool, install: bool = False):
    notebook = executed_chapter()
    glued = student.glued_texts(json.loads(nbformat.writes(notebook)))
    titles = student.label_titles([PROSE])
    return student.edition(notebook, "book/small.ipynb", glued, keep_solutions=keep, titles=titles,
                           cites=CITES, install=install)


def _all(notebook, kind: str) -> str:
    return "\n".join(c.source for c in notebook.cells if c.cell_type == kind)


def test_student_notebook_has_values_in_its_prose_and_no_solutions():
    notebook = _edition(keep=False)
    text, code = _all(notebook, "markdown"), _all(notebook, "code")
    assert "The error is 0.25 after 3 seeds, as Costello and Garcia Martin (2018) measured" in text
    assert "(the titer of the data chapter; see A small chapter and (Chen et al. 2018))." in text
    assert "**Exercise 1. Implement: a reference**" in text and "returns 0.25." in text
    assert "**Exercise 2. Predict: text only**" in text and "What happens?" in text
    assert "**Learning objectives**" in text and "- Train a model." in text
    assert "(chapter-small)=" not in text
    for secret in ("SECRET-TEXT", "SECRET-CODE", "SECRET-ANSWER"):
        assert secret not in text + code
    assert student.leftovers(notebook) == []
    # the code block of the prose is left as it is; the chapter's code cells are all there
    assert "{glue:text}`kept` in a code block" in text
    assert 'MODE = "full"' in code and "glue_all(...)" in code and 'MODE = "quick"' not in code
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code")
    assert "papermill" not in notebook.metadata
    # under the parameters cell, the values the numbers of the text were computed with
    i = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    assert EXECUTED_KEY not in notebook.cells[i].metadata
    assert notebook.cells[i + 1].cell_type == "markdown"
    assert "ran this chapter with `MODE = 'quick'`, `SEED = 0`" in notebook.cells[i + 1].source
    assert "\n\n\n" not in text
    nbformat.validate(notebook)


def test_instructors_key_keeps_every_solution_after_its_exercise():
    notebook = _edition(keep=True)
    text, code = _all(notebook, "markdown"), _all(notebook, "code")
    assert "**Solution of exercise 1**" in text and "SECRET-TEXT" in text
    assert "**Solution of exercise 2**" in text and "SECRET-ANSWER" in text
    assert "SECRET-CODE" in code
    assert text.index("Exercise 1.") < text.index("SECRET-TEXT") < text.index("Exercise 2.")
    assert "{solution" not in text and "{glue" not in text.replace("{glue:text}`kept`", "")
    solution = next(c for c in notebook.cells if "SECRET-CODE" in c.source)
    assert solution.outputs and solution.outputs[0]["data"]["text/plain"] == "'SECRET-CODE'"
    glue_cell = next(c for c in notebook.cells if c.source == "glue_all(...)")
    assert glue_cell.outputs == [], "the key keeps the build's figures and tables, not papermill's records"


def test_the_install_cell_only_where_the_repository_is_public():
    assert not any(INSTALL_TAG in c.metadata.get("tags", []) for c in _edition(keep=False).cells)
    assert INSTALL_TAG in _edition(keep=False, install=True).cells[0].metadata["tags"]


def test_a_glue_key_no_chapter_glued_is_an_error_naming_it():
    notebook = executed_chapter()
    with pytest.raises(book.ChapterError, match="'rmse'.*glue it"):
        student.edition(notebook, "book/small.ipynb", {"n_seeds": "3"})
    # another chapter's value is what myst-nb would show
    out = student.edition(notebook, "book/small.ipynb", {"n_seeds": "3"}, fallback={"rmse": "0.5"})
    assert "The error is 0.5" in _all(out, "markdown")


def test_leftovers_names_the_markup_a_student_would_see():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "see {glue:text}`x`\n\n````{solution-start} ex\n````\n:::{solution} ex\n:::\n{ref}`a`")])
    problems = student.leftovers(notebook)
    assert len(problems) >= 4 and all(p.startswith("cell 0:") for p in problems)


@pytest.mark.parametrize("public", [False, True])
def test_write_editions_of_a_build_tree(tmp_path, public):
    src, site = tmp_path / "src", tmp_path / "html"
    (src / "book").mkdir(parents=True)
    config = (ROOT / "_config.yml").read_text().replace(
        "nodebio_public_repository: false", f"nodebio_public_repository: {str(public).lower()}")
    assert f"nodebio_public_repository: {str(public).lower()}" in config
    (src / "_config.yml").write_text(config)
    (src / "references.bib").write_bytes((ROOT / "references.bib").read_bytes())
    nbformat.write(executed_chapter(), src / "book" / "small.ipynb")
    nbformat.write(executed_chapter(), src / "book" / "instructors.ipynb")
    written = student.write_editions(src, site)
    assert sorted(p.relative_to(site).as_posix() for p in written) == [
        "_instructor/book/small.ipynb", "_student/book/small.ipynb"]
    notebook = nbformat.read(site / "_student" / "book" / "small.ipynb", as_version=4)
    text = _all(notebook, "markdown")
    assert "as Costello and Garcia Martin (2018) measured" in text  # from references.bib
    assert any(INSTALL_TAG in c.metadata.get("tags", []) for c in notebook.cells) == public
    assert book.public_repository(src / "_config.yml") == public


# -- the built site -----------------------------------------------------------------------------


def _student_notebooks(site: Path) -> list[Path]:
    chapters = [c for c in book.chapters() if book.is_notebook(c) and c.stem not in student.NOT_FOR_STUDENTS]
    paths = [site / book.STUDENT_DIR / c.relative_to(ROOT).with_suffix(".ipynb") for c in chapters]
    missing = [p for p in paths if not p.is_file()]
    assert not missing, f"not in the student edition: {missing}"
    return paths


def _solution_code(chapter: Path) -> list[str]:
    """The code cells between solution-start and solution-end of a chapter source."""
    import jupytext

    inside, code = False, []
    for cell in jupytext.read(chapter).cells:
        if cell.cell_type == "markdown":
            for line in cell.source.split("\n"):
                if "{solution-start}" in line:
                    inside = True
                elif "{solution-end}" in line:
                    inside = False
        elif inside and cell.source.strip():
            code.append(cell.source.strip())
    return code


def test_student_edition_of_the_site_has_no_markup_and_no_solutions(site):
    problems = []
    for path in _student_notebooks(site):
        notebook = nbformat.read(path, as_version=4)
        problems += [f"{path.name}: {p}" for p in student.leftovers(notebook)]
        code = {c.source.strip() for c in notebook.cells if c.cell_type == "code"}
        source = ROOT / "book" / f"{path.stem}.md"
        problems += [f"{path.name}: solution code {s.splitlines()[0]!r}" for s in _solution_code(source) if s in code]
        key = site / book.INSTRUCTOR_DIR / "book" / path.name
        if _solution_code(source):
            assert key.is_file(), f"no instructors' key for {path.name}"
            kept = {c.source.strip() for c in nbformat.read(key, as_version=4).cells if c.cell_type == "code"}
            assert set(_solution_code(source)) <= kept, f"{key.name} lacks solution code"
    assert not problems, "\n".join(problems[:30])


def test_only_the_instructors_page_links_the_key(site):
    import re

    linking = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                     if "_static" not in p.parts and re.search(rf'href="[^"]*{book.INSTRUCTOR_DIR}/', p.read_text()))
    assert linking == ["book/instructors.html"]


STUDENT_CHAPTERS = [c.stem for c in book.chapters() if book.is_notebook(c) and c.stem not in student.NOT_FOR_STUDENTS]


@pytest.mark.parametrize("chapter", STUDENT_CHAPTERS)
def test_every_student_notebook_runs_with_papermill_in_quick_mode(site, tmp_path, chapter):
    """Top to bottom, in a fresh folder, with the model store of the build when there is one
    (one test per chapter, so that `pytest -n` spreads them over the workers)."""
    import papermill

    from bookbuild.execution import _kernel_path

    _kernel_path(tmp_path)
    store = ROOT / "_build" / "store" / "quick"
    env = {"NODEBIO_STORE": os.environ.get("NODEBIO_STORE") or str(store)} if (
        os.environ.get("NODEBIO_STORE") or store.is_dir()) else {}
    os.environ.setdefault("MPLBACKEND", "Agg")
    failed = []
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        for path in [p for p in _student_notebooks(site) if p.stem == chapter]:
            folder = tmp_path / "run" / "book"
            folder.mkdir(parents=True, exist_ok=True)
            try:
                papermill.execute_notebook(str(path), str(folder / path.name), parameters={"MODE": "quick"},
                                           kernel_name="python3", cwd=str(folder), progress_bar=False)
            except papermill.PapermillExecutionError as error:
                failed.append(f"{path.name}: cell {error.cell_index}: {error.ename}: {error.evalue}")
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert not failed, "\n".join(failed)
