"""The chapter sources of the book: ``_toc.yml``, ``_config.yml``, and each chapter's parameters
and install cell. Everything else in :mod:`bookbuild` reads the book through this module.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

# The repository root: bookbuild/ sits at its top, next to _config.yml, _toc.yml and book/.
ROOT = Path(__file__).resolve().parent.parent
# The folder `import bookbuild` resolves from. bookbuild is not pip-installed (only nodebio is),
# so the processes the build starts (papermill's kernels, jupyter-book's Sphinx) get this folder
# on their PYTHONPATH (:func:`python_path`). Kept apart from ROOT, which tests may point elsewhere.
IMPORT_ROOT = Path(__file__).resolve().parent.parent
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "book/logo.svg")
INSTALL_TAG = "nodebio-install"
# Metadata key of a chapter's parameters cell in an executed notebook: the values it ran with.
EXECUTED_KEY = "nodebio-executed-parameters"
PARAMETER_NAMES = ("MODE", "SEED", "DEVICE", "PATHWAY")
MODES = ("quick", "full")


def python_path(environ: dict | None = None) -> str:
    """``PYTHONPATH`` for a child process that must ``import bookbuild``: :data:`IMPORT_ROOT`
    first, then the entries already in ``environ`` (``os.environ`` by default)."""
    environ = os.environ if environ is None else environ
    current = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(IMPORT_ROOT)]
    return os.pathsep.join([str(IMPORT_ROOT)] + current)


class ChapterError(RuntimeError):
    """A chapter failed to execute; the message names the chapter and the cell."""


def chapters(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The chapter sources listed in ``_toc.yml`` (root first), as paths of ``.md`` files."""
    spec = yaml.safe_load(Path(toc).read_text())
    names = [spec["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
            for part in entry.get("parts", []) or []:
                walk(part.get("chapters"))

    walk(spec.get("chapters"))
    for part in spec.get("parts", []) or []:
        walk(part.get("chapters"))
    paths = []
    for name in names:
        path = Path(toc).parent / f"{name}.md"
        if not path.is_file():
            raise FileNotFoundError(f"_toc.yml lists {name!r} but {path} does not exist.")
        paths.append(path)
    return paths


def parts(toc: Path = ROOT / "_toc.yml") -> dict[str, list[Path]]:
    """The chapter sources of each part of ``_toc.yml`` by caption (the root page under ``""``)."""
    spec = yaml.safe_load(Path(toc).read_text())
    names = {"": [spec["root"]]}
    for part in spec.get("parts", []) or []:
        names[part.get("caption", "")] = [entry["file"] for entry in part.get("chapters", []) if "file" in entry]
    names[""] += [entry["file"] for entry in spec.get("chapters", []) or [] if "file" in entry]
    return {caption: [Path(toc).parent / f"{name}.md" for name in files] for caption, files in names.items()}


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """The repository URL and branch of the book, from the ``repository`` section of ``_config.yml``."""
    spec = yaml.safe_load(Path(config).read_text()).get("repository", {})
    return spec["url"].rstrip("/"), spec.get("branch", "main")


def public_repository(config: Path = ROOT / "_config.yml") -> bool:
    """Whether the repository of ``_config.yml`` is public: ``sphinx.config.nodebio_public_repository``.

    While it is not (False, the default), nothing points at it: no install cell in the notebooks,
    no launch, repository, issue or edit buttons on the pages, no Binder environment.
    """
    spec = yaml.safe_load(Path(config).read_text()) or {}
    return bool(((spec.get("sphinx") or {}).get("config") or {}).get("nodebio_public_repository", False))


def install_cell_source(config: Path = ROOT / "_config.yml") -> str:
    """The source of the first cell of every chapter notebook: install nodebio where it is missing."""
    url, branch = repository(config)
    return (
        "# Installs nodebio where it is missing (Colab, Binder); does nothing where it is installed.\n"
        "try:\n"
        "    import nodebio\n"
        "except ImportError:\n"
        f'    %pip install --quiet "nodebio @ git+{url}@{branch}"'
    )


def with_install_cell(notebook, config: Path = ROOT / "_config.yml"):
    """``notebook`` with the install cell first (once), tagged to be removed from the HTML; without
    one where the repository is not public (:func:`public_repository`)."""
    import nbformat

    cells = [c for c in notebook.cells if INSTALL_TAG not in c.metadata.get("tags", [])]
    if not public_repository(config):
        notebook.cells = cells
        return notebook
    cell = nbformat.v4.new_code_cell(install_cell_source(config), metadata={"tags": [INSTALL_TAG, "remove-cell"]})
    if (notebook.nbformat, notebook.nbformat_minor) < (4, 5):
        cell.pop("id", None)  # cell ids came with nbformat 4.5
    notebook.cells = [cell] + cells
    return notebook


def is_notebook(chapter: Path) -> bool:
    """A chapter with code: its front matter names a kernel. Other pages are plain MyST text."""
    text = chapter.read_text()
    if not text.startswith("---"):
        return False
    front = yaml.safe_load(text.split("---", 2)[1]) or {}
    return "kernelspec" in front


def parameters_of(chapter: Path) -> dict[str, object]:
    """The names and default values of the chapter's papermill ``parameters`` cell."""
    import ast

    import jupytext

    notebook = jupytext.read(chapter)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"{chapter} needs exactly one cell tagged 'parameters', found {len(cells)}.")
    values = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    return values

