"""Sphinx extension of the book: launch, download and edit buttons that point at real files.

The book is built from executed ``.ipynb`` files (``python -m bookbuild execute``), while the
sources are MyST markdown (``book/*.md``) and the notebooks readers should open are the student
edition published with the site (``_student/book/<chapter>.ipynb``, see :mod:`bookbuild.student`).
sphinx-book-theme builds every button from one repository branch and the build's own file
names, which would send Colab and Binder to notebooks that no branch holds, and the edit
button to an ``.ipynb`` that is not in the repository. This extension rewrites, on every
notebook page:

- the Colab and Binder buttons: to the published notebook on the branch the site is deployed
  to (``nodebio_pages_branch``, ``gh-pages`` by default);
- the download group: the chapter's student notebook (``_student/``, :mod:`bookbuild.student`)
  and print to PDF;
- the edit button: to the MyST source on the repository's branch.

Under a chapter's visible parameters cell, whose source shows the defaults, it prints the values
the build executed it with (papermill's injected cell is hidden, see
:func:`bookbuild.execution.execute`), so the reader sees which mode ran. Text outputs of code
cells wrap at the page edge (``static/nodebio.css``) rather than scroll sideways; code cells do
not wrap, they are formatted to fit (``python -m bookbuild format``).

The API page (``book/api.md``, autodoc) reads the package's docstrings, which list attributes
and arguments as ``name : description`` lines under an optional underlined heading;
:func:`definition_lists` turns those into reStructuredText definition lists as autodoc reads
them, so the docstrings stay as they are in the source and build without warnings.

It also drops repeated inline scripts from every page: sphinx-thebe's configuration script is
added twice in a jupyter-book 1.x build, and its second ``const THEBE_JS_URL`` is a JavaScript
error in the browser.

While ``nodebio_public_repository`` (``_config.yml``) is false, the launch, repository, issue and
edit buttons are left out: they would point at a repository that does not exist yet.

MathJax 3 is served with the site: the pages load ``_static/mathjax/tex-mml-chtml.js``, copied
from the pinned ``django-static-mathjax`` package at the end of the build (:func:`copy_mathjax`),
so equations render without a network.

The repository comes from ``repository.url`` of ``_config.yml`` (jupyter-book passes it on as
``html_theme_options["repository_url"]``).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

from bookbuild.sources import EXECUTED_KEY, PARAMETER_NAMES

NOTEBOOKS_DIR = "_student"        # the student edition (bookbuild.student), relative to the HTML root
NOT_FOR_STUDENTS = ("instructors",)
STATIC = Path(__file__).resolve().parent / "static"
MATHJAX_DIR = "mathjax"           # under _static/
# What the site needs of MathJax's es5 distribution: the TeX/MathML-to-CommonHTML component, the
# TeX extensions it loads on demand, its fonts, and the menu and accessibility parts it may load.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y",
                 "adaptors", "LICENSE")


def _is_notebook(app: Sphinx, pagename: str, context: dict) -> bool:
    metadata = app.env.metadata.get(pagename, {})
    return "kernelspec" in metadata or "ipynb" in (context.get("page_source_suffix") or "")


def launch_urls(repository_url: str, pages_branch: str, pagename: str, binderhub_url: str = "https://mybinder.org",
                colab_url: str = "https://colab.research.google.com", interface: str = "lab/tree") -> dict[str, str]:
    """The Colab and Binder URLs of the published notebook of ``pagename`` (e.g. ``book/data``)."""
    org, repo = repository_url.rstrip("/").split("/")[-2:]
    path = f"{NOTEBOOKS_DIR}/{pagename}.ipynb"
    return {
        "Colab": f"{colab_url.rstrip('/')}/github/{org}/{repo}/blob/{pages_branch}/{path}",
        "Binder": f"{binderhub_url.rstrip('/')}/v2/gh/{org}/{repo}/{pages_branch}?urlpath={interface}/{path}",
    }


def public_buttons(app: Sphinx, config) -> None:
    """``config-inited`` handler: no repository, issue, edit or launch buttons while the repository
    is not public (``nodebio_public_repository``: they would point at a page that does not exist)."""
    if config.nodebio_public_repository:
        return
    options = config.html_theme_options
    for name in ("use_repository_button", "use_issues_button", "use_edit_page_button", "use_source_button"):
        options[name] = False
    options["launch_buttons"] = {}


def rewrite_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context`` handler, run after sphinx-book-theme has built its buttons."""
    if "header_buttons" not in context:
        return
    if not app.config.nodebio_public_repository:
        context["header_buttons"] = [g for g in context["header_buttons"]
                                     if g.get("label") not in ("launch-buttons", "source-buttons")]
    if not _is_notebook(app, pagename, context):
        return
    options = app.config.html_theme_options
    repository_url = (options.get("repository_url") or "").rstrip("/")
    branch = options.get("repository_branch") or "main"
    book_path = (options.get("path_to_docs") or "").strip("/")
    launch = options.get("launch_buttons", {}) or {}
    interface = "lab/tree" if launch.get("notebook_interface", "classic") == "jupyterlab" else "tree"
    pages_branch = app.config.nodebio_pages_branch
    pathto = context["pathto"]
    for group in context["header_buttons"]:
        label = group.get("label")
        buttons = group.get("buttons", [])
        if label == "launch-buttons" and repository_url:
            urls = launch_urls(repository_url, pages_branch, pagename,
                               launch.get("binderhub_url") or "https://mybinder.org",
                               launch.get("colab_url") or "https://colab.research.google.com", interface)
            for button in buttons:
                if button.get("text") in urls:
                    button["url"] = urls[button["text"]]
        elif label == "download-buttons":
            kept = [b for b in buttons if b.get("label") == "download-pdf-button"]
            if pagename.split("/")[-1] in NOT_FOR_STUDENTS:
                group["buttons"] = kept
                continue
            notebook = {
                "type": "link",
                "url": pathto(f"{NOTEBOOKS_DIR}/{pagename}.ipynb", 1),
                "text": ".ipynb",
                "icon": "fas fa-code",
                "tooltip": "Download the notebook of this chapter (the student edition: no solutions)",
                "label": "download-notebook-button",
            }
            group["buttons"] = [notebook] + kept
        elif label == "source-buttons" and repository_url:
            for button in buttons:
                if button.get("label") == "source-edit-button":
                    source = f"{book_path}/{pagename}.md" if book_path else f"{pagename}.md"
                    button["url"] = f"{repository_url}/edit/{branch}/{source}"


def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context`` handler: keep the first of identical ``<script>`` entries."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for script in scripts:
        # the same file or inline body (filename None or ""), whatever priority it was added with
        key = (getattr(script, "filename", str(script)) or "",
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept


def executed_parameters_text(values: dict) -> str:
    """The line printed under a parameters cell: the values the chapter was executed with, the
    book's four parameters first in their order (notebook metadata comes back sorted)."""
    names = [n for n in PARAMETER_NAMES if n in values] + sorted(set(values) - set(PARAMETER_NAMES))
    return "Executed with " + ", ".join(f"{name} = {values[name]!r}" for name in names)


def show_executed_parameters(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved`` handler: an output under each parameters cell that names the values
    it ran with (the cell's :data:`EXECUTED_KEY` metadata, written by bookbuild's execute)."""
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") != "cell_code":
            continue
        values = (cell.get("cell_metadata") or {}).get(EXECUTED_KEY)
        if not values:
            continue
        text = executed_parameters_text(values)
        block = nodes.literal_block(text, text, language="none", classes=["output", "stream", "nodebio-executed"])
        output = next((c for c in cell.children if c.get("nb_element") == "cell_code_output"), None)
        if output is None:
            output = nodes.container(nb_element="cell_code_output", classes=["cell_output"])
            cell += output
        output += block


#: The banner at the top of every page executed in quick mode (:func:`quick_banner`).
QUICK_BANNER = ("Numbers from a quick run: small models and few seeds, so they show that the code works, not "
                "the results. The published site shows the full run; the parameters cell of each chapter "
                "says how to run it in full yourself.")


def quick_banner(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved`` handler: a warning admonition (:data:`QUICK_BANNER`) at the top of a
    page whose parameters cell ran with ``MODE = "quick"``, so no quick number reads as a finding."""
    modes = [((cell.get("cell_metadata") or {}).get(EXECUTED_KEY) or {}).get("MODE")
             for cell in doctree.findall(nodes.container) if cell.get("nb_element") == "cell_code"]
    if "quick" not in modes:
        return
    banner = nodes.warning("", nodes.paragraph(QUICK_BANNER, QUICK_BANNER), classes=["nodebio-quick-run"])
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None:
        doctree.insert(0, banner)
        return
    title = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
    section.insert(title + 1, banner)


_ENTRY = re.compile(r"^(?P<names>(?:``[^`]+``|[A-Za-z_]\w*)(?:(?:, | / )[A-Za-z_]\w*)*)\s?: (?P<text>.*)$")


def definition_lists(lines: list[str]) -> list[str]:
    """Docstring ``lines`` with ``name : text`` entries (continued on indented lines) as
    definition lists and underlined headings (``Attributes`` over ``----------``) as rubrics."""
    out: list[str] = []
    in_entry = False
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if re.fullmatch(r"-{3,}", line.strip()):
            continue
        if line.strip() and re.fullmatch(r"-{3,}", following.strip()):
            out += ([""] if out and out[-1] else []) + [f".. rubric:: {line.strip()}", ""]
            in_entry = False
            continue
        entry = _ENTRY.match(line)
        if entry:
            if out and out[-1].strip() and not in_entry:
                out.append("")
            names = [n if n.startswith("``") else f"``{n}``" for n in re.split(r", | / ", entry["names"])]
            out += [", ".join(names), f"    {entry['text']}"]
            in_entry = True
        elif in_entry and line.startswith((" ", "\t")) and line.strip():
            out.append(f"    {line.strip()}")
        else:
            if in_entry and line.strip():
                out.append("")
            in_entry = False
            out.append(line)
    return out


def _process_docstring(app: Sphinx, what: str, name: str, obj, options, lines: list[str]) -> None:
    import inspect

    # a constant re-exported by a subpackage has no doc-comment there: autodoc would show the
    # docstring of its type (dict, str, ...), which is not about the constant
    if what in ("data", "attribute") and "\n".join(lines).strip() == (inspect.getdoc(type(obj)) or "").strip():
        lines[:] = []
    lines[:] = definition_lists(lines)


def untitled_sections_for_codeautolink() -> None:
    """Let sphinx-codeautolink walk the sections sphinx-exercise makes without a title.

    codeautolink keeps a stack of section titles: it pushes one for every title it visits and
    pops one for every section it leaves. The exercise and solution content that sphinx-exercise
    wraps in a ``section`` has no title, so leaving it pops a title it never pushed (an
    IndexError on a chapter that opens with an exercise, a wrong section name otherwise). Here
    an untitled section pushes its parent's title on entry, so the pop on leaving balances it.
    """
    from sphinx_codeautolink.extension.block import CodeBlockAnalyser

    visit = CodeBlockAnalyser.visit_section
    if getattr(visit, "_nodebio_untitled", False):
        return

    def visit_section(self, node) -> None:
        visit(self, node)
        if not (node.children and isinstance(node.children[0], nodes.title)):
            self.title_stack.append(self.title_stack[-1] if self.title_stack else "")

    visit_section._nodebio_untitled = True
    CodeBlockAnalyser.visit_section = visit_section


def _static_path(app: Sphinx) -> None:
    app.config.html_static_path.append(str(STATIC))


def mathjax_source() -> Path:
    """The ``es5`` folder of the MathJax 3 distribution of the pinned ``django-static-mathjax``."""
    try:
        import mathjax
    except ImportError:
        raise RuntimeError("MathJax is served with the site from the package django-static-mathjax, which is "
                           "not installed: run `make env` (it is pinned in requirements.lock)") from None
    folder = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (folder / "tex-mml-chtml.js").is_file():
        raise RuntimeError(f"{folder} holds no tex-mml-chtml.js: reinstall django-static-mathjax (`make env`)")
    return folder


def local_mathjax(app: Sphinx, config) -> None:
    """``config-inited`` handler: the pages load MathJax from ``_static/mathjax/`` of the site, not
    from a CDN, so equations render offline (:func:`copy_mathjax` puts it there)."""
    config.mathjax_path = f"{MATHJAX_DIR}/tex-mml-chtml.js"   # relative: under _static


def copy_mathjax(app: Sphinx, exception) -> None:
    """``build-finished`` handler: copy :data:`MATHJAX_PARTS` of MathJax into ``_static/mathjax``."""
    import shutil

    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        elif (source / part).is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)
        elif (source.parent / part).is_file():  # the licence sits next to es5/
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source.parent / part, target / part)


def setup(app: Sphinx) -> dict:
    app.add_config_value("nodebio_pages_branch", "gh-pages", "html")
    app.add_config_value("nodebio_public_repository", False, "html")
    app.connect("config-inited", public_buttons)
    app.connect("config-inited", local_mathjax, priority=900)
    app.connect("build-finished", copy_mathjax)
    app.connect("builder-inited", _static_path)
    app.add_css_file("nodebio.css")
    app.connect("doctree-resolved", show_executed_parameters)
    app.connect("doctree-resolved", quick_banner)
    app.setup_extension("sphinx.ext.autodoc")  # its event, whatever the order of extra_extensions
    if "sphinx_codeautolink" in app.config.extensions:
        untitled_sections_for_codeautolink()
    app.connect("autodoc-process-docstring", _process_docstring)
    # sphinx-book-theme adds its buttons at priority 501; rewrite them afterwards.
    app.connect("html-page-context", rewrite_buttons, priority=600)
    app.connect("html-page-context", drop_repeated_scripts, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

