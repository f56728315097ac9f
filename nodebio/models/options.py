"""Every option of a neural ODE in one place: :class:`TrainConfig`, the defaults that depend on
the structure (:data:`STRUCTURE_DEFAULTS`, each measured) and the concerns the options belong to
(:data:`GROUPS`). :class:`~nodebio.models.node.NeuralODEModel` trains with one; the registry, the
command line, the store's key and the ablation all read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import torch

from nodebio import data as _data
from nodebio.errors import UsageError, unknown_message

__all__ = ["TrainConfig", "STRUCTURE_DEFAULTS", "GROUPS", "SOLVER_TOLERANCE", "STRUCTURES", "DTYPES"]

DTYPES = {"float32": torch.float32, "float64": torch.float64}
#: The kinds of vector field: one MLP over everything, the pathway-structured field, or the
#: enzyme-linear kinetic field (:mod:`nodebio.models.kinetic_field`).
STRUCTURES = ("mlp", "structured", "kinetic")


#: The concerns a training option belongs to, in the order :meth:`TrainConfig.groups` lists them.
GROUPS = ("field", "solver", "optimiser", "penalties", "data", "run")


def _option(default, group: str, applies: tuple[str, ...] = STRUCTURES):
    """A field of :class:`TrainConfig`: its default, its concern and the structures it applies to."""
    return field(default=default, metadata={"group": group, "applies": applies})


#: The options whose default depends on the structure, one place for all of them (the registry's
#: ``node-structured`` and ``node-kinetic`` are ``structure="structured"`` and ``"kinetic"`` with
#: these defaults, and nothing else). Measured in the modules of the fields: the structured field
#: without losses (:mod:`nodebio.models.structured`), the kinetic field's log-scaled states,
#: first-order losses and no flux correction ("Why these defaults" in
#: :mod:`nodebio.models.kinetic_field`).
#:
#: The rk4 step (``step_size``, h) is the largest of 2, 1 and 0.5 h at which the simulation of the
#: training strains lies within :data:`SOLVER_TOLERANCE` of the converged solution of the same
#: ODE (dopri5, rtol 1e-7), on both pathways, for a model trained at that step:
#: ``python benchmarks/solver_check.py`` (2-core CPU, seed 0, training strains only; largest
#: deviation in units of each state's training spread, limonene / isopentenol):
#:
#: ========== ============== ============== ==============
#: step (h)   plain          structured     kinetic
#: ========== ============== ============== ==============
#: 2          0.135 / 0.124  0.068 / 0.052  0.019 / 0.021
#: 1          0.041 / 0.061  0.033 / 0.021  0.005 / 0.005
#: 0.5        0.009 / 0.022  0.009 / 0.006  0.001 / 0.001
#: ========== ============== ============== ==============
#:
#: The former 2-h step for every structure (chosen for speed, training loss alone) put the plain
#: field's trajectories 0.12-0.13 training spreads away from its own ODE's solution.
STRUCTURE_DEFAULTS: dict[str, dict[str, Any]] = {
    "mlp": {"state_scaling": _data.STATE_SCALING, "control_scaling": _data.CONTROL_SCALING, "step_size": 0.5},
    "structured": {"state_scaling": _data.STATE_SCALING, "control_scaling": _data.CONTROL_SCALING,
                   "first_order_loss": False, "step_size": 1.0},
    "kinetic": {"state_scaling": "log1p", "control_scaling": "none", "first_order_loss": True,
                "flux_correction": False, "step_size": 2.0},
}
#: The largest deviation of a default simulation from the converged solution, in units of each
#: state's training spread, that the defaults' steps keep to (:func:`nodebio.metrics.solver_error`):
#: a twentieth of the spread, well below the models' own errors (scaled RMSE 0.1-1).
SOLVER_TOLERANCE = 0.05


@dataclass
class TrainConfig:
    """Every option of a neural ODE, in one place (saved in checkpoints and in the store's key).

    Each option belongs to one concern (:data:`GROUPS`; :meth:`groups` gives them apart) and
    applies to some structures only: giving one that does not apply (``width`` to the structured
    field, ``homeostatic_supply`` to the plain one) is an error that names it. Options whose
    default depends on the structure are None until resolved from :data:`STRUCTURE_DEFAULTS`, so
    ``TrainConfig(structure="kinetic")`` and ``make_model("node-kinetic")`` are the same model.
    :meth:`get_params` lists the options that apply, as scikit-learn's estimators do.

    Field (``structure`` is ``"mlp"``: one MLP over all states and controls; ``"structured"``: the
    stoichiometry times non-negative reaction fluxes, :class:`nodebio.models.structured.StructuredField`,
    from the dataset's reactions :func:`nodebio.data.reactions_for` or the ``reactions`` given to
    :class:`NeuralODEModel`; ``"kinetic"``: fluxes proportional to their enzymes,
    :class:`nodebio.models.kinetic_field.KineticField`): ``width``, ``use_time`` (mlp); ``depth``,
    ``activation`` (mlp, structured); ``flux_width`` (hidden units per reaction), ``flux_form``
    (``"softplus"`` or ``"saturating"``), ``monotone_fluxes`` (structured); ``yields``
    (``"learned"`` or ``"stoichiometric"``), ``first_order_loss`` (learned first-order losses per
    metabolite) (structured, kinetic); ``flux_correction`` (a learned factor in (0, 1) of each
    flux), ``growth`` (the OD control whose growth rate dilutes the pools, or None),
    ``od_product`` (the product made in proportion to OD), ``homeostatic_supply`` (a supply
    refills its pool towards a learned set point) (kinetic).

    Solver: ``solver`` (one of :data:`nodebio.models.SOLVERS`: the package's fused ``rk4`` by
    default, any torchdiffeq method, or ``torchdiffeq-rk4``), ``step_size`` (h, fixed-step
    solvers; by structure, :data:`STRUCTURE_DEFAULTS`, measured there), ``rtol``/``atol`` (adaptive
    solvers), ``adjoint``.

    Optimiser: ``iterations``, ``learning_rate`` (cosine-decayed to
    ``learning_rate * lr_final_fraction``), ``weight_decay``, ``grad_clip`` (max gradient norm),
    ``window_hours``/``windows_per_strain`` (sub-trajectories; None for whole trajectories),
    ``eval_every``/``patience`` (early stopping on the training strains), ``input_noise`` (sd of
    Gaussian noise added to the scaled initial state of every training window),
    ``collocation_iterations`` (Adam steps matching the field's rates to the slopes of the training
    data before the trajectory training: a warm start by derivative matching).

    Penalties: ``negative_weight`` (negative concentrations, original units),
    ``derivative_weight`` with ``derivative_limit`` (multiple of the largest ``|dx/dt|`` of the
    training data).

    Data: ``state_scaling``, ``control_scaling`` (the kinetic field needs ``"none"``),
    ``n_points``. Run: ``dtype``, ``device``, ``seed``.

    Threads are not an option: the library never changes torch's thread count (a process-wide
    setting). The ``nodebio`` command and the book's build run torch on one thread
    (``OMP_NUM_THREADS=1``), fastest for these tiny tensors: a limonene run took 13 s with one
    thread and 19 s with two.
    """

    structure: str = _option("mlp", "field")
    width: int = _option(64, "field", ("mlp",))
    depth: int = _option(2, "field", ("mlp", "structured"))
    activation: str = _option("tanh", "field", ("mlp", "structured"))
    use_time: bool = _option(False, "field", ("mlp",))
    flux_width: int = _option(16, "field", ("structured",))
    flux_form: str = _option("softplus", "field", ("structured",))
    monotone_fluxes: bool = _option(False, "field", ("structured",))
    yields: str = _option("learned", "field", ("structured", "kinetic"))
    first_order_loss: bool | None = _option(None, "field", ("structured", "kinetic"))
    flux_correction: bool | None = _option(None, "field", ("kinetic",))
    growth: str | None = _option(None, "field", ("kinetic",))
    od_product: bool = _option(False, "field", ("kinetic",))
    homeostatic_supply: bool = _option(False, "field", ("kinetic",))
    solver: str = _option("rk4", "solver")
    step_size: float | None = _option(None, "solver")
    rtol: float = _option(1e-4, "solver")
    atol: float = _option(1e-5, "solver")
    adjoint: bool = _option(False, "solver")
    iterations: int = _option(300, "optimiser")
    learning_rate: float = _option(1e-2, "optimiser")
    lr_final_fraction: float = _option(0.05, "optimiser")
    weight_decay: float = _option(0.0, "optimiser")
    grad_clip: float = _option(1.0, "optimiser")
    window_hours: float | None = _option(24.0, "optimiser")
    windows_per_strain: int = _option(8, "optimiser")
    eval_every: int = _option(10, "optimiser")
    patience: int = _option(10, "optimiser")
    input_noise: float = _option(0.0, "optimiser")
    collocation_iterations: int = _option(0, "optimiser")
    negative_weight: float = _option(1.0, "penalties")
    derivative_weight: float = _option(0.0, "penalties")
    derivative_limit: float = _option(3.0, "penalties")
    state_scaling: str | None = _option(None, "data")
    control_scaling: str | None = _option(None, "data")
    n_points: int = _option(200, "data")
    dtype: str = _option("float32", "run")
    device: str = _option("auto", "run")
    seed: int = _option(0, "run")

    def __post_init__(self):
        if self.structure not in STRUCTURES:
            raise UsageError(f"structure must be one of {', '.join(STRUCTURES)}, got {self.structure!r}.")
        foreign = [f.name for f in fields(self) if self.structure not in f.metadata["applies"]
                   and getattr(self, f.name) != f.default]
        if foreign:
            where = {name: ", ".join(_applies(name)) for name in foreign}
            raise UsageError(
                f"Option(s) that do not apply to structure={self.structure!r}: "
                + "; ".join(f"{name} (for {where[name]})" for name in foreign)
                + ". Leave them out, or choose the structure they belong to.")
        for name, value in STRUCTURE_DEFAULTS[self.structure].items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.structure == "kinetic" and self.control_scaling != "none":
            raise UsageError("The kinetic field takes the enzyme levels in original units: use "
                             f"control_scaling='none' with structure='kinetic', not {self.control_scaling!r}.")
        if self.od_product and self.growth is None:
            raise UsageError("od_product needs growth (the name of the OD control, e.g. growth='OD600').")
        if self.collocation_iterations < 0:
            raise UsageError(f"collocation_iterations must be non-negative, got {self.collocation_iterations}.")
        if self.yields not in ("learned", "stoichiometric"):
            raise UsageError(f"yields must be 'learned' or 'stoichiometric', got {self.yields!r}.")
        if self.input_noise < 0:
            raise UsageError(f"input_noise must be non-negative, got {self.input_noise}.")
        if self.dtype not in DTYPES:
            raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}.")
        for name in ("iterations", "eval_every", "patience", "windows_per_strain", "n_points"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}.")
        for name in ("learning_rate", "step_size", "rtol", "atol", "grad_clip"):
            if not getattr(self, name) > 0:
                raise UsageError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.window_hours is not None and not self.window_hours > 0:
            raise UsageError(f"window_hours must be positive or None, got {self.window_hours}.")

    def get_params(self) -> dict[str, Any]:
        """The options that apply to this structure, by name (what a store key and a table list)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if self.structure in f.metadata["applies"]}

    def set_params(self, **options) -> "TrainConfig":
        """A new config with ``options`` changed, validated as a new one is."""
        return TrainConfig.from_dict({**self.get_params(), **options})

    def groups(self) -> dict[str, dict[str, Any]]:
        """The options that apply, by concern: ``{"field": {...}, "solver": {...}, ...}``."""
        out: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
        for f in fields(self):
            if self.structure in f.metadata["applies"]:
                out[f.metadata["group"]][f.name] = getattr(self, f.name)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """A config from options by name; an unknown name is an error that suggests the closest."""
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise UsageError(unknown_message("training option", unknown, known))
        return cls(**values)

    @classmethod
    def from_checkpoint(cls, values: dict) -> "TrainConfig":
        """The config saved in a checkpoint, also one written by an older version of the package
        (which saved every option, applicable or not, and some options since retired)."""
        structure = values.get("structure", "mlp")
        applies = {f.name for f in fields(cls) if structure in f.metadata["applies"]}
        return cls.from_dict({k: v for k, v in values.items() if k in applies})


def _applies(name: str) -> tuple[str, ...]:
    return next(f.metadata["applies"] for f in fields(TrainConfig) if f.name == name)
