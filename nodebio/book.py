"""Building the book: chapters from MyST markdown to executed notebooks to HTML.

Used by the Makefile; also runnable by hand::

    python -m nodebio.book execute --mode quick --out _build/src   # papermill, every chapter
    python -m nodebio.book html --src _build/src                    # jupyter-book -> _build/html
    python -m nodebio.book prepare --mode quick --out _build/nbval  # parameterized, not executed
    python -m nodebio.book environment-file                         # environment.yml from the lock

Chapter sources are the jupytext MyST files ``book/*.md`` listed in ``_toc.yml``. ``execute``
converts each to a notebook, injects its parameters with papermill (``MODE`` and any
``--param NAME=VALUE``), runs it, and lays out a build tree (``_config.yml``, ``_toc.yml``,
``references.bib``, the executed ``book/*.ipynb``) that ``html`` hands to ``jupyter-book build``
with warnings as errors. A failing cell stops the run and names the chapter and the cell.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib")
PARAMETER_NAMES = ("MODE", "SEED", "DEVICE", "PATHWAY")
MODES = ("quick", "full")


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


def _kernel_path(build_dir: Path) -> None:
    """Make the ``python3`` kernel of the chapters this interpreter, whatever else is installed.

    JUPYTER_PATH comes before the user's and the system's kernel folders, so a ``python3``
    kernelspec elsewhere cannot send the chapters to an environment without nodebio.
    """
    import os

    spec_dir = build_dir / ".jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (nodebio)",
        "language": "python",
    }))
    paths = [str(build_dir / ".jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)


def _to_notebook(chapter: Path, target: Path, parameters: dict) -> None:
    import jupytext
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(chapter), target, fmt="ipynb")
    papermill.execute_notebook(str(target), str(target), parameters=parameters, prepare_only=True,
                               kernel_name="python3", progress_bar=False)
    # The injected cell is shown or hidden like the chapter's own parameters cell.
    import nbformat

    notebook = nbformat.read(target, as_version=4)
    tags = next((c.metadata.get("tags", []) for c in notebook.cells if "parameters" in c.metadata.get("tags", [])), [])
    display = [t for t in tags if t in ("remove-cell", "remove-input", "hide-cell", "hide-input")]
    if display:
        for cell in notebook.cells:
            if "injected-parameters" in cell.metadata.get("tags", []):
                cell.metadata["tags"] = list(dict.fromkeys(cell.metadata["tags"] + display))
        nbformat.write(notebook, target)


def _parameters(chapter: Path, mode: str, extra: dict) -> dict:
    if mode not in MODES:
        raise ValueError(f"MODE must be one of {', '.join(MODES)}, got {mode!r}.")
    known = parameters_of(chapter)
    missing = [p for p in PARAMETER_NAMES if p not in known]
    if missing:
        raise ChapterError(f"The parameters cell of {chapter} lacks {', '.join(missing)}.")
    return {"MODE": mode, **{k: v for k, v in extra.items() if k in known}}


def prepare(mode: str, out: Path, extra: dict | None = None, toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """Write every chapter as a parameterized, unexecuted notebook under ``out`` (for nbval)."""
    written = []
    for chapter in filter(is_notebook, chapters(toc)):
        target = out / chapter.relative_to(Path(toc).parent).with_suffix(".ipynb")
        _to_notebook(chapter, target, _parameters(chapter, mode, extra or {}))
        written.append(target)
    return written


def execute(mode: str, out: Path, extra: dict | None = None, only: list[str] | None = None,
            toc: Path = ROOT / "_toc.yml") -> dict[str, float]:
    """Execute every chapter with papermill into the build tree ``out``; returns seconds per chapter.

    A failing cell raises :class:`ChapterError` naming the chapter and the cell.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out.mkdir(parents=True, exist_ok=True)
    _kernel_path(out.parent)
    root = Path(toc).parent
    for name in BOOK_FILES:
        if (root / name).exists():
            shutil.copy2(root / name, out / name)
    timings = {}
    selected = chapters(toc)
    if only:
        unknown = sorted(set(only) - {c.stem for c in selected})
        if unknown:
            raise ChapterError(f"No chapter named {', '.join(unknown)} in {toc}.")
        selected = [c for c in selected if c.stem in only]
    for chapter in selected:
        rel = chapter.relative_to(root)
        if not is_notebook(chapter):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(chapter, out / rel)
            continue
        target = out / rel.with_suffix(".ipynb")
        _to_notebook(chapter, target, _parameters(chapter, mode, extra or {}))
        print(f"[nodebio.book] executing {rel} (MODE={mode})", flush=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(str(target), str(target), kernel_name="python3",
                                       cwd=str(target.parent), progress_bar=True)
        except PapermillExecutionError as error:
            import nbformat

            # papermill puts an error banner cell on top of the saved notebook: find the
            # failing cell by its execution count rather than its index.
            cells = nbformat.read(target, as_version=4).cells
            failed = [c for c in cells if c.get("execution_count") == error.exec_count]
            source = failed[0].source.strip() if failed else ""
            first = source.splitlines()[0] if source else ""
            raise ChapterError(
                f"Chapter {rel} failed in cell {error.cell_index} of the notebook (execution count "
                f"{error.exec_count}, starting `{first}`): {error.ename}: {error.evalue}\n"
                f"The partly executed notebook is {target}; run the chapter by hand to debug it."
            ) from None
        timings[str(rel)] = time.perf_counter() - start
        print(f"[nodebio.book] {rel}: {timings[str(rel)]:.1f} s", flush=True)
    (out / "timings.json").write_text(json.dumps({"mode": mode, "seconds": timings}, indent=2))
    return timings


def html(src: Path) -> Path:
    """Build the HTML of an executed build tree with jupyter-book, warnings as errors.

    The output goes to ``_build/html`` at the repository root.
    """
    if not (src / "_toc.yml").exists():
        raise ChapterError(f"{src} is not an executed build tree: run `python -m nodebio.book execute` first.")
    command = [sys.executable, "-m", "jupyter_book", "build", str(src), "--path-output", str(ROOT),
               "--warningiserror", "--nitpick", "--keep-going"]
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jb:
        command = [jb] + command[3:]
    print("[nodebio.book] " + " ".join(command), flush=True)
    result = subprocess.run(command)
    if result.returncode != 0:
        raise ChapterError("jupyter-book build failed (see the warnings above; warnings count as errors).")
    return ROOT / "_build" / "html"


def lock_requirements(lock: Path = ROOT / "requirements.lock") -> list[str]:
    """The pinned requirement lines of the lock file."""
    return [line.strip() for line in lock.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def environment_file(path: Path = ROOT / "environment.yml") -> None:
    """Write environment.yml for conda users: python plus the lock's pins in a pip section."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [
        "# Generated from requirements.lock by `make env-file`; a test checks that they agree.",
        "name: nodebio",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={version}",
        "  - pip",
        "  - pip:",
        *[f"      - {req}" for req in lock_requirements()],
        "      - -e .",
        "",
    ]
    path.write_text("\n".join(lines))


def _key_values(items: list[str]) -> dict:
    import ast

    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nodebio.book", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("execute", "prepare"):
        p = sub.add_parser(name)
        p.add_argument("--mode", choices=MODES, default="full")
        p.add_argument("--out", type=Path, default=ROOT / "_build" / ("src" if name == "execute" else "nbval"))
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="another parameter of the chapters, e.g. SEED=1")
        if name == "execute":
            p.add_argument("--only", action="append", help="execute only this chapter (file stem)")
    p = sub.add_parser("html")
    p.add_argument("--src", type=Path, default=ROOT / "_build" / "src")
    sub.add_parser("environment-file")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            execute(args.mode, args.out, _key_values(args.param), args.only)
        elif args.command == "prepare":
            for path in prepare(args.mode, args.out, _key_values(args.param)):
                print(f"[nodebio.book] prepared {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        elif args.command == "html":
            print(f"[nodebio.book] HTML in {html(args.src)}")
        else:
            environment_file()
    except (ChapterError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
