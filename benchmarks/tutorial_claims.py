"""The tutorial's convergence claims, measured: iterations until |prediction − target| < 1e-3.

For every published example (parts 1–4), starting weights are drawn from
[0, 1) as the tutorial does, with ``initial_weights(example, seed)`` for seeds
0 .. N−1 (so ``tinygrad-gd demo --seed S`` starts where row S did). Each set
trains by plain gradient descent at the example's published learning rate,
all seeds at once as one numpy batch, twice: with the correct gradient
derived by hand (tests/tutorial/test_tutorial.py proves it equals the automatic one)
and with the published code's variant (σ' at predicted in parts 1–2; output
weights updated before the hidden layer's gradients in parts 3–4).

    python benchmarks/tutorial_claims.py [--seeds 100] [--max-iterations 2000000]

Prints one table: the text's claim, then for each gradient how many seeds
reached the target within the limit, and the median and range of the
iterations they needed.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from tinygrad_gd._support.tables import format_table
from tinygrad_gd.tutorial.descent import GradientMethod, gradient_descent, initial_weights
from tinygrad_gd.tutorial.examples import EXAMPLES, PART1, Example

CHUNK = 20_000  # iterations per batch run: bounds the memory of the recorded predictions

# Part 1's "about 50,000 iterations" is stated for the loop's rate 0.01; this row
# measures the rate it would fit.
PART1_TENTH = replace(
    PART1, name="part 1, lr 0.1", learning_rate=0.1, claim="(50,000 claimed at lr 0.01)"
)
MEASURED = (PART1, PART1_TENTH, *(example for example in EXAMPLES if example is not PART1))


def iterations_to_reach(
    example: Example,
    method: GradientMethod,
    seeds: int,
    max_iterations: int,
    tolerance: float,
) -> np.ndarray:
    """Per seed, the first iteration count with |prediction − target| < tolerance, or −1."""
    starts = [initial_weights(example, seed) for seed in range(seeds)]
    weights = tuple(np.stack(arrays) for arrays in zip(*starts, strict=True))
    reached = np.full(seeds, -1)
    done = 0
    while done < max_iterations and (reached < 0).any():
        steps = min(CHUNK, max_iterations - done)
        run = gradient_descent(example, weights, iterations=steps, method=method)
        hit = run.reached_at(tolerance)
        new = (reached < 0) & (hit >= 0)
        reached[new] = done + hit[new]
        weights, done = run.weights, done + steps
    return reached


def describe(reached: np.ndarray, max_iterations: int) -> tuple[str, str, str]:
    """(seeds reached, median, range) as table cells."""
    done = reached[reached >= 0]
    count = f"{done.size}/{reached.size}"
    if done.size == 0:
        return count, f"> {max_iterations:,}", ""
    spread = f"{done.min():,} – {done.max():,}"
    if done.size < reached.size:
        spread += f" (rest > {max_iterations:,})"
    return count, f"{int(np.median(done)):,}", spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="starting points (default 100)")
    parser.add_argument(
        "--max-iterations", type=int, default=2_000_000, help="per seed (default 2,000,000)"
    )
    parser.add_argument("--tolerance", type=float, default=1e-3, help="(default 1e-3)")
    args = parser.parse_args()
    rows = [("example", "lr", "claim", "gradient", "reached", "median", "range")]
    started = time.perf_counter()
    for example in MEASURED:
        for method, name in (("manual", "correct"), ("published", "published")):
            reached = iterations_to_reach(
                example, method, args.seeds, args.max_iterations, args.tolerance
            )
            claim = example.claim or "none stated"
            rows.append(
                (example.name, f"{example.learning_rate:g}", claim, name,
                 *describe(reached, args.max_iterations))
            )  # fmt: skip
            print(f"  {example.name}, {name}: {time.perf_counter() - started:.0f} s", flush=True)
    print()
    print(f"{args.seeds} seeds, reached = |prediction - target| < {args.tolerance:g}")
    print(format_table(rows))


if __name__ == "__main__":
    main()
