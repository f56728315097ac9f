"""The experiments of the book, each a function that returns tables:

- :mod:`nodebio.experiments.compare`: the paper's comparison (:func:`~nodebio.experiments.compare.reproduce`),
  leave-one-strain-out, the summary and improvement tables.
- :mod:`nodebio.experiments.ablation`: neural ODE configurations chosen by leave-one-strain-out
  within the training strains.
- :mod:`nodebio.experiments.validation`: predicted intervention effects against the synthetic truth.

Import the module you need: ``from nodebio.experiments import compare``.
"""

__all__ = ["compare", "ablation", "validation"]
