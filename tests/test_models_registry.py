"""The model registry: every model made by one function and used the same way."""

from __future__ import annotations

import pytest

from nodebio import metrics, models


def test_every_model_evaluates_the_same_way(baseline_prepared):
    for name in models.MODEL_NAMES:
        model = models.make_model(name, quick=True, device="cpu")
        model.fit(baseline_prepared, **({"progress": False} if name.startswith("node") else {}))
        predictions, trajectories, scores = metrics.evaluate(model, baseline_prepared)
        assert set(scores) == {"test", "train"}
        assert set(scores["test"]["rmse_integral"]) == set(baseline_prepared.test.states)
        assert scores["test"]["status"] == ["ok"]
        assert len(trajectories) == 4 * 60 * 6
    with pytest.raises(ValueError, match="Unknown model"):
        models.make_model("lstm")
