r"""Costello & Garcia Martin's kinetic model as a reference model: fits, simulation and SBML.

:class:`CostelloKineticModel` (registry name ``"costello-kinetic"``) has the ``fit``/``simulate`` signature
of every model of :mod:`nodebio.models`; its rate laws, every equation, what is held constant and
the units are in :mod:`nodebio.models.kinetic_laws`. Two fits: ``configuration="published"``
(differential evolution on smoothed derivatives, as their notebook) and ``"careful"`` (least squares
on the scaled trajectories of the training strains). :meth:`CostelloKineticModel.to_sbml` writes
the fitted model as SBML, which an independent simulator (libroadrunner) runs to the same
trajectories.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from nodebio import data as _data
from nodebio.errors import DataValidationError, NotFittedError, UsageError, check_names, check_options
from nodebio.models.kinetic_laws import (BOUNDS, ENZYMES, HELD_CONSTANT, INERT, KINETIC_CONSTANTS, PARAMETER_NAMES,
                                         STATES, _N, _rhs_factory, fluxes, published_derivatives, rates)
from nodebio.models.strainwise import simulate_each

__all__ = [
    "STATES", "ENZYMES", "HELD_CONSTANT", "KINETIC_CONSTANTS", "PARAMETER_NAMES", "BOUNDS",
    "KineticConfig", "CostelloKineticModel", "fluxes", "rates", "published_derivatives",
]


@dataclass
class KineticConfig:
    """Options of :class:`CostelloKineticModel` (see the module docstring)."""

    configuration: str = "careful"
    seed: int = 0
    quick: bool = False
    #: differential evolution: generations (None: 10 with ``quick``, else 2000), population
    #: multiplier (scipy's popsize; None: 5 with ``quick``, else their 15), tolerance, polish
    de_generations: int | None = None
    de_popsize: int | None = None
    de_tol: float = 0.01
    de_polish: bool = True
    #: published derivative grid
    derivative_points: int = 100
    #: careful fit: generations and population multiplier of the scaled log-space start
    #: (None: 10 and 5 with ``quick``, else 200 and 10)
    scaled_generations: int | None = None
    scaled_popsize: int | None = None
    #: careful fit: least_squares function evaluations (None: 3 with ``quick``, else 40)
    max_nfev: int | None = None
    log_bounds: tuple[float, float] = (-12.0, 9.0)
    failure_residual: float = 10.0
    #: integration
    solver: str = "LSODA"
    rtol: float = 1e-6
    atol: float = 1e-9
    max_evaluations: int = 200_000
    divergence_factor: float = 100.0
    clip_at_zero: bool = True

    SOLVERS = ("LSODA", "BDF", "Radau", "RK45", "DOP853")

    def __post_init__(self):
        if self.configuration not in ("published", "careful"):
            raise UsageError(f"configuration must be 'published' or 'careful', got {self.configuration!r}.")
        if self.solver not in self.SOLVERS:
            raise UsageError(f"Unknown solver {self.solver!r}; choose one of {', '.join(self.SOLVERS)}.")
        if self.de_generations is None:
            self.de_generations = 10 if self.quick else 2000
        if self.de_popsize is None:
            self.de_popsize = 5 if self.quick else 15
        if self.scaled_generations is None:
            self.scaled_generations = 10 if self.quick else 200
        if self.scaled_popsize is None:
            self.scaled_popsize = 5 if self.quick else 10
        if self.max_nfev is None:
            self.max_nfev = 3 if self.quick else 40
        self.log_bounds = tuple(self.log_bounds)


class _TooManyEvaluations(Exception):
    pass


def _check_dataset(dataset: _data.Dataset) -> None:
    """The table must hold the model's states and enzymes; a clear error otherwise."""
    missing_states = [s for s in STATES if s not in dataset.states]
    missing_controls = [c for c in ENZYMES if c not in dataset.controls]
    extra_states = [s for s in dataset.states if s not in STATES]
    if not (missing_states or missing_controls or extra_states):
        return
    parts = []
    if missing_states:
        parts.append(f"the state column(s) {', '.join(map(repr, missing_states))} "
                     f"(dataset states: {', '.join(dataset.states)})")
    if missing_controls:
        parts.append(f"the control (protein) column(s) {', '.join(map(repr, missing_controls))} "
                     f"(dataset controls: {', '.join(dataset.controls)})")
    message = f"The kinetic model cannot use dataset {dataset.name!r}: it lacks " + " and ".join(parts) + "."
    if extra_states:
        message = (f"The kinetic model cannot use dataset {dataset.name!r}: it has no rate law for the state "
                   f"column(s) {', '.join(map(repr, extra_states))}. " + (message.split(": ", 1)[1] + " "
                                                                          if parts else ""))
    if dataset.name == "isopentenol" or "Isopentenol" in dataset.states:
        message += (" Costello & Garcia Martin's kinetic model covers the limonene pathway only (no NudB step, "
                    "and it needs Mev-P, which the isopentenol table leaves out); use the limonene table: "
                    "nodebio.data.load('limonene').")
    else:
        message += (f" It needs the states {', '.join(STATES)} and the controls {', '.join(ENZYMES)}: load the "
                    "limonene table (nodebio.data.load('limonene')), or name these columns with states=/controls=.")
    raise DataValidationError(message)


class CostelloKineticModel:
    """Costello & Garcia Martin's Michaelis-Menten model of the limonene pathway (module docstring).

    ``fit(prepared)`` then ``simulate(trajectories)`` like every model. After ``fit``:
    ``params_`` (39 values, ``PARAMETER_NAMES`` order; :meth:`parameters` as a dict),
    ``fit_info_`` (the objective before and after each stage), ``fit_seconds``. After
    ``simulate``: ``status_`` per strain (``"ok"``, ``"diverged at T h"``,
    ``"solver failed at T h: ..."``) and ``evaluations_``.
    """

    name = "costello-kinetic"

    def __init__(self, config: KineticConfig | None = None, **options):
        base = asdict(config) if config is not None else {}
        check_options([f.name for f in fields(KineticConfig)], options, f"option of the model {self.name!r}")
        self.config = KineticConfig(**{**base, **options})
        self.params_: np.ndarray | None = None

    def get_params(self) -> dict:
        """Every option of the model, by name (its :class:`KineticConfig`)."""
        return asdict(self.config)

    @property
    def configuration(self) -> str:
        return self.config.configuration

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, prepared: _data.PreparedData, *, progress: bool = False,
            start: np.ndarray | None = None) -> "CostelloKineticModel":
        """Fit on ``prepared.train`` (``start``: a parameter vector to begin the careful fit
        from instead of the published fit)."""
        cfg = self.config
        _check_dataset(prepared.dataset)
        started = time.perf_counter()
        train = prepared.train
        self.states, self.controls = tuple(train.states), tuple(train.controls)
        self._state_index = [self.states.index(s) for s in STATES]
        self._enzyme_index = [self.controls.index(e) for e in ENZYMES]
        self.units = dict(train.units)
        self.train_strains = tuple(train.strains)
        self.test_strains = tuple(prepared.test.strains)
        self.dataset_name = prepared.dataset.name
        self.upper_ = np.abs(train.x).max(axis=(0, 1))
        self.spread_ = train.x.reshape(-1, len(self.states)).std(axis=0)
        self._known = {}
        for grid in (prepared.train, prepared.test):
            for i, strain in enumerate(grid.strains):
                self._known[strain] = (np.asarray(grid.times, float), grid.x[i, 0].copy(), grid.u[i].copy())
        self._train_mean = (train.x[:, 0].mean(axis=0), train.u.mean(axis=(0, 1)))
        self.fit_info_ = {}
        self._derivative_points = published_derivatives(prepared.dataset, train.strains, cfg.derivative_points)
        if start is None or cfg.configuration == "published":
            params = self._fit_published(prepared, progress)
        else:
            params = np.asarray(start, dtype=float)
        if cfg.configuration == "careful":
            starts = {"published fit" if start is None else "given start": params,
                      "scaled log-space fit": self._fit_scaled(progress)}
            params = self._fit_careful(train, starts, progress)
        self.params_ = params
        self.fit_seconds = time.perf_counter() - started
        return self

    def derivative_cost(self, params, points) -> np.ndarray:
        """Their objective: summed squared error of the rates against the smoothed derivatives.

        params : (39,) or (39, m) for m parameter vectors; points : ``published_derivatives``'
        output. Returns a float, or (m,) costs.
        """
        x, e, d = (np.asarray(a, float).reshape(-1, a.shape[-1]) for a in points)
        p = np.asarray(params, float)
        column = p.ndim == 2
        pp = [row[:, None] for row in p] if column else list(p)
        predicted = rates(tuple(x.T), tuple(e.T), pp)
        cost = sum((predicted[j] - d[:, j]) ** 2 for j in range(len(STATES)))
        with np.errstate(invalid="ignore"):
            total = np.sum(cost, axis=-1)
        return np.where(np.isfinite(total), total, np.inf) if column else float(total if np.isfinite(total) else np.inf)

    def _fit_published(self, prepared, progress):
        from scipy.optimize import differential_evolution

        cfg = self.config
        points = self._derivative_points
        lo, hi = BOUNDS
        started = time.perf_counter()
        with np.errstate(all="ignore"):
            result = differential_evolution(
                lambda p: self.derivative_cost(p, points), [(lo, hi)] * _N, maxiter=cfg.de_generations,
                popsize=cfg.de_popsize, tol=cfg.de_tol, polish=cfg.de_polish, rng=cfg.seed, vectorized=True,
                updating="deferred", disp=progress)
        self.fit_info_["published"] = {
            "objective": "summed squared derivative error (unscaled)",
            "start": float(self.derivative_cost(np.ones(_N), points)),  # their check: all parameters 1
            "final": float(result.fun), "generations": int(result.nit), "evaluations": int(result.nfev),
            "message": str(result.message), "seconds": time.perf_counter() - started}
        return np.clip(result.x, lo, hi)

    def _fit_scaled(self, progress):
        """A second start for the careful fit: differential evolution on the derivative error,
        each state's error divided by the spread of its derivatives, over log10 parameters."""
        from scipy.optimize import differential_evolution

        cfg = self.config
        x, e, d = (a.reshape(-1, a.shape[-1]) for a in self._derivative_points)
        scale = np.where(d.std(axis=0) > 0, d.std(axis=0), 1.0)
        points = (x, e, d / scale)

        def cost(z):
            predicted = rates(tuple(x.T), tuple(e.T), [row[:, None] for row in 10.0 ** z])
            total = np.sum(sum((predicted[j] / scale[j] - points[2][:, j]) ** 2 for j in range(len(STATES))), axis=-1)
            return np.where(np.isfinite(total), total, np.inf)

        started = time.perf_counter()
        with np.errstate(all="ignore"):
            result = differential_evolution(
                cost, [cfg.log_bounds] * _N, maxiter=cfg.scaled_generations, popsize=cfg.scaled_popsize,
                polish=False, rng=cfg.seed, vectorized=True, updating="deferred", disp=progress)
        self.fit_info_["scaled"] = {
            "objective": "summed squared derivative error, each state divided by its derivatives' spread",
            "final": float(result.fun), "generations": int(result.nit), "message": str(result.message),
            "seconds": time.perf_counter() - started}
        return 10.0 ** result.x

    def _training_residuals(self, train, params) -> np.ndarray:
        """Scaled trajectory errors of the training strains (failed parts at ``failure_residual``)."""
        out = []
        spread = np.where(self.spread_ > 0, self.spread_, 1.0)
        for i in range(len(train.strains)):
            path, _status, _n = self._solve(params, np.asarray(train.times, float), train.x[i, 0],
                                            train.u[i][:, self._enzyme_index])
            r = (path - train.x[i][:, self._state_index]) / spread[self._state_index]
            out.append(np.where(np.isfinite(r), r, self.config.failure_residual))
        flat = np.concatenate(out).ravel()
        return flat / math.sqrt(len(flat))

    def _fit_careful(self, train, starts, progress):
        from scipy.optimize import least_squares

        cfg = self.config
        free = np.array([n not in INERT for n in PARAMETER_NAMES])
        lo, hi = cfg.log_bounds
        started = time.perf_counter()
        # the start whose training trajectories are closest to the data
        costs = {}
        for label, params in starts.items():
            r = self._training_residuals(train, params)
            costs[label] = float(r @ r)
        label = min(costs, key=costs.get)
        logp = np.clip(np.log10(np.clip(starts[label], 10.0 ** lo, 10.0 ** hi)), lo + 1e-9, hi - 1e-9)

        def residuals(z):
            q = logp.copy()
            q[free] = z
            return self._training_residuals(train, 10.0 ** q)

        r0 = residuals(logp[free])
        result = least_squares(residuals, logp[free], bounds=(lo, hi), method="trf", x_scale="jac",
                               diff_step=1e-4, max_nfev=cfg.max_nfev, verbose=2 if progress else 0)
        final = logp.copy()
        final[free] = result.x
        self.fit_info_["careful"] = {
            "objective": "mean squared scaled trajectory error (training strains, grid)",
            "starts": costs, "start_from": label, "start": float(r0 @ r0), "final": float(2.0 * result.cost), "evaluations": int(result.nfev),
            "message": str(result.message), "seconds": time.perf_counter() - started}
        return 10.0 ** final

    def parameters(self) -> dict[str, float]:
        """The fitted parameters by name."""
        self._check_fitted()
        return dict(zip(PARAMETER_NAMES, map(float, self.params_)))

    # -- simulation ------------------------------------------------------------------------

    def _check_fitted(self):
        if self.params_ is None:
            raise NotFittedError("The model is not fitted: call fit() first.")

    def _solve(self, params, times, x0, enzymes):
        """Integrate one strain: x0 in the data's state order, enzymes (T, 7) in :data:`ENZYMES`
        order on ``times``. Returns (path (T, n_states) in the data's state order, NaN from a
        failure on; status; number of rate evaluations)."""
        import scipy.integrate as integrate

        cfg = self.config
        f = _rhs_factory(params)
        times = np.asarray(times, float)
        knots = times.tolist()
        e = np.asarray(enzymes, float)
        slopes = np.diff(e, axis=0) / np.diff(times)[:, None]
        last = len(knots) - 2
        counter = [0]

        def rhs(t, x):
            counter[0] += 1
            if counter[0] > cfg.max_evaluations:
                raise _TooManyEvaluations
            k = min(max(bisect.bisect_right(knots, t) - 1, 0), last)
            return f(x, (e[k] + (t - knots[k]) * slopes[k]).tolist())

        order = self._state_index
        start = np.asarray(x0, float)[order]
        bound = (cfg.divergence_factor * self.upper_)[order] + 1e-12
        path = np.full((len(times), len(STATES)), np.nan)
        n = len(times)

        def finish(status):
            out = np.full_like(path, np.nan)
            out[:, order] = path
            return out, status, counter[0]

        if not np.isfinite(start).all():
            return finish("solver failed at 0.0 h: non-finite initial state")
        path[0] = start
        solver = getattr(integrate, cfg.solver)(rhs, times[0], start, times[-1], rtol=cfg.rtol, atol=cfg.atol)
        filled = 1
        while filled < n:
            t_old = solver.t
            try:
                message = solver.step()
            except _TooManyEvaluations:
                return finish(f"solver failed at {solver.t:.1f} h: more than {cfg.max_evaluations} rate evaluations")
            if solver.status == "failed":
                return finish(f"solver failed at {t_old:.1f} h: {message}")
            dense = solver.dense_output() if solver.t > t_old else None
            while filled < n and times[filled] <= solver.t + 1e-12 * max(1.0, abs(solver.t)):
                value = dense(min(times[filled], solver.t)) if dense is not None else solver.y
                if not (np.isfinite(value).all() and (np.abs(value) <= bound).all()):
                    return finish(f"diverged at {times[filled]:.1f} h")
                path[filled] = value
                filled += 1
            if not (np.isfinite(solver.y).all() and (np.abs(solver.y) <= bound).all()):
                return finish(f"diverged at {solver.t:.1f} h")
            if solver.status == "finished" and filled < n:
                return finish(f"solver failed at {solver.t:.1f} h: stopped before the last time")
        return finish("ok")

    def simulate(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                 x0: np.ndarray | None = None) -> np.ndarray:
        """Simulate strains from their initial states: (S, T, n_states), original units, the
        data's state order. Failed or diverged strains are NaN from the failure on (``status_``)."""
        self._check_fitted()
        check_names(self.states, trajectories.states, "states")
        check_names(self.controls, trajectories.controls, "controls")
        times = np.asarray(trajectories.times, float)
        u_all = trajectories.u if controls is None else np.asarray(controls, float)
        start = trajectories.x[:, 0] if x0 is None else np.asarray(x0, float)
        paths, self.status_, self.evaluations_ = simulate_each(
            lambda t, x0, u: self._solve(self.params_, t, x0, u), times, start, u_all[..., self._enzyme_index],
            self.config.clip_at_zero)
        return paths

    # -- SBML ------------------------------------------------------------------------------

    def to_sbml(self, strain: str | None = None, trajectories: _data.Trajectories | None = None) -> str:
        """The fitted model as an SBML Level 3 Version 2 document (a string); needs python-libsbml.

        strain : whose enzyme levels (piecewise-linear in time through its grid values) and initial
        state the document carries; looked up in ``trajectories`` when given, else among the
        strains seen by ``fit`` (training and test). None: enzyme levels constant at their
        training mean, initial state the training strains' mean (module docstring).
        """
        self._check_fitted()
        from nodebio.models import _sbml

        if strain is None:
            x0, u_mean = self._train_mean
            times, inputs = None, u_mean
        else:
            if trajectories is not None:
                check_names(self.controls, trajectories.controls, "controls")
                i = trajectories.index(strain)
                times, x0, inputs = np.asarray(trajectories.times, float), trajectories.x[i, 0], trajectories.u[i]
            elif strain in self._known:
                times, x0, inputs = self._known[strain]
            else:
                raise DataValidationError(
                    f"Unknown strain {strain!r} for the SBML export: the model has seen "
                    f"{', '.join(self._known)}; pass trajectories= holding it.")
        enzymes = {name: (inputs[..., self.controls.index(name)]) for name in ENZYMES}
        initial = {name: float(x0[self.states.index(name)]) for name in STATES}
        return _sbml.document(self.parameters(), initial, enzymes, times, strain=strain,
                              units={s: self.units.get(s, "?") for s in STATES})

    def write_sbml(self, path, strain: str | None = None, trajectories: _data.Trajectories | None = None) -> Path:
        """Write :meth:`to_sbml` to ``path`` (UTF-8); returns the path."""
        path = Path(path)
        from nodebio import safeio

        safeio.write_text(path, self.to_sbml(strain, trajectories))
        return path

    def __repr__(self) -> str:
        fitted = f"trained on {', '.join(self.train_strains)}" if self.params_ is not None else "not fitted"
        return f"CostelloKineticModel({self.config.configuration}, {fitted})"
