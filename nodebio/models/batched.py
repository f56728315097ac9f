"""The members of an ensemble trained as one batched model: one optimisation loop for all of them.

Training a small neural ODE costs dispatch, not arithmetic: each step of the solver is some thirty
tensor operations on matrices of a few dozen rows, and the Python and torch overhead of each
operation outweighs its arithmetic. Members trained one after another pay it once per member.
:class:`StackedVectorField` holds the parameters of M plain fields (:class:`~nodebio.models.fields.VectorField`)
with a leading member axis and evaluates all of them at once (batched matrix products over the
member axis), so one solve of M members costs about one operation count.

:func:`fit_members` trains M unfitted plain neural ODEs of one configuration (differing in their
seed) that way. Each member keeps everything it has when trained alone: its initial weights (its
own seed), its own random windows (its own generator), its gradient clipped by its own norm, its
own Adam state (Adam is elementwise), its own evaluations and early stop; a member that stops is
frozen, not dropped (its weights no longer change; the others go on). The result is the same as
training each member alone, up to the rounding of batched against single matrix products
(tested). Members are written as ordinary checkpoints.

:func:`can_batch` says when that applies: plain fields (``structure="mlp"``) without a time input,
the fused fixed-step solvers without the adjoint, no derivative penalty and no warm start, and one
configuration apart from the seed. Anything else trains one member after another
(:meth:`nodebio.models.Ensemble.fit` decides).
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from nodebio import data as _data
from nodebio.errors import SolverError, TrainingDivergedError, UsageError
from nodebio.models.fields import ACTIVATIONS, ControlledField, VectorField, fused_mlp_weights
from nodebio.models.solve import FUSED, integrate

__all__ = ["StackedVectorField", "can_batch", "fit_members"]


def _keys(depth: int) -> list[str]:
    return (["input_states", "input_controls", "input_bias"]
            + [f"hidden.{i}.{kind}" for i in range(depth - 1) for kind in ("weight", "bias")]
            + ["output.weight", "output.bias"])


class StackedVectorField(ControlledField):
    """M plain vector fields of one architecture evaluated at once; batches are member-major.

    A batch of B = M * b rows holds member 0's b rows first, then member 1's, and so on: the
    controls given to :meth:`set_controls`, the states the solver integrates, the result. The
    parameters are those of the fields given, stacked (``params[name]`` is (M, ...)).
    """

    def __init__(self, fields: Sequence[VectorField]):
        super().__init__()
        first = fields[0]
        if first.use_time:
            raise UsageError("A stacked field has no time input: train fields with use_time one by one.")
        for f in fields[1:]:
            if (f.n_states, f.n_controls, f.width, f.depth, f.activation, f.use_time) != (
                    first.n_states, first.n_controls, first.width, first.depth, first.activation, first.use_time):
                raise UsageError("Only fields of one architecture can be stacked.")
        self.members = len(fields)
        self.n_states, self.n_controls = first.n_states, first.n_controls
        self.width, self.depth, self.activation = first.width, first.depth, first.activation
        states = [f.state_dict() for f in fields]
        self.names = _keys(first.depth)
        self.params = nn.ParameterList(
            nn.Parameter(torch.stack([s[name].detach() for s in states]).clone()) for name in self.names)
        self._controls = None
        self._grid = None
        self._offsets = None

    def parameter(self, name: str) -> torch.Tensor:
        return self.params[self.names.index(name)]

    def member_state(self, m: int) -> dict:
        """The state dict of member ``m``'s :class:`VectorField` (detached copies)."""
        return {name: p[m].detach().clone() for name, p in zip(self.names, self.params)}

    def set_controls(self, times: torch.Tensor, controls: torch.Tensor, offsets: torch.Tensor | None = None) -> None:
        if controls.shape[0] % self.members:
            raise UsageError(f"A batch of {controls.shape[0]} rows does not split into {self.members} members.")
        self._set_controls(times, controls, offsets)

    def _folded(self) -> tuple:
        """The weights as the fused integrator uses them, member axis first, with ``tanh`` folded
        into the logistic sigmoid as :meth:`VectorField.mlp_weights` does (the same numbers)."""
        p = self.parameter
        hidden = [(p(f"hidden.{i}.weight"), p(f"hidden.{i}.bias")) for i in range(self.depth - 1)]
        w_inputs, b_in, w_x, hidden_w, hidden_b, w_out, b_out, name = fused_mlp_weights(
            p("input_controls"), p("input_bias"), p("input_states"), hidden, p("output.weight"), p("output.bias"),
            self.activation)
        act = torch.sigmoid if name == "sigmoid" else ACTIVATIONS[name]
        return w_inputs, b_in, w_x, list(zip(hidden_w, hidden_b)), w_out, b_out, act

    def _project(self, controls: torch.Tensor) -> torch.Tensor:
        """Controls (B, T, n_controls), member-major rows, through each member's first layer: (B, T, width)."""
        w_inputs, b_in = self._folded()[:2]
        rows, steps = controls.shape[:2]
        flat = controls.reshape(self.members, -1, controls.shape[-1])
        return torch.baddbmm(b_in.unsqueeze(1), flat, w_inputs.transpose(1, 2)).reshape(rows, steps, -1)

    def fused_rates(self):
        """``(project, rates)`` for the fused integrator, on states with the member axis first:
        ``project`` maps stage inputs (k, B, n_controls) to (k, M, b, width), ``rates`` takes one
        of those (M, b, width) and states (M, b, n_states). Solve with ``x0`` of shape (M, b,
        n_states): no reshaping inside the solver's steps, where every operation counts."""
        w_inputs, b_in, w_x, hidden, w_out, b_out, act = self._folded()
        m = self.members
        w_inputs_t, b_in = w_inputs.transpose(1, 2), b_in.unsqueeze(1)
        hidden = [(weight, bias.unsqueeze(1)) for weight, bias in hidden]
        b_out = b_out.unsqueeze(1)

        def project(inputs: torch.Tensor) -> torch.Tensor:
            k, rows, n = inputs.shape
            flat = inputs.reshape(k, m, rows // m, n).transpose(0, 1).reshape(m, -1, n)
            out = torch.baddbmm(b_in, flat, w_inputs_t)  # (M, k*b, width)
            return out.reshape(m, k, rows // m, -1).transpose(0, 1)

        def rates(projected: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            h = act(torch.baddbmm(projected, x, w_x))
            for weight, bias in hidden:
                h = act(torch.baddbmm(bias, h, weight))
            return torch.baddbmm(b_out, h, w_out)

        return project, rates

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The field at time ``t`` for states (B, n_states), member-major rows (torchdiffeq's form)."""
        _, rates = self.fused_rates()
        m, rows = self.members, x.shape[0]
        return rates(self._projected_at(t).reshape(m, rows // m, -1), x.reshape(m, rows // m, -1)).reshape(rows, -1)

    def config(self) -> dict:
        return {"members": self.members, "n_states": self.n_states, "n_controls": self.n_controls,
                "width": self.width, "depth": self.depth, "activation": self.activation}


def can_batch(models: Sequence) -> bool:
    """Whether :func:`fit_members` trains these unfitted models (see the module docstring)."""
    from nodebio.models.node import NeuralODEModel

    if len(models) < 2 or not all(type(m) is NeuralODEModel for m in models):
        return False
    first = models[0].config
    if first.structure != "mlp" or first.use_time or first.solver not in FUSED or first.adjoint:
        return False
    if first.derivative_weight > 0 or first.collocation_iterations > 0:
        return False
    settings = {k: v for k, v in first.get_params().items() if k != "seed"}
    return all({k: v for k, v in m.config.get_params().items() if k != "seed"} == settings for m in models[1:])


def fit_members(models: Sequence, prepared: _data.PreparedData, *, progress: bool = False) -> list:
    """Train unfitted plain neural ODEs of one configuration as one batched model (see the module
    docstring); returns them fitted, as if each had been trained alone."""
    from tqdm import tqdm

    from nodebio.models.node import _Objective, resolve_device

    if not can_batch(models):
        raise UsageError("These models cannot be trained as one batched model (see nodebio.models.batched.can_batch); "
                         "fit them one by one.")
    cfg = models[0].config
    device = resolve_device(cfg.device)
    for model in models:
        model.device = device
        model._setup(prepared)  # each member's own initial weights (its seed) and data
    objectives = [_Objective(model, prepared) for model in models]
    generators = [torch.Generator().manual_seed(model.config.seed) for model in models]
    field = StackedVectorField([model.field for model in models]).to(device)
    first = objectives[0]
    m = len(models)
    optimizer = torch.optim.Adam(field.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.iterations, eta_min=cfg.learning_rate * cfg.lr_final_fraction)
    best = [math.inf] * m
    bad = [0] * m
    best_state: list[dict | None] = [None] * m
    frozen: list[list[torch.Tensor] | None] = [None] * m
    histories: list[list[dict]] = [[] for _ in range(m)]
    x0_all = first.x[:, 0].expand(m, *first.x[:, 0].shape)  # (M, strains, n_states)
    u_all = first.u.repeat(m, 1, 1)
    started = time.perf_counter()
    bar = tqdm(range(cfg.iterations), desc=f"training {m} members ({prepared.dataset.name})", disable=not progress)
    for iteration in bar:
        active = [k for k in range(m) if frozen[k] is None]
        if not active:
            break
        batches = [objective.batch(generator) for objective, generator in zip(objectives, generators)]
        start, target, controls = (torch.stack([b[i] for b in batches]) for i in range(3))  # member axis first
        offsets = None if batches[0][3] is None else torch.cat([b[3] for b in batches])
        try:
            predicted = integrate(field, start, batches[0][4], controls.flatten(0, 1), solver=cfg.solver,
                                  step_size=cfg.step_size, offsets=offsets).transpose(1, 2)  # (M, b, T, n)
        except SolverError as error:
            raise TrainingDivergedError(f"Training the members together stopped at iteration {iteration + 1}: "
                                        f"{error} Train them one by one to see which member diverged.") from error
        data_loss = ((predicted - target) ** 2).reshape(m, -1).mean(1)
        penalty = torch.zeros_like(data_loss)
        if cfg.negative_weight > 0:
            original = first.to_original(predicted)
            penalty = cfg.negative_weight * (F.relu(-original) / first.original_sd).pow(2).reshape(m, -1).mean(1)
        loss = data_loss + penalty
        if not torch.isfinite(loss[active]).all():
            raise TrainingDivergedError(f"Training the members together stopped at iteration {iteration + 1}: a "
                                        "loss is not finite. Train them one by one to see which member diverged.")
        optimizer.zero_grad()
        loss[active].sum().backward()  # each member's loss reaches its own parameters only
        _clip_by_member(field, cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        for k in range(m):  # a member that stopped keeps its weights
            if frozen[k] is not None:
                with torch.no_grad():
                    for p, value in zip(field.params, frozen[k]):
                        p[k] = value
        lr = optimizer.param_groups[0]["lr"]
        evaluate = (iteration + 1) % cfg.eval_every == 0 or iteration + 1 == cfg.iterations
        rollout = _rollouts(field, first, x0_all, u_all, cfg) if evaluate else None
        for k in active:
            record = {"iteration": iteration + 1, "loss": loss[k].item(), "data_loss": data_loss[k].item(),
                      "penalty": penalty[k].item(), "lr": lr}
            if rollout is not None:
                record["train_rollout_loss"] = rollout[k]
                if rollout[k] < best[k] - 1e-6:
                    best[k], bad[k], best_state[k] = rollout[k], 0, field.member_state(k)
                else:
                    bad[k] += 1
                if bad[k] >= cfg.patience:
                    frozen[k] = [p[k].detach().clone() for p in field.params]
            histories[k].append(record)
    bar.close()
    seconds = time.perf_counter() - started
    for k, model in enumerate(models):
        model.field.load_state_dict(best_state[k] if best_state[k] is not None else field.member_state(k))
        model.history = histories[k]
        model.best_train_rollout_loss = best[k]
        model.fit_seconds = seconds / m
    return list(models)


def _clip_by_member(field: StackedVectorField, max_norm: float) -> None:
    """Each member's gradient scaled to at most ``max_norm`` in its own norm, as
    ``torch.nn.utils.clip_grad_norm_`` does for a model trained alone."""
    grads = [p.grad for p in field.params if p.grad is not None]
    m = field.members
    norms = torch.stack([torch.linalg.vector_norm(g.reshape(m, -1), dim=1) for g in grads], dim=1)
    total = torch.linalg.vector_norm(norms, dim=1)
    coefficient = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coefficient.reshape(m, *([1] * (g.dim() - 1))))


def _rollouts(field: StackedVectorField, objective, x0_all: torch.Tensor, u_all: torch.Tensor, cfg) -> list[float]:
    """Each member's mean squared error of the whole training trajectories, simulated from their starts."""
    m = field.members
    with torch.no_grad():
        predicted = integrate(field, x0_all, objective.times, u_all, solver=cfg.solver,
                              step_size=cfg.step_size).transpose(1, 2)  # (M, strains, T, n)
        errors = ((predicted - objective.x) ** 2).reshape(m, -1).mean(1)
    return [float(e) for e in errors]
