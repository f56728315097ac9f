r"""The neural ODE: :math:`dx/dt = f_\theta(x, u(t))`, integrated with torchdiffeq.

States :math:`x` are the scaled metabolite concentrations, controls :math:`u(t)` the scaled
protein levels of the strain being simulated, interpolated linearly in time between the points
of the even grid (:func:`nodebio.data.resample`). The vector field is an MLP over
:math:`[x, u(t)]` (and the time, when ``use_time``); :func:`integrate` solves it with
``torchdiffeq.odeint`` for a batch of strains (or of time windows) in one call.

Two fields share that interface (``set_controls``, ``forward``, ``config``):
:class:`VectorField`, an MLP over all states and controls, and :class:`StructuredField`, the
pathway-structured field whose right-hand side is the stoichiometry times non-negative reaction
fluxes (``TrainConfig(structure="pathway")``); :func:`make_field` rebuilds either from its
``config()``.

Why these defaults
------------------
* ``tanh`` activations: a smooth field keeps adaptive solvers efficient and trajectories smooth
  (a ReLU field has kinks that adaptive step control has to resolve).
* width 64, depth 2: the field maps 10-15 inputs to 6 outputs; with two training strains, bigger
  networks only fit the training strains more closely (see the chapter's discussion).
* no time input: the same enzyme levels and concentrations should give the same rates at 10 h
  and at 50 h; a clock input lets the model memorise the training trajectories instead.
* fixed-step ``rk4`` with a 2 h step for training (four evaluations per step): half the cost of
  a 1 h step for the same training loss, measured on the limonene strains; adaptive ``dopri5``
  is available for checking that the step does not matter.

Cost
----
The first layer is split, :math:`W_1[x; u] = W_x x + W_u u`, and :math:`W_u u + b_1` is computed
once per solve on the grid: interpolating it in time is exact (interpolation is linear), so each
evaluation of the field costs one small matrix product less and no interpolation of the
controls themselves.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ACTIVATIONS",
    "SOLVERS",
    "VectorField",
    "StructuredField",
    "make_field",
    "integrate",
    "negative_penalty",
    "derivative_penalty",
    "rates_on_grid",
    "SolverError",
]

ACTIVATIONS = {"tanh": torch.tanh, "softplus": F.softplus, "silu": F.silu, "elu": F.elu, "relu": F.relu}
#: Solvers of torchdiffeq the package accepts: fixed-step ones need ``step_size``.
FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
SOLVERS = FIXED_STEP + ADAPTIVE


class SolverError(RuntimeError):
    """The ODE solver failed (step size underflow, too many steps) or produced NaN/inf."""


class VectorField(nn.Module):
    """:math:`f_\\theta(x, u(t))`: an MLP whose controls are a batched piecewise-linear signal.

    Call :meth:`set_controls` with the controls of the batch before solving; ``forward(t, x)``
    then evaluates the field at time ``t`` (h) for states ``x`` of shape (B, n_states).
    """

    def __init__(self, n_states: int, n_controls: int, width: int = 64, depth: int = 2,
                 activation: str = "tanh", use_time: bool = False):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}.")
        self.n_states, self.n_controls = n_states, n_controls
        self.width, self.depth, self.activation, self.use_time = width, depth, activation, use_time
        self.act = ACTIVATIONS[activation]
        first = nn.Linear(n_states + n_controls + int(use_time), width)
        self.input_states = nn.Parameter(first.weight[:, :n_states].detach().clone())
        self.input_controls = nn.Parameter(first.weight[:, n_states:n_states + n_controls].detach().clone())
        self.input_time = nn.Parameter(first.weight[:, n_states + n_controls:].detach().clone()) if use_time else None
        self.input_bias = nn.Parameter(first.bias.detach().clone())
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth - 1))
        self.output = nn.Linear(width, n_states)
        # Start near dx/dt = 0: the first solves stay in range and training starts from "nothing
        # changes", not from a random field.
        nn.init.normal_(self.output.weight, std=1e-3)
        nn.init.zeros_(self.output.bias)
        self._projected: torch.Tensor | None = None
        self._grid: tuple[float, float, int] | None = None
        self._offsets: torch.Tensor | None = None

    def set_controls(self, times: torch.Tensor, controls: torch.Tensor,
                     offsets: torch.Tensor | None = None) -> None:
        """Controls of the batch on an even grid.

        times : (T,) even grid in hours, starting where the solve starts.
        controls : (B, T, n_controls) scaled controls.
        offsets : (B,) absolute time (h) of the grid's start for each batch member; only used by
            the time input (windows that start later in the experiment).
        """
        if controls.shape[-1] != self.n_controls:
            raise ValueError(f"Expected {self.n_controls} controls, got {controls.shape[-1]}.")
        if controls.shape[-2] != times.shape[0]:
            raise ValueError(f"controls have {controls.shape[-2]} times, the grid {times.shape[0]}.")
        t0, t1 = float(times[0]), float(times[-1])
        self._grid = (t0, (len(times) - 1) / (t1 - t0), len(times))
        self._projected = F.linear(controls, self.input_controls, self.input_bias)
        self._offsets = offsets
        # Plain references for forward(), which runs thousands of times per solve: attribute
        # lookups through nn.Module cost more than the arithmetic of this small network.
        self.__dict__["_rows"] = self._projected.unbind(1)
        self.__dict__["_layers"] = [(layer.weight, layer.bias) for layer in self.hidden]

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self._projected is None:
            raise RuntimeError("Call set_controls() before evaluating the vector field.")
        t0, inv_dt, n = self._grid
        position = (float(t.detach()) - t0) * inv_dt
        k = min(max(int(position), 0), n - 2)
        w = min(max(position - k, 0.0), 1.0)
        rows = self._rows
        h = torch.lerp(rows[k], rows[k + 1], w) + F.linear(x, self.input_states)
        if self.use_time:
            clock = t + (self._offsets if self._offsets is not None else torch.zeros(len(x), device=x.device, dtype=x.dtype))
            h = h + F.linear(clock.reshape(-1, 1) / 72.0, self.input_time)
        act = self.act
        h = act(h)
        for weight, bias in self._layers:
            h = act(F.linear(h, weight, bias))
        return F.linear(h, self.output.weight, self.output.bias)

    def config(self) -> dict:
        return {"n_states": self.n_states, "n_controls": self.n_controls, "width": self.width,
                "depth": self.depth, "activation": self.activation, "use_time": self.use_time}


class StructuredField(nn.Module):
    r""":math:`dx/dt = S\,v(x, u(t)) - \lambda \odot x`: a pathway-structured vector field.

    The right-hand side is built in original units (concentrations, per hour) and converted to
    the scaled states the solver integrates by the chain rule:

    .. math::

        \frac{dc}{dt} = S_{\mathrm{eff}}\, v - \lambda \odot c^{+}, \qquad
        \frac{dx}{dt} = \frac{dc}{dt} \Big/ \frac{dc}{dx},

    with :math:`c` the concentrations in original units and :math:`x` the scaled states:
    :math:`c = \mu + \sigma x` for ``"standardize"`` (so :math:`dc/dx = \sigma`),
    :math:`c = \exp(\mu + \sigma x) - 1` for ``"log1p"`` (:math:`dc/dx = \sigma (1 + c)`), and
    :math:`c = x` for ``"none"``. Working in original units keeps the stoichiometry meaningful:
    a flux that consumes one µM of HMG-CoA makes one µM of mevalonate, whatever the scaling.

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
        if activation not in ACTIVATIONS:
            raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
        if depth < 1 or width < 1:
            raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}.")
        if flux_form not in ("softplus", "saturating"):
            raise ValueError(f"flux_form must be 'softplus' or 'saturating', got {flux_form!r}.")
        if state_scaling not in ("standardize", "log1p", "none"):
            raise ValueError(f"Unknown state scaling {state_scaling!r}.")
        S = torch.as_tensor(stoichiometry, dtype=torch.float32)
        if S.shape[0] != n_states:
            raise ValueError(f"The stoichiometry has {S.shape[0]} rows, the states are {n_states}.")
        n_reactions = S.shape[1]
        self.n_states, self.n_controls, self.n_reactions = n_states, n_controls, n_reactions
        self.width, self.depth, self.activation = width, depth, activation
        self.flux_form, self.first_order_loss, self.state_scaling = flux_form, first_order_loss, state_scaling
        self.monotone = monotone
        self.use_time = False
        self.reactions = list(reactions or [])
        self.act = ACTIVATIONS[activation]

        def buffer(name, values, shape):
            tensor = torch.as_tensor(values, dtype=torch.float32).clone()
            if tuple(tensor.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(tensor.shape)}.")
            self.register_buffer(name, tensor)

        buffer("consumption", (-S).clamp(min=0), (n_states, n_reactions))
        buffer("production", S.clamp(min=0), (n_states, n_reactions))
        buffer("state_mask", input_states, (n_reactions, n_states))
        buffer("control_mask", input_controls, (n_reactions, n_controls))
        buffer("rate_scale", rate_scale, (n_reactions,))
        buffer("state_mean", state_mean, (n_states,))
        buffer("state_scale", state_scale, (n_states,))
        buffer("substrate_scale", substrate_scale if substrate_scale is not None else state_scale, (n_states,))
        buffer("free_yield", free_yield if free_yield is not None else (S > 0), (n_states, n_reactions))
        log_yield = torch.zeros(n_states, n_reactions) if initial_log_yield is None else torch.as_tensor(
            initial_log_yield, dtype=torch.float32)
        self.log_yield = nn.Parameter(log_yield.clone() * self.free_yield)

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
        # softplus(-2.25) * 0.1 = 0.01 / h: slow losses to start with.
        self.loss_logit = nn.Parameter(torch.full((n_states,), -2.25))
        self._projected: torch.Tensor | None = None
        self._grid: tuple[float, float, int] | None = None

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
        if controls.shape[-1] != self.n_controls:
            raise ValueError(f"Expected {self.n_controls} controls, got {controls.shape[-1]}.")
        if controls.shape[-2] != times.shape[0]:
            raise ValueError(f"controls have {controls.shape[-2]} times, the grid {times.shape[0]}.")
        t0, t1 = float(times[0]), float(times[-1])
        self._grid = (t0, (len(times) - 1) / (t1 - t0), len(times))
        weight = (self._positive(self.input_controls) * self.control_mask.unsqueeze(1)).reshape(-1, self.n_controls)
        self._projected = F.linear(controls, weight, self.input_bias.reshape(-1))  # (B, T, R*w)
        self.__dict__["_rows"] = self._projected.unbind(1)

    def concentrations(self, x: torch.Tensor) -> torch.Tensor:
        """Scaled states (..., n_states) -> concentrations in original units."""
        y = x * self.state_scale + self.state_mean
        return torch.expm1(y) if self.state_scaling == "log1p" else (x if self.state_scaling == "none" else y)

    def _fluxes(self, pre: torch.Tensor, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Fluxes (..., R) from the control part of the first layer (..., R*w) and the states."""
        h = pre + F.linear(x, self._state_weight())
        h = self.act(h.reshape(*h.shape[:-1], self.n_reactions, self.width))
        for weight, bias in zip(self.hidden_weights, self.hidden_biases):
            h = self.act(torch.einsum("...rw,rvw->...rv", h, self._positive(weight)) + bias)
        v = self.rate_scale * F.softplus((h * self._positive(self.output_weight)).sum(-1) + self.output_bias)
        if self.flux_form == "saturating":
            positive = c.clamp(min=0)
            saturation = positive / (positive + self.substrate_scale)  # (..., n_states)
            # product over each reaction's substrates: exp(sum log) with the consumption pattern
            v = v * torch.exp(torch.log(saturation.clamp(min=1e-12)) @ (self.consumption > 0).to(v.dtype))
        return v

    def _rates(self, pre: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        c = self.concentrations(x)
        v = self._fluxes(pre, x, c)
        stoich = self.production * torch.exp(self.log_yield * self.free_yield) - self.consumption
        dc = v @ stoich.T
        if self.first_order_loss:
            dc = dc - 0.1 * F.softplus(self.loss_logit) * c.clamp(min=0)
        if self.state_scaling == "standardize":
            return dc / self.state_scale
        if self.state_scaling == "log1p":
            return dc / (self.state_scale * (1.0 + c))
        return dc

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self._projected is None:
            raise RuntimeError("Call set_controls() before evaluating the vector field.")
        t0, inv_dt, n = self._grid
        position = (float(t.detach()) - t0) * inv_dt
        k = min(max(int(position), 0), n - 2)
        w = min(max(position - k, 0.0), 1.0)
        rows = self._rows
        return self._rates(torch.lerp(rows[k], rows[k + 1], w), x)

    def _check_grid(self, states: torch.Tensor) -> None:
        if self._projected is None or self._projected.shape[:2] != states.shape[:2]:
            raise ValueError("states must lie on the grid of the controls set last (same batch and times).")

    def rates_on_grid(self, states: torch.Tensor) -> torch.Tensor:
        """dx/dt (scaled units per hour) at every point of the control grid: (B, T, n_states)."""
        self._check_grid(states)
        return self._rates(self._projected, states)

    def fluxes_on_grid(self, states: torch.Tensor) -> torch.Tensor:
        """Reaction fluxes (B, T, R) at every point of the control grid, original units per hour."""
        self._check_grid(states)
        return self._fluxes(self._projected, states, self.concentrations(states))

    def effective_stoichiometry(self) -> torch.Tensor:
        """The stoichiometry with the learned yields, (n_states, R), original units."""
        return (self.production * torch.exp(self.log_yield * self.free_yield) - self.consumption).detach()

    def loss_rates(self) -> torch.Tensor:
        """The first-order loss rate of each metabolite (1/h); zeros without losses."""
        rates = 0.1 * F.softplus(self.loss_logit).detach()
        return rates if self.first_order_loss else torch.zeros_like(rates)

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


def make_field(config: dict) -> nn.Module:
    """A vector field from the ``config()`` of one (checkpoints): plain or structured."""
    config = dict(config)
    if config.pop("kind", "mlp") == "structured":
        return StructuredField(**config)
    return VectorField(**config)


def integrate(field: VectorField, x0: torch.Tensor, times: torch.Tensor, controls: torch.Tensor, *,
              solver: str = "rk4", step_size: float | None = 2.0, rtol: float = 1e-4, atol: float = 1e-5,
              adjoint: bool = False, offsets: torch.Tensor | None = None,
              max_steps: int = 10_000) -> torch.Tensor:
    """Solve the neural ODE for a batch: returns states (B, T, n_states) at ``times``.

    x0 : (B, n_states) initial scaled states. times : (T,) even grid (h). controls : (B, T,
    n_controls) scaled controls on that grid. ``solver`` is any of :data:`SOLVERS`
    (torchdiffeq's names); ``step_size`` (h) is used by the fixed-step ones, ``rtol``/``atol``
    and ``max_steps`` by the adaptive ones. ``adjoint`` backpropagates with the adjoint method
    (memory O(1) in the number of steps, slower).

    Raises :class:`SolverError` when the solver fails or the solution is not finite.
    """
    import torchdiffeq

    if solver not in SOLVERS:
        raise ValueError(f"Unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    field.set_controls(times, controls, offsets)
    if solver in FIXED_STEP:
        if step_size is None or step_size <= 0:
            raise ValueError(f"The fixed-step solver {solver!r} needs a positive step_size (h).")
        options = {"step_size": float(step_size)}
    else:
        options = {"max_num_steps": max_steps}
    odeint = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    kwargs = {"adjoint_params": tuple(field.parameters())} if adjoint else {}
    # A fixed-step solver returns the solution at times between its steps by linear
    # interpolation, one output at a time. Asking it for its own steps only and interpolating
    # all outputs at once gives the same numbers for a fraction of the cost.
    steps = _solver_steps(times, float(step_size)) if solver in FIXED_STEP else times
    try:
        solution = odeint(field, x0, steps, method=solver, rtol=rtol, atol=atol, options=options, **kwargs)
    except AssertionError as error:  # torchdiffeq signals underflow / too many steps this way
        raise SolverError(f"The {solver} solver failed: {error}") from error
    if steps is not times:
        solution = _interpolate(steps, solution, times)
    if not torch.isfinite(solution).all():
        raise SolverError(f"The {solver} solution contains NaN or inf values (the field diverged).")
    return solution.transpose(0, 1)


def _solver_steps(times: torch.Tensor, step_size: float) -> torch.Tensor:
    """The time grid torchdiffeq's fixed-step solvers step on (same construction)."""
    start, end = times[0], times[-1]
    n = int(torch.ceil((end - start) / step_size + 1).item())
    grid = torch.arange(0, n, dtype=times.dtype, device=times.device) * step_size + start
    grid[-1] = end
    return grid


def _interpolate(grid: torch.Tensor, values: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Linear interpolation in time of values (len(grid), ...) at ``times`` (sorted, within grid)."""
    index = torch.searchsorted(grid, times, right=True).clamp(1, len(grid) - 1)
    t0, t1 = grid[index - 1], grid[index]
    weight = ((times - t0) / (t1 - t0)).reshape(-1, *([1] * (values.dim() - 1)))
    return torch.lerp(values[index - 1], values[index], weight)


def negative_penalty(x_original: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean squared negative part of concentrations in original units, per feature scale.

    x_original : (..., n) predicted concentrations in original units; scale : (n,) a typical
    size of each feature (its training standard deviation), so that every metabolite counts alike.
    """
    return (F.relu(-x_original) / scale).pow(2).mean()


def derivative_penalty(dxdt: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
    """Mean squared excess of |dx/dt| (scaled units per hour) over a per-feature ``limit``."""
    return F.relu(dxdt.abs() - limit).pow(2).mean()


def rates_on_grid(field: VectorField, states: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
    """dx/dt of ``field`` at every point of the control grid at once.

    states : (B, T, n_states) on the grid passed to :meth:`VectorField.set_controls` (same B, T);
    times : (T,) that grid, needed only by a field with a time input. Returns (B, T, n_states).
    """
    if isinstance(field, StructuredField):
        return field.rates_on_grid(states)
    if field._projected is None or field._projected.shape[:2] != states.shape[:2]:
        raise ValueError("states must lie on the grid of the controls set last (same batch and times).")
    h = field._projected + F.linear(states, field.input_states)
    if field.use_time:
        offsets = field._offsets if field._offsets is not None else torch.zeros(len(states), device=states.device, dtype=states.dtype)
        clock = times.reshape(1, -1) + offsets.reshape(-1, 1)
        h = h + F.linear(clock.unsqueeze(-1) / 72.0, field.input_time)
    h = field.act(h)
    for layer in field.hidden:
        h = field.act(layer(h))
    return field.output(h)


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def check_names(expected: Sequence[str], got: Sequence[str], what: str) -> None:
    """Raise ValueError naming the difference between two lists of feature names."""
    if tuple(expected) != tuple(got):
        missing = [n for n in expected if n not in got]
        extra = [n for n in got if n not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append(f"same names in another order ({', '.join(got)} instead of {', '.join(expected)})")
        raise ValueError(f"The {what} do not match the model's: {'; '.join(detail)}.")
