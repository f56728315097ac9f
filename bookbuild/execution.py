"""Executing the chapters: MyST markdown to parameterized notebooks (papermill), run in a kernel
of this interpreter, with a record of the build (mode, parameters, hardware, seconds)."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from bookbuild.sources import (BOOK_FILES, EXECUTED_KEY, MODES, PARAMETER_NAMES, ROOT, ChapterError, chapters,
                               is_notebook, parameters_of, python_path, with_install_cell)


def _kernel_path(build_dir: Path) -> None:
    """Make the ``python3`` kernel of the chapters this interpreter, whatever else is installed.

    JUPYTER_PATH comes before the user's and the system's kernel folders, so a ``python3``
    kernelspec elsewhere cannot send the chapters to an environment without nodebio.

    The kernel starts in the chapter's build folder, where ``import bookbuild`` (the instructors'
    and reproducibility pages read the build through it) would fail: bookbuild is not installed,
    only imported from the repository. The kernelspec's ``env`` puts the repository first on the
    kernel's PYTHONPATH (and keeps what PYTHONPATH held already); jupyter_client merges it into
    the environment the kernel inherits.

    The folder goes into JUPYTER_PATH as an absolute path: papermill looks the kernelspec up
    from inside the chapter's folder (it changes the cwd to ``cwd`` while it executes), where a
    relative one (``--out _build/src`` in the Makefile) would name nothing and jupyter_client
    would fall back to ipykernel's own ``python3`` spec, without this ``env``.
    """
    build_dir = Path(build_dir).resolve()
    spec_dir = build_dir / ".jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (nodebio)",
        "language": "python",
        "env": {"PYTHONPATH": python_path()},
    }))
    paths = [str(build_dir / ".jupyter")] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)


def _to_notebook(chapter: Path, target: Path, parameters: dict) -> None:
    import jupytext
    import papermill

    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(with_install_cell(jupytext.read(chapter)), target, fmt="ipynb")
    papermill.execute_notebook(str(target), str(target), parameters=parameters, prepare_only=True,
                               kernel_name="python3", progress_bar=False)
    # papermill's injected cell stays in the notebook (it is what ran) but not in the HTML, where
    # it would show a second parameters cell. The chapter's own cell records the values the
    # build ran with (EXECUTED_KEY); bookbuild.sphinxext prints them under it on the page.
    import nbformat

    notebook = nbformat.read(target, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell.metadata["tags"] = list(dict.fromkeys(tags + ["remove-cell"]))
        elif "parameters" in tags:
            cell.metadata[EXECUTED_KEY] = {**parameters_of(chapter), **parameters}
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


def hardware() -> dict[str, object]:
    """What this machine is: platform, CPU model and cores, memory, torch's threads and CUDA device."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, object] = {"platform": platform.platform(), "python": platform.python_version(),
                               "cpu": cpu, "logical_cores": os.cpu_count()}
    try:
        info["usable_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gib"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda_device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        info["torch"] = None
    return info


def execute(mode: str, out: Path, extra: dict | None = None, only: list[str] | None = None,
            toc: Path = ROOT / "_toc.yml", jobs: int | None = None) -> dict[str, float]:
    """Execute every chapter with papermill into the build tree ``out``; returns seconds per chapter.

    With ``jobs`` above 1 (default ``$NODEBIO_JOBS``, else 1), the fits the chapters will make
    that can be listed beforehand (:mod:`bookbuild.planning`) are first made by that many worker
    processes into the build's model store, and the kernels inherit ``NODEBIO_JOBS``; the record
    keeps what the plan did and its seconds under ``plan``.

    A failing cell raises :class:`ChapterError` naming the chapter and the cell. The record of
    the build (mode, parameters, hardware, start time and the seconds of each chapter executed
    so far) is rewritten to ``out/timings.json`` after every chapter, so a chapter executed last
    can read the times of the others (:func:`build_record`; the kernels find the build through
    the ``NODEBIO_BUILD_DIR`` environment variable).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    out.mkdir(parents=True, exist_ok=True)
    _kernel_path(out.parent)
    os.environ["NODEBIO_BUILD_DIR"] = str(out.resolve())
    # One model store per build and mode (nodebio.store): a model that two chapters fit with the
    # same data, split, seed and options (the comparison, in the compare and the choosing chapter)
    # is trained once. An absolute path: the kernels run in the chapters' folders.
    os.environ.setdefault("NODEBIO_STORE", str((out.parent / "store" / mode).resolve()))
    # The kernels inherit this environment: a non-interactive backend (MPLBACKEND=Agg, as in CI)
    # would make plt.show() draw nothing and leave every figure of the book empty.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    root = Path(toc).parent
    for name in BOOK_FILES:
        if (root / name).exists():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, out / name)
    timings: dict[str, float] = {}
    record = {"mode": mode, "parameters": {"MODE": mode, **(extra or {})},
              "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "hardware": hardware(), "seconds": timings}
    selected = chapters(toc)
    if only:
        unknown = sorted(set(only) - {c.stem for c in selected})
        if unknown:
            raise ChapterError(f"No chapter named {', '.join(unknown)} in {toc}.")
        selected = [c for c in selected if c.stem in only]
    from nodebio.plan import default_jobs

    jobs = default_jobs(jobs)
    if jobs > 1:
        from bookbuild.planning import book_plan, run_plan

        os.environ["NODEBIO_JOBS"] = str(jobs)
        plans = book_plan(mode, extra, [c.stem for c in selected], toc)
        print(f"[bookbuild] planning the fits of {', '.join(plans) or 'no chapter'} with {jobs} workers", flush=True)
        record["plan"] = run_plan(plans, os.environ["NODEBIO_STORE"], jobs)
        print(f"[bookbuild] plan: {record['plan']['pending']} of {record['plan']['planned']} fits made in "
              f"{record['plan']['seconds']:.1f} s", flush=True)
    (out / "timings.json").write_text(json.dumps(record, indent=2))
    for chapter in selected:
        rel = chapter.relative_to(root)
        if not is_notebook(chapter):
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(chapter, out / rel)
            continue
        target = out / rel.with_suffix(".ipynb")
        _to_notebook(chapter, target, _parameters(chapter, mode, extra or {}))
        print(f"[bookbuild] executing {rel} (MODE={mode})", flush=True)
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
        timings[str(rel)] = round(time.perf_counter() - start, 2)
        print(f"[bookbuild] {rel}: {timings[str(rel)]:.1f} s", flush=True)
        (out / "timings.json").write_text(json.dumps(record, indent=2))
    return timings


def build_record(build_dir: str | Path | None = None) -> dict | None:
    """The record of the build this chapter runs in (``timings.json``), or None outside a build."""
    build_dir = build_dir or os.environ.get("NODEBIO_BUILD_DIR")
    if not build_dir or not (Path(build_dir) / "timings.json").is_file():
        return None
    return json.loads((Path(build_dir) / "timings.json").read_text())

