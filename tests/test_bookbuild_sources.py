"""bookbuild.sources: the chapters as the toc lists them, their layout, exercises, parameters and
install cell, and the repository of _config.yml."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

import bookbuild as book

ROOT = Path(__file__).resolve().parent.parent
MAIN_PART = "The book"


def teaching_chapters() -> list[Path]:
    """The root page and the chapters of the main part (not the appendix)."""
    parts = book.parts()
    return [c for c in parts[""] + parts[MAIN_PART] if book.is_notebook(c)]


def headings(chapter: Path) -> list[str]:
    text = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", chapter.read_text())  # drop fenced blocks
    return re.findall(r"(?m)^## (.+?)\s*$", text)


def test_parts_of_the_toc():
    parts = book.parts()
    assert set(parts) == {"", MAIN_PART, "Appendix"}
    assert {c.stem for c in parts[MAIN_PART]} >= {"data", "node", "compare"}
    assert [c.stem for c in parts["Appendix"]][-1] == "references"
    assert sum(len(v) for v in parts.values()) == len(book.chapters())


@pytest.mark.parametrize("chapter", teaching_chapters(), ids=lambda c: c.stem)
def test_chapter_opens_with_overview_and_prerequisites_and_ends_with_summary_and_what_next(chapter):
    found = headings(chapter)
    assert found[:2] == ["Overview", "Prerequisites"], f"{chapter.name} opens with {found[:2]}"
    assert found[-2:] == ["Summary", "What next"], f"{chapter.name} ends with {found[-2:]}"


EXERCISE = re.compile(r"(?m)^(`{3,}|:{3,})\{exercise(?:-start)?\}[^\n]*\n((?::[^\n]*\n)*)")
SOLUTION = re.compile(r"(?m)^(`{3,}|:{3,})\{solution(?:-start)?\}\s+(\S+)\s*\n((?::[^\n]*\n)*)")


def exercises_and_solutions(text: str) -> tuple[list[str], dict[str, str]]:
    labels = []
    for _, options in EXERCISE.findall(text):
        match = re.search(r":label:\s*(\S+)", options)
        labels.append(match.group(1) if match else "")
    solutions = {label: options for _, label, options in SOLUTION.findall(text)}
    return labels, solutions


@pytest.mark.parametrize("chapter", [c for c in book.parts()[MAIN_PART] if book.is_notebook(c)], ids=lambda c: c.stem)
def test_chapter_has_graded_exercises_with_hidden_solutions(chapter):
    labels, solutions = exercises_and_solutions(chapter.read_text())
    assert len(labels) >= 2, f"{chapter.name} has {len(labels)} exercises (sphinx-exercise), at least 2 wanted"
    assert all(labels), f"every exercise of {chapter.name} needs a :label:"
    for label in labels:
        assert label in solutions, f"exercise {label} of {chapter.name} has no solution"
        assert re.search(r":class:\s*.*\bdropdown\b", solutions[label]), f"the solution of {label} is not a dropdown"
    assert "{admonition} Exercise" not in chapter.read_text(), "exercises use sphinx-exercise"


def test_exercise_parser_catches_a_visible_solution():
    text = "```{exercise} A\n:label: a\n\nx\n```\n\n```{solution} a\n\nvisible\n```\n"
    labels, solutions = exercises_and_solutions(text)
    assert labels == ["a"] and "dropdown" not in solutions["a"]


def test_every_chapter_has_the_parameters_cell():
    chapters = [c for c in book.chapters() if book.is_notebook(c)]
    assert {c.stem for c in chapters} >= {"intro", "data"}
    for chapter in chapters:
        params = book.parameters_of(chapter)
        assert set(book.PARAMETER_NAMES) <= set(params), chapter
        assert params["MODE"] in book.MODES


def test_missing_toc_entry_is_an_error(tmp_path):
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/none\n")
    with pytest.raises(FileNotFoundError, match="book/none"):
        book.chapters(tmp_path / "_toc.yml")


def test_install_cell_comes_first_in_every_prepared_chapter(tmp_path):
    import nbformat

    written = book.prepare("quick", tmp_path)
    assert {p.stem for p in written} == {c.stem for c in book.chapters() if book.is_notebook(c)}
    url, branch = book.repository()
    public = book.public_repository()
    for path in written:
        cells = nbformat.read(path, as_version=4).cells
        assert sum(book.INSTALL_TAG in c.metadata.get("tags", []) for c in cells) == int(public), path.name
        if public:
            first = cells[0]
            assert first.cell_type == "code" and book.INSTALL_TAG in first.metadata["tags"], path.name
            assert "remove-cell" in first.metadata["tags"], "the install cell is hidden in the HTML"
            assert f"git+{url}@{branch}" in first.source
        # papermill's parameters still follow the chapter's own parameters cell
        tags = [c.metadata.get("tags", []) for c in cells]
        i = next(i for i, t in enumerate(tags) if "parameters" in t)
        assert "injected-parameters" in tags[i + 1]


@pytest.mark.parametrize("public", [True, False])
def test_the_install_cell_only_where_the_repository_is_public(tmp_path, public):
    """nodebio_public_repository of _config.yml: no install cell points at a repository that does
    not exist; once it does, the cell comes first, once, hidden in the HTML."""
    import nbformat

    config = tmp_path / "_config.yml"
    text = (ROOT / "_config.yml").read_text()
    config.write_text(re.sub(r"nodebio_public_repository: \w+", f"nodebio_public_repository: {str(public).lower()}", text))
    assert book.public_repository(config) is public
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A chapter")])
    for _ in range(2):
        notebook = book.with_install_cell(notebook, config)
    tags = [c.metadata.get("tags", []) for c in notebook.cells]
    assert sum(book.INSTALL_TAG in t for t in tags) == int(public)
    if public:
        assert tags[0] == [book.INSTALL_TAG, "remove-cell"]


def test_install_cell_is_a_no_op_where_nodebio_imports_and_installs_where_it_does_not(monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(book.install_cell_source())
    calls = []

    class Shell:
        def run_line_magic(self, name, line, *args):
            calls.append((name, line))

    exec(code, {"get_ipython": Shell})
    assert calls == []  # nodebio is importable here
    monkeypatch.setitem(sys.modules, "nodebio", None)  # makes `import nodebio` raise ImportError
    exec(code, {"get_ipython": Shell})
    url, branch = book.repository()
    assert calls == [("pip", f'install --quiet "nodebio @ git+{url}@{branch}"')]


def test_repository_is_named_once_and_buttons_are_on():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["repository"]["url"] == "https://github.com/nodebio/nodebio"
    assert config["repository"]["branch"] == "main"
    assert (ROOT / "_config.yml").read_text().count("github.com/nodebio/nodebio") == 1
    for button in ("use_repository_button", "use_issues_button", "use_edit_page_button"):
        assert config["html"][button] is True
    assert config["execute"]["execute_notebooks"] == "off"
    assert {"sphinx_exercise", "bookbuild.sphinxext"} <= set(config["sphinx"]["extra_extensions"])
    assert (ROOT / config["logo"]).is_file()
    bib = (ROOT / "references.bib").read_text()
    for key in ("habaraduwa2025node", "costello2018", "chen2018neural", "torchdiffeq"):
        assert "{" + key + "," in bib
