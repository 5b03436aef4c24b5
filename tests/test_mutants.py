"""Behaviours of the core that mutation testing showed no other test pinned.

Each test is named for the behaviour it pins; each expected value is worked
out by hand. See docs/testing.md for the mutation run and its score.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tinygrad_gd import Value, grad, gradients
from tinygrad_gd.ops import ADD, DIV, MUL, NEG, POW, Op, power
from tinygrad_gd.symbolic import Expr
from tinygrad_gd.value import reverse_topological_order

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
