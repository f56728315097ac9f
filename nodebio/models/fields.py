r"""The neural ODE: :math:`dx/dt = f_\theta(x, u(t))`: the controls on a grid and the plain MLP field.

States :math:`x` are the scaled metabolite concentrations, controls :math:`u(t)` the scaled
protein levels of the strain being simulated, interpolated linearly in time between the points
of the even grid (:func:`nodebio.data.resample`). The vector field is an MLP over
:math:`[x, u(t)]` (and the time, when ``use_time``); :func:`nodebio.models.solve.integrate` solves it
for a batch of strains (or of time windows) in one call, with the package's fused fixed-step
integrator or with torchdiffeq.

Every field derives from :class:`ControlledField`, which holds the controls of a batch on the grid
and interpolates them in time, and shares its interface (``set_controls``, ``forward``,
``config``): :class:`VectorField` here, an MLP over all states and controls; the pathway fields
(:class:`~nodebio.models.pathway_field.PathwayField`: the structured and the kinetic field), whose
right-hand side is the stoichiometry times non-negative reaction fluxes.
:func:`nodebio.models.field_kinds.make_field` rebuilds any of them from its ``config()``.

Why these defaults
------------------
* ``tanh`` activations: a smooth field keeps adaptive solvers efficient and trajectories smooth
  (a ReLU field has kinks that adaptive step control has to resolve).
* width 64, depth 2: the field maps 10-15 inputs to 6 outputs; with two training strains, bigger
  networks only fit the training strains more closely (see the chapter's discussion).
* no time input: the same enzyme levels and concentrations should give the same rates at 10 h
  and at 50 h; a clock input lets the model memorise the training trajectories instead.
* fixed-step ``rk4`` for training (four evaluations per step), at the largest step whose
  simulations stay within a twentieth of the training spread of the converged solution: 0.5 h for
  this field (``STRUCTURE_DEFAULTS`` in :mod:`nodebio.models.options` has the measurement); adaptive
  ``dopri5`` is available for checking that the step does not matter
  (:func:`nodebio.metrics.solver_error`).

Cost
----
The first layer is split, :math:`W_1[x; u] = W_x x + W_u u`, and :math:`W_u u + b_1` is computed
once per solve on the grid: interpolating it in time is exact (interpolation is linear), so each
evaluation of the field costs one small matrix product less and no interpolation of the
controls themselves.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from nodebio.errors import NotFittedError, UsageError

__all__ = ["ACTIVATIONS", "ControlledField", "VectorField", "fused_mlp_weights", "negative_penalty", "derivative_penalty",
           "rates_on_grid", "parameter_count"]

ACTIVATIONS = {"tanh": torch.tanh, "softplus": F.softplus, "silu": F.silu, "elu": F.elu, "relu": F.relu}


def add_buffer(module: nn.Module, name: str, values, shape: tuple) -> None:
    """Register ``values`` as a float32 buffer of ``module``, checked to have ``shape``."""
    tensor = torch.as_tensor(np.asarray(values, dtype=float) if not torch.is_tensor(values) else values,
                             dtype=torch.float32).clone()
    if tuple(tensor.shape) != tuple(shape):
        raise UsageError(f"{name} must have shape {tuple(shape)}, got {tuple(tensor.shape)}.")
    module.register_buffer(name, tensor)


def check_architecture(activation: str, width: int, depth: int) -> None:
    """Raise ValueError for an unknown activation or a network without units."""
    if activation not in ACTIVATIONS:
        raise UsageError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if depth < 1 or width < 1:
        raise UsageError(f"depth and width must be at least 1, got depth={depth}, width={width}.")


class ControlledField(nn.Module):
    """A vector field driven by controls given on an even time grid, batched.

    ``set_controls`` keeps the controls of a batch on the grid (:meth:`_set_controls`).
    Subclasses define :meth:`_project`, the controls through their first layer; its values on the
    grid, :attr:`_projected` (B, T, features), are computed on first use, and ``forward`` takes
    them at any time by linear interpolation between grid points (:meth:`_projected_at`), which
    is exact for a linear projection of piecewise-linear controls. The fused integrator
    (:mod:`nodebio.models.solve`) instead takes the controls at all its stage times at once
    (:meth:`controls_at`, :meth:`fused_inputs`) and the field through :meth:`fused_rates`.
    """

    n_controls: int

    def _check_controls(self, times: torch.Tensor, controls: torch.Tensor) -> None:
        if controls.shape[-1] != self.n_controls:
            raise UsageError(f"Expected {self.n_controls} controls, got {controls.shape[-1]}.")
        if controls.shape[-2] != times.shape[0]:
            raise UsageError(f"controls have {controls.shape[-2]} times, the grid {times.shape[0]}.")

    def _set_controls(self, times: torch.Tensor, controls: torch.Tensor, offsets: torch.Tensor | None) -> None:
        self._check_controls(times, controls)
        t0, t1 = float(times[0]), float(times[-1])
        self._grid = (t0, (len(times) - 1) / (t1 - t0), len(times))
        self._controls, self._offsets = controls, offsets
        self.__dict__["_projected_cache"] = None

    def _project(self, controls: torch.Tensor) -> torch.Tensor:
        """The controls (..., n_controls) through the first layer (with its bias): (..., features)."""
        raise NotImplementedError

    @property
    def _projected(self) -> torch.Tensor | None:
        """The projected controls on the grid, (B, T, features); None before ``set_controls``."""
        if getattr(self, "_controls", None) is None:
            return None
        projected = self.__dict__.get("_projected_cache")
        if projected is None:
            projected = self._project(self._controls)
            self.__dict__["_projected_cache"] = projected
            # A plain reference for forward(), which runs thousands of times per solve: attribute
            # lookups through nn.Module cost more than the arithmetic of these small networks.
            self.__dict__["_rows"] = projected.unbind(1)
        return projected

    def _projected_at(self, t: torch.Tensor) -> torch.Tensor:
        if self._projected is None:
            raise NotFittedError("Call set_controls() before evaluating the vector field.")
        t0, inv_dt, n = self._grid
        position = (float(t.detach()) - t0) * inv_dt
        k = min(max(int(position), 0), n - 2)
        w = min(max(position - k, 0.0), 1.0)
        rows = self._rows
        return torch.lerp(rows[k], rows[k + 1], w)

    def controls_at(self, times: torch.Tensor) -> torch.Tensor:
        """The controls at many times at once, (len(times), B, n_controls), time first.

        The same linear interpolation as :meth:`_projected_at` (positions in double precision,
        like its Python floats), vectorized, and before the projection rather than after (the
        same numbers up to rounding: the projection is linear): the fused integrator takes every
        stage time of a solve in one call, on n_controls values instead of the layer's width.
        """
        if getattr(self, "_controls", None) is None:
            raise NotFittedError("Call set_controls() before evaluating the vector field.")
        t0, inv_dt, n = self._grid
        position = (times.detach().to(torch.float64) - t0) * inv_dt
        k = position.floor().clamp(0, n - 2)
        weight = (position - k).clamp(0.0, 1.0).to(self._controls.dtype).reshape(-1, 1, 1)
        k = k.long()
        u = self._controls.transpose(0, 1)
        return torch.lerp(u[k], u[k + 1], weight)

    def fused_inputs(self, times: torch.Tensor) -> torch.Tensor:
        """What the fused integrator projects at each of ``times``: (len(times), B, inputs), the
        controls (and whatever else the first layer takes that does not depend on the states)."""
        return self.controls_at(times)

    def fused_rates(self):
        """The field as the fused integrator evaluates it: ``(project, rates)``.

        ``project(inputs)`` maps a slice of :meth:`fused_inputs` (k, B, inputs) through the first
        layer, (k, B, features); ``rates(projected, x)`` is the field for one time's projection
        (B, features) and the states (B, n_states). Every tensor that depends on the parameters
        only is computed once, here, per solve.
        """
        raise NotImplementedError

    def _check_grid(self, states: torch.Tensor) -> None:
        if getattr(self, "_controls", None) is None or self._controls.shape[:2] != states.shape[:2]:
            raise UsageError("states must lie on the grid of the controls set last (same batch and times).")

class VectorField(ControlledField):
    """:math:`f_\\theta(x, u(t))`: an MLP whose controls are a batched piecewise-linear signal.

    Call :meth:`set_controls` with the controls of the batch before solving; ``forward(t, x)``
    then evaluates the field at time ``t`` (h) for states ``x`` of shape (B, n_states).
    """

    def __init__(self, n_states: int, n_controls: int, width: int = 64, depth: int = 2,
                 activation: str = "tanh", use_time: bool = False):
        super().__init__()
        check_architecture(activation, width, depth)
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
        self._controls: torch.Tensor | None = None
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
        self._set_controls(times, controls, offsets)
        self.__dict__["_layers"] = [(layer.weight, layer.bias) for layer in self.hidden]

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        h = self._projected_at(t) + F.linear(x, self.input_states)
        if self.use_time:
            clock = t + (self._offsets if self._offsets is not None else torch.zeros(len(x), device=x.device, dtype=x.dtype))
            h = h + F.linear(clock.reshape(-1, 1) / 72.0, self.input_time)
        act = self.act
        h = act(h)
        for weight, bias in self._layers:
            h = act(F.linear(h, weight, bias))
        return F.linear(h, self.output.weight, self.output.bias)

    def _project(self, controls: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        if scale == 1.0:
            return F.linear(controls, self.input_controls, self.input_bias)
        return F.linear(controls, scale * self.input_controls, scale * self.input_bias)

    def mlp_weights(self) -> tuple:
        r"""The network as the fused integrator evaluates it: (W_inputs, b_1, W_x^T, hidden W^T,
        hidden b, W_out^T, b_out, activation), where W_inputs (width, inputs) acts on
        :meth:`fused_inputs` (the controls, and the clock / 72 h with a time input).

        With ``tanh``, the same function is evaluated through the logistic sigmoid,
        :math:`\tanh(a) = 2\sigma(2a) - 1`, with the factors folded into the weights (once per
        solve, differentiable): the first layer times 2, a hidden layer :math:`4W, 2(b - W\mathbf{1})`,
        the output :math:`2W, b - W\mathbf{1}`. The same numbers up to rounding; torch's CPU
        ``tanh`` is not vectorized and costs ten times ``sigmoid`` (136 against 14 µs for
        1,000 x 64 values), most of a batched solve.
        """
        w_inputs = self.input_controls if not self.use_time else torch.cat(
            [self.input_controls, self.input_time], dim=1)
        return fused_mlp_weights(w_inputs, self.input_bias, self.input_states,
                                 [(layer.weight, layer.bias) for layer in self.hidden], self.output.weight,
                                 self.output.bias, self.activation)

    def fused_inputs(self, times: torch.Tensor) -> torch.Tensor:
        """The controls at ``times``, (len(times), B, n_controls), and with a time input the clock
        (h since the experiment's start) / 72 h as one more column."""
        controls = self.controls_at(times)
        if not self.use_time:
            return controls
        offsets = self._offsets if self._offsets is not None else torch.zeros(
            controls.shape[1], device=controls.device, dtype=controls.dtype)
        clock = times.to(controls.dtype).reshape(-1, 1) + offsets.reshape(1, -1)
        return torch.cat([controls, (clock / 72.0).unsqueeze(-1)], dim=-1)

    def fused_rates(self):
        w_inputs, b_in, w_in, hidden_w, hidden_b, w_out, b_out, activation = self.mlp_weights()
        act = ACTIVATIONS[activation] if activation != "sigmoid" else torch.sigmoid
        hidden = list(zip(hidden_w, hidden_b))

        def project(inputs: torch.Tensor) -> torch.Tensor:
            return F.linear(inputs, w_inputs, b_in)

        def rates(projected: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            h = act(torch.addmm(projected, x, w_in))
            for weight, bias in hidden:
                h = act(torch.addmm(bias, h, weight))
            return torch.addmm(b_out, h, w_out)

        return project, rates

    def rates_on_grid(self, states: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
        """dx/dt at every point of the control grid at once: (B, T, n_states); ``times`` (T,), the
        grid, is needed only with a time input."""
        self._check_grid(states)
        h = self._projected + F.linear(states, self.input_states)
        if self.use_time:
            offsets = self._offsets if self._offsets is not None else torch.zeros(len(states), device=states.device,
                                                                                 dtype=states.dtype)
            clock = times.reshape(1, -1) + offsets.reshape(-1, 1)
            h = h + F.linear(clock.unsqueeze(-1) / 72.0, self.input_time)
        h = self.act(h)
        for layer in self.hidden:
            h = self.act(layer(h))
        return self.output(h)

    def config(self) -> dict:
        return {"n_states": self.n_states, "n_controls": self.n_controls, "width": self.width,
                "depth": self.depth, "activation": self.activation, "use_time": self.use_time}



def fused_mlp_weights(w_inputs, b_in, w_states, hidden, w_out, b_out, activation: str) -> tuple:
    """An MLP's weights as the fused integrator evaluates them (see :meth:`VectorField.mlp_weights`):
    (W_inputs, b_1, W_x^T, hidden W^T, hidden b, W_out^T, b_out, activation), with ``tanh`` folded
    into the logistic sigmoid. The weights are (..., out, in) with any leading axes: one network,
    or the members of :class:`nodebio.models.StackedVectorField` stacked first."""
    def t(weight):
        return weight.transpose(-1, -2)

    if activation == "tanh":
        return (2.0 * w_inputs, 2.0 * b_in, t(2.0 * w_states), [t(4.0 * w) for w, _ in hidden],
                [2.0 * (b - w.sum(-1)) for w, b in hidden], t(2.0 * w_out), b_out - w_out.sum(-1), "sigmoid")
    return (w_inputs, b_in, t(w_states), [t(w) for w, _ in hidden], [b for _, b in hidden], t(w_out), b_out,
            activation)


def negative_penalty(x_original: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean squared negative part of concentrations in original units, per feature scale.

    x_original : (..., n) predicted concentrations in original units; scale : (n,) a typical
    size of each feature (its training standard deviation), so that every metabolite counts alike.
    """
    return (F.relu(-x_original) / scale).pow(2).mean()


def derivative_penalty(dxdt: torch.Tensor, limit: torch.Tensor) -> torch.Tensor:
    """Mean squared excess of |dx/dt| (scaled units per hour) over a per-feature ``limit``."""
    return F.relu(dxdt.abs() - limit).pow(2).mean()



def rates_on_grid(field: ControlledField, states: torch.Tensor, times: torch.Tensor | None = None) -> torch.Tensor:
    """dx/dt of ``field`` at every point of the control grid at once.

    states : (B, T, n_states) on the grid passed to ``field.set_controls`` (same B, T);
    times : (T,) that grid, needed only by a field with a time input. Returns (B, T, n_states).
    """
    return field.rates_on_grid(states, times)


def parameter_count(module: nn.Module) -> int:
    """The number of trainable numbers of a module."""
    return sum(p.numel() for p in module.parameters())
