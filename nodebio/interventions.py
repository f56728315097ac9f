"""What if an enzyme were expressed more or less? Interventions simulated with an ensemble.

An :class:`Intervention` changes the control (protein) trajectories of a strain: it scales one or
more proteins by a factor, or sets them to a level, over the whole experiment or a time window.
Interventions compose with ``+`` and print readably (``HMGR x2, Limonene Synthase x0.5``).

:func:`simulate_interventions` simulates many interventions of one strain in one batched solve
per ensemble member (the scenarios are the batch dimension of the solver, on CPU or GPU), and
returns an :class:`InterventionResult`: the trajectories of every member and scenario, the
product titer at the final time with the ensemble's mean and interval, the fold change against
the unmodified strain, and a flag for scenarios whose controls leave the range seen in training.

An ensemble (:class:`nodebio.models.Ensemble`: several models of the same data, different seeds
and optionally bootstrap samples of the training strains) gives the spread reported here. Without
a calibration the interval of a prediction is the central ``level`` quantile range of the members'
predictions, *the members' range*: the disagreement of models that fit the training strains equally
well, not a confidence interval (even a perfectly calibrated 5-member ensemble covers the truth with
it only about 62% of the time, :func:`nodebio.calibration.ideal_coverage`). With a
:class:`nodebio.calibration.Calibration` (``calibration=``), the titer and fold-change intervals are
the members' spread scaled to cover inner held-out strains at ``level``; the column ``interval``
of :meth:`InterventionResult.table` says which. :func:`nodebio.experiments.validation.validate_on_synthetic`
measures how often either covers the truth on the synthetic pathway.

Shapes: M ensemble members, N scenarios, T grid times, ``n_states`` states, C controls.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio.errors import CheckpointMismatchError, UsageError, check_names, unknown_message
from nodebio.models.ensemble import Ensemble

__all__ = [
    "Change",
    "Intervention",
    "UNMODIFIED",
    "scale",
    "set_level",
    "parse_change",
    "log_factors",
    "single_protein_scan",
    "pairwise_scan",
    "random_designs",
    "training_range",
    "InterventionResult",
    "simulate_interventions",
    "model_times",
    "data_grid",
    "strain_trajectories",
    "trajectories_on_grid",
    "simulate_strain",
    "safe_file_name",
    "FACTOR_BOUNDS",
]

#: The factors a scaling may have: a change beyond a thousand-fold either way is outside anything an
#: expression system gives, and far outside what a model trained on a few strains can say anything
#: about. Change it (``nodebio.interventions.FACTOR_BOUNDS = (1e-4, 1e4)``) to allow more.
FACTOR_BOUNDS = (1e-3, 1e3)


# ---------------------------------------------------------------------------------------------
# Interventions
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One change to one protein: multiply by ``factor`` or set to ``level`` (original units,
    e.g. peak area), during ``start <= t <= end`` hours (the whole experiment by default)."""

    protein: str
    factor: float | None = None
    level: float | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self):
        if (self.factor is None) == (self.level is None):
            raise UsageError(f"A change of {self.protein!r} needs exactly one of factor= or level=.")
        low, high = FACTOR_BOUNDS
        if self.factor is not None and not (math.isfinite(self.factor) and low <= self.factor <= high):
            raise UsageError(
                f"The factor of {self.protein!r} must be a number from {low:g} to {high:g}, got {self.factor}: "
                "use a factor below 1 to lower a protein (0.5 halves it), and a level of 0 to remove it "
                "(--set PROTEIN=0; set_level in Python). nodebio.interventions.FACTOR_BOUNDS sets the range."
            )
        if self.level is not None and not (math.isfinite(self.level) and self.level >= 0):
            raise UsageError(f"The level of {self.protein!r} must be a non-negative number, got {self.level}.")
        if self.start is not None and self.end is not None and not self.end > self.start:
            raise UsageError(f"The window of {self.protein!r} must end after it starts, got {self.start}-{self.end} h.")

    def mask(self, times: np.ndarray) -> np.ndarray:
        """True at the times (h) the change applies to."""
        times = np.asarray(times, dtype=float)
        lo = -np.inf if self.start is None else self.start
        hi = np.inf if self.end is None else self.end
        return (times >= lo) & (times <= hi)

    def __str__(self) -> str:
        text = f"{self.protein} x{self.factor:g}" if self.factor is not None else f"{self.protein} = {self.level:g}"
        if self.start is not None or self.end is not None:
            lo = "0" if self.start is None else f"{self.start:g}"
            hi = "end" if self.end is None else f"{self.end:g}"
            text += f" ({lo}-{hi} h)"
        return text


@dataclass(frozen=True)
class Intervention:
    """A sequence of :class:`Change` applied in order; ``Intervention()`` changes nothing."""

    changes: tuple[Change, ...] = ()

    def __add__(self, other: "Intervention") -> "Intervention":
        if not isinstance(other, Intervention):
            return NotImplemented
        return Intervention(self.changes + other.changes)

    def __str__(self) -> str:
        return ", ".join(str(c) for c in self.changes) if self.changes else "unmodified"

    def __repr__(self) -> str:
        return f"Intervention({str(self)!r})"

    @property
    def proteins(self) -> tuple[str, ...]:
        """The proteins it changes, in order of first mention."""
        return tuple(dict.fromkeys(c.protein for c in self.changes))

    def factor(self, protein: str) -> float:
        """The overall factor applied to ``protein`` by whole-experiment scalings (1 if untouched;
        NaN when a level is set or a window is used, which no single factor describes)."""
        value = 1.0
        for c in self.changes:
            if c.protein != protein:
                continue
            if c.factor is None or c.start is not None or c.end is not None:
                return float("nan")
            value *= c.factor
        return value

    def check(self, controls: Sequence[str]) -> None:
        """Raise ValueError if a change names a protein that is not a control."""
        unknown = [p for p in self.proteins if p not in controls]
        if unknown:
            raise UsageError(unknown_message("protein", unknown, controls)
                             + " (the controls of the model)")

    def check_window(self, times: np.ndarray) -> None:
        """Raise ValueError if a change's window misses the experiment's times altogether."""
        for c in self.changes:
            if not c.mask(times).any():
                raise UsageError(f"The window of {c} lies outside the experiment ({times[0]:g}-{times[-1]:g} h): "
                                 "it would change nothing. Give a window within the experiment.")

    def apply(self, controls: np.ndarray, times: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The changed controls: a copy of ``controls`` (..., T, C), original units, ``times`` (T,) h,
        ``names`` the C control names."""
        self.check(names)
        out = np.array(controls, dtype=float, copy=True)
        names = list(names)
        for c in self.changes:
            j = names.index(c.protein)
            m = c.mask(times)
            if c.factor is not None:
                out[..., m, j] *= c.factor
            else:
                out[..., m, j] = c.level
        return out


#: The reference scenario: the strain as it is.
UNMODIFIED = Intervention()


def scale(protein: str, factor: float, *, start: float | None = None, end: float | None = None) -> Intervention:
    """Multiply ``protein`` by ``factor`` (> 0), optionally only during ``start``-``end`` h."""
    return Intervention((Change(protein, factor=float(factor), start=start, end=end),))


def set_level(protein: str, level: float, *, start: float | None = None, end: float | None = None) -> Intervention:
    """Hold ``protein`` at ``level`` (original units), optionally only during ``start``-``end`` h."""
    return Intervention((Change(protein, level=float(level), start=start, end=end),))


def parse_change(text: str, kind: str = "scale") -> Intervention:
    """``"HMGR=2"`` (or ``"HMGR=2@24-48"`` for a window in hours) as a scaling (``kind="scale"``)
    or a level (``kind="set"``)."""
    match = re.fullmatch(r"\s*(.+?)\s*=\s*([^@\s]+)\s*(?:@\s*([0-9.eE+-]+)\s*-\s*([0-9.eE+-]+))?\s*", text)
    if not match:
        raise UsageError(f"Cannot read {text!r}: write PROTEIN=VALUE, e.g. HMGR=2 or \"Limonene Synthase=0.5@24-72\".")
    protein, value, start, end = match.groups()
    try:
        number = float(value)
        start = None if start is None else float(start)
        end = None if end is None else float(end)
    except ValueError:
        raise UsageError(f"Cannot read {text!r}: {value!r} is not a number.") from None
    if kind == "scale":
        return scale(protein, number, start=start, end=end)
    if kind == "set":
        return set_level(protein, number, start=start, end=end)
    raise UsageError(f"kind must be 'scale' or 'set', got {kind!r}.")


def log_factors(low: float = 0.25, high: float = 4.0, n: int = 9) -> np.ndarray:
    """``n`` factors evenly spaced in log scale from ``low`` to ``high`` (both > 0)."""
    if not (low > 0 and high > low and n >= 2):
        raise UsageError(f"Need 0 < low < high and n >= 2, got low={low}, high={high}, n={n}.")
    return np.geomspace(low, high, n)


def single_protein_scan(proteins: Sequence[str], factors: Iterable[float]) -> list[Intervention]:
    """Every protein scaled by every factor, one at a time (factors of 1 are skipped)."""
    factors = [float(f) for f in factors]
    return [scale(p, f) for p in proteins for f in factors if not math.isclose(f, 1.0)]


def pairwise_scan(protein_a: str, protein_b: str, factors_a: Iterable[float],
                  factors_b: Iterable[float] | None = None) -> list[Intervention]:
    """The grid of ``protein_a`` x factor_a combined with ``protein_b`` x factor_b (including the
    factor-1 rows and columns, so that the grid is complete)."""
    if protein_a == protein_b:
        raise UsageError(f"A pairwise scan needs two different proteins, got {protein_a!r} twice.")
    factors_a = [float(f) for f in factors_a]
    factors_b = factors_a if factors_b is None else [float(f) for f in factors_b]
    return [scale(protein_a, fa) + scale(protein_b, fb) for fa in factors_a for fb in factors_b]


def random_designs(proteins: Sequence[str], n: int, *, low: float = 0.25, high: float = 4.0,
                   seed: int = 0) -> list[Intervention]:
    """``n`` interventions that scale every protein at once by factors drawn log-uniformly from
    [``low``, ``high``] (seeded): a space-filling set of designs for large scans."""
    if not proteins:
        raise UsageError("random_designs needs at least one protein.")
    rng = np.random.default_rng(seed)
    factors = np.exp(rng.uniform(np.log(low), np.log(high), (n, len(proteins))))
    return [Intervention(tuple(Change(p, factor=float(f)) for p, f in zip(proteins, row))) for row in factors]


def training_range(train: _data.Trajectories) -> pd.DataFrame:
    """The range of every control over the training strains and times: columns ``low, high``
    (original units), one row per control."""
    flat = train.u.reshape(-1, train.u.shape[-1])
    return pd.DataFrame({"low": flat.min(axis=0), "high": flat.max(axis=0)}, index=list(train.controls))


def strain_trajectories(dataset: _data.Dataset, strain: str, times: np.ndarray) -> _data.Trajectories:
    """One strain of ``dataset`` on the grid ``times`` (h) of a trained model, for simulating it.

    Raises ``DataValidationError`` for an unknown strain or a grid the data do not cover.
    """
    if strain not in dataset.strains:
        raise _data.DataValidationError(unknown_message("strain", [strain], dataset.strains))
    times = np.asarray(times, dtype=float)
    grid = _data.resample(_data.impute(dataset.subset([strain])), n_points=len(times),
                          t_start=float(times[0]), t_end=float(times[-1]))
    return grid


def trajectories_on_grid(dataset: _data.Dataset, strains: Sequence[str], times: np.ndarray) -> _data.Trajectories:
    """Several strains of ``dataset`` on a model's grid ``times``, each resampled on its own
    (:func:`strain_trajectories`); without the table of measured values."""
    grids = [strain_trajectories(dataset, s, times) for s in strains]
    first = grids[0]
    return _data.Trajectories(strains=tuple(strains), times=first.times, x=np.concatenate([g.x for g in grids]),
                              u=np.concatenate([g.u for g in grids]), states=first.states,
                              controls=first.controls, measured=first.measured.iloc[:0], units=first.units)


# ---------------------------------------------------------------------------------------------
# Simulating interventions
# ---------------------------------------------------------------------------------------------


def _interval(values: np.ndarray, level: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    tail = (1.0 - level) / 2.0
    return np.quantile(values, tail, axis=axis), np.quantile(values, 1.0 - tail, axis=axis)


@dataclass
class InterventionResult:
    """Simulations of N scenarios of one strain by M ensemble members.

    Attributes
    ----------
    interventions : the N scenarios; ``interventions[0]`` is the unmodified strain (the reference).
    strain, product : names; times : (T,) h; states : names of the n_states states.
    trajectories : (M, N, T, n_states) states in original units.
    controls : (N, T, C) the changed controls, original units; control_names : C names.
    extrapolated : for every scenario, the controls that leave the training range.
    level : the central probability of the intervals (0.9 = 5th to 95th percentile of members).
    units : unit of each state. calibration : a :class:`nodebio.calibration.Calibration` that
    scales the titer and fold-change intervals (None: the members' range).
    """

    interventions: list[Intervention]
    strain: str
    product: str
    times: np.ndarray
    states: tuple[str, ...]
    trajectories: np.ndarray
    controls: np.ndarray
    control_names: tuple[str, ...]
    extrapolated: list[tuple[str, ...]]
    level: float = 0.9
    units: dict[str, str] = field(default_factory=dict)
    calibration: object | None = None

    @property
    def interval_name(self) -> str:
        """What the intervals of :meth:`table` are: calibrated, or the members' range."""
        if self.calibration is None:
            return f"members' range ({len(self.titers)} members, not calibrated)"
        return self.calibration.describe("fold_change")

    def intervals(self) -> tuple[np.ndarray, ...]:
        """(titer_low, titer_high, fold_low, fold_high), each (N,): calibrated when a calibration
        is attached, else the members' ``level`` range."""
        titers, folds = self.titers, self.fold_changes
        if self.calibration is None:
            return (*_interval(titers, self.level), *_interval(folds, self.level))
        scale = float(np.nanmax(np.abs(titers))) or 1.0
        _, t_low, t_high = self.calibration.bounds(titers, "titer", scale)
        _, f_low, f_high = self.calibration.bounds(np.where(np.isfinite(folds), folds, 0.0), "fold_change")
        return t_low, t_high, f_low, f_high

    @property
    def titers(self) -> np.ndarray:
        """(M, N) the product at the final time, original units; never negative (a model's negative
        prediction of a concentration is reported as 0)."""
        return np.maximum(self.trajectories[:, :, -1, self.states.index(self.product)], 0.0)

    @property
    def fold_changes(self) -> np.ndarray:
        """(M, N) each member's titer over its own titer of the unmodified strain (NaN where that
        titer is not positive)."""
        titers = self.titers
        reference = titers[:, :1]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(reference > 0, titers / np.where(reference > 0, reference, 1.0), np.nan)

    def factors(self) -> pd.DataFrame:
        """One row per scenario, one column per changed protein: its overall factor (1 where
        untouched, NaN for levels and windows)."""
        proteins = list(dict.fromkeys(p for i in self.interventions for p in i.proteins))
        return pd.DataFrame({p: [i.factor(p) for i in self.interventions] for p in proteins})

    def table(self, ranked: bool = True) -> pd.DataFrame:
        """One row per scenario (the unmodified strain included as the reference).

        Columns ``intervention, protein, factor, titer_mean, titer_low, titer_high, fold_change,
        extrapolation`` (titer: the product at the final time, original units; fold change
        against the unmodified strain, mean over members; ``extrapolation``: a control leaves the
        training range), then ``fold_change_low, fold_change_high, extrapolated_proteins`` (those
        that leave it), ``adds_extrapolation`` (the intervention moves a protein out of the
        training range that the unmodified strain keeps inside), ``overlaps_unmodified`` (the
        titer interval overlaps that of the unmodified strain: the ensemble cannot tell the two
        apart) and ``overlaps_best``. ``protein``/``factor`` name the
        one changed protein and its factor (proteins joined by ", " and factor NaN otherwise).
        ``ranked`` sorts by predicted titer, highest first, with a ``rank`` column. The last
        column, ``interval``, says what the intervals are (:attr:`interval_name`).
        """
        titers, folds = self.titers, self.fold_changes
        low, high, fold_low, fold_high = self.intervals()
        rows = []
        for i, intervention in enumerate(self.interventions):
            proteins = intervention.proteins
            rows.append({
                "intervention": str(intervention),
                "protein": ", ".join(proteins),
                "factor": intervention.factor(proteins[0]) if len(proteins) == 1 else (1.0 if not proteins else np.nan),
                "titer_mean": float(titers[:, i].mean()),
                "titer_low": float(low[i]),
                "titer_high": float(high[i]),
                "fold_change": float(np.mean(folds[:, i])),
                "extrapolation": bool(self.extrapolated[i]),
                "fold_change_low": float(fold_low[i]),
                "fold_change_high": float(fold_high[i]),
                "extrapolated_proteins": ", ".join(self.extrapolated[i]),
                "adds_extrapolation": bool(set(self.extrapolated[i]) - set(self.extrapolated[0])),
            })
        table = pd.DataFrame(rows)
        table["overlaps_unmodified"] = (table["titer_low"] <= table.loc[0, "titer_high"]) & (
            table["titer_high"] >= table.loc[0, "titer_low"])
        best = int(table["titer_mean"].idxmax())
        table["overlaps_best"] = (table["titer_high"] >= table.loc[best, "titer_low"]) & (
            table["titer_low"] <= table.loc[best, "titer_high"])
        table["interval"] = self.interval_name
        if ranked:
            table = table.sort_values("titer_mean", ascending=False, kind="stable").reset_index(drop=True)
            table.insert(0, "rank", np.arange(1, len(table) + 1))
        return table

    def band(self, variable: str | None = None) -> pd.DataFrame:
        """Long table ``intervention, time, mean, low, high`` of one state (the product by default)."""
        variable = variable or self.product
        j = self.states.index(variable)
        values = self.trajectories[..., j]
        low, high = _interval(values, self.level)
        mean = values.mean(axis=0)
        frames = [pd.DataFrame({"intervention": str(iv), "time": self.times, "mean": mean[i],
                                "low": low[i], "high": high[i]}) for i, iv in enumerate(self.interventions)]
        return pd.concat(frames, ignore_index=True)

    def trajectory_frame(self) -> pd.DataFrame:
        """Long table ``intervention, member, time, variable, value`` of every simulation."""
        m, n, t, s = self.trajectories.shape
        index = pd.MultiIndex.from_product(
            [[str(i) for i in self.interventions], range(m), self.times, self.states],
            names=["intervention", "member", "time", "variable"])
        values = self.trajectories.transpose(1, 0, 2, 3).reshape(-1)
        return pd.DataFrame({"value": values}, index=index).reset_index()


def data_grid(dataset: _data.Dataset) -> np.ndarray:
    """The even grid (h) :func:`nodebio.data.prepare` resamples ``dataset`` on by default."""
    return np.asarray(_data.resample(_data.impute(dataset)).times, dtype=float)


def model_times(ensemble, default: np.ndarray) -> np.ndarray:
    """The grid (h) the models of ``ensemble`` were trained on; ``default`` for models that keep
    none (the derivative-regression baselines simulate any grid)."""
    times = getattr(ensemble.members[0], "times", None) if isinstance(ensemble, Ensemble) else getattr(
        ensemble, "times", None)
    return np.asarray(default if times is None else times, dtype=float)


def simulate_interventions(ensemble, trajectories: _data.Trajectories, interventions: Sequence[Intervention], *,
                           strain: str | None = None, product: str | None = None,
                           control_range: pd.DataFrame | None = None, level: float = 0.9,
                           batch_size: int | None = None, tolerance: float = 1e-6,
                           calibration=None) -> InterventionResult:
    """Simulate ``interventions`` of one strain with every member of ``ensemble``, batched.

    ensemble : an :class:`~nodebio.models.Ensemble` (or one fitted model, an ensemble of one: no interval).
    trajectories : holds ``strain`` (the first strain if None) on the models' grid; its initial
        state and controls are the starting point of every scenario.
    interventions : the scenarios; the unmodified strain is added first when it is not there.
    product : the state whose final value is the titer (the dataset's product; default the
        last state). control_range : :func:`training_range` of the training strains, for the
        extrapolation flags (a control below ``low`` or above ``high`` by more than ``tolerance``
        relative); None flags nothing.
    level : central probability of the ensemble intervals. batch_size : scenarios per solve
        (all at once by default; lower it to bound memory on a GPU). Torch's thread count is left
        as it is (a process-wide setting: the ``nodebio`` command and the book run on one thread).
    calibration : a :class:`nodebio.calibration.Calibration` of the ensemble (None: the
        intervals are the members' range).
    """
    if not isinstance(ensemble, Ensemble):
        ensemble = Ensemble.of([ensemble])
    if calibration is not None:
        level = calibration.level
    if not 0 < level < 1:
        raise UsageError(f"level must be between 0 and 1, got {level}.")
    strain = strain or trajectories.strains[0]
    i = trajectories.index(strain)
    first = ensemble.members[0]
    if hasattr(first, "check_compatible"):
        first.check_compatible(trajectories)
    else:  # models that simulate any grid (the derivative-regression baselines): the names must match
        check_names(first.states, trajectories.states, "states")
        check_names(first.controls, trajectories.controls, "controls")
    grid = model_times(ensemble, trajectories.times)
    if len(trajectories.times) != len(grid) or not np.allclose(trajectories.times, grid):
        raise CheckpointMismatchError(
            f"The strain is on a grid of {len(trajectories.times)} times "
            f"{trajectories.times[0]:g}-{trajectories.times[-1]:g} h, the models on one of {len(grid)} "
            f"times {grid[0]:g}-{grid[-1]:g} h; resample it with strain_trajectories()."
        )
    product = product or trajectories.states[-1]
    if product not in trajectories.states:
        raise UsageError(unknown_message("state", [product], trajectories.states) + " (the product)")
    interventions = list(interventions)
    if not interventions or interventions[0] != UNMODIFIED:
        interventions = [UNMODIFIED] + [iv for iv in interventions if iv != UNMODIFIED]
    for iv in interventions:
        iv.check(trajectories.controls)
        iv.check_window(trajectories.times)
    base_u = trajectories.u[i]
    controls = np.stack([iv.apply(base_u, trajectories.times, trajectories.controls) for iv in interventions])
    x0 = np.repeat(trajectories.x[i:i + 1, 0], len(interventions), axis=0)

    size = batch_size or len(interventions)
    pieces = []
    one = trajectories.subset([strain])
    for lo in range(0, len(interventions), size):
        pieces.append(ensemble.simulate_members(one, controls=controls[lo:lo + size], x0=x0[lo:lo + size]))
    simulated = np.concatenate(pieces, axis=1)

    extrapolated = _outside_range(controls, trajectories.controls, control_range, tolerance)
    return InterventionResult(
        interventions=interventions, strain=strain, product=product, times=np.asarray(trajectories.times),
        states=tuple(trajectories.states), trajectories=simulated, controls=controls,
        control_names=tuple(trajectories.controls), extrapolated=extrapolated, level=level,
        units={k: v for k, v in trajectories.units.items() if k in trajectories.states}, calibration=calibration,
    )


def _outside_range(controls: np.ndarray, names: Sequence[str], control_range: pd.DataFrame | None,
                   tolerance: float) -> list[tuple[str, ...]]:
    """For every scenario of ``controls`` (N, T, C), the controls that leave ``control_range``
    (by more than ``tolerance`` relative); nothing when there is no range."""
    if control_range is None:
        return [() for _ in range(len(controls))]
    low = control_range.loc[list(names), "low"].to_numpy(float)
    high = control_range.loc[list(names), "high"].to_numpy(float)
    slack = tolerance * np.maximum(np.abs(high), 1e-12)
    outside = ((controls < low - slack) | (controls > high + slack)).any(axis=1)  # (N, C)
    return [tuple(c for c, flag in zip(names, row) if flag) for row in outside]


def simulate_strain(ensemble, dataset: _data.Dataset, strain: str, interventions: Sequence[Intervention], *,
                    level: float = 0.9, product: str | None = None, calibration=None) -> InterventionResult:
    """:func:`simulate_interventions` of one strain of ``dataset``, ready to use: the strain on the
    models' grid, extrapolation flags against the range of the models' training strains, and the
    dataset's product (its last state when it names none)."""
    if not isinstance(ensemble, Ensemble):
        ensemble = Ensemble.of([ensemble])
    times = model_times(ensemble, data_grid(dataset))
    trajectories = strain_trajectories(dataset, strain, times)
    ranges = training_range(trajectories_on_grid(dataset, ensemble.train_strains, times))
    return simulate_interventions(ensemble, trajectories, interventions, strain=strain,
                                  product=product or dataset.product or dataset.states[-1], control_range=ranges,
                                  level=level, calibration=calibration)


def safe_file_name(name: str) -> str:
    """A strain (or scenario) name as a file-name part: letters, digits, ``.``, ``_`` and ``-``
    only, every other run of characters replaced by ``_``, no leading dots (``../x`` -> ``_.._x``);
    a name longer than 80 characters becomes its first 60 and 12 hex digits of its sha256."""
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).lstrip(".")
    if len(safe) > 80:  # a file name has at most 255 bytes: a long name keeps its start and a digest of the whole
        import hashlib

        safe = f"{safe[:60]}-{hashlib.sha256(str(name).encode()).hexdigest()[:12]}"
    return safe or "_"
