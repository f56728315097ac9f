"""The derivative-regression baseline of Costello & Garcia Martin (2018).

:class:`DerivativeRegressionModel` is the pipeline of Costello & Garcia Martin (2018):

1. put each strain on an even grid and estimate dx/dt of every state by a Savitzky-Golay filter
   (window 7, order 2, as in their code; central differences as the alternative):
   :func:`estimate_derivatives`;
2. fit one regressor per state mapping [states, controls] -> d(state)/dt on the training strains
   (gradient boosting or random forests, the families their AutoML search picked; or, with
   ``regressor="tpot"`` in the isolated TPOT environment that ``make tpot`` builds from
   ``requirements-tpot.lock``, their TPOT search itself);
3. simulate a strain by integrating the learned field from its initial state, its controls
   interpolated from its own measurements; predictions are clipped at 0 as in their code.

Three configurations; the first two are reported by the comparison:

``"published"``: the choices of their public code. Gaps are filled and the grid is built by
pandas' default linear interpolation, which goes by row position and ignores the time between
rows (:func:`published_resample`); the field is integrated with scipy's ``dopri5`` (``atol=1e-4``,
at most 1000 steps per call, calls of at most 10 h), as ``helper.odeintz`` of their repository
does, the integrator of the stored run whose result the paper quotes. Their later refactored
package integrates with ``dop853`` and the same settings: ``solver="dop853-stepped"``.

``"careful"``: time-aware interpolation (:func:`nodebio.data.prepare`), and a fixed-step
fourth-order Runge-Kutta integration on the grid. Tree ensembles are piecewise-constant
functions, so the learned field jumps wherever a split is crossed; an adaptive solver's error
control then spends its steps resolving jumps that carry no information, which a fixed step on
the data's own grid does not.

``"published-features"``: the published row handling and solver, and the inputs of the run whose
stored result the paper quotes (their notebook ``KineticLearningFilled.ipynb``): one hand-picked
list of inputs per metabolite (:data:`PUBLISHED_FEATURES`). **These lists use information from
the held-out strain**: besides states and enzymes they name measured series that are not
simulated (:data:`PUBLISHED_COVARIATES`: OD600, ATP, NAD, NADP, pyruvate, citrate, GPP), and
those enter as time-varying inputs taken from the *measured* data of the strain being simulated,
held-out strain included, like the enzymes. The covariates come from the pathway table (ATP,
absent there, from the raw metabolomics table) through :func:`load_covariates`. Rows of the
pathway table that carry no pathway value (2, 6, 10, 16, 20 h: acetate and pyruvate only) are
kept, as in their ``read_timeseries_data``, and take part in the row-position interpolation
(:func:`published_feature_resample`).

A trajectory whose solver fails, or whose values leave ``divergence_factor`` times the largest
training value or become non-finite, is reported in :attr:`DerivativeRegressionModel.status_`;
its values after the failure are NaN, never replaced by anything else.

The model-free references (the training-strain mean) are in :mod:`nodebio.models.references`.
This module imports scikit-learn and scipy, never torch.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

from nodebio import data as _data
from nodebio.errors import NotFittedError, UsageError, check_names, check_options
from nodebio.models.published import (PUBLISHED_COVARIATES, PUBLISHED_FEATURES, load_covariates,
                                      published_feature_resample, published_resample, published_states)
from nodebio.models.strainwise import simulate_each
from nodebio.seeds import sub_seed

__all__ = [
    "estimate_derivatives",
    "published_resample",
    "PUBLISHED_FEATURES",
    "PUBLISHED_COVARIATES",
    "published_states",
    "load_covariates",
    "published_feature_resample",
    "BaselineConfig",
    "CompiledEnsemble",
    "DerivativeRegressionModel",
]


def estimate_derivatives(times: np.ndarray, values: np.ndarray, method: str = "savgol",
                         window: int = 7, order: int = 2) -> np.ndarray:
    """dx/dt of trajectories on an even time grid.

    times : (T,) hours, evenly spaced. values : (..., T, n) with time on the second-last axis.
    method : ``"savgol"`` (Savitzky-Golay derivative of the local polynomial fit, ``window``
    points of ``order``) or ``"central"`` (second-order central differences, one-sided at the
    ends). Returns an array of the shape of ``values``, in units per hour.
    """
    times = np.asarray(times, dtype=float)
    values = np.asarray(values, dtype=float)
    steps = np.diff(times)
    if len(times) < 3 or not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-9):
        raise UsageError("estimate_derivatives needs an even time grid of at least 3 points.")
    if values.shape[-2] != len(times):
        raise UsageError(f"values have {values.shape[-2]} time points, times {len(times)}.")
    if method == "savgol":
        if window > len(times) or window % 2 == 0 or order >= window:
            raise UsageError(f"Savitzky-Golay needs an odd window <= {len(times)} points, above the order; "
                             f"got window={window}, order={order}.")
        return savgol_filter(values, window, order, deriv=1, delta=steps[0], axis=-2)
    if method == "central":
        return np.gradient(values, times, axis=-2)
    raise UsageError(f"Unknown derivative method {method!r}: use 'savgol' or 'central'.")


@dataclass
class BaselineConfig:
    """Options of :class:`DerivativeRegressionModel` (see the module docstring)."""

    regressor: str = "gb"
    configuration: str = "careful"
    derivative: str = "savgol"
    window: int = 7
    order: int = 2
    n_estimators: int = 100
    seed: int = 0
    clip_at_zero: bool = True
    divergence_factor: float = 100.0
    max_evaluations: int = 200_000
    compiled: bool = True
    tpot_generations: int = 5
    tpot_population: int = 20
    #: TPOT's own cross-validation (5: KFold over the rows, unshuffled, TPOT's default and theirs)
    tpot_cv: int = 5
    #: TPOT's time bounds (minutes) for one search (one state) and one pipeline; None: no bound
    tpot_max_time_mins: float | None = None
    tpot_max_eval_time_mins: float = 5.0
    #: ``"published-features"`` only: {state: its inputs}; None: ``PUBLISHED_FEATURES`` of the dataset
    features: dict | None = None
    solver: str | None = None
    rtol: float = 1e-6
    atol: float = 1e-8

    #: Integrators: ``"rk4"`` (fixed step on the grid, the careful default), ``"dopri5-stepped"``
    #: (scipy's dopri5 driven as their ``helper.odeintz`` drives it in the stored run: the default of
    #: the published configurations), ``"dop853-stepped"`` (the same with dop853, as their refactored
    #: package), or any method of ``scipy.integrate.solve_ivp`` (``"RK45"``, ``"LSODA"``, ...) with
    #: ``rtol``/``atol``.
    SOLVERS = ("rk4", "dopri5-stepped", "dop853-stepped", "RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
    CONFIGURATIONS = ("published", "careful", "published-features")

    def __post_init__(self):
        if self.regressor not in ("gb", "rf", "tpot"):
            raise UsageError(f"regressor must be 'gb' (gradient boosting), 'rf' (random forest) or 'tpot' "
                             f"(the AutoML search), got {self.regressor!r}.")
        if self.configuration not in self.CONFIGURATIONS:
            raise UsageError(f"configuration must be 'published', 'careful' or 'published-features', "
                             f"got {self.configuration!r}.")
        if self.solver is None:
            self.solver = "rk4" if self.configuration == "careful" else "dopri5-stepped"
        if self.solver not in self.SOLVERS:
            raise UsageError(f"Unknown solver {self.solver!r}; choose one of {', '.join(self.SOLVERS)}.")


class CompiledEnsemble:
    """Fitted scikit-learn tree ensembles as flat arrays, evaluated for all trees at once.

    Integrating a learned field calls its regressors thousands of times on one row;
    scikit-learn's ``predict`` spends about a millisecond per call on input checks and per-tree
    dispatch, far more than the tree descent itself. This evaluates the same trees (with the same
    float32 comparisons) in a few vectorized numpy steps, several ensembles together (one per
    output): gradient boosting as ``init + learning_rate * sum of trees``, random forests as the
    mean of their trees. It returns scikit-learn's predictions (tested).
    """

    def __init__(self, estimators):
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

        estimators = list(estimators) if isinstance(estimators, (list, tuple)) else [estimators]
        trees, offsets, weights, owner = [], [], [], []
        for j, estimator in enumerate(estimators):
            if isinstance(estimator, GradientBoostingRegressor):
                members = [e.tree_ for e in estimator.estimators_[:, 0]]
                offsets.append(float(estimator._raw_predict_init(np.zeros((1, estimator.n_features_in_)))[0, 0]))
                weights.append(float(estimator.learning_rate))
            elif isinstance(estimator, RandomForestRegressor):
                members = [e.tree_ for e in estimator.estimators_]
                offsets.append(0.0)
                weights.append(1.0 / len(members))
            else:
                raise UsageError(f"Cannot compile {type(estimator).__name__}.")
            trees.extend(members)
            owner.extend([j] * len(members))
        width = max(t.node_count for t in trees)
        shape = (len(trees), width)
        self.feature = np.zeros(shape, dtype=np.intp)
        self.threshold = np.zeros(shape, dtype=np.float64)
        self.left = np.zeros(shape, dtype=np.intp)
        self.right = np.zeros(shape, dtype=np.intp)
        self.value = np.zeros(shape, dtype=np.float64)
        for i, t in enumerate(trees):
            n = t.node_count
            internal = t.children_left[:n] >= 0
            # a leaf points to itself, so that descending further changes nothing
            self.feature[i, :n] = np.where(internal, t.feature[:n], 0)
            self.threshold[i, :n] = np.where(internal, t.threshold[:n], np.inf)
            self.left[i, :n] = np.where(internal, t.children_left[:n], np.arange(n))
            self.right[i, :n] = np.where(internal, t.children_right[:n], np.arange(n))
            self.value[i, :n] = t.value[:n, 0, 0] * weights[owner[i]]
        self.depth = max(t.max_depth for t in trees)
        self.offsets = np.asarray(offsets)
        self.starts = np.searchsorted(owner, np.arange(len(estimators)))
        self.tree_index = np.arange(len(trees))[None, :]

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Predictions for rows of ``features`` (m, n_features): (m,) for one ensemble, else
        (m, n_ensembles)."""
        x = np.asarray(features, dtype=np.float32).astype(np.float64)  # the trees compare in float32
        rows = np.arange(len(x))[:, None]
        trees = self.tree_index
        node = np.zeros((len(x), trees.shape[1]), dtype=np.intp)
        for _ in range(self.depth):
            go_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(go_left, self.left[trees, node], self.right[trees, node])
        out = self.offsets + np.add.reduceat(self.value[trees, node], self.starts, axis=1)
        return out[:, 0] if len(self.offsets) == 1 else out


class _TPOTSearch:
    """Runs a TPOT search on ``fit`` and predicts with the pipeline it found."""

    def __init__(self, search):
        self.search = search

    def fit(self, features, targets):
        self.search.fit(features, targets)
        self.pipeline = self.search.fitted_pipeline_
        optimized = getattr(self.search, "_optimized_pipeline", None)
        self.description = str(optimized) if optimized is not None else repr(self.pipeline)
        self.cv_score = getattr(self.search, "_optimized_pipeline_score", None)
        self.evaluated = len(getattr(self.search, "evaluated_individuals_", {}) or {})
        return self

    def predict(self, features):
        return self.pipeline.predict(features)


class DerivativeRegressionModel:
    """The Costello & Garcia Martin (2018) pipeline: regress estimated derivatives, integrate.

    ``fit(prepared)`` then ``simulate(trajectories)`` like :class:`nodebio.models.NeuralODEModel`.
    After ``simulate``, ``status_`` holds one entry per strain: ``"ok"``, ``"diverged at T h"``
    or ``"solver failed at T h: ..."``; ``evaluations_`` the number of field evaluations.
    """

    def __init__(self, config: BaselineConfig | None = None, **options):
        base = asdict(config) if config is not None else {}
        check_options([f.name for f in fields(BaselineConfig)], options, "option of the 2018 baseline")
        self.config = BaselineConfig(**{**base, **options})
        self.name = f"baseline-{self.config.regressor}"
        self.regressors_: list | None = None
        self.inputs_: list | None = None

    def get_params(self) -> dict:
        """Every option of the model, by name (its :class:`BaselineConfig`)."""
        return asdict(self.config)

    def _make_regressor(self, index: int):
        from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor

        seed = sub_seed(self.config.seed, index)
        if self.config.regressor == "tpot":
            try:
                from tpot import TPOTRegressor
            except ImportError:
                raise ImportError("regressor='tpot' needs TPOT, which lives in its own environment: run "
                                  "`make tpot` (it builds .venv-tpot from requirements-tpot.lock) and use "
                                  ".venv-tpot/bin/python.") from None
            cfg = self.config
            return _TPOTSearch(TPOTRegressor(generations=cfg.tpot_generations, population_size=cfg.tpot_population,
                                             cv=cfg.tpot_cv, max_time_mins=cfg.tpot_max_time_mins,
                                             max_eval_time_mins=cfg.tpot_max_eval_time_mins, n_jobs=1,
                                             random_state=seed, verbosity=0, disable_update_check=True))
        if self.config.regressor == "gb":
            return GradientBoostingRegressor(n_estimators=self.config.n_estimators, random_state=seed)
        return RandomForestRegressor(n_estimators=self.config.n_estimators, random_state=seed)

    def training_grid(self, prepared: _data.PreparedData) -> _data.Trajectories:
        """The training strains on the grid this configuration builds."""
        if self.config.configuration == "careful":
            return prepared.train
        raw = prepared.dataset.subset(prepared.train.strains)
        return published_resample(raw, n_points=len(prepared.train.times))

    def feature_lists(self, dataset: _data.Dataset) -> dict[str, tuple[str, ...]]:
        """``"published-features"``: the inputs of each state's regressor (``config.features``, else
        ``PUBLISHED_FEATURES`` of the dataset), checked against its states and controls."""
        lists = self.config.features
        if lists is None:
            if dataset.name not in PUBLISHED_FEATURES:
                raise _data.DataValidationError(
                    f"No published feature lists for dataset {dataset.name!r} (known: "
                    f"{', '.join(PUBLISHED_FEATURES)}): pass features={{state: [inputs]}}.")
            lists = PUBLISHED_FEATURES[dataset.name]
        missing = [s for s in dataset.states if s not in lists]
        if missing:
            raise _data.DataValidationError(
                f"No feature list for state(s) {', '.join(map(repr, missing))}. Their lists cover "
                f"{', '.join(lists)}; load the data with states=published_states({dataset.name!r}) or pass features=.")
        lists = {s: tuple(lists[s]) for s in dataset.states}
        absent = sorted({f for fs in lists.values() for f in fs if f in PUBLISHED_FEATURES.get(dataset.name, {})
                         and f not in dataset.states})
        if absent:
            raise _data.DataValidationError(
                f"The feature lists name state(s) {', '.join(map(repr, absent))} that the dataset does not simulate: "
                f"load it with states=published_states({dataset.name!r}).")
        return lists

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False,
            covariates: pd.DataFrame | None = None) -> "DerivativeRegressionModel":
        """Estimate derivatives on the training strains and fit one regressor per state (with a
        progress bar over the states when ``progress``).

        ``covariates`` (``"published-features"`` only): the measured series the feature lists name
        besides states and controls, as ``load_covariates`` returns them, for every strain of
        ``prepared.dataset`` (the held-out ones included); by default read with
        ``load_covariates`` from the folder the dataset was loaded from.
        """
        from tqdm import tqdm

        cfg = self.config
        started = time.perf_counter()
        self.inputs_ = None
        if cfg.configuration == "published-features":
            grid, w_train = self._published_feature_grids(prepared, covariates)
        else:
            grid = self.training_grid(prepared)
        derivatives = estimate_derivatives(grid.times, grid.x, cfg.derivative, cfg.window, cfg.order)
        features = np.concatenate([grid.x, grid.u], axis=-1)
        if self.inputs_ is not None:
            features = np.concatenate([features, w_train], axis=-1)
        features = features.reshape(-1, features.shape[-1])
        targets = derivatives.reshape(-1, len(grid.states))

        def inputs(j):
            return features if self.inputs_ is None else features[:, self.inputs_[j]]

        self.regressors_ = [self._make_regressor(j).fit(inputs(j), targets[:, j])
                            for j in tqdm(range(targets.shape[1]), desc=f"fitting {self.name}", disable=not progress)]
        compile_ = cfg.compiled and cfg.regressor != "tpot"
        if self.inputs_ is None:
            self.compiled_ = CompiledEnsemble(self.regressors_) if compile_ else None
        else:  # one compiled ensemble per state: each has its own inputs
            self.compiled_ = [CompiledEnsemble(r) for r in self.regressors_] if compile_ else None
        self.states, self.controls = tuple(grid.states), tuple(grid.controls)
        self.units = dict(prepared.train.units)
        self.train_strains = tuple(grid.strains)
        self.test_strains = tuple(prepared.test.strains)
        self.dataset_name = prepared.dataset.name
        self.upper_ = np.abs(grid.x).max(axis=(0, 1))
        if cfg.configuration == "published":
            self._published_grids = published_resample(prepared.dataset, n_points=len(prepared.train.times))
        self.fit_seconds = time.perf_counter() - started
        return self

    def _published_feature_grids(self, prepared: _data.PreparedData, covariates: pd.DataFrame | None):
        """The published grids of all strains with their covariates; sets the per-state inputs."""
        dataset = prepared.dataset
        lists = self.feature_lists(dataset)
        names = [f for fs in lists.values() for f in fs if f not in dataset.variables]
        names = list(dict.fromkeys(names))
        if covariates is None:
            folder = Path(dataset.source).parent if dataset.source else None
            covariates = load_covariates(dataset.name, names, data_dir=folder)
        missing = [c for c in names if c not in covariates.columns]
        if missing:
            raise _data.DataValidationError(
                f"Covariate column(s) {', '.join(map(repr, missing))} missing: the feature lists use them as "
                "time-varying inputs. Pass covariates= with columns strain, time and "
                f"{', '.join(names)} (see load_covariates).")
        grids, w = published_feature_resample(dataset, covariates[["strain", "time", *names]],
                                              n_points=len(prepared.train.times))
        order = [*dataset.states, *dataset.controls, *names]
        self.covariates = tuple(names)
        self.feature_lists_ = lists
        self.inputs_ = [[order.index(f) for f in lists[s]] for s in dataset.states]
        self._published_grids = grids
        self._published_covariates = {s: w[i] for i, s in enumerate(grids.strains)}
        train = [grids.index(s) for s in prepared.train.strains]
        return grids.subset(prepared.train.strains), w[train]

    def _field(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """dx/dt (units per hour) for rows of states x (m, n_states) and controls u (m, n_controls,
        then the covariates in ``"published-features"``)."""
        features = np.concatenate([x, u], axis=-1)
        if self.inputs_ is not None:
            if self.compiled_ is not None:
                return np.stack([c.predict(features[:, idx]) for c, idx in zip(self.compiled_, self.inputs_)], axis=-1)
            return np.stack([r.predict(features[:, idx]) for r, idx in zip(self.regressors_, self.inputs_)], axis=-1)
        if self.compiled_ is not None:
            return self.compiled_.predict(features).reshape(len(features), -1)
        return np.stack([r.predict(features) for r in self.regressors_], axis=-1)

    def simulate(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                 x0: np.ndarray | None = None, covariates: np.ndarray | None = None) -> np.ndarray:
        """Simulate strains from their initial states: (S, T, n_states), original units.

        Trajectories that fail or diverge are NaN from that time on; see ``status_``.
        ``"published-features"``: the covariates of each strain are its own measured series on the
        published grid (from ``fit``); ``covariates`` (S, T, n_covariates) replaces them, and is
        needed for strains that were not in the fitted dataset.
        """
        if self.regressors_ is None:
            raise NotFittedError("The model is not fitted: call fit() first.")
        check_names(self.states, trajectories.states, "states")
        check_names(self.controls, trajectories.controls, "controls")
        times = np.asarray(trajectories.times, dtype=float)
        u_all = trajectories.u if controls is None else np.asarray(controls, dtype=float)
        if controls is None and self.config.configuration in ("published", "published-features"):
            known = getattr(self, "_published_grids", None)
            if known is not None and np.array_equal(known.times, times):
                u_all = np.stack([known.u[known.index(s)] if s in known.strains else u_all[i]
                                  for i, s in enumerate(trajectories.strains)])
        if self.inputs_ is not None:
            u_all = np.concatenate([u_all, self._strain_covariates(trajectories, times, covariates)], axis=-1)
        start = trajectories.x[:, 0] if x0 is None else np.asarray(x0, dtype=float)
        if self.config.solver == "rk4":  # every strain and scenario at once
            paths, self.status_, self.evaluations_ = self._solve_careful_batch(times, start, u_all)
            if self.config.clip_at_zero:
                paths = np.where(np.isnan(paths), np.nan, np.maximum(paths, 0.0))
            return paths
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # scipy's ode warns on each failed call
            solve = {"rk4": self._solve_careful, "dopri5-stepped": self._solve_published,
                     "dop853-stepped": self._solve_published}.get(self.config.solver, self._solve_ivp)
            paths, self.status_, self.evaluations_ = simulate_each(solve, times, start, u_all,
                                                                  self.config.clip_at_zero)
        return paths

    def _strain_covariates(self, trajectories, times, covariates):
        """(S, T, n_covariates): given, or each strain's own from the fitted dataset."""
        if covariates is not None:
            covariates = np.asarray(covariates, dtype=float)
            expected = (len(trajectories.strains), len(times), len(self.covariates))
            if covariates.shape != expected:
                raise UsageError(f"covariates must have shape {expected} (strains, times, {', '.join(self.covariates)}), "
                                 f"got {covariates.shape}.")
            return covariates
        known = self._published_covariates
        unknown = [s for s in trajectories.strains if s not in known]
        if unknown or not np.array_equal(self._published_grids.times, times):
            raise _data.DataValidationError(
                f"No measured covariates ({', '.join(self.covariates)}) for strain(s) "
                f"{', '.join(map(repr, unknown)) or 'on this time grid'}: pass covariates= (strains, times, covariates).")
        return np.stack([known[s] for s in trajectories.strains])

    def _checked(self, values: np.ndarray) -> bool:
        return bool(np.isfinite(values).all() and (np.abs(values) <= self.config.divergence_factor * self.upper_ + 1e-12).all())

    def _solve_careful(self, times, x0, u):
        """Classical RK4 on the grid, one strain; controls at half steps by linear interpolation.
        ``simulate`` runs :meth:`_solve_careful_batch`, the same for all strains at once."""
        path = np.full((len(times), len(x0)), np.nan)
        path[0] = x0
        x = np.asarray(x0, dtype=float)
        evaluations = 0
        for k in range(len(times) - 1):
            h = times[k + 1] - times[k]
            u0, u1 = u[k], u[k + 1]
            um = 0.5 * (u0 + u1)
            k1 = self._field(x[None], u0[None])[0]
            k2 = self._field((x + 0.5 * h * k1)[None], um[None])[0]
            k3 = self._field((x + 0.5 * h * k2)[None], um[None])[0]
            k4 = self._field((x + h * k3)[None], u1[None])[0]
            evaluations += 4
            x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            if not self._checked(x):
                return path, f"diverged at {times[k + 1]:.1f} h", evaluations
            path[k + 1] = x
        return path, "ok", evaluations

    def _solve_careful_batch(self, times, x0, u):
        """:meth:`_solve_careful` for many strains at once: each RK4 stage evaluates the trees on
        the rows of every trajectory still running (one call of the compiled ensemble instead of
        one per strain), the same numbers as one strain at a time (tested).

        x0 : (S, n_states), u : (S, T, n_controls). Returns (paths (S, T, n_states), statuses,
        evaluations per strain); a trajectory that diverges stops there (NaN after), the others go on.
        """
        x = np.array(x0, dtype=float, ndmin=2)
        u = np.asarray(u, dtype=float)
        paths = np.full((len(x), len(times), x.shape[1]), np.nan)
        paths[:, 0] = x
        status, evaluations = ["ok"] * len(x), [0] * len(x)
        running = np.arange(len(x))
        limit = self.config.divergence_factor * self.upper_ + 1e-12
        for k in range(len(times) - 1):
            if not len(running):
                break
            h = times[k + 1] - times[k]
            u0, u1 = u[running, k], u[running, k + 1]
            um = 0.5 * (u0 + u1)
            k1 = self._field(x, u0)
            k2 = self._field(x + 0.5 * h * k1, um)
            k3 = self._field(x + 0.5 * h * k2, um)
            k4 = self._field(x + h * k3, u1)
            x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
            good = np.isfinite(x).all(axis=1) & (np.abs(x) <= limit).all(axis=1)
            for i in running:
                evaluations[i] += 4
            for i in running[~good]:
                status[i] = f"diverged at {times[k + 1]:.1f} h"
            paths[running[good], k + 1] = x[good]
            running, x = running[good], x[good]
        return paths, status, evaluations

    def _solve_ivp(self, times, x0, u):
        """scipy.integrate.solve_ivp with the configured method and tolerances."""
        from scipy.integrate import solve_ivp
        from scipy.interpolate import interp1d

        control = interp1d(times, u, axis=0, fill_value="extrapolate")
        counter = {"n": 0}

        def rhs(t, x):
            counter["n"] += 1
            if counter["n"] > self.config.max_evaluations or not np.isfinite(x).all():
                return np.full(len(x), np.nan)
            return self._field(np.asarray(x)[None], control(t)[None])[0]

        result = solve_ivp(rhs, (times[0], times[-1]), np.asarray(x0, dtype=float), method=self.config.solver,
                           t_eval=times, rtol=self.config.rtol, atol=self.config.atol)
        path = np.full((len(times), len(x0)), np.nan)
        done = result.y.T
        path[:len(done)] = done
        if counter["n"] > self.config.max_evaluations:
            return path, f"solver failed: more than {self.config.max_evaluations} field evaluations", counter["n"]
        if not result.success:
            return path, f"solver failed at {result.t[-1] if len(result.t) else times[0]:.1f} h: {result.message}", counter["n"]
        for k in range(len(times)):
            if not self._checked(path[k]):
                path[k:] = np.nan
                return path, f"diverged at {times[k]:.1f} h", counter["n"]
        return path, "ok", counter["n"]

    def _solve_published(self, times, x0, u):
        """scipy's ``ode`` as their ``helper.odeintz``: dopri5 (or dop853, ``config.solver``),
        atol 1e-4, 1000 steps per call, calls of <= 10 h."""
        from scipy.integrate import ode
        from scipy.interpolate import interp1d

        control = interp1d(times, u, axis=0, fill_value="extrapolate")
        counter = {"n": 0}

        def rhs(t, x):
            counter["n"] += 1
            if counter["n"] > self.config.max_evaluations:
                # exceptions do not cross scipy's Fortran solver reliably: NaN makes it fail
                return np.full(len(x), np.nan)
            return self._field(np.asarray(x)[None], control(t)[None])[0]

        integrator = self.config.solver.split("-")[0]  # dopri5 or dop853
        solver = ode(rhs).set_integrator(integrator, nsteps=1000, atol=1e-4)
        solver.set_initial_value(np.asarray(x0, dtype=float), times[0])
        path = np.full((len(times), len(x0)), np.nan)
        path[0] = x0
        for k in range(1, len(times)):
            while solver.t < times[k] - 1e-12:
                value = solver.integrate(min(times[k], solver.t + 10.0))
                if counter["n"] > self.config.max_evaluations:
                    return path, (f"solver failed at {solver.t:.1f} h: more than "
                                  f"{self.config.max_evaluations} field evaluations"), counter["n"]
                if not solver.successful():
                    return path, f"solver failed at {solver.t:.1f} h ({integrator} return code {solver.get_return_code()})", counter["n"]
            if not self._checked(value):
                return path, f"diverged at {times[k]:.1f} h", counter["n"]
            path[k] = value
        return path, "ok", counter["n"]

    def __repr__(self) -> str:
        fitted = f"trained on {', '.join(self.train_strains)}" if self.regressors_ is not None else "not fitted"
        return f"DerivativeRegressionModel({self.config.regressor}, {self.config.configuration}, {fitted})"
