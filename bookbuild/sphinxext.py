"""Sphinx extension of the book: launch, download and edit buttons that point at real files.

The book is built from executed ``.ipynb`` files (``python -m bookbuild execute``), while the
sources are MyST markdown (``book/*.md``) and the notebooks readers should open are the ones
published with the site (``_notebooks/book/<chapter>.ipynb``, see :func:`bookbuild.publish`).
sphinx-book-theme builds every button from one repository branch and the build's own file
names, which would send Colab and Binder to notebooks that no branch holds, and the edit
button to an ``.ipynb`` that is not in the repository. This extension rewrites, on every
notebook page:

- the Colab and Binder buttons: to the published notebook on the branch the site is deployed
  to (``nodebio_pages_branch``, ``gh-pages`` by default);
- the download group: the published notebook (``.ipynb``) and print to PDF;
- the edit button: to the MyST source on the repository's branch.

It also drops repeated inline scripts from every page: sphinx-thebe's configuration script is
added twice in a jupyter-book 1.x build, and its second ``const THEBE_JS_URL`` is a JavaScript
error in the browser.

The repository comes from ``repository.url`` of ``_config.yml`` (jupyter-book passes it on as
``html_theme_options["repository_url"]``).
"""

from __future__ import annotations

from sphinx.application import Sphinx

NOTEBOOKS_DIR = "_notebooks"


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


def rewrite_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context`` handler, run after sphinx-book-theme has built its buttons."""
    if not _is_notebook(app, pagename, context) or "header_buttons" not in context:
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
            notebook = {
                "type": "link",
                "url": pathto(f"{NOTEBOOKS_DIR}/{pagename}.ipynb", 1),
                "text": ".ipynb",
                "icon": "fas fa-code",
                "tooltip": "Download the notebook of this chapter",
                "label": "download-notebook-button",
            }
            group["buttons"] = [notebook] + [b for b in buttons if b.get("label") == "download-pdf-button"]
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


def setup(app: Sphinx) -> dict:
    app.add_config_value("nodebio_pages_branch", "gh-pages", "html")
    # sphinx-book-theme adds its buttons at priority 501; rewrite them afterwards.
    app.connect("html-page-context", rewrite_buttons, priority=600)
    app.connect("html-page-context", drop_repeated_scripts, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

