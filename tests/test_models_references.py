"""The model-free references."""

from __future__ import annotations

import numpy as np
import pytest

from nodebio import models
from nodebio.models import references


def test_training_mean(baseline_prepared):
    model = references.TrainingMeanModel().fit(baseline_prepared)
    predicted = model.simulate(baseline_prepared.test)
    assert np.allclose(predicted[0], baseline_prepared.train.x.mean(axis=0))


def test_persistence_nearest_and_zero(baseline_prepared):
    test, train = baseline_prepared.test, baseline_prepared.train
    held = models.make_model("persistence").fit(baseline_prepared).simulate(test)
    np.testing.assert_array_equal(held, np.repeat(test.x[:, :1], len(test.times), axis=1))
    x0 = test.x[:, 0] * 2
    np.testing.assert_array_equal(models.make_model("persistence").fit(baseline_prepared).simulate(test, x0=x0)[:, -1],
                                  x0)
    assert not models.make_model("zero").fit(baseline_prepared).simulate(test).any()
    nearest = models.make_model("nearest").fit(baseline_prepared)
    predicted = nearest.simulate(test)
    distance = {s: np.abs(np.log1p(train.u[train.index(s)]) - np.log1p(test.u[0])).mean() for s in train.strains}
    assert nearest.nearest_ == [min(distance, key=distance.get)]
    np.testing.assert_array_equal(predicted[0], train.x[train.index(nearest.nearest_[0])])
    # a training strain is its own nearest strain
    assert nearest.simulate(train.subset([train.strains[1]])).shape == (1, len(train.times), len(train.states))
    assert nearest.nearest_ == [train.strains[1]]
    with pytest.raises(ValueError, match="takes no options"):
        models.make_model("nearest", width=3)


def test_a_new_reference_overrides_the_public_predict_hook(baseline_prepared):
    class FirstTrainingStrain(references.NearestStrainModel):
        name = "first"

        def predict(self, times, u, start):
            return np.repeat(self.on_grid(self.train_x_, times)[:1], len(start), axis=0)

    test, train = baseline_prepared.test, baseline_prepared.train
    predicted = FirstTrainingStrain().fit(baseline_prepared).simulate(test)
    np.testing.assert_allclose(predicted[0], train.x[0])
    half = test.times[::2]
    on_half = references.TrainingMeanModel().fit(baseline_prepared).on_grid(train.x, half)
    assert on_half.shape == (len(train.strains), len(half), len(train.states))
    np.testing.assert_allclose(on_half, train.x[:, ::2])


def test_a_reference_without_predict_says_what_to_define(baseline_prepared):
    class Empty(references.TrainingMeanModel.__mro__[1]):
        pass

    with pytest.raises(NotImplementedError, match=r"Empty must define predict\(times, u, start\)"):
        Empty().fit(baseline_prepared).simulate(baseline_prepared.test)
