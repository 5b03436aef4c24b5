"""Engine benchmark: build and backward time, and memory, per node.

Runs, side by side in one process: tinygrad_gd's eager engine, micrograd (when
installed: ``pip install -r benchmarks/requirements.txt``) and a minimal
hand-written tape (floats in a list, ops as tuples), the floor for pure
Python, and that tape with one bare two-slot object per value kept alive with
it ("tape + handles"): the floor for any design with one Python object per
node, since the garbage collector walks every such object. Two workloads: a
graph of 100,000 binary ops with fan-out, and a chain of 1,000,000 nodes.
Timings run with the garbage collector on, as users run code, and again with
it off, on the thread's CPU time; each repetition runs every engine once, so
that a change in the machine's speed during a run falls on all of them alike.

    python benchmarks/engine.py [--nodes N] [--chain N] [--repeat N] [--loop-nodes N]
    python benchmarks/engine.py --fixed-costs-only

Prints one table per workload: nanoseconds per node to build the graph, to
run backward and to release it (with the garbage collection that release
needs); the same work as a training-style loop, where the collector runs when
it decides to, and that loop's time as a ratio to tinygrad_gd; bytes per node
while the graph is alive (on the first 20,000 ops); objects per node that
only the garbage collector can free (reference cycles). Under each table, the
goals' ratios: build + backward against the minimal tape, and micrograd's
loop against tinygrad_gd's, collector on.

Then the fixed costs: nanoseconds per operation (``a * b``, ``a + 1.0``,
``x ** 2``, ``x.sigmoid()``) and microseconds per step of the tutorial's Part 1
(one weight: build the error, backpropagate, update), through ``backward()``,
through ``value_and_grad`` and in micrograd. Each is timed in interleaved
rounds on the thread's CPU time (time the shared machine gives to others is not
counted), and the best round is reported.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
import timeit
import tracemalloc
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from micrograd_ops import micrograd_sigmoid

from tinygrad_gd import Value, value_and_grad


@dataclass(frozen=True)
class Workload:
    """How to grow a graph: node i is ``left[i] * right[i]`` or ``left[i] + right[i]``,
    indices into the leaves and the nodes made so far.

    The recipe is kept in arrays, which the garbage collector does not track, so
    that it adds nothing to the collections the engines are timed with.
    """

    name: str
    leaves: list[float]
    is_mul: array[int]
    left: array[int]
    right: array[int]

    def __len__(self) -> int:
        return len(self.is_mul)

    def steps(self) -> zip[tuple[int, int, int]]:
        return zip(self.is_mul, self.left, self.right, strict=True)

    def prefix(self, n: int) -> Workload:
        """The first n ops: the same graph, smaller."""
        return Workload(self.name, self.leaves, self.is_mul[:n], self.left[:n], self.right[:n])


def mixed_graph(n: int, seed: int = 0) -> Workload:
    """n binary ops (add, mul); operands drawn from 100 leaves and recent nodes, so
    intermediate nodes fan out to several users."""
    rng = random.Random(seed)
    leaves = [rng.uniform(0.9, 1.1) for _ in range(100)]
    is_mul, left, right = array("b"), array("q"), array("q")
    for i in range(n):
        last = 100 + i - 1
        is_mul.append(i % 2)
        left.append(last if i else 0)
        right.append(
            rng.randrange(100) if i < 10 or rng.random() < 0.5 else last - rng.randrange(1, 10)
        )
    return Workload(f"graph of {n:,} binary ops", leaves, is_mul, left, right)


def chain(n: int) -> Workload:
    """A chain of n nodes, each the previous times a leaf: depth n."""
    return Workload(
        f"chain of {n:,} nodes", [1.0, 1.0], array("b", [1]) * n, array("q", range(1, n + 1)),
        array("q", [0]) * n,
    )  # fmt: skip


# -- the engines: build(workload) -> root; backward(root); leaves(root) ----------

# The thread's CPU time: time the shared machine gives to other processes is not
# counted, and a collection (which runs in this thread) is.
CLOCK = time.thread_time


class TapeGraph:
    """The floor: values in a list, ops as tuples of indices, gradients in a list."""

    def __init__(self, workload: Workload) -> None:
        values = list(workload.leaves)
        tape = []
        append, push = values.append, tape.append
        for is_mul, left, right in workload.steps():
            a, b = values[left], values[right]
            append(a * b if is_mul else a + b)
            push((is_mul, left, right))
        self.values, self.tape = values, tape

    def backward(self) -> None:
        values, tape = self.values, self.tape
        grads = [0.0] * len(values)
        grads[-1] = 1.0
        offset = len(values) - len(tape)
        for i in range(len(tape) - 1, -1, -1):
            is_mul, left, right = tape[i]
            g = grads[offset + i]
            if is_mul:
                grads[left] += g * values[right]
                grads[right] += g * values[left]
            else:
                grads[left] += g
                grads[right] += g
        self.grads = grads


class Handle:
    """A bare two-slot object: the least a design with one Python object per node keeps."""

    __slots__ = ("tape", "index")


class TapeWithHandles(TapeGraph):
    """The floor for one object per node: the tape, plus one handle per value made as
    it goes and kept alive with it. The tape's floats and tuples of ints are left
    alone by the garbage collector; every handle, like every node, is walked by it."""

    def __init__(self, workload: Workload) -> None:
        values = list(workload.leaves)
        tape, handles = [], []
        append, push, keep = values.append, tape.append, handles.append
        for is_mul, left, right in workload.steps():
            a, b = values[left], values[right]
            append(a * b if is_mul else a + b)
            push((is_mul, left, right))
            handle = Handle()
            handle.tape, handle.index = tape, len(values) - 1
            keep(handle)
        self.values, self.tape, self.handles = values, tape, handles


def build_nodes(cls: Callable[[float], Any], workload: Workload) -> Any:
    nodes = [cls(x) for x in workload.leaves]
    append = nodes.append
    for is_mul, left, right in workload.steps():
        a, b = nodes[left], nodes[right]
        append(a * b if is_mul else a + b)
    return nodes[-1]


ENGINES: dict[str, tuple[Callable[[Workload], Any], Callable[[Any], None]]] = {
    "tinygrad_gd": (lambda w: build_nodes(Value, w), lambda root: root.backward()),
    "minimal tape": (TapeGraph, lambda tape: tape.backward()),
    "tape + handles": (TapeWithHandles, lambda tape: tape.backward()),
}
try:
    from micrograd.engine import Value as MicrogradValue

    ENGINES["micrograd"] = (lambda w: build_nodes(MicrogradValue, w), lambda r: r.backward())
except ImportError:  # pragma: no cover - an optional peer
    MicrogradValue = None
    print("micrograd is not installed: pip install -r benchmarks/requirements.txt")


def time_phases(engine: str, workload: Workload, gc_on: bool) -> tuple[float, float, float]:
    """ns per node to build one graph, backpropagate it and release it."""
    build, backward = ENGINES[engine]
    gc.collect()
    start = CLOCK()
    gc.collect()
    heap = CLOCK() - start  # a collection's cost without any graph
    (gc.enable if gc_on else gc.disable)()
    try:
        t0 = CLOCK()
        root = build(workload)
        t1 = CLOCK()
        backward(root)
        t2 = CLOCK()
        del root
        gc.collect()  # what a cyclic graph needs before its memory comes back
        t3 = CLOCK()
    finally:
        gc.enable()
    n = len(workload)
    return (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, (t3 - t2 - heap) / n * 1e9


def time_loop(engine: str, workload: Workload, gc_on: bool, steps: int) -> float:
    """ns per node of a training-style loop: build, backward, drop, repeat.

    No explicit collection: the garbage collector runs when it decides to, as
    in a user's program, so a graph made of reference cycles pays for them here.
    """
    build, backward = ENGINES[engine]
    gc.collect()
    (gc.enable if gc_on else gc.disable)()
    try:
        t0 = CLOCK()
        for _ in range(steps):
            root = build(workload)
            backward(root)
            del root
        elapsed = CLOCK() - t0
    finally:
        gc.enable()
        gc.collect()
    return elapsed / steps / len(workload) * 1e9


MEMORY_SAMPLE = 20_000


def memory_and_cycles(engine: str, workload: Workload) -> tuple[float, float]:
    """Bytes per node while built and backpropagated; objects per node left for the GC.

    Measured on the first 20,000 ops: tracing every allocation makes micrograd's
    recursive backward far slower than quadratic on deep graphs, and the bytes a
    node costs do not depend on how many there are.
    """
    workload = workload.prefix(MEMORY_SAMPLE)
    build, backward = ENGINES[engine]
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        root = build(workload)
        backward(root)
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del root
        cyclic = gc.collect()
    finally:
        gc.enable()
    n = len(workload)
    return size / n, cyclic / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=100_000, help="binary ops in the graph")
    parser.add_argument("--chain", type=int, default=1_000_000, help="chain length (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument(
        "--loop-nodes", type=int, default=1_000_000, help="nodes built in all by one loop"
    )
    parser.add_argument(
        "--fixed-costs-only", action="store_true", help="only the per-op and Part 1 timings"
    )
    args = parser.parse_args()
    if args.fixed_costs_only:
        fixed_costs(max(3, args.repeat))
        return
    sys.setrecursionlimit(10 * max(args.chain, args.nodes) + 10_000)  # micrograd recurses

    print(f"Python {sys.version.split()[0]}; ns per node (medians of {args.repeat} runs)")
    print("phases: one graph built, backpropagated, released (with the collection it needs)")
    print("loop: build + backward + drop, repeated, the collector left to itself")
    makers = [lambda: mixed_graph(args.nodes)] + ([lambda: chain(args.chain)] if args.chain else [])
    for make in makers:  # one workload alive at a time
        workload = make()
        print(f"\n{workload.name}")
        print(
            f"{'engine':<14}{'gc':>4}{'build':>8}{'backward':>10}{'release':>9}{'total':>8}"
            f"{'loop':>8}{'loop vs ours':>14}{'bytes':>7}{'cycles':>8}"
        )
        memory = {engine: memory_and_cycles(engine, workload) for engine in ENGINES}
        # Round by round, every engine once per round: a change in the machine's speed
        # during the run falls on every engine alike, not on whichever ran then.
        steps = max(1, args.loop_nodes // len(workload))
        runs: dict[tuple[str, bool], list[tuple[float, float, float, float]]] = {}
        for _ in range(args.repeat):
            for engine in ENGINES:
                for gc_on in (True, False):
                    phases = time_phases(engine, workload, gc_on)
                    loop = time_loop(engine, workload, gc_on, steps)
                    runs.setdefault((engine, gc_on), []).append((*phases, loop))
        rows = {
            key: (*(statistics.median(r[k] for r in timed) for k in range(4)), *memory[key[0]])
            for key, timed in runs.items()
        }
        for (engine, gc_on), (build, back, release, loop, size, cyclic) in rows.items():
            ratio = loop / rows["tinygrad_gd", gc_on][3]
            print(
                f"{engine:<14}{'on' if gc_on else 'off':>4}{build:>8.0f}{back:>10.0f}"
                f"{release:>9.0f}{build + back + release:>8.0f}{loop:>8.0f}{ratio:>13.2f}x"
                f"{size:>7.0f}{cyclic:>8.2f}"
            )
        ours, tape = rows["tinygrad_gd", True], rows["minimal tape", True]
        floor = rows["tape + handles", True]
        print(
            f"goals, gc on: build + backward {(ours[0] + ours[1]) / (tape[0] + tape[1]):.2f}x "
            f"the tape (loop {ours[3] / tape[3]:.2f}x; tape + handles "
            f"{(floor[0] + floor[1]) / (tape[0] + tape[1]):.2f}x, loop {floor[3] / tape[3]:.2f}x)"
            + (f"; micrograd's loop {rows['micrograd', True][3] / ours[3]:.2f}x ours"
               if ("micrograd", True) in rows else "")
        )  # fmt: skip
    fixed_costs(max(3, args.repeat))


# -- fixed costs: one operation, one small training step --------------------------


def best_of_rounds(
    statements: dict[str, Callable[[], Any]], rounds: int, number: int
) -> dict[str, float]:
    """ns per call of each statement: rounds interleaved, the best round kept."""
    best = dict.fromkeys(statements, math.inf)
    for _ in range(rounds):
        for name, statement in statements.items():
            timer = timeit.Timer(statement, timer=CLOCK)
            best[name] = min(best[name], timer.timeit(number) / number * 1e9)
    return best


X, TARGET, LEARNING_RATE = 0.1, 0.3, 0.5  # the tutorial's Part 1


def part1_error(w: Any) -> Any:
    return ((w * X).sigmoid() - TARGET) ** 2


def part1_steps() -> dict[str, Callable[[], Any]]:
    """One gradient-descent step of Part 1 per engine, each from w = 0.5."""
    step_value_and_grad = value_and_grad(part1_error)

    def by_backward() -> float:
        w = Value(0.5)
        part1_error(w).backward()
        return 0.5 - LEARNING_RATE * w.grad

    def by_value_and_grad() -> float:
        return 0.5 - LEARNING_RATE * step_value_and_grad(0.5)[1]

    steps: dict[str, Callable[[], Any]] = {
        "tinygrad_gd backward()": by_backward,
        "tinygrad_gd value_and_grad": by_value_and_grad,
    }
    if MicrogradValue is not None:

        def micrograd_step() -> float:
            w = MicrogradValue(0.5)
            ((micrograd_sigmoid(w * X) - TARGET) ** 2).backward()
            return 0.5 - LEARNING_RATE * w.grad

        steps["micrograd"] = micrograd_step
    results = {name: step() for name, step in steps.items()}
    assert max(results.values()) - min(results.values()) < 1e-12, results
    return steps


def fixed_costs(rounds: int) -> None:
    a, b = Value(2.0), Value(3.0)
    ops: dict[str, Callable[[], Any]] = {
        "a * b": lambda: a * b,
        "a + 1.0": lambda: a + 1.0,
        "x ** 2": lambda: a**2,
        "x.sigmoid()": a.sigmoid,
    }
    if MicrogradValue is not None:
        ma, mb = MicrogradValue(2.0), MicrogradValue(3.0)
        ops["micrograd a * b"] = lambda: ma * mb
        ops["micrograd a + 1.0"] = lambda: ma + 1.0
    ops["(the call alone)"] = lambda: None
    gc.collect()
    per_op = best_of_rounds(ops, rounds * 3, 20_000)
    call = per_op.pop("(the call alone)")
    print("\nns per operation (GC off, the result freed at once; a call's cost subtracted)")
    for name, ns in per_op.items():
        print(f"{name:<28}{ns - call:>8.0f}")
    print(f"a + 1.0 / a * b: {(per_op['a + 1.0'] - call) / (per_op['a * b'] - call):.2f}")
    steps = best_of_rounds(part1_steps(), rounds * 3, 5_000)
    print("\nus per step of Part 1 (build, backward, update; GC off)")
    for name, ns in steps.items():
        print(f"{name:<28}{ns / 1000:>8.2f}")


if __name__ == "__main__":
    main()
