r"""A mechanistic model of the heterologous mevalonate pathway, for data with a known truth.

The model
---------
Nine metabolites (intracellular concentrations in µM, the product in µM of culture):

    acetyl-CoA -(AtoB)-> acetoacetyl-CoA -(HMGS)-> HMG-CoA -(HMGR)-> mevalonate -(MK)-> Mev-P
    -(PMK)-> Mev-PP -(PMD)-> IPP/DMAPP -(GPPS, with Idi)-> GPP -(limonene synthase)-> limonene

Every step is an irreversible Michaelis-Menten reaction whose maximal rate is proportional to the
level of its enzyme, :math:`v_j = k_j e_j(t)\, s/(K_j + s)`, with these exceptions:

* AtoB condenses two acetyl-CoA and HMGS adds a third: :math:`v_{HMGS}` is saturable in both
  acetoacetyl-CoA and acetyl-CoA.
* GPPS condenses IPP with DMAPP; the pool IPP/DMAPP is one state (as measured), GPPS follows a
  Hill law of order 2 in it and needs isomerization by Idi, a factor
  :math:`e_{Idi}/(K_{Idi} + e_{Idi})`.
* The host drains acetyl-CoA (first order, :math:`k_A A`) and IPP/DMAPP (Michaelis-Menten, the
  native FPP synthesis) whatever the heterologous enzymes.
* Acetyl-CoA is supplied at a rate :math:`s_0 (0.2 + \mu(t)/r)`: fast during growth, a floor in
  stationary phase.
* Cells grow logistically, :math:`OD(t) = K/(1 + (K/OD_0 - 1) e^{-rt})`, and intracellular
  metabolites are diluted by growth (:math:`-\mu(t) x`, :math:`\mu = r(1 - OD/K)`).
* The product is excreted: :math:`dP/dt = c\, v_{LS}\, OD(t) - k_{loss} P` (limonene is volatile).

Enzyme levels follow induction curves, :math:`e_j(t) = b_j + a_j (1 - e^{-t/\tau_j}) e^{-\delta t}`
(arbitrary units; reported as peak areas :math:`10^6 e_j` so that they look like the proteomics).
Strains differ by their expression levels :math:`a_j` (log-normal around a reference design, as
promoter and RBS choices do), their initial acetyl-CoA, starting OD and growth rate; the kinetic
constants are the same in every strain: they are the transferable truth a model should learn.

An intervention scales the whole curve of one or more enzymes by a factor
(``scale={"HMGR": 2.0}``), which gives the true outcome to compare predictions with.
:data:`Kinetics` documents every parameter and its default value.

A harder truth
--------------
The default generator is a linear chain with exactly the topology the structured models assume,
and its strains vary every enzyme independently: easier than the real problem. Options of
:class:`SyntheticPathway` (all off by default; :meth:`SyntheticPathway.hard` turns them on) make it
harder:

* ``design="promoters"``: strains are built from a few choices, as real strains are: each of three
  operons (AtoB-HMGS-HMGR; MK-PMK-PMD-Idi; GPPS-limonene synthase) gets one of
  :data:`PROMOTER_STRENGTHS` and the plasmid one of :data:`COPY_NUMBERS`, with a small per-enzyme
  RBS spread (``rbs_spread``): enzyme levels are correlated within an operon.
* ``feedback=True``: HMGS is inhibited by HMG-CoA (:math:`1/(1 + H/K_{i,HMGS})`) and MK by the
  prenyl phosphates IPP/DMAPP (:math:`1/(1 + I/K_{i,MK})`), regulation the models do not assume.
* ``branch > 0``: a first-order branch that drains IPP/DMAPP towards other prenyl products
  (``branch`` per h).
* ``burden > 0``: expression burden on growth: the growth rate is divided by
  :math:`1 + b\,(E/E_{ref} - 1)_+` where :math:`E` is the strain's total expression (after an
  intervention) and :math:`E_{ref}` that of the reference design; the supply of acetyl-CoA follows
  growth, so over-expressing an enzyme can lower the titer.

:meth:`SyntheticPathway.sample_outside` draws strains deliberately outside the range of given
training strains (several enzymes above the highest training level, as L2's are).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from nodebio import data as _data
from nodebio import seeds
from nodebio.errors import DataValidationError, SolverError, UsageError, unknown_message

#: The most strains :func:`generate` draws (a run record, or ``--strains``, asking for more is refused
#: before any work: each strain is an ODE solve).
MAX_STRAINS = 1000

__all__ = [
    "ENZYMES",
    "METABOLITES",
    "MEASURED_STATES",
    "HIDDEN_STATES",
    "SAMPLING_HOURS",
    "UNITS",
    "DESIGNS",
    "OPERONS",
    "PROMOTER_STRENGTHS",
    "COPY_NUMBERS",
    "Kinetics",
    "Strain",
    "SyntheticPathway",
    "generate",
    "make_dataset",
]

ENZYMES: tuple[str, ...] = (
    "AtoB", "HMGS", "HMGR", "MK", "PMK", "PMD", "Idi", "GPPS", "Limonene Synthase",
)
METABOLITES: tuple[str, ...] = (
    "Acetyl-CoA", "Acetoacetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "Mev-PP", "IPP/DMAPP",
    "GPP", "Limonene",
)
#: The metabolites the real pathway tables measure (in that order).
MEASURED_STATES: tuple[str, ...] = (
    "Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "IPP/DMAPP", "Limonene",
)
#: Intermediates the model has but the real tables do not measure (GPP is measured there, but
#: identical in L1 and L2, so the book treats it as unmeasured).
HIDDEN_STATES: tuple[str, ...] = ("Acetoacetyl-CoA", "Mev-PP", "GPP")
#: The sampling hours of the pathway measurements in the real tables.
SAMPLING_HOURS: tuple[float, ...] = (0.0, 4.0, 8.0, 12.0, 18.0, 24.0, 36.0, 48.0, 72.0)
PEAK_AREA_PER_UNIT = 1e6

UNITS: dict[str, str] = {
    **{e: _data.PROTEIN_UNIT for e in ENZYMES},
    **{m: "µM" for m in METABOLITES},
    "OD600": "OD600 (dimensionless)",
}


#: The structured models' view of this pathway: the reactions of the limonene pathway over the
#: measured states (acetoacetyl-CoA, Mev-PP and GPP lumped), registered as ``"synthetic"``.
_data.register_reactions("synthetic", _data.reactions_for("limonene"))


@dataclass(frozen=True)
class Kinetics:
    """Parameters shared by all strains (time in h, concentrations in µM, enzymes in a.u.).

    ``k_*`` are catalytic constants (µM/h per enzyme unit), ``K_*`` Michaelis constants (µM).
    The defaults put the metabolites in the ranges of the real tables (0.01-10 µM).
    """

    k_atob: float = 3.0
    K_atob: float = 0.5
    k_hmgs: float = 6.0
    K_hmgs: float = 0.5
    K_hmgs_acetyl: float = 0.05
    k_hmgr: float = 3.0
    K_hmgr: float = 0.3
    k_mk: float = 3.0
    K_mk: float = 1.5
    k_pmk: float = 4.0
    K_pmk: float = 1.0
    k_pmd: float = 4.0
    K_pmd: float = 0.5
    k_gpps: float = 2.0
    K_gpps: float = 4.0
    K_idi: float = 0.3
    k_ls: float = 1.0
    K_ls: float = 0.3
    #: inhibition constants of the feedback option (µM): HMGS by HMG-CoA, MK by IPP/DMAPP
    Ki_hmgs: float = 0.5
    Ki_mk: float = 1.0
    #: native drain of acetyl-CoA (1/h) and native consumption of IPP/DMAPP (µM/h, µM)
    k_acetyl_drain: float = 1.0
    v_ipp_drain: float = 0.5
    K_ipp_drain: float = 2.0
    #: acetyl-CoA supply (µM/h) at full growth
    supply: float = 6.0
    #: carrying capacity (OD600) and product excretion / loss
    od_max: float = 3.8
    product_yield: float = 0.05
    product_loss: float = 0.005
    #: induction time constant (h) and slow decline (1/h) of the enzymes; basal level
    tau_induction: float = 3.0
    enzyme_decline: float = 0.004
    basal: float = 0.01


#: Expression levels of the reference design (a.u.); strains vary around them.
REFERENCE_EXPRESSION: dict[str, float] = {
    "AtoB": 1.0, "HMGS": 0.5, "HMGR": 0.3, "MK": 0.3, "PMK": 0.3, "PMD": 1.0, "Idi": 0.8,
    "GPPS": 1.0, "Limonene Synthase": 3.0,
}


#: The operons of the promoter design (``design="promoters"``): enzymes that share a promoter.
OPERONS: tuple[tuple[str, ...], ...] = (
    ("AtoB", "HMGS", "HMGR"), ("MK", "PMK", "PMD", "Idi"), ("GPPS", "Limonene Synthase"),
)
#: How strains are drawn (:class:`SyntheticPathway` ``design``).
DESIGNS: tuple[str, ...] = ("independent", "promoters")
#: Relative promoter strengths to choose from (weak, medium, strong) ...
PROMOTER_STRENGTHS: tuple[float, ...] = (0.3, 1.0, 3.0)
#: ... and plasmid copy numbers relative to the reference (low, medium, high copy).
COPY_NUMBERS: tuple[float, ...] = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class Strain:
    """One engineered strain: enzyme expression levels and initial conditions."""

    name: str
    expression: Mapping[str, float]
    acetyl_coa0: float = 0.35
    od0: float = 1.0
    growth_rate: float = 0.5

    def to_dict(self) -> dict:
        return asdict(self) | {"expression": dict(self.expression)}


def _check_scale(scale: Mapping[str, float] | None) -> dict[str, float]:
    scale = dict(scale or {})
    unknown = [e for e in scale if e not in ENZYMES]
    if unknown:
        raise UsageError(unknown_message("enzyme", unknown, ENZYMES))
    bad = {e: f for e, f in scale.items() if not (np.isfinite(f) and f > 0)}
    if bad:
        raise UsageError(
            f"Scaling factors must be positive numbers; got {', '.join(f'{e}={f}' for e, f in bad.items())}."
        )
    return scale


@dataclass
class SyntheticPathway:
    """The mechanistic pathway model; see the module docstring for the equations."""

    kinetics: Kinetics = field(default_factory=Kinetics)
    expression_spread: float = 0.7
    reference: Mapping[str, float] = field(default_factory=lambda: dict(REFERENCE_EXPRESSION))
    #: how strains are drawn: "independent" (every enzyme log-normal on its own) or "promoters"
    design: str = "independent"
    rbs_spread: float = 0.2
    #: the misspecifications (module docstring): feedback inhibition, an IPP/DMAPP branch, burden
    feedback: bool = False
    branch: float = 0.0
    burden: float = 0.0

    def __post_init__(self):
        if self.design not in DESIGNS:
            raise UsageError(unknown_message("strain design", [self.design], DESIGNS))
        for name in ("branch", "burden", "rbs_spread", "expression_spread"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise UsageError(f"{name} must be a non-negative number, got {getattr(self, name)}.")

    @classmethod
    def hard(cls, **options) -> "SyntheticPathway":
        """The harder truth: promoter-built strains, feedback inhibition, an IPP/DMAPP branch and
        expression burden (``options`` override; see the module docstring)."""
        return cls(**{"design": "promoters", "feedback": True, "branch": 0.3, "burden": 0.3, **options})

    def _factors(self, rng: np.random.Generator) -> np.ndarray:
        """Expression factors of one strain around the reference design."""
        if self.design == "independent":
            return np.exp(rng.normal(0.0, self.expression_spread, len(ENZYMES)))
        copies = rng.choice(COPY_NUMBERS)
        factors = np.exp(rng.normal(0.0, self.rbs_spread, len(ENZYMES))) * copies
        for operon in OPERONS:
            strength = rng.choice(PROMOTER_STRENGTHS)
            for e in operon:
                factors[ENZYMES.index(e)] *= strength
        return factors

    def sample_strains(self, n: int, seed: int = 0, prefix: str = "S") -> list[Strain]:
        """Draw ``n`` strains: expression levels around the reference design (log-normal with sd
        ``expression_spread`` in log space, or built from promoters with ``design="promoters"``),
        and small variations in initial state and growth."""
        if n < 1:
            raise UsageError(f"n must be at least 1, got {n}.")
        if n > MAX_STRAINS:
            raise DataValidationError(f"At most {MAX_STRAINS} synthetic strains, got {n}: each is an ODE solve.")
        rng = seeds.rng(seed, seeds.STRAINS)
        width = len(str(n))
        strains = []
        for i in range(n):
            factors = self._factors(rng)
            strains.append(
                Strain(
                    name=f"{prefix}{i + 1:0{width}d}",
                    expression={e: self.reference[e] * f for e, f in zip(ENZYMES, factors)},
                    acetyl_coa0=float(0.35 * np.exp(rng.normal(0.0, 0.2))),
                    od0=float(np.clip(1.0 * np.exp(rng.normal(0.0, 0.25)), 0.3, 2.0)),
                    growth_rate=float(0.5 * np.exp(rng.normal(0.0, 0.15))),
                )
            )
        return strains

    def sample_outside(self, n: int, training: Sequence[Strain], *, seed: int = 0, fold: float = 3.0,
                       enzymes: int = 6, prefix: str = "X") -> list[Strain]:
        """``n`` strains outside the range of the ``training`` strains, as L2 is outside L1 and L3:
        each is a strain of :meth:`sample_strains` (stream of ``seed``) whose ``enzymes`` randomly
        chosen enzymes are set ``fold`` to ``1.5 fold`` times above the highest training level."""
        if not training:
            raise UsageError("sample_outside needs the training strains whose range to leave.")
        if not 1 <= enzymes <= len(ENZYMES) or not fold > 1:
            raise UsageError(f"enzymes must be 1-{len(ENZYMES)} and fold above 1, got {enzymes} and {fold}.")
        rng = seeds.rng(seed, seeds.OUTSIDE)
        highest = {e: max(s.expression[e] for s in training) for e in ENZYMES}
        strains = []
        for base in self.sample_strains(n, seed=seed + 1, prefix=prefix):
            expression = dict(base.expression)
            for j in rng.choice(len(ENZYMES), size=enzymes, replace=False):
                e = ENZYMES[j]
                expression[e] = highest[e] * fold * rng.uniform(1.0, 1.5)
            strains.append(Strain(base.name, expression, base.acetyl_coa0, base.od0, base.growth_rate))
        return strains

    def growth_rate(self, strain: Strain, factor: np.ndarray | None = None) -> float:
        """The strain's growth rate (1/h), lowered by expression burden when ``burden > 0``
        (``factor``: the scaling of each enzyme by an intervention)."""
        if self.burden == 0:
            return strain.growth_rate
        factor = np.ones(len(ENZYMES)) if factor is None else np.asarray(factor, float)
        total = float(np.sum(factor * np.array([strain.expression[e] for e in ENZYMES])))
        excess = max(total / sum(self.reference.values()) - 1.0, 0.0)
        return strain.growth_rate / (1.0 + self.burden * excess)

    def enzyme_levels(
        self, strain: Strain, times: np.ndarray, scale: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Enzyme levels (a.u.) at ``times`` (h): array (len(times), len(ENZYMES))."""
        scale = _check_scale(scale)
        kin = self.kinetics
        t = np.asarray(times, dtype=float)[:, None]
        a = np.array([strain.expression[e] for e in ENZYMES])[None, :]
        factor = np.array([scale.get(e, 1.0) for e in ENZYMES])[None, :]
        induced = (1.0 - np.exp(-t / kin.tau_induction)) * np.exp(-kin.enzyme_decline * t)
        return factor * (kin.basal + a * induced)

    def od(self, strain: Strain, times: np.ndarray, factor: np.ndarray | None = None) -> np.ndarray:
        """Optical density OD600 at ``times`` (logistic growth at :meth:`growth_rate`)."""
        K = self.kinetics.od_max
        rate = self.growth_rate(strain, factor)
        return K / (1.0 + (K / strain.od0 - 1.0) * np.exp(-rate * np.asarray(times, float)))

    def derivatives(self, t: float, x: np.ndarray, strain: Strain, factor: np.ndarray) -> np.ndarray:
        """dx/dt of the nine metabolites (µM/h) at time ``t`` (h)."""
        kin = self.kinetics
        A, AA, H, M, MP, MPP, I, G, P = np.maximum(x, 0.0)
        a = np.array([strain.expression[e] for e in ENZYMES])
        induced = (1.0 - np.exp(-t / kin.tau_induction)) * np.exp(-kin.enzyme_decline * t)
        atob, hmgs, hmgr, mk, pmk, pmd, idi, gpps, ls = factor * (kin.basal + a * induced)
        rate = self.growth_rate(strain, factor)
        od = self.od(strain, np.array([t]), factor)[0]
        mu = rate * (1.0 - od / kin.od_max)
        inhibit_hmgs = 1.0 / (1.0 + H / kin.Ki_hmgs) if self.feedback else 1.0
        inhibit_mk = 1.0 / (1.0 + I / kin.Ki_mk) if self.feedback else 1.0

        v_atob = kin.k_atob * atob * A / (kin.K_atob + A)
        v_hmgs = kin.k_hmgs * hmgs * AA / (kin.K_hmgs + AA) * A / (kin.K_hmgs_acetyl + A) * inhibit_hmgs
        v_hmgr = kin.k_hmgr * hmgr * H / (kin.K_hmgr + H)
        v_mk = kin.k_mk * mk * M / (kin.K_mk + M) * inhibit_mk
        v_pmk = kin.k_pmk * pmk * MP / (kin.K_pmk + MP)
        v_pmd = kin.k_pmd * pmd * MPP / (kin.K_pmd + MPP)
        v_gpps = kin.k_gpps * gpps * idi / (kin.K_idi + idi) * I**2 / (kin.K_gpps**2 + I**2)
        v_ls = kin.k_ls * ls * G / (kin.K_ls + G)
        supply = kin.supply * (0.2 + mu / strain.growth_rate)
        drain_ipp = kin.v_ipp_drain * I / (kin.K_ipp_drain + I) + self.branch * I

        return np.array([
            supply - 2.0 * v_atob - v_hmgs - kin.k_acetyl_drain * A - mu * A,
            v_atob - v_hmgs - mu * AA,
            v_hmgs - v_hmgr - mu * H,
            v_hmgr - v_mk - mu * M,
            v_mk - v_pmk - mu * MP,
            v_pmk - v_pmd - mu * MPP,
            v_pmd - 2.0 * v_gpps - drain_ipp - mu * I,
            v_gpps - v_ls - mu * G,
            kin.product_yield * v_ls * od - kin.product_loss * P,
        ])

    def initial_state(self, strain: Strain) -> np.ndarray:
        """Initial concentrations: acetyl-CoA of the strain, traces of the rest."""
        x0 = np.full(len(METABOLITES), 0.005)
        x0[0] = strain.acetyl_coa0
        x0[-1] = 0.0
        return x0

    def simulate(
        self,
        strain: Strain,
        times: Sequence[float] = SAMPLING_HOURS,
        scale: Mapping[str, float] | None = None,
    ) -> pd.DataFrame:
        """Noise-free trajectory of one strain at ``times`` (h), optionally with enzymes scaled.

        Returns a DataFrame with columns ``Hour``, the enzymes (peak areas), the nine
        metabolites and ``OD600``.
        """
        factor_map = _check_scale(scale)
        factor = np.array([factor_map.get(e, 1.0) for e in ENZYMES])
        times = np.asarray(times, dtype=float)
        solution = solve_ivp(
            self.derivatives,
            (float(times[0]), float(times[-1])),
            self.initial_state(strain),
            t_eval=times,
            args=(strain, factor),
            method="LSODA",
            rtol=1e-7,
            atol=1e-10,
        )
        if not solution.success:
            raise SolverError(f"The synthetic pathway could not be solved for strain {strain.name}: {solution.message}")
        frame = pd.DataFrame(
            self.enzyme_levels(strain, times, factor_map) * PEAK_AREA_PER_UNIT, columns=list(ENZYMES)
        )
        frame[list(METABOLITES)] = np.maximum(solution.y.T, 0.0)
        frame["OD600"] = self.od(strain, times, factor)
        frame.insert(0, "Hour", times)
        return frame

    def generate(
        self,
        strains: Sequence[Strain],
        times: Sequence[float] = SAMPLING_HOURS,
        noise: float = 0.0,
        seed: int = 0,
        scale: Mapping[str, float] | None = None,
        include_hidden: bool = False,
    ) -> pd.DataFrame:
        """Tidy table of several strains, in the layout of the real pathway tables.

        Columns ``Strain, Hour``, the enzymes, the measured metabolites (and the hidden ones
        with ``include_hidden``) and ``OD600``. ``noise`` is the standard deviation of a
        multiplicative log-normal measurement error on every value (0.1 = about 10%).
        """
        if not (math.isfinite(noise) and noise >= 0):
            raise DataValidationError(f"The noise must be a finite standard deviation of 0 or more (--noise), "
                                      f"got {noise}.")
        rng = seeds.rng(seed, seeds.NOISE)
        states = list(METABOLITES if include_hidden else MEASURED_STATES)
        frames = []
        for strain in strains:
            frame = self.simulate(strain, times, scale)[["Hour", *ENZYMES, *states, "OD600"]]
            if noise > 0:
                values = frame.columns[1:]
                frame[values] = frame[values] * np.exp(rng.normal(0.0, noise, (len(frame), len(values))))
            frame.insert(0, "Strain", strain.name)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def generate(
    n_strains: int = 10,
    seed: int = 0,
    noise: float = 0.05,
    times: Sequence[float] = SAMPLING_HOURS,
    scale: Mapping[str, float] | None = None,
    include_hidden: bool = False,
    pathway: SyntheticPathway | None = None,
) -> pd.DataFrame:
    """Draw ``n_strains`` strains and return their noisy measurements as a tidy table."""
    pathway = pathway or SyntheticPathway()
    strains = pathway.sample_strains(n_strains, seed=seed)
    return pathway.generate(strains, times, noise=noise, seed=seed, scale=scale, include_hidden=include_hidden)


def make_dataset(
    n_strains: int = 10,
    seed: int = 0,
    noise: float = 0.05,
    times: Sequence[float] = SAMPLING_HOURS,
    include_hidden: bool = False,
    pathway: SyntheticPathway | None = None,
    strains: Sequence[Strain] | None = None,
) -> _data.Dataset:
    """:func:`generate`, validated into a :class:`nodebio.data.Dataset` like the real tables
    (``strains``: these strains of ``pathway`` instead of ``n_strains`` drawn ones)."""
    if strains is None:
        frame = generate(n_strains, seed, noise, times, include_hidden=include_hidden, pathway=pathway)
    else:
        frame = (pathway or SyntheticPathway()).generate(strains, times, noise=noise, seed=seed,
                                                         include_hidden=include_hidden)
    states = list(METABOLITES if include_hidden else MEASURED_STATES)
    dataset = _data.from_frame(
        frame,
        states=states,
        controls=list(ENZYMES),
        units=UNITS,
        name="synthetic",
        product="Limonene",
        source=f"nodebio.synthetic (seed {seed}, noise {noise:g})",
    )
    # A digest of the values, so that a model trained on these strains can recognise them.
    dataset.sha256 = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return dataset
