"""The model-free references."""

from __future__ import annotations

import numpy as np

from nodebio.models import references


def test_training_mean(baseline_prepared):
    model = references.TrainingMeanModel().fit(baseline_prepared)
    predicted = model.simulate(baseline_prepared.test)
    assert np.allclose(predicted[0], baseline_prepared.train.x.mean(axis=0))
