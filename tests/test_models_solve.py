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


# -- the fused fixed-step integrator against torchdiffeq's loop ------------------------------------


def _lively(field, factor=50.0):
    with torch.no_grad():
        out = field.output.weight if hasattr(field, "output") else field.output_weight
        out.mul_(factor)
    return field


def _plain_field(use_time=False, activation="tanh"):
    torch.manual_seed(7)
    return _lively(fields.VectorField(3, 2, width=8, activation=activation, use_time=use_time).double())


def _structured_field():
    from nodebio.models.structured import StructuredField

    torch.manual_seed(8)
    S = [[-1.0, 0.0], [1.0, -1.0], [0.0, 1.0]]
    field = StructuredField(3, 2, stoichiometry=S, input_states=[[1, 0, 0], [0, 1, 0]],
                            input_controls=[[1, 0], [0, 1]], rate_scale=[1.0, 0.5], state_mean=[1.0, 1.0, 1.0],
                            state_scale=[0.5, 0.5, 0.5], width=6, flux_form="saturating")
    return _lively(field.double(), 100.0)


def _problem(batch=4, points=200):
    torch.manual_seed(9)
    times = torch.linspace(0.0, 72.0, points, dtype=torch.float64)
    return (torch.randn(batch, 3, dtype=torch.float64), times,
            torch.randn(batch, points, 2, dtype=torch.float64), 10.0 * torch.rand(batch, dtype=torch.float64))


@pytest.mark.parametrize("make", [_plain_field, lambda: _plain_field(use_time=True), _structured_field,
                                  lambda: _plain_field(activation="softplus")],
                         ids=["mlp", "mlp-time", "structured", "mlp-softplus"])
@pytest.mark.parametrize("method", solve.FUSED)
def test_fused_trajectories_equal_torchdiffeq(make, method):
    field = make()
    x0, times, u, offsets = _problem()
    for step in (2.0, 0.7):
        reference = solve.integrate(field, x0, times, u, solver="torchdiffeq-" + method, step_size=step,
                                    offsets=offsets)
        fused = solve.integrate(field, x0, times, u, solver=method, step_size=step, offsets=offsets)
        with torch.no_grad():  # the TorchScript kernel of the plain field
            scripted = solve.integrate(field, x0, times, u, solver=method, step_size=step, offsets=offsets)
        assert fused.shape == reference.shape == (4, 200, 3)
        assert (reference - x0.unsqueeze(1)).abs().max() > 0.1  # the trajectories do move
        assert torch.allclose(fused, reference, rtol=0, atol=1e-6), (method, step)
        assert torch.allclose(scripted, reference, rtol=0, atol=1e-6), (method, step)


@pytest.mark.parametrize("make", [_plain_field, _structured_field], ids=["mlp", "structured"])
def test_fused_gradients_equal_torchdiffeq(make):
    field = make()
    x0, times, u, _ = _problem(batch=3, points=37)  # a training window: 24 h
    times = times[:37] / 3.0
    x0 = x0.clone().requires_grad_()

    def gradients(solver):
        field.zero_grad()
        x0.grad = None
        predicted = solve.integrate(field, x0, times, u, solver=solver, step_size=2.0)
        (predicted ** 2).mean().backward()
        return {name: p.grad.clone() for name, p in field.named_parameters() if p.grad is not None}, x0.grad.clone()

    fused, fused_x0 = gradients("rk4")
    reference, reference_x0 = gradients("torchdiffeq-rk4")
    assert fused.keys() == reference.keys() and len(fused) > 3
    for name in reference:
        assert torch.allclose(fused[name], reference[name], rtol=1e-6, atol=1e-9), name
    assert torch.allclose(fused_x0, reference_x0, rtol=1e-6, atol=1e-9)


def test_fused_is_batched_over_strains_windows_and_scenarios():
    field = _plain_field()
    x0, times, u, offsets = _problem(batch=6)
    together = solve.integrate(field, x0, times, u, step_size=2.0, offsets=offsets)
    alone = torch.cat([solve.integrate(field, x0[i:i + 1], times, u[i:i + 1], step_size=2.0, offsets=offsets[i:i + 1])
                       for i in range(6)])
    assert torch.allclose(together, alone, rtol=0, atol=1e-12)
    # a large batch projects the controls in blocks of steps: the same numbers
    many = 300
    big = solve.integrate(field, x0.repeat(many // 6, 1), times, u.repeat(many // 6, 1, 1), step_size=2.0)
    assert solve._chunk(torch.empty(144, many, 2), 36) < 36
    assert torch.allclose(big[:6], solve.integrate(field, x0, times, u, step_size=2.0), rtol=0, atol=1e-12)


def test_euler_is_the_explicit_euler_method():
    field = _plain_field()
    x0, times, u, _ = _problem(batch=2, points=5)
    times = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    path = solve.integrate(field, x0, times, u, solver="euler", step_size=1.0)
    field.set_controls(times, u)
    x = x0
    for k in range(4):
        x = x + 1.0 * field(times[k], x)
        assert torch.allclose(path[:, k + 1], x, rtol=0, atol=1e-12)


def test_any_module_with_set_controls_is_integrated_through_forward():
    class Decay(torch.nn.Module):
        def set_controls(self, times, controls, offsets=None):
            self.rate = controls[:, 0, :1]

        def forward(self, t, x):
            return -self.rate * x

    times = torch.linspace(0.0, 4.0, 9, dtype=torch.float64)
    x0 = torch.ones(2, 1, dtype=torch.float64)
    u = torch.tensor([0.5, 1.0], dtype=torch.float64).reshape(2, 1, 1).expand(2, 9, 1)
    path = solve.integrate(Decay(), x0, times, u, solver="rk4", step_size=0.1)
    exact = torch.exp(-u[:, 0, :1] * times)
    assert torch.allclose(path[..., 0], exact, atol=1e-6)


def test_fused_divergence_and_solver_names():
    field = fields.VectorField(2, 1, width=4, activation="relu")
    with torch.no_grad():
        for p in field.parameters():
            p.fill_(50.0)
    times = torch.linspace(0.0, 10.0, 11)
    for solver in ("rk4", "euler", "torchdiffeq-rk4"):
        with pytest.raises(SolverError, match="NaN or inf"):
            solve.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver=solver, step_size=1.0)
    with pytest.raises(ValueError, match="positive step_size"):
        solve.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver="torchdiffeq-rk4", step_size=None)
    assert set(solve.FUSED) <= set(solve.SOLVERS) and "torchdiffeq-rk4" in solve.SOLVERS
