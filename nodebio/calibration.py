r"""Intervals that mean what they say: calibrating an ensemble's spread on held-out strains.

The central 90% range of M ensemble members is not a 90% interval. Even when the truth behaves like
one more member (a perfectly calibrated ensemble), it falls inside the 5th-95th percentile range of
M members only with the probability :func:`ideal_coverage` gives: about 62% for 5 members, 30% for 2
(normal draws).
And members trained on the same strains share their blind spots, so they usually agree with each
other more than with the truth. Until it is calibrated, such a range is called *the members' range*.

Calibration (:func:`calibrate`) measures the ensemble's errors where the truth is observed: by
inner leave-one-strain-out over the training strains (never the held-out ones). For each inner
fold an ensemble of the same model and size is trained on the other strains and predicts the left
out strain, from its measured initial state and protein curves. Two kinds of errors are scored on
the log scale, each divided by the members' standard deviation (floored at ``floor``):

* ``titer``: the final product of the left-out strain, against its measurement;
* ``fold_change``: the ratio of the left-out strain's final product to that of every inner
  training strain, against the measured ratio: a change of enzyme levels whose effect was measured,
  the observable kin of an intervention.

The calibrated half-width is the split-conformal quantile :math:`q` of these normalised scores
(the :math:`\lceil (n+1)\,level\rceil`-th smallest of n) times the members' standard deviation:
``exp(mean log ± q max(sd, floor))``. With too few scores for the level (fewer than
:math:`level/(1-level)`, as with the two training strains of the real data), the largest score
is used and :attr:`Calibration.exact` is False: the interval is then wider than the members' range
but its level is not guaranteed, and it is reported as such.

Why these defaults
------------------
``floor = 0.05`` (5% on the natural-log scale, the measurement noise of the synthetic data): members
that agree to a fraction of a percent would otherwise set the scale of every interval with one
score. Measured with ``python benchmarks/calibration_floor.py --members 2 --strains 6 --iterations
100`` (harder synthetic truth, data seed 0, 3 in-range and 3 out-of-range held-out strains):

======  ========================  ========================  =======================
floor   in-range coverage         median upper/lower ratio  out-of-range coverage
======  ========================  ========================  =======================
1e-4    0.556                     22.7                      0.889
0.01    0.556                     22.7                      0.907
0.05    0.556                     16.4                      0.963
0.2     0.537                     4.35                      0.981
======  ========================  ========================  =======================

Up to 0.05 the floor narrows the in-range intervals at no loss of coverage and raises the
out-of-range coverage; 0.2 narrows them four-fold more for one fewer covered effect in 54. A larger
floor may serve better; it is not adopted on one seed of a reduced setting. ``level = 0.9`` as
elsewhere in the package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio.errors import UsageError

__all__ = ["KINDS", "Calibration", "ideal_coverage", "conformal_quantile", "scores_needed", "score_counts",
           "too_few_scores", "log_values", "member_summary", "inner_scores", "calibrate"]

#: What a calibration scales: intervals of the final titer and of fold changes.
KINDS = ("titer", "fold_change")
#: Log-scale floor of the members' standard deviation (see "Why these defaults").
FLOOR = 0.05


def ideal_coverage(members: int, level: float = 0.9, *, draws: int = 200_000, seed: int = 0) -> float:
    """How often the central ``level`` range of ``members`` draws (numpy's linear quantiles) holds
    one more draw of the same distribution: the coverage of a perfectly calibrated ensemble of that
    size (Monte Carlo with ``draws`` seeded normal samples; about 0.62 for 5 members, 0.30 for 2)."""
    if members < 1:
        raise UsageError(f"members must be at least 1, got {members}.")
    if not 0 < level < 1:
        raise UsageError(f"level must be between 0 and 1, got {level}.")
    if members == 1:
        return 0.0
    rng = np.random.default_rng(seed)
    sample = rng.standard_normal((draws, members + 1))
    tail = (1.0 - level) / 2.0
    low = np.quantile(sample[:, :members], tail, axis=1)
    high = np.quantile(sample[:, :members], 1.0 - tail, axis=1)
    return float(np.mean((sample[:, -1] >= low) & (sample[:, -1] <= high)))


def conformal_quantile(scores: Sequence[float], level: float) -> tuple[float, bool]:
    """The split-conformal quantile of ``scores`` for ``level``, and whether it exists: with n
    scores, the ceil((n+1) level)-th smallest; when that exceeds n, the largest score and False."""
    scores = np.sort(np.asarray(scores, dtype=float)[np.isfinite(scores)])
    if not len(scores):
        raise UsageError("No finite calibration score: the inner folds predicted nothing usable.")
    k = math.ceil(round((len(scores) + 1) * level, 9))  # as scores_needed: 10 x 0.9 is 9, not 9.000000000000002
    if k > len(scores):
        return float(scores[-1]), False
    return float(scores[k - 1]), True


def scores_needed(level: float = 0.9) -> int:
    """The fewest scores whose split-conformal quantile exists at ``level``: the smallest n with
    ceil((n+1) level) <= n (9 for 0.9, 19 for 0.95)."""
    if not 0 < level < 1:
        raise UsageError(f"level must be between 0 and 1, got {level}.")
    n = 1
    while math.ceil(round((n + 1) * level, 9)) > n:
        n += 1
    return n


def score_counts(strains: int) -> dict[str, int]:
    """How many inner scores of each kind :func:`inner_scores` gives for ``strains`` training
    strains: one titer per strain left out, and a fold change against each of the others."""
    return {"titer": strains, "fold_change": strains * (strains - 1)}


def too_few_scores(counts: dict[str, int], level: float = 0.9) -> str | None:
    """Why intervals from inner scores of these ``counts`` cannot be called calibrated at
    ``level`` (a sentence that says what to do), or None when every kind has enough."""
    needed = scores_needed(level)
    short = {kind: n for kind, n in counts.items() if n < needed}
    if not short:
        return None
    which = " and ".join(f"{n} of the {kind.replace('_', ' ')}" for kind, n in short.items())
    return (f"The intervals would rest on {which} inner held-out scores; a calibrated {100 * level:g}% interval "
            f"needs at least {needed} of each (the conformal quantile of n scores exists only from n = {needed}), "
            f"so with these training strains every interval would be a guess of unknown level. Train on more strains "
            f"({needed} for the titer), give --no-calibration (calibrate=False) for the members' range, labelled as "
            "such, or --force (force=True) to use the members' spread scaled by the largest score, labelled "
            "'too few for a calibrated interval'.")


#: Values at or below this fraction of their scale count as this fraction on the log scale.
LOG_FLOOR = 1e-3


def log_values(values: np.ndarray, scale: float) -> np.ndarray:
    """log of positive values; values at or below ``LOG_FLOOR scale`` (a model may predict a titer
    of zero or below) are taken as ``LOG_FLOOR scale``."""
    return np.log(np.maximum(np.asarray(values, dtype=float), LOG_FLOOR * scale))


def member_summary(log_members: np.ndarray, floor: float = FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """(mean, floored standard deviation) over axis 0 of members' log values."""
    sd = log_members.std(axis=0, ddof=1) if len(log_members) > 1 else np.zeros(log_members.shape[1:])
    return log_members.mean(axis=0), np.maximum(sd, floor)


@dataclass
class Calibration:
    """Scales of the members' spread that make ``level`` intervals (see the module docstring).

    scale : ``{kind: q}`` for the kinds of :data:`KINDS`. exact : ``{kind: bool}``, whether q is the
    conformal quantile (True) or the largest of too few scores (False). scores : one row per inner
    score (``kind, strain, other, observed, predicted, sd, score``). members : ensemble size.
    """

    scale: dict
    exact: dict
    level: float = 0.9
    floor: float = FLOOR
    members: int = 0
    scores: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def calibrated(self) -> bool:
        """True when every scale is a conformal quantile of enough scores."""
        return bool(self.scale) and all(self.exact.values())

    def counts(self) -> dict[str, int]:
        """The number of inner scores of each kind."""
        usable = self.scores[np.isfinite(self.scores["score"])] if len(self.scores) else self.scores
        found = usable["kind"].value_counts() if len(usable) else pd.Series(dtype=int)
        return {kind: int(found.get(kind, 0)) for kind in self.scale}

    def describe(self, kind: str = "fold_change") -> str:
        """How to call the intervals of ``kind`` in a table or a figure."""
        if kind not in self.scale:
            return f"members' range ({self.members} members, not calibrated)"
        n = int((self.scores["kind"] == kind).sum()) if len(self.scores) else 0
        if self.exact[kind]:
            return f"calibrated {100 * self.level:g}% interval ({n} inner held-out scores)"
        return (f"members' spread scaled by the largest of {n} inner held-out scores (too few for a "
                f"calibrated {100 * self.level:g}% interval)")

    def bounds(self, members_values: np.ndarray, kind: str, reference: float = 1.0) -> tuple[np.ndarray, ...]:
        """(center, low, high) in original units of the members' values (axis 0: members) of
        ``kind``; ``reference`` sets the log floor of titers."""
        logs = log_values(members_values, reference)
        mean, sd = member_summary(logs, self.floor)
        half = self.scale[kind] * sd
        with np.errstate(over="ignore"):  # a huge spread: the interval reaches infinity
            return np.exp(mean), np.exp(mean - half), np.exp(mean + half)

    def log_sigma(self, members_values: np.ndarray, kind: str, reference: float = 1.0):
        """(mean, sigma) of a log-normal predictive distribution whose central ``level`` interval is
        the calibrated one (for acquisition rules)."""
        from scipy.stats import norm

        logs = log_values(members_values, reference)
        mean, sd = member_summary(logs, self.floor)
        return mean, self.scale[kind] * sd / norm.ppf(0.5 + self.level / 2.0)


def inner_scores(dataset: _data.Dataset, train: Sequence[str], *, model: str = "node", members: int = 5,
                 seed: int = 0, product: str | None = None, floor: float = FLOOR, bootstrap: bool = False,
                 quick: bool = False, device: str = "cpu", progress: bool = False, **options) -> pd.DataFrame:
    """The normalised scores of inner leave-one-strain-out over ``train`` (module docstring):
    one row per score, columns ``kind, strain, other, observed, predicted, sd, score``."""
    from nodebio.models.ensemble import Ensemble
    from nodebio.models.registry import prepare_for

    train = list(train)
    if len(train) < 2:
        raise UsageError(f"Calibration needs at least two training strains (one to hold out), got {train}.")
    product = product or dataset.product or dataset.states[-1]
    rows = []
    for left_out in train:
        inner = [s for s in train if s != left_out]
        ensemble = Ensemble(model, members, seed=seed, bootstrap=bootstrap, quick=quick, device=device, **options)
        prepared = prepare_for(ensemble.members[0], dataset, inner, [left_out])
        ensemble.fit(prepared, progress=progress)
        j = list(prepared.test.states).index(product)
        observed_out = float(prepared.test.x[0, -1, j])
        observed_in = prepared.train.x[:, -1, j]
        scale = float(np.nanmax(np.abs(prepared.train.x[:, :, j]))) or 1.0
        out = ensemble.simulate_members(prepared.test)[:, 0, -1, j]            # (M,)
        ins = ensemble.simulate_members(prepared.train)[:, :, -1, j]            # (M, S)
        mean, sd = member_summary(log_values(out[:, None], scale), floor)
        obs = log_values(observed_out, scale)
        rows.append({"kind": "titer", "strain": left_out, "other": "", "observed": float(obs),
                     "predicted": float(mean[0]), "sd": float(sd[0]), "score": float(abs(obs - mean[0]) / sd[0])})
        ratio = log_values(out[:, None], scale) - log_values(ins, scale)        # (M, S)
        mean, sd = member_summary(ratio, floor)
        obs = log_values(observed_out, scale) - log_values(observed_in, scale)
        for k, other in enumerate(prepared.train.strains):
            rows.append({"kind": "fold_change", "strain": left_out, "other": other, "observed": float(obs[k]),
                         "predicted": float(mean[k]), "sd": float(sd[k]),
                         "score": float(abs(obs[k] - mean[k]) / sd[k])})
    return pd.DataFrame(rows)


def calibrate(dataset: _data.Dataset, train: Sequence[str], *, model: str = "node", members: int = 5,
              seed: int = 0, level: float = 0.9, product: str | None = None, floor: float = FLOOR,
              bootstrap: bool = False, quick: bool = False, device: str = "cpu", progress: bool = False,
              **options) -> Calibration:
    """The :class:`Calibration` of an ensemble of ``members`` ``model`` (a name of
    :func:`nodebio.models.make_model`; ``options`` go to it) trained on ``train`` strains of
    ``dataset``, from :func:`inner_scores`. ``seed`` is the inner ensembles' seed."""
    if not 0 < level < 1:
        raise UsageError(f"level must be between 0 and 1, got {level}.")
    if not floor > 0:
        raise UsageError(f"floor must be positive (a log-scale standard deviation), got {floor}.")
    scores = inner_scores(dataset, train, model=model, members=members, seed=seed, product=product, floor=floor,
                          bootstrap=bootstrap, quick=quick, device=device, progress=progress, **options)
    scale, exact = {}, {}
    for kind in KINDS:
        scale[kind], exact[kind] = conformal_quantile(scores.loc[scores["kind"] == kind, "score"], level)
    return Calibration(scale=scale, exact=exact, level=level, floor=floor, members=members, scores=scores)
