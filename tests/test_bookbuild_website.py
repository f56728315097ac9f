"""bookbuild.website, bookbuild.sitecheck and bookbuild.sphinxext: the HTML, the notebooks
published with it, the launch buttons, the internal links, the names left in the prose, the
parameters cell, the API page and its links, and the zip of results.

The tests of the built site read ``$NODEBIO_SITE`` (``make test`` builds it from the quick
chapters and sets it; there a missing site is a failure) or ``_build/html`` when it exists; they
are marked ``book`` (conftest.py) and left out by ``make unit``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bookbuild as book
from bookbuild import sphinxext

ROOT = Path(__file__).resolve().parent.parent
MAIN_PART = "The book"


def test_launch_urls():
    urls = sphinxext.launch_urls("https://github.com/nodebio/nodebio", "gh-pages", "book/data")
    assert urls["Colab"] == "https://colab.research.google.com/github/nodebio/nodebio/blob/gh-pages/_student/book/data.ipynb"
    assert urls["Binder"] == "https://mybinder.org/v2/gh/nodebio/nodebio/gh-pages?urlpath=lab/tree/_student/book/data.ipynb"


def test_link_check_finds_a_broken_link_and_a_missing_anchor(tmp_path):
    (tmp_path / "index.html").write_text('<a href="a.html#x">a</a><img src="missing.png"><a href="#top">t</a>'
                                         '<a href="https://example.org/nowhere">ext</a><p id="top"></p>')
    (tmp_path / "a.html").write_text('<p id="y"></p>')
    problems = book.check_site(tmp_path)
    assert len(problems) == 2
    assert any("missing.png" in p for p in problems) and any("no id 'x'" in p for p in problems)


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


def test_published_notebooks_and_buttons(site):
    """The download button gives the chapter's student notebook; the launch, repository and edit
    buttons, the install cell and the Binder environment exist only where the repository is public
    (``nodebio_public_repository`` of _config.yml), pointing at real files."""
    import nbformat

    url, branch = book.repository()
    public = book.public_repository()
    org_repo = url.removeprefix("https://github.com/")
    for chapter in filter(book.is_notebook, book.chapters()):
        page = chapter.relative_to(ROOT).with_suffix("")
        html = (site / f"{page}.html").read_text()
        depth = "../" * (len(page.parts) - 1)
        if chapter.stem == "instructors":
            assert f"{book.NOTEBOOKS_DIR}/{page}.ipynb" not in html
            continue
        notebook = site / book.NOTEBOOKS_DIR / f"{page}.ipynb"
        assert notebook.is_file(), f"{notebook} was not published"
        cells = nbformat.read(notebook, as_version=4).cells
        assert (book.INSTALL_TAG in cells[0].metadata.get("tags", [])) == public
        assert not any(c.get("outputs") for c in cells if c.cell_type == "code")
        assert f'href="{depth}{book.NOTEBOOKS_DIR}/{page}.ipynb"' in html, f"no download link to the notebook in {page}.html"
        colab = f"https://colab.research.google.com/github/{org_repo}/blob/gh-pages/{book.NOTEBOOKS_DIR}/{page}.ipynb"
        binder = f"https://mybinder.org/v2/gh/{org_repo}/gh-pages?urlpath=lab/tree/{book.NOTEBOOKS_DIR}/{page}.ipynb"
        edit = f"{url}/edit/{branch}/{page}.md"
        if public:
            assert colab in html, f"no Colab link to the published notebook in {page}.html"
            assert binder in html, f"no Binder link to the published notebook in {page}.html"
            assert edit in html and (ROOT / f"{page}.md").is_file()
            assert "/blob/main/" not in html.split("launch-buttons")[-1].split("</ul>")[0]
        else:
            assert url not in html, f"{page}.html points at {url}, which is not public (nodebio_public_repository)"
            assert "colab.research.google.com" not in html and "mybinder.org" not in html
    assert (site / ".nojekyll").is_file()
    if public:
        requirements = (site / "binder" / "requirements.txt").read_text()
        assert f"nodebio @ git+{url}@{branch}" in requirements and "torch==" in requirements
    else:
        assert not (site / "binder").exists()


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


def test_html_finds_the_sphinx_extension_of_bookbuild_from_anywhere(tmp_path, monkeypatch):
    """jupyter-book imports bookbuild.sphinxext (not installed) with no PYTHONPATH and another cwd:
    a one-page build tree with the book's _config.yml, and the extension's download button."""
    import nbformat

    import bookbuild.website

    src = tmp_path / "src"
    for name in book.BOOK_FILES:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes((ROOT / name).read_bytes())
    (src / "_toc.yml").write_text("format: jb-book\nroot: book/page\n")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# A page"),
                                               nbformat.v4.new_code_cell("1 + 1")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, src / "book" / "page.ipynb")
    monkeypatch.setattr(bookbuild.website, "ROOT", tmp_path)  # the HTML goes to tmp_path/_build/html
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.chdir(tmp_path)
    site = book.html(src)
    assert site == tmp_path / "_build" / "html"
    page = (site / "book" / "page.html").read_text()
    assert 'href="../_student/book/page.ipynb"' in page  # written by bookbuild.sphinxext
    assert (site / "_student" / "book" / "page.ipynb").is_file()  # bookbuild.student
    assert (site / "_static" / "mathjax" / "tex-mml-chtml.js").is_file()  # served with the site


def _main_chapters() -> list[Path]:
    return [c for c in book.parts()[MAIN_PART] if book.is_notebook(c)]


def test_the_parameters_cell_is_shown_once_with_the_values_it_ran_with(site):
    """papermill's injected cell is in the executed notebook (``_sources``) but not on the page;
    the chapter's own cell is, with the values of the run printed under it."""
    import json

    from bs4 import BeautifulSoup

    for chapter in _main_chapters():
        rel = chapter.relative_to(ROOT)
        soup = BeautifulSoup((site / rel.with_suffix(".html")).read_text(), "html.parser")
        inputs = [c.get_text() for c in soup.select("div.cell_input")]
        shown = [text for text in inputs if re.search(r"^PATHWAY\s*=", text, flags=re.M)]
        assert len(shown) == 1, f"{rel.stem}: {len(shown)} parameters cells on the page, 1 wanted"
        assert not soup.select("div.tag_injected-parameters"), f"{rel.stem}: papermill's cell is on the page"
        notebook = json.loads((site / "_sources" / rel.with_suffix(".ipynb")).read_text())
        tags = [c["metadata"].get("tags", []) for c in notebook["cells"]]
        assert sum("injected-parameters" in t for t in tags) == 1, f"{rel.stem}: the executed notebook lost it"
        mode = notebook["metadata"]["papermill"]["parameters"]["MODE"]
        [cell] = soup.select("div.cell.tag_parameters")
        assert f"Executed with MODE = {mode!r}" in cell.get_text(), f"{rel.stem} does not say it ran in {mode} mode"


def test_a_quick_page_says_so_at_its_top_and_a_full_one_does_not(site):
    import json

    from bs4 import BeautifulSoup

    from bookbuild.sphinxext import QUICK_BANNER

    for chapter in _main_chapters():
        rel = chapter.relative_to(ROOT)
        soup = BeautifulSoup((site / rel.with_suffix(".html")).read_text(), "html.parser")
        notebook = json.loads((site / "_sources" / rel.with_suffix(".ipynb")).read_text())
        quick = notebook["metadata"]["papermill"]["parameters"]["MODE"] == "quick"
        banners = soup.select(".nodebio-quick-run")
        assert len(banners) == int(quick), f"{rel.stem}: {len(banners)} quick-run banners in a {quick=} page"
        if quick:
            assert QUICK_BANNER.split(":")[0] in banners[0].get_text()
            # at the top: before the first section of the chapter's text (Overview)
            first_section = soup.select_one("article h2") or soup.select_one("main h2")
            assert first_section is not None and first_section in banners[0].find_all_next("h2"), (
                f"{rel.stem}: the banner is not at the top")


def test_no_unsubstituted_names_in_the_prose(site):
    problems = book.unsubstituted_names(site)
    assert not problems, "names the reader sees instead of their values:\n" + "\n".join(problems)


def test_the_prose_check_finds_parameters_glue_roles_and_keys_but_not_code():
    page = """<html><body><article>
    <p>measured in this run (mode <code class="literal"><span class="pre">MODE</span></code>, 1 seeds)</p>
    <p>Set <code>DEVICE = "cuda"</code> or pass <code>--param DEVICE=cuda</code>.</p>
    <p>took {glue:text}`minutes` minutes over n_seeds seeds; <code>copies</code>; the copies of a table</p>
    <p>the prose cites a value with <code>{glue:text}`key`</code> (the role's syntax, shown on purpose)</p>
    <div class="cell"><div class="cell_input"><pre>SEED = 0
    glue("n_seeds", 3)</pre></div><div class="cell_output"><pre>MODE = 'quick'</pre>
    <figure><img src="a.png"><figcaption>the mean (seed <code>SEED</code>)</figcaption></figure></div></div>
    <pre>python -m bookbuild execute --param SEED=1 SEED</pre>
    </article></body></html>"""
    problems = book.prose_problems(page, {"MODE", "SEED", "DEVICE"}, {"n_seeds", "copies", "minutes"})
    assert len(problems) == 5, problems
    assert sum("parameter name MODE" in p for p in problems) == 1
    assert sum("parameter name SEED" in p and "the mean (seed" in p for p in problems) == 1
    assert not any("parameter name DEVICE" in p for p in problems)
    assert sum(p.startswith("literal glue role") for p in problems) == 1
    assert sum(p.startswith("glue key n_seeds") for p in problems) == 1
    assert "glue key copies as inline code in the prose" in problems


def test_the_api_page_documents_every_public_name(site):
    """Every name of the ``__all__`` of every module on book/api.md has its entry (autodoc leaves
    out constants a module imports: those are listed with ``autodata``)."""
    import importlib
    import inspect

    html = (site / "book" / "api.html").read_text()
    ids = set(re.findall(r'id="([^"]+)"', html))
    modules = re.findall(r"\.\. automodule:: (\S+)", (ROOT / "book" / "api.md").read_text())
    assert {"nodebio.data", "nodebio.models", "nodebio.report", "nodebio.errors"} <= set(modules)
    missing = [f"{name}.{member}" for name in modules for member in importlib.import_module(name).__all__
               if not inspect.ismodule(getattr(importlib.import_module(name), member))
               and f"{name}.{member}" not in ids]
    assert not missing, "public names missing from the API page (add them to book/api.md): " + ", ".join(missing)


def test_chapter_code_links_to_the_api_page(site):
    """sphinx-codeautolink links the names of nodebio in the chapters' code cells to book/api.html."""
    linked = {}
    for chapter in _main_chapters():
        html = (site / chapter.relative_to(ROOT).with_suffix(".html")).read_text()
        cells = re.findall(r'<div class="cell_input.*?</pre>', html, flags=re.S)
        pattern = r'<a [^>]*href="(?:\.\./book/)?api\.html#(?:module-)?nodebio\.'
        linked[chapter.stem] = sum(len(re.findall(pattern, c)) for c in cells)
    assert all(linked.values()), f"code cells without a link into api.html, by chapter: {linked}"


def test_executed_parameters_text_keeps_the_order_of_the_book():
    values = {"DEVICE": "auto", "EXTRA": 1, "MODE": "quick", "PATHWAY": "limonene", "SEED": 0}
    assert sphinxext.executed_parameters_text(values) == (
        "Executed with MODE = 'quick', SEED = 0, DEVICE = 'auto', PATHWAY = 'limonene', EXTRA = 1")


def test_the_instructors_page_links_the_results_of_the_build(site):
    """The zip of bookbuild.downloads is published and linked; it holds every executed chapter."""
    import json
    import zipfile

    html = (site / "book" / "instructors.html").read_text()
    links = re.findall(r'href="([^"]*nodebio-results\.zip)"', html)
    assert links, "the instructors' page does not link the results of the build"
    path = (site / "book" / links[0]).resolve()
    assert path.is_file(), f"{links[0]} is linked but not in the site"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        chapters = {c.stem for c in book.chapters() if book.is_notebook(c)}
        assert {f"notebooks/{stem}.ipynb" for stem in chapters} <= names
        assert {"glued.json", "build.json"} <= names and any(n.startswith("tables/") for n in names)
        glued = json.loads(archive.read("glued.json"))
        assert all(glued[c.stem] for c in _main_chapters()), "a chapter without glued values in the zip"


def test_docstring_entries_become_definition_lists():
    """The package's ``name : text`` docstrings, as autodoc reads them for book/api.md."""
    lines = ["Summary line.", "", "Attributes", "----------", "table : a DataFrame with", "    two lines.",
             "states, controls : names.", "", "A closing paragraph."]
    assert sphinxext.definition_lists(lines) == [
        "Summary line.", "", ".. rubric:: Attributes", "", "``table``", "    a DataFrame with",
        "    two lines.", "``states``, ``controls``", "    names.", "", "A closing paragraph."]


def test_stderr_and_external_scripts_are_found(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text(
        '<div class="cell_output docutils container"><div class="output stderr highlight-myst-ansi notranslate">'
        '<div class="highlight"><pre><span></span>/tmp/x.py:3: UserWarning: careful\n  warn()</pre></div></div></div>'
        '<div class="output stream highlight-myst-ansi notranslate"><div class="highlight"><pre>fine</pre></div></div>'
        '<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>'
        '<script src="../_static/mathjax/tex-mml-chtml.js"></script>')
    (tmp_path / "index.html").write_text('<div class="output stream"><pre>ok</pre></div><script src="_static/x.js"></script>')
    assert book.stderr_outputs(tmp_path) == ["book/a.html: output on stderr: /tmp/x.py:3: UserWarning: careful"]
    assert book.external_scripts(tmp_path) == [
        "book/a.html: loads https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js from another host"]


def test_no_page_shows_stderr(site):
    """A warning or log line a cell printed on stderr reads as a fault of the book: fix it where
    it is raised."""
    problems = book.stderr_outputs(site)
    assert not problems, "\n".join(problems)


def test_the_site_loads_no_script_from_another_host(site):
    """MathJax and every other script are served with the site, so it works offline."""
    problems = book.external_scripts(site)
    assert not problems, "\n".join(problems)
    with_math = 0
    for chapter in book.chapters():
        page = site / chapter.relative_to(ROOT).with_suffix(".html")
        html = page.read_text()
        if not re.search(r'class="[^"]*\bmath\b', html):
            continue
        with_math += 1
        scripts = re.findall(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', html)
        assert scripts, f"{chapter.stem} has equations but loads no MathJax"
        assert all((page.parent / s.split("?")[0]).resolve().is_file() for s in scripts), scripts
    assert with_math, "no page with an equation"


def test_no_spread_of_a_single_run_in_the_tables(site):
    """A mean over one seed has no standard deviation: "± 0" or "± nan" reads as a measured
    spread of zero. The chapters write "(one seed)" instead."""
    from bs4 import BeautifulSoup

    problems = []
    for chapter in book.chapters():
        soup = BeautifulSoup((site / chapter.relative_to(ROOT).with_suffix(".html")).read_text(), "html.parser")
        for element in soup.select("div.cell_input"):  # the code that writes the tables may say "± 0"
            element.decompose()
        text = " ".join(soup.get_text(" ").split())
        for match in re.finditer(r"±\s*(?:0(?![.\d])|nan)", text):
            problems.append(f"{chapter.stem}: ...{text[max(0, match.start() - 40):match.end() + 10]}...")
    assert not problems, "\n".join(problems[:20])


def test_no_table_is_cut_short(site):
    """pandas shows the first and last rows of a long table and "N rows × M columns" under it:
    the reader loses the rows in between. A chapter shows fewer rows, or all of them."""
    problems = []
    for chapter in book.chapters():
        html = (site / chapter.relative_to(ROOT).with_suffix(".html")).read_text()
        problems += [f"{chapter.stem}: a table cut to {m.group(0)}"
                     for m in re.finditer(r"\d+ rows × \d+ columns", html)]
    assert not problems, "\n".join(problems)
