"""bookbuild.planning: the fits of the book's chapters listed before they run, as the chapters make them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookbuild.planning import book_plan, chapter_plan, run_plan
from bookbuild.sources import ChapterError
from nodebio import plan, store

from conftest import MYST_HEADER

ROOT = Path(__file__).resolve().parent.parent

CHAPTER = MYST_HEADER + """
# A comparison

```{{code-cell}} ipython3
:tags: [parameters]
MODE = "full"
SEED = 3
DEVICE = "cpu"
PATHWAY = "limonene"
```

```{{code-cell}} ipython3
from nodebio.experiments import compare

QUICK = MODE == "quick"
SEEDS = 1 if QUICK else 4
```

```{{code-cell}} ipython3
output = compare.reproduce({arguments})
```
"""
GOOD = "seeds=SEEDS, first_seed=SEED, quick=QUICK, out=None, device=DEVICE, progress=False"


def write(tmp_path, arguments=GOOD) -> Path:
    path = tmp_path / "comparison.md"
    path.write_text(CHAPTER.format(arguments=arguments))
    return path


@pytest.mark.parametrize("mode, seeds", [("quick", 1), ("full", 4)])
def test_a_chapter_plan_is_the_plan_of_its_reproduce_call(tmp_path, mode, seeds):
    specs = chapter_plan(write(tmp_path), mode)
    assert specs == plan.reproduce_plan(["limonene", "isopentenol"], seeds=seeds, first_seed=3,
                                        quick=mode == "quick", loso=True, device="cpu")
    assert {s.seed for s in specs} == set(range(3, 3 + seeds))


@pytest.mark.parametrize("arguments, message", [
    ("seeds=2, first_seed=SEED, quick=QUICK, device=DEVICE", "seeds=SEEDS"),
    ('["limonene"], seeds=SEEDS, first_seed=SEED, quick=QUICK, device=DEVICE', "cannot read"),
    ("seeds=SEEDS, first_seed=SEED, quick=QUICK, device=DEVICE, loso=False", "cannot read"),
    ("seeds=SEEDS, quick=QUICK, device=DEVICE", "first_seed=SEED"),
])
def test_a_call_the_plan_cannot_read_is_an_error_naming_the_chapter(tmp_path, arguments, message):
    with pytest.raises(ChapterError, match=f"comparison.md.*{message}"):
        chapter_plan(write(tmp_path, arguments), "quick")


def test_a_chapter_without_a_seeds_rule_or_without_a_comparison(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text().replace("SEEDS = 1 if QUICK else 4", "N = 2"))
    with pytest.raises(ChapterError, match="assigns no SEEDS"):
        chapter_plan(path, "quick")
    path.write_text(path.read_text().replace("output = compare.reproduce(", "output = dict(")
                    .replace("seeds=SEEDS, first_seed=SEED, quick=QUICK, out=None, device=DEVICE, progress=False",
                             "a=1"))
    assert chapter_plan(path, "quick") == []


def test_the_books_plan_lists_the_comparison_of_the_compare_and_the_choosing_chapter(limonene_path, monkeypatch):
    monkeypatch.setenv("NODEBIO_DATA_DIR", str(limonene_path.parent))
    plans = book_plan("quick")
    assert set(plans) == {"compare", "choosing"}
    assert {s.seed for s in plans["compare"]} == {0, 1} and {s.seed for s in plans["choosing"]} == {0}
    # the two chapters share the fits of their common seed: listed by each, one key in the store
    keys = {name: {store._digest(store.fit_key(*spec.make())) for spec in specs if spec.dataset == "limonene"}
            for name, specs in plans.items()}
    assert keys["choosing"] & keys["compare"]
    assert book_plan("quick", only=["data", "node"]) == {}


def test_run_plan_makes_the_missing_fits_once(tmp_path, limonene_path, monkeypatch):
    monkeypatch.setenv("NODEBIO_DATA_DIR", str(limonene_path.parent))
    specs = [plan.FitSpec(name, "-", 0, "limonene", ("L1", "L3"), ("L2",), quick=True)
             for name in ("mean", "persistence")]
    done = run_plan({"a": specs, "b": specs[:1]}, tmp_path / "store", jobs=2, progress=False)
    assert (done["planned"], done["pending"], done["jobs"], done["chapters"]) == (2, 2, 2, ["a", "b"])
    assert plan.pending(specs, store.ModelStore(tmp_path / "store"), limonene_path.parent) == []
