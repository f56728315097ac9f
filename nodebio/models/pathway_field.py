r"""What the structured and the kinetic fields share: a right-hand side built from a reaction list.

:class:`PathwayField` is the base of :class:`~nodebio.models.structured.StructuredField` and
:class:`~nodebio.models.kinetic_field.KineticField`. A subclass computes the reaction fluxes
:math:`v` (``_fluxes``); the base turns them into rates, in original units and then in the scaled
states the solver integrates, by the chain rule:

.. math::

    \frac{dc}{dt} = S_{\mathrm{eff}}\, v - \lambda \odot c^{+}, \qquad
    \frac{dx}{dt} = \frac{dc}{dt} \Big/ \frac{dc}{dx},

with :math:`c` the concentrations in original units and :math:`x` the scaled states:
:math:`c = \mu + \sigma x` for ``"standardize"`` (so :math:`dc/dx = \sigma`),
:math:`c = \exp(\mu + \sigma x) - 1` for ``"log1p"`` (:math:`dc/dx = \sigma (1 + c)`), and
:math:`c = x` for ``"none"`` (:func:`concentrations`, the one place of that conversion).
Working in original units keeps the stoichiometry meaningful: a flux that consumes one µM of
HMG-CoA makes one µM of mevalonate, whatever the scaling.

:math:`S_{\mathrm{eff}}` is the stoichiometry with learned positive yields on the products
(``free_yield``); :math:`\lambda \ge 0` are learned first-order losses (``first_order_loss``).
:func:`reaction_inputs` and :func:`rate_scales_and_yields` derive a field's masks and scales from
a reaction list and the training strains.

The import graph has no circle: :mod:`~nodebio.models.fields` (the controls on a grid, the plain
MLP field) <- this module <- the structured and kinetic fields <-
:mod:`~nodebio.models.field_kinds` (:func:`~nodebio.models.field_kinds.make_field`, a field from
its saved ``config()``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nodebio.data import PreparedData, Reaction
from nodebio.errors import UsageError
from nodebio.models.fields import ControlledField, add_buffer

__all__ = ["SCALINGS", "PathwayField", "concentrations", "reaction_inputs", "rate_scales_and_yields"]

#: The state scalings a pathway field converts from (:mod:`nodebio.data.preprocess`).
SCALINGS = ("standardize", "log1p", "none")


def concentrations(x: torch.Tensor, mean: torch.Tensor, scale: torch.Tensor, scaling: str) -> torch.Tensor:
    """Scaled states (..., n_states) -> concentrations in original units, for a state scaler with
    ``mean``, ``scale`` and method ``scaling`` (one of :data:`SCALINGS`)."""
    if scaling == "none":
        return x
    y = x * scale + mean
    return torch.expm1(y) if scaling == "log1p" else y


class PathwayField(ControlledField):
    """Rates from reaction fluxes: stoichiometry, yields, losses and the unit conversion (see the
    module docstring). Subclasses register their buffers with ``_register_pathway`` and define
    ``_fluxes(projected, x, c, weights)`` and ``_weights()`` (which includes ``_shared_weights()``)."""

    n_states: int
    n_reactions: int
    state_scaling: str
    first_order_loss: bool

    def _register_pathway(self, S: torch.Tensor, *, state_mean, state_scale, state_scaling: str, substrate_scale,
                          free_yield, initial_log_yield, first_order_loss: bool) -> None:
        """The buffers and parameters every pathway field has, from the stoichiometry ``S``
        (n_states, R) and the state scaler."""
        if state_scaling not in SCALINGS:
            raise UsageError(f"Unknown state scaling {state_scaling!r}; use one of {', '.join(SCALINGS)}.")
        n_states, n_reactions = S.shape
        self.n_states, self.n_reactions = n_states, n_reactions
        self.state_scaling, self.first_order_loss = state_scaling, first_order_loss
        add_buffer(self, "consumption", (-S).clamp(min=0), (n_states, n_reactions))
        add_buffer(self, "production", S.clamp(min=0), (n_states, n_reactions))
        add_buffer(self, "state_mean", state_mean, (n_states,))
        add_buffer(self, "state_scale", state_scale, (n_states,))
        add_buffer(self, "substrate_scale", substrate_scale if substrate_scale is not None else state_scale,
                   (n_states,))
        add_buffer(self, "free_yield", free_yield if free_yield is not None else (S > 0), (n_states, n_reactions))
        log_yield = torch.zeros(n_states, n_reactions) if initial_log_yield is None else torch.as_tensor(
            np.asarray(initial_log_yield, dtype=float), dtype=torch.float32)
        self.log_yield = nn.Parameter(log_yield.clone() * self.free_yield)

    def _register_losses(self) -> None:
        """The learned first-order losses (registered last, after a subclass's own parameters)."""
        # softplus(-2.25) * 0.1 = 0.01 / h: slow losses to start with.
        self.loss_logit = nn.Parameter(torch.full((self.n_states,), -2.25))

    def concentrations(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled states (..., n_states) -> concentrations in original units."""
        return concentrations(x, self.state_mean, self.state_scale, self.state_scaling)

    def _stoichiometry(self) -> torch.Tensor:
        """The stoichiometry with the learned yields, (n_states, R), original units."""
        return self.production * torch.exp(self.log_yield * self.free_yield) - self.consumption

    def _shared_weights(self) -> dict:
        """The parameter-only tensors every pathway field's rates need: the effective
        stoichiometry (R, n_states) and the loss rates (or None)."""
        return {"stoichiometry": self._stoichiometry().T,
                "losses": 0.1 * F.softplus(self.loss_logit) if self.first_order_loss else None}

    def _rates_from(self, dc: torch.Tensor, c: torch.Tensor, weights: dict) -> torch.Tensor:
        """dc/dt (original units) less the first-order losses, converted to dx/dt of the scaled states."""
        if weights["losses"] is not None:
            dc = dc - weights["losses"] * c.clamp(min=0)
        if self.state_scaling == "standardize":
            return dc / self.state_scale
        if self.state_scaling == "log1p":
            return dc / (self.state_scale * (1.0 + c))
        return dc

    def _rates(self, projected: torch.Tensor, x: torch.Tensor, weights: dict | None = None) -> torch.Tensor:
        weights = weights if weights is not None else self._weights()
        c = self.concentrations(x)
        return self._rates_from(self._fluxes(projected, x, c, weights) @ weights["stoichiometry"], c, weights)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self._rates(self._projected_at(t), x)

    def rates_on_grid(self, states: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
        """dx/dt (scaled units per hour) at every point of the control grid: (B, T, n_states)."""
        self._check_grid(states)
        return self._rates(self._projected, states)

    def fluxes_on_grid(self, states: torch.Tensor) -> torch.Tensor:
        """Reaction fluxes (B, T, R) at every point of the control grid, original units per hour."""
        self._check_grid(states)
        return self._fluxes(self._projected, states, self.concentrations(states))

    def effective_stoichiometry(self) -> torch.Tensor:
        """The stoichiometry with the learned yields, (n_states, R), original units."""
        return self._stoichiometry().detach()

    def loss_rates(self) -> torch.Tensor:
        """The first-order loss rate of each metabolite (1/h); zeros without losses."""
        rates = 0.1 * F.softplus(self.loss_logit).detach()
        return rates if self.first_order_loss else torch.zeros_like(rates)


def reaction_inputs(reactions: Sequence[Reaction], states: Sequence[str],
                    controls: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Masks (R, n_states) and (R, n_controls): 1 where a reaction's flux sees a state (its
    substrates and modifiers) or a control (its enzymes)."""
    states, controls = list(states), list(controls)
    input_states = np.zeros((len(reactions), len(states)))
    input_controls = np.zeros((len(reactions), len(controls)))
    for j, reaction in enumerate(reactions):
        input_states[j, [states.index(s) for s in reaction.inputs]] = 1.0
        input_controls[j, [controls.index(e) for e in reaction.enzymes]] = 1.0
    return input_states, input_controls


def rate_scales_and_yields(prepared: PreparedData, reactions: Sequence[Reaction], S: np.ndarray,
                           yields: str = "learned") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(rate scale per reaction, free-yield mask, initial log yields, each state's sd), from the
    training strains in original units.

    Rate scale of a reaction: the largest rate of change of its first substrate (of its product,
    for a supply) in the training data. Yields start where consuming one standard deviation of
    substrate makes one standard deviation of product; ``yields="stoichiometric"`` keeps the
    coefficients of products in the substrate's units fixed.
    """
    states = list(prepared.train.states)
    x = prepared.train.x  # (strains, times, states), original units
    sd = np.maximum(x.reshape(-1, len(states)).std(0), 1e-12)
    dt = float(prepared.train.times[1] - prepared.train.times[0])
    max_rate = np.maximum(np.abs(np.diff(x, axis=1)).max(axis=(0, 1)) / dt, 1e-12)
    rate_scale, free, log_yield = np.zeros(len(reactions)), np.zeros_like(S), np.zeros_like(S)
    units = prepared.dataset.units
    for j, reaction in enumerate(reactions):
        reference = next(iter(reaction.substrates or reaction.products))
        r = states.index(reference)
        rate_scale[j] = max_rate[r]
        if not reaction.substrates:
            continue  # a supply's flux is in units of its product: nothing to convert
        for product, coefficient in reaction.products.items():
            i = states.index(product)
            same_units = units.get(product) is not None and units.get(product) == units.get(reference)
            free[i, j] = 1.0 if yields == "learned" or not same_units else 0.0
            c_sub = reaction.substrates[reference]
            log_yield[i, j] = np.log(c_sub * sd[i] / (coefficient * sd[r])) if free[i, j] else 0.0
    return rate_scale, free, log_yield, sd
