r"""The Michaelis-Menten kinetic model of Costello & Garcia Martin (2018): the mechanistic reference.

Costello & Garcia Martin compared their learned dynamics on the limonene strains with a
hand-written kinetic model of the mevalonate pathway, fitted to the same training strains. This
module re-implements that model for the limonene table (:data:`nodebio.data.PATHWAYS`):
:class:`CostelloKineticModel` (registry name ``"kinetic"``), with the ``fit``/``simulate``
signature of every model of :mod:`nodebio.models`, and an SBML export
(:meth:`CostelloKineticModel.to_sbml`) that an independent simulator (libroadrunner) runs to
the same trajectories.

The model
---------
Ten species (:math:`s_1 \dots s_{10}`): acetyl-CoA, acetoacetyl-CoA, HMG-CoA, mevalonate, Mev-P,
Mev-PP, IPP, DMAPP, GPP, limonene. Nine enzymes (:math:`e_1 \dots e_9`): AtoB, HMGS, HMGR, MK,
PMK, PMD, Idi, GPPS, limonene synthase (LS). One flux per enzyme, each a Michaelis-Menten form
(with competitive terms in the denominators), plus a constant supply of acetyl-CoA:

.. math::

   v_1 &= \frac{k_{11} e_1 s_1}{k_{12} + k_{13} s_1} &&\text{AtoB}\\
   v_2 &= \frac{k_{21} e_2 s_1 s_2 k_{s3}}{k_{22} s_2 + k_{23} s_1 + k_{24} s_1 s_2} &&\text{HMGS}\\
   v_3 &= \frac{k_{31} e_3 s_3}{k_{32} s_1 + k_{33} s_2 + k_{34} s_3 + k_{35}} &&\text{HMGR}\\
   v_4 &= \frac{k_{41} e_4 s_4}{k_{42} s_9 + k_{43} s_5 + k_{44} s_4 + k_{45}} &&\text{MK (GPP inhibits)}\\
   v_5 &= \frac{k_{51} e_5 s_5}{k_{52} + s_5} &&\text{PMK}\\
   v_6 &= \frac{k_{61} e_6 s_6}{k_{62} s_5 + k_{63} s_4 + k_{64} s_6 + k_{65}} &&\text{PMD}\\
   v_7 &= \frac{k_{71} e_7 s_7}{k_{72} + s_7} &&\text{Idi}\\
   v_8 &= \frac{k_{81} e_8 s_7 s_8}{k_{82} + k_{83} s_7 + k_{84} s_8 + s_7 s_8} &&\text{GPPS}\\
   v_9 &= \frac{k_{91} e_9 s_9}{k_{92} + s_9} &&\text{LS}

and the ten ODEs of their code (time in hours):

.. math::

   \dot s_1 &= V_{in} - v_1 - v_2, & \dot s_2 &= v_1 - v_2, & \dot s_3 &= v_2 - v_3,\\
   \dot s_4 &= v_3 - v_4, & \dot s_5 &= v_4 - v_5, & \dot s_6 &= v_5 - v_6,\\
   \dot s_7 &= v_6 - v_7 - v_8, & \dot s_8 &= v_7 - v_8, & \dot s_9 &= v_8 - v_9,\\
   \dot s_{10} &= v_9.

Stoichiometry as in their code: AtoB consumes one acetyl-CoA (not two), GPPS one IPP and one
DMAPP.

What is measured, what is held constant
---------------------------------------
The data measure six of the ten species (the states of the limonene table): acetyl-CoA
:math:`s_1`, HMG-CoA :math:`s_3`, mevalonate :math:`s_4`, Mev-P :math:`s_5`, the pooled
IPP/DMAPP :math:`p` and limonene :math:`s_{10}`; and seven of the nine enzymes as controls
:math:`e(t)` (AtoB, HMGS, HMGR, MK, PMK, PMD, LS; proteomics peak areas, interpolated linearly in
time). As in their code:

* the **five unmeasured quantities** are free parameters held constant in time: the levels of
  Idi (:math:`e_7`) and GPPS (:math:`e_8`; both are measured in the table, but their model holds
  them constant), and the concentrations of acetoacetyl-CoA (:math:`s_2`), Mev-PP (:math:`s_6`)
  and GPP (:math:`s_9`). Their ODEs (:math:`\dot s_2, \dot s_6, \dot s_9`) are dropped;
* IPP and DMAPP both take the value of the measured pool, :math:`s_7 = s_8 = p`, and the pool
  follows the sum of their ODEs, :math:`\dot p = \dot s_7 + \dot s_8 = v_6 - 2 v_8`: the Idi flux
  :math:`v_7` cancels, so :math:`e_7, k_{71}, k_{72}` do not affect any simulated state.

So six ODEs are integrated:

.. math::

   \dot s_1 = V_{in} - v_1 - v_2,\quad \dot s_3 = v_2 - v_3,\quad \dot s_4 = v_3 - v_4,\quad
   \dot s_5 = v_4 - v_5,\quad \dot p = v_6 - 2 v_8,\quad \dot s_{10} = v_9,

with 39 positive parameters: the 34 kinetic constants :data:`KINETIC_CONSTANTS`
(:math:`k_{11} \dots k_{92}, V_{in}, k_{s3}`) and the 5 held quantities :data:`HELD_CONSTANT`
(:data:`PARAMETER_NAMES` is their order). Units: time in hours; metabolites in µM, limonene in
g/L, enzymes in peak area (a.u.), as the table gives them. The constants carry whatever units make
each rate law's result a rate of its state's unit per hour (the model mixes µM and g/L, as theirs
does; every constant absorbs the conversion).

Fits (``configuration``)
------------------------
``"published"``: as in their notebook. Each training strain's measured values are interpolated
linearly in time onto 100 even points, smoothed by a Savitzky-Golay filter (window 7, order 2);
the derivatives are ``numpy.gradient`` of the smoothed values divided by their step
``(t_max - t_min) / 100`` (the grid has 99 intervals, so their derivatives are 100/99 of the
true slopes, 1% large; kept). The 39 parameters minimise the summed squared error between the
model's rates (at the smoothed states and enzymes) and these derivatives, unscaled, by scipy's
differential evolution over their bounds ``[1e-12, 1e9]`` on a linear scale, seeded by the model
seed, with a bounded number of generations (their run stopped at generation 1303 by
convergence; ``quick`` runs a few). The population is evaluated at once (``vectorized=True``,
hence scipy's deferred updating, where their run updated immediately).

``"careful"``: the trajectories themselves. Two starts are made: the published fit, and a
second differential evolution on the derivatives over the base-10 logarithms of the parameters,
each state's error divided by the spread of its derivatives (so that the small states count;
the unscaled published objective is dominated by the largest derivatives). The start whose
simulated training strains are closer to the data is refined: the error on the grid, each state
divided by its standard deviation over the training strains (the scaled units of
:mod:`nodebio.metrics`), is minimised by ``scipy.optimize.least_squares`` (trust-region
reflective, finite-difference Jacobian, variables scaled by it) over the base-10 logarithms of
the 36 parameters that affect the simulation (bounds -12 to 9, those of the published fit).
While fitting, a failed or diverged solve counts as an error of
:attr:`KineticConfig.failure_residual` scaled units at every point after the failure (the
optimiser needs numbers); simulations never replace them. (A quick published fit is far from
the data and its training solves diverge at once, which gives the optimiser a flat objective;
the scaled start is what makes a quick careful fit possible.)

Simulation
----------
``simulate`` integrates the six ODEs from each strain's initial state with scipy's ``LSODA``
(stiff and non-stiff switching; ``BDF`` or ``Radau`` as options), the controls interpolated
linearly between the strain's grid points. A solve that fails, needs more than
``max_evaluations`` rate evaluations, or leaves ``divergence_factor`` times the largest training
value of a state is reported in ``status_`` (``"solver failed at T h: ..."``, ``"diverged at T
h"``), its values NaN from there on. Predictions are clipped at 0 (``clip_at_zero``), as their
scoring code clips them.

SBML
----
:meth:`CostelloKineticModel.to_sbml` writes the fitted model as SBML Level 3 Version 2: the six
measured species and the three held ones (boundary species, constant), the eight reactions
(acetyl-CoA supply, AtoB, HMGS, HMGR, MK, PMK, PMD, GPPS, LS; the Idi reaction is left out, its
net effect on the pooled IPP/DMAPP being nil, but its constants are kept as parameters), the
fitted constants as parameters, and the enzyme levels of one strain as time-dependent
parameters: piecewise-linear assignment rules through the strain's grid values (collinear grid
points dropped, so the function is the one ``simulate`` interpolates). GPPS stoichiometry is 2
IPP/DMAPP, matching :math:`\dot p = v_6 - 2 v_8`. Without a strain, the enzyme levels are
constants at their training mean and the initial state is the training strains' mean initial
state (a template to set inputs in).

Their stored run
----------------
Their notebook (``KineticLearningFilled.ipynb``) reports a mean integral RMSE of 8.66 on L2 for
this model. Its fitting cell passes the enzymes in the order AtoB, HMGS, HMGR, MK, PMK, PMD, LS,
but its simulation cell passes the first columns of its table, AtoB, HMGR, HMGS, MK, PMD, PMK,
Idi: HMGS and HMGR swapped, PMK and PMD swapped, and the Idi level where the limonene synthase
level belongs. This module feeds every rate law its own enzyme in fit and simulation alike;
``benchmarks/kinetic_rmse.py`` also scores the published fit with the notebook's inputs, which
is how the 8.66 was simulated.

The isopentenol strains
-----------------------
Their kinetic model has no isopentenol branch (NudB) and their notebook runs it for the limonene
strains only; the isopentenol table also lacks Mev-P. ``fit`` on the isopentenol table raises a
:class:`~nodebio.errors.DataValidationError` saying so, rather than fit a model of our own
making under their name.

This is an independent implementation from the equations of their public notebook; no code is
taken from it.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nodebio import data as _data
from nodebio.errors import DataValidationError, check_names

__all__ = [
    "STATES", "ENZYMES", "HELD_CONSTANT", "KINETIC_CONSTANTS", "PARAMETER_NAMES", "BOUNDS",
    "KineticConfig", "CostelloKineticModel", "fluxes", "rates", "published_derivatives",
]

#: The measured states the model simulates, in its internal order (s1, s3, s4, s5, p, s10).
STATES = ("Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "IPP/DMAPP", "Limonene")
#: The measured enzymes (controls) it reads, in its internal order (e1-e6, e9).
ENZYMES = ("AtoB", "HMGS", "HMGR", "MK", "PMK", "PMD", "Limonene Synthase")
#: The five unmeasured quantities held constant: Idi and GPPS levels (e7, e8), acetoacetyl-CoA
#: (s2), Mev-PP (s6), GPP (s9).
HELD_CONSTANT = ("Idi", "GPPS", "Acetoacetyl-CoA", "Mev-PP", "GPP")
#: The 34 kinetic constants.
KINETIC_CONSTANTS = ("k11", "k12", "k13", "k21", "k22", "k23", "k24", "k31", "k32", "k33", "k34", "k35",
                     "k41", "k42", "k43", "k44", "k45", "k51", "k52", "k61", "k62", "k63", "k64", "k65",
                     "k71", "k72", "k81", "k82", "k83", "k84", "k91", "k92", "Vin", "ks3")
#: All 39 parameters in the order of a parameter vector (their notebook's order).
PARAMETER_NAMES = HELD_CONSTANT + KINETIC_CONSTANTS
#: Their bounds for every parameter (linear scale).
BOUNDS = (1e-12, 1e9)
#: Parameters that do not affect the simulated states (the Idi flux cancels in the pool).
INERT = ("Idi", "k71", "k72")

_N = len(PARAMETER_NAMES)
assert _N == 39 and len(KINETIC_CONSTANTS) == 34


def fluxes(states, enzymes, params) -> dict:
    """The supply and the nine fluxes ``{"Vin", "v1", ..., "v9"}`` of the rate laws (module docstring).

    states : 6 values in :data:`STATES` order (numbers or arrays that broadcast together);
    enzymes : 7 values in :data:`ENZYMES` order; params : 39 values in :data:`PARAMETER_NAMES`
    order. IPP and DMAPP both take the pooled IPP/DMAPP value.
    """
    s1, s3, s4, s5, p, _s10 = states
    e1, e2, e3, e4, e5, e6, e9 = enzymes
    (e7, e8, s2, s6, s9, k11, k12, k13, k21, k22, k23, k24, k31, k32, k33, k34, k35, k41, k42, k43, k44, k45,
     k51, k52, k61, k62, k63, k64, k65, k71, k72, k81, k82, k83, k84, k91, k92, vin, ks3) = params
    s7 = s8 = p
    return {
        "Vin": vin,
        "v1": k11 * e1 * s1 / (k12 + k13 * s1),
        "v2": k21 * e2 * s1 * s2 * ks3 / (k22 * s2 + k23 * s1 + k24 * s1 * s2),
        "v3": k31 * e3 * s3 / (k32 * s1 + k33 * s2 + k34 * s3 + k35),
        "v4": k41 * e4 * s4 / (k42 * s9 + k43 * s5 + k44 * s4 + k45),
        "v5": k51 * e5 * s5 / (k52 + s5),
        "v6": k61 * e6 * s6 / (k62 * s5 + k63 * s4 + k64 * s6 + k65),
        "v7": k71 * e7 * s7 / (k72 + s7),
        "v8": k81 * e8 * s7 * s8 / (k82 + k83 * s7 + k84 * s8 + s7 * s8),
        "v9": k91 * e9 * s9 / (k92 + s9),
    }


def rates(states, enzymes, params) -> tuple:
    """d(state)/dt of the six measured states (:data:`STATES` order), per hour; arguments as :func:`fluxes`."""
    v = fluxes(states, enzymes, params)
    return (v["Vin"] - v["v1"] - v["v2"], v["v2"] - v["v3"], v["v3"] - v["v4"], v["v4"] - v["v5"],
            v["v6"] - 2.0 * v["v8"], v["v9"])


def _rhs_factory(params):
    """A fast scalar right-hand side f(states, enzymes) for one parameter vector (plain floats)."""
    (e7, e8, s2, s6, s9, k11, k12, k13, k21, k22, k23, k24, k31, k32, k33, k34, k35, k41, k42, k43, k44, k45,
     k51, k52, k61, k62, k63, k64, k65, k71, k72, k81, k82, k83, k84, k91, k92, vin, ks3) = map(float, params)
    hmgs_num = k21 * s2 * ks3
    hmgr_const = k33 * s2 + k35
    mk_const = k42 * s9 + k45
    pmd_num = k61 * s6
    pmd_const = k64 * s6 + k65
    gpps_num = k81 * e8
    ls_rate = k91 * s9 / (k92 + s9)

    def f(x, e):
        s1, s3, s4, s5, p, _ = x
        e1, e2, e3, e4, e5, e6, e9 = e
        v1 = k11 * e1 * s1 / (k12 + k13 * s1)
        v2 = hmgs_num * e2 * s1 / (k22 * s2 + k23 * s1 + k24 * s1 * s2)
        v3 = k31 * e3 * s3 / (k32 * s1 + k34 * s3 + hmgr_const)
        v4 = k41 * e4 * s4 / (k43 * s5 + k44 * s4 + mk_const)
        v5 = k51 * e5 * s5 / (k52 + s5)
        v6 = pmd_num * e6 / (k62 * s5 + k63 * s4 + pmd_const)
        v8 = gpps_num * p * p / (k82 + (k83 + k84) * p + p * p)
        return [vin - v1 - v2, v2 - v3, v3 - v4, v4 - v5, v6 - 2.0 * v8, ls_rate * e9]

    return f


def published_derivatives(dataset: _data.Dataset, strains, n_points: int = 100, window: int = 7,
                          order: int = 2):
    """The training points of their derivative fit: (states, enzymes, derivatives) per strain.

    Each measured series of a strain is interpolated linearly in time onto ``n_points`` even
    times, smoothed by Savitzky-Golay (``window``, ``order``), and differentiated as their code
    does (``numpy.gradient`` of the smoothed values over ``span / n_points``). Returns three
    arrays of shape (strains, n_points, 6 | 7 | 6), in :data:`STATES`/:data:`ENZYMES` order.
    """
    from scipy.signal import savgol_filter

    xs, es, ds = [], [], []
    for strain in strains:
        t_all = dataset.times(strain)
        grid = np.linspace(t_all.min(), t_all.max(), n_points)
        step = (t_all.max() - t_all.min()) / n_points  # their step (span / n_points), kept

        def smoothed(name):
            t, v = dataset.measurements(strain, name)
            if len(t) < 2:
                raise DataValidationError(
                    f"Strain {strain!r} has {len(t)} measured value(s) of {name!r}; the kinetic model's "
                    "published fit needs at least two per series.")
            return savgol_filter(np.interp(grid, t, v), window, order)

        x = np.stack([smoothed(s) for s in STATES], -1)
        xs.append(x)
        es.append(np.stack([smoothed(e) for e in ENZYMES], -1))
        ds.append(np.gradient(x, axis=0) / step)
    return np.stack(xs), np.stack(es), np.stack(ds)


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
            raise ValueError(f"configuration must be 'published' or 'careful', got {self.configuration!r}.")
        if self.solver not in self.SOLVERS:
            raise ValueError(f"Unknown solver {self.solver!r}; choose one of {', '.join(self.SOLVERS)}.")
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
    ``params_`` (39 values, :data:`PARAMETER_NAMES` order; :meth:`parameters` as a dict),
    ``fit_info_`` (the objective before and after each stage), ``fit_seconds``. After
    ``simulate``: ``status_`` per strain (``"ok"``, ``"diverged at T h"``,
    ``"solver failed at T h: ..."``) and ``evaluations_``.
    """

    name = "kinetic"

    def __init__(self, config: KineticConfig | None = None, **options):
        base = asdict(config) if config is not None else {}
        self.config = KineticConfig(**{**base, **options})
        self.params_: np.ndarray | None = None

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

        params : (39,) or (39, m) for m parameter vectors; points : :func:`published_derivatives`'
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
            raise RuntimeError("The model is not fitted: call fit() first.")

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
        results, self.status_, self.evaluations_ = [], [], []
        for i in range(len(start)):
            path, status, evaluations = self._solve(self.params_, times, start[i], u_all[i][:, self._enzyme_index])
            if self.config.clip_at_zero:
                path = np.where(np.isnan(path), np.nan, np.maximum(path, 0.0))
            results.append(path)
            self.status_.append(status)
            self.evaluations_.append(evaluations)
        return np.stack(results)

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
        path.write_text(self.to_sbml(strain, trajectories), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        fitted = f"trained on {', '.join(self.train_strains)}" if self.params_ is not None else "not fitted"
        return f"CostelloKineticModel({self.config.configuration}, {fitted})"
