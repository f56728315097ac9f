"""The neural ODE: vector field, integration, training, checkpoints, failures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from nodebio import cli, data, model, synthetic
from nodebio.train import CheckpointMismatchError, DeviceError, NeuralODEModel, TrainConfig, TrainingDivergedError, resolve_device

SMALL = dict(width=16, depth=2, iterations=12, eval_every=4, windows_per_strain=2, device="cpu")


@pytest.fixture(scope="module")
def prepared_synthetic():
    dataset = synthetic.make_dataset(4, seed=0, noise=0.02)
    return data.prepare(dataset, ["S1", "S2", "S3"], ["S4"], n_points=60)


def test_field_uses_controls_exactly_like_concatenation():
    torch.manual_seed(0)
    field = model.VectorField(3, 2, width=8, depth=2)
    times = torch.linspace(0.0, 10.0, 11)
    u = torch.randn(4, 11, 2)
    x = torch.randn(4, 3)
    field.set_controls(times, u)
    t = torch.tensor(3.4)
    # reference: the MLP applied to [x, u(t)] with u interpolated linearly
    u_t = torch.lerp(u[:, 3], u[:, 4], 0.4)
    weight = torch.cat([field.input_states, field.input_controls], 1)
    h = torch.tanh(torch.nn.functional.linear(torch.cat([x, u_t], 1), weight, field.input_bias))
    h = torch.tanh(field.hidden[0](h))
    assert torch.allclose(field(t, x), field.output(h), atol=1e-6)
    # and on the grid, at every point at once
    states = torch.randn(4, 11, 3)
    rates = model.rates_on_grid(field, states)
    assert torch.allclose(rates[:, 5], field(times[5], states[:, 5]), atol=1e-6)


def test_batched_solve_equals_one_by_one():
    torch.manual_seed(1)
    field = model.VectorField(3, 2, width=8)
    times = torch.linspace(0.0, 20.0, 21)
    u, x0 = torch.randn(5, 21, 2), torch.randn(5, 3)
    together = model.integrate(field, x0, times, u, solver="rk4", step_size=1.0)
    alone = torch.cat([model.integrate(field, x0[i:i + 1], times, u[i:i + 1], solver="rk4", step_size=1.0)
                       for i in range(5)])
    assert together.shape == (5, 21, 3)
    assert torch.allclose(together, alone, atol=1e-6)


def test_solver_is_a_parameter_and_agrees():
    torch.manual_seed(2)
    field = model.VectorField(2, 1, width=8).double()
    with torch.no_grad():
        field.output.weight.mul_(100)  # a field that does something
    times = torch.linspace(0.0, 10.0, 11, dtype=torch.float64)
    u, x0 = torch.randn(2, 11, 1, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)
    fixed = model.integrate(field, x0, times, u, solver="rk4", step_size=0.1)
    adaptive = model.integrate(field, x0, times, u, solver="dopri5", rtol=1e-8, atol=1e-10)
    assert torch.allclose(fixed, adaptive, atol=1e-3)
    with pytest.raises(ValueError, match="Unknown solver 'rk5'"):
        model.integrate(field, x0, times, u, solver="rk5")
    with pytest.raises(ValueError, match="positive step_size"):
        model.integrate(field, x0, times, u, solver="rk4", step_size=0)


def test_diverging_field_is_a_solver_error():
    field = model.VectorField(2, 1, width=4, activation="relu")
    with torch.no_grad():
        for p in field.parameters():
            p.fill_(50.0)
    times = torch.linspace(0.0, 10.0, 11)
    with pytest.raises(model.SolverError, match="NaN or inf"):
        model.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver="rk4", step_size=1.0)
    with pytest.raises(model.SolverError, match="dopri5 solver failed"):
        model.integrate(field, torch.ones(1, 2), times, torch.ones(1, 11, 1), solver="dopri5", max_steps=3)


def test_same_seed_same_numbers(prepared_synthetic):
    a = NeuralODEModel(seed=3, **SMALL).fit(prepared_synthetic, progress=False)
    b = NeuralODEModel(seed=3, **SMALL).fit(prepared_synthetic, progress=False)
    c = NeuralODEModel(seed=4, **SMALL).fit(prepared_synthetic, progress=False)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert np.array_equal(a.simulate(prepared_synthetic.test), b.simulate(prepared_synthetic.test))
    assert not np.allclose(a.simulate(prepared_synthetic.test), c.simulate(prepared_synthetic.test))


def test_training_reduces_the_loss_and_keeps_history(prepared_synthetic):
    fitted = NeuralODEModel(seed=0, **{**SMALL, "iterations": 40, "width": 32}).fit(prepared_synthetic, progress=False)
    rollouts = [h["train_rollout_loss"] for h in fitted.history if "train_rollout_loss" in h]
    assert rollouts[-1] < rollouts[0] or fitted.best_train_rollout_loss < rollouts[0]
    assert {"iteration", "loss", "data_loss", "penalty", "lr"} <= set(fitted.history[0])
    predicted = fitted.simulate(prepared_synthetic.test)
    assert predicted.shape == prepared_synthetic.test.x.shape
    assert np.allclose(predicted[:, 0], prepared_synthetic.test.x[:, 0], rtol=1e-5, atol=1e-6)


def test_float64_option(prepared_synthetic):
    fitted = NeuralODEModel(dtype="float64", **SMALL).fit(prepared_synthetic, progress=False)
    assert next(fitted.field.parameters()).dtype == torch.float64


def test_penalties():
    x = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    assert model.negative_penalty(x, torch.tensor([1.0, 2.0])).item() == pytest.approx(1.0 / 4)
    rates = torch.tensor([[3.0, -1.0]])
    assert model.derivative_penalty(rates, torch.tensor([1.0, 1.0])).item() == pytest.approx(4.0 / 2)


def test_checkpoint_round_trip(prepared_synthetic, tmp_path):
    fitted = NeuralODEModel(**SMALL).fit(prepared_synthetic, progress=False)
    path = fitted.save(tmp_path / "model.pt")
    loaded = NeuralODEModel.load(path, expect=prepared_synthetic)
    assert np.array_equal(loaded.simulate(prepared_synthetic.test), fitted.simulate(prepared_synthetic.test))
    assert loaded.states == fitted.states and loaded.controls == fitted.controls
    assert loaded.config == fitted.config and loaded.data_sha256 == fitted.data_sha256
    assert loaded.train_strains == ("S1", "S2", "S3") and len(loaded.history) == len(fitted.history)


def test_checkpoint_against_other_features_is_an_error(prepared_synthetic, tmp_path, limonene):
    fitted = NeuralODEModel(**SMALL).fit(prepared_synthetic, progress=False)
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
    with pytest.raises(CheckpointMismatchError, match="not a readable nodebio checkpoint"):
        NeuralODEModel.load(bad)
    with pytest.raises(FileNotFoundError):
        NeuralODEModel.load(tmp_path / "missing.pt")


class _Interrupted(Exception):
    pass


def test_an_interrupted_run_resumes_to_the_same_result(prepared_synthetic, tmp_path):
    options = {**SMALL, "iterations": 16, "eval_every": 4, "patience": 100}
    straight = NeuralODEModel(**options).fit(prepared_synthetic, progress=False)

    class Killed(NeuralODEModel):  # the process dies during iteration 10
        def _setup(self, prepared):
            super()._setup(prepared)
            original, calls = self.field.forward, {"n": 0}

            def forward(t, x):
                if torch.is_grad_enabled():
                    calls["n"] += 1
                if calls["n"] > 9 * per_iteration:
                    raise _Interrupted()
                return original(t, x)

            self.field.forward = forward

    window = int(round(24.0 / (prepared_synthetic.train.times[1] - prepared_synthetic.train.times[0]))) + 1
    per_iteration = 4 * len(model._solver_steps(torch.tensor(prepared_synthetic.train.times[:window] -
                                                             prepared_synthetic.train.times[0]), 2.0)) - 4
    path = tmp_path / "run.pt"
    with pytest.raises(_Interrupted):
        Killed(**options).fit(prepared_synthetic, checkpoint=path, progress=False)
    assert torch.load(path, weights_only=True)["iteration"] == 8  # the last evaluation before the crash
    resumed = NeuralODEModel(**options).fit(prepared_synthetic, checkpoint=path, resume=True, progress=False)
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in straight.history]
    assert np.array_equal(resumed.simulate(prepared_synthetic.test), straight.simulate(prepared_synthetic.test))
    with pytest.raises(CheckpointMismatchError, match="options differ in width"):
        NeuralODEModel(**{**options, "width": 8}).fit(prepared_synthetic, checkpoint=path, resume=True, progress=False)
    other = data.prepare(prepared_synthetic.dataset, ["S1", "S2"], ["S4"], n_points=60)
    with pytest.raises(CheckpointMismatchError, match="Cannot resume .* not on these data"):
        NeuralODEModel(**options).fit(other, checkpoint=path, resume=True, progress=False)
    final = straight.save(tmp_path / "final.pt")
    with pytest.raises(CheckpointMismatchError, match="final weights only"):
        NeuralODEModel(**options).fit(prepared_synthetic, checkpoint=final, resume=True, progress=False)


def test_divergence_stops_with_a_clear_error_and_keeps_the_last_good_weights(prepared_synthetic, tmp_path):
    path = tmp_path / "run.pt"
    fitted = NeuralODEModel(**{**SMALL, "iterations": 8, "eval_every": 2}).fit(prepared_synthetic, checkpoint=path, progress=False)
    good = fitted.simulate(prepared_synthetic.test)

    class Exploding(NeuralODEModel):
        def _setup(self, prepared):
            super()._setup(prepared)
            original = self.field.forward
            calls = {"n": 0}

            def forward(t, x):
                calls["n"] += 1
                out = original(t, x)
                return out * float("nan") if calls["n"] > 1000 else out

            self.field.forward = forward

    saved_best = []

    class Recording(Exploding):
        def _write(self, path, **training_state):
            if training_state.get("best_field") is not None:
                saved_best.append({k: v.clone() for k, v in training_state["best_field"].items()})
            super()._write(path, **training_state)

    run = Recording(**{**SMALL, "iterations": 50, "eval_every": 2})
    with pytest.raises(TrainingDivergedError, match=r"Training stopped at iteration \d+: .*NaN.*last good weights were saved.*smaller learning_rate"):
        run.fit(prepared_synthetic, checkpoint=path, progress=False)
    reloaded = NeuralODEModel.load(path)
    assert saved_best, "no evaluation happened before the failure"
    for name, value in reloaded.field.state_dict().items():
        assert torch.equal(value, saved_best[-1][name]), name  # the best weights seen, not the NaN ones
    assert np.isfinite(reloaded.simulate(prepared_synthetic.test)).all()
    assert good.shape == reloaded.simulate(prepared_synthetic.test).shape


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
        model.VectorField(2, 1, activation="gelu2")


# -- the CLI -------------------------------------------------------------------------------------

def test_train_cli_on_the_real_data(tmp_path, limonene_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--dataset", "limonene", "--train", "L1,L3", "--test", "L2", "--out", str(out),
                     "--quick", "--epochs", "6", "--no-progress", "--device", "cpu", "--data-dir", str(limonene_path.parent)])
    assert code == 0
    assert {"model.pt", "predictions.csv", "trajectories.csv", "metrics.json"} <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_strains"] == ["L2"] and metrics["iterations_run"] == 6
    assert set(metrics["test"]["rmse_measured"]) == set(data.PATHWAYS["limonene"].states)
    assert metrics["test"]["mean_rmse_grid"] > 0
    import pandas as pd

    predictions = pd.read_csv(out / "predictions.csv")
    assert list(predictions.columns[:5]) == ["strain", "time", "variable", "measured", "predicted"]
    assert set(predictions.loc[predictions["split"] == "test", "strain"]) == {"L2"}


def test_train_cli_on_synthetic_and_user_csv(tmp_path, capsys):
    out = tmp_path / "syn"
    assert cli.main(["train", "--dataset", "synthetic", "--synthetic-strains", "4", "--out", str(out),
                     "--epochs", "4", "--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_strains"] == ["S3", "S4"]
    csv = tmp_path / "mine.csv"
    synthetic.generate(3, seed=5).to_csv(csv, index=False)
    out2 = tmp_path / "csv"
    assert cli.main(["train", "--csv", str(csv), "--states", "Mevalonate,Limonene", "--controls", "HMGR,MK",
                     "--train", "S1,S2", "--test", "S3", "--out", str(out2), "--epochs", "4", "--no-progress"]) == 0
    assert json.loads((out2 / "metrics.json").read_text())["test_strains"] == ["S3"]


def test_train_cli_bad_inputs(tmp_path, tidy_csv, limonene_path, capsys):
    base = ["train", "--out", str(tmp_path / "x"), "--epochs", "2", "--no-progress", "--data-dir", str(limonene_path.parent)]
    assert cli.main(base + ["--dataset", "limonene", "--train", "L1", "--test", "L9"]) == 2
    assert "Unknown strain: 'L9'" in capsys.readouterr().err
    assert cli.main(base + ["--dataset", "limonene", "--device", "cuda"]) == (0 if torch.cuda.is_available() else 2)
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in capsys.readouterr().err
    assert cli.main(base + ["--csv", str(tidy_csv), "--states", "m1,m2", "--controls", "E1"]) == 2
    assert "Give --train and --test" in capsys.readouterr().err
    assert cli.main(base) == 2
    assert "Give --dataset NAME or --csv FILE" in capsys.readouterr().err
    assert cli.main(base + ["--dataset", "limonene", "--resume", "--out", str(tmp_path / "empty")]) == 2
    assert "Cannot resume" in capsys.readouterr().err


def test_fixed_step_shortcut_matches_torchdiffeq_exactly():
    import torchdiffeq

    torch.manual_seed(5)
    field = model.VectorField(3, 2, width=8).double()
    with torch.no_grad():
        field.output.weight.mul_(50)
    times = torch.linspace(0.0, 72.0, 200, dtype=torch.float64)
    u, x0 = torch.randn(4, 200, 2, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    for step in (2.0, 1.0, 0.7):
        ours = model.integrate(field, x0, times, u, solver="rk4", step_size=step)
        field.set_controls(times, u)
        direct = torchdiffeq.odeint(field, x0, times, method="rk4", options={"step_size": step}).transpose(0, 1)
        assert torch.allclose(ours, direct, atol=1e-10), step
