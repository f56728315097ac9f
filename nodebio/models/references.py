"""Model-free references: what a model must beat before it has learned anything that transfers.

Each predicts a strain's metabolites without learning any dynamics:

- :class:`TrainingMeanModel` (``"mean"``): the average trajectory of the training strains,
  whatever the strain.
- :class:`PersistenceModel` (``"persistence"``): every metabolite held at the strain's own
  initial value (the measurement at 0 h).
- :class:`NearestStrainModel` (``"nearest"``): the trajectory of the training strain whose
  enzyme levels are closest to the strain's (mean absolute difference of log1p levels over time
  and enzymes): the only reference that uses the held-out strain's proteomics.
- :class:`ZeroModel` (``"zero"``): every metabolite at zero.

A new reference subclasses one of them and overrides :meth:`NearestStrainModel.predict`
(``predict(times, u, start)``), with :meth:`NearestStrainModel.on_grid` to put the training
strains on the grid. They have the ``fit``/``simulate`` signature of every model of :mod:`nodebio.models`
(``controls`` and ``x0`` are accepted: the nearest strain is chosen on the given controls, the
persistence holds the given initial state). A model that cannot beat them has learned nothing
that transfers to a new strain.
"""

from __future__ import annotations

import numpy as np

from nodebio import data as _data
from nodebio.errors import NotFittedError, check_names

__all__ = ["TrainingMeanModel", "PersistenceModel", "NearestStrainModel", "ZeroModel", "REFERENCES"]


class _Reference:
    """What every reference keeps of the training strains: names, grid and trajectories."""

    name = "reference"
    uses_controls = False

    def get_params(self) -> dict:
        """A reference has no options."""
        return {}

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False):
        train = prepared.train
        self.states, self.controls = tuple(train.states), tuple(train.controls)
        self.times = np.asarray(train.times, dtype=float)
        self.train_x_, self.train_u_ = np.asarray(train.x, dtype=float), np.asarray(train.u, dtype=float)
        self.train_strains = tuple(train.strains)
        self.test_strains = tuple(prepared.test.strains)
        self.units = dict(train.units)
        self.dataset_name = prepared.dataset.name
        self.data_sha256 = prepared.dataset.sha256
        self.fit_seconds = 0.0
        return self

    def on_grid(self, values: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Training trajectories (..., T_train, n), e.g. ``train_x_``, interpolated linearly onto ``times``."""
        if np.array_equal(times, self.times):
            return values
        flat = values.reshape(-1, len(self.times), values.shape[-1])
        out = np.stack([np.stack([np.interp(times, self.times, v[:, j]) for j in range(v.shape[-1])], -1)
                        for v in flat])
        return out.reshape(*values.shape[:-2], len(times), values.shape[-1])

    def simulate(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                 x0: np.ndarray | None = None) -> np.ndarray:
        """Predictions for the strains of ``trajectories``: (S, T, n_states), original units."""
        if not hasattr(self, "states"):
            raise NotFittedError("The model is not fitted: call fit() first.")
        check_names(self.states, trajectories.states, "states")
        if self.uses_controls:
            check_names(self.controls, trajectories.controls, "controls")
        times = np.asarray(trajectories.times, dtype=float)
        u = trajectories.u if controls is None else np.asarray(controls, dtype=float)
        start = trajectories.x[:, 0] if x0 is None else np.asarray(x0, dtype=float)
        self.status_ = ["ok"] * len(start)
        return self.predict(times, u, start)

    def predict(self, times: np.ndarray, u: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The reference's prediction, the hook a new reference overrides: (S, T, n_states).

        times : (T,) the strains' grid (h). u : (S, T, n_controls) their controls, original units.
        start : (S, n_states) their initial states. :meth:`on_grid` puts the training strains'
        trajectories (``train_x_``, ``train_u_``) on ``times``.
        """
        raise NotImplementedError(f"{type(self).__name__} must define predict(times, u, start).")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(trained on {', '.join(getattr(self, 'train_strains', ())) or 'nothing yet'})"


class TrainingMeanModel(_Reference):
    """Predicts, for any strain, the mean trajectory of the training strains (on their grid)."""

    name = "mean"

    def predict(self, times, u, start):
        mean = self.on_grid(self.train_x_.mean(axis=0), times)
        return np.repeat(mean[None], len(start), axis=0)


class PersistenceModel(_Reference):
    """Holds every metabolite of a strain at its initial value."""

    name = "persistence"

    def predict(self, times, u, start):
        return np.repeat(np.asarray(start, dtype=float)[:, None, :], len(times), axis=1)


class NearestStrainModel(_Reference):
    """Predicts the trajectory of the training strain with the closest enzyme levels.

    Distance: the mean over times and enzymes of ``|log1p(u_strain) - log1p(u_training strain)|`` on
    the strain's grid. ``nearest_`` holds the chosen training strain of each simulated strain.
    """

    name = "nearest"
    uses_controls = True

    def predict(self, times, u, start):
        train_u = np.log1p(self.on_grid(self.train_u_, times))  # (S_train, T, C)
        train_x = self.on_grid(self.train_x_, times)
        distance = np.abs(np.log1p(u)[:, None] - train_u[None]).mean(axis=(2, 3))  # (S, S_train)
        choice = distance.argmin(axis=1)
        self.nearest_ = [self.train_strains[k] for k in choice]
        return train_x[choice]


class ZeroModel(_Reference):
    """Predicts zero for every metabolite."""

    name = "zero"

    def predict(self, times, u, start):
        return np.zeros((len(start), len(times), len(self.states)))


#: The model-free references by registry name.
REFERENCES = {cls.name: cls for cls in (TrainingMeanModel, PersistenceModel, NearestStrainModel, ZeroModel)}
