"""Preprocessing: gaps filled, an even time grid, strain splits, scalers; :func:`prepare` does all.

Each step is a function, applied in this order by :func:`prepare`:

1. :func:`impute`: fill the gaps of each strain by linear interpolation in time between that
   strain's own measurements (values before the first or after the last measurement are held
   at the nearest measured value). The mask of measured values is kept.
2. :func:`resample`: interpolate each strain onto one even time grid (200 points by default,
   as in the paper) -> :class:`Trajectories` arrays of shape (strains, times, features).
3. :func:`split`: split by strain (defaults: train L1+L3 / test L2, train I1+I3 / test I2).
4. :class:`Scaler`: per-feature scaling fitted on the training strains only (``"standardize"``,
   ``"log1p"`` or ``"none"``), with an exact inverse.

Scaling defaults, shared by :func:`prepare` and every model: states :data:`STATE_SCALING`
(``"standardize"``), controls :data:`CONTROL_SCALING` (``"log1p"``: protein peak areas span
1e3-1e7, and log1p compresses these orders of magnitude).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from nodebio.data.dataset import PATHWAYS, Dataset
from nodebio.errors import DataValidationError, NotFittedError, UsageError, unknown_message

__all__ = ["STATE_SCALING", "CONTROL_SCALING", "impute", "Trajectories", "resample", "split", "Scaler",
           "PreparedData", "default_split", "prepare"]

#: The default scaling of the states (metabolites), for :func:`prepare` and every model.
STATE_SCALING = "standardize"
#: The default scaling of the controls (protein levels), for :func:`prepare` and every model.
CONTROL_SCALING = "log1p"

def impute(dataset: Dataset) -> Dataset:
    """Fill the gaps of each strain by linear interpolation in time.

    Within each strain and variable, a missing value between two measurements is interpolated
    linearly in time (not by row position: the sampling is uneven); before the first or after
    the last measurement the nearest measured value is held. ``mask`` is unchanged, so the
    filled values stay distinguishable.
    """
    table = dataset.table.copy()
    columns = list(dataset.variables)
    values = table[columns].to_numpy(dtype=float, copy=True)
    known = dataset.mask[columns].to_numpy(dtype=bool)
    times = table["time"].to_numpy(dtype=float)
    for rows in _strain_rows(table).values():
        t = times[rows]
        for j in range(len(columns)):
            k = known[rows, j]
            values[rows, j] = np.interp(t, t[k], values[rows, j][k])
    table[columns] = values
    return replace(dataset, table=table, filled=True)


def _strain_rows(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """The row positions of each strain, in one pass over the table."""
    return table.groupby("strain", sort=False).indices


@dataclass
class Trajectories:
    """Strains on one even time grid, as arrays.

    Attributes
    ----------
    strains : names, length S.
    times : (T,) hours.
    x : (S, T, n_states) states in original units.
    u : (S, T, n_controls) controls in original units.
    measured : long table ``strain, time, variable, kind, value, measured`` of the values that
        were actually measured (for scoring against measurements, not interpolated curves).
    """

    strains: tuple[str, ...]
    times: np.ndarray
    x: np.ndarray
    u: np.ndarray
    states: tuple[str, ...]
    controls: tuple[str, ...]
    measured: pd.DataFrame
    units: dict[str, str] = field(default_factory=dict)

    def index(self, strain: str) -> int:
        if strain not in self.strains:
            raise DataValidationError(unknown_message("strain", [strain], self.strains))
        return self.strains.index(strain)

    def subset(self, strains: Iterable[str]) -> "Trajectories":
        strains = tuple(strains)
        idx = [self.index(s) for s in strains]
        return replace(
            self,
            strains=strains,
            x=self.x[idx],
            u=self.u[idx],
            measured=self.measured[self.measured["strain"].isin(strains)].reset_index(drop=True),
        )

    def frame(self, strain: str) -> pd.DataFrame:
        """One strain as a DataFrame: ``time`` then controls then states."""
        i = self.index(strain)
        out = pd.DataFrame(self.u[i], columns=list(self.controls))
        out[list(self.states)] = self.x[i]
        out.insert(0, "time", self.times)
        return out

    def __repr__(self) -> str:
        return (
            f"Trajectories({len(self.strains)} strains {list(self.strains)}, {len(self.times)} times "
            f"{self.times[0]:g}-{self.times[-1]:g} h, x {self.x.shape}, u {self.u.shape})"
        )


#: The least share of the strains' whole time span that the window they all cover may have (see
#: :func:`resample`).
MIN_SHARED_SPAN = 0.9


def _check_spans(spans: pd.DataFrame, start: float, end: float) -> None:
    first, last = float(spans["min"].min()), float(spans["max"].max())
    if last <= first or end - start >= MIN_SHARED_SPAN * (last - first):
        return
    short = spans[(spans["min"] > first + 1e-9) | (spans["max"] < last - 1e-9)]
    named = ", ".join(f"{name!r} ({row['min']:g}-{row['max']:g} h)" for name, row in short.head(5).iterrows())
    raise DataValidationError(
        f"The strains do not span the same times: {named} against {first:g}-{last:g} h for the others. One grid "
        f"for all would cut every strain to {start:g}-{end:g} h (and predict the rest as the last value held "
        "flat). Measure the strains over the same times, leave the short strain(s) out, or resample a window of "
        "your choice (t_start=, t_end=).")


def resample(
    dataset: Dataset,
    n_points: int = 200,
    t_start: float | None = None,
    t_end: float | None = None,
) -> Trajectories:
    """Interpolate every strain linearly onto one even grid of ``n_points`` times.

    Gaps are filled first (:func:`impute`) if the dataset was not imputed. The grid spans
    [t_start, t_end], by default the window that every strain covers (0-72 h for the pathway
    tables), so no strain is extrapolated. Strains of different spans are refused (a
    :class:`DataValidationError` naming the strain and its span) when the shared window is less than
    ``MIN_SHARED_SPAN`` of the whole: the grid would silently cut every strain to the shortest
    one; give ``t_start`` and ``t_end`` to resample a window of your choice.
    """
    if n_points < 2:
        raise DataValidationError(f"n_points must be at least 2, got {n_points}.")
    if not dataset.filled:
        dataset = impute(dataset)
    spans = dataset.table.groupby("strain", sort=False)["time"].agg(["min", "max"])
    start = float(spans["min"].max()) if t_start is None else float(t_start)
    end = float(spans["max"].min()) if t_end is None else float(t_end)
    if t_start is None and t_end is None:
        _check_spans(spans, start, end)
    if not end > start:
        raise DataValidationError(
            f"The strains share no time window to resample on (start {start:g} h, end {end:g} h); "
            "pass t_start and t_end, or resample strains with overlapping times separately."
        )
    times = np.linspace(start, end, n_points)
    table = dataset.table
    values = table[list(dataset.controls + dataset.states)].to_numpy(dtype=float)
    sampled = table["time"].to_numpy(dtype=float)
    groups = _strain_rows(table)
    grid = np.empty((len(dataset.strains), n_points, values.shape[1]))
    for i, strain in enumerate(dataset.strains):
        rows = groups[strain]
        for j in range(values.shape[1]):
            grid[i, :, j] = np.interp(times, sampled[rows], values[rows, j])
    n_controls = len(dataset.controls)
    return Trajectories(
        strains=dataset.strains,
        times=times,
        x=grid[..., n_controls:],
        u=grid[..., :n_controls],
        states=dataset.states,
        controls=dataset.controls,
        measured=dataset.to_long(measured_only=True),
        units=dict(dataset.units),
    )


def split(
    dataset: Dataset, train: Sequence[str], test: Sequence[str]
) -> tuple[Dataset, Dataset]:
    """Split a dataset by strain into (train, test); the two must not share a strain."""
    train, test = list(train), list(test)
    for role, names in (("training", train), ("test", test)):
        repeated = sorted({s for s in names if names.count(s) > 1})
        if repeated:
            raise DataValidationError(f"{', '.join(map(repr, repeated))} is listed twice in the {role} strains; "
                                      "name each strain once.")
    if not train:
        raise DataValidationError("The training split is empty: name at least one training strain.")
    if not test:
        raise DataValidationError("The test split is empty: name at least one test strain.")
    known = set(dataset.strains)
    unknown = [s for s in train + test if s not in known]
    if unknown:
        raise DataValidationError(unknown_message("strain", unknown, dataset.strains) + " (in the split)")
    shared = sorted(set(train) & set(test))
    if shared:
        raise DataValidationError(
            f"Strain(s) {', '.join(shared)} are both in the training and the test split; a held-out "
            "strain must not be trained on."
        )
    return dataset.subset(train), dataset.subset(test)


class Scaler:
    """Per-feature scaling with an exact inverse, fitted on training data only.

    Methods
    -------
    ``"standardize"``: (v - mean) / sd.
    ``"log1p"``: log1p(v), then standardized; compresses the orders of magnitude of protein peak
        areas (1e3-1e7) and of skewed concentrations. Needs v > -1.
    ``"none"``: identity.

    Arrays are (..., n_features); statistics are taken over all leading axes. A feature with
    zero spread gets sd 1 (it is only centred).
    """

    METHODS = ("standardize", "log1p", "none")

    def __init__(self, method: str = "standardize", names: Sequence[str] | None = None):
        if method not in self.METHODS:
            raise UsageError(f"Unknown scaling {method!r}; choose one of {', '.join(self.METHODS)}.")
        self.method = method
        self.names = tuple(names) if names is not None else None
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def _forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.method == "log1p":
            if (values <= -1).any():
                raise DataValidationError("log1p scaling needs values above -1.")
            return np.log1p(values)
        return values

    def fit(self, values: np.ndarray) -> "Scaler":
        values = self._forward(values)
        flat = values.reshape(-1, values.shape[-1])
        if self.names is not None and len(self.names) != flat.shape[1]:
            raise UsageError(f"Scaler for {len(self.names)} features got {flat.shape[1]} columns.")
        if self.method == "none":
            self.mean_, self.scale_ = np.zeros(flat.shape[1]), np.ones(flat.shape[1])
        else:
            self.mean_ = flat.mean(axis=0)
            sd = flat.std(axis=0)
            self.scale_ = np.where(sd > 0, sd, 1.0)
        return self

    def _check(self, values: np.ndarray) -> None:
        if self.mean_ is None:
            raise NotFittedError("The scaler is not fitted: call fit() on the training data first.")
        if np.shape(values)[-1] != len(self.mean_):
            raise UsageError(f"Expected {len(self.mean_)} features, got {np.shape(values)[-1]}.")

    def transform(self, values: np.ndarray) -> np.ndarray:
        self._check(values)
        return (self._forward(values) - self.mean_) / self.scale_

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        self._check(values)
        out = np.asarray(values, dtype=float) * self.scale_ + self.mean_
        return np.expm1(out) if self.method == "log1p" else out

    def fit_transform(self, values: np.ndarray) -> np.ndarray:
        return self.fit(values).transform(values)

    def to_dict(self) -> dict:
        """Plain-Python state, for checkpoints."""
        return {
            "method": self.method,
            "names": list(self.names) if self.names is not None else None,
            "mean": None if self.mean_ is None else self.mean_.tolist(),
            "scale": None if self.scale_ is None else self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping) -> "Scaler":
        scaler = cls(state["method"], state.get("names"))
        if state.get("mean") is not None:
            scaler.mean_ = np.asarray(state["mean"], dtype=float)
            scaler.scale_ = np.asarray(state["scale"], dtype=float)
        return scaler

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"Scaler({self.method!r}, {fitted})"


@dataclass
class PreparedData:
    """The output of :func:`prepare`: everything a model needs, in original units and scalers.

    ``train``/``test`` are :class:`Trajectories` in original units; ``state_scaler`` and
    ``control_scaler`` were fitted on ``train`` only. ``dataset`` is the imputed dataset.
    """

    dataset: Dataset
    train: Trajectories
    test: Trajectories
    state_scaler: Scaler
    control_scaler: Scaler

    def __repr__(self) -> str:
        return (
            f"PreparedData({self.dataset.name!r}: train {list(self.train.strains)}, test "
            f"{list(self.test.strains)}, {len(self.train.times)} grid points, states scaled "
            f"{self.state_scaler.method!r}, controls {self.control_scaler.method!r})"
        )


def default_split(dataset: Dataset) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The default split of a dataset: for a pathway table the paper's (train the low and high
    producers, test the medium one); for the synthetic pathway, the last two strains held out."""
    if dataset.name == "synthetic" and len(dataset.strains) > 2:
        return tuple(dataset.strains[:-2]), tuple(dataset.strains[-2:])
    spec = PATHWAYS.get(dataset.name)
    if spec is None or not set(spec.strains) <= set(dataset.strains):
        raise DataValidationError(
            f"No default split for dataset {dataset.name!r}: pass train= and test= strain lists "
            f"(strains: {', '.join(dataset.strains)})."
        )
    return spec.train, spec.test


def _check_variation(train: Trajectories) -> None:
    """Raise when a state has one value throughout the training strains: nothing to learn, and its
    scaled error (divided by its standard deviation) would be undefined."""
    values = train.x.reshape(-1, train.x.shape[-1])
    constant = [name for name, column in zip(train.states, values.T)
                if np.nanmax(column) - np.nanmin(column) <= 1e-12 * max(1.0, float(np.nanmax(np.abs(column))))]
    if constant:
        raise DataValidationError(
            f"State{'s' if len(constant) > 1 else ''} {', '.join(map(repr, constant))} "
            f"{'have' if len(constant) > 1 else 'has'} one value throughout the training strains "
            f"({', '.join(train.strains)}): nothing to learn, and a scaled error would divide by a standard deviation "
            "of 0. Leave it out of the states (--states), or train on strains where it varies.")


def prepare(
    dataset: Dataset,
    train: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
    *,
    n_points: int = 200,
    state_scaling: str = STATE_SCALING,
    control_scaling: str = CONTROL_SCALING,
) -> PreparedData:
    """Impute, resample to an even grid, split by strain and fit scalers on the training strains.

    ``train``/``test`` default to :func:`default_split`. The scalings default to the package's
    (:data:`STATE_SCALING`, :data:`CONTROL_SCALING`), which are the models' defaults too.
    """
    if train is None or test is None:
        default_train, default_test = default_split(dataset)
        train = default_train if train is None else train
        test = default_test if test is None else test
    train_set, test_set = split(dataset, train, test)
    filled = impute(dataset)
    grid = resample(filled, n_points=n_points)
    train_grid, test_grid = grid.subset(train_set.strains), grid.subset(test_set.strains)
    _check_variation(train_grid)
    state_scaler = Scaler(state_scaling, dataset.states).fit(train_grid.x)
    control_scaler = Scaler(control_scaling, dataset.controls).fit(train_grid.u)
    return PreparedData(filled, train_grid, test_grid, state_scaler, control_scaler)

