"""Every speed figure of the neural ODE and of the 2018 baseline, measured in one run.

    python benchmarks/speed.py --threads 1 [--json] [--quick] [--seeds 1] [--batch 1000]

1. Training: wall seconds of one full training run (default options, 300 iterations unless early
   stopping) per pathway and seed, with the fused integrator (the default) and with torchdiffeq's
   rk4 loop (``solver="torchdiffeq-rk4"``), after one short warm-up fit (not counted).
2. Inference on the held-out strain of ``--pathway`` (a 200-point trajectory of 72 h): the median
   time of ``simulate`` for one trajectory, and per trajectory for a batch of ``--batch``
   scenarios (every enzyme scaled by a log-normal factor), with the fused integrator, torchdiffeq,
   and torchode (when it is importable; it is not in the project's lock).
3. The baseline (gradient boosting and random forests): "published" (scipy's dopri5 as their
   stored run's ``helper.odeintz`` drives it, one trajectory at a time) and "careful" (fixed-step RK4 on the grid over the
   compiled trees, all trajectories of a batch at once); the speed-up of the neural ODE against
   each, for one trajectory and per trajectory in the batch. The published configuration
   simulates scenarios one at a time, so ``--loop`` of them are timed for its batched figure.

Prints a table (``--json``: one JSON object instead, which
:func:`nodebio.experiments.claims.speed_claims` reads: every figure has its single timings as
``one_ms_all`` and ``batched_ms_all`` beside the medians, for the intervals of the speed-ups). ``--quick`` makes every count small (a smoke
run, its figures are not the benchmark's). Targets of the project on a 2-core CPU with one torch
thread: one trajectory <= 1 ms; <= 0.05 ms per trajectory in a batch of 1,000; training one
pathway and seed <= 2 s; one trajectory >= 1000x faster than gradient boosting as published and
>= 5000x than random forests as published.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np
import torch

from nodebio import data, models
from nodebio.timing import median_seconds

TARGETS = {"one_trajectory_ms": 1.0, "batched_ms_per_trajectory": 0.05, "training_s": 2.0,
           "speedup_gb_published": 1000.0, "speedup_rf_published": 5000.0}


def timings_ms(function, repeats: int, per: int = 1) -> list[float]:
    """Milliseconds of ``repeats`` calls of ``function`` after one warm-up call, each divided by ``per``."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(1000 * (time.perf_counter() - started) / per)
    return times


def figure(one: list[float], batched: list[float], **extra) -> dict:
    """Medians and single timings of one model."""
    return {"one_ms": statistics.median(one), "batched_ms": statistics.median(batched), "one_ms_all": one,
            "batched_ms_all": batched, **extra}


def scenarios(test: data.Trajectories, n: int, seed: int = 0) -> data.Trajectories:
    """``n`` copies of the first held-out strain with every enzyme scaled by a log-normal factor."""
    rng = np.random.default_rng(seed)
    factors = rng.lognormal(0.0, 0.3, (n, 1, test.u.shape[-1]))
    return data.Trajectories(strains=tuple(f"s{i}" for i in range(n)), times=test.times,
                             x=np.repeat(test.x[:1], n, 0), u=test.u[:1] * factors, states=test.states,
                             controls=test.controls, measured=test.measured.iloc[:0])


def training(pathways, seeds, iterations):
    """Training seconds per (pathway, seed, solver)."""
    rows = []
    warm = data.prepare(data.load(pathways[0]))
    models.make_model("node", device="cpu", iterations=5).fit(warm, progress=False)  # imports, first calls
    for pathway in pathways:
        prepared = data.prepare(data.load(pathway))
        for seed in seeds:
            for solver in ("rk4", "torchdiffeq-rk4"):
                model = models.make_model("node", seed=seed, device="cpu", solver=solver, **iterations)
                started = time.perf_counter()
                model.fit(prepared, progress=False)
                rows.append({"pathway": pathway, "seed": seed, "solver": solver,
                             "seconds": time.perf_counter() - started, "iterations": len(model.history)})
    return rows


def torchode_simulate(model, trajectories):
    """The neural ODE's held-out simulation with torchode: the 3/8-rule RK4 of torchdiffeq as a
    Butcher tableau, a fixed 2 h step (returns None where torchode is not importable)."""
    try:
        import torchode as to
        from torchode.interpolation import ThirdOrderPolynomialInterpolation
        from torchode.single_step_methods.runge_kutta import ButcherTableau, ExplicitRungeKutta
    except ImportError:
        return None

    class RK4(ExplicitRungeKutta):
        TABLEAU = ButcherTableau.from_lists(c=[0.0, 1 / 3, 2 / 3, 1.0], a=[[], [1 / 3], [-1 / 3, 1.0], [1.0, -1.0, 1.0]],
                                            b=[1 / 8, 3 / 8, 3 / 8, 1 / 8], b_low_order=[1 / 8, 3 / 8, 3 / 8, 1 / 8])

        def __init__(self, term=None):
            super().__init__(term, RK4.TABLEAU)

        def convergence_order(self):
            return 4

        def build_interpolation(self, interpolation_data):
            d = interpolation_data
            return ThirdOrderPolynomialInterpolation.from_k(d.t0, d.dt, d.y0, d.y1, d.k)

    field = model.field
    dtype = torch.float32
    times = torch.as_tensor(trajectories.times, dtype=dtype)
    x0 = torch.as_tensor(model.state_scaler.transform(trajectories.x[:, 0]), dtype=dtype)
    u = torch.as_tensor(model.control_scaler.transform(trajectories.u), dtype=dtype)
    term = to.ODETerm(lambda t, y: field(t[0], y))  # one clock for the batch: fixed steps from one start
    solver = to.AutoDiffAdjoint(RK4(term), to.FixedStepController())

    def run():
        with torch.inference_mode():
            field.set_controls(times, u)
            problem = to.InitialValueProblem(y0=x0, t_eval=times.expand(len(x0), -1))
            solution = solver.solve(problem, dt0=torch.full((len(x0),), model.config.step_size, dtype=dtype))
            return model.state_scaler.inverse_transform(solution.ys.numpy().astype(float))

    return run


def inference(pathway, batch_size, repeats, loop, quick):
    prepared = data.prepare(data.load(pathway))
    test = prepared.test.subset(prepared.test.strains[:1])
    batch = scenarios(test, batch_size)
    options = {"iterations": 20} if quick else {}
    node = models.make_model("node", device="cpu", **options).fit(prepared, progress=False)
    figures = {}

    def node_runner(solver, trajectories):
        return lambda: node.simulate(trajectories, solver=solver)

    for label, solver in (("neural ODE, fused rk4", "rk4"), ("neural ODE, torchdiffeq rk4", "torchdiffeq-rk4")):
        figures[label] = figure(timings_ms(node_runner(solver, test), repeats),
                                timings_ms(node_runner(solver, batch), max(2, repeats // 10), batch_size),
                                kind="neural ODE")
    one, many = torchode_simulate(node, test), torchode_simulate(node, batch)
    if one is not None:
        ours, theirs = node.simulate(test), one()
        end = float(np.abs(theirs[:, -1] - ours[:, -1]).max() / np.abs(ours).max())
        figures["neural ODE, torchode rk4"] = {
            "one_ms": 1000 * median_seconds(one, repeats),
            "batched_ms": 1000 * median_seconds(many, max(1, repeats // 10)) / batch_size, "kind": "neural ODE",
            "note": f"same steps, cubic interpolation between them; at 72 h it differs from the fused "
                    f"solution by {end:.1e} of the largest value"}
    trees = {"n_estimators": 10} if quick else {}
    for regressor in ("gb", "rf"):
        for configuration in ("published", "careful"):
            model = models.make_model(f"baseline-{regressor}", configuration=configuration, **trees).fit(prepared)
            label = f"baseline {regressor.upper()}, {configuration}"
            one = timings_ms(lambda: model.simulate(test), 3 if configuration == "published" else repeats)
            if configuration == "published":  # one scenario after another, as their code runs them
                # each of ``loop`` scenarios timed alone: the same work as a loop over them
                batched = [timings_ms(lambda s=s: model.simulate(batch.subset([s])), 1)[0]
                           for s in batch.strains[:loop]]
                how = f"one at a time ({model.config.solver}), {loop} scenarios timed"
            else:
                batched = timings_ms(lambda: model.simulate(batch), 2, batch_size)
                how = f"all {batch_size} at once (RK4 over the compiled trees)"
            figures[label] = figure(one, batched, kind="baseline", note=how, status=sorted(set(model.status_)))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--pathway", default="limonene", choices=list(data.PATHWAYS), help="of the inference figures")
    parser.add_argument("--seeds", type=int, default=1, help="training runs per pathway (seeds 0, 1, ...)")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50, help="of the one-trajectory medians")
    parser.add_argument("--loop", type=int, default=10, help="scenarios timed one at a time (published baseline)")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    if args.quick:
        args.batch, args.repeats, args.loop, args.seeds = 50, 5, 2, 1
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    iterations = {"iterations": 20} if args.quick else {}
    train = training(list(data.PATHWAYS), range(args.seeds), iterations)
    figures = inference(args.pathway, args.batch, args.repeats, args.loop, args.quick)
    fused = figures["neural ODE, fused rk4"]
    speedups = {label: {"one": f["one_ms"] / fused["one_ms"], "batched": f["batched_ms"] / fused["batched_ms"]}
                for label, f in figures.items()}
    fused_training = [r["seconds"] for r in train if r["solver"] == "rk4"]
    result = {
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "settings": {"pathway": args.pathway, "batch": args.batch, "repeats": args.repeats, "loop": args.loop,
                     "quick": args.quick},
        "training": train,
        "inference": figures,
        "speedup_vs_fused": speedups,
        "torchode": ("measured" if "neural ODE, torchode rk4" in figures else
                     "not measured: torchode is not importable here; it is not in the project's lock "
                     "(install it apart, e.g. pip install --target DIR torchode, and put DIR on PYTHONPATH)"),
        "targets": {
            "one_trajectory_ms": {"target": TARGETS["one_trajectory_ms"], "value": fused["one_ms"]},
            "batched_ms_per_trajectory": {"target": TARGETS["batched_ms_per_trajectory"],
                                          "value": fused["batched_ms"]},
            "training_s": {"target": TARGETS["training_s"], "value": statistics.median(fused_training)},
            "speedup_gb_published": {"target": TARGETS["speedup_gb_published"],
                                     "value": speedups["baseline GB, published"]["one"]},
            "speedup_rf_published": {"target": TARGETS["speedup_rf_published"],
                                     "value": speedups["baseline RF, published"]["one"]},
        },
        "seconds": time.perf_counter() - started,
    }
    for name, target in result["targets"].items():
        better_low = name in ("one_trajectory_ms", "batched_ms_per_trajectory", "training_s")
        target["met"] = bool(target["value"] <= target["target"] if better_low else target["value"] >= target["target"])
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)


def print_table(result: dict) -> None:
    m = result["machine"]
    print(f"torch {m['torch']}, {m['threads']} thread(s), {m['processor']}, {m['cpus']} CPUs"
          + ("; --quick: smoke-run counts, not the benchmark" if result["settings"]["quick"] else ""))
    print("\nTraining (default options, one run per pathway and seed; after a warm-up fit):")
    print(f"  {'pathway':12s} {'seed':>4s}  {'solver':16s} {'seconds':>8s} {'iterations':>10s}")
    for r in result["training"]:
        print(f"  {r['pathway']:12s} {r['seed']:4d}  {r['solver']:16s} {r['seconds']:8.2f} {r['iterations']:10d}")
    s = result["settings"]
    print(f"\nInference, {s['pathway']} held-out strain, 200-point trajectory of 72 h; batch of {s['batch']} scenarios:")
    print(f"  {'model':30s} {'one (ms)':>10s} {'batched (ms/traj)':>18s} {'x fused, one':>13s} "
          f"{'x fused, batched':>17s}  how")
    for label, f in result["inference"].items():
        sp = result["speedup_vs_fused"][label]
        print(f"  {label:30s} {f['one_ms']:10.3f} {f['batched_ms']:18.4f} {sp['one']:13.1f} {sp['batched']:17.1f}  "
              f"{f.get('note', '')}")
    if result["torchode"] != "measured":
        print(f"  torchode: {result['torchode']}")
    print("\nTargets:")
    for name, t in result["targets"].items():
        print(f"  {name:26s} {t['value']:12.4g}  target {t['target']:g}  {'met' if t['met'] else 'missed'}")
    print(f"\n{result['seconds']:.0f} s in all")


if __name__ == "__main__":
    main()
