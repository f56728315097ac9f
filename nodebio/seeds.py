"""The one seed rule of the package.

Every entry point takes a seed; the numbers it derives from it are defined here and nowhere else,
so that the same seed gives the same numbers on CPU wherever it enters.

* **Model seed** ``s``: the initialisation and the training randomness (time windows, input noise)
  of one model.
* **Ensemble member** ``k`` of an ensemble with seed ``s`` has model seed :func:`member_seed`
  ``(s, k) = s + k``: an ensemble of 5 with seed 0 holds the models of seeds 0-4, exactly the models
  ``nodebio train --seed 0 ... --seed 4`` make one by one.
* **Sub-models** of one model (the per-state regressors of the derivative-regression baseline) get
  :func:`sub_seed` ``(s, j) = 1000 s + j``: distinct for the first thousand outputs, and different
  from every member seed of nearby seeds.
* **Random streams** that are not model initialisation use numpy generators keyed by the seed and a
  named stream, :func:`rng` ``(seed, stream)``: the synthetic strains (:data:`STRAINS`), their
  measurement noise (:data:`NOISE`), the strains drawn outside a training range
  (:data:`OUTSIDE`), the candidate designs of a recommendation (:data:`DESIGNS`), and the bootstrap sample of training strains of an ensemble
  member (:data:`BOOTSTRAP`, keyed by the member's seed).
* **Data seed**: data that are generated (the synthetic pathway) take a seed of their own,
  separate from the model seed (``nodebio train --dataset synthetic --data-seed D --seed S``):
  the same strains can be fitted with other model seeds, and vice versa.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRAINS", "NOISE", "OUTSIDE", "DESIGNS", "BOOTSTRAP", "member_seed", "sub_seed", "rng"]

#: Stream of the synthetic strains' parameters (expression levels, initial state, growth).
STRAINS = 0
#: Stream of the synthetic measurement noise.
NOISE = 1
#: Stream of the synthetic strains drawn outside the training range (which enzymes, how far).
OUTSIDE = 2
#: Stream of the random candidate designs of :mod:`nodebio.recommend`.
DESIGNS = 3
#: Stream of the bootstrap sample of training strains of an ensemble member.
BOOTSTRAP = 7


def member_seed(seed: int, k: int) -> int:
    """The model seed of member ``k`` (0-based) of an ensemble with seed ``seed``."""
    return int(seed) + int(k)


def sub_seed(seed: int, j: int) -> int:
    """The seed of sub-model ``j`` (e.g. the regressor of state j) of a model with seed ``seed``."""
    return int(seed) * 1000 + int(j)


def rng(seed: int, stream: int) -> np.random.Generator:
    """A numpy generator for one named ``stream`` of ``seed`` (see the module docstring)."""
    return np.random.default_rng([int(seed), int(stream)])
