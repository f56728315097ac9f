"""Solving a neural ODE for a batch: :func:`integrate`.

The solver is a parameter (``solver=``), one of :data:`SOLVERS`:

* ``"rk4"``, ``"euler"``, ``"midpoint"`` (:data:`FUSED`): the package's own fused fixed-step
  integrator, :func:`integrate_fused`, the default for training and simulation. It steps on the
  grid torchdiffeq's fixed-grid solvers step on (:func:`_solver_steps`), with their formulas
  (``rk4`` is torchdiffeq's "3/8 rule" variant, ``rk4_alt_step_func``), and interpolates linearly
  to the requested times as they do: the same trajectories up to rounding, and the same gradients
  (tested against torchdiffeq).
* any of torchdiffeq's methods (:data:`FIXED_STEP`, :data:`ADAPTIVE`), through
  :func:`integrate_torchdiffeq`: adaptive solvers (``rtol``/``atol``), the adjoint method
  (``adjoint=True``, whatever the solver), and torchdiffeq's own fixed-step loop by name,
  ``"torchdiffeq-rk4"`` (likewise ``torchdiffeq-euler``, ``torchdiffeq-midpoint``).

Why these defaults
------------------
Measured on a 2-core CPU, one torch thread, the default field (an MLP 64 x 2 over 6 states and
9 controls), a 72 h trajectory on a 200-point grid (36 ``rk4`` steps of 2 h, 144 evaluations):

* torchdiffeq's fixed-grid loop costs about 150 µs of Python per step around well under a
  millisecond of arithmetic: 8.4 ms for one trajectory. The fused loop evaluates the field on
  tensors prepared once per solve: the controls of every stage time are interpolated in one call
  (:meth:`~nodebio.models.fields.ControlledField.fused_inputs`; they are piecewise linear on the
  grid) and projected through the first layer a block of steps at a time (:func:`_chunk`), the
  tensors that depend on the parameters only are computed once
  (:meth:`~nodebio.models.fields.ControlledField.fused_rates`), and a step is about 30 tensor
  operations: 1.3 ms in eager torch.
* ``tanh`` through the logistic sigmoid (folded into the weights,
  :meth:`~nodebio.models.fields.VectorField.mlp_weights`): torch's CPU ``tanh`` is not
  vectorized, ten times the cost of ``sigmoid``; a batch of 1,000 trajectories went from 64 to
  25-28 ms.
* TorchScript for the plain MLP field without gradients (:func:`_scripted_kernel`): the same
  operations without the Python interpreter, 0.85 against 1.28 ms for one trajectory; with
  gradients (training) it saved nothing (3.2 against 3.1 ms for a training batch), so training
  stays eager, and so does the structured field. ``torch.compile`` of the same loop ran one
  trajectory in 0.9 ms (eager 1.9 ms in that run) but took 26 s to compile, and 12 s more for each
  new batch size: too slow to teach with.
* torchdiffeq stays for what it does that this does not: step-size control, the adjoint, and the
  teaching cells that show the library.
"""

from __future__ import annotations

import warnings
from typing import List

import torch

from nodebio.errors import SolverError, UsageError

__all__ = ["FUSED", "FIXED_STEP", "ADAPTIVE", "SOLVERS", "integrate", "integrate_fused", "integrate_torchdiffeq"]

#: Fixed-step methods of the package's fused integrator (the default backend for these names).
FUSED = ("rk4", "euler", "midpoint")
#: Solvers of torchdiffeq the package accepts: fixed-step ones need ``step_size``.
FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
#: Prefix that selects torchdiffeq's own loop for a method the fused integrator also has.
TORCHDIFFEQ = "torchdiffeq-"
SOLVERS = FIXED_STEP + ADAPTIVE + tuple(TORCHDIFFEQ + name for name in FUSED)


def integrate(field, x0: torch.Tensor, times: torch.Tensor, controls: torch.Tensor, *,
              solver: str = "rk4", step_size: float | None = 2.0, rtol: float = 1e-4, atol: float = 1e-5,
              adjoint: bool = False, offsets: torch.Tensor | None = None,
              max_steps: int = 10_000) -> torch.Tensor:
    """Solve the neural ODE for a batch: returns states (B, T, n_states) at ``times``.

    x0 : (B, n_states) initial scaled states. times : (T,) even grid (h). controls : (B, T,
    n_controls) scaled controls on that grid. ``solver`` is any of :data:`SOLVERS`: ``"rk4"``,
    ``"euler"`` and ``"midpoint"`` run the fused integrator (``integrate_fused``), the others
    torchdiffeq (``"torchdiffeq-rk4"``: torchdiffeq's own rk4). ``step_size`` (h) is used by the
    fixed-step ones, ``rtol``/``atol`` and ``max_steps`` by the adaptive ones. ``adjoint``
    backpropagates with torchdiffeq's adjoint method (memory O(1) in the number of steps, slower).

    Raises :class:`~nodebio.errors.SolverError` when the solver fails or the solution is not finite.
    """
    if solver not in SOLVERS:
        raise UsageError(f"Unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}.")
    method = solver.removeprefix(TORCHDIFFEQ)
    if method in FIXED_STEP and (step_size is None or step_size <= 0):
        raise UsageError(f"The fixed-step solver {solver!r} needs a positive step_size (h).")
    field.set_controls(times, controls, offsets)
    if solver in FUSED and not adjoint:
        solution = integrate_fused(field, x0, times, method=method, step_size=float(step_size))
    else:
        solution = integrate_torchdiffeq(field, x0, times, method=method, step_size=step_size, rtol=rtol,
                                         atol=atol, adjoint=adjoint, max_steps=max_steps)
    if not torch.isfinite(solution).all():
        raise SolverError(f"The {solver} solution contains NaN or inf values (the field diverged).")
    return solution.transpose(0, 1)


def integrate_torchdiffeq(field, x0: torch.Tensor, times: torch.Tensor, *, method: str,
                          step_size: float | None, rtol: float, atol: float, adjoint: bool = False,
                          max_steps: int = 10_000) -> torch.Tensor:
    """torchdiffeq's ``odeint`` (or ``odeint_adjoint``) of a field whose controls are set:
    (T, B, n_states) at ``times``."""
    import torchdiffeq

    if method in FIXED_STEP:
        options = {"step_size": float(step_size)}
    else:
        options = {"max_num_steps": max_steps}
    odeint = torchdiffeq.odeint_adjoint if adjoint else torchdiffeq.odeint
    kwargs = {"adjoint_params": tuple(field.parameters())} if adjoint else {}
    # A fixed-step solver returns the solution at times between its steps by linear
    # interpolation, one output at a time. Asking it for its own steps only and interpolating
    # all outputs at once gives the same numbers for a fraction of the cost.
    steps = _solver_steps(times, float(step_size)) if method in FIXED_STEP else times
    try:
        solution = odeint(field, x0, steps, method=method, rtol=rtol, atol=atol, options=options, **kwargs)
    except AssertionError as error:  # torchdiffeq signals underflow / too many steps this way
        raise SolverError(f"The {method} solver failed: {error}") from error
    if steps is not times:
        solution = _interpolate(steps, solution, times)
    return solution


def integrate_fused(field, x0: torch.Tensor, times: torch.Tensor, *, method: str = "rk4",
                    step_size: float = 2.0) -> torch.Tensor:
    """The fused fixed-step integrator of a field whose controls are set: (T, B, n_states).

    Steps on torchdiffeq's grid for ``step_size`` with its formulas for ``method`` (one of
    :data:`FUSED`), then interpolates linearly to ``times``. A field of the package is evaluated
    through its ``fused_inputs``/``fused_rates`` (controls at every stage time in one call,
    parameter-only tensors once); any other module through ``field(t, x)``.
    """
    if method not in FUSED:
        raise UsageError(f"The fused integrator has {', '.join(FUSED)}, not {method!r}.")
    grid = _solver_steps(times, step_size)
    steps = torch.diff(grid)
    stage_times = _stage_times(grid, steps, method).to(x0.dtype).reshape(-1)  # as torchdiffeq's, step by step
    dts = steps.tolist()
    if not dts:
        return x0.unsqueeze(0).expand(len(times), *x0.shape)
    if not hasattr(field, "fused_rates"):  # any module with set_controls and forward(t, x)
        states = _STEPPERS[method](_projected_steps(_no_projection, stage_times, len(dts), len(dts)), field, x0, dts)
        return _interpolate(grid, states, times)
    inputs = field.fused_inputs(stage_times)
    chunk = _chunk(inputs, len(dts))
    if _use_script(field, inputs, x0) and _scripted_kernel() is not None:
        states = _scripted_kernel()(x0, inputs, dts, method, chunk, *field.mlp_weights())
    else:
        project, rates = field.fused_rates()
        states = _STEPPERS[method](_projected_steps(project, inputs, len(dts), chunk), rates, x0, dts)
    return _interpolate(grid, states, times)


#: Elements of one block of projected stage inputs (about 1 MB in float32), see :func:`_chunk`.
BLOCK = 250_000


def _chunk(inputs: torch.Tensor, n_steps: int) -> int:
    """How many steps' stage inputs to project through the first layer at once.

    All of them for small batches (one operation instead of one per step: a tenth of a
    millisecond for one trajectory); for large batches, blocks of about :data:`BLOCK` numbers
    that stay in cache (all stage inputs of 1,000 trajectories projected at once are 37 MB, whose
    writing cost as much as the arithmetic of the solve).
    """
    per_step = inputs.shape[0] // n_steps
    width = inputs.shape[1] * 64  # the default first layer's width: a block's size, roughly
    return max(1, min(n_steps, BLOCK // max(1, per_step * width)))


def _projected_steps(project, inputs: torch.Tensor, n_steps: int, chunk: int):
    """Each step's projected stage inputs, a tuple per step, projected ``chunk`` steps at a time."""
    per_step = inputs.shape[0] // n_steps
    for start in range(0, n_steps, chunk):
        block = project(inputs[start * per_step:(start + chunk) * per_step]).unbind(0)
        for j in range(0, len(block), per_step):
            yield block[j:j + per_step]


def _no_projection(times: torch.Tensor) -> torch.Tensor:
    return times


def _stage_times(grid: torch.Tensor, steps: torch.Tensor, method: str) -> torch.Tensor:
    """The times (n_steps, stages) at which ``method`` evaluates the field, computed as torchdiffeq
    computes them (in the grid's dtype)."""
    start, end = grid[:-1], grid[1:]
    if method == "euler":
        stages = [start]
    elif method == "midpoint":
        stages = [start, start + 0.5 * steps]
    else:
        stages = [start, start + steps * (1 / 3), start + steps * (2 / 3), end]
    return torch.stack(stages, dim=1)


def _euler(stages, rates, x, dts):
    states = [x]
    for (p1,), dt in zip(stages, dts):
        x = torch.add(x, rates(p1, x), alpha=dt)
        states.append(x)
    return torch.stack(states)


def _midpoint(stages, rates, x, dts):
    states = [x]
    for (p1, p2), dt in zip(stages, dts):
        k1 = rates(p1, x)
        x = torch.add(x, rates(p2, torch.add(x, k1, alpha=0.5 * dt)), alpha=dt)
        states.append(x)
    return torch.stack(states)


def _rk4(stages, rates, x, dts):
    """torchdiffeq's ``rk4``: the 3/8 rule (``rk4_alt_step_func``). ``stages`` gives each step's
    projected stage inputs (:func:`_projected_steps`)."""
    states = [x]
    for (p1, p2, p3, p4), dt in zip(stages, dts):
        third = dt / 3.0
        k1 = rates(p1, x)
        k2 = rates(p2, torch.add(x, k1, alpha=third))
        k3 = rates(p3, torch.add(x, k2, alpha=dt).sub_(k1, alpha=third))
        k4 = rates(p4, torch.add(x, k1, alpha=dt).sub_(k2, alpha=dt).add_(k3, alpha=dt))
        eighth = 0.125 * dt
        x = torch.add(x, k1, alpha=eighth).add_(k2, alpha=3 * eighth).add_(k3, alpha=3 * eighth).add_(k4, alpha=eighth)
        states.append(x)
    return torch.stack(states)


_STEPPERS = {"euler": _euler, "midpoint": _midpoint, "rk4": _rk4}


def _mlp(inputs: torch.Tensor, x: torch.Tensor, w_in: torch.Tensor, hidden_w: List[torch.Tensor],
         hidden_b: List[torch.Tensor], w_out: torch.Tensor, b_out: torch.Tensor, activation: str) -> torch.Tensor:
    h = torch.addmm(inputs, x, w_in)
    for j in range(len(hidden_w) + 1):
        if activation == "sigmoid":
            h = torch.sigmoid(h)
        elif activation == "tanh":
            h = torch.tanh(h)
        elif activation == "relu":
            h = torch.relu(h)
        elif activation == "softplus":
            h = torch.nn.functional.softplus(h)
        elif activation == "silu":
            h = torch.nn.functional.silu(h)
        else:
            h = torch.nn.functional.elu(h)
        if j < len(hidden_w):
            h = torch.addmm(hidden_b[j], h, hidden_w[j])
    return torch.addmm(b_out, h, w_out)


def _mlp_kernel(x: torch.Tensor, inputs: torch.Tensor, dts: List[float], method: str, chunk: int,
                w_inputs: torch.Tensor, b_in: torch.Tensor, w_in: torch.Tensor, hidden_w: List[torch.Tensor],
                hidden_b: List[torch.Tensor], w_out: torch.Tensor, b_out: torch.Tensor,
                activation: str) -> torch.Tensor:
    """:func:`_rk4`, :func:`_midpoint`, :func:`_euler` with the MLP inline, for TorchScript; the
    weights as :meth:`nodebio.models.fields.VectorField.mlp_weights` gives them, the stage inputs
    projected ``chunk`` steps at a time as :func:`_projected_steps` does."""
    per_step = 4 if method == "rk4" else (2 if method == "midpoint" else 1)
    states = [x]
    block: List[torch.Tensor] = []
    for i in range(len(dts)):
        dt = dts[i]
        if i % chunk == 0:
            block = torch.nn.functional.linear(inputs[i * per_step:(i + chunk) * per_step], w_inputs, b_in).unbind(0)
        j = (i % chunk) * per_step
        if method == "rk4":
            third = dt / 3.0
            k1 = _mlp(block[j], x, w_in, hidden_w, hidden_b, w_out, b_out, activation)
            k2 = _mlp(block[j + 1], torch.add(x, k1, alpha=third), w_in, hidden_w, hidden_b, w_out, b_out,
                      activation)
            k3 = _mlp(block[j + 2], torch.add(x, k2, alpha=dt).sub_(k1, alpha=third), w_in, hidden_w, hidden_b,
                      w_out, b_out, activation)
            k4 = _mlp(block[j + 3], torch.add(x, k1, alpha=dt).sub_(k2, alpha=dt).add_(k3, alpha=dt), w_in,
                      hidden_w, hidden_b, w_out, b_out, activation)
            eighth = 0.125 * dt
            x = torch.add(x, k1, alpha=eighth).add_(k2, alpha=3 * eighth).add_(k3, alpha=3 * eighth).add_(
                k4, alpha=eighth)
        elif method == "midpoint":
            k1 = _mlp(block[j], x, w_in, hidden_w, hidden_b, w_out, b_out, activation)
            x = torch.add(x, _mlp(block[j + 1], torch.add(x, k1, alpha=0.5 * dt), w_in, hidden_w, hidden_b, w_out,
                                  b_out, activation), alpha=dt)
        else:
            x = torch.add(x, _mlp(block[j], x, w_in, hidden_w, hidden_b, w_out, b_out, activation), alpha=dt)
        states.append(x)
    return torch.stack(states)


_SCRIPTED: list = []


def _scripted_kernel():
    """:func:`_mlp_kernel` compiled by TorchScript once per process (None where that fails)."""
    if not _SCRIPTED:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.jit.script is deprecated in favour of torch.compile
                _SCRIPTED.append(torch.jit.script(_mlp_kernel))
        except Exception:  # no TorchScript in this build of torch, or no source files
            _SCRIPTED.append(None)
    return _SCRIPTED[0]


def _use_script(field, inputs: torch.Tensor, x0: torch.Tensor) -> bool:
    """TorchScript pays for the plain MLP field without gradients (see the module docstring)."""
    return (hasattr(field, "mlp_weights") and not torch.is_grad_enabled()
            and not inputs.requires_grad and not x0.requires_grad)


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
