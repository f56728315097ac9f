"""Simulating strains one at a time with a per-strain solver, for the models integrated by scipy
(the 2018 baseline's published solvers, the kinetic model)."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["simulate_each"]


def simulate_each(solve: Callable, times: np.ndarray, starts: np.ndarray, controls: np.ndarray,
                  clip_at_zero: bool) -> tuple[np.ndarray, list[str], list[int]]:
    """``solve(times, x0, u) -> (path, status, evaluations)`` for each strain in turn.

    Returns the paths (S, T, n) (clipped at zero where ``clip_at_zero``, NaN kept: a failed solve
    stays failed), the status of each strain and its number of field evaluations.
    """
    paths, statuses, evaluations = [], [], []
    for x0, u in zip(starts, controls):
        path, status, count = solve(times, x0, u)
        if clip_at_zero:
            path = np.where(np.isnan(path), np.nan, np.maximum(path, 0.0))
        paths.append(path)
        statuses.append(status)
        evaluations.append(count)
    return np.stack(paths), statuses, evaluations
