"""Intervention skill: which enzyme matters, scored against the direction rule, per model, in one run.

    python benchmarks/intervention_skill.py [--strains 24] [--data-seeds 3] [--members 5]
                                            [--models node,node-structured,node-kinetic]
                                            [--iterations N] [--quick] [--json]

On the package's harder synthetic truth (:meth:`nodebio.synthetic.SyntheticPathway.hard`: feedback,
a branch, burden), ``--strains`` training strains and three in-range held-out strains per data
seed, every model's ensemble predicts the 18 single-enzyme interventions (9 proteins x 0.5 and
x 2) of each held-out strain (:func:`nodebio.experiments.validation.validate_on_synthetic`).
Printed per model, mean and range over the data seeds: ``within_factor`` (rank correlation across
the proteins at one factor: which enzyme matters), ``sign`` (sign agreement on the clear effects)
beside the direction rule's ``rule_sign`` on the same effects, ``spearman`` beside
``rule_spearman``, and ``rmse_ratio_to_mean`` (held-out scaled RMSE over that of the training-strain
mean on the same strains). The training mean and the nearest strain are scored as models too: the
mean predicts no effect at all. ``--quick`` is a smoke run (small ensembles, few iterations):
its numbers show the code works, not the models' skill.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

from nodebio import synthetic
from nodebio.experiments import validation

COLUMNS = ["within_factor", "sign", "rule_sign", "spearman", "rule_spearman", "effect_error",
           "true_against_rule", "predicted_against_rule", "heldout_rmse_scaled"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strains", type=int, default=24)
    parser.add_argument("--data-seeds", type=int, default=3)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--models", default="node,node-structured,node-kinetic,mean,nearest")
    parser.add_argument("--iterations", type=int)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    members = 2 if args.quick else args.members
    rows = []
    for data_seed in range(args.data_seeds):
        for name in args.models.split(","):
            options = {}
            if name.startswith("node"):
                if args.iterations or args.quick:
                    options["iterations"] = args.iterations or 20
            result = validation.validate_on_synthetic(
                (args.strains,), n_test_strains=3, model=name, pathway=synthetic.SyntheticPathway.hard(),
                members=members if name.startswith("node") else 1, seed=0, data_seed=data_seed,
                progress=False, device="cpu", **options)
            row = result.summary.iloc[0]
            rows.append({"model": name, "data_seed": data_seed, **{c: float(row.get(c, np.nan)) for c in COLUMNS}})
    table = pd.DataFrame(rows)
    mean_rmse = table[table["model"] == "mean"].set_index("data_seed")["heldout_rmse_scaled"]
    table["rmse_ratio_to_mean"] = table["heldout_rmse_scaled"] / table["data_seed"].map(mean_rmse)
    summary = table.groupby("model", sort=False)[[*COLUMNS, "rmse_ratio_to_mean"]].agg(["mean", "min", "max"])
    if args.json:
        print(json.dumps({"settings": vars(args), "runs": rows,
                          "summary": {m: {c: summary.loc[m, (c, "mean")] for c in [*COLUMNS, "rmse_ratio_to_mean"]}
                                      for m in summary.index}}, indent=1, default=float))
    else:
        label = "QUICK RUN (shows the code works, not the models' skill): " if args.quick else ""
        print(f"{label}{args.strains} training strains, {args.data_seeds} data seeds, harder truth; "
              "mean over data seeds")
        show = summary.xs("mean", axis=1, level=1).round(3)
        print(show.to_string())


if __name__ == "__main__":
    main()
