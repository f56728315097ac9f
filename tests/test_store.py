"""The model store: a fit is saved once and reused; a changed key refits; a bad entry is refitted."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from nodebio import store
from nodebio.experiments import compare
from nodebio.models import make_model
from nodebio.models.baseline import DerivativeRegressionModel
from nodebio.models.node import NeuralODEModel

TINY = {"iterations": 4, "eval_every": 2, "width": 8, "device": "cpu"}


@pytest.fixture
def fits(monkeypatch):
    """Counts the real fits of every kind of model."""
    counts = {"node": 0, "baseline": 0}
    for cls, name in ((NeuralODEModel, "node"), (DerivativeRegressionModel, "baseline")):
        original = cls.fit

        def counted(self, *args, _original=original, _name=name, **kwargs):
            counts[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", counted)
    return counts


def test_second_fit_comes_from_the_store(tmp_path, node_prepared, fits):
    first = store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    assert fits["node"] == 1 and not store.last_fit()["from_store"] and not first.from_store_
    again = store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    assert fits["node"] == 1 and store.last_fit()["from_store"] and again.from_store_
    assert np.array_equal(again.simulate(node_prepared.test), first.simulate(node_prepared.test))
    assert again.fit_seconds == pytest.approx(first.fit_seconds)
    assert len(list(tmp_path.glob("*.pt"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1


def test_a_changed_option_seed_or_data_refits(tmp_path, node_prepared, baseline_prepared, fits):
    store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    store.fit(make_model("node", **{**TINY, "width": 16}), node_prepared, store=tmp_path)
    store.fit(make_model("node", seed=1, **TINY), node_prepared, store=tmp_path)
    store.fit(make_model("node", **TINY), baseline_prepared, store=tmp_path)  # other synthetic strains
    assert fits["node"] == 4 and not store.last_fit()["from_store"]
    store.fit(make_model("node", seed=1, **TINY), node_prepared, store=tmp_path)
    assert fits["node"] == 4 and store.last_fit()["from_store"]


def test_a_changed_split_refits(tmp_path, node_prepared, fits):
    from nodebio import data

    other = data.prepare(node_prepared.dataset, ["S1", "S2"], ["S3", "S4"], n_points=60)
    store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    store.fit(make_model("node", **TINY), other, store=tmp_path)
    assert fits["node"] == 2


def test_a_corrupted_entry_is_refitted_with_a_warning(tmp_path, node_prepared, baseline_prepared, fits):
    store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=tmp_path)
    for path in list(tmp_path.glob("*.pt")) + list(tmp_path.glob("*.pkl")):
        path.write_bytes(b"not a model")
    with pytest.warns(store.StoreWarning, match="cannot be used"):
        model = store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    with pytest.warns(store.StoreWarning, match="cannot be used"):
        store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=tmp_path)
    assert fits == {"node": 2, "baseline": 2} and not model.from_store_
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the refitted entries replaced the bad ones
        store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    assert store.last_fit()["from_store"]


def test_an_entry_of_another_key_is_never_used(tmp_path, node_prepared, fits):
    first = store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    meta = next(tmp_path.glob("*.json"))
    meta.write_text(meta.read_text().replace('"seed": 0', '"seed": 99'))
    with pytest.warns(store.StoreWarning, match="key differs"):
        store.fit(make_model("node", **TINY), node_prepared, store=tmp_path)
    assert fits["node"] == 2 and first is not None


def test_fit_and_score_uses_the_store_of_the_environment(tmp_path, monkeypatch, baseline_prepared, fits):
    assert store.default_store() is None  # off unless asked for
    model, seconds, score, _ = compare.fit_and_score("baseline-rf", "careful", 0, baseline_prepared, quick=True)
    assert fits["baseline"] == 1 and not store.last_fit()["from_store"]
    monkeypatch.setenv(store.ENV, str(tmp_path / "store"))
    compare.fit_and_score("baseline-rf", "careful", 0, baseline_prepared, quick=True)
    again, again_seconds, again_score, _ = compare.fit_and_score("baseline-rf", "careful", 0, baseline_prepared,
                                                                 quick=True)
    assert fits["baseline"] == 2 and again.from_store_ and store.last_fit()["from_store"]
    assert again_score["rmse_scaled"] == score["rmse_scaled"]
    compare.fit_and_score("mean", "-", 0, baseline_prepared, quick=True)
    compare.fit_and_score("mean", "-", 0, baseline_prepared, quick=True)
    assert store.last_fit()["from_store"]


# --- the key: every field varied -------------------------------------------------------------

def _differing(one: dict, other: dict) -> set:
    return {name for name in one.keys() | other.keys() if one.get(name) != other.get(name)}


def test_every_field_of_the_key_follows_what_determines_the_fit(monkeypatch, baseline_prepared):
    import dataclasses

    import nodebio
    from nodebio import data

    dataset = baseline_prepared.dataset
    base = store.fit_key(make_model("baseline-gb", n_estimators=5), baseline_prepared)

    def key(model=None, prepared=None):
        return store.fit_key(model or make_model("baseline-gb", n_estimators=5), prepared or baseline_prepared)

    def prepared_from(changed, **options):
        return data.prepare(changed, ["S1", "S2", "S3"], ["S4"], **{"n_points": 60, **options})

    variants = {
        "model": (key(make_model("baseline-rf", n_estimators=5)), {"model", "options"}),
        "options": (key(make_model("baseline-gb", n_estimators=6)), {"options"}),
        "seed": (key(make_model("baseline-gb", seed=1, n_estimators=5)), {"options"}),
        "class": (key(make_model("mean")), {"model", "class", "options"}),
        "data": (key(prepared=prepared_from(synthetic_dataset(seed=2))), {"data_sha256"}),
        "dataset": (key(prepared=prepared_from(dataclasses.replace(dataset, name="other"))), {"dataset"}),
        "product": (key(prepared=prepared_from(dataclasses.replace(dataset, product=dataset.states[0]))),
                    {"product"}),
        "time_unit": (key(prepared=prepared_from(_with_time_unit(dataset, "min"))), {"time_unit"}),
        "split": (key(prepared=data.prepare(dataset, ["S1", "S2"], ["S3", "S4"], n_points=60)), {"train", "test"}),
        "grid": (key(prepared=prepared_from(dataset, n_points=30)), {"grid"}),
        "scaling": (key(prepared=prepared_from(dataset, state_scaling="log1p")), {"scaling"}),
        "states": (key(prepared=prepared_from(_columns(dataset.states[1:], dataset.controls))),
                   {"states", "data_sha256"}),
        "controls": (key(prepared=prepared_from(_columns(dataset.states, dataset.controls[:-1]))),
                     {"controls", "data_sha256"}),
    }
    monkeypatch.setattr(nodebio, "__version__", "99.0")
    variants["nodebio_version"] = (key(), {"nodebio_version"})
    monkeypatch.undo()
    monkeypatch.setattr(store, "source_sha256", lambda: "0" * 64)
    variants["source_sha256"] = (key(), {"source_sha256"})
    monkeypatch.undo()
    installed = store.library_versions()
    monkeypatch.setattr(store, "library_versions", lambda: {**installed, "torch": "0.0"})
    variants["libraries"] = (key(), {"libraries"})
    monkeypatch.undo()
    assert key() == base
    for what, (changed, fields) in variants.items():
        assert _differing(base, changed) == fields, what
        assert store._digest(changed) != store._digest(base), what
    covered = set().union(*(fields for _, fields in variants.values()))
    assert covered == set(base), f"fields of the key no test varies: {set(base) - covered}"


def synthetic_dataset(seed):
    from nodebio import synthetic

    return synthetic.make_dataset(4, seed=seed, noise=0.02)


def _columns(states, controls):
    """The strains of ``baseline_prepared`` with only these columns."""
    from nodebio import data, synthetic

    frame = synthetic.generate(4, seed=1, noise=0.02)
    return data.from_frame(frame, states=list(states), controls=list(controls), units=synthetic.UNITS,
                           name="synthetic", product="Limonene")


def _with_time_unit(dataset, unit):
    import dataclasses

    changed = dataclasses.replace(dataset)
    changed.input_time_unit = unit
    return changed


def test_the_source_hash_follows_every_fitting_module_and_not_the_command_line(tmp_path):
    import shutil

    import nodebio

    copy = tmp_path / "nodebio"
    shutil.copytree(Path(nodebio.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert store.source_sha256(copy) == store.source_sha256()
    cli = copy / "cli.py"
    cli.write_text(cli.read_text() + "\n# a comment\n")
    assert store.source_sha256(copy) == store.source_sha256()  # the command line does not fit
    node = copy / "models" / "node.py"
    source = node.read_bytes()
    node.write_bytes(source[:-1] + bytes([source[-1] ^ 1]))  # one byte changed
    assert store.source_sha256(copy) != store.source_sha256()


def test_a_changed_source_grid_scaling_or_library_refits(tmp_path, monkeypatch, baseline_prepared, fits):
    import shutil

    import nodebio
    from nodebio import data

    model = lambda: make_model("baseline-gb", n_estimators=5)  # noqa: E731
    store.fit(model(), baseline_prepared, store=tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(Path(nodebio.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    node = copy / "models" / "baseline.py"
    node.write_text(node.read_text() + "\n# changed\n")
    changed = store.source_sha256(copy)
    with monkeypatch.context() as patch:
        patch.setattr(store, "source_sha256", lambda: changed)
        store.fit(model(), baseline_prepared, store=tmp_path)
    assert fits["baseline"] == 2 and not store.last_fit()["from_store"]
    with monkeypatch.context() as patch:
        installed = store.library_versions()
        patch.setattr(store, "library_versions", lambda: {**installed, "scikit-learn": "0.1"})
        store.fit(model(), baseline_prepared, store=tmp_path)
    assert fits["baseline"] == 3
    dataset = baseline_prepared.dataset
    store.fit(model(), data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=30), store=tmp_path)
    assert fits["baseline"] == 4
    store.fit(model(), data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=60, state_scaling="none"),
              store=tmp_path)
    assert fits["baseline"] == 5
    store.fit(model(), baseline_prepared, store=tmp_path)  # the first key again: from the store
    assert fits["baseline"] == 5 and store.last_fit()["from_store"]


# --- the store on disk: concurrent writers, unwritable stores, names, pickles ---------------

def _hammer(folder, key, model, rounds, queue):
    import warnings as _warnings

    _warnings.simplefilter("error")
    problems = []
    shelf = store.ModelStore(folder)
    for _ in range(rounds):
        try:
            shelf.save(key, model)
            if shelf.load(key) is None:
                problems.append("no entry")
        except Exception as error:  # noqa: BLE001 - every failure is counted
            problems.append(repr(error))
    queue.put(problems)


def test_two_processes_saving_and_loading_one_entry_never_collide(tmp_path, baseline_prepared):
    import multiprocessing

    model = make_model("baseline-gb", n_estimators=3).fit(baseline_prepared, progress=False)
    key = store.fit_key(make_model("baseline-gb", n_estimators=3), baseline_prepared)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_hammer, args=(tmp_path, key, model, 150, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    problems = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join()
    assert problems == [[], []]
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".pkl"]  # no temporary file left


def test_a_store_that_cannot_be_written_keeps_the_fit(tmp_path, monkeypatch, baseline_prepared, fits):
    from nodebio import safeio

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safeio, "write_text", full)
    monkeypatch.setenv(store.ENV, str(tmp_path / "store"))
    with pytest.warns(store.StoreWarning, match=r"store .*store \(\$NODEBIO_STORE\) cannot be written"):
        model = store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared)
    assert fits["baseline"] == 1 and model.simulate(baseline_prepared.test).shape[0] == 1


def test_a_store_path_that_is_a_file_is_refused_before_fitting(tmp_path, baseline_prepared, fits):
    from nodebio.errors import OutputPathError

    path = tmp_path / "store"
    path.write_text("")
    with pytest.raises(OutputPathError, match=r"is a file.*NODEBIO_STORE"):
        store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=path)
    assert fits["baseline"] == 0


def test_a_dataset_name_never_writes_outside_the_store(tmp_path, baseline_prepared):
    import dataclasses

    from nodebio import data

    dataset = dataclasses.replace(baseline_prepared.dataset, name="../../x")
    prepared = data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=60)
    folder = tmp_path / "a" / "b" / "store"
    store.fit(make_model("baseline-gb", n_estimators=5), prepared, store=folder)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.parent == folder for p in written)


class _Payload:
    """Unpickling runs ``open(marker, "w")``: the file appears if a pickle is ever loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_in_the_store_never_runs(tmp_path, baseline_prepared, fits):
    import pickle

    store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=tmp_path)
    entry = next(tmp_path.glob("*.pkl"))
    marker = tmp_path.parent / f"{tmp_path.name}-ran"
    entry.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.warns(store.StoreWarning, match="not a pickle signed by nodebio"):
        store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=tmp_path)
    assert not marker.exists() and fits["baseline"] == 2
    # a pickle signed with another key (a store received from elsewhere) is refused as well
    signed = entry.read_bytes()
    mac_line_end = signed.index(b"\n", len(b"nodebio-signed-pickle-1\n"))
    entry.write_bytes(signed[:mac_line_end + 1] + pickle.dumps(_Payload(marker)))
    with pytest.warns(store.StoreWarning, match="not signed with this account's key"):
        store.fit(make_model("baseline-gb", n_estimators=5), baseline_prepared, store=tmp_path)
    assert not marker.exists() and fits["baseline"] == 3
