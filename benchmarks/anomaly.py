"""What detect_anomaly costs when it is off, and when it is on.

The hot path is building a graph and running backward over it. The graph
mixes sigmoid, mul and add with fan-out, and stays finite (a product of
growing values would overflow, and anomaly mode would rightly stop it). It is
timed, per node, in three modes side by side in one process:

* ``default``: the engine as users run it, with no mode set;
* ``non-default, same switches``: recording turned off, then on again, so
  this context is back in the default mode while a non-default mode (the
  outer block's) is alive: every op takes the engine's exact branch, which
  reads the context's mode. The one per-node check that "off" pays for is
  whether any non-default mode exists anywhere; this row is what the branch
  behind that check costs;
* ``detect_anomaly()``: anomaly mode on, every node remembering its line and
  every result and gradient checked.

    python benchmarks/anomaly.py [--nodes 100000] [--repeat 5]

Prints nanoseconds per node for build and backward, and each mode's total as
a ratio to the default; then what the one check that "off" pays for costs by
itself, timed in a loop against the same loop without it.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from tinygrad_gd import Value, detect_anomaly, no_grad
from tinygrad_gd.core import modes
from tinygrad_gd.core.value import GraphMode, graph_mode


@contextlib.contextmanager
def default_switches_elsewhere() -> Iterator[None]:
    """The default mode here, while a non-default one is alive (the outer block's)."""
    with no_grad(), graph_mode(record=True) as mode:
        assert mode == GraphMode() and modes.live_modes
        yield


MODES: dict[str, Callable[[], AbstractContextManager[object]]] = {
    "default": contextlib.nullcontext,
    "non-default, same switches": default_switches_elsewhere,
    "detect_anomaly()": detect_anomaly,
}


LEAVES = 100
Plan = list[tuple[str, int, int]]  # (op, operand, operand): indices into the nodes so far


def bounded_plan(nodes: int, seed: int = 0) -> Plan:
    """Every third op is a sigmoid, so no value grows past a few units."""
    rng = random.Random(seed)
    plan = []
    for i in range(nodes):
        last = LEAVES + i - 1
        other = rng.randrange(LEAVES) if i < 10 or rng.random() < 0.5 else last - rng.randrange(9)
        plan.append((("sigmoid", "mul", "add")[i % 3], last, other))
    return plan


def build(plan: Plan) -> Value:
    nodes = [Value(1.0 + i / LEAVES) for i in range(LEAVES)]
    append = nodes.append
    for op, left, right in plan:
        a, b = nodes[left], nodes[right]
        append(a.sigmoid() if op == "sigmoid" else a * b if op == "mul" else a + b)
    return nodes[-1]


def time_mode(mode: str, plan: Plan) -> tuple[float, float]:
    """Nanoseconds per node to build and to run backward, inside ``mode``."""
    gc.collect()
    gc.disable()  # the collector's pauses would drown the difference being measured
    try:
        with MODES[mode]():
            t0 = time.perf_counter()
            root = build(plan)
            t1 = time.perf_counter()
            root.backward()
            t2 = time.perf_counter()
    finally:
        gc.enable()
    nodes = len(plan)
    return (t1 - t0) / nodes * 1e9, (t2 - t1) / nodes * 1e9


def check_cost(repeat: int, n: int = 1_000_000) -> float:
    """Nanoseconds the default mode's per-op check takes: the engine's test of
    whether any non-default mode is alive, in a loop, minus the same loop with
    nothing in it (best of ``repeat``)."""
    live = modes.live_modes

    def checked() -> None:
        for _ in range(n):
            if live:
                raise AssertionError("a non-default mode is alive")

    def empty() -> None:
        for _ in range(n):
            pass

    best = {f: min(_seconds(f) for _ in range(repeat)) for f in (checked, empty)}
    return (best[checked] - best[empty]) / n * 1e9


def _seconds(f: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="ops per graph")
    parser.add_argument("--repeat", type=int, default=5, help="runs per mode (median)")
    args = parser.parse_args()
    plan = bounded_plan(args.nodes)

    python = sys.version.split()[0]
    print(f"Python {python}; graph of {args.nodes:,} ops; medians of {args.repeat} runs")
    print(f"{'mode':<28}{'build ns':>10}{'backward ns':>13}{'total ns':>10}{'x default':>11}")
    runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in MODES}
    for _ in range(args.repeat):  # interleaved, so drift on a shared machine hits all modes
        for mode in MODES:
            runs[mode].append(time_mode(mode, plan))
    medians = {
        mode: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
        for mode, rs in runs.items()
    }
    default_total = sum(medians["default"])
    for mode, (build_ns, backward_ns) in medians.items():
        total = build_ns + backward_ns
        print(
            f"{mode:<28}{build_ns:>10.0f}{backward_ns:>13.0f}{total:>10.0f}"
            f"{total / default_total:>11.2f}"
        )
    cost = check_cost(args.repeat)
    print(
        f"the check alone: {cost:.1f} ns per op, {cost / sum(medians['default']):.1%} "
        "of a default node's build and backward"
    )


if __name__ == "__main__":
    main()
