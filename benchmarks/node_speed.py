"""Speed of the neural ODE on this machine: full training per pathway and inference.

    python benchmarks/node_speed.py [--threads 1] [--device cpu]

Prints, for each pathway: the wall time of one full training run (default options, one seed),
the median time to simulate the held-out strain's 200-point trajectory (over 20 runs), and the
time per trajectory in a batch of 1,000 perturbed copies of it (median of 5). The targets of the
project on a 2-core CPU: training <= 15 s, one trajectory <= 5 ms, <= 0.05 ms per trajectory in
the batch.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from nodebio import data
from nodebio.timing import median_seconds
from nodebio.models import NeuralODEModel, TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {args.device}")
    for pathway in data.PATHWAYS:
        config = TrainConfig(seed=args.seed, device=args.device)
        prepared = data.prepare(data.load(pathway), state_scaling=config.state_scaling,
                                control_scaling=config.control_scaling)
        start = time.perf_counter()
        model = NeuralODEModel(config).fit(prepared, progress=False)
        train_seconds = time.perf_counter() - start

        test = prepared.test
        one = median_seconds(lambda: model.simulate(test), 20)
        rng = np.random.default_rng(0)
        batch = data.Trajectories(
            strains=tuple(f"copy{i}" for i in range(1000)), times=test.times,
            x=np.repeat(test.x[:1], 1000, axis=0), u=test.u[:1] * rng.lognormal(0, 0.3, (1000, 1, test.u.shape[-1])),
            states=test.states, controls=test.controls, measured=test.measured.iloc[:0])
        batched = median_seconds(lambda: model.simulate(batch), 5)
        print(f"{pathway:12s} training {train_seconds:6.1f} s ({len(model.history)} iterations) | "
              f"one trajectory {1000 * one:7.2f} ms | batch of 1000: {1000 * batched:7.1f} ms, "
              f"{1000 * batched / 1000:.4f} ms per trajectory ({one / (batched / 1000):.0f}x cheaper than one by one)")


if __name__ == "__main__":
    main()
