"""``Value``: construction, operators, backward semantics, graph modes, failure safety."""

from __future__ import annotations

import dataclasses
import math
import operator
import re
import threading
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from tinygrad_gd import TracingError, Value, grad, gradients, no_grad
from tinygrad_gd.core.ops import MUL, Op
from tinygrad_gd.core.value import graph_mode, reverse_topological_order

# -- construction ---------------------------------------------------------------


@pytest.mark.parametrize(
    "number, expected",
    [
        (3, 3.0),
        (-2.5, -2.5),
        (np.float32(0.5), 0.5),
        (np.float64(0.1), 0.1),
        (np.int64(7), 7.0),
        (True, 1.0),
        (Fraction(1, 4), 0.25),
        (math.inf, math.inf),
    ],
    ids=["int", "float", "float32", "float64", "int64", "bool", "Fraction", "inf"],
)
def test_value_accepts_any_real_number(number: Any, expected: float) -> None:
    v = Value(number)
    assert type(v.data) is float
    assert v.data == expected
    assert type(v.grad) is float and v.grad == 0.0
    assert v.label == ""
    assert v.op is None and v.parents == ()


@pytest.mark.parametrize(
    "thing, type_name",
    [
        ("1.0", "str"),
        (None, "NoneType"),
        (1 + 2j, "complex"),
        ([1.0], "list"),
        (np.array(1.0), "ndarray"),
        (np.array([1.0, 2.0]), "ndarray"),
        (Value(1.0), "Value"),
    ],
    ids=["str", "None", "complex", "list", "0-d array", "array", "Value"],
)
def test_value_rejects_non_real_data_naming_the_type(thing: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=rf"real number.*\b{type_name}\b"):
        Value(thing)


def test_label_must_be_a_string() -> None:
    assert Value(1.0, label="w").label == "w"
    with pytest.raises(TypeError, match="label must be a str, got int"):
        Value(1.0, label=3)  # type: ignore[arg-type]


def test_repr_shows_data_grad_and_label() -> None:
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    w = Value(0.5, label="w")
    w.grad = 0.25
    assert repr(w) == "Value(data=0.5, grad=0.25, label='w')"


# -- operators --------------------------------------------------------------------
# Each operator, with a Value on the left, on the right, and on both sides; the
# derivatives are the textbook ones, evaluated at a = 3, b = 2.

A, B = 3.0, 2.0
BINARY: dict[str, tuple[Callable[[Any, Any], Any], float, float, float]] = {
    "+": (operator.add, A + B, 1.0, 1.0),
    "-": (operator.sub, A - B, 1.0, -1.0),
    "*": (operator.mul, A * B, B, A),
    "/": (operator.truediv, A / B, 1 / B, -A / B**2),
    "**": (operator.pow, A**B, B * A ** (B - 1), A**B * math.log(A)),
}


@pytest.mark.parametrize("f, value, da, db", BINARY.values(), ids=BINARY.keys())
def test_binary_operator_with_numbers_on_either_side(
    f: Callable[[Any, Any], Any], value: float, da: float, db: float
) -> None:
    a, b = Value(A), Value(B)
    both, left, right = f(a, b), f(a, B), f(A, b)  # v op w, v op 2, 3 op v
    for y in (both, left, right):
        assert isinstance(y, Value)
        assert y.data == pytest.approx(value, rel=1e-15)
    both.backward()
    assert (a.grad, b.grad) == pytest.approx((da, db), rel=1e-15)
    left.backward()
    right.backward()
    assert (a.grad, b.grad) == pytest.approx((2 * da, 2 * db), rel=1e-15)


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2)])
def test_numpy_scalars_combine_on_either_side(scalar: Any) -> None:
    # Tutorial code indexes numpy arrays, so a weight often meets np.float64 on its left.
    x = Value(3.0)
    y = scalar * x + x * scalar - scalar**x
    assert isinstance(y, Value)
    assert y.data == 12.0 - 8.0
    y.backward()
    assert x.grad == pytest.approx(4.0 - 8.0 * math.log(2.0), rel=1e-15)


def test_reflected_operators_keep_operand_order() -> None:
    v = Value(4.0)
    assert (2 - v).data == -2.0
    assert (1 / v).data == 0.25
    assert (2**v).data == 16.0
    assert (3 + v).data == 7.0 and (3 * v).data == 12.0


def test_unary_minus_plus_and_abs() -> None:
    v = Value(-1.5)
    negated, absolute = -v, abs(v)
    assert negated.data == 1.5 and absolute.data == 1.5
    assert +v is v
    negated.backward()
    assert v.grad == -1.0
    absolute.backward()
    assert v.grad == -2.0  # -1 from -v, then sign(-1.5) = -1 from abs


@pytest.mark.parametrize(
    "method, x, value, derivative",
    [
        ("exp", 0.5, math.exp(0.5), math.exp(0.5)),
        ("log", 2.0, math.log(2.0), 0.5),
        ("sigmoid", 0.0, 0.5, 0.25),
        ("tanh", 0.5, math.tanh(0.5), 1 - math.tanh(0.5) ** 2),
        ("relu", -2.0, 0.0, 0.0),
        ("relu", 2.0, 2.0, 1.0),
        ("sqrt", 4.0, 2.0, 0.25),
        ("sin", 1.0, math.sin(1.0), math.cos(1.0)),
        ("cos", 1.0, math.cos(1.0), -math.sin(1.0)),
    ],
)
def test_methods_compute_value_and_derivative(
    method: str, x: float, value: float, derivative: float
) -> None:
    v = Value(x)
    y = getattr(v, method)()
    assert y.data == pytest.approx(value, rel=1e-15)
    y.backward()
    assert v.grad == pytest.approx(derivative, rel=1e-15)


@pytest.mark.parametrize("other", ["2", None, 1j, [1.0]])
@pytest.mark.parametrize(
    "f, symbol",
    [(operator.add, "+"), (operator.sub, "-"), (operator.mul, "*"), (operator.truediv, "/")],
    ids=["+", "-", "*", "/"],
)
def test_combining_with_a_non_number_is_a_type_error_naming_both_types(
    f: Callable[[Any, Any], Any], symbol: str, other: Any
) -> None:
    v = Value(1.0)
    name = type(other).__name__
    # A list or a str words the error its own way (sequence repetition, concatenation).
    words_it_itself = isinstance(other, (list, str))
    left = "Value" if words_it_itself else rf"for {re.escape(symbol)}: 'Value' and '{name}'"
    with pytest.raises(TypeError, match=left):
        f(v, other)
    with pytest.raises(TypeError, match="Value"):
        f(other, v)


@pytest.mark.parametrize(
    "f", [operator.add, operator.sub, operator.mul, operator.truediv], ids=["+", "-", "*", "/"]
)
def test_an_array_on_either_side_combines_elementwise(f: Callable[[Any, Any], Any]) -> None:
    v, array = Value(2.0), np.array([1.0, 4.0])
    for result, expected in ((f(v, array), f(2.0, array)), (f(array, v), f(array, 2.0))):
        assert result.dtype == object and all(isinstance(r, Value) for r in result)
        assert [r.data for r in result] == list(expected)


@pytest.mark.parametrize("other", ["2", None, 1j, [1.0]])
def test_a_non_number_exponent_is_a_type_error(other: Any) -> None:
    with pytest.raises(TypeError):
        Value(1.0) ** other


def test_parents_are_ordered_and_keep_duplicates() -> None:
    x, y = Value(1.0), Value(2.0)
    assert (x - y).parents == (x, y)
    assert (y - x).parents[0] is y
    assert (x * x).parents == (x, x)
    assert (-x).parents == (x,)


# -- comparisons and conversions read the data ----------------------------------


def test_comparisons_and_conversions_read_data() -> None:
    v, w = Value(1.0), Value(2.0)
    assert v < w and v <= w and w > v and w >= v
    assert v < 1.5 and v >= 1.0 and not v > 1.0
    assert float(w) == 2.0 and bool(v) and not bool(Value(0.0))
    assert math.sqrt(Value(4.0)) == 2.0  # float() is what math reads
    assert v.grad == 0.0 and (v < w) is True


@pytest.mark.parametrize(
    "read",
    [bool, float, lambda v: v > 0, lambda v: v < 0, lambda v: v >= 0, lambda v: v <= 0],
    ids=["if v", "float(v)", ">", "<", ">=", "<="],
)
def test_reading_a_traced_value_raises_tracing_error(read: Callable[[Value], Any]) -> None:
    v = Value(1.0)
    with graph_mode(tracing=True), pytest.raises(TracingError, match="traced"):
        read(v)
    assert read(v) is not None  # outside tracing it reads the data again


def test_tracing_error_is_a_type_error() -> None:
    assert issubclass(TracingError, TypeError)


# -- backward -----------------------------------------------------------------------


def test_grad_starts_at_zero_and_backward_seeds_one() -> None:
    x = Value(5.0)
    assert x.grad == 0.0
    x.backward()
    assert x.grad == 1.0


def test_backward_accumulates_across_calls() -> None:
    # y = (3x)², dy/dx = 18x. micrograd would give 3× after two calls, because
    # its intermediate nodes keep the first call's gradient; here it is 2×.
    x = Value(2.0)
    t = x * 3.0
    y = t * t
    y.backward()
    assert x.grad == 36.0
    assert t.grad == 12.0  # dy/dt = 2t
    y.backward()
    assert x.grad == 72.0
    assert t.grad == 24.0
    assert y.grad == 2.0


def test_fan_out_sums_gradients() -> None:
    # y = x·e^x + sin(x): x feeds three uses; dy/dx = e^x(1 + x) + cos(x).
    x = Value(0.7)
    y = x * x.exp() + x.sin()
    y.backward()
    expected = math.exp(0.7) * 1.7 + math.cos(0.7)
    assert x.grad == pytest.approx(expected, rel=1e-14)


def test_a_node_used_twice_in_one_op() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    z = Value(3.0)
    (z + z).backward()
    assert z.grad == 2.0
    w = Value(3.0)
    (w / w).backward()
    assert w.grad == 0.0


def test_a_node_reused_in_several_branches() -> None:
    # s = w·x is shared by the loss's two terms: E = σ(s)² + tanh(s).
    # dE/dw = x·(2σ(s)·σ(s)(1 - σ(s)) + 1 - tanh²(s)).
    w, x = Value(0.5), Value(0.1)
    s = w * x
    loss = s.sigmoid() ** 2 + s.tanh()
    loss.backward()
    sig, th = 1 / (1 + math.exp(-0.05)), math.tanh(0.05)
    assert w.grad == pytest.approx(0.1 * (2 * sig * sig * (1 - sig) + 1 - th * th), rel=1e-14)
    assert x.grad == pytest.approx(0.5 * (2 * sig * sig * (1 - sig) + 1 - th * th), rel=1e-14)
    assert s.grad == pytest.approx(2 * sig * sig * (1 - sig) + 1 - th * th, rel=1e-14)


def test_tutorial_part_one_gradient() -> None:
    # The tutorial's chain rule by hand: dE/dw = 2(pred - target) · σ(sop)(1 - σ(sop)) · x.
    x, target, w = 0.1, 0.3, Value(0.5)
    error = ((w * x).sigmoid() - target) ** 2
    error.backward()
    pred = 1 / (1 + math.exp(-0.05))
    assert w.grad == pytest.approx(2 * (pred - target) * pred * (1 - pred) * x, rel=1e-14)
    assert round(w.grad, 10) == 0.0106182320


def test_a_million_node_chain_backpropagates() -> None:
    # y = x + x + ... + x (a chain 1,000,000 nodes deep): dy/dx = 1,000,000 exactly.
    x = Value(0.5)
    y = x
    for _ in range(999_999):
        y = y + x
    y.backward()
    assert x.grad == 1_000_000.0
    assert y.data == 500_000.0
    assert len(reverse_topological_order(y)) == 1_000_000


def test_reverse_topological_order_puts_users_before_operands() -> None:
    x = Value(1.0)
    a = x * 2
    b = x.exp()
    y = a + b * a
    order = reverse_topological_order(y)
    position = {id(node): i for i, node in enumerate(order)}
    assert order[0] is y and order[-1] is not y
    assert len(order) == len({id(n) for n in order}) == 6  # y, b*a, b, a, x, the constant 2
    for node in order:
        for parent in node.parents:
            assert position[id(node)] < position[id(parent)]


def _exploding_op() -> Op:
    def partials(a: Any, out: Any) -> tuple[Any, ...]:
        raise RuntimeError("rule failed")

    return Op("explode", 1, lambda a: a, lambda a: a, partials, "explode({0})")


@pytest.mark.parametrize(
    "differentiate",
    [
        Value.backward,
        lambda y: gradients(y, list(reverse_topological_order(y))),
        lambda y: gradients(y, list(reverse_topological_order(y)), create_graph=True),
    ],
    ids=["backward", "gradients", "gradients create_graph"],
)
def test_a_failed_pass_changes_no_grad(differentiate: Callable[[Value], Any]) -> None:
    x = Value(2.0)
    healthy = x * x
    healthy.backward()
    assert x.grad == 4.0
    # The failing rule sits below a healthy part of the graph.
    y = Value.apply(_exploding_op(), x * 3.0) * x + x.exp()
    with pytest.raises(RuntimeError, match="rule failed"):
        differentiate(y)
    assert x.grad == 4.0
    assert all(node.grad == 0.0 for node in reverse_topological_order(y) if node is not x)
    healthy.backward()  # the next passes still work
    assert x.grad == 8.0
    assert gradients(healthy, [x]) == (4.0,)
    z = x.exp() * x
    z.backward()
    assert x.grad == pytest.approx(8.0 + 3 * math.exp(2.0), rel=1e-15)


def test_backward_from_an_inner_node_ignores_its_other_users() -> None:
    x = Value(2.0)
    inner = x * x
    outer = inner * 3.0  # a user of inner outside inner's own graph
    inner.backward()
    assert x.grad == 4.0 and outer.grad == 0.0
    outer.backward()
    assert x.grad == 4.0 + 12.0 and inner.grad == 1.0 + 3.0
    x.backward()  # a leaf with users: d x / d x = 1
    assert x.grad == 17.0


def test_the_graph_can_grow_between_passes() -> None:
    x = Value(1.5)
    y = x.sin()
    y.backward()
    z = y * y + x  # new users of y and x after a pass
    z.backward()
    assert x.grad == pytest.approx(math.cos(1.5) + 2 * math.sin(1.5) * math.cos(1.5) + 1.0)
    assert gradients(z, [x])[0] == pytest.approx(2 * math.sin(1.5) * math.cos(1.5) + 1.0)


# -- graph modes ------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    w = Value(2.0)
    with no_grad():
        y = (w * 3).exp() + w
    assert y.op is None and y.parents == ()
    assert y.data == pytest.approx(math.exp(6.0) + 2.0)
    y.backward()  # a leaf: nothing flows to w
    assert w.grad == 0.0
    z = w * 3  # recording is back on after the block
    assert z.parents[0] is w


def test_no_grad_belongs_to_one_thread() -> None:
    inside, released = threading.Event(), threading.Event()
    recorded_in_thread: list[bool] = []

    def hold_no_grad() -> None:
        with no_grad():
            inside.set()
            released.wait(timeout=10)
            recorded_in_thread.append(bool((Value(1.0) * 2).parents))

    worker = threading.Thread(target=hold_no_grad)
    worker.start()
    try:
        assert inside.wait(timeout=10)
        # The worker is inside no_grad right now; this thread still records.
        assert (Value(1.0) * 2).parents != ()
    finally:
        released.set()
        worker.join(timeout=10)
    assert recorded_in_thread == [False]


def test_graph_mode_restores_the_previous_mode() -> None:
    with graph_mode(record=False) as mode:
        assert mode.record is False and mode.tracing is False
        with graph_mode(tracing=True) as inner:
            assert inner.record is False and inner.tracing is True
        assert (Value(1.0) + 1).parents == ()
    assert (Value(1.0) + 1).parents != ()


def test_graph_mode_restores_after_an_exception() -> None:
    with pytest.raises(ZeroDivisionError), no_grad():
        1 / 0  # noqa: B018
    assert (Value(1.0) + 1).parents != ()


def test_graph_mode_rejects_unknown_switches() -> None:
    with pytest.raises(TypeError, match="graph_mode has no switch 'recrd'"):
        graph_mode(recrd=False)
    assert (Value(1.0) + 1).parents != ()


# -- numbers too large, comparisons with non-numbers ------------------------------------


@pytest.mark.parametrize(
    "make", [lambda: Value(10**400), lambda: Value(1.0) + 10**400, lambda: Value(2.0) ** 10**400]
)
def test_an_int_too_large_for_a_float_is_named(make: Callable[[], Value]) -> None:
    with pytest.raises(OverflowError, match=r"\(401 digits\) is too large for a float"):
        make()


def test_comparing_with_a_non_number_is_a_type_error_naming_both() -> None:
    with pytest.raises(TypeError, match="'<' not supported between instances of 'Value' and 'str'"):
        Value(1.0) < "a"  # noqa: B015
    assert (Value(1.0) < Value(2.0)) and (2 > Value(1.0)) and not (Value(3.0) <= 2)

# -- comparisons read the data ----------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "less", "greater"),
    [(1.0, 2.0, True, False), (2.0, 2.0, False, False), (3.0, 2.0, False, True)],
)
def test_ordering_a_value_against_a_number_and_a_value(
    left: float, right: float, less: bool, greater: bool
) -> None:
    for other in (right, Value(right)):
        assert (Value(left) < other) is less
        assert (Value(left) > other) is greater
        assert (Value(left) <= other) is (less or left == right)
        assert (Value(left) >= other) is (greater or left == right)


# -- nesting, truth, immutability ---------------------------------------------------------


def test_three_nested_grads_see_the_outer_variable_through_closures() -> None:
    # d/dx d/dz d/dy (y·x·z) = d/dx d/dz (x·z) = d/dx x = 1: the innermost grad is
    # called on plain numbers, and must still return a Value the outer ones can use.
    def middle(x: Value) -> Value:
        return grad(lambda z: grad(lambda y: y * x * z)(3.0))(5.0)  # type: ignore[no-any-return]

    assert grad(middle)(2.0) == 1.0


@pytest.mark.parametrize(("data", "truth"), [(-2.0, True), (0.0, False), (0.5, True)])
def test_a_value_is_true_when_its_data_is_nonzero(data: float, truth: bool) -> None:
    assert bool(Value(data)) is truth
    assert bool(Value(math.nan)) is True  # as bool(nan)


def test_rows_of_the_table_and_graph_modes_cannot_be_changed_in_place() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        MUL.name = "times"  # type: ignore[misc]
    with graph_mode() as mode, pytest.raises(dataclasses.FrozenInstanceError):
        mode.record = False  # type: ignore[misc]


def test_every_real_number_type_combines_with_a_value() -> None:
    v = Value(2.0)
    for number in (Fraction(1, 2), np.float32(0.5), True):
        total, reflected = v + number, number + v
        assert isinstance(total, Value) and isinstance(reflected, Value)
        assert total.data == reflected.data == 2.0 + float(number)


# -- a walk interrupted halfway leaves nothing behind ------------------------------------------


def test_a_walk_that_fails_halfway_leaves_the_graph_ready_for_the_next() -> None:
    x = Value(2.0)
    y = x * Value(3.0)
    z = y + 1.0
    operand = y._b
    y._b = object()  # type: ignore[assignment]  # a broken node stops the walk halfway
    with pytest.raises(AttributeError):
        z.backward()
    y._b = operand
    z.backward()
    assert (x.grad, y.grad, z.grad) == (3.0, 1.0, 1.0)
