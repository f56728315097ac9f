r"""The neural ODE: :math:`dx/dt = f_\theta(x, u(t))`, integrated with torchdiffeq.

States :math:`x` are the scaled metabolite concentrations, controls :math:`u(t)` the scaled
protein levels of the strain being simulated, interpolated linearly in time between the points
of the even grid (:func:`nodebio.data.resample`). The vector field is an MLP over
:math:`[x, u(t)]` (and the time, when ``use_time``); :func:`nodebio.models.solve.integrate` solves it with
``torchdiffeq.odeint`` for a batch of strains (or of time windows) in one call.

Two fields share that interface (``set_controls``, ``forward``, ``config``):
:class:`VectorField`, an MLP over all states and controls, and :class:`StructuredField`, the
pathway-structured field whose right-hand side is the stoichiometry times non-negative reaction
fluxes (``TrainConfig(structure="structured")``, :mod:`nodebio.models.structured`);
:func:`make_field` rebuilds either from its ``config()``. Both derive from :class:`ControlledField`,
which holds the controls of a batch on the grid and interpolates them in time.

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

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "ControlledField", "VectorField", "make_field", "negative_penalty", "derivative_penalty",
           "rates_on_grid", "parameter_count"]

ACTIVATIONS = {"tanh": torch.tanh, "softplus": F.softplus, "silu": F.silu, "elu": F.elu, "relu": F.relu}


def check_architecture(activation: str, width: int, depth: int) -> None:
    """Raise ValueError for an unknown activation or a network without units."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if depth < 1 or width < 1:
        raise ValueError(f"depth and width must be at least 1, got depth={depth}, width={width}.")


class ControlledField(nn.Module):
    """A vector field driven by controls given on an even time grid, batched.

    Subclasses project the controls through their first layer once per solve
    (:meth:`_set_projected`, shape (B, T, features)); ``forward`` then takes the projection at any
    time by linear interpolation between grid points (:meth:`_projected_at`), which is exact for a
    linear projection of piecewise-linear controls.
    """

    n_controls: int

    def _check_controls(self, times: torch.Tensor, controls: torch.Tensor) -> None:
        if controls.shape[-1] != self.n_controls:
            raise ValueError(f"Expected {self.n_controls} controls, got {controls.shape[-1]}.")
        if controls.shape[-2] != times.shape[0]:
            raise ValueError(f"controls have {controls.shape[-2]} times, the grid {times.shape[0]}.")

    def _set_projected(self, times: torch.Tensor, projected: torch.Tensor) -> None:
        t0, t1 = float(times[0]), float(times[-1])
        self._grid = (t0, (len(times) - 1) / (t1 - t0), len(times))
        self._projected = projected
        # A plain reference for forward(), which runs thousands of times per solve: attribute
        # lookups through nn.Module cost more than the arithmetic of these small networks.
        self.__dict__["_rows"] = projected.unbind(1)

    def _projected_at(self, t: torch.Tensor) -> torch.Tensor:
        if self._projected is None:
            raise RuntimeError("Call set_controls() before evaluating the vector field.")
        t0, inv_dt, n = self._grid
        position = (float(t.detach()) - t0) * inv_dt
        k = min(max(int(position), 0), n - 2)
        w = min(max(position - k, 0.0), 1.0)
        rows = self._rows
        return torch.lerp(rows[k], rows[k + 1], w)

    def _check_grid(self, states: torch.Tensor) -> None:
        if self._projected is None or self._projected.shape[:2] != states.shape[:2]:
            raise ValueError("states must lie on the grid of the controls set last (same batch and times).")

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
        self._check_controls(times, controls)
        self._set_projected(times, F.linear(controls, self.input_controls, self.input_bias))
        self._offsets = offsets
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



def make_field(config: dict) -> nn.Module:
    """A vector field from the ``config()`` of one (checkpoints): plain or structured."""
    config = dict(config)
    if config.pop("kind", "mlp") == "structured":
        from nodebio.models.structured import StructuredField

        return StructuredField(**config)
    return VectorField(**config)


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
