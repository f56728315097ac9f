"""Fit plans: listed before the run, executed in parallel into the store, the same tables."""

from __future__ import annotations

import pandas as pd
import pytest

from nodebio import plan, store
from nodebio.errors import UsageError
from nodebio.experiments import compare


def test_the_plan_lists_every_fit_of_a_reproduction_but_the_tuned_baselines():
    specs = plan.reproduce_plan(["limonene"], seeds=2, quick=True, loso=True, loso_seeds=1)
    main = [s for s in specs if s.test == ("L2",) and s.train == ("L1", "L3")]
    # 3 neural ODEs x 2 seeds, 2 baselines x 3 configurations x 2 seeds, the 2018 kinetic model x 2 x 2,
    # 4 references once (the leave-one-strain-out fold holding out L2 repeats some of them)
    assert {(s.model, s.configuration) for s in main} >= {("node", "-"), ("baseline-gb", "published"),
                                                           ("costello-kinetic", "careful"), ("mean", "-")}
    assert not any(s.configuration == "tuned" for s in specs)
    assert len(specs) == len(set(specs))
    folds = {s.test for s in specs}
    assert folds == {("L1",), ("L2",), ("L3",)}
    assert all(isinstance(v, (str, int, bool, tuple)) for s in specs for v in s.to_dict().values())


def test_a_plan_runs_in_parallel_into_the_store_and_a_second_time_finds_everything(tmp_path, limonene_path):
    specs = [plan.FitSpec(name, configuration, 0, "limonene", ("L1", "L3"), ("L2",), quick=True)
             for name, configuration in (("node", "-"), ("baseline-gb", "careful"), ("mean", "-"))]
    first = plan.execute(specs + specs[:1], store=tmp_path / "store", jobs=2, data_dir=limonene_path.parent)
    assert first == {"planned": 4, "pending": 3, "jobs": 2}
    again = plan.execute(specs, store=tmp_path / "store", jobs=2, data_dir=limonene_path.parent)
    assert again["pending"] == 0
    # what the workers stored is what a fit in this process gives
    model, prepared = specs[0].make(limonene_path.parent)
    fitted = store.fit(model, prepared, store=tmp_path / "store")
    assert store.last_fit()["from_store"]
    fresh = specs[0].make(limonene_path.parent)[0].fit(prepared, progress=False)
    pd.testing.assert_frame_equal(pd.DataFrame(fitted.simulate(prepared.test)[0]),
                                  pd.DataFrame(fresh.simulate(prepared.test)[0]))


def test_jobs_are_checked():
    assert plan.default_jobs(3) == 3
    with pytest.raises(UsageError, match="at least 1"):
        plan.default_jobs(0)
    with pytest.raises(UsageError, match="a fit plan runs into a model store|A fit plan runs into a model store"):
        plan.execute([], store=None, jobs=2)


def test_a_parallel_reproduction_gives_the_serial_tables(tmp_path, limonene_path):
    options = dict(seeds=1, quick=True, loso=False, out=None, device="cpu", progress=False,
                   data_dir=limonene_path.parent)
    serial = compare.reproduce(["limonene"], store=tmp_path / "serial", **options)
    parallel = compare.reproduce(["limonene"], store=tmp_path / "parallel", jobs=2, **options)
    assert parallel["settings"]["plan"]["pending"] > 0 and serial["settings"]["plan"] is None
    columns = [c for c in serial["results"].columns if "seconds" not in c]
    pd.testing.assert_frame_equal(serial["results"][columns], parallel["results"][columns])
    # every fit the serial run made was planned: a plan over the serial store has nothing to do
    specs = plan.reproduce_plan(["limonene"], seeds=1, quick=True, loso=False, device="cpu")
    assert plan.pending(specs, store.ModelStore(tmp_path / "serial"), limonene_path.parent) == []
