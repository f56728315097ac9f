"""nodebio: neural ODEs for metabolic pathway dynamics from time-series multiomics data.

The package behind the nodebio book. The pipeline, one subpackage or module a step:

- :mod:`nodebio.data`: the Costello & Garcia Martin (2018) data (verified download, validated
  loading of the pathway tables or any tidy CSV), preprocessing, and the pathways' reactions.
- :mod:`nodebio.synthetic`: a mechanistic mevalonate-pathway model that emits data in the same
  layout, with a known ground truth for interventions.
- :mod:`nodebio.models`: the neural ODEs, the 2018 baseline, the model-free references, one
  registry (:func:`nodebio.models.make_model`) and one ensemble.
- :mod:`nodebio.metrics`: scoring simulations against the data.
- :mod:`nodebio.runs`: the run folder that ``nodebio train`` writes and ``nodebio simulate`` reads.
- :mod:`nodebio.store`: the model store, fitted models reused within a build (``NODEBIO_STORE``);
  :mod:`nodebio.plan`: the fits of an experiment listed first and run in parallel into it.
- :mod:`nodebio.experiments`: the comparison with the paper, the ablation, the validation of
  interventions on the synthetic truth.
- :mod:`nodebio.interventions`: what-if changes of enzyme levels, simulated with an ensemble;
  :mod:`nodebio.calibration`: intervals calibrated by inner leave-one-strain-out;
  :mod:`nodebio.recommend`: designs to build next, ranked.
- :mod:`nodebio.report`: computed numbers glued into the chapters; :mod:`nodebio.examples`: the
  example data of "Your own data"; :mod:`nodebio.scratch`: a hand-written neural ODE's weights in
  the package's field.
- :mod:`nodebio.plots`: the figures of the book; :mod:`nodebio.cli`: the ``nodebio`` command.
- :mod:`nodebio.errors`: every exception (one base, :class:`~nodebio.errors.NodebioError`);
  :mod:`nodebio.seeds`: the one seed rule; :mod:`nodebio.timing`: timing helpers.

Submodules load on first use (``nodebio.data`` imports neither scipy nor torch).
"""

__version__ = "0.2.0"

import importlib

_SUBMODULES = ("data", "synthetic", "models", "metrics", "runs", "experiments", "interventions", "calibration",
               "recommend", "plots", "report", "examples", "scratch", "cli", "errors", "seeds", "timing", "store",
               "safeio", "plan")

__all__ = [*_SUBMODULES, "__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"nodebio.{name}")
    raise AttributeError(f"module 'nodebio' has no attribute {name!r}")


def __dir__():
    return __all__
