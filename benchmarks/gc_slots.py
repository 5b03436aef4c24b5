"""What the garbage collector charges per node, by how many of its slots are filled.

A slotted object costs the collector a visit per filled slot in every
collection that walks it, whatever the slot holds (even ``None``), and a long
chain of live nodes is walked by several full collections while it grows. This
benchmark builds a chain of bare objects of the engine's node class (same
slots, none of its methods), filling 2 to 8 of the slots, with the collector
on and off, and prints the difference: the collector's share per node.

    python benchmarks/gc_slots.py [--chain N] [--repeat N]

Times are the thread's CPU time per node, the median of the repetitions,
which are interleaved so that a change in the machine's speed falls on every
variant alike.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

from tinygrad_gd import Value

FILLED = (2, 3, 5, 7, 8)  # 7: what a node the engine builds fills


class Bare(Value):
    """The engine's node layout, built by hand: no forward, no checks."""

    __slots__ = ()
    __init__ = object.__init__


def build_chain(n: int, filled: int) -> Bare:
    """A chain of n nodes, each with ``filled`` of its slots set (2, 3, 5, 7 or 8)."""
    x: Bare = Bare()
    x._a = None
    x.data = 1.0
    for _ in range(n):
        node: Bare = Bare()
        node._a = x
        node.data = 1.0
        if filled > 2:
            node._op = None
        if filled > 3:
            node.grad = 0.0
            node._b = None
        if filled > 5:
            node._users = 0
            node._adjoint = 0.0
        if filled > 7:
            node._const = 1.0
        x = node
    return x


def per_node(n: int, filled: int, collector: bool) -> float:
    """Nanoseconds per node to build the chain (its release not counted)."""
    gc.collect()
    if not collector:
        gc.disable()
    try:
        start = time.thread_time_ns()
        chain = build_chain(n, filled)
        elapsed = time.thread_time_ns() - start
    finally:
        gc.enable()
    del chain
    gc.collect()
    return elapsed / n


def main() -> None:
    """Print the collector's share per node for each number of filled slots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=1_000_000, help="chain length")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions")
    args = parser.parse_args()
    times: dict[tuple[int, bool], list[float]] = {}
    for _ in range(args.repeat):
        for filled in FILLED:
            for collector in (True, False):
                times.setdefault((filled, collector), []).append(
                    per_node(args.chain, filled, collector)
                )
    print(f"chain of {args.chain:,} nodes; ns per node (medians of {args.repeat})")
    print("filled slots   gc on  gc off  collector's share")
    share: dict[int, float] = {}
    for filled in FILLED:
        on = statistics.median(times[filled, True])
        off = statistics.median(times[filled, False])
        share[filled] = on - off
        print(f"{filled:>12}  {on:>6.0f}  {off:>6.0f}  {on - off:>17.0f}")
    low, high = FILLED[0], FILLED[-1]
    slope = (share[high] - share[low]) / (high - low)
    print(f"each filled slot adds about {slope:.0f} ns of collector time per node")


if __name__ == "__main__":
    main()
