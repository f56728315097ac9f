"""The models: every one made by :func:`make_model`, fitted with ``fit(prepared)``, used with
``simulate(trajectories)``.

- :mod:`nodebio.models.fields`: the plain vector field (an MLP over states and controls) and its
  penalties; :mod:`nodebio.models.pathway_field`: what the pathway fields share;
  :mod:`nodebio.models.structured`: the pathway-structured field; :mod:`nodebio.models.kinetic_field`:
  the enzyme-linear kinetic field; :mod:`nodebio.models.field_kinds`: every field by kind;
  :mod:`nodebio.models.batched`: an ensemble's members trained as one batched model.
- :mod:`nodebio.models.solve`: :func:`integrate`, the batched solve: the fused fixed-step integrator
  (rk4, euler, midpoint) or any torchdiffeq solver.
- :mod:`nodebio.models.options`: :class:`TrainConfig`, every option of a neural ODE in one place.
- :mod:`nodebio.models.node`: :class:`NeuralODEModel` (with :class:`TrainConfig`): training,
  simulation and checkpoints of the neural ODE.
- :mod:`nodebio.models.baseline`: the 2018 derivative-regression pipeline (scikit-learn, no torch).
- :mod:`nodebio.models.references`: model-free references (the training-strain mean).
- :mod:`nodebio.models.kinetic`: :class:`CostelloKineticModel`, the Michaelis-Menten model of
  Costello & Garcia Martin (2018), with its SBML export.
- :mod:`nodebio.models.registry`: the model names, :func:`make_model`, :func:`prepare_for`.
- :mod:`nodebio.models.ensemble`: :class:`Ensemble`, the one ensemble of the package.

Names are loaded on first use, so ``from nodebio.models import baseline`` does not import torch.
"""

from __future__ import annotations

import importlib

#: public name -> the submodule that defines it
_NAMES = {
    "MODEL_NAMES": "registry", "NEURAL_MODELS": "registry", "QUICK_NODE_ITERATIONS": "registry",
    "QUICK_TREES": "registry", "make_model": "registry", "is_neural": "registry", "prepare_for": "registry", "prepare_like": "registry",
    "Ensemble": "ensemble",
    "NeuralODEModel": "node", "TrainConfig": "options", "resolve_device": "node", "STRUCTURE_DEFAULTS": "options",
    "GROUPS": "options", "SOLVER_TOLERANCE": "options", "CheckpointVersionWarning": "node",
    "StackedVectorField": "batched", "can_batch": "batched", "fit_members": "batched",
    "VectorField": "fields", "make_field": "field_kinds", "FIELD_KINDS": "field_kinds", "PathwayField": "pathway_field", "parameter_count": "fields", "rates_on_grid": "fields",
    "StructuredField": "structured", "STRUCTURED_OPTIONS": "structured", "structured_field": "structured",
    "KineticField": "kinetic_field", "KINETIC_OPTIONS": "kinetic_field", "kinetic_field": "kinetic_field",
    "integrate": "solve", "SOLVERS": "solve",
    "DerivativeRegressionModel": "baseline", "BaselineConfig": "baseline", "CompiledEnsemble": "baseline",
    "TrainingMeanModel": "references", "PersistenceModel": "references", "NearestStrainModel": "references",
    "ZeroModel": "references", "REFERENCE_MODELS": "registry",
    "CostelloKineticModel": "kinetic", "KineticConfig": "kinetic",
}
_SUBMODULES = ("options", "fields", "pathway_field", "field_kinds", "batched", "structured", "kinetic_field", "solve", "node", "baseline", "references", "registry", "ensemble", "kinetic")

__all__ = sorted(_NAMES) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(f"nodebio.models.{_NAMES[name]}"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"nodebio.models.{name}")
    raise AttributeError(f"module 'nodebio.models' has no attribute {name!r}")


def __dir__():
    return __all__
