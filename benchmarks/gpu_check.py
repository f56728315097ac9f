"""GPU check: the same training, simulation and intervention code on CUDA and on CPU, in one run.

    python benchmarks/gpu_check.py [--data-dir DIR] [--iterations 300] [--scenarios 1000] [--members 5]
                                   [--models node,node-structured]

For each pathway and model variant: train on CPU and on CUDA with the same seed (wall time of
each, held-out scaled RMSE of each: the numbers differ by floating-point order, not by method);
a checkpoint written on CUDA loaded on CPU gives the CUDA model's predictions; a scan of
``--scenarios`` random enzyme designs over ``--members`` models, batched on CUDA and on CPU
(wall time and the largest difference between the two). Prints a table and writes it as JSON
to ``--out`` when given. Exits with an error when no CUDA device is visible.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nodebio import data, metrics, models
from nodebio import interventions as iv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--models", default="node")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device is visible to torch", file=sys.stderr)
        return 1
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}, {platform.processor() or platform.machine()}",
          flush=True)
    rows = []
    for pathway in data.PATHWAYS:
        dataset = data.load(pathway, data_dir=args.data_dir)
        prepared = data.prepare(dataset)
        for name in args.models.split(","):
            fitted = {}
            for device in ("cpu", "cuda"):
                model = models.make_model(name, seed=0, device=device, iterations=args.iterations)
                prepared = models.prepare_for(model, dataset)  # the kinetic field takes enzymes unscaled
                started = time.perf_counter()
                model.fit(prepared, progress=False)
                seconds = time.perf_counter() - started
                _, _, scores = metrics.evaluate(model, prepared, splits=("test",))
                fitted[device] = model
                rows.append({"pathway": pathway, "model": name, "what": f"train on {device}",
                             "seconds": round(seconds, 2), "heldout_rmse_scaled": round(scores["test"]["mean_rmse_scaled"], 3),
                             "iterations_run": len(model.history)})
                print(rows[-1], flush=True)
            with tempfile.TemporaryDirectory() as folder:
                path = fitted["cuda"].save(Path(folder) / "model.pt")
                on_cpu = type(fitted["cuda"]).load(path, device="cpu")
                difference = float(np.abs(on_cpu.simulate(prepared.test) - fitted["cuda"].simulate(prepared.test)).max())
            rows.append({"pathway": pathway, "model": name, "what": "CUDA checkpoint loaded on CPU: max |difference|",
                         "value": difference})
            print(rows[-1], flush=True)
        prepared = data.prepare(dataset)
        for device in ("cpu", "cuda"):
            ensemble = models.Ensemble("node", args.members, iterations=20, device=device).fit(prepared)
            designs = iv.random_designs(list(prepared.test.controls), args.scenarios - 1)
            iv.simulate_interventions(ensemble, prepared.test, designs[:10], product=prepared.dataset.product)
            if device == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
            result = iv.simulate_interventions(ensemble, prepared.test, designs, product=prepared.dataset.product,
                                               control_range=iv.training_range(prepared.train))
            result.table()
            seconds = time.perf_counter() - started
            rows.append({"pathway": pathway, "model": "node", "what": f"scan {args.scenarios} x {args.members} on {device}",
                         "seconds": round(seconds, 3)})
            print(rows[-1], flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
