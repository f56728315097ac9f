"""The bridge from a neural ODE written by hand to the package's.

The node chapter writes a neural ODE in plain torch and ``torchdiffeq``: a field
``nn.Sequential(Linear, Tanh, [Linear, Tanh]..., Linear)`` of the states and the controls, solved
with ``odeint``. :func:`field_from_mlp` puts the weights of such a network into the package's
:class:`~nodebio.models.fields.VectorField`, so that the same weights can be solved by both
(:func:`nodebio.models.integrate`), and the two can be checked against each other.
"""

from __future__ import annotations

import torch
from torch import nn

from nodebio.models.fields import VectorField
from nodebio.errors import UsageError

__all__ = ["field_from_mlp"]

#: torch's activation modules by the package's activation names.
_MODULES = {nn.Tanh: "tanh", nn.Softplus: "softplus", nn.SiLU: "silu", nn.ELU: "elu", nn.ReLU: "relu"}


def field_from_mlp(mlp: nn.Sequential, n_states: int, n_controls: int) -> VectorField:
    """A :class:`nodebio.models.VectorField` with the weights of ``mlp``, whose input is ``[states, controls]``.

    mlp : ``Linear, activation, (Linear, activation)..., Linear`` with one activation throughout
    (tanh, softplus, SiLU, ELU or ReLU), mapping ``n_states + n_controls`` inputs to
    ``n_states`` rates. The copy is independent of ``mlp`` (later training of one leaves the other).
    """
    layers = list(mlp)
    linear = [layer for layer in layers if isinstance(layer, nn.Linear)]
    activations = {type(layer) for layer in layers if not isinstance(layer, nn.Linear)}
    shape_ok = (len(layers) == 2 * len(linear) - 1 and len(linear) >= 2
                and all(isinstance(layer, nn.Linear) for layer in layers[::2]))
    if not shape_ok or len(activations) != 1 or next(iter(activations)) not in _MODULES:
        raise UsageError(
            "field_from_mlp needs nn.Sequential(Linear, activation, Linear, ..., Linear) with one activation "
            f"of {', '.join(m.__name__ for m in _MODULES)} throughout; got {[type(m).__name__ for m in layers]}.")
    first, last = linear[0], linear[-1]
    if first.in_features != n_states + n_controls or last.out_features != n_states:
        raise UsageError(
            f"The network maps {first.in_features} inputs to {last.out_features} outputs; a field of "
            f"{n_states} states and {n_controls} controls maps {n_states + n_controls} to {n_states}.")
    activation = _MODULES[next(iter(activations))]
    field = VectorField(n_states, n_controls, width=first.out_features, depth=len(linear) - 1, activation=activation)
    with torch.no_grad():
        field.input_states.copy_(first.weight[:, :n_states])
        field.input_controls.copy_(first.weight[:, n_states:])
        field.input_bias.copy_(first.bias)
        for target, source in zip(field.hidden, linear[1:-1]):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
        field.output.weight.copy_(last.weight)
        field.output.bias.copy_(last.bias)
    return field.to(first.weight.dtype)
