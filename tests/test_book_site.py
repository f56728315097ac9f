"""The book as readers and teachers get it: chapter layout, exercises, install cell, published
notebooks, launch buttons, internal links, timings, and the workflow that publishes it.

The tests of the built site read ``$NODEBIO_SITE`` (``make test`` builds it from the quick
chapters and sets it; there a missing site is a failure) or ``_build/html`` when it exists.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nodebio import book, sphinxext

ROOT = Path(__file__).resolve().parent.parent
MAIN_PART = "The book"


def teaching_chapters() -> list[Path]:
    """The root page and the chapters of the main part (not the appendix)."""
    parts = book.parts()
    return [c for c in parts[""] + parts[MAIN_PART] if book.is_notebook(c)]


def headings(chapter: Path) -> list[str]:
    text = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1\s*$", "", chapter.read_text())  # drop fenced blocks
    return re.findall(r"(?m)^## (.+?)\s*$", text)


# --- the sources -------------------------------------------------------------------------


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


def test_install_cell_comes_first_in_every_prepared_chapter(tmp_path):
    import nbformat

    written = book.prepare("quick", tmp_path)
    assert {p.stem for p in written} == {c.stem for c in book.chapters() if book.is_notebook(c)}
    url, branch = book.repository()
    for path in written:
        cells = nbformat.read(path, as_version=4).cells
        first = cells[0]
        assert first.cell_type == "code" and book.INSTALL_TAG in first.metadata["tags"], path.name
        assert "remove-cell" in first.metadata["tags"], "the install cell is hidden in the HTML"
        assert f"git+{url}@{branch}" in first.source
        assert sum(book.INSTALL_TAG in c.metadata.get("tags", []) for c in cells) == 1
        # papermill's parameters still follow the chapter's own parameters cell
        tags = [c.metadata.get("tags", []) for c in cells]
        i = next(i for i, t in enumerate(tags) if "parameters" in t)
        assert "injected-parameters" in tags[i + 1]


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
    assert {"sphinx_exercise", "nodebio.sphinxext"} <= set(config["sphinx"]["extra_extensions"])
    assert (ROOT / config["logo"]).is_file()
    bib = (ROOT / "references.bib").read_text()
    for key in ("habaraduwa2025node", "costello2018", "chen2018neural", "torchdiffeq"):
        assert "{" + key + "," in bib


def test_launch_urls():
    urls = sphinxext.launch_urls("https://github.com/nodebio/nodebio", "gh-pages", "book/data")
    assert urls["Colab"] == "https://colab.research.google.com/github/nodebio/nodebio/blob/gh-pages/_notebooks/book/data.ipynb"
    assert urls["Binder"] == "https://mybinder.org/v2/gh/nodebio/nodebio/gh-pages?urlpath=lab/tree/_notebooks/book/data.ipynb"


# --- timings ---------------------------------------------------------------------------------

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

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
    monkeypatch.setattr(book, "ROOT", tmp_path)
    monkeypatch.delenv("NODEBIO_BUILD_DIR", raising=False)
    path = book.record_timings("quick", label="test-machine", note="a test", out_dir=tmp_path / "timings",
                               toc=tmp_path / "_toc.yml")
    record = json.loads(path.read_text())
    assert path.name == "test-machine-quick.json"
    assert record["mode"] == "quick" and record["note"] == "a test"
    assert record["command"] == "python -m nodebio.book time --mode quick --label test-machine"
    assert set(record["seconds"]) == {"book/timed.md"} and record["seconds"]["book/timed.md"] > 0
    assert {"cpu", "logical_cores", "platform", "python", "torch", "cuda_device"} <= set(record["hardware"])
    build = tmp_path / "_build" / "timing-quick" / "src"
    assert book.build_record(build)["seconds"] == record["seconds"]
    assert os.environ["NODEBIO_BUILD_DIR"] == str(build.resolve())  # what the kernels read
    assert book.recorded_timings(tmp_path / "timings") == [record]


def test_recorded_timings_of_the_repository_are_complete():
    names = {str(c.relative_to(ROOT)) for c in book.chapters() if book.is_notebook(c)}
    records = book.recorded_timings()
    assert records, "no timing measurements in book/_timings (python -m nodebio.book time)"
    for record in records:
        assert record["mode"] in book.MODES
        assert record["command"].startswith("python -m nodebio.book time")
        assert set(record["seconds"]) <= names
        assert all(s > 0 for s in record["seconds"].values())


# --- the workflow ----------------------------------------------------------------------------

WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"


def test_workflow_is_valid_against_the_github_schema():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    steps:\n      - run: echo no runs-on\n")
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                             str(broken)], capture_output=True, text=True)
    assert result.returncode != 0


def test_workflow_builds_tests_and_deploys_main_only():
    spec = yaml.safe_load(WORKFLOW.read_text())
    triggers = spec[True] if True in spec else spec["on"]  # YAML 1.1 reads `on` as true
    assert triggers["push"]["branches"] == ["main"] and "pull_request" in triggers
    publish, pr = spec["jobs"]["publish"], spec["jobs"]["pull-request"]
    assert "pull_request" in publish["if"] and "pull_request" in pr["if"]
    runs = lambda job: "\n".join(step.get("run", "") for step in job["steps"])
    uses = lambda job: [step.get("uses", "") for step in job["steps"]]
    assert "make test" in runs(publish) and "make execute MODE=full" in runs(publish)
    assert "make html" in runs(publish) and "linkcheck" in runs(publish)
    assert "make book MODE=quick" in runs(pr) and not any("gh-pages" in u for u in uses(pr))
    assert any(u.startswith("peaceiris/actions-gh-pages") for u in uses(publish))
    for job in (publish, pr):
        cache = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/cache"))
        assert "hashFiles('requirements.lock'" in cache["with"]["key"]
        assert any(step.get("if") == "failure()" and "execution-reports" in str(step.get("with"))
                   for step in job["steps"])
        assert "chromium-driver" in runs(job)


# --- the built site --------------------------------------------------------------------------


def test_every_figure_of_a_chapter_has_its_image_in_the_site(site):
    """A figure cell whose output is missing (e.g. a kernel with a non-interactive matplotlib
    backend) builds without a warning; here it fails."""
    missing = []
    for chapter in book.chapters():
        names = re.findall(r"^:\s+name:\s+(fig-[\w-]+)", chapter.read_text(), flags=re.M)
        page = (site / chapter.relative_to(ROOT).with_suffix(".html")).read_text()
        for name in names:
            match = re.search(rf'<figure[^>]*id="{name}"(.*?)</figure>', page, flags=re.S)
            if match is None or "<img" not in match.group(1):
                missing.append(f"{chapter.stem}: {name}")
    assert not missing, "figures without an image: " + ", ".join(missing)


def test_internal_links_and_images_of_the_site(site):
    problems = book.check_site(site)
    assert not problems, "\n".join(problems[:30])


def test_link_check_finds_a_broken_link_and_a_missing_anchor(tmp_path):
    (tmp_path / "index.html").write_text('<a href="a.html#x">a</a><img src="missing.png"><a href="#top">t</a>'
                                         '<a href="https://example.org/nowhere">ext</a><p id="top"></p>')
    (tmp_path / "a.html").write_text('<p id="y"></p>')
    problems = book.check_site(tmp_path)
    assert len(problems) == 2
    assert any("missing.png" in p for p in problems) and any("no id 'x'" in p for p in problems)


def test_published_notebooks_and_buttons(site):
    import nbformat

    url, branch = book.repository()
    org_repo = url.removeprefix("https://github.com/")
    for chapter in filter(book.is_notebook, book.chapters()):
        page = chapter.relative_to(ROOT).with_suffix("")
        notebook = site / book.NOTEBOOKS_DIR / f"{page}.ipynb"
        assert notebook.is_file(), f"{notebook} was not published"
        cells = nbformat.read(notebook, as_version=4).cells
        assert book.INSTALL_TAG in cells[0].metadata["tags"]
        assert not any(c.get("outputs") for c in cells if c.cell_type == "code")
        html = (site / f"{page}.html").read_text()
        colab = f"https://colab.research.google.com/github/{org_repo}/blob/gh-pages/_notebooks/{page}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{org_repo}/gh-pages?urlpath=lab/tree/_notebooks/{page}.ipynb"
        assert colab in html, f"no Colab link to the published notebook in {page}.html"
        assert binder in html, f"no Binder link to the published notebook in {page}.html"
        depth = "../" * (len(page.parts) - 1)
        assert f'href="{depth}_notebooks/{page}.ipynb"' in html, f"no download link to the notebook in {page}.html"
        edit = f"{url}/edit/{branch}/{page}.md"
        assert edit in html and (ROOT / f"{page}.md").is_file()
        assert "/blob/main/" not in html.split("launch-buttons")[-1].split("</ul>")[0]
    assert (site / "binder" / "requirements.txt").is_file() and (site / ".nojekyll").is_file()
    requirements = (site / "binder" / "requirements.txt").read_text()
    assert f"nodebio @ git+{url}@{branch}" in requirements and "torch==" in requirements


def test_solutions_are_hidden_in_the_html(site):
    for chapter in filter(book.is_notebook, book.parts()[MAIN_PART]):
        html = (site / chapter.relative_to(ROOT).with_suffix(".html")).read_text()
        exercises = re.findall(r'class="[^"]*\bexercise\b[^"]*"', html)
        solutions = re.findall(r'class="([^"]*\bsolution\b[^"]*)"', html)
        solutions = [c for c in solutions if "admonition" in c]
        assert len(exercises) >= 2 and len(solutions) >= 2, chapter.stem
        assert all("dropdown" in c for c in solutions), chapter.stem
        assert "nodebio-install" not in html and "%pip install" not in html


def test_reproducibility_page_shows_the_build(site):
    html = (site / "book" / "reproducibility.html").read_text()
    record = book.build_record(ROOT / "_build" / "src")
    if record is None:
        pytest.skip("the site was not built from _build/src")
    assert "This page was not executed as part of a build" not in html
    for name in record["seconds"]:
        assert Path(name).stem in html
    assert "torch" in html and "locked packages" in html
