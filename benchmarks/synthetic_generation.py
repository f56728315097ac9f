"""How long the synthetic pathway takes to generate strains (target: 10 strains in under 2 s).

    python benchmarks/synthetic_generation.py
"""

import statistics
import time

from nodebio import synthetic


def main(repeats: int = 5) -> None:
    for n in (1, 10, 50):
        times = []
        for seed in range(repeats):
            start = time.perf_counter()
            synthetic.generate(n, seed=seed, noise=0.05)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{n:3d} strains: median {median:.3f} s over {repeats} runs ({1000 * median / n:.1f} ms per strain)")


if __name__ == "__main__":
    main()
