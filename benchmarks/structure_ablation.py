"""The accuracy push from the command line: every experiment of the ablation, scored by
leave-one-strain-out within the training strains (the selection score) and on the held-out
medium strain (for the record), as in the chapter "Building biology into the model".

    python benchmarks/structure_ablation.py [--seeds 1] [--seed 0] [--quick] [--model node-kinetic]
                                            [--out ablation.csv]

Prints the ablation table (mean scaled RMSE over metabolites; "inner" columns choose, "test"
columns report) and the experiment kept by the inner score; writes every run to ``--out``.
``--model`` runs the experiments of one neural ODE variant only (and the model-free references).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nodebio.experiments import ablation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--quick", action="store_true", help="the tiny grid, few iterations")
    parser.add_argument("--model", help="only the experiments of this model (node, node-structured, node-kinetic)")
    parser.add_argument("--out", type=Path, default=Path("ablation.csv"))
    args = parser.parse_args()
    experiments = dict(ablation.ABLATION_EXPERIMENTS)
    if args.quick:
        experiments = {k: {**experiments[k], "iterations": 12, "eval_every": 4} for k in ablation.QUICK_ABLATION}
    if args.model:
        experiments = {k: v for k, v in experiments.items() if v.get("model", "node") == args.model}
        if not experiments:
            parser.error(f"no experiment of model {args.model!r}")
    runs = ablation.ablation(experiments, seeds=args.seeds, first_seed=args.seed, device="cpu")
    runs.to_csv(args.out, index=False)
    table = ablation.ablation_table(runs)
    print(table.round(3).to_string(index=False))
    print(f"kept by the inner score: {ablation.best_experiment(table)}")
    print(f"wrote {len(runs)} runs to {args.out}")


if __name__ == "__main__":
    main()
