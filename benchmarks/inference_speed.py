"""Inference speed: the neural ODE against the 2018 baseline, in one run.

    python benchmarks/inference_speed.py [--pathway limonene] [--repeats 20] [--batch 1000] [--loop 20]

1. One held-out trajectory (200 grid points): median of ``--repeats`` simulations with the neural
   ODE and with each baseline (gradient boosting and random forest, careful and published
   configurations, trees evaluated by nodebio's compiled evaluator), plus the baseline as the
   original code runs it (scikit-learn's ``predict`` at every evaluation; fewer repeats, it is slow).
2. A batch of ``--batch`` perturbed scenarios (every enzyme scaled by a log-normal factor): the
   neural ODE in one batched call, the baselines one scenario after another (``--loop`` of them
   timed, the per-trajectory time reported).

Prints the times and the ratios. Targets of the project: one trajectory >= 1000x faster than the
random-forest baseline and >= 100x than gradient boosting; batched, >= 10,000x per trajectory.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from nodebio import data, models
from nodebio.timing import median_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pathway", default="limonene", choices=list(data.PATHWAYS))
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--loop", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    prepared = data.prepare(data.load(args.pathway))
    test = prepared.test
    print(f"{args.pathway}, held-out {test.strains[0]}; torch {torch.__version__}, {torch.get_num_threads()} thread(s)")

    node = models.make_model("node", device="cpu").fit(prepared, progress=False)
    fitted = {"neural ODE": node}
    for name in ("baseline-gb", "baseline-rf"):
        for configuration in ("careful", "published"):
            fitted[f"{name} ({configuration})"] = models.make_model(name, configuration=configuration).fit(prepared)
    fitted["baseline-gb (careful, scikit-learn predict)"] = models.make_model("baseline-gb", compiled=False).fit(prepared)

    print("\none trajectory (median):")
    one = {}
    for label, model in fitted.items():
        repeats = 3 if "scikit-learn" in label else args.repeats
        one[label] = median_seconds(lambda: model.simulate(test), repeats)
        ratio = one[label] / one["neural ODE"]
        print(f"  {label:45s} {1000 * one[label]:10.2f} ms   {ratio:10.1f}x the neural ODE ({repeats} runs)")

    rng = np.random.default_rng(0)
    factors = rng.lognormal(0.0, 0.3, (args.batch, 1, test.u.shape[-1]))
    batch = data.Trajectories(strains=tuple(f"s{i}" for i in range(args.batch)), times=test.times,
                              x=np.repeat(test.x[:1], args.batch, 0), u=test.u[:1] * factors,
                              states=test.states, controls=test.controls, measured=test.measured.iloc[:0])
    node_per = median_seconds(lambda: node.simulate(batch), 5) / args.batch
    print(f"\nbatch of {args.batch} scenarios, per trajectory:")
    print(f"  {'neural ODE (one batched call)':45s} {1000 * node_per:10.4f} ms")
    loop = batch.subset(batch.strains[:args.loop])
    for label in ("baseline-gb (careful)", "baseline-rf (careful)", "baseline-gb (published)", "baseline-rf (published)"):
        per = median_seconds(lambda: fitted[label].simulate(loop), 1) / args.loop
        print(f"  {label + ' one by one':45s} {1000 * per:10.4f} ms   {per / node_per:10.0f}x the neural ODE")


if __name__ == "__main__":
    main()
