"""The generated hot paths: the same numbers as the rule table, bit for bit; readable
source; only checked names in it; graph modes kept apart across threads and tasks."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import gc
import inspect
import io
import keyword
import math
import random
import struct
import threading
import tokenize
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tinygrad_gd import Value, detect_anomaly, grad, gradients, no_grad, value_and_grad
from tinygrad_gd.core import hotpaths, walks
from tinygrad_gd.core import value as engine
from tinygrad_gd.core.modes import graph_mode
from tinygrad_gd.core.ops import MUL, XLOGY, Op, power
from tinygrad_gd.core.value import AnomalyError, reverse_topological_order

# -- an independent reference: the rule table called on numbers, node by node ---------


def reference_gradients(root: Value) -> dict[int, float]:
    """d root / d node for every node, by calling each row's partials on the numbers in
    the order of the walk, adding into a dict: the plain float backward the engine had
    before its loop was generated (and what the rule table alone says)."""
    order = reverse_topological_order(root)
    adjoint = {id(node): 0.0 for node in order}
    adjoint[id(root)] = 1.0
    for node in order:
        if node.op is None:
            continue
        numbers = [p.data for p in node.parents] + [node.data]
        try:
            partials = node.op.partials(*numbers)
        except ArithmeticError:
            partials = node.op.partials_at(*numbers)
        for parent, partial in zip(node.parents, partials, strict=True):
            adjoint[id(parent)] += partial * adjoint[id(node)]
    return adjoint


def same_float(x: float, y: float) -> bool:
    """Equal bit for bit, any nan equal to any nan (its sign is not arithmetic)."""
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return struct.pack("<d", x) == struct.pack("<d", y)


UNARY: list[Callable[[Value], Value]] = [
    Value.exp, Value.log, Value.sigmoid, Value.tanh, Value.relu, Value.sqrt, Value.sin,
    Value.cos, abs, lambda v: -v, lambda v: v ** 2, lambda v: v ** 3, lambda v: v ** -1,
    lambda v: v ** 0.5, lambda v: v ** 0, lambda v: v ** 1,
]  # fmt: skip
BINARY: list[Callable[[Any, Any], Value]] = [
    lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
    lambda a, b: a ** b, lambda a, b: XLOGY(a, b),
]  # fmt: skip
EDGES = [0.0, -0.0, 1.0, -1.0, 2.0, 0.5, -2.5, 1e-300, 1e300, math.inf, -math.inf]


def random_expression(rng: random.Random, leaves: list[Value], size: int) -> Value:
    nodes: list[Any] = list(leaves)
    for _ in range(size):
        pick = rng.random()
        if pick < 0.35:
            nodes.append(rng.choice(UNARY)(rng.choice(nodes)))
        else:
            a = rng.choice(nodes)
            b = rng.choice(nodes) if pick < 0.8 else rng.choice([0.5, 2.0, -1.0, 0.0, 3])
            if rng.random() < 0.5:
                a, b = b, a  # a number on the left: the reflected operators
            if not isinstance(a, Value) and not isinstance(b, Value):
                b = rng.choice(nodes)
            nodes.append(rng.choice(BINARY)(a, b))
    return nodes[-1]


@pytest.mark.parametrize("seed", range(40))
def test_gradients_are_bit_identical_to_the_rule_table_called_on_numbers(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(50):
        leaves = [
            Value(rng.choice(EDGES) if rng.random() < 0.2 else rng.uniform(-3, 3)) for _ in range(3)
        ]
        root = random_expression(rng, leaves, rng.randint(1, 12))
        expected = reference_gradients(root)
        root.backward()
        for node in reverse_topological_order(root):
            # A number in the expression is a constant: no gradient flows to it.
            constant = node.op is None and not any(node is leaf for leaf in leaves)
            want = 0.0 if constant else expected[id(node)]
            assert same_float(node.grad, want), (node, want)


def path_onto(rng: random.Random, leaves: list[Value], start: Value, steps: int) -> Value:
    """``start`` extended by a path: each step an op of the node so far and, at most, a
    leaf or a number."""
    node = start
    for _ in range(steps):
        if rng.random() < 0.3:
            node = rng.choice(UNARY)(node)
        else:
            other = rng.choice([*leaves, 0.5, 2.0, 3])
            a, b = (node, other) if rng.random() < 0.5 else (other, node)
            node = rng.choice(BINARY)(a, b)
    return node


@pytest.mark.parametrize("seed", range(20))
def test_a_path_down_to_any_graph_gives_the_bits_of_the_rule_table(seed: int) -> None:
    # The float walks take a path from the root without counting users, and leave the
    # graph below it (any graph, or a leaf) to Kahn's walk: the same flows, in the same
    # order, as the reference's pass over reverse_topological_order.
    rng = random.Random(seed)
    for _ in range(30):
        leaves = [Value(rng.uniform(-2, 2)) for _ in range(3)]
        below = random_expression(rng, leaves, rng.randint(0, 10))
        root = path_onto(rng, leaves, below, rng.randint(0, 30))
        for leaf in leaves:
            leaf.grad = rng.choice([0.0, 1.5, -0.25])  # backward adds into .grad
        expected = reference_gradients(root)
        nodes = reverse_topological_order(root)
        before = {id(node): node.grad for node in nodes}
        by_gradients = dict(zip(map(id, leaves), gradients(root, leaves), strict=True))
        root.backward()
        for node in nodes:
            constant = node.op is None and not any(node is leaf for leaf in leaves)
            want = 0.0 if constant else before[id(node)] + expected[id(node)]
            assert same_float(node.grad, want), (node, want)
            assert (node._users, node._adjoint) == (0, 0.0)
        for leaf in leaves:
            want = expected[id(leaf)] if id(leaf) in expected else 0.0
            assert same_float(by_gradients[id(leaf)], want), (leaf, want)


def test_a_leaf_on_the_path_and_below_it_takes_one_total() -> None:
    x, w = Value(0.5), Value(2.0)
    x.grad = 1.0
    h = x + 1.0
    y = ((h * h) * w + x) * x  # a path meets x twice and w, then h * h needs counting
    y.backward()
    # y = ((x+1)² w + x) x: dy/dx = 2 (x+1) w x + (x+1)² w + 2x, dy/dw = (x+1)² x
    assert x.grad == 1.0 + 2 * 1.5 * 2.0 * 0.5 + 1.5**2 * 2.0 + 2 * 0.5
    assert w.grad == 1.5**2 * 0.5
    assert all((n._users, n._adjoint) == (0, 0.0) for n in reverse_topological_order(y))


def test_forwards_are_the_rows_evaluated_on_the_operands() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        x = Value(rng.choice(EDGES) if rng.random() < 0.3 else rng.uniform(-3, 3))
        node = random_expression(rng, [x], 1)
        assert node.op is not None
        want = node.op.evaluate(*(p.data for p in node.parents))
        assert same_float(node.data, want), node


def test_a_number_operand_is_read_as_a_plain_leaf_on_either_side() -> None:
    x = Value(2.0)
    for y, position in [(x + 1.0, 1), (1.0 + x, 0), (x * 3, 1), (3 - x, 0), (2**x, 0)]:
        leaf = y.parents[position]
        assert leaf.op is None and leaf.parents == () and leaf.label == ""
        assert isinstance(leaf, Value) and type(leaf) is type(x)
        assert y.parents[position] is leaf  # the same leaf each time it is read
        assert y.parents[1 - position] is x


def test_a_number_operand_is_a_constant_that_takes_no_gradient() -> None:
    x = Value(2.0)
    y = x * 3.0
    y.backward()
    assert x.grad == 3.0
    assert y.parents[1].grad == 0.0  # read after backward
    constant = y.parents[1]
    y.backward()
    assert (x.grad, constant.grad) == (6.0, 0.0)  # and read before one
    z = Value(2.0) * 3.0
    assert tuple(gradients(z, [z.parents[1]])) == (0.0,)
    with detect_anomaly():
        w = x * 3.0
        w.backward()
    assert w.parents[1].grad == 0.0 and x.grad == 9.0  # the same in every graph mode
    # An op of the table called on a number keeps it too; two numbers are two leaves.
    assert XLOGY(x, 2.0).parents[1].op is None and Value.apply(MUL, 2.0, 3.0).data == 6.0


def test_a_number_operand_is_read_as_a_leaf_only_between_walks() -> None:
    # The leaf is made in a walk's turn: a walk in another thread never meets a leaf
    # it did not count.
    y = Value(2.0) * 3.0
    walking, release, read = threading.Event(), threading.Event(), threading.Event()

    def walk() -> None:
        with engine._walking:
            walking.set()
            release.wait(10)

    def reader() -> None:
        assert y.parents
        read.set()

    walker = threading.Thread(target=walk)
    walker.start()
    walking.wait(10)
    reading = threading.Thread(target=reader)
    reading.start()
    assert not read.wait(0.2)  # waits for the walk
    release.set()
    walker.join(10)
    reading.join(10)
    assert read.is_set() and y.parents[1].data == 3.0


def test_a_number_operand_makes_one_node_not_two() -> None:
    x = Value(2.0)
    gc.collect()
    before = len([o for o in gc.get_objects() if isinstance(o, Value)])
    nodes = [x + 1.0, 1.0 - x, x * 3, 3 / x, 2**x, XLOGY(x, 2.0)]
    after = len([o for o in gc.get_objects() if isinstance(o, Value)])
    assert after - before == len(nodes)  # each a node, no leaf for its number
    assert [n.data for n in nodes] == [3.0, -1.0, 6.0, 1.5, 4.0, 2.0 * math.log(2.0)]


def test_x_to_a_number_uses_the_row_for_that_number() -> None:
    x = Value(3.0)
    for n in [2, 2.0, 3, -1, 0.5]:
        assert (x**n).op is power(n)
    assert (x**2).parents == (x,)  # no throwaway leaf for the exponent
    with pytest.raises(OverflowError, match="too large"):
        x**10**400


def test_every_value_has_one_class_named_value() -> None:
    leaf, node = Value(1.0), Value(1.0) * 2.0
    assert type(leaf) is type(node) is type(node.parents[1])
    assert type(leaf).__name__ == "Value" and isinstance(leaf, Value)
    assert repr(node) == "Value(data=2.0, grad=0.0)"

    class Mine(Value):
        pass

    assert type(Mine(1.0)) is Mine  # a user's subclass keeps its class


def test_labels_read_empty_until_set() -> None:
    node = Value(1.0) * 2
    assert node.label == ""
    node.label = "y"
    assert node.label == "y" and "label='y'" in repr(node)


def test_no_reference_cycles_per_node() -> None:
    gc.collect()
    gc.disable()
    try:
        x = Value(0.5)
        y = x
        for i in range(1000):
            y = (y * x + 1.0).sigmoid() ** 2 - i
        y.backward()
        del x, y
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_deep_chain_backpropagates_without_recursion() -> None:
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad == 1.0


# -- the generated source -------------------------------------------------------------


def test_generated_source_is_kept_and_shown() -> None:
    assert "data = sd * od" in inspect.getsource(Value.__mul__)
    assert "def propagate(order):" in walks.BACKWARD_SOURCE
    try:
        Value(2.0) ** 10**400
    except OverflowError:
        text = traceback.format_exc()
    assert "<tinygrad_gd generated forward>" in text and "row = _power_of(exponent)" in text


def identifiers(source: str) -> set[str]:
    """The names in the code of ``source``; comments are not code."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {t.string for t in tokens if t.type == tokenize.NAME} - set(keyword.kwlist)


def test_generated_code_holds_only_names_the_generator_made() -> None:
    locals_ = {"self", "other", "kind", "node", "data", "sd", "od", "exponent", "row", "order",
               "op", "g", "a", "b", "ad", "bd", "cd", "out", "p0", "p1", "step", "root",
               "reached", "ready", "push", "pop", "emit", "u", "v", "path", "leaves", "keep",
               "ahead"}  # fmt: skip
    attributes = {"data", "grad", "_op", "_a", "_b", "_users", "_adjoint", "_const", "forward",
                  "evaluate", "append", "pop"}  # fmt: skip
    builtins = {
        "type",
        "float",
        "int",
        "isinstance",
        "ArithmeticError",
        "ValueError",
        "BaseException",
        "None",
        "NotImplemented",
    }
    for source, names in [
        (hotpaths.FORWARD_SOURCE, hotpaths.FORWARD_NAMES),
        (walks.BACKWARD_SOURCE, walks.BACKWARD_NAMES),
    ]:
        defined = {line.split()[1].split("(")[0] for line in source.splitlines()
                   if line.startswith("def ")}  # fmt: skip
        allowed = locals_ | attributes | builtins | defined | set(names)
        allowed |= set(engine._GENERATED_GLOBALS) | {"_steps_get", "_step_of", "_count_users",
                                                     "_reset", "_reset_users"}  # fmt: skip
        assert identifiers(source) <= allowed


def test_an_op_name_enters_the_text_only_as_a_plain_word_in_a_comment() -> None:
    hostile = replace(MUL, name="mul\nimport os")
    assert hotpaths.comment(hostile) == ""
    assert hotpaths.comment(MUL) == "  # mul"


def test_a_rule_that_cannot_be_printed_uses_the_generic_call() -> None:
    branching = Op("branchy", 1, abs, abs, lambda a, out: (1.0 if a > 0 else -1.0,), "b({0})")
    assert walks._step_lines(branching, "", {}) is None
    y = Value.apply(branching, Value(-2.0))
    y.backward()
    assert y.parents[0].grad == -1.0


# -- graph modes: read only when some non-default mode exists ---------------------------


def test_no_mode_is_counted_alive_after_blocks_errors_and_nested_grads() -> None:
    gc.collect()
    assert not engine.live_modes
    with no_grad():
        assert engine.live_modes
    with pytest.raises(KeyError), no_grad():
        raise KeyError
    value_and_grad(lambda x: x.sigmoid())(0.3)
    assert grad(grad(lambda x: x**3))(2.0) == 12.0
    gc.collect()
    assert not engine.live_modes


def test_a_copied_mode_does_not_uncount_a_live_one() -> None:
    with no_grad() as mode:
        copy.copy(mode)  # made without __init__, so never counted, and dropped at once
        assert engine.live_modes
        assert (Value(1.0) * 2).parents == ()


def test_a_context_copied_in_a_block_keeps_its_mode_after_it() -> None:
    x = Value(2.0)
    with no_grad():
        context = contextvars.copy_context()
    assert context.run(lambda: (x * 2).parents) == ()
    assert len((x * 2).parents) == 2
    del context


def test_a_task_made_in_a_block_runs_in_its_mode_after_the_block() -> None:
    x = Value(2.0)

    async def body() -> tuple[Value, ...]:
        await asyncio.sleep(0)
        return (x * 3).parents

    async def main() -> tuple[tuple[Value, ...], tuple[Value, ...]]:
        with no_grad():
            task = asyncio.get_running_loop().create_task(body())
        return await task, (x * 3).parents

    inside, outside = asyncio.run(main())
    assert inside == () and len(outside) == 2


def test_threads_keep_their_own_modes() -> None:
    x = Value(0.0)
    started, finish = threading.Barrier(10), threading.Event()
    seen: list[tuple[str, bool]] = []

    def in_mode(kind: str) -> None:
        switch = {"no_grad": no_grad, "anomaly": detect_anomaly, "eager": graph_mode}[kind]
        with switch():
            started.wait(10)
            finish.wait(10)
            for _ in range(200):
                if kind == "anomaly":
                    with pytest.raises(AnomalyError):
                        x.log()
                    seen.append((kind, True))
                else:
                    seen.append((kind, bool((x * 2).parents) == (kind == "eager")))

    threads = [
        threading.Thread(target=in_mode, args=(k,)) for k in ["no_grad", "anomaly", "eager"] * 3
    ]
    for t in threads:
        t.start()
    started.wait(10)
    y = x.log()  # this thread is in the default mode while the others are not
    assert y.data == -math.inf and y.parents == (x,)
    finish.set()
    for t in threads:
        t.join(10)
    assert len(seen) == 9 * 200 and all(ok for _, ok in seen)


def test_anomaly_names_the_users_line_through_the_generated_methods() -> None:
    with detect_anomaly(), pytest.raises(AnomalyError) as error:
        Value(math.inf) + 1.0  # the line named
    assert "test_hotpaths.py" in str(error.value)
    assert "Value(math.inf) + 1.0  # the line named" in str(error.value)
