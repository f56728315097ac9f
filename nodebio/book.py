"""Building the book: chapters from MyST markdown to executed notebooks to HTML.

Used by the Makefile; also runnable by hand::

    python -m nodebio.book execute --mode quick --out _build/src   # papermill, every chapter
    python -m nodebio.book html --src _build/src                    # jupyter-book -> _build/html
    python -m nodebio.book prepare --mode quick --out _build/nbval  # parameterized, not executed
    python -m nodebio.book environment-file                         # environment.yml from the lock
    python -m nodebio.book time --mode quick                        # record chapter timings in book/_timings
    python -m nodebio.book check-site                               # internal links and images of _build/html

Chapter sources are the jupytext MyST files ``book/*.md`` listed in ``_toc.yml``. ``execute``
converts each to a notebook, injects its parameters with papermill (``MODE`` and any
``--param NAME=VALUE``), runs it, and lays out a build tree (``_config.yml``, ``_toc.yml``,
``references.bib``, the executed ``book/*.ipynb``) that ``html`` hands to ``jupyter-book build``
with warnings as errors. A failing cell stops the run and names the chapter and the cell.

Every chapter notebook the build writes starts with an install cell (:func:`with_install_cell`,
hidden in the HTML) that installs nodebio from the repository of ``_config.yml`` where it is
missing, so a published notebook opened in Colab or Binder runs top to bottom. ``html`` also
publishes the notebooks (unexecuted, from the sources) under ``_build/html/_notebooks/``, where
the launch and download buttons of the site point (:mod:`nodebio.sphinxext`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK_FILES = ("_config.yml", "_toc.yml", "references.bib", "book/logo.svg")
INSTALL_TAG = "nodebio-install"
NOTEBOOKS_DIR = "_notebooks"      # published notebooks, relative to the HTML root
TIMINGS_DIR = ROOT / "book" / "_timings"
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
    """``notebook`` with the install cell first (once), tagged to be removed from the HTML."""
    import nbformat

    cells = [c for c in notebook.cells if INSTALL_TAG not in c.metadata.get("tags", [])]
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
    jupytext.write(with_install_cell(jupytext.read(chapter)), target, fmt="ipynb")
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
            toc: Path = ROOT / "_toc.yml") -> dict[str, float]:
    """Execute every chapter with papermill into the build tree ``out``; returns seconds per chapter.

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
    (out / "timings.json").write_text(json.dumps(record, indent=2))
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
        timings[str(rel)] = round(time.perf_counter() - start, 2)
        print(f"[nodebio.book] {rel}: {timings[str(rel)]:.1f} s", flush=True)
        (out / "timings.json").write_text(json.dumps(record, indent=2))
    return timings


def build_record(build_dir: str | Path | None = None) -> dict | None:
    """The record of the build this chapter runs in (``timings.json``), or None outside a build."""
    build_dir = build_dir or os.environ.get("NODEBIO_BUILD_DIR")
    if not build_dir or not (Path(build_dir) / "timings.json").is_file():
        return None
    return json.loads((Path(build_dir) / "timings.json").read_text())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def record_timings(mode: str, label: str | None = None, note: str = "", extra: dict | None = None,
                   out_dir: Path = TIMINGS_DIR, toc: Path = ROOT / "_toc.yml", only: list[str] | None = None) -> Path:
    """Execute every chapter (or the ``only`` ones) in ``mode`` and save the seconds of each to
    ``out_dir``.

    The file ``<label>-<mode>.json`` (``<label>-<mode>-<chapters>.json`` with ``only``) is stamped
    with the date, the hardware, the command and ``note`` (e.g. whether the machine was shared);
    the instructors' page renders these files.
    """
    build = ROOT / "_build" / f"timing-{mode}"
    seconds = execute(mode, build / "src", extra, only, toc=toc)
    info = hardware()
    label = label or _slug(f"{info['cuda_device'] or 'cpu'}-{info['logical_cores']}-cores")
    command = f"python -m nodebio.book time --mode {mode}" + (f" --label {label}" if label else "")
    command += "".join(f" --only {name}" for name in only or [])
    record = {"label": label, "mode": mode, "date": datetime.date.today().isoformat(), "command": command,
              "note": note, "hardware": info, "parameters": {"MODE": mode, **(extra or {})},
              "seconds": seconds, "total_seconds": round(sum(seconds.values()), 1)}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (f"{label}-{mode}" + "".join(f"-{name}" for name in only or []) + ".json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def recorded_timings(directory: Path = TIMINGS_DIR) -> list[dict]:
    """The timing records saved by :func:`record_timings` (``python -m nodebio.book time``)."""
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]


def html(src: Path) -> Path:
    """Build the HTML of an executed build tree with jupyter-book, warnings as errors.

    The output goes to ``_build/html`` at the repository root.
    """
    if not (src / "_toc.yml").exists():
        raise ChapterError(f"{src} is not an executed build tree: run `python -m nodebio.book execute` first.")
    command = [sys.executable, "-m", "jupyter_book", "build", str(src), "--path-output", str(ROOT),
               "--warningiserror", "--nitpick", "--keep-going", "--all"]
    jb = shutil.which("jupyter-book", path=str(Path(sys.executable).parent))
    if jb:
        command = [jb] + command[3:]
    print("[nodebio.book] " + " ".join(command), flush=True)
    result = subprocess.run(command)
    if result.returncode != 0:
        raise ChapterError("jupyter-book build failed (see the warnings above; warnings count as errors).")
    site = ROOT / "_build" / "html"
    for path in publish(site):
        print(f"[nodebio.book] published {path.relative_to(site)}", flush=True)
    return site


def publish(site: Path, toc: Path = ROOT / "_toc.yml", config: Path = ROOT / "_config.yml") -> list[Path]:
    """Publish every chapter as an unexecuted notebook under ``site/_notebooks`` (launch buttons).

    The notebooks are the jupytext conversions of the sources with the install cell first, so
    Colab and Binder can open them (neither opens MyST markdown). Next to them: ``binder/``
    (the environment Binder builds when the site is served from a branch of the repository)
    and ``.nojekyll`` (GitHub Pages would hide folders whose names start with ``_``).
    """
    import jupytext
    import nbformat

    root = Path(toc).parent
    written = []
    for chapter in filter(is_notebook, chapters(toc)):
        target = site / NOTEBOOKS_DIR / chapter.relative_to(root).with_suffix(".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        notebook = with_install_cell(jupytext.read(chapter), config)
        notebook.metadata.pop("jupytext", None)
        nbformat.write(notebook, target)
        written.append(target)
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
    written += [binder / "runtime.txt", binder / "requirements.txt"]
    (site / ".nojekyll").touch()
    # Browsers ask for /favicon.ico on pages without an icon link, such as the redirecting index.
    _favicon(site / "favicon.ico")
    return written + [site / "favicon.ico"]


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


def check_site(site: Path = ROOT / "_build" / "html") -> list[str]:
    """Problems with the internal links and images of a built site (empty when there are none).

    Offline: every relative ``href``/``src`` of every page (links, images, scripts, stylesheets)
    must name an existing file, and a ``#fragment`` into a page of the site an existing id.
    External links are left to ``sphinx-build -b linkcheck`` in the workflow.
    """
    from html.parser import HTMLParser
    from urllib.parse import unquote, urlsplit

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.refs = set(), []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            for key in ("id", "name"):
                if attrs.get(key) and (key == "id" or tag == "a"):
                    self.ids.add(attrs[key])
            for key in ("href", "src"):
                if attrs.get(key) is not None and tag in ("a", "img", "link", "script", "source", "iframe"):
                    self.refs.append((tag, attrs[key]))

    site = Path(site)
    # _static holds the theme's Jinja templates (*.html that are not pages)
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    if not pages:
        return [f"no HTML pages under {site}"]
    parsed = {}
    for page in pages:
        parser = Page()
        parser.feed(page.read_text(errors="replace"))
        parsed[page.resolve()] = parser
    problems = []
    for page, parser in parsed.items():
        rel_page = page.relative_to(site.resolve())
        for tag, ref in parser.refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//") or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            if not parts.path:
                target = page
            else:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{rel_page}: <{tag}> {ref} -> missing {unquote(parts.path)}")
                    continue
            if parts.fragment and target.suffix == ".html" and target in parsed:
                if unquote(parts.fragment) not in parsed[target].ids:
                    problems.append(f"{rel_page}: <{tag}> {ref} -> no id {parts.fragment!r} in {target.name}")
    return problems


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
    p = sub.add_parser("time", help="execute every chapter and record its seconds in book/_timings/")
    p.add_argument("--mode", choices=MODES, default="quick")
    p.add_argument("--label", help="name of the machine in the file name (default: from the hardware)")
    p.add_argument("--note", default="", help="a remark stored with the timings, e.g. 'shared machine'")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--only", action="append", help="time only this chapter (file stem; repeatable)")
    p = sub.add_parser("check-site", help="check the internal links and images of the built HTML")
    p.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            execute(args.mode, args.out, _key_values(args.param), args.only)
        elif args.command == "prepare":
            for path in prepare(args.mode, args.out, _key_values(args.param)):
                print(f"[nodebio.book] prepared {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        elif args.command == "html":
            print(f"[nodebio.book] HTML in {html(args.src)}")
        elif args.command == "time":
            path = record_timings(args.mode, args.label, args.note, _key_values(args.param), only=args.only)
            print(f"[nodebio.book] timings written to {path}")
        elif args.command == "check-site":
            problems = check_site(args.site)
            for problem in problems:
                print(problem)
            print(f"[nodebio.book] {len(problems)} broken internal links or images in {args.site}")
            return 1 if problems else 0
        else:
            environment_file()
    except (ChapterError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
