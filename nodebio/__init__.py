"""nodebio: neural ODEs for metabolic pathway dynamics from time-series multiomics data.

The package behind the nodebio book. Submodules:

- :mod:`nodebio.data`: the Costello & Garcia Martin (2018) data (download, hash check,
  validated loading of the pathway tables or any tidy CSV) and the preprocessing steps
  (imputation, resampling to an even grid, scaling, strain splits).
- :mod:`nodebio.synthetic`: a mechanistic mevalonate-pathway model that emits data in the
  same layout, with a known ground truth for interventions.
- :mod:`nodebio.plots`: the figures of the book.
"""

__version__ = "0.1.0"

import importlib

from nodebio import data, synthetic  # noqa: E402  (submodules as attributes)

__all__ = ["data", "synthetic", "plots", "__version__"]


def __getattr__(name):
    # plots imports matplotlib, which is slow: load it on first use only.
    if name == "plots":
        return importlib.import_module("nodebio.plots")
    raise AttributeError(f"module 'nodebio' has no attribute {name!r}")
