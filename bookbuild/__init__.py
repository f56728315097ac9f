"""Building the book: chapters from MyST markdown to executed notebooks to HTML.

Used by the Makefile; also runnable by hand from the repository root::

    python -m bookbuild execute --mode quick --out _build/src   # papermill, every chapter
    python -m bookbuild html --src _build/src                    # jupyter-book -> _build/html
    python -m bookbuild prepare --mode quick --out _build/nbval  # parameterized, not executed
    python -m bookbuild environment-file                         # environment.yml from the lock
    python -m bookbuild time --mode quick                        # record chapter timings in book/_timings
    python -m bookbuild check-site                               # links, images, names in the prose, stderr
    python -m bookbuild format [--check] [FILES]                 # black over the chapters' code cells

Chapter sources are the jupytext MyST files ``book/*.md`` listed in ``_toc.yml``. ``execute``
converts each to a notebook, injects its parameters with papermill (``MODE`` and any
``--param NAME=VALUE``), runs it, and lays out a build tree (``_config.yml``, ``_toc.yml``,
``references.bib``, the executed ``book/*.ipynb``) that ``html`` hands to ``jupyter-book build``
with warnings as errors. A failing cell stops the run and names the chapter and the cell.

Where the repository of ``_config.yml`` is public (``nodebio_public_repository``), every chapter
notebook the build writes starts with an install cell (:func:`with_install_cell`, hidden in the
HTML) that installs nodebio from it where it is missing, so a published notebook opened in Colab
or Binder runs top to bottom. ``html`` also publishes, from the executed chapters, the student
edition under ``_build/html/_student/`` (glued values written into the prose, exercises as plain
markdown, no solutions: where the download and launch buttons of the site point,
:mod:`bookbuild.sphinxext`) and the instructors' key under ``_build/html/_instructor/``
(:mod:`bookbuild.student`).

bookbuild is not part of the ``nodebio`` distribution: it is imported from the repository root
(the Makefile runs ``python -m bookbuild`` there), and the processes it starts, papermill's
kernels and jupyter-book's Sphinx, get that folder on their PYTHONPATH
(:func:`bookbuild.sources.python_path`).

Modules: :mod:`~bookbuild.sources` (the toc, the config, parameters and the install cell),
:mod:`~bookbuild.execution` (papermill, the build record), :mod:`~bookbuild.timings`,
:mod:`~bookbuild.website` (jupyter-book, published notebooks), :mod:`~bookbuild.student`, :mod:`~bookbuild.sitecheck`,
:mod:`~bookbuild.environment` (the lock and environment.yml), :mod:`~bookbuild.formatting`
(black over the code cells), :mod:`~bookbuild.conventions` (the shape of a chapter), :mod:`~bookbuild.cli`, and the
Sphinx extension :mod:`~bookbuild.sphinxext` (imported by Sphinx only).
"""

from bookbuild.environment import environment_file, lock_requirements
from bookbuild.execution import build_record, execute, hardware, prepare
from bookbuild.formatting import LINE_LENGTH, SOLUTION_LINE_LENGTH, format_chapters, format_text
from bookbuild.sitecheck import (check_site, external_scripts, glue_keys, prose_problems, stderr_outputs,
                                 unsubstituted_names)
from bookbuild.sources import (BOOK_FILES, INSTALL_TAG, MODES, PARAMETER_NAMES, ROOT, ChapterError, chapters,
                               install_cell_source, is_notebook, parameters_of, parts, public_repository,
                               repository, with_install_cell)
from bookbuild.student import INSTRUCTOR_DIR, STUDENT_DIR, write_editions
from bookbuild.timings import TIMINGS_DIR, record_timings, recorded_timings
from bookbuild.website import NOTEBOOKS_DIR, html, publish

__all__ = [
    "BOOK_FILES", "INSTALL_TAG", "INSTRUCTOR_DIR", "STUDENT_DIR", "public_repository", "write_editions", "stderr_outputs", "external_scripts", "LINE_LENGTH", "MODES", "NOTEBOOKS_DIR", "PARAMETER_NAMES", "ROOT", "SOLUTION_LINE_LENGTH",
    "TIMINGS_DIR", "ChapterError", "build_record", "chapters", "check_site", "environment_file", "execute",
    "format_chapters", "format_text", "glue_keys", "hardware", "html", "install_cell_source", "is_notebook",
    "lock_requirements", "parameters_of", "parts", "prepare", "prose_problems", "publish", "record_timings",
    "recorded_timings", "repository", "unsubstituted_names", "with_install_cell",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m bookbuild`` (:func:`bookbuild.cli.main`)."""
    from bookbuild.cli import main as cli_main

    return cli_main(argv)
