"""The neural ODE: training, determinism, checkpoints, resuming, divergence, devices, options."""

from __future__ import annotations

import re
import numpy as np
import pytest
import torch

from nodebio import data
from nodebio.models import fields, solve
from nodebio.errors import CheckpointMismatchError, DeviceError, TrainingDivergedError
from nodebio.models.node import NeuralODEModel, TrainConfig, resolve_device


SMALL = dict(width=16, depth=2, iterations=12, eval_every=4, windows_per_strain=2, device="cpu")


def test_same_seed_same_numbers(node_prepared):
    a = NeuralODEModel(seed=3, **SMALL).fit(node_prepared, progress=False)
    b = NeuralODEModel(seed=3, **SMALL).fit(node_prepared, progress=False)
    c = NeuralODEModel(seed=4, **SMALL).fit(node_prepared, progress=False)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert np.array_equal(a.simulate(node_prepared.test), b.simulate(node_prepared.test))
    assert not np.allclose(a.simulate(node_prepared.test), c.simulate(node_prepared.test))


def test_training_reduces_the_loss_and_keeps_history(node_prepared):
    fitted = NeuralODEModel(seed=0, **{**SMALL, "iterations": 40, "width": 32}).fit(node_prepared, progress=False)
    rollouts = [h["train_rollout_loss"] for h in fitted.history if "train_rollout_loss" in h]
    assert fitted.best_train_rollout_loss == min(rollouts) < rollouts[0]
    # the kept weights are the best evaluation's: simulating the training strains gives its loss
    x = fitted.state_scaler.transform(node_prepared.train.x)
    again = fitted.state_scaler.transform(fitted.simulate(node_prepared.train))
    assert float(((again - x) ** 2).mean()) == pytest.approx(fitted.best_train_rollout_loss, rel=1e-4)
    assert {"iteration", "loss", "data_loss", "penalty", "lr"} <= set(fitted.history[0])
    predicted = fitted.simulate(node_prepared.test)
    assert predicted.shape == node_prepared.test.x.shape
    assert np.allclose(predicted[:, 0], node_prepared.test.x[:, 0], rtol=1e-5, atol=1e-6)


def test_float64_option(node_prepared):
    fitted = NeuralODEModel(dtype="float64", **SMALL).fit(node_prepared, progress=False)
    assert all(p.dtype == torch.float64 for p in fitted.field.parameters())
    single = NeuralODEModel(dtype="float32", **SMALL).fit(node_prepared, progress=False)
    # the same training in double precision: close to single precision, not identical
    difference = np.abs(fitted.simulate(node_prepared.test) - single.simulate(node_prepared.test)).max()
    assert 0 < difference < 0.05 * np.abs(node_prepared.test.x).max()


def test_checkpoint_round_trip(node_prepared, tmp_path):
    fitted = NeuralODEModel(**SMALL).fit(node_prepared, progress=False)
    path = fitted.save(tmp_path / "model.pt")
    loaded = NeuralODEModel.load(path, expect=node_prepared)
    assert np.array_equal(loaded.simulate(node_prepared.test), fitted.simulate(node_prepared.test))
    assert loaded.states == fitted.states and loaded.controls == fitted.controls
    assert loaded.config == fitted.config and loaded.data_sha256 == fitted.data_sha256
    assert loaded.train_strains == ("S1", "S2", "S3") and len(loaded.history) == len(fitted.history)


def test_checkpoint_against_other_features_is_an_error(node_prepared, tmp_path, limonene):
    fitted = NeuralODEModel(**SMALL).fit(node_prepared, progress=False)
    path = fitted.save(tmp_path / "model.pt")
    isopentenol_like = data.prepare(data.load("isopentenol", data_dir=data.default_data_dir()))
    with pytest.raises(CheckpointMismatchError, match="states do not match the model's: missing Mev-P, Limonene; unexpected Isopentenol"):
        NeuralODEModel.load(path, expect=isopentenol_like)
    fewer = data.prepare(data.load("limonene", controls=["HMGR", "MK"], data_dir=data.default_data_dir()))
    with pytest.raises(CheckpointMismatchError, match="controls do not match.*missing AtoB"):
        NeuralODEModel.load(path).simulate(fewer.test)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "model.pt"
    bad.write_text("not a checkpoint")
    with pytest.raises(CheckpointMismatchError, match="is not a nodebio checkpoint"):
        NeuralODEModel.load(bad)
    with pytest.raises(FileNotFoundError):
        NeuralODEModel.load(tmp_path / "missing.pt")


class _Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_result(node_prepared, tmp_path):
    options = {**SMALL, "iterations": 16, "eval_every": 4, "patience": 100, "step_size": 2.0}
    straight = NeuralODEModel(**options).fit(node_prepared, progress=False)

    class Killed(NeuralODEModel):  # the process dies during iteration 10
        def _setup(self, prepared):
            super()._setup(prepared)
            original, calls = self.field.fused_rates, {"n": 0}

            def fused_rates():  # the evaluations of the field by the training solves
                project, rates = original()

                def counted(projected, x):
                    if torch.is_grad_enabled():
                        calls["n"] += 1
                    if calls["n"] > 9 * per_iteration:
                        raise _Interrupted()
                    return rates(projected, x)

                return project, counted

            self.field.fused_rates = fused_rates

    window = int(round(24.0 / (node_prepared.train.times[1] - node_prepared.train.times[0]))) + 1
    per_iteration = 4 * len(solve._solver_steps(torch.tensor(node_prepared.train.times[:window] -
                                                             node_prepared.train.times[0]), 2.0)) - 4
    path = tmp_path / "run.pt"
    with pytest.raises(_Interrupted):
        Killed(**options).fit(node_prepared, checkpoint=path, progress=False)
    assert torch.load(path, weights_only=True)["iteration"] == 8  # the last evaluation before the crash
    resumed = NeuralODEModel(**options).fit(node_prepared, checkpoint=path, resume=True, progress=False)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    assert np.array_equal(resumed.simulate(node_prepared.test), straight.simulate(node_prepared.test))
    with pytest.raises(CheckpointMismatchError, match="options differ in width"):
        NeuralODEModel(**{**options, "width": 8}).fit(node_prepared, checkpoint=path, resume=True, progress=False)
    other = data.prepare(node_prepared.dataset, ["S1", "S2"], ["S4"], n_points=60)
    with pytest.raises(CheckpointMismatchError, match="Cannot resume .* not on these data"):
        NeuralODEModel(**options).fit(other, checkpoint=path, resume=True, progress=False)
    final = straight.save(tmp_path / "final.pt")
    with pytest.raises(CheckpointMismatchError, match="final weights only"):
        NeuralODEModel(**options).fit(node_prepared, checkpoint=final, resume=True, progress=False)


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_weights(node_prepared, tmp_path):
    path = tmp_path / "run.pt"
    fitted = NeuralODEModel(**{**SMALL, "iterations": 8, "eval_every": 2}).fit(node_prepared, checkpoint=path, progress=False)
    good = fitted.simulate(node_prepared.test)

    class Exploding(NeuralODEModel):
        def _setup(self, prepared):
            super()._setup(prepared)
            original = self.field.fused_rates
            calls = {"n": 0}

            def fused_rates():  # the evaluations of the field by the training solves
                project, rates = original()

                def exploding(projected, x):
                    calls["n"] += 1
                    out = rates(projected, x)
                    return out * float("nan") if calls["n"] > 1000 else out

                return project, exploding

            self.field.fused_rates = fused_rates

    saved_best = []

    class Recording(Exploding):
        def _write(self, path, **training_state):
            if training_state.get("best_field") is not None:
                saved_best.append({k: v.clone() for k, v in training_state["best_field"].items()})
            super()._write(path, **training_state)

    run = Recording(**{**SMALL, "iterations": 50, "eval_every": 2})
    with pytest.raises(TrainingDivergedError, match=r"Training stopped at iteration \d+: .*NaN.*last good weights were saved.*smaller learning_rate"):
        run.fit(node_prepared, checkpoint=path, progress=False)
    reloaded = NeuralODEModel.load(path)
    assert saved_best, "no evaluation happened before the failure"
    for name, value in reloaded.field.state_dict().items():
        assert torch.equal(value, saved_best[-1][name]), name  # the best weights seen, not the NaN ones
    assert np.isfinite(reloaded.simulate(node_prepared.test)).all()
    assert good.shape == reloaded.simulate(node_prepared.test).shape


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(DeviceError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(DeviceError, match="Unknown device"):
        resolve_device("tpu")


def test_bad_config():
    with pytest.raises(ValueError, match="Unknown training option"):
        TrainConfig.from_dict({"widht": 3})
    with pytest.raises(ValueError, match="dtype"):
        TrainConfig(dtype="float16")
    with pytest.raises(ValueError, match="Unknown activation"):
        fields.VectorField(2, 1, activation="gelu2")


# -- one options object: TrainConfig ------------------------------------------------------------


@pytest.mark.parametrize("name, structure", [("node", "mlp"), ("node-structured", "structured"),
                                             ("node-kinetic", "kinetic")])
def test_every_route_to_a_neural_ode_gives_the_same_options(name, structure):
    from nodebio.models import make_model
    from nodebio.models.node import TrainConfig

    by_name = make_model(name, seed=3, device="cpu").config
    by_class = NeuralODEModel(structure=structure, seed=3, device="cpu").config
    by_config = NeuralODEModel(TrainConfig(structure=structure, seed=3, device="cpu")).config
    assert by_name == by_class == by_config
    assert by_name.get_params() == by_class.get_params()


def test_the_structure_decides_the_defaults_in_one_place():
    from nodebio.models.node import STRUCTURE_DEFAULTS, TrainConfig

    structured, kinetic, plain = (TrainConfig(structure=s) for s in ("structured", "kinetic", "mlp"))
    assert structured.first_order_loss is False and kinetic.first_order_loss is True
    assert kinetic.flux_correction is False and kinetic.state_scaling == "log1p" and kinetic.control_scaling == "none"
    assert plain.state_scaling == STRUCTURE_DEFAULTS["mlp"]["state_scaling"]
    # options that do not apply are not listed, nor saved
    assert "first_order_loss" not in plain.get_params() and "width" not in kinetic.get_params()
    assert "homeostatic_supply" in kinetic.get_params() and "flux_width" in structured.get_params()
    # explicit values beat the structure's defaults
    assert TrainConfig(structure="kinetic", first_order_loss=False).first_order_loss is False


@pytest.mark.parametrize("options, named", [
    ({"structure": "structured", "homeostatic_supply": True}, "homeostatic_supply (for kinetic)"),
    ({"structure": "kinetic", "width": 32}, "width (for mlp)"),
    ({"structure": "mlp", "flux_correction": True}, "flux_correction (for kinetic)"),
    ({"structure": "mlp", "first_order_loss": True}, "first_order_loss (for structured, kinetic)"),
    ({"structure": "kinetic", "flux_form": "saturating", "monotone_fluxes": True},
     "flux_form (for structured); monotone_fluxes (for structured)"),
])
def test_an_option_that_does_not_apply_is_an_error_naming_it(options, named):
    from nodebio.errors import NodebioError, UsageError

    with pytest.raises(UsageError, match=re.escape(named)) as caught:
        NeuralODEModel(**options)
    assert isinstance(caught.value, NodebioError) and isinstance(caught.value, ValueError)


def test_unknown_options_suggest_the_closest_name_and_the_registry_refuses_another_structure():
    from nodebio.errors import UsageError
    from nodebio.models import make_model

    with pytest.raises(UsageError, match=r"Unknown training option: 'iteration' \(did you mean 'iterations'\?\)"):
        NeuralODEModel(iteration=5)
    with pytest.raises(UsageError, match="'node-kinetic' has structure='kinetic', not 'mlp'.*'node'"):
        make_model("node-kinetic", structure="mlp")


def test_options_grouped_by_concern_cover_every_option_once():
    from nodebio.models.node import GROUPS, TrainConfig

    config = TrainConfig(structure="kinetic")
    groups = config.groups()
    assert tuple(groups) == GROUPS
    merged = {k: v for group in groups.values() for k, v in group.items()}
    assert merged == config.get_params()
    assert set(groups["solver"]) == {"solver", "step_size", "rtol", "atol", "adjoint"}
    assert groups["field"]["structure"] == "kinetic" and "iterations" in groups["optimiser"]
    assert config.set_params(iterations=7).iterations == 7 and config.iterations == 300


def test_a_checkpoint_of_an_older_version_with_every_option_still_loads(node_prepared, tmp_path):
    model = NeuralODEModel(iterations=2, eval_every=1, seed=0, device="cpu").fit(node_prepared, progress=False)
    path = model.save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    # older checkpoints saved every option, applicable or not, and the retired num_threads
    state["config"].update(num_threads=1, first_order_loss=True, flux_correction=True, flux_width=16)
    torch.save(state, path)
    loaded = NeuralODEModel.load(path)
    assert loaded.config == model.config
    np.testing.assert_array_equal(loaded.simulate(node_prepared.test), model.simulate(node_prepared.test))


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"\x80\x04K\x01.", bytes(range(256)) * 4])
def test_a_file_that_is_not_a_checkpoint_is_a_mismatch_not_a_crash(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointMismatchError, match="is not a nodebio checkpoint"):
        NeuralODEModel.load(path)


def test_a_crafted_pickle_in_a_checkpoint_runs_nothing(tmp_path):
    import io
    import os

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    buffer = io.BytesIO()
    torch.save({"format": "nodebio-node-1", "x": Payload()}, buffer)
    (tmp_path / "model.pt").write_bytes(buffer.getvalue())
    with pytest.raises(CheckpointMismatchError):
        NeuralODEModel.load(tmp_path / "model.pt")
    assert not marker.exists()


def test_an_unreadable_checkpoint_is_an_os_error_naming_it(tmp_path):
    folder = tmp_path / "model.pt"
    folder.mkdir()
    with pytest.raises(Exception) as caught:
        from nodebio.models.node import _read_checkpoint

        _read_checkpoint(folder, "cpu")
    assert isinstance(caught.value, OSError) and str(folder) in str(caught.value)


@pytest.mark.parametrize("name", ["node", "node-structured", "node-kinetic"])
def test_every_neural_ode_s_default_step_keeps_its_simulation_near_the_converged_solution(name, limonene):
    from nodebio import metrics
    from nodebio.models import make_model, prepare_for
    from nodebio.models.node import SOLVER_TOLERANCE

    model = make_model(name, seed=0, device="cpu", iterations=100)
    prepared = prepare_for(model, limonene)
    model.fit(prepared, progress=False)
    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
    error = metrics.solver_error(model, prepared.train, spread)
    assert error["default"] <= SOLVER_TOLERANCE, error
    # the former 2-h step of the plain field does not: the check can fail
    if name == "node":
        coarse = make_model(name, seed=0, device="cpu", iterations=100, step_size=2.0).fit(prepared, progress=False)
        assert metrics.solver_error(coarse, prepared.train, spread)["default"] > SOLVER_TOLERANCE


def test_training_with_dopri5_after_simulating_with_dopri5_in_the_same_process(node_prepared):
    model = NeuralODEModel(iterations=2, eval_every=1, width=16, device="cpu").fit(node_prepared, progress=False)
    model.simulate(node_prepared.train, solver="dopri5", rtol=1e-7, atol=1e-9)
    adaptive = NeuralODEModel(iterations=2, eval_every=1, width=16, device="cpu", solver="dopri5")
    adaptive.fit(node_prepared, progress=False)
    assert len(adaptive.history) == 2


def test_a_checkpoint_of_another_version_loads_with_a_notice(node_prepared, tmp_path):
    import nodebio
    from nodebio.models.node import CheckpointVersionWarning

    model = NeuralODEModel(iterations=2, eval_every=1, width=16, device="cpu").fit(node_prepared, progress=False)
    path = model.save(tmp_path / "m.pt")
    state = torch.load(path, weights_only=True)
    state["nodebio_version"] = "0.0.1"
    torch.save(state, path)
    with pytest.warns(CheckpointVersionWarning, match=f"written by nodebio 0.0.1, this is {nodebio.__version__}"):
        NeuralODEModel.load(path)
    import warnings

    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CheckpointVersionWarning)
        NeuralODEModel.load(path)
