"""The HTML of the book: ``jupyter-book build`` of an executed build tree, with the zip of its
results (:mod:`bookbuild.downloads`), then the student edition and the instructors' key
(:mod:`bookbuild.student`), the Binder environment and the favicon published next to the pages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bookbuild.downloads import collect_results
from bookbuild.environment import lock_requirements
from bookbuild.sources import ROOT, ChapterError, public_repository, python_path, repository
from bookbuild.student import STUDENT_DIR, write_editions

NOTEBOOKS_DIR = STUDENT_DIR       # published notebooks (the student edition), relative to the HTML root


def html(src: Path) -> Path:
    """Build the HTML of an executed build tree with jupyter-book, warnings as errors.

    The output goes to ``_build/html`` at the repository root. The zip of the build's results
    is written into ``src`` first, where the instructors' page links it.
    """
    if not (src / "_toc.yml").exists():
        raise ChapterError(f"{src} is not an executed build tree: run `python -m bookbuild execute` first.")
    if any((src / "book").glob("*.ipynb")):
        print(f"[bookbuild] results of the build in {collect_results(src)}", flush=True)
    command = [sys.executable, "-m", "jupyter_book", "build", str(src), "--path-output", str(ROOT),
               "--warningiserror", "--nitpick", "--keep-going", "--all"]
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jb:
        command = [jb] + command[3:]
    print("[bookbuild] " + " ".join(command), flush=True)
    # Sphinx imports the book's extension, bookbuild.sphinxext (``extra_extensions`` of
    # _config.yml), inside jupyter-book's process, and bookbuild is not installed. jupyter-book
    # 1.x also offers ``sphinx: local_extensions: {name: path}``, but it resolves the path
    # against the folder of the _config.yml it reads, which here is the copy in the build tree
    # (``src``: _build/src, or any folder given with --src); a relative path would be right for
    # one depth of build tree only, and an absolute one cannot be committed. PYTHONPATH with the
    # folder bookbuild is imported from is right wherever the build tree and the cwd are.
    result = subprocess.run(command, env={**os.environ, "PYTHONPATH": python_path()})
    if result.returncode != 0:
        raise ChapterError("jupyter-book build failed (see the warnings above; warnings count as errors).")
    site = ROOT / "_build" / "html"
    for path in publish(site, src):
        print(f"[bookbuild] published {path.relative_to(site)}", flush=True)
    return site


def publish(site: Path, src: Path, config: Path | None = None) -> list[Path]:
    """Publish the executed chapters of the build tree ``src`` as notebooks next to the pages.

    The student edition goes to ``site/_student`` (the download and launch buttons) and the
    instructors' key to ``site/_instructor`` (:func:`bookbuild.student.write_editions`): Jupyter,
    Colab and Binder open neither MyST markdown nor the glue and exercise markup of the sources.
    Next to them: ``.nojekyll`` (GitHub Pages would hide folders whose names start with ``_``)
    and, where the repository is public, ``binder/`` (the environment Binder builds when the site
    is served from a branch of the repository).
    """
    config = Path(config) if config else Path(src) / "_config.yml"
    written = write_editions(src, site, config)
    (site / ".nojekyll").touch()
    # Browsers ask for /favicon.ico on pages without an icon link, such as the redirecting index.
    _favicon(site / "favicon.ico")
    written.append(site / "favicon.ico")
    if not public_repository(config):
        return written
    url, branch = repository(config)
    binder = site / "binder"
    binder.mkdir(parents=True, exist_ok=True)
    (binder / "runtime.txt").write_text(f"python-{sys.version_info.major}.{sys.version_info.minor}\n")
    pins = [line for line in lock_requirements() if not line.lower().startswith("torch==")]
    torch = next(line for line in lock_requirements() if line.lower().startswith("torch=="))
    (binder / "requirements.txt").write_text("\n".join([
        "# The book's pinned environment with the CPU build of torch, and nodebio from the repository.",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        f"{torch}+cpu", *pins, f"nodebio @ git+{url}@{branch}", ""]))
    return written + [binder / "runtime.txt", binder / "requirements.txt"]


def _favicon(path: Path) -> None:
    """A 32x32 icon after book/logo.svg: three pathway nodes on a curve."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (32, 32), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    nodes = [(6, 24), (16, 15), (26, 7)]
    draw.line(nodes, fill=(31, 119, 180, 255), width=3)
    for x, y in nodes:
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=(255, 127, 14, 255), outline=(255, 255, 255, 255))
    image.save(path, format="ICO", sizes=[(32, 32)])

