"""Speed of intervention scans: 1,000 scenarios of a held-out strain over an ensemble of 5 models.

    python benchmarks/intervention_speed.py [--pathway limonene] [--scenarios 1000] [--members 5]
                                            [--threads 1] [--device cpu] [--loop 20]

Trains ``--members`` neural ODEs (default solver settings, ``--iterations`` each: the time of a
simulation does not depend on how long the weights were trained), then times
:func:`nodebio.interventions.simulate_interventions` on ``--scenarios`` designs (the unmodified
strain and random changes of every enzyme, log-uniform factors 0.25-4), as the median of
``--repeats`` runs, including the summary table. For the ratio, ``--loop`` scenarios are also
simulated one at a time. Target of the project: at most 10 s for 1,000 scenarios x 5 models on a
2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import platform

import torch

from nodebio import data, models
from nodebio import interventions as iv
from nodebio.timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pathway", default="limonene", choices=list(data.PATHWAYS))
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)  # a benchmark is an application: it sets the process-wide count
    prepared = data.prepare(data.load(args.pathway))
    test = prepared.test
    print(f"{args.pathway}, strain {test.strains[0]}; torch {torch.__version__}, {args.threads} thread(s), "
          f"device {args.device}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    ensemble = models.Ensemble("node", args.members, iterations=args.iterations, device=args.device).fit(prepared)
    ranges = iv.training_range(prepared.train)
    designs = iv.random_designs(list(test.controls), args.scenarios - 1)

    def scan():
        result = iv.simulate_interventions(ensemble, test, designs, product=prepared.dataset.product,
                                           control_range=ranges)
        return result.table()

    table = scan()
    assert len(table) == args.scenarios
    batched = median_seconds(scan, args.repeats)
    one_by_one = median_seconds(lambda: [iv.simulate_interventions(
        ensemble, test, [d], product=prepared.dataset.product, control_range=ranges)
        for d in designs[:args.loop]], 1) / args.loop
    simulations = args.scenarios * args.members
    print(f"\n{args.scenarios} scenarios x {args.members} models = {simulations} simulations of 72 h")
    print(f"  batched scan, table included: {batched:.2f} s wall (target <= 10 s): "
          f"{'met' if batched <= 10 else 'missed'}")
    print(f"  per simulation: {1000 * batched / simulations:.3f} ms")
    print(f"  one scenario at a time: {1000 * one_by_one:.1f} ms per scenario ({args.members} models), "
          f"{one_by_one * args.scenarios / batched:.0f}x the batched time per scenario")


if __name__ == "__main__":
    main()
