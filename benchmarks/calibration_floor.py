"""The floor of the members' spread in the calibration (``nodebio.calibration.FLOOR``): coverage
and width of the calibrated fold-change intervals on the harder synthetic truth, per floor.

    python benchmarks/calibration_floor.py [--members 3] [--strains 10] [--iterations 300]
"""

import argparse

import pandas as pd

from nodebio import synthetic
from nodebio.experiments import validation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--strains", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for floor in (1e-4, 0.01, 0.05, 0.2):
        result = validation.validate_on_synthetic(
            (args.strains,), n_test_strains=3, n_outside=3, pathway=synthetic.SyntheticPathway.hard(), calibrate=True,
            floor=floor, members=args.members, seed=args.seed, progress=False, iterations=args.iterations,
            device="cpu")
        rows.append(result.summary.assign(floor=floor))
    table = pd.concat(rows).set_index(["floor", "group"])
    print(table[["coverage", "interval_ratio", "coverage_members", "calibration_scale", "spearman"]].round(3))


if __name__ == "__main__":
    main()
