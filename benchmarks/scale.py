"""Scale: an ensemble's members trained as one batched model against one after another, and a
reproduction with several worker processes against one, in one run.

    python benchmarks/scale.py [--members 5] [--iterations 300] [--repeats 2] [--pathway limonene]
                               [--jobs 2] [--reproduce quick|full|none] [--json]

Trains an ensemble of ``--members`` plain neural ODEs on the paper's training strains twice per
repeat, batched (:mod:`nodebio.models.batched`) and one after another (``batched=False``), on one
torch thread, alternating the order, and prints the median seconds of each, their ratio and the
largest difference between the two ensembles' held-out simulations. Early stopping is left on:
both runs stop each member at the same iteration. With ``--reproduce``, also
``nodebio.experiments.compare.reproduce`` (quick: 2 seeds with leave-one-strain-out; full: as the
book runs it) with ``--jobs`` worker processes and with one, each into an empty store of its own.
JSON keys: ``ensemble`` (``batched_s``, ``sequential_s``, ``speedup``, ``max_difference``), ``jobs``
(``jobs``, ``parallel_s``, ``serial_s``, ``speedup``, ``same_tables``) and ``machine``.
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pathway", default="limonene", choices=list(data.PATHWAYS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--reproduce", choices=["none", "quick", "full"], default="none")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    prepared = data.prepare(data.load(args.pathway))
    for batched in (True, False):  # imports and first calls of torch, outside the timings
        models.Ensemble("node", 2, seed=0, device=args.device, batched=batched, iterations=3).fit(prepared)
    seconds = {"batched": [], "sequential": []}
    fitted = {}
    for repeat in range(args.repeats):
        order = ("batched", "sequential") if repeat % 2 == 0 else ("sequential", "batched")
        for how in order:
            ensemble = models.Ensemble("node", args.members, seed=0, device=args.device, batched=how == "batched",
                                       iterations=args.iterations)
            started = time.perf_counter()
            ensemble.fit(prepared)
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            seconds[how].append(time.perf_counter() - started)
            fitted[how] = ensemble
    batched, sequential = (statistics.median(seconds[k]) for k in ("batched", "sequential"))
    difference = float(np.abs(fitted["batched"].simulate(prepared.test)
                              - fitted["sequential"].simulate(prepared.test)).max())
    result = {
        "machine": {"torch": torch.__version__, "threads": torch.get_num_threads(), "device": args.device,
                    "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "load_average": os.getloadavg()[0]},
        "settings": vars(args),
        "ensemble": {"members": args.members, "batched_s": batched, "sequential_s": sequential,
                     "speedup": sequential / batched, "max_difference": difference,
                     "iterations_run": [len(m.history) for m in fitted["batched"].members]},
    }
    if args.reproduce != "none":
        result["jobs"] = _jobs(args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        e = result["ensemble"]
        print(f"{args.members} members, {args.pathway}, {args.iterations} iterations, one thread, "
              f"load average {result['machine']['load_average']:.1f}")
        print(f"one after another {e['sequential_s']:.2f} s, batched {e['batched_s']:.2f} s: "
              f"{e['speedup']:.2f}x; largest difference of the held-out simulations {e['max_difference']:.2g}")
        if "jobs" in result:
            j = result["jobs"]
            print(f"reproduce ({args.reproduce}): {j['jobs']} jobs {j['parallel_s']:.0f} s, one {j['serial_s']:.0f} s: "
                  f"{j['speedup']:.2f}x; same tables: {j['same_tables']}")


def _jobs(args) -> dict:
    """A reproduction with ``args.jobs`` worker processes and with one, each into an empty store."""
    import tempfile

    from nodebio.experiments import compare

    quick = args.reproduce == "quick"
    options = dict(seeds=2 if quick else 5, quick=quick, loso=True, out=None, device="cpu", progress=False)
    seconds, tables = {}, {}
    for jobs in (args.jobs, 1):
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            output = compare.reproduce(store=folder, jobs=jobs, **options)
            seconds[jobs] = time.perf_counter() - started
        columns = [c for c in output["results"].columns if "seconds" not in c]
        tables[jobs] = output["results"][columns]
    return {"jobs": args.jobs, "parallel_s": seconds[args.jobs], "serial_s": seconds[1],
            "speedup": seconds[1] / seconds[args.jobs], "same_tables": bool(tables[args.jobs].equals(tables[1]))}


if __name__ == "__main__":
    main()
