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
    assert first == {"planned": 4, "pending": 3, "jobs": 2, "scheduler": None}
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


def test_a_parallel_reproduction_and_one_on_a_dask_cluster_give_the_serial_tables(tmp_path, limonene_path):
    """Serial, two loky processes, and a distributed.LocalCluster of two worker processes: the
    same results table, number for number."""
    import distributed

    options = dict(seeds=1, quick=True, loso=False, out=None, device="cpu", progress=False,
                   data_dir=limonene_path.parent)
    serial = compare.reproduce(["limonene"], store=tmp_path / "serial", **options)
    parallel = compare.reproduce(["limonene"], store=tmp_path / "parallel", jobs=2, **options)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_cluster = compare.reproduce(["limonene"], store=tmp_path / "dask", scheduler=client, **options)
    assert parallel["settings"]["plan"]["pending"] > 0 and serial["settings"]["plan"] is None
    assert on_cluster["settings"]["plan"]["pending"] == parallel["settings"]["plan"]["pending"]
    assert on_cluster["settings"]["plan"]["jobs"] == 2
    assert on_cluster["settings"]["plan"]["scheduler"].startswith("tcp://")
    columns = [c for c in serial["results"].columns if "seconds" not in c]
    pd.testing.assert_frame_equal(serial["results"][columns], parallel["results"][columns])
    pd.testing.assert_frame_equal(serial["results"][columns], on_cluster["results"][columns])
    # every fit the serial run made was planned: a plan over the serial store has nothing to do
    specs = plan.reproduce_plan(["limonene"], seeds=1, quick=True, loso=False, device="cpu")
    assert plan.pending(specs, store.ModelStore(tmp_path / "serial"), limonene_path.parent) == []


REFERENCES = [plan.FitSpec(name, "-", 0, "limonene", ("L1", "L3"), ("L2",), quick=True)
              for name in ("mean", "persistence", "nearest")]


def test_a_cluster_file_starts_its_cluster_and_runs_the_plan_there(tmp_path, limonene_path):
    """The cluster file names any class (here distributed.LocalCluster, where a Slurm user names
    dask_jobqueue.SLURMCluster) with its options and the number of workers."""
    (tmp_path / "cluster.yml").write_text(
        "cluster: distributed.LocalCluster\n"
        "options: {n_workers: 0, threads_per_worker: 1, processes: true, dashboard_address: null}\n"
        "workers: 2\n")
    done = plan.execute(REFERENCES, store=tmp_path / "store", scheduler=tmp_path / "cluster.yml",
                        data_dir=limonene_path.parent)
    assert done["pending"] == 3 and done["jobs"] == 2 and done["scheduler"].endswith("cluster.yml")
    assert plan.pending(REFERENCES, store.ModelStore(tmp_path / "store"), limonene_path.parent) == []
    again = plan.execute(REFERENCES, store=tmp_path / "store", scheduler=tmp_path / "cluster.yml",
                         data_dir=limonene_path.parent)
    assert again["pending"] == 0 and again["jobs"] == 0  # nothing to do: no cluster started


@pytest.mark.parametrize("text, message", [
    ("options: {}\n", "has no key 'cluster'"),
    ("cluster: LocalCluster\n", "module.Class"),
    ("cluster: distributed.LocalCluster\nworker: 2\n", "unknown key.*'worker'"),
    ("cluster: distributed.LocalCluster\nworkers: 0\n", "at least 1"),
    ("cluster: distributed.LocalCluster\noptions: [1, 2]\n", "must be a mapping"),
    ("cluster: [unclosed\n", "not valid YAML"),
    ("cluster: no_such_module_here.SLURMCluster\n", "Cannot import 'no_such_module_here'.*\\.\\[cluster\\]"),
    ("cluster: distributed.NoSuchCluster\n", "no cluster class 'NoSuchCluster'"),
])
def test_a_bad_cluster_file_is_an_error_that_says_what_to_fix(tmp_path, limonene_path, text, message):
    (tmp_path / "cluster.yml").write_text(text)
    with pytest.raises(UsageError, match=message):
        plan.execute(REFERENCES, store=tmp_path / "store", scheduler=tmp_path / "cluster.yml",
                     data_dir=limonene_path.parent)


def test_a_cluster_needs_a_store_and_a_scheduler_that_answers(tmp_path, limonene_path, monkeypatch):
    monkeypatch.delenv(store.ENV, raising=False)
    with pytest.raises(UsageError, match="store that every worker can reach"):
        compare.reproduce(["limonene"], seeds=1, quick=True, out=None, scheduler="tcp://127.0.0.1:9",
                          data_dir=limonene_path.parent)
    with pytest.raises(UsageError, match="No cluster file at"):
        plan.execute(REFERENCES, store=tmp_path / "store", scheduler=tmp_path / "missing.yml",
                     data_dir=limonene_path.parent)
    monkeypatch.setenv(plan.SCHEDULER_ENV, "tcp://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(plan, "CONNECT_TIMEOUT", "3s")
    with pytest.raises(UsageError, match="No Dask scheduler answered at tcp://127.0.0.1:9"):
        plan.execute(REFERENCES, store=tmp_path / "store", data_dir=limonene_path.parent)
