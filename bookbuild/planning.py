"""The book's fit plan: the fits the chapters will make, listed before any chapter runs, made in
parallel into the build's model store, then found there by the chapters.

A chapter that runs the paper's comparison calls ``compare.reproduce(seeds=SEEDS,
first_seed=SEED, quick=QUICK, ..., device=DEVICE)``. :func:`chapter_plan` reads that call, the
chapter's parameters cell and its ``SEEDS`` rule (``SEEDS = 2 if QUICK else 5``) from the
source, and lists the fits with :func:`nodebio.plan.reproduce_plan`; :func:`book_plan` joins the
chapters' lists (a fit two chapters share is listed once). :func:`run_plan` makes the missing ones
with ``jobs`` worker processes (:func:`nodebio.plan.execute`) before the chapters execute, so the
compare and choosing chapters share one store and one pool of workers. A call that the plan
cannot read (other arguments than these) is an error naming the chapter, never a silently
smaller plan.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

from bookbuild.sources import ROOT, ChapterError, chapters, is_notebook, parameters_of

#: The keywords a chapter's ``compare.reproduce`` call passes, and the names it passes them as.
REPRODUCE_ARGUMENTS = {"seeds": "SEEDS", "first_seed": "SEED", "quick": "QUICK", "device": "DEVICE"}
#: Keywords the call may pass that do not change which fits are made.
OTHER_ARGUMENTS = ("out", "progress")


def _code_cells(chapter: Path) -> list[ast.Module]:
    import jupytext

    notebook = jupytext.read(chapter)
    trees = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            continue
    return trees


def _reproduce_calls(trees: list[ast.Module]) -> list[ast.Call]:
    return [node for tree in trees for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "reproduce"
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "compare"]


def _seeds_rule(trees: list[ast.Module], chapter: Path) -> ast.expr:
    for tree in trees:
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == "SEEDS"):
                return node.value
    raise ChapterError(f"{chapter} calls compare.reproduce(seeds=SEEDS, ...) but assigns no SEEDS: the book's "
                       "plan reads the number of seeds from a line such as `SEEDS = 2 if QUICK else 5`.")


def chapter_plan(chapter: Path, mode: str, extra: dict | None = None) -> list:
    """The fits of ``chapter`` executed in ``mode`` (with the parameters ``extra``) that can be
    listed before it runs (:class:`nodebio.plan.FitSpec`); [] for a chapter without
    ``compare.reproduce``."""
    from nodebio import data
    from nodebio.plan import reproduce_plan

    trees = _code_cells(chapter)
    calls = _reproduce_calls(trees)
    if not calls:
        return []
    for call in calls:
        given = {k.arg: ast.unparse(k.value) for k in call.keywords}
        wrong = {k: v for k, v in REPRODUCE_ARGUMENTS.items() if given.get(k) != v}
        unknown = sorted(set(given) - set(REPRODUCE_ARGUMENTS) - set(OTHER_ARGUMENTS))
        if call.args or wrong or unknown:
            expected = ", ".join(f"{k}={v}" for k, v in REPRODUCE_ARGUMENTS.items())
            raise ChapterError(f"{chapter} (line {call.lineno} of its cell) calls compare.reproduce with arguments "
                               f"the book's plan cannot read ({ast.unparse(call)}); call it with {expected} "
                               f"(and out=, progress=) so that its fits are planned, or extend bookbuild.planning.")
    values = {**parameters_of(chapter), **(extra or {}), "MODE": mode}
    quick = mode == "quick"
    rule = _seeds_rule(trees, chapter)
    seeds = eval(compile(ast.Expression(rule), str(chapter), "eval"), {"__builtins__": {}},  # noqa: S307
                 {"QUICK": quick, "MODE": mode})
    return reproduce_plan(list(data.PATHWAYS), seeds=int(seeds), first_seed=int(values["SEED"]), quick=quick,
                          loso=True, device=values["DEVICE"])


def book_plan(mode: str, extra: dict | None = None, only: list[str] | None = None,
              toc: Path = ROOT / "_toc.yml") -> dict[str, list]:
    """``{chapter stem: its fits}`` for every notebook chapter (or those named in ``only``)."""
    plans = {}
    for chapter in filter(is_notebook, chapters(toc)):
        if only and chapter.stem not in only:
            continue
        specs = chapter_plan(chapter, mode, extra)
        if specs:
            plans[chapter.stem] = specs
    return plans


def run_plan(plans: dict[str, list], store, jobs: int, progress: bool = True) -> dict:
    """Make the fits of ``plans`` that ``store`` lacks with ``jobs`` workers; what was done, with
    its seconds (the record of the build keeps it)."""
    from nodebio import plan

    specs = list(dict.fromkeys(s for chapter in plans.values() for s in chapter))
    started = time.perf_counter()
    done = plan.execute(specs, store=store, jobs=jobs, progress=progress) if specs else \
        {"planned": 0, "pending": 0, "jobs": jobs}
    return {**{k: v for k, v in done.items() if k != "scheduler"}, "chapters": sorted(plans),
            "seconds": round(time.perf_counter() - started, 2)}
