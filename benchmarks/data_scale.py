"""Validation and preprocessing of a large table: 500 strains, 100,000 rows.

    python benchmarks/data_scale.py [--strains 500] [--rows 100000] [--seed 0]

Prints the seconds of each step: writing the CSV, load_csv (validation, including the search for
copied series that `nodebio info` reports), identical_series alone, and prepare (imputation, the
even grid, the split, the scalers). A table this size used to take 23.5 s for `nodebio info`
(the copy search was quadratic in strains) and 13.8 s for prepare (per-strain filtering of the
whole table); both are now one pass per variable or strain.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nodebio import data


def table(strains: int, rows: int, seed: int) -> pd.DataFrame:
    """A tidy table of ``strains`` strains sampled at uneven times, 3 enzymes and 5 metabolites, 10%
    of the metabolite values missing."""
    rng = np.random.default_rng(seed)
    per = rows // strains
    frames = []
    for s in range(strains):
        times = np.sort(rng.choice(np.arange(1, 72 * 20), size=per - 1, replace=False) / 20.0)
        frame = pd.DataFrame({"Strain": f"S{s:04d}", "Hour": np.concatenate([[0.0], times])})
        for e in ("E1", "E2", "E3"):
            frame[e] = rng.lognormal(10, 1, per)
        for m in ("A", "B", "C", "D", "P"):
            values = rng.lognormal(0, 1, per)
            values[rng.uniform(size=per) < 0.1] = np.nan
            values[0] = 1.0
            frame[m] = values
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strains", type=int, default=500)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seconds = {}
    started = time.perf_counter()
    frame = table(args.strains, args.rows, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.csv"
        frame.to_csv(path, index=False)
        seconds["make and write the CSV"] = time.perf_counter() - started
        started = time.perf_counter()
        dataset = data.load_csv(path, states=["A", "B", "C", "D", "P"], controls=["E1", "E2", "E3"])
        seconds["load_csv (validation)"] = time.perf_counter() - started
    started = time.perf_counter()
    copies = data.identical_series(dataset)
    seconds["identical_series (as `nodebio info`)"] = time.perf_counter() - started
    started = time.perf_counter()
    strains = list(dataset.strains)
    prepared = data.prepare(dataset, strains[:-50], strains[-50:])
    seconds["prepare (impute, grid, split, scalers)"] = time.perf_counter() - started
    print(f"{len(dataset.table)} rows, {len(dataset.strains)} strains, {len(copies)} copied series found; "
          f"grid {prepared.train.x.shape}")
    width = max(map(len, seconds))
    for step, value in seconds.items():
        print(f"  {step:<{width}}  {value:6.2f} s")


if __name__ == "__main__":
    main()
