"""The plain vector field and its penalties."""

from __future__ import annotations

import pytest
import torch

from nodebio.models import fields


def test_field_uses_controls_exactly_like_concatenation():
    torch.manual_seed(0)
    field = fields.VectorField(3, 2, width=8, depth=2)
    times = torch.linspace(0.0, 10.0, 11)
    u = torch.randn(4, 11, 2)
    x = torch.randn(4, 3)
    field.set_controls(times, u)
    t = torch.tensor(3.4)
    # reference: the MLP applied to [x, u(t)] with u interpolated linearly
    u_t = torch.lerp(u[:, 3], u[:, 4], 0.4)
    weight = torch.cat([field.input_states, field.input_controls], 1)
    h = torch.tanh(torch.nn.functional.linear(torch.cat([x, u_t], 1), weight, field.input_bias))
    h = torch.tanh(field.hidden[0](h))
    assert torch.allclose(field(t, x), field.output(h), atol=1e-6)
    # and on the grid, at every point at once
    states = torch.randn(4, 11, 3)
    rates = fields.rates_on_grid(field, states)
    assert torch.allclose(rates[:, 5], field(times[5], states[:, 5]), atol=1e-6)


def test_penalties():
    x = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    assert fields.negative_penalty(x, torch.tensor([1.0, 2.0])).item() == pytest.approx(1.0 / 4)
    rates = torch.tensor([[3.0, -1.0]])
    assert fields.derivative_penalty(rates, torch.tensor([1.0, 1.0])).item() == pytest.approx(4.0 / 2)
