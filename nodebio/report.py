"""Results into prose: the chapters glue computed values by name and cite them in the text.

A chapter computes its numbers in a cell tagged ``remove-cell`` and hands them to
:func:`glue_all` in one call, so the visible cells hold the science and not the bookkeeping::

    report.glue_all({"n_seeds": SEEDS, "verdict": sentence})

and the prose cites them with ``{glue:text}`n_seeds```. Every value is stored without display.
"""

from __future__ import annotations

from collections.abc import Mapping
from nodebio.errors import UsageError

__all__ = ["glue_all"]


def glue_all(values: Mapping[str, object]) -> None:
    """Glue every ``key: value`` pair for ``{glue:text}`key```; returns None, so that a call at the
    end of a cell shows nothing.

    Keys must be identifiers (letters, digits, underscores) so that a glue key left in the text
    by mistake is easy to find in the rendered page; a key that is not one raises ValueError.
    """
    from myst_nb import glue  # the chapters' dependency, not the package's

    for key, value in values.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise UsageError(f"glue key {key!r} is not an identifier; use letters, digits and underscores")
        glue(key, value, display=False)
