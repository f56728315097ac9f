"""Every model by name: one :func:`make_model`, one ``fit`` signature.

The names: ``node`` (the neural ODE, :class:`~nodebio.models.node.NeuralODEModel`),
``node-structured`` (the same with ``structure="structured"``, the pathway-structured field),
``node-kinetic`` (``structure="kinetic"``, the enzyme-linear kinetic field); their options and
defaults live in one place, :class:`~nodebio.models.options.TrainConfig`, so
``make_model("node-kinetic")`` and ``NeuralODEModel(structure="kinetic")`` are the same model.
``baseline-gb`` and ``baseline-rf`` (the
2018 derivative-regression pipeline with gradient boosting or random forests,
:class:`~nodebio.models.baseline.DerivativeRegressionModel`), and the model-free references
``mean`` (the training-strain mean), ``persistence`` (initial values held), ``nearest`` (the
training strain with the closest enzyme levels) and ``zero`` (:mod:`nodebio.models.references`); and
``costello-kinetic`` (Costello & Garcia Martin's Michaelis-Menten model of the limonene pathway,
:class:`~nodebio.models.kinetic.CostelloKineticModel`; limonene table only; ``kinetic`` is its
former name, still accepted).

Every model, whatever its kind, is used the same way::

    model = make_model(name, seed=0).fit(prepared, progress=False)
    predicted = model.simulate(prepared.test)          # (strains, times, states), original units

and :func:`prepare_for` prepares a dataset with the scaling the model was configured with.
"""

from __future__ import annotations

from typing import Sequence

from nodebio import data as _data
from nodebio.errors import UsageError, unknown_message

__all__ = ["MODEL_NAMES", "ALIASES", "STRUCTURE_OF", "NEURAL_MODELS", "REFERENCE_MODELS", "QUICK_NODE_ITERATIONS", "QUICK_TREES", "make_model", "is_neural",
           "prepare_for", "prepare_like"]

MODEL_NAMES = ("node", "node-structured", "node-kinetic", "baseline-gb", "baseline-rf", "mean", "persistence", "nearest", "zero",
               "costello-kinetic")
#: Former names still accepted by :func:`make_model`: name -> current name.
ALIASES = {"kinetic": "costello-kinetic"}
#: The structure of each neural ODE variant (its other defaults: :class:`~nodebio.models.options.TrainConfig`).
STRUCTURE_OF = {"node": "mlp", "node-structured": "structured", "node-kinetic": "kinetic"}
#: The neural ODE variants among :data:`MODEL_NAMES`.
NEURAL_MODELS = ("node", "node-structured", "node-kinetic")
#: The model-free references among :data:`MODEL_NAMES` (:mod:`nodebio.models.references`).
REFERENCE_MODELS = ("mean", "persistence", "nearest", "zero")
#: The size of a quick model (tests, CI, the quick book): training iterations of a neural ODE...
QUICK_NODE_ITERATIONS = 20
#: ... and trees of a baseline ensemble.
QUICK_TREES = 10


def is_neural(name: str) -> bool:
    """True for the neural ODE variants (they train with torch, checkpoint, and form ensembles)."""
    return name in NEURAL_MODELS


def make_model(name: str, *, seed: int = 0, quick: bool = False, configuration: str = "careful",
               device: str = "auto", **options):
    """A fresh, unfitted model by name (one of :data:`MODEL_NAMES`).

    ``quick`` makes it small (few iterations, trees or generations) for tests and CI;
    ``configuration`` (``"published"`` or ``"careful"``) applies to the baselines and the kinetic
    model; ``options`` go to the model's configuration (:class:`~nodebio.models.options.TrainConfig`,
    :class:`~nodebio.models.baseline.BaselineConfig` or
    :class:`~nodebio.models.kinetic.KineticConfig`).
    """
    name = ALIASES.get(name, name)
    if is_neural(name):
        from nodebio.models.node import NeuralODEModel

        structure = options.setdefault("structure", STRUCTURE_OF[name])
        if structure != STRUCTURE_OF[name]:
            raise UsageError(f"The model {name!r} has structure={STRUCTURE_OF[name]!r}, not {structure!r}: "
                             f"use the model {next(n for n, s in STRUCTURE_OF.items() if s == structure)!r} instead.")
        if quick:
            options = {"iterations": QUICK_NODE_ITERATIONS, "eval_every": 5, **options}
        return NeuralODEModel(seed=seed, device=device, **options)
    if name in ("baseline-gb", "baseline-rf"):
        from nodebio.models.baseline import DerivativeRegressionModel

        if quick:
            options = {"n_estimators": QUICK_TREES, **options}
        return DerivativeRegressionModel(regressor=name.split("-")[1], configuration=configuration, seed=seed,
                                         **options)
    if name in REFERENCE_MODELS:
        from nodebio.models.references import REFERENCES

        if options:
            raise UsageError(f"The model {name!r} takes no options, got {', '.join(sorted(options))}.")
        return REFERENCES[name]()
    if name == "costello-kinetic":
        from nodebio.models.kinetic import CostelloKineticModel

        return CostelloKineticModel(configuration=configuration, seed=seed, quick=quick, **options)
    raise UsageError(unknown_message("model", [name], MODEL_NAMES))


def prepare_for(model, dataset: _data.Dataset, train: Sequence[str] | None = None,
                test: Sequence[str] | None = None, **options) -> _data.PreparedData:
    """:func:`nodebio.data.prepare` with the scalings of ``model`` (a model or an ensemble): those of
    its configuration when it has them, else the package's defaults. A kinetic model with
    ``growth="OD600"`` needs that column among the controls: a pathway of the package is reloaded
    with it (the tables have it); any other dataset must have been loaded with it. ``options``
    (e.g. ``n_points``) go to :func:`nodebio.data.prepare`."""
    config = getattr(model, "config", None)
    growth = getattr(config, "growth", None)
    if growth is not None and growth not in dataset.controls:
        dataset = _with_control(dataset, growth)
    return _data.prepare(dataset, train, test,
                         state_scaling=getattr(config, "state_scaling", _data.STATE_SCALING),
                         control_scaling=getattr(config, "control_scaling", _data.CONTROL_SCALING), **options)


def prepare_like(model, prepared: _data.PreparedData) -> _data.PreparedData:
    """``prepared`` itself when it already has what ``model`` needs (its scalings and, for
    ``growth``, the OD column), else the same split and grid prepared for it by :func:`prepare_for`."""
    config = getattr(model, "config", None)
    wanted = (getattr(config, "state_scaling", prepared.state_scaler.method),
              getattr(config, "control_scaling", prepared.control_scaler.method))
    growth = getattr(config, "growth", None)
    if wanted == (prepared.state_scaler.method, prepared.control_scaler.method) and (
            growth is None or growth in prepared.train.controls):
        return prepared
    return prepare_for(model, prepared.dataset, prepared.train.strains, prepared.test.strains,
                       n_points=len(prepared.train.times))


def _with_control(dataset: _data.Dataset, column: str) -> _data.Dataset:
    """``dataset`` reloaded with one more control column (datasets of the package only)."""
    spec = _data.PATHWAYS.get(dataset.name)
    if spec is None or dataset.sha256 != _data.REGISTRY[spec.file].sha256:
        raise _data.DataValidationError(
            f"The model needs the column {column!r} among the controls (growth={column!r}), and the dataset "
            f"{dataset.name!r} has only {', '.join(dataset.controls)}: load it with {column!r} among the controls "
            f"(nodebio train --controls ... {column}), or train without growth.")
    from pathlib import Path

    folder = Path(dataset.source).parent if dataset.source else None  # the folder it was loaded from
    reloaded = _data.load(dataset.name, states=dataset.states, controls=[*dataset.controls, column], data_dir=folder)
    return reloaded.subset(dataset.strains) if set(dataset.strains) != set(reloaded.strains) else reloaded
