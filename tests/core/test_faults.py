"""Faults: a backward that fails or is interrupted leaves no trace; memory stays bounded
however many exponents are used; one rule for bools."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tinygrad_gd import Value, detect_anomaly, gradients, value_and_grad
from tinygrad_gd.core import ops, walks
from tinygrad_gd.core import value as engine
from tinygrad_gd.core.ops import MUL, Op, is_row, power
from tinygrad_gd.core.value import reverse_topological_order


def walk_state(root: Value) -> list[tuple[Any, Any]]:
    """What a pass keeps in the nodes between passes: it must be (0, 0.0) everywhere."""
    return [(node._users, node._adjoint) for node in reverse_topological_order(root)]


def another_thread_can_backpropagate() -> bool:
    """A backward in another thread finishes: the walk lock is free."""
    x = Value(2.0)
    thread = threading.Thread(target=(x * x).backward, daemon=True)
    thread.start()
    thread.join(10)
    return not thread.is_alive() and x.grad == 4.0


def test_a_grad_that_is_not_a_number_is_named_and_nothing_changes() -> None:
    a, b = Value(2.0), Value(3.0, label="b")
    y = a * b
    b.grad = None
    with pytest.raises(TypeError, match=r"\.grad of the leaf b = 3\.0 is None.*No \.grad"):
        y.backward()
    assert (y.grad, a.grad, b.grad) == (0.0, 0.0, None)
    assert walk_state(y) == [(0, 0.0)] * 3
    assert another_thread_can_backpropagate()
    b.grad = 0.0
    y.backward()
    assert (y.grad, a.grad, b.grad) == (1.0, 3.0, 2.0)
    z = Value(5.0) * Value(1.0)
    z.backward()
    assert z.grad == 1.0 and z.parents[0].grad == 1.0


class InterruptingGrad(float):
    """A .grad whose sum raises KeyboardInterrupt: Ctrl-C at that exact moment."""

    __slots__ = ()

    def __add__(self, other: object) -> float:
        raise KeyboardInterrupt


def interrupting_op() -> Op:
    """An op whose rule is interrupted while backward evaluates it."""

    def partials(a: Any, out: Any) -> tuple[Any, ...]:
        raise KeyboardInterrupt

    return Op("interrupted", 1, abs, np.abs, partials, "interrupted({0})")


def test_an_interrupt_while_the_grads_are_summed_leaves_no_trace() -> None:
    a, b = Value(2.0), Value(3.0)
    y = (a * b).sigmoid()
    b.grad = InterruptingGrad(0.5)
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    assert (y.grad, a.grad, b.grad) == (0.0, 0.0, 0.5)
    assert walk_state(y) == [(0, 0.0)] * 4
    assert another_thread_can_backpropagate()


def test_an_interrupt_while_the_totals_are_stored_still_stores_them_all() -> None:
    # Python takes an interrupt only between whole nodes of the store loop; an
    # iterator interrupted at its third node stands for Ctrl-C there.
    xs = [Value(float(i)) for i in range(1, 6)]
    y = sum(x * x for x in xs)
    assert isinstance(y, Value)

    class Interrupted:
        def __init__(self, nodes: list[Value]) -> None:
            self.nodes, self.taken, self.raised = nodes, 0, False

        def __iter__(self) -> Interrupted:
            return self

        def __next__(self) -> Value:
            if self.taken == 2 and not self.raised:
                self.raised = True
                raise KeyboardInterrupt
            if self.taken == len(self.nodes):
                raise StopIteration
            self.taken += 1
            return self.nodes[self.taken - 1]

    with engine._walking:
        reached = engine._walks.backward(y)
        with pytest.raises(KeyboardInterrupt):
            engine._store_totals(Interrupted(reached))  # type: ignore[arg-type]
    assert [x.grad for x in xs] == [2.0 * x.data for x in xs]  # d(sum x²)/dx = 2x
    assert set(walk_state(y)) == {(0, 0.0)}


@pytest.mark.parametrize(
    "differentiate",
    [
        lambda y, x: y.backward(),
        lambda y, x: gradients(y, [x]),
        lambda y, x: gradients(y, [x], create_graph=True),
    ],
    ids=["backward", "gradients", "create_graph"],
)
def test_an_interrupt_inside_a_rule_leaves_no_trace(
    differentiate: Callable[[Value, Value], Any],
) -> None:
    x = Value(0.5)
    y = Value.apply(interrupting_op(), x * 2.0) + x
    with pytest.raises(KeyboardInterrupt):
        differentiate(y, x)
    assert all(node.grad == 0.0 for node in reverse_topological_order(y))
    assert walk_state(y) == [(0, 0.0)] * 5
    assert another_thread_can_backpropagate()
    assert gradients(x * x, [x]) == (1.0,)


def test_an_interrupt_below_the_path_leaves_no_trace() -> None:
    # The walk goes down a path from the root, keeping the leaves it meets, and leaves
    # the graph below (two node operands) to Kahn's walk, where the rule is interrupted.
    x, w = Value(0.5), Value(2.0)
    w.grad = 0.25
    below = Value.apply(interrupting_op(), x * w) * (x + w)
    y = ((below * w).sigmoid() + x) * 3.0
    for differentiate in (y.backward, lambda: gradients(y, [x, w])):
        with pytest.raises(KeyboardInterrupt):
            differentiate()
        assert [node.grad for node in (y, x, w)] == [0.0, 0.0, 0.25]
        assert set(walk_state(y)) == {(0, 0.0)}
    assert another_thread_can_backpropagate()


def test_an_interrupt_under_anomaly_mode_and_in_value_and_grad_leaves_no_trace() -> None:
    interrupted = interrupting_op()
    x = Value(0.5)
    y = Value.apply(interrupted, x)
    with detect_anomaly(), pytest.raises(KeyboardInterrupt):
        y.backward()
    assert walk_state(y) == [(0, 0.0)] * 2 and x.grad == 0.0
    with pytest.raises(KeyboardInterrupt):
        value_and_grad(lambda v: Value.apply(interrupted, v))(0.5)
    assert another_thread_can_backpropagate()
    assert value_and_grad(lambda v: v * v)(3.0) == (9.0, 6.0)


FAILED_BACKWARD_THEN_THREADS = """
import threading
from tinygrad_gd import Value, gradients, explain
a, b = Value(2.0), Value(3.0)
y = a * b
b.grad = None
try:
    y.backward()
except TypeError:
    pass
results = []
def work():
    x = Value(1.5)
    z = x * x + x
    z.backward()
    results.append((x.grad, gradients(z, [x])[0], len(explain(z, x).paths)))
threads = [threading.Thread(target=work) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(results)
"""


def test_threads_do_not_block_after_a_failed_backward() -> None:
    # In a child process: a lock left held would hang this run, not fail it.
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FAILED_BACKWARD_THEN_THREADS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str([(4.0, 4.0, 3)] * 4)  # x·x by either operand, and x


# -- memory: the power rows --------------------------------------------------------------


def test_a_new_exponent_every_step_keeps_the_power_rows_bounded() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        for i in range(6000):
            y = Value(1.5) ** (2 + i * 1e-7)
            y.backward()
            if i == 1000:  # the caches are full by now
                gc.collect()
                warm = tracemalloc.get_traced_memory()[0]
        del y
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - warm
    finally:
        tracemalloc.stop()
    assert len(ops._POWER_ROWS) <= ops.POWER_ROWS_KEPT
    # A generated backward step holds its row until STEPS_KEPT others come.
    assert len(ops._LIVE_POWER_ROWS) <= ops.POWER_ROWS_KEPT + walks.STEPS_KEPT
    assert grown < 500_000  # a row is ~2 kB: 10,000 more rows would be ~20 MB


def test_a_row_still_in_use_is_the_row_after_it_left_the_cache() -> None:
    x = Value(2.0)
    y = x**1.234567
    for i in range(ops.POWER_ROWS_KEPT + 10):
        power(100 + i)
    assert 1.234567 not in ops._POWER_ROWS  # left the cache, alive in y
    assert power(1.234567) is y.op and is_row(y.op)
    y.backward()
    assert x.grad == pytest.approx(1.234567 * 2.0**0.234567)


# -- bools: one rule -----------------------------------------------------------------------


@pytest.mark.parametrize("true", [True, np.True_], ids=["bool", "numpy bool"])
def test_a_bool_is_the_number_0_or_1_wherever_a_number_is_taken(true: Any) -> None:
    x = Value(3.0)
    assert Value(true).data == 1.0 and Value(not true).data == 0.0
    assert (x * true).data == 3.0 and (x + true).parents[1].data == 1.0
    assert (x**true).op is power(1)
    assert (true - x).data == -2.0
    assert x > true and not x < true
    assert MUL(true, 2.0) == 2.0
    assert value_and_grad(lambda v: v * 2.0)(true) == (2.0, 2.0)
