"""Every kind of vector field by name, and a field rebuilt from its saved ``config()``.

The one module that imports all fields (:mod:`~nodebio.models.fields`,
:mod:`~nodebio.models.structured`, :mod:`~nodebio.models.kinetic_field`), so that none of them
imports another's subclass: checkpoints name their field's ``kind`` and :func:`make_field` builds it.
"""

from __future__ import annotations

from torch import nn

from nodebio.errors import CheckpointMismatchError, unknown_message
from nodebio.models.fields import VectorField
from nodebio.models.kinetic_field import KineticField
from nodebio.models.structured import StructuredField

__all__ = ["FIELD_KINDS", "make_field"]

#: The ``kind`` in a field's ``config()`` -> its class (the plain field's config has no kind).
FIELD_KINDS: dict[str, type[nn.Module]] = {"mlp": VectorField, "structured": StructuredField, "kinetic": KineticField}


def make_field(config: dict) -> nn.Module:
    """A vector field from the ``config()`` of one (checkpoints): plain, structured or kinetic."""
    config = dict(config)
    kind = config.pop("kind", "mlp")
    if kind not in FIELD_KINDS:
        raise CheckpointMismatchError(unknown_message("kind of vector field", [kind], list(FIELD_KINDS)))
    return FIELD_KINDS[kind](**config)
