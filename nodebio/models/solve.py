"""Solving a neural ODE for a batch: :func:`integrate`, with torchdiffeq's solvers.

The solver is a parameter (``solver=``): any of :data:`SOLVERS`, fixed-step (with ``step_size``)
or adaptive (with ``rtol``/``atol``); ``adjoint`` switches to the adjoint method for gradients.
"""

from __future__ import annotations

import torch

from nodebio.errors import SolverError

__all__ = ["FIXED_STEP", "ADAPTIVE", "SOLVERS", "integrate"]

#: Solvers of torchdiffeq the package accepts: fixed-step ones need ``step_size``.
FIXED_STEP = ("euler", "midpoint", "rk4", "explicit_adams", "implicit_adams")
ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")
SOLVERS = FIXED_STEP + ADAPTIVE


def integrate(field, x0: torch.Tensor, times: torch.Tensor, controls: torch.Tensor, *,
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


