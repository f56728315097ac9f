r"""The rate laws of the Michaelis-Menten kinetic model of Costello & Garcia Martin (2018).

Costello & Garcia Martin compared their learned dynamics on the limonene strains with a
hand-written kinetic model of the mevalonate pathway, fitted to the same training strains. This
module re-implements that model for the limonene table (:data:`nodebio.data.PATHWAYS`):
:class:`CostelloKineticModel` (registry name ``"costello-kinetic"``), with the ``fit``/``simulate``
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
measured species and the three held ones (boundary species, constant), the nine reactions
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

import numpy as np

from nodebio import data as _data
from nodebio.errors import DataValidationError

__all__ = ["STATES", "ENZYMES", "HELD_CONSTANT", "KINETIC_CONSTANTS", "PARAMETER_NAMES", "BOUNDS", "INERT",
           "fluxes", "rates", "published_derivatives"]

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
