r"""The pathway-structured vector field: the stoichiometry times non-negative reaction fluxes.

:class:`StructuredField` is the field; :func:`structured_field` builds it for a
:class:`~nodebio.data.PreparedData` from a reaction list (:mod:`nodebio.data.pathways`), with every
scale taken from the training strains only. The model ``node-structured`` of the registry is the
neural ODE with this field and the options :data:`STRUCTURED_OPTIONS`.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from nodebio.data import PreparedData, Reaction, stoichiometry
from nodebio.models.fields import ACTIVATIONS, add_buffer, check_architecture
from nodebio.models.pathway_field import PathwayField, rate_scales_and_yields, reaction_inputs
from nodebio.errors import UsageError

__all__ = ["StructuredField", "structured_field", "STRUCTURED_OPTIONS"]

#: The options of the model ``node-structured``: the structure alone; its defaults are those of
#: :class:`~nodebio.models.options.TrainConfig` (``STRUCTURE_DEFAULTS``). The chapter "Building biology
#: into the model" shows how they were chosen: by leave-one-strain-out within the training strains,
#: where the learned first-order losses did not help, so they are left out.
STRUCTURED_OPTIONS = {"structure": "structured"}


class StructuredField(PathwayField):
    r""":math:`dx/dt = S\,v(x, u(t)) - \lambda \odot x`: a pathway-structured vector field.

    The right-hand side is built in original units (concentrations, per hour),
    :math:`dc/dt = S_{\mathrm{eff}}\, v - \lambda \odot c^{+}`, and converted to the scaled states
    the solver integrates by the chain rule, as every pathway field is
    (:class:`~nodebio.models.pathway_field.PathwayField`).

    Fluxes (shape (B, R), units of the reaction's first substrate per hour, or of its first
    product for a supply): :math:`v_j = r_j\,\mathrm{softplus}(\mathrm{MLP}_j(z_j))`, where
    :math:`z_j` holds only the scaled levels of reaction j's substrates and modifiers and of its
    enzymes, and :math:`r_j` is a fixed rate scale (the largest rate of that substrate in the
    training data). ``flux_form="saturating"`` multiplies the flux by
    :math:`\prod_s c_s^{+}/(c_s^{+} + K_s)` over the substrates (:math:`K_s` the substrate's
    training standard deviation), so that a reaction stops when its substrate runs out.
    ``monotone=True`` uses the absolute values of the weights from enzymes and substrates and of
    all later layers: with a monotone activation, every flux then increases with its enzymes and
    substrates (more enzyme never slows its step down), and modifiers keep free signs.

    Stoichiometry: ``S`` (n_states, R) is data (:func:`nodebio.data.stoichiometry`). Consumption
    uses the coefficients as given; production uses them times a learned positive yield where
    ``free_yield`` is True (all products with ``yields="learned"``; with
    ``yields="stoichiometric"`` only products in other units than the substrate, such as limonene
    in g/L made from IPP/DMAPP in µM). A learned yield absorbs unit changes, compartments
    (intracellular pool to culture titre) and side reactions the lumped step leaks to.

    Losses: :math:`\lambda_i \ge 0` (1/h, learned, one per metabolite, ``first_order_loss``):
    dilution by growth, native consumption and product evaporation, all first order.

    Consequences, by construction: fluxes are non-negative; a metabolite is made only by the
    reactions that list it as a product; an enzyme acts only on the fluxes of the reactions it
    catalyses and hence only on those reactions' substrates and products.
    """

    def __init__(self, n_states: int, n_controls: int, *, stoichiometry, input_states, input_controls,
                 rate_scale, state_mean, state_scale, state_scaling: str = "standardize",
                 substrate_scale=None, free_yield=None, initial_log_yield=None, width: int = 16,
                 depth: int = 2, activation: str = "tanh", flux_form: str = "softplus",
                 first_order_loss: bool = True, monotone: bool = False, reactions: list | None = None):
        super().__init__()
        check_architecture(activation, width, depth)
        if flux_form not in ("softplus", "saturating"):
            raise UsageError(f"flux_form must be 'softplus' or 'saturating', got {flux_form!r}.")
        S = torch.as_tensor(stoichiometry, dtype=torch.float32)
        if S.shape[0] != n_states:
            raise UsageError(f"The stoichiometry has {S.shape[0]} rows, the states are {n_states}.")
        n_reactions = S.shape[1]
        self.n_controls = n_controls
        self._register_pathway(S, state_mean=state_mean, state_scale=state_scale, state_scaling=state_scaling,
                               substrate_scale=substrate_scale, free_yield=free_yield,
                               initial_log_yield=initial_log_yield, first_order_loss=first_order_loss)
        self.width, self.depth, self.activation = width, depth, activation
        self.flux_form, self.monotone = flux_form, monotone
        self.use_time = False
        self.reactions = list(reactions or [])
        self.act = ACTIVATIONS[activation]
        add_buffer(self, "state_mask", input_states, (n_reactions, n_states))
        add_buffer(self, "control_mask", input_controls, (n_reactions, n_controls))
        add_buffer(self, "rate_scale", rate_scale, (n_reactions,))

        bound = 1.0 / math.sqrt(max(1, n_states + n_controls))
        self.input_states = nn.Parameter(torch.empty(n_reactions, width, n_states).uniform_(-bound, bound))
        self.input_controls = nn.Parameter(torch.empty(n_reactions, width, n_controls).uniform_(-bound, bound))
        self.input_bias = nn.Parameter(torch.empty(n_reactions, width).uniform_(-bound, bound))
        hb = 1.0 / math.sqrt(width)
        self.hidden_weights = nn.ParameterList(
            nn.Parameter(torch.empty(n_reactions, width, width).uniform_(-hb, hb)) for _ in range(depth - 1))
        self.hidden_biases = nn.ParameterList(
            nn.Parameter(torch.empty(n_reactions, width).uniform_(-hb, hb)) for _ in range(depth - 1))
        self.output_weight = nn.Parameter(torch.randn(n_reactions, width) * 1e-3)
        # softplus(-2.25) = 0.1: every flux starts at a tenth of its rate scale.
        self.output_bias = nn.Parameter(torch.full((n_reactions,), -2.25))
        self._register_losses()
        self._controls: torch.Tensor | None = None
        self._grid: tuple[float, float, int] | None = None
        self._offsets: torch.Tensor | None = None

    # The masks are applied at every use, so a weight outside a reaction's inputs never matters
    # (its gradient is zero too).
    def _positive(self, weight: torch.Tensor) -> torch.Tensor:
        """A weight as used: its absolute value for monotone fluxes, itself otherwise."""
        return weight.abs() if self.monotone else weight

    def _state_weight(self) -> torch.Tensor:
        weight = self.input_states
        if self.monotone:  # increasing in the substrates; modifiers keep their sign (inhibition)
            substrate = (self.consumption > 0).T.unsqueeze(1)  # (R, 1, n_states)
            weight = torch.where(substrate, weight.abs(), weight)
        return (weight * self.state_mask.unsqueeze(1)).reshape(-1, self.n_states)

    def set_controls(self, times: torch.Tensor, controls: torch.Tensor, offsets: torch.Tensor | None = None) -> None:
        """Controls of the batch on an even grid; as :meth:`VectorField.set_controls`."""
        self._set_controls(times, controls, offsets)

    def _project(self, controls: torch.Tensor) -> torch.Tensor:
        """(..., n_controls) -> (..., R*w): each reaction's enzymes through its first layer."""
        weight = (self._positive(self.input_controls) * self.control_mask.unsqueeze(1)).reshape(-1, self.n_controls)
        return F.linear(controls, weight, self.input_bias.reshape(-1))

    def _weights(self) -> dict:
        """Every tensor the fluxes and rates take from the parameters (masks, signs, yields, losses):
        computed once per evaluation, or once per solve by the fused integrator."""
        weights = {
            "state": self._state_weight().t(),
            "hidden": [(self._positive(w), b) for w, b in zip(self.hidden_weights, self.hidden_biases)],
            "output": self._positive(self.output_weight),
            **self._shared_weights(),
        }
        if self.flux_form == "saturating":
            weights["substrates"] = (self.consumption > 0).to(self.output_weight.dtype)
        return weights

    def _fluxes(self, pre: torch.Tensor, x: torch.Tensor, c: torch.Tensor, weights: dict | None = None) -> torch.Tensor:
        """Fluxes (..., R) from the control part of the first layer (..., R*w) and the states."""
        weights = weights if weights is not None else self._weights()
        h = pre + x @ weights["state"]
        h = self.act(h.reshape(*h.shape[:-1], self.n_reactions, self.width))
        for weight, bias in weights["hidden"]:
            h = self.act(torch.einsum("...rw,rvw->...rv", h, weight) + bias)
        v = self.rate_scale * F.softplus((h * weights["output"]).sum(-1) + self.output_bias)
        if self.flux_form == "saturating":
            positive = c.clamp(min=0)
            saturation = positive / (positive + self.substrate_scale)  # (..., n_states)
            # product over each reaction's substrates: exp(sum log) with the consumption pattern
            v = v * torch.exp(torch.log(saturation.clamp(min=1e-12)) @ weights["substrates"])
        return v

    def fused_rates(self):
        """``(project, rates)`` for the fused integrator (see
        ``ControlledField.fused_rates``), the parameter-only tensors
        computed once."""
        weights = self._weights()
        control_weight = (self._positive(self.input_controls) * self.control_mask.unsqueeze(1)).reshape(
            -1, self.n_controls)
        bias = self.input_bias.reshape(-1)

        def project(inputs: torch.Tensor) -> torch.Tensor:
            return F.linear(inputs, control_weight, bias)

        def rates(projected: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return self._rates(projected, x, weights)

        return project, rates

    def config(self) -> dict:
        def plain(tensor):
            return tensor.detach().cpu().tolist()

        S = self.production - self.consumption
        return {"kind": "structured", "n_states": self.n_states, "n_controls": self.n_controls,
                "stoichiometry": plain(S), "input_states": plain(self.state_mask),
                "input_controls": plain(self.control_mask), "rate_scale": plain(self.rate_scale),
                "state_mean": plain(self.state_mean), "state_scale": plain(self.state_scale),
                "state_scaling": self.state_scaling, "substrate_scale": plain(self.substrate_scale),
                "free_yield": plain(self.free_yield), "width": self.width, "depth": self.depth,
                "activation": self.activation, "flux_form": self.flux_form,
                "first_order_loss": self.first_order_loss, "monotone": self.monotone, "reactions": self.reactions}



def structured_field(prepared: PreparedData, reactions: Sequence[Reaction], *, width: int = 16, depth: int = 2,
                     activation: str = "tanh", flux_form: str = "softplus", yields: str = "learned",
                     first_order_loss: bool = True, monotone: bool = False) -> StructuredField:
    """The pathway-structured field for these data: the stoichiometry, each reaction's inputs, and
    scales taken from the training strains only.

    Rate scale of a reaction: the largest rate of change of its first substrate (of its product,
    for a supply) in the training data. Yields start where consuming one standard deviation of
    substrate makes one standard deviation of product; ``yields="stoichiometric"`` keeps the
    coefficients of products in the substrate's units fixed.
    """
    states, controls = list(prepared.train.states), list(prepared.train.controls)
    S = stoichiometry(reactions, states, controls)
    input_states, input_controls = reaction_inputs(reactions, states, controls)
    rate_scale, free, log_yield, sd = rate_scales_and_yields(prepared, reactions, S, yields)
    scaler = prepared.state_scaler
    return StructuredField(
        len(states), len(controls), stoichiometry=S, input_states=input_states, input_controls=input_controls,
        rate_scale=rate_scale, state_mean=scaler.mean_, state_scale=scaler.scale_, state_scaling=scaler.method,
        substrate_scale=sd, free_yield=free, initial_log_yield=log_yield, width=width, depth=depth,
        activation=activation, flux_form=flux_form, first_order_loss=first_order_loss, monotone=monotone,
        reactions=[r.to_dict() for r in reactions])
