"""What the garbage collector charges per node, by how many of its slots are filled.

A slotted object costs the collector a visit per filled slot in every
collection that walks it, whatever the slot holds (even ``None``), and a long
chain of live nodes is walked by several full collections while it grows. This
benchmark builds a chain of bare objects of the engine's node class (same
slots, none of its methods), filling 2 to 8 of the slots, with the collector
on and off, and prints the difference: the collector's share per node. Then
the same for a class of 8 slots rather than the node's 10 (no label, no
site), filling 6 or 7: what a smaller node would save, in a smaller block of
memory for the collector to read.

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


class Bare(Value):
    """The engine's node layout, built by hand: no forward, no checks."""

    __slots__ = ()
    __init__ = object.__init__


class Slim:
    """The node's slots less the label and the site: 8 rather than 10."""

    __slots__ = ("data", "grad", "_op", "_a", "_b", "_users", "_adjoint", "_const")


# (class, filled slots); the node the engine builds is (Bare, 7).
VARIANTS: tuple[tuple[type, int], ...] = (
    (Bare, 2), (Bare, 3), (Bare, 5), (Bare, 6), (Bare, 7), (Bare, 8), (Slim, 6), (Slim, 7),
)  # fmt: skip


def build_chain(cls: type, n: int, filled: int) -> object:
    """A chain of n nodes of ``cls``, each with ``filled`` of its slots set (2 to 8):
    the operand and the data, then the op, the grad and second operand, the count,
    the adjoint, the constant."""
    x = cls()
    x._a = None
    x.data = 1.0
    for _ in range(n):
        node = cls()
        node._a = x
        node.data = 1.0
        if filled > 2:
            node._op = None
        if filled > 3:
            node.grad = 0.0
            node._b = None
        if filled > 5:
            node._users = 0
        if filled > 6:
            node._adjoint = 0.0
        if filled > 7:
            node._const = 1.0
        x = node
    return x


def per_node(cls: type, n: int, filled: int, collector: bool) -> float:
    """Nanoseconds per node to build the chain (its release not counted)."""
    gc.collect()
    if not collector:
        gc.disable()
    try:
        start = time.thread_time_ns()
        chain = build_chain(cls, n, filled)
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
    times: dict[tuple[type, int, bool], list[float]] = {}
    for _ in range(args.repeat):
        for cls, filled in VARIANTS:
            for collector in (True, False):
                times.setdefault((cls, filled, collector), []).append(
                    per_node(cls, args.chain, filled, collector)
                )
    print(f"chain of {args.chain:,} nodes; ns per node (medians of {args.repeat})")
    print("slots  filled   gc on  gc off  collector's share")
    share: dict[tuple[type, int], float] = {}
    for cls, filled in VARIANTS:
        on = statistics.median(times[cls, filled, True])
        off = statistics.median(times[cls, filled, False])
        share[cls, filled] = on - off
        slots = sum(len(getattr(k, "__slots__", ())) for k in cls.__mro__)
        print(f"{slots:>5}  {filled:>6}  {on:>6.0f}  {off:>6.0f}  {on - off:>17.0f}")
    slope = (share[Bare, 8] - share[Bare, 2]) / (8 - 2)
    print(f"each filled slot adds about {slope:.0f} ns of collector time per node")
    print(
        f"8 slots rather than 10 saves {share[Bare, 7] - share[Slim, 7]:.0f} ns per node with 7 "
        f"filled, {share[Bare, 7] - share[Slim, 6]:.0f} ns with 6 (the adjoint left unset)"
    )


if __name__ == "__main__":
    main()
