"""Model-free references: what a model must beat before it has learned anything that transfers.

:class:`TrainingMeanModel` predicts, whatever the strain, the average trajectory of the training
strains. It has the ``fit``/``simulate`` signature of every model of :mod:`nodebio.models`.
"""

from __future__ import annotations

import numpy as np

from nodebio import data as _data
from nodebio.errors import check_names

__all__ = ["TrainingMeanModel"]


class TrainingMeanModel:
    """Predicts, for any strain, the mean trajectory of the training strains (on their grid)."""

    name = "mean"

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False) -> "TrainingMeanModel":
        self.states, self.controls = tuple(prepared.train.states), tuple(prepared.train.controls)
        self.times = np.asarray(prepared.train.times, dtype=float)
        self.mean_ = prepared.train.x.mean(axis=0)
        self.train_strains = tuple(prepared.train.strains)
        self.test_strains = tuple(prepared.test.strains)
        self.units = dict(prepared.train.units)
        self.dataset_name = prepared.dataset.name
        self.fit_seconds = 0.0
        return self

    def simulate(self, trajectories: _data.Trajectories, **_ignored) -> np.ndarray:
        check_names(self.states, trajectories.states, "states")
        times = np.asarray(trajectories.times, dtype=float)
        mean = np.stack([np.interp(times, self.times, self.mean_[:, j]) for j in range(len(self.states))], -1)
        self.status_ = ["ok"] * len(trajectories.strains)
        return np.repeat(mean[None], len(trajectories.strains), axis=0)

    def __repr__(self) -> str:
        return f"TrainingMeanModel(mean of {', '.join(getattr(self, 'train_strains', ()))})"
