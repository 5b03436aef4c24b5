"""Behaviours of the core that mutation testing showed no other test pinned.

Each test is named for the behaviour it pins; each expected value is worked
out by hand. See docs/testing.md for the mutation run and its score.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import tinygrad_gd
from tinygrad_gd import AnomalyError, Value, detect_anomaly, grad, gradients
from tinygrad_gd.ops import ADD, DIV, MUL, NEG, POW, SIGMOID, Op, is_row, number_text, power
from tinygrad_gd.symbolic import Expr
from tinygrad_gd.value import graph_mode, reverse_topological_order

a, b, c = Expr("a"), Expr("b"), Expr("c")


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


# -- how the table prints ------------------------------------------------------------


def test_an_op_repr_leaves_out_its_partials() -> None:
    assert "partials" not in repr(MUL)
    assert repr(MUL).startswith("Op(name='mul', arity=2,")


@pytest.mark.parametrize(
    ("expression", "text"),
    [
        (NEG(power(2)(a)), "-a ** 2"),  # ** binds tighter than unary minus
        (power(2)(NEG(a)), "(-a) ** 2"),
        (MUL(a, NEG(b)), "a * -b"),  # unary minus binds tighter than *
        (NEG(MUL(a, b)), "-(a * b)"),
        (MUL(a, ADD(b, c)), "a * (b + c)"),  # * binds tighter than +
        (ADD(MUL(a, b), c), "a * b + c"),
        (MUL(ADD(a, b), c), "(a + b) * c"),
        (MUL(a, power(2)(b)), "a * b ** 2"),
        (power(2)(MUL(a, b)), "(a * b) ** 2"),
    ],
)
def test_printed_formulas_parenthesize_by_binding_strength(expression: Expr, text: str) -> None:
    assert str(expression) == text


@pytest.mark.parametrize(
    ("n", "text"), [(-1, "a ** (-1)"), (-0.5, "a ** (-0.5)"), (0, "a ** 0"), (3, "a ** 3")]
)
def test_a_power_row_parenthesizes_only_a_negative_exponent(n: float, text: str) -> None:
    row: Op = power(n)
    assert row.format("a") == text


# -- messages ---------------------------------------------------------------------------


def test_an_argnum_out_of_range_names_how_many_arguments_came() -> None:
    with pytest.raises(ValueError, match="called with 0 positional arguments$"):
        grad(lambda: Value(1.0))()
    with pytest.raises(ValueError, match="called with 1 positional argument$"):
        grad(lambda x: x, argnums=1)(2.0)
    with pytest.raises(ValueError, match="called with 2 positional arguments$"):
        grad(lambda x, y: x, argnums=2)(2.0, 3.0)


def test_hundreds_of_distinct_argnums_are_not_a_repeat() -> None:
    # Past 256 two equal ints are different objects: the check must compare values.
    n = 300
    gradient = grad(lambda *xs: sum(x * i for i, x in enumerate(xs)), argnums=tuple(range(n)))
    assert gradient(*[1.0] * n) == tuple(float(i) for i in range(n))


# -- the table's ops on numbers and arrays ------------------------------------------------


def test_a_number_with_an_array_gives_the_arrays_ieee_result_silently() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(POW(2.0, np.array([1.0, 3.0])), [2.0, 8.0])
        np.testing.assert_array_equal(DIV(1.0, np.array([0.0, 2.0])), [np.inf, 0.5])


def test_numpy_scalars_give_python_floats_with_ieee_edges() -> None:
    total = ADD(np.float32(1.5), np.int64(2))
    assert type(total) is float and total == 3.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quotient = DIV(np.float32(1.0), np.float32(0.0))
    assert type(quotient) is float and quotient == math.inf


# -- the graphs that create_graph builds --------------------------------------------------


def test_a_first_flow_adds_no_zero_plus_flow_node() -> None:
    x = Value(2.0)
    (d,) = gradients(x * 3.0, [x], create_graph=True)
    # d(x·3)/dx = 3 · (incoming 1.0): one mul of two leaves, and no 0 + flow add.
    assert d.data == 3.0
    assert d.op is MUL and len(reverse_topological_order(d)) == 3


def test_a_negative_float_flow_is_added_to_not_replaced() -> None:
    # Walking back from x·2 - x, x first gets the float flow -1 (from the minus),
    # then the flow 2 through x·2: the adjoint is their sum, 1.
    x = Value(3.0)
    (d,) = gradients(x * 2.0 - x, [x], create_graph=True)
    assert d.data == 1.0


def test_the_derivative_of_x_squared_is_two_x_without_an_x_to_the_one_node() -> None:
    x = Value(3.0)
    (d,) = gradients(x**2, [x], create_graph=True)
    assert d.data == 6.0
    assert all(node.op is None or node.op.name != "pow" for node in reverse_topological_order(d))


def test_the_derivative_of_x_to_the_one_is_the_constant_one() -> None:
    x = Value(3.0)
    (d,) = gradients(x**1, [x], create_graph=True)
    assert d.data == 1.0 and d.op is None  # a constant: no graph to differentiate further


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
    y = x * 3.0
    z = y + 1.0
    operand = y._b
    y._b = object()  # type: ignore[assignment]  # a broken node stops the walk halfway
    with pytest.raises(AttributeError):
        z.backward()
    y._b = operand
    z.backward()
    assert (x.grad, y.grad, z.grad) == (3.0, 1.0, 1.0)


# -- anomaly mode: which flow is named ---------------------------------------------------------


def test_a_flow_that_overflows_as_a_product_names_its_op() -> None:
    # u = x·1e200 is finite (1e-100), its incoming gradient is 1e200, its partial
    # for x is 1e200: the flow 1e200·1e200 is inf, though neither factor is.
    x = Value(1e-300)
    with detect_anomaly():
        u = x * 1e200
        y = u * 1e200
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    assert str(caught.value).startswith(
        "backward through mul(1e-300, 1e+200): the gradient for operand 1e-300 is inf "
        "(local partial 1e+200, incoming gradient 1e+200)"
    )


def test_an_overflowing_sum_names_its_leaf_and_the_lines_of_three_uses() -> None:
    x = Value(1e-10, label="x")
    with detect_anomaly():
        uses = [x * 1e308 for _ in range(4)]  # each flow into x is 1e308, their sum inf
        y = uses[0] + uses[1] + uses[2] + uses[3]
        with pytest.raises(AnomalyError) as caught:
            y.backward()
    message = str(caught.value)
    assert message.startswith(
        "backward: the gradients flowing into the leaf x = 1e-10 from its 4 uses sum to inf"
    )
    assert message.count("\n  made at ") == 3


# -- arithmetic keeps operand order; numbers print exactly ----------------------------------


def test_reflected_add_and_mul_keep_the_number_first() -> None:
    x = Value(3.0)
    assert [p.data for p in (2.0 + x).parents] == [2.0, 3.0]
    assert [p.data for p in (2.0 * x).parents] == [2.0, 3.0]


@pytest.mark.parametrize(
    ("x", "text"),
    [(-0.0, "-0.0"), (0.0, "0"), (-3.0, "-3"), (1e15, "1000000000000000"), (1e16, "1e+16"),
     (1e20, "1e+20"), (0.1, "0.1")],
)  # fmt: skip
def test_number_text_prints_whole_numbers_as_ints_while_short_and_signed(
    x: float, text: str
) -> None:
    assert number_text(x) == text
    assert float(text) == x and math.copysign(1, float(text)) == math.copysign(1, x)


def test_an_int_too_large_for_a_float_shows_its_first_twenty_digits() -> None:
    with pytest.raises(OverflowError) as caught:
        Value(10**400)
    assert str(caught.value) == (
        "the number 10000000000000000000... (401 digits) is too large for a float"
    )


def test_gradients_takes_any_iterable_of_values() -> None:
    a, b = Value(2.0), Value(3.0)
    assert gradients(a * b, (x for x in [a, b])) == (3.0, 2.0)  # a generator
    assert gradients(a * b, [a, b]) == gradients(a * b, (a, b)) == (3.0, 2.0)


# -- the rows of the table: one per exponent, and only the table's own ----------------------


def test_a_copy_of_a_row_is_a_look_alike_not_the_row() -> None:
    # Ops compare by identity: a copy with every field equal is still not a row.
    copy = dataclasses.replace(SIGMOID)
    assert copy != SIGMOID and not is_row(copy)
    assert is_row(SIGMOID)


def test_a_nan_exponent_is_one_row_however_often_it_is_asked_for() -> None:
    assert power(math.nan) is power(float("nan")) is power(-math.nan)
    x = Value(2.0)
    assert (x**math.nan).op is (x ** float("nan")).op


def test_x_to_the_minus_zero_asked_first_is_the_row_x_to_the_0(tmp_path: Path) -> None:
    # A fresh interpreter, so that no earlier test has made the row x ** 0 already.
    code = (
        "from tinygrad_gd.ops import power\n"
        "print(power(-0.0).format('x'), power(0.0).format('x'), power(-0.0) is power(0.0))"
    )
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(tinygrad_gd.__file__)))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": package_parent},
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "x ** 0 x ** 0 True\n"


# -- rules made outside the table ------------------------------------------------------------


def test_a_constant_partial_of_two_doubles_the_flow_in_a_created_graph() -> None:
    double = Op("double", 1, lambda a: 2.0 * a, lambda a: 2.0 * a, lambda a, out: (2.0,), "2{0}")
    x = Value(3.0)
    (d,) = gradients(Value.apply(double, x), [x], create_graph=True)
    assert d.data == 2.0  # d(2x)/dx
    (d,) = gradients(Value.apply(double, x) * x, [x], create_graph=True)
    assert d.data == 12.0  # d(2x·x)/dx = 4x


def test_anomaly_mode_refuses_a_rule_with_more_partials_than_operands() -> None:
    extra = Op("extra", 1, lambda a: a, lambda a: a, lambda a, out: (1.0, 1.0), "extra({0})")
    x = Value(3.0)
    with detect_anomaly():
        y = Value.apply(extra, x)
        with pytest.raises(ValueError):
            y.backward()
    assert x.grad == 0.0  # the refused pass added nothing
