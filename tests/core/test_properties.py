"""Properties over random expressions and drawn points (hypothesis).

Random trees over every op of the table (``strategies.expressions``) are
differentiated by the engine and compared with central finite differences of
the same tree evaluated with ``math`` alone. Higher derivatives of a few
functions are compared with their formulas derived by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from helpers import sigmoid
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import Expression, central_difference, expressions

from tinygrad_gd import Value, grad, gradients

VARIABLES = 3


def engine_gradients(expression: Expression, create_graph: bool = False) -> tuple[Any, ...]:
    inputs = [Value(x) for x in expression.inputs]
    out = expression.engine(inputs)
    if not isinstance(out, Value):  # a tree of constants only gives a number
        out = Value(out)
    return gradients(out, inputs, create_graph=create_graph)


@given(expressions(variables=VARIABLES))
def test_forward_matches_the_math_reference(expression: Expression) -> None:
    out = expression.engine([Value(x) for x in expression.inputs])
    value = out.data if isinstance(out, Value) else out
    assert value == pytest.approx(expression.reference(), rel=1e-12, abs=1e-12)


@given(expressions(variables=VARIABLES))
def test_gradient_matches_central_differences(expression: Expression) -> None:
    engine = engine_gradients(expression)
    for i, derivative in enumerate(engine):
        numeric = central_difference(expression.reference, expression.inputs, i)
        # Tolerance: the step h = 1e-6 gives a truncation error h²·|f'''|/6 and a
        # rounding error about 1e-16·|f|/h = 1e-10 (every value in a tree is at
        # most 9). Trees nest up to four ops, so f''' can reach ~1e4, which makes
        # the truncation ~1e-9: 1e-5 relative, plus 1e-6 absolute for derivatives
        # near zero, leaves a wide margin while a wrong rule is off by O(1).
        assert derivative == pytest.approx(numeric, rel=1e-5, abs=1e-6), (i, expression)


@given(expressions(variables=VARIABLES))
def test_float_backward_equals_create_graph_backward(expression: Expression) -> None:
    on_floats = engine_gradients(expression)
    on_values = engine_gradients(expression, create_graph=True)
    assert all(isinstance(d, Value) for d in on_values)
    assert [d.data for d in on_values] == pytest.approx(on_floats, rel=1e-12, abs=1e-300)


@given(expressions(variables=VARIABLES))
def test_backward_equals_gradients(expression: Expression) -> None:
    inputs = [Value(x) for x in expression.inputs]
    out = expression.engine(inputs)
    if isinstance(out, Value):
        out.backward()
    assert [x.grad for x in inputs] == list(engine_gradients(expression))


# -- higher order against formulas ----------------------------------------------


def exp_log_derivatives(x: float) -> tuple[float, float, float]:
    # f = eˣ·log x; by the product rule, each order adds one more term.
    e, log = math.exp(x), math.log(x)
    return (
        e * (log + 1 / x),
        e * (log + 2 / x - 1 / x**2),
        e * (log + 3 / x - 3 / x**2 + 2 / x**3),
    )


def sigmoid_derivatives(x: float) -> tuple[float, float, float]:
    s = sigmoid(x)
    return (s * (1 - s), s * (1 - s) * (1 - 2 * s), s * (1 - s) * (1 - 6 * s + 6 * s * s))


def tanh_derivatives(x: float) -> tuple[float, float, float]:
    t = math.tanh(x)
    return (1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t))


def check_three_derivatives(
    f: Callable[[Any], Any], x: float, expected: tuple[float, float, float]
) -> None:
    first, second, third = grad(f), grad(grad(f)), grad(grad(grad(f)))
    for order, (d, by_hand) in enumerate(zip((first, second, third), expected, strict=True), 1):
        assert d(x) == pytest.approx(by_hand, rel=1e-9, abs=1e-12), f"order {order} at {x}"


@given(st.floats(-20.0, 20.0))
def test_sigmoid_derivatives_to_third_order(x: float) -> None:
    check_three_derivatives(lambda v: v.sigmoid(), x, sigmoid_derivatives(x))


@given(st.floats(-10.0, 10.0))
def test_tanh_derivatives_to_third_order(x: float) -> None:
    check_three_derivatives(lambda v: v.tanh(), x, tanh_derivatives(x))


@given(st.floats(0.05, 5.0))
def test_exp_log_derivatives_to_third_order(x: float) -> None:
    check_three_derivatives(lambda v: v.exp() * v.log(), x, exp_log_derivatives(x))


@given(st.sampled_from([-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.0]),
       st.floats(0.1, 4.0))  # fmt: skip
def test_power_derivatives_to_third_order(n: float, x: float) -> None:
    expected = (n * x ** (n - 1), n * (n - 1) * x ** (n - 2), n * (n - 1) * (n - 2) * x ** (n - 3))
    check_three_derivatives(lambda v: v**n, x, expected)
    # The same with a Value exponent, which takes the general pow rule.
    check_three_derivatives(lambda v: v ** Value(n), x, expected)


@settings(max_examples=30)
@given(st.floats(-3.0, 3.0), st.floats(0.2, 3.0))
def test_mixed_second_derivatives_are_symmetric(x: float, y: float) -> None:
    # f = sin(x·y) + x²·log(y): d²f/dxdy = cos(xy) - xy·sin(xy) + 2x/y.
    f = lambda a, b: (a * b).sin() + a**2 * b.log()  # noqa: E731
    expected = math.cos(x * y) - x * y * math.sin(x * y) + 2 * x / y
    assert grad(grad(f, 0), 1)(x, y) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert grad(grad(f, 1), 0)(x, y) == pytest.approx(expected, rel=1e-9, abs=1e-12)
