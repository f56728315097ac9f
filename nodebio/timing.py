"""Timing helpers for the benchmarks and the speed sections of the book."""

from __future__ import annotations

import statistics
import time
from typing import Callable
from nodebio.errors import UsageError


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """Median wall time (s) of ``repeats`` calls of ``function``, after one warm-up call."""
    if repeats < 1:
        raise UsageError(f"repeats must be at least 1, got {repeats}.")
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
