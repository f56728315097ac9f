"""Training the neural ODE, simulating strains with it, and its checkpoints.

:class:`NeuralODEModel` has the shape of a scikit-learn estimator: ``fit`` on the training
strains of a :class:`nodebio.data.PreparedData`, ``simulate`` any strain from its initial state
and its controls, ``save``/``load`` a checkpoint.

Training
--------
Adam with a cosine learning-rate schedule and gradient clipping minimises the mean squared error
of the scaled states at the grid points, plus optional physiology-informed penalties (negative
concentrations in original units; derivatives far above the largest rate seen in the training
data). Every ``eval_every`` iterations the whole training trajectories are simulated from their
initial states; the best such loss selects the weights that are kept, and ``patience``
evaluations without improvement stop training early. Only training strains are ever used.

Mini-batching over time windows: each iteration simulates ``windows_per_strain`` random
sub-trajectories of ``window_hours`` per training strain, each started from the (interpolated)
data at its start. A 24 h window costs a third of a 72 h solve, gives many different starting
states per iteration (two strains give few), and keeps early training from chasing errors that
compounded over the whole experiment. The full-trajectory evaluation keeps the selected model
honest about long simulations. ``window_hours=None`` trains on whole trajectories.
"""

from __future__ import annotations

import copy
import math
import pickle
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nodebio
from nodebio import data as _data
from nodebio import safeio
from nodebio.errors import (CheckpointMismatchError, DeviceError, MissingFileError, NotFittedError, SolverError,
                            TrainingDivergedError, UsageError, check_names)
from nodebio.models.field_kinds import make_field
from nodebio.models.fields import VectorField, derivative_penalty, negative_penalty, rates_on_grid
# the options live in their own module; their names stay importable from here
from nodebio.models.options import DTYPES, GROUPS, SOLVER_TOLERANCE, STRUCTURE_DEFAULTS, STRUCTURES, TrainConfig
from nodebio.models.pathway_field import concentrations
from nodebio.models.solve import integrate
from nodebio.models.kinetic_field import KineticField, kinetic_field
from nodebio.models.structured import StructuredField, structured_field

__all__ = [
    "TrainConfig",
    "STRUCTURE_DEFAULTS",
    "GROUPS",
    "SOLVER_TOLERANCE",
    "STRUCTURES",
    "NeuralODEModel",
    "TrainingDivergedError",
    "CheckpointMismatchError",
    "DeviceError",
    "resolve_device",
    "CheckpointVersionWarning",
]



class CheckpointVersionWarning(UserWarning):
    """A checkpoint written by another version of the package was loaded."""


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"``: CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` or ``"cuda:N"``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(
                f"device={device!r} was requested but PyTorch sees no CUDA GPU on this machine "
                f"(torch {torch.__version__}, CUDA build: {torch.version.cuda is not None}). Use "
                "device='auto' or 'cpu', or install a CUDA build of torch on a machine with a GPU."
            )
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise DeviceError(f"Unknown device {device!r}: use 'auto', 'cpu' or 'cuda'.")


class NeuralODEModel:
    """A neural ODE of a pathway: ``fit`` on training strains, ``simulate`` any strain.

    After ``fit``: ``field`` (the torch module), ``state_scaler``/``control_scaler``,
    ``states``/``controls`` (names), ``times`` (the training grid, h), ``history`` (one dict per
    iteration: ``iteration, loss, data_loss, penalty, lr`` and ``train_rollout_loss`` where
    evaluated), ``train_strains``, ``data_sha256``, ``fit_seconds``.
    """

    name = "node"

    def __init__(self, config: TrainConfig | None = None, *, reactions=None, **options: Any):
        base = config.get_params() if config is not None else {}
        self.config = TrainConfig.from_dict({**base, **options})
        #: the reaction list of a ``structure="structured"`` model (None: the dataset's own)
        self.reactions = None if reactions is None else tuple(
            r if isinstance(r, _data.Reaction) else _data.Reaction.from_dict(r) for r in reactions)
        self.field: VectorField | StructuredField | KineticField | None = None
        self.history: list[dict] = []
        #: the losses of the derivative-matching warm start (``collocation_iterations``), one per step
        self.collocation_history: list[float] = []
        self.fit_seconds: float | None = None

    def get_params(self) -> dict:
        """Every option that applies to this model, by name (:meth:`TrainConfig.get_params`)."""
        return self.config.get_params()

    # -- fitting ---------------------------------------------------------------------------------

    def _tensor(self, values) -> torch.Tensor:
        return torch.as_tensor(np.asarray(values), dtype=DTYPES[self.config.dtype], device=self.device)

    def fit(self, prepared: _data.PreparedData, *, checkpoint: str | Path | None = None,
            resume: bool = False, progress: bool = True) -> "NeuralODEModel":
        """Train on ``prepared.train`` (never on ``prepared.test``).

        checkpoint : path of a checkpoint written at every evaluation (and on failure: the last
            good weights). resume : continue from that checkpoint (same data and options).
        """
        self.device = resolve_device(self.config.device)
        return self._fit(prepared, Path(checkpoint) if checkpoint else None, resume, progress)

    def _setup(self, prepared: _data.PreparedData) -> None:
        cfg = self.config
        self.states, self.controls = tuple(prepared.train.states), tuple(prepared.train.controls)
        self.state_scaler, self.control_scaler = prepared.state_scaler, prepared.control_scaler
        self.times = np.asarray(prepared.train.times, dtype=float)
        self.train_strains = tuple(prepared.train.strains)
        self.test_strains = tuple(prepared.test.strains)
        self.dataset_name = prepared.dataset.name
        self.data_sha256 = prepared.dataset.sha256
        self.units = {k: v for k, v in prepared.dataset.units.items() if k in self.states + self.controls}
        torch.manual_seed(cfg.seed)
        if cfg.structure != "mlp" and self.reactions is None:
            self.reactions = _data.reactions_for(prepared.dataset.name)
        if cfg.structure == "kinetic":
            field = kinetic_field(prepared, self.reactions, growth=cfg.growth, correction=cfg.flux_correction,
                                  od_product=cfg.od_product, yields=cfg.yields, first_order_loss=cfg.first_order_loss,
                                  homeostatic_supply=cfg.homeostatic_supply)
        elif cfg.structure == "structured":
            field = structured_field(prepared, self.reactions, width=cfg.flux_width, depth=cfg.depth,
                                     activation=cfg.activation, flux_form=cfg.flux_form, yields=cfg.yields,
                                     first_order_loss=cfg.first_order_loss, monotone=cfg.monotone_fluxes)
        else:
            field = VectorField(len(self.states), len(self.controls), cfg.width, cfg.depth, cfg.activation,
                                cfg.use_time)
        self.field = field.to(self.device, DTYPES[cfg.dtype])

    def _fit(self, prepared, checkpoint, resume, progress):
        from tqdm import tqdm

        cfg = self.config
        saved = self._resume_state(prepared, checkpoint) if resume else None
        self._setup(prepared)
        objective = _Objective(self, prepared)
        if saved is None and cfg.collocation_iterations:
            self.collocation_history = objective.collocate(cfg.collocation_iterations, progress)
        optimizer = torch.optim.Adam(self.field.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=cfg.iterations, eta_min=cfg.learning_rate * cfg.lr_final_fraction)
        generator = torch.Generator().manual_seed(cfg.seed)
        track = {"iteration": 0, "best_loss": math.inf, "bad_evals": 0, "best_field": None}
        self.history = []
        if saved is not None:
            self.field.load_state_dict(saved["field"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            scheduler.T_max = cfg.iterations  # a resumed run may be longer than the saved one
            generator.set_state(saved["generator"])
            track.update(iteration=saved["iteration"], best_loss=saved["best_loss"], bad_evals=saved["bad_evals"],
                         best_field=saved["best_field"])
            self.history = list(saved["history"])

        def save_progress():
            if checkpoint is not None:
                self._write(checkpoint, optimizer=optimizer, scheduler=scheduler, generator=generator, **track)

        started = time.perf_counter()
        bar = tqdm(range(track["iteration"], cfg.iterations), desc=f"training ({self.dataset_name})",
                   disable=not progress, initial=track["iteration"], total=cfg.iterations)
        for iteration in bar:
            random_state = generator.get_state()
            try:
                record = self._step(objective, optimizer, scheduler, generator, iteration)
            except SolverError as error:
                self._diverged(error, iteration + 1, track["best_field"], checkpoint)
            except KeyboardInterrupt:
                # keep every completed iteration: the checkpoint resumes exactly where this one began
                generator.set_state(random_state)
                bar.close()
                save_progress()
                raise
            self.history.append(record)
            track["iteration"] = iteration + 1
            bar.set_postfix(loss=f"{record['loss']:.4f}",
                            rollout=f"{track['best_loss']:.4f}" if track["best_loss"] < math.inf else "-")
            if "train_rollout_loss" not in record:
                continue
            if record["train_rollout_loss"] < track["best_loss"] - 1e-6:
                track.update(best_loss=record["train_rollout_loss"], bad_evals=0,
                             best_field=copy.deepcopy(self.field.state_dict()))
            else:
                track["bad_evals"] += 1
            save_progress()
            if track["bad_evals"] >= cfg.patience:
                bar.write(f"early stop at iteration {iteration + 1}: no better training rollout "
                          f"in {cfg.patience} evaluations")
                break
        bar.close()
        if track["best_field"] is not None:
            self.field.load_state_dict(track["best_field"])
        self.best_train_rollout_loss = track["best_loss"]
        self.fit_seconds = time.perf_counter() - started
        save_progress()
        return self

    def _step(self, objective: "_Objective", optimizer, scheduler, generator, iteration: int) -> dict:
        """One optimisation step on a batch of windows; the record of the iteration."""
        cfg = self.config
        loss, data_loss, penalty = objective.loss(objective.batch(generator))
        if not torch.isfinite(loss):
            raise SolverError(f"the loss is {float(loss)}")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.field.parameters(), cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        record = {"iteration": iteration + 1, "loss": loss.item(), "data_loss": data_loss.item(),
                  "penalty": penalty.item(), "lr": optimizer.param_groups[0]["lr"]}
        if (iteration + 1) % cfg.eval_every == 0 or iteration + 1 == cfg.iterations:
            record["train_rollout_loss"] = objective.rollout_loss()
        return record

    def _resume_state(self, prepared: _data.PreparedData, checkpoint: Path | None) -> dict:
        """The training state of ``checkpoint``, checked against these data and options."""
        cfg = self.config
        if checkpoint is None or not checkpoint.exists():
            raise MissingFileError(f"Cannot resume: no checkpoint at {checkpoint}. Start without --resume.")
        state = _read_checkpoint(checkpoint, self.device if hasattr(self, "device") else "cpu")
        if "optimizer" not in state:
            raise CheckpointMismatchError(
                f"{checkpoint} holds final weights only (written by save() or after training "
                "stopped), not a training state: it cannot be resumed. Start a new run, or load "
                "it with NeuralODEModel.load() to use it."
            )
        same_data = (state["data_sha256"] == prepared.dataset.sha256
                     and list(state["train_strains"]) == list(prepared.train.strains)
                     and list(state["states"]) == list(prepared.train.states)
                     and list(state["controls"]) == list(prepared.train.controls))
        if not same_data:
            raise CheckpointMismatchError(
                f"Cannot resume {checkpoint}: it was trained on {state['dataset']!r} strains "
                f"{', '.join(state['train_strains'])} (data sha256 {str(state['data_sha256'])[:12]}), not on "
                f"these data ({prepared.dataset.name!r}, {', '.join(prepared.train.strains)}). "
                "Resume with the same data and split, or start a new run."
            )
        saved, now = TrainConfig.from_checkpoint(state["config"]).get_params(), cfg.get_params()
        changed = {k for k in {*saved, *now} if k not in ("iterations", "device") and saved.get(k) != now.get(k)}
        if changed:
            raise CheckpointMismatchError(
                f"Cannot resume {checkpoint}: its options differ in {', '.join(sorted(changed))}. "
                "Resume with the same options (only iterations may grow), or start a new run."
            )
        return state

    def _diverged(self, error, iteration, best_state, checkpoint):
        saved = " It failed before the first evaluation, so there are no good weights to keep."
        if best_state is not None:
            self.field.load_state_dict(best_state)
            if checkpoint is not None:
                self._write(checkpoint)
                saved = f" The last good weights were saved to {checkpoint}."
            else:
                saved = " The model keeps the last good weights."
        raise TrainingDivergedError(
            f"Training stopped at iteration {iteration}: {str(error).rstrip('.')}.{saved} Try a smaller learning_rate, "
            "a stronger grad_clip, the fixed-step 'rk4' solver with a smaller step_size, or shorter "
            "window_hours."
        ) from error

    # -- simulation ------------------------------------------------------------------------------

    def _require_fitted(self):
        if self.field is None:
            raise NotFittedError("The model is not fitted: call fit() or NeuralODEModel.load().")

    def check_compatible(self, trajectories: _data.Trajectories) -> None:
        """Raise CheckpointMismatchError if the strains' features differ from the model's."""
        self._require_fitted()
        try:
            check_names(self.states, trajectories.states, "states")
            check_names(self.controls, trajectories.controls, "controls")
        except ValueError as error:
            raise CheckpointMismatchError(f"{error} The model was trained on {self.dataset_name!r}.") from None

    def simulate(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
                 x0: np.ndarray | None = None, solver: str | None = None,
                 step_size: float | None = None, rtol: float | None = None,
                 atol: float | None = None) -> np.ndarray:
        """Simulate strains from their initial states: (S, T, n_states) in original units.

        trajectories : strains on an even grid (their ``times``, initial states and controls).
        controls : optional (S, T, n_controls) controls in original units replacing the strains'
            own (an intervention). x0 : optional (S, n_states) initial states in original units.
        solver / step_size / rtol / atol : override the training solver (e.g. ``"dopri5"`` with
            tight tolerances to check that the step does not matter).
        """
        self.check_compatible(trajectories)
        cfg = self.config
        u = trajectories.u if controls is None else np.asarray(controls, dtype=float)
        start = trajectories.x[:, 0] if x0 is None else np.asarray(x0, dtype=float)
        # no_grad, not inference_mode: torchdiffeq keeps solver coefficients it makes on the first call
        # of a method; made in inference mode, they broke a later training with the same method in the
        # same process ("Inference tensors cannot be saved for backward"; tested).
        with torch.no_grad():
            predicted = integrate(
                self.field,
                self._tensor(self.state_scaler.transform(start)),
                self._tensor(trajectories.times),
                self._tensor(self.control_scaler.transform(u)),
                solver=solver or cfg.solver,
                step_size=step_size or cfg.step_size,
                rtol=rtol or cfg.rtol,
                atol=atol or cfg.atol,
            )
        return self.state_scaler.inverse_transform(predicted.cpu().numpy().astype(float))

    def fluxes(self, trajectories: _data.Trajectories, *, controls: np.ndarray | None = None,
               states: np.ndarray | None = None) -> np.ndarray:
        """Reaction fluxes (S, T, R) of a structured or kinetic model, original units per hour, at
        the strains' measured states (or ``states``, original units) and their controls (or
        ``controls``, original units): how fast each step runs, without simulating."""
        self.check_compatible(trajectories)
        if not hasattr(self.field, "fluxes_on_grid"):
            raise UsageError("Only the structured and kinetic neural ODEs have reaction fluxes; this one is "
                            f"structure={self.config.structure!r}.")
        u = trajectories.u if controls is None else np.asarray(controls, dtype=float)
        x = trajectories.x if states is None else np.asarray(states, dtype=float)
        with torch.no_grad():  # see simulate
            self.field.set_controls(self._tensor(trajectories.times), self._tensor(self.control_scaler.transform(u)))
            flux = self.field.fluxes_on_grid(self._tensor(self.state_scaler.transform(x)))
        return flux.cpu().numpy().astype(float)

    # -- checkpoints -----------------------------------------------------------------------------

    def _write(self, path: Path, **training_state) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "format": "nodebio-node-1",
            "nodebio_version": nodebio.__version__,
            "config": self.config.get_params(),
            "field": {k: v.detach().cpu() for k, v in self.field.state_dict().items()},
            "field_config": self.field.config(),
            "states": list(self.states),
            "controls": list(self.controls),
            "units": dict(self.units),
            "state_scaler": self.state_scaler.to_dict(),
            "control_scaler": self.control_scaler.to_dict(),
            "times": [float(t) for t in self.times],
            "train_strains": list(self.train_strains),
            "test_strains": list(self.test_strains),
            "dataset": self.dataset_name,
            "data_sha256": self.data_sha256,
            "history": self.history,
            "fit_seconds": self.fit_seconds,
        }
        if training_state:
            state["optimizer"] = training_state["optimizer"].state_dict()
            state["scheduler"] = training_state["scheduler"].state_dict()
            state["generator"] = training_state["generator"].get_state()
            state["iteration"] = training_state["iteration"]
            state["best_loss"] = training_state["best_loss"]
            state["bad_evals"] = training_state["bad_evals"]
            state["best_field"] = training_state["best_field"]
        with safeio.atomic_path(path) as tmp:  # never half a checkpoint, even killed mid-write
            torch.save(state, tmp)

    def save(self, path: str | Path) -> Path:
        """Write the model with everything needed to use it later (names, scalers, grid, config,
        package version, data sha256, history)."""
        self._require_fitted()
        self._write(Path(path))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu",
             expect: _data.Trajectories | _data.PreparedData | None = None) -> "NeuralODEModel":
        """Read a checkpoint; with ``expect``, check that its features match those data."""
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"No checkpoint at {path}.")
        state = _read_checkpoint(path, "cpu")
        model = cls(TrainConfig.from_checkpoint({**state["config"], "device": device}))
        model.device = resolve_device(device)
        model.states, model.controls = tuple(state["states"]), tuple(state["controls"])
        model.units = state.get("units", {})
        model.state_scaler = _data.Scaler.from_dict(state["state_scaler"])
        model.control_scaler = _data.Scaler.from_dict(state["control_scaler"])
        model.times = np.asarray(state["times"], dtype=float)
        model.train_strains = tuple(state["train_strains"])
        model.test_strains = tuple(state.get("test_strains", ()))
        model.dataset_name, model.data_sha256 = state["dataset"], state["data_sha256"]
        model.history, model.fit_seconds = state["history"], state["fit_seconds"]
        model.field = make_field(state["field_config"]).to(model.device, DTYPES[model.config.dtype])
        if isinstance(model.field, (StructuredField, KineticField)):
            model.reactions = tuple(_data.Reaction.from_dict(r) for r in model.field.reactions)
        model.field.load_state_dict(state["field"])
        model.checkpoint_version = state["nodebio_version"]
        if model.checkpoint_version != nodebio.__version__:
            warnings.warn(f"{path} was written by nodebio {model.checkpoint_version}, this is {nodebio.__version__}: "
                          "it loads, but a model trained again may differ.", CheckpointVersionWarning, stacklevel=2)
        if expect is not None:
            model.check_compatible(expect.train if isinstance(expect, _data.PreparedData) else expect)
        return model

    def __repr__(self) -> str:
        if self.field is None:
            return f"NeuralODEModel(not fitted, {self.config.width}x{self.config.depth} {self.config.activation})"
        if isinstance(self.field, StructuredField):
            network = (f"structured, {self.field.n_reactions} reactions, fluxes "
                       f"{self.config.flux_width}x{self.config.depth}")
        elif isinstance(self.field, KineticField):
            network = f"kinetic, {self.field.n_reactions} reactions, fluxes proportional to their enzymes"
        else:
            network = f"{self.config.width}x{self.config.depth}"
        return (f"NeuralODEModel({self.dataset_name!r}: {len(self.states)} states, {len(self.controls)} controls, "
                f"trained on {', '.join(self.train_strains)}, {network} "
                f"{self.config.activation}, solver {self.config.solver})")



class _Objective:
    """The training data of one fit as tensors, its batches of windows, and the loss."""

    def __init__(self, model: NeuralODEModel, prepared: _data.PreparedData):
        cfg = self.config = model.config
        self.field = model.field
        tensor = model._tensor
        self.x = tensor(model.state_scaler.transform(prepared.train.x))
        self.u = tensor(model.control_scaler.transform(prepared.train.u))
        self.times = tensor(model.times)
        self.n_strains, self.n_times, _ = self.x.shape
        dt = float(model.times[1] - model.times[0])
        self.window = (self.n_times if cfg.window_hours is None
                       else max(2, min(self.n_times, int(round(cfg.window_hours / dt)) + 1)))
        self.mean = tensor(model.state_scaler.mean_)
        self.scale = tensor(model.state_scaler.scale_)
        self.scaling = model.state_scaler.method
        self.original_sd = tensor(np.maximum(prepared.train.x.reshape(-1, len(model.states)).std(0), 1e-12))
        self.rate_limit = cfg.derivative_limit * torch.diff(self.x, dim=1).abs().amax(dim=(0, 1)) / dt

    def to_original(self, x_scaled: torch.Tensor) -> torch.Tensor:
        return concentrations(x_scaled, self.mean, self.scale, self.scaling)

    def batch(self, generator: torch.Generator) -> tuple:
        """(start states, target, controls, offsets, window times): random windows of every
        training strain, or the whole trajectories."""
        cfg, window = self.config, self.window
        if window < self.n_times:
            starts = torch.randint(0, self.n_times - window + 1, (self.n_strains, cfg.windows_per_strain),
                                   generator=generator)
            strain_index = torch.arange(self.n_strains).repeat_interleave(cfg.windows_per_strain).reshape(-1, 1)
            offsets_index = starts.reshape(-1)
            span = offsets_index.reshape(-1, 1) + torch.arange(window).reshape(1, -1)
            target, controls = self.x[strain_index, span], self.u[strain_index, span]
            offsets, window_times = self.times[offsets_index], self.times[:window] - self.times[0]
        else:
            target, controls, offsets, window_times = self.x, self.u, None, self.times
        start_states = target[:, 0]
        if cfg.input_noise > 0:
            start_states = start_states + cfg.input_noise * torch.randn(
                start_states.shape, generator=generator).to(start_states)
        return start_states, target, controls, offsets, window_times

    def loss(self, batch: tuple) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(loss, data loss, penalty) of the field on a batch."""
        cfg = self.config
        start_states, target, controls, offsets, window_times = batch
        predicted = integrate(self.field, start_states, window_times, controls, solver=cfg.solver,
                              step_size=cfg.step_size, rtol=cfg.rtol, atol=cfg.atol, adjoint=cfg.adjoint,
                              offsets=offsets)
        data_loss = ((predicted - target) ** 2).mean()
        penalty = torch.zeros((), dtype=data_loss.dtype, device=data_loss.device)
        if cfg.negative_weight > 0:
            penalty = penalty + cfg.negative_weight * negative_penalty(self.to_original(predicted), self.original_sd)
        if cfg.derivative_weight > 0:
            rates = rates_on_grid(self.field, predicted, window_times)
            penalty = penalty + cfg.derivative_weight * derivative_penalty(rates, self.rate_limit)
        return data_loss + penalty, data_loss, penalty

    def collocate(self, iterations: int, progress: bool = False) -> list[float]:
        """Warm start by derivative matching: Adam steps that bring the field's rates at the training
        data, on the grid, close to the data's slopes (central differences of the interpolated
        data, scaled units per hour); no solver involved. The losses, one per step."""
        from tqdm import tqdm

        cfg = self.config
        slopes = torch.gradient(self.x, spacing=(self.times,), dim=1)[0]
        optimizer = torch.optim.Adam(self.field.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        losses = []
        for _ in tqdm(range(iterations), desc="derivative matching", disable=not progress):
            self.field.set_controls(self.times, self.u)
            loss = ((rates_on_grid(self.field, self.x, self.times) - slopes) ** 2).mean()
            if not torch.isfinite(loss):
                raise TrainingDivergedError(
                    f"Derivative matching diverged after {len(losses)} steps (loss {float(loss)}); try fewer "
                    "collocation_iterations or a smaller learning_rate.")
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.field.parameters(), cfg.grad_clip)
            optimizer.step()
            losses.append(loss.item())
        return losses

    def rollout_loss(self) -> float:
        """Mean squared error of the whole training trajectories simulated from their starts."""
        cfg = self.config
        with torch.no_grad():  # not inference_mode: torchdiffeq caches tensors it makes on first use (see simulate)
            predicted = integrate(self.field, self.x[:, 0], self.times, self.u, solver=cfg.solver,
                                  step_size=cfg.step_size, rtol=cfg.rtol, atol=cfg.atol)
            return float(((predicted - self.x) ** 2).mean())


#: What ``torch.load(..., weights_only=True)`` raises for a file that is not a checkpoint, measured:
#: an empty file EOFError, random bytes or a pickle of other objects UnpicklingError, a text file
#: KeyError, a truncated checkpoint RuntimeError. An OSError (no permission, a folder) is not among
#: them: it names its file and reaches the caller as it is.
_UNREADABLE = (EOFError, pickle.UnpicklingError, KeyError, RuntimeError, ValueError)


def _read_checkpoint(path: Path, device) -> dict:
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
            warnings.simplefilter("ignore", UserWarning)
            state = torch.load(path, map_location=device, weights_only=True)
    except _UNREADABLE:  # what torch raises for a file that is not a checkpoint; its advice does not apply here
        raise CheckpointMismatchError(
            f"{path} is not a nodebio checkpoint: it cannot be read (truncated, or another kind of file). "
            "Train the model again.") from None
    if not isinstance(state, dict) or state.get("format") != "nodebio-node-1":
        raise CheckpointMismatchError(f"{path} is not a nodebio checkpoint of a neural ODE.")
    return state
