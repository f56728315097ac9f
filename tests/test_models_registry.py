"""The model registry: every model made by one function and used the same way."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nodebio import data, metrics, models


def test_every_model_evaluates_the_same_way(baseline_prepared):
    for name in models.MODEL_NAMES:
        model = models.make_model(name, quick=True, device="cpu")
        prepared = models.prepare_for(model, baseline_prepared.dataset, baseline_prepared.train.strains,
                                      baseline_prepared.test.strains, n_points=60)
        model.fit(prepared, progress=False)
        predictions, trajectories, scores = metrics.evaluate(model, prepared)
        assert set(scores) == {"test", "train"}
        assert set(scores["test"]["rmse_integral"]) == set(baseline_prepared.test.states)
        assert scores["test"]["status"] == ["ok"]
        assert len(trajectories) == 4 * 60 * 6
    with pytest.raises(ValueError, match="Unknown model"):
        models.make_model("lstm")


def test_unknown_model_and_options_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown model: 'nod' \\(did you mean 'node'\\?\\)"):
        models.make_model("nod")
    with pytest.raises(ValueError, match="takes no options"):
        models.make_model("mean", width=3)


def test_prepare_for_uses_the_models_scaling(baseline_prepared):
    dataset = baseline_prepared.dataset
    node = models.make_model("node", state_scaling="log1p")
    assert models.prepare_for(node, dataset, ["S1", "S2"], ["S3"]).state_scaler.method == "log1p"
    mean = models.prepare_for(models.make_model("mean"), dataset, ["S1", "S2"], ["S3"])
    assert (mean.state_scaler.method, mean.control_scaler.method) == (data.STATE_SCALING, data.CONTROL_SCALING)


@pytest.mark.parametrize("module, absent", [
    ("nodebio", ("torch", "scipy", "sklearn", "sphinx", "papermill", "jupyter_book")),
    ("nodebio.data", ("torch", "scipy", "sklearn")),
    ("nodebio.models.baseline", ("torch",)),
    ("nodebio.models", ("torch", "sklearn")),
])
def test_imports_stay_light(module, absent):
    code = (f"import sys, {module}; loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {set(absent)!r}); "
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"import {module} loads {result.stdout.strip()}{result.stderr[-500:]}"


def test_prepare_like_keeps_data_that_fit_and_reprepares_the_rest(baseline_prepared):
    node = models.make_model("node")
    assert models.prepare_like(node, baseline_prepared) is baseline_prepared
    kinetic = models.make_model("node-kinetic")
    own = models.prepare_like(kinetic, baseline_prepared)
    assert own is not baseline_prepared and own.control_scaler.method == "none"
    assert own.train.strains == baseline_prepared.train.strains and len(own.train.times) == 60
    assert models.prepare_like(kinetic, own) is own


def test_every_model_lists_its_options_and_refuses_an_unknown_one():
    from nodebio.errors import UsageError
    from nodebio.models import MODEL_NAMES, REFERENCE_MODELS, make_model

    for name in MODEL_NAMES:
        params = make_model(name, seed=2).get_params()
        if name in REFERENCE_MODELS:
            assert params == {}
            with pytest.raises(UsageError, match=f"The model '{name}' takes no options, got sed"):
                make_model(name, sed=1)
        else:
            assert params["seed"] == 2, name
            with pytest.raises(UsageError, match=r"'sed' \(did you mean 'seed'\?\)"):
                make_model(name, sed=1)
