"""The model store: a fit is saved once and reused; a changed key refits; a bad entry is refitted."""

from __future__ import annotations

import warnings

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
