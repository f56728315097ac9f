"""The bridge from a hand-written neural ODE to the package's field."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nodebio.models.solve import integrate
from nodebio.scratch import field_from_mlp


def hand_written(n_states=3, n_controls=2, width=8, hidden=1, activation=nn.Tanh):
    layers = [nn.Linear(n_states + n_controls, width), activation()]
    for _ in range(hidden):
        layers += [nn.Linear(width, width), activation()]
    return nn.Sequential(*layers, nn.Linear(width, n_states))


@pytest.mark.parametrize("hidden,activation", [(1, nn.Tanh), (0, nn.Tanh), (2, nn.Softplus)])
def test_the_package_field_computes_the_hand_written_rates(hidden, activation):
    torch.manual_seed(0)
    mlp = hand_written(hidden=hidden, activation=activation).double()
    field = field_from_mlp(mlp, 3, 2)
    times = torch.linspace(0, 10, 11, dtype=torch.float64)
    controls = torch.randn(4, 11, 2, dtype=torch.float64)
    field.set_controls(times, controls)
    x = torch.randn(4, 3, dtype=torch.float64)
    t = torch.tensor(3.4, dtype=torch.float64)
    u_t = torch.lerp(controls[:, 3], controls[:, 4], 0.4)
    torch.testing.assert_close(field(t, x), mlp(torch.cat([x, u_t], -1)))


def test_the_same_weights_give_the_same_solution_through_both_solvers():
    import torchdiffeq

    torch.manual_seed(1)
    mlp = hand_written()
    field = field_from_mlp(mlp, 3, 2)
    times = torch.linspace(0, 12, 25)
    controls = torch.randn(2, 25, 2)
    x0 = torch.randn(2, 3)

    def by_hand(t, x):
        position = float(t) / float(times[1] - times[0])
        k = min(int(position), len(times) - 2)
        return mlp(torch.cat([x, torch.lerp(controls[:, k], controls[:, k + 1], position - k)], -1))

    expected = torchdiffeq.odeint(by_hand, x0, times, method="rk4", options={"step_size": 2.0}).transpose(0, 1)
    got = integrate(field, x0, times, controls, solver="rk4", step_size=2.0)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # an independent copy
        mlp[0].weight.add_(1.0)
    assert not torch.equal(field.input_states, mlp[0].weight[:, :3])


def test_networks_that_are_not_a_plain_mlp_field_are_refused():
    with pytest.raises(ValueError, match="maps 5 inputs to 3 outputs; a field of 3 states and 1 controls"):
        field_from_mlp(hand_written(), 3, 1)
    with pytest.raises(ValueError, match="one activation of Tanh"):
        field_from_mlp(nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)), 3, 2)
    with pytest.raises(ValueError, match=r"got \['Linear'\]"):
        field_from_mlp(nn.Sequential(nn.Linear(5, 3)), 3, 2)
