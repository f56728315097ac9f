"""The batched solve: solvers as a parameter, failures, the fixed-step shortcut."""

from __future__ import annotations

import pytest
import torch

from nodebio.models import fields, solve
from nodebio.errors import SolverError


def test_batched_solve_equals_one_by_one():
    torch.manual_seed(1)
    field = fields.VectorField(3, 2, width=8)
    times = torch.linspace(0.0, 20.0, 21)
    u, x0 = torch.randn(5, 21, 2), torch.randn(5, 3)
    together = solve.integrate(field, x0, times, u, solver="rk4", step_size=1.0)
    alone = torch.cat([solve.integrate(field, x0[i:i + 1], times, u[i:i + 1], solver="rk4", step_size=1.0)
                       for i in range(5)])
    assert together.shape == (5, 21, 3)
    assert torch.allclose(together, alone, atol=1e-6)


def test_solver_is_a_parameter_and_agrees():
    torch.manual_seed(2)
    field = fields.VectorField(2, 1, width=8).double()
    with torch.no_grad():
        field.output.weight.mul_(100)  # a field that does something
    times = torch.linspace(0.0, 10.0, 11, dtype=torch.float64)
    u, x0 = torch.randn(2, 11, 1, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
    fixed = solve.integrate(field, x0, times, u, solver="rk4", step_size=0.1)
    adaptive = solve.integrate(field, x0, times, u, solver="dopri5", rtol=1e-8, atol=1e-10)
    assert torch.allclose(fixed, adaptive, atol=1e-3)
    with pytest.raises(ValueError, match="Unknown solver 'rk5'"):
        solve.integrate(field, x0, times, u, solver="rk5")
    with pytest.raises(ValueError, match="positive step_size"):
        solve.integrate(field, x0, times, u, solver="rk4", step_size=0)


def test_diverging_field_is_a_solver_error():
    field = fields.VectorField(2, 1, width=4, activation="relu")
    with torch.no_grad():
        for p in field.parameters():
            p.fill_(50.0)
    times = torch.linspace(0.0, 10.0, 11)
    with pytest.raises(SolverError, match="NaN or inf"):
        solve.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver="rk4", step_size=1.0)
    with pytest.raises(SolverError, match="dopri5 solver failed"):
        solve.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver="dopri5", max_steps=3)


def test_fixed_step_shortcut_matches_torchdiffeq_exactly():
    import torchdiffeq

    torch.manual_seed(5)
    field = fields.VectorField(3, 2, width=8).double()
    with torch.no_grad():
        field.output.weight.mul_(50)
    times = torch.linspace(0.0, 72.0, 200, dtype=torch.float64)
    u, x0 = torch.randn(4, 200, 2, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for step in (2.0, 1.0, 0.7):
        ours = solve.integrate(field, x0, times, u, solver="rk4", step_size=step)
        field.set_controls(times, u)
        direct = torchdiffeq.odeint(field, x0, times, method="rk4", options={"step_size": step}).transpose(0, 1)
        assert torch.allclose(ours, direct, atol=1e-10), step
