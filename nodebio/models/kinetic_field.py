r"""The enzyme-linear kinetic field: fluxes proportional to their enzymes, as in enzyme kinetics.

The plain and the structured neural ODEs feed scaled enzyme levels into saturating networks, so a
strain with twenty times the enzyme of any training strain looks to them like one with twice as
much. In enzyme kinetics a flux is proportional to the amount of its enzyme,
:math:`v = E\,k_{cat}\,f(S)` (Michaelis–Menten, and the separable rate laws of Noor, Liebermeister
et al.). :class:`KineticField` is a neural ODE built that way:

.. math::

    \frac{dc}{dt} = S_{\mathrm{eff}}\, v - \mu(t)\, d \odot c^{+} - \lambda \odot c^{+}, \qquad
    v_j = k_j \, e_j(t) \, \prod_{s} \frac{c_s^{+}}{c_s^{+} + K_{js}} \, g_j(c),

* :math:`e_j(t)`: the enzyme level of reaction j relative to its mean in the training strains, in
  original units, so that twenty times the enzyme gives twenty times the capacity. A lumped step
  catalysed by several enzymes (e.g. AtoB and HMGS) combines them as steps in series do,
  :math:`1/e_j = \sum_i w_{ji}/E_i` with learned weights :math:`w_{ji} > 0` summing to one:
  still exactly proportional when all its enzymes scale together, and limited by the scarcest.
  A reaction without enzymes (a supply from the host) has :math:`e_j = 1`.
* :math:`k_j > 0`: a learned capacity (per hour, in units of the reaction's first substrate).
* the Michaelis–Menten factor over the reaction's substrates, with learned :math:`K_{js} > 0`:
  a step stops when its substrate runs out, and saturates when it is plentiful.
* :math:`g_j \in (0, 1)` (``correction=True``): a small network of the reaction's substrates,
  products and modifiers (scaled), increasing in the substrates, free in the others (product
  inhibition, feedback); it can only slow a step down, never make its flux grow faster than its
  enzyme.
* :math:`\mu(t) = \max(0, d\ln \mathrm{OD}/dt)` (``growth`` names the optical-density control):
  dilution of the intracellular pools by growth (:math:`d_i = 1` for every state but the product,
  a titre of the culture), computed from the measured OD600 of the strain being simulated. With
  ``od_product``, the product is made in proportion to the culture's biomass (OD relative to the
  training mean).
* ``homeostatic_supply``: a supply from the host (a reaction without substrates, e.g. of
  acetyl-CoA) runs at :math:`k_j\,\max(0, 1 - c_p/c^{*}_p)`, faster the further its product lies
  below a learned set point :math:`c^{*}_p` (starting at twice its training maximum), as central
  metabolism refills a pool that a strong pathway drains.
* :math:`\lambda \ge 0` (``first_order_loss``): learned first-order losses, as in the structured
  field.

The stoichiometry, its learned yields, the first-order losses and the conversion from original
units to the scaled states the solver integrates are those of every pathway field
(:class:`~nodebio.models.pathway_field.PathwayField`, shared with the structured field).

Why these defaults
------------------
Chosen by leave-one-strain-out within the training strains only (train on L1, simulate L3 and
back; the same for I1 and I3), mean scaled RMSE over both pathways, folds and three seeds, one
change at a time (:func:`nodebio.experiments.ablation.ablation`, 2-core CPU), in two rounds. The
second is ``python benchmarks/structure_ablation.py --model node-kinetic --seeds 3``; the first
ran the same function on one-change experiments from the former default, two of which (a 1 h
step, learning rate 0.05) are not in the committed grid.

1. From standardized states without losses (8.44): log-scaled states with learned first-order
   losses 8.28; either change alone 8.37; every other option 8.43-8.69 (no flux correction, a
   1 h step, weight decay, a derivative-matching warm start, growth dilution from OD600 with and
   without the product scaled by OD, a larger learning rate).
2. From log-scaled states with losses (8.28): without the learned flux correction :math:`g_j`
   8.25; weight decay and a homeostatic supply 8.29; growth dilution 8.46; the warm start 9.33.

The model-free references score 8.59-8.70 on the same folds. Log-scaled states also keep
concentrations positive through the solver's steps, where a substrate runs out within a step.
The differences are small next to the spread of the folds; the ablation table of the chapter
"Building biology into the model" lists every option, kept or not.

The controls reach this field in original units (``control_scaling="none"``, which the model
``node-kinetic`` of the registry sets); :func:`kinetic_field` refuses other scalings.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from nodebio.data import DataValidationError, PreparedData, Reaction, stoichiometry
from nodebio.models.fields import add_buffer
from nodebio.models.pathway_field import PathwayField, rate_scales_and_yields, reaction_inputs
from nodebio.errors import UsageError

__all__ = ["KineticField", "kinetic_field", "KINETIC_OPTIONS", "growth_rate"]

#: The options of the model ``node-kinetic``: the kinetic field, enzymes in original units, and the
#: three options the inner folds chose (see "Why these defaults" above).
KINETIC_OPTIONS = {"structure": "kinetic"}


def growth_rate(od: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    r""":math:`\max(0, d \ln \mathrm{OD} / dt)` on an even grid: (..., T) from OD (..., T).

    Central differences inside, one-sided at the ends (:func:`numpy.gradient`'s rule); a falling OD
    (lysis, sampling) dilutes nothing, hence the floor at zero. OD at or below zero is an error of
    the data, named by :func:`kinetic_field` before it gets here; it is clamped to 1e-6 here.
    """
    log_od = torch.log(od.clamp(min=1e-6))
    dt = float(times[1] - times[0])
    inner = (log_od[..., 2:] - log_od[..., :-2]) / (2 * dt)
    first = (log_od[..., 1:2] - log_od[..., :1]) / dt
    last = (log_od[..., -1:] - log_od[..., -2:-1]) / dt
    return torch.cat([first, inner, last], dim=-1).clamp(min=0.0)


class KineticField(PathwayField):
    """The enzyme-linear kinetic field (see the module's documentation for the equations).

    Buffers in original units: ``stoichiometry``-derived ``consumption``/``production``
    (n_states, R), ``enzyme_mask`` (R, n_controls), ``substrate_mask`` and ``input_mask``
    (R, n_states), ``control_reference`` (n_controls,), ``rate_scale`` (R,), the state scaler's
    ``state_mean``/``state_scale``, ``substrate_scale`` (n_states,). ``growth`` is the index of the
    OD control (None: no dilution), ``product`` the index of the product state (None: none).
    """

    def __init__(self, n_states: int, n_controls: int, *, stoichiometry, enzyme_mask, input_mask,
                 control_reference, rate_scale, state_mean, state_scale, state_scaling: str = "standardize",
                 substrate_scale, free_yield, initial_log_yield, correction: bool = True,
                 correction_width: int = 8, growth: int | None = None, product: int | None = None,
                 od_product: bool = False, first_order_loss: bool = False, homeostatic_supply: bool = False,
                 supply_set_point=None, reactions: list | None = None):
        super().__init__()
        if correction_width < 1:
            raise UsageError(f"correction_width must be at least 1, got {correction_width}.")
        if od_product and growth is None:
            raise UsageError("od_product needs the OD control: give growth (the index of the OD column).")
        S = torch.as_tensor(stoichiometry, dtype=torch.float32)
        n_reactions = S.shape[1]
        self.n_controls = n_controls
        self._register_pathway(S, state_mean=state_mean, state_scale=state_scale, state_scaling=state_scaling,
                               substrate_scale=substrate_scale, free_yield=free_yield,
                               initial_log_yield=initial_log_yield, first_order_loss=first_order_loss)
        self.correction, self.correction_width = correction, correction_width
        self.growth, self.product, self.od_product = growth, product, od_product
        self.homeostatic_supply = homeostatic_supply
        self.reactions = list(reactions or [])
        add_buffer(self, "enzyme_mask", enzyme_mask, (n_reactions, n_controls))
        add_buffer(self, "input_mask", input_mask, (n_reactions, n_states))
        add_buffer(self, "control_reference", control_reference, (n_controls,))
        add_buffer(self, "rate_scale", rate_scale, (n_reactions,))
        self.register_buffer("substrate_mask", (self.consumption > 0).T.float().clone())
        self.register_buffer("no_enzyme", (self.enzyme_mask.sum(1) == 0).float())
        # a supply (no substrates) and the state it makes: its set point, for homeostatic_supply
        supply = (self.consumption.sum(0) == 0) & (self.production.sum(0) > 0)
        self.register_buffer("supply_mask", (self.production * supply).T.clone())  # (R, n_states)
        set_point = torch.ones(n_states) if supply_set_point is None else torch.as_tensor(
            np.asarray(supply_set_point, dtype=float), dtype=torch.float32)
        self.register_buffer("supply_set_point", set_point.clone())
        self.log_set_point = nn.Parameter(torch.zeros(n_states))
        dilute = torch.ones(n_states)
        if product is not None:
            dilute[product] = 0.0
        self.register_buffer("dilute", dilute)
        # every step starts at a fifth of its rate scale at the training strains' mean enzyme level
        self.log_capacity = nn.Parameter(torch.full((n_reactions,), math.log(0.2)))
        # K = substrate scale: half-saturated at a typical concentration
        self.log_affinity = nn.Parameter(torch.zeros(n_reactions, n_states))
        self.enzyme_logit = nn.Parameter(torch.zeros(n_reactions, n_controls))
        bound = 1.0 / math.sqrt(max(1, n_states))
        self.correction_in = nn.Parameter(torch.empty(n_reactions, correction_width, n_states).uniform_(-bound, bound))
        self.correction_bias = nn.Parameter(torch.zeros(n_reactions, correction_width))
        self.correction_out = nn.Parameter(torch.randn(n_reactions, correction_width) * 1e-3)
        # sigmoid(3) = 0.95: the correction starts as (almost) no correction
        self.correction_out_bias = nn.Parameter(torch.full((n_reactions,), 3.0))
        self._register_losses()
        self._controls = None
        self._grid = None
        self._offsets = None

    # -- controls --------------------------------------------------------------------------------

    def set_controls(self, times: torch.Tensor, controls: torch.Tensor, offsets: torch.Tensor | None = None) -> None:
        """Controls of the batch on an even grid, in original units; with ``growth``, the growth
        rate of the OD column is appended as one more column (computed here, once per solve)."""
        self._check_controls(times, controls)
        if self.growth is not None:
            mu = growth_rate(controls[..., self.growth], times)
            controls = torch.cat([controls, mu.unsqueeze(-1)], dim=-1)
        t0, t1 = float(times[0]), float(times[-1])
        self._grid = (t0, (len(times) - 1) / (t1 - t0), len(times))
        self._controls, self._offsets = controls, offsets
        self.__dict__["_projected_cache"] = None

    def _project(self, controls: torch.Tensor) -> torch.Tensor:
        """Controls relative to the training strains' mean (linear, so interpolating it is exact);
        the growth-rate column, when there is one, is kept as it is (1/h)."""
        scale = 1.0 / self.control_reference
        if self.growth is not None:
            scale = torch.cat([scale, scale.new_ones(1)])
        return controls * scale

    # -- the right-hand side ---------------------------------------------------------------------

    def _weights(self) -> dict:
        """The parameter-only tensors of the rates, computed once per evaluation or per solve."""
        logits = self.enzyme_logit.masked_fill(self.enzyme_mask == 0, -math.inf)
        share = torch.softmax(logits, dim=1).nan_to_num(0.0)  # rows without enzymes: all zero
        weights = {
            "share": share.T,  # (n_controls, R)
            "capacity": self.rate_scale * torch.exp(self.log_capacity),
            "affinity": self.substrate_scale * torch.exp(self.log_affinity),  # (R, n_states)
            **self._shared_weights(),
        }
        if self.correction:
            substrate = self.substrate_mask.unsqueeze(1) > 0  # (R, 1, n_states)
            w_in = torch.where(substrate, self.correction_in.abs(), self.correction_in) * self.input_mask.unsqueeze(1)
            weights["correction"] = (w_in.reshape(-1, self.n_states).T, self.correction_bias.reshape(-1),
                                     self.correction_out.abs(), self.correction_out_bias)
        return weights

    def enzyme_levels(self, projected: torch.Tensor, weights: dict | None = None) -> torch.Tensor:
        """e_j(t) of every reaction (..., R): the weighted harmonic mean of its enzymes' relative
        levels (1 for a reaction without enzymes)."""
        weights = weights if weights is not None else self._weights()
        relative = projected[..., :self.n_controls].clamp(min=1e-6)
        return 1.0 / ((1.0 / relative) @ weights["share"] + self.no_enzyme)

    def _fluxes(self, projected: torch.Tensor, x: torch.Tensor, c: torch.Tensor,
                weights: dict | None = None) -> torch.Tensor:
        weights = weights if weights is not None else self._weights()
        positive = c.clamp(min=0).unsqueeze(-2)  # (..., 1, n_states)
        saturation = positive / (positive + weights["affinity"])  # (..., R, n_states)
        log_mm = (torch.log(saturation.clamp(min=1e-12)) * self.substrate_mask).sum(-1)
        v = weights["capacity"] * self.enzyme_levels(projected, weights) * torch.exp(log_mm)
        if self.homeostatic_supply:  # a supply runs faster the further its product lies below a set point
            set_point = self.supply_set_point * torch.exp(self.log_set_point)
            deficit = (1.0 - c.clamp(min=0) / set_point).clamp(min=0.0)  # (..., n_states)
            has_supply = self.supply_mask.sum(1) > 0
            v = torch.where(has_supply, v * (deficit @ self.supply_mask.T), v)
        if self.correction:
            w_in, b_in, w_out, b_out = weights["correction"]
            h = torch.tanh(x @ w_in + b_in)
            h = h.reshape(*h.shape[:-1], self.n_reactions, self.correction_width)
            v = v * torch.sigmoid((h * w_out).sum(-1) + b_out)
        return v

    def _rates(self, projected: torch.Tensor, x: torch.Tensor, weights: dict | None = None) -> torch.Tensor:
        weights = weights if weights is not None else self._weights()
        c = self.concentrations(x)
        dc = self._fluxes(projected, x, c, weights) @ weights["stoichiometry"]
        if self.growth is not None:
            if self.od_product and self.product is not None:
                od = projected[..., self.growth:self.growth + 1]
                scale = torch.ones_like(dc)
                scale[..., self.product] = od[..., 0]
                dc = dc * scale
            dc = dc - projected[..., -1:] * self.dilute * c.clamp(min=0)
        return self._rates_from(dc, c, weights)

    def fused_rates(self):
        """``(project, rates)`` for the fused integrator, the parameter-only tensors computed once."""
        weights = self._weights()

        def rates(projected: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return self._rates(projected, x, weights)

        return self._project, rates

    def capacities(self) -> torch.Tensor:
        """k_j of every reaction (per hour at the training strains' mean enzyme level)."""
        return (self.rate_scale * torch.exp(self.log_capacity)).detach()

    def config(self) -> dict:
        def plain(tensor):
            return tensor.detach().cpu().tolist()

        return {"kind": "kinetic", "n_states": self.n_states, "n_controls": self.n_controls,
                "stoichiometry": plain(self.production - self.consumption), "enzyme_mask": plain(self.enzyme_mask),
                "input_mask": plain(self.input_mask), "control_reference": plain(self.control_reference),
                "rate_scale": plain(self.rate_scale), "state_mean": plain(self.state_mean),
                "state_scale": plain(self.state_scale), "state_scaling": self.state_scaling,
                "substrate_scale": plain(self.substrate_scale), "free_yield": plain(self.free_yield),
                "initial_log_yield": plain(self.log_yield), "correction": self.correction,
                "correction_width": self.correction_width, "growth": self.growth, "product": self.product,
                "od_product": self.od_product, "first_order_loss": self.first_order_loss,
                "homeostatic_supply": self.homeostatic_supply, "supply_set_point": plain(self.supply_set_point),
                "reactions": self.reactions}


def kinetic_field(prepared: PreparedData, reactions: Sequence[Reaction], *, growth: str | None = None,
                  correction: bool = True, correction_width: int = 8, od_product: bool = False,
                  yields: str = "learned", first_order_loss: bool = False,
                  homeostatic_supply: bool = False) -> KineticField:
    """The kinetic field for these data: stoichiometry, each reaction's enzymes and inputs, and
    scales from the training strains only.

    growth : the name of the optical-density control (e.g. ``"OD600"``; load the data with it among
        the controls) whose growth rate dilutes the intracellular pools; None for no dilution.
    """
    if prepared.control_scaler.method != "none":
        raise UsageError(
            f"The kinetic field needs the enzyme levels in original units, but these data were prepared "
            f"with control_scaling={prepared.control_scaler.method!r}: prepare them with "
            "control_scaling='none' (nodebio.models.prepare_for does this for node-kinetic).")
    states, controls = list(prepared.train.states), list(prepared.train.controls)
    growth_index = _growth_index(growth, controls, prepared)
    S = stoichiometry(reactions, states, controls)
    _, enzyme_mask = reaction_inputs(reactions, states, controls)
    input_mask = np.zeros((len(reactions), len(states)))
    for j, reaction in enumerate(reactions):
        input_mask[j, [states.index(s) for s in dict.fromkeys([*reaction.inputs, *reaction.products])]] = 1.0
    u = prepared.train.u.reshape(-1, len(controls))
    reference = u.mean(axis=0)
    used = enzyme_mask.sum(0) > 0
    bad = [controls[i] for i in np.flatnonzero(used & ~(reference > 0))]
    if bad:
        raise DataValidationError(
            f"The kinetic field divides each enzyme by its mean level in the training strains, and that of "
            f"{', '.join(map(repr, bad))} is not positive: check the column (all zeros or missing?).")
    rate_scale, free, log_yield, sd = rate_scales_and_yields(prepared, reactions, S, yields)
    product = states.index(prepared.dataset.product) if prepared.dataset.product in states else None
    scaler = prepared.state_scaler
    return KineticField(
        len(states), len(controls), stoichiometry=S, enzyme_mask=enzyme_mask, input_mask=input_mask,
        control_reference=np.where(reference > 0, reference, 1.0), rate_scale=rate_scale,
        state_mean=scaler.mean_, state_scale=scaler.scale_, state_scaling=scaler.method, substrate_scale=sd,
        free_yield=free, initial_log_yield=log_yield, correction=correction, correction_width=correction_width,
        growth=growth_index, product=product, od_product=od_product, first_order_loss=first_order_loss,
        homeostatic_supply=homeostatic_supply,
        supply_set_point=2.0 * np.maximum(prepared.train.x.max(axis=(0, 1)), 1e-12),
        reactions=[r.to_dict() for r in reactions])


def _growth_index(growth: str | None, controls: list[str], prepared: PreparedData) -> int | None:
    if growth is None:
        return None
    if growth not in controls:
        raise DataValidationError(
            f"growth={growth!r} names the optical-density column, but the controls are {', '.join(controls)}: "
            f"load the data with {growth!r} among the controls (e.g. "
            f"data.load(pathway, controls=[*data.PATHWAYS[pathway].controls, {growth!r}])), or set growth=None.")
    od = prepared.train.u[..., controls.index(growth)]
    if not (od > 0).all():
        raise DataValidationError(f"The growth column {growth!r} must be positive (an optical density); "
                                  f"its smallest training value is {od.min():g}.")
    return controls.index(growth)
