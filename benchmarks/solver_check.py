"""Solver check: do the neural ODEs' simulations converge at their training step?

    python benchmarks/solver_check.py [--steps 2,1,0.5] [--models node,node-structured,node-kinetic]
                                      [--seeds 1] [--json]

For each pathway, model and training step (``step_size`` of the fixed-step rk4), trains the model
on the paper's training strains and measures, on those training strains only (never the held-out
strain: this chooses a default), how far the simulation with that step lies from the converged
solution of the same ODE (``dopri5``, rtol 1e-7), in units of each state's training spread
(:func:`nodebio.metrics.solver_error`), with the training seconds. The largest step whose error
stays below ``--tolerance`` is the step that passes.
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd

from nodebio import data, metrics, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="2,1,0.5")
    parser.add_argument("--models", default="node,node-structured,node-kinetic")
    parser.add_argument("--pathways", default=",".join(data.PATHWAYS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=0.02, help="in units of the training spread")
    parser.add_argument("--iterations", type=int, help="training iterations (default: the model's)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for pathway in args.pathways.split(","):
        dataset = data.load(pathway)
        for name in args.models.split(","):
            for step in [float(s) for s in args.steps.split(",")]:
                for seed in range(args.seeds):
                    options = {"step_size": step, **({"iterations": args.iterations} if args.iterations else {})}
                    model = models.make_model(name, seed=seed, device="cpu", **options)
                    prepared = models.prepare_for(model, dataset)
                    started = time.perf_counter()
                    model.fit(prepared, progress=False)
                    seconds = time.perf_counter() - started
                    spread = metrics.training_spread(prepared.train.x, prepared.train.states)
                    error = metrics.solver_error(model, prepared.train, spread)
                    rows.append({"pathway": pathway, "model": name, "step_h": step, "seed": seed,
                                 "train_seconds": seconds, "solver_error": error["default"],
                                 "halved_error": error["halved"], "negative_share": error["negative_share"],
                                 "passes": error["default"] <= args.tolerance})
                    print(rows[-1] if not args.json else "", flush=True, end="\n" if not args.json else "")
    table = pd.DataFrame(rows)
    if args.json:
        print(json.dumps({"tolerance": args.tolerance, "rows": rows}, indent=1))
    else:
        print(table.round(4).to_string(index=False))


if __name__ == "__main__":
    main()
