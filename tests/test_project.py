"""The project's own contracts: pins, environment file, packaging, the CI files."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import bookbuild as book

ROOT = Path(__file__).resolve().parent.parent


def test_lock_pins_exact_versions_and_torch():
    lines = book.lock_requirements()
    assert lines, "requirements.lock is empty"
    for line in lines:
        assert re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.+\-]+", line), f"not an exact pin: {line}"
    assert "torch==2.13.0" in lines
    names = {line.split("==")[0].lower() for line in lines}
    for needed in ("jupyter-book", "papermill", "nbval", "jupytext", "pooch", "pytest", "torchdiffeq"):
        assert needed in names, f"{needed} missing from requirements.lock"
    jb = next(line for line in lines if line.lower().startswith("jupyter-book=="))
    assert jb.split("==")[1].startswith("1."), "the book is built with Jupyter Book 1.x"


def test_environment_yml_agrees_with_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    pythons = [d for d in deps if isinstance(d, str) and d.startswith("python=")]
    assert len(pythons) == 1
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    pins = [p for p in pip if not p.startswith("-")]
    assert sorted(pins) == sorted(book.lock_requirements()), (
        "environment.yml and requirements.lock disagree: run `make env-file`"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, pythons[0].split("=")[1].split("."))) >= tuple(map(int, minimum.split(".")))


def test_pyproject_extra_reads_the_lock():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = config["tool"]["setuptools"]["dynamic"]["optional-dependencies"]
    assert extras["lock"]["file"] == ["requirements.lock"]


def test_no_executed_notebook_in_the_sources():
    assert not list((ROOT / "book").glob("*.ipynb"))


def test_python_version():
    assert sys.version_info >= (3, 11)


def test_median_seconds():
    from nodebio.timing import median_seconds

    import time

    calls = []
    assert median_seconds(lambda: calls.append(1), 3) >= 0.0
    assert len(calls) == 4  # one warm-up call, then the timed ones
    # the median of the timed calls, not their mean nor the warm-up: a fake clock pins it
    ticks = iter([0.0, 1.0, 1.0, 3.0, 3.0, 13.0])  # timed calls of 1, 2 and 10 s
    monotonic = time.perf_counter
    try:
        time.perf_counter = lambda: next(ticks)
        assert median_seconds(lambda: None, 3) == 2.0
    finally:
        time.perf_counter = monotonic
    with pytest.raises(ValueError, match="at least 1"):
        median_seconds(lambda: None, 0)


# --- packaging: nodebio is the science, bookbuild the build ---------------------------------


def test_import_nodebio_imports_no_build_tooling():
    code = ("import nodebio, sys; "
            "assert not any(m.split('.')[0] in ('sphinx', 'papermill', 'jupyter_book', 'bookbuild') "
            "for m in sys.modules), sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sphinx', 'papermill', 'jupyter_book', 'bookbuild'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_the_distribution_leaves_bookbuild_out():
    from fnmatch import fnmatch

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    if isinstance(packages, dict):  # [tool.setuptools.packages.find]
        find = packages.get("find", {})
        assert any(fnmatch("bookbuild", pattern) for pattern in find.get("exclude", [])) or (
            "include" in find and not any(fnmatch("bookbuild", pattern) for pattern in find["include"]))
    else:
        assert not any(name.split(".")[0] == "bookbuild" for name in packages)
    assert not (ROOT / "nodebio" / "book.py").exists() and not (ROOT / "nodebio" / "sphinxext.py").exists()


# --- the CI files ------------------------------------------------------------------------------


def test_ci_builds_the_quick_book_once():
    script = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
              if line.strip() and not line.strip().startswith("#")]
    assert [line for line in script if line.startswith("make ")] == ["make test"]
    assert script[-1] == "test -f _build/html/index.html"


def test_make_test_builds_the_site_with_bookbuild_and_make_unit_leaves_the_book_out():
    makefile = (ROOT / "Makefile").read_text()
    recipe = lambda target: re.search(rf"(?m)^{target}:.*\n((?:\t.*\n)+)", makefile).group(1)
    assert "-m bookbuild execute --mode quick" in recipe("test") and "-m bookbuild html" in recipe("test")
    assert "--nbval" in recipe("test")
    assert '-m "not book"' in recipe("unit") and "nbval" not in recipe("unit")
    assert "nodebio.book" not in makefile


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
    # make test builds the quick book (warnings as errors): the pull requests build it once
    assert "make test" in runs(pr) and "_build/html/index.html" in runs(pr)
    assert "make book" not in runs(pr) and not any("gh-pages" in u for u in uses(pr))
    # jupyter-book run by hand (the link check) finds the Sphinx extension of bookbuild
    linkcheck = next(line for line in runs(publish).splitlines() if "linkcheck" in line)
    assert "PYTHONPATH=" in linkcheck
    assert any(u.startswith("peaceiris/actions-gh-pages") for u in uses(publish))
    for job in (publish, pr):
        cache = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/cache"))
        assert "hashFiles('requirements.lock'" in cache["with"]["key"]
        assert any(step.get("if") == "failure()" and "execution-reports" in str(step.get("with"))
                   for step in job["steps"])
        assert "chromium-driver" in runs(job)


def test_every_module_of_the_package_is_an_attribute_of_it():
    import importlib
    import pkgutil

    import nodebio

    modules = sorted(m.name for m in pkgutil.iter_modules(nodebio.__path__) if not m.name.startswith("_"))
    assert set(modules) <= set(nodebio.__all__), set(modules) - set(nodebio.__all__)
    for name in modules:
        assert getattr(nodebio, name) is importlib.import_module(f"nodebio.{name}")
    with pytest.raises(AttributeError, match="no attribute 'recomend'"):
        nodebio.recomend
