"""``gradients``, ``grad``, ``value_and_grad``: results by hand, nesting, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from tinygrad_gd import Value, grad, gradients, value_and_grad
from tinygrad_gd.core.ops import MUL
from tinygrad_gd.core.value import reverse_topological_order

# -- gradients ----------------------------------------------------------------------


def test_gradients_match_a_hand_derivation() -> None:
    # y = tanh(w·x) + w²: dy/dw = x(1 - tanh²(wx)) + 2w, dy/dx = w(1 - tanh²(wx)).
    w, x = Value(0.5), Value(0.1)
    y = (w * x).tanh() + w**2
    dw, dx = gradients(y, [w, x])
    sech2 = 1 - math.tanh(0.05) ** 2
    assert dw == pytest.approx(0.1 * sech2 + 1.0, rel=1e-15)
    assert dx == pytest.approx(0.5 * sech2, rel=1e-15)
    assert type(dw) is float and type(dx) is float


def test_gradients_touch_no_grad() -> None:
    w, x = Value(0.5), Value(0.1)
    w.grad = 7.0
    y = (w * x).sigmoid()
    gradients(y, [w, x])
    gradients(y, [w], create_graph=True)
    assert w.grad == 7.0
    assert all(node.grad == 0.0 for node in reverse_topological_order(y) if node is not w)


def test_gradients_of_an_unrelated_node_are_zero() -> None:
    x, unrelated = Value(2.0), Value(5.0)
    y = x * x
    assert gradients(y, [x, unrelated]) == (4.0, 0.0)
    built = gradients(y, [unrelated], create_graph=True)
    assert isinstance(built[0], Value) and built[0].data == 0.0


def test_gradients_accept_one_node_an_intermediate_node_and_itself() -> None:
    x = Value(2.0)
    t = x * 3.0
    y = t * t
    assert gradients(y, x) == (36.0,)  # a single node, not in a list
    assert gradients(y, [t]) == (12.0,)  # with respect to an intermediate node: 2t
    assert gradients(y, [y]) == (1.0,)
    assert gradients(y, (x, x)) == (36.0, 36.0)
    assert gradients(y, []) == ()


def test_gradients_with_create_graph_differentiate_again() -> None:
    # y = x³·w: d/dx = 3x²w, d²/dx² = 6xw, d²/dxdw = 3x², d³/dx³ = 6w.
    x, w = Value(2.0), Value(0.5)
    y = x**3 * w
    (dx,) = gradients(y, [x], create_graph=True)
    assert isinstance(dx, Value) and dx.data == 6.0
    dxx, dxw = gradients(dx, [x, w], create_graph=True)
    assert (dxx.data, dxw.data) == (6.0, 12.0)
    assert gradients(dxx, [x, w]) == (3.0, 12.0)
    assert x.grad == 0.0 and w.grad == 0.0


def test_gradients_reject_bad_arguments_naming_them() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="y must be a Value, got float"):
        gradients(1.0, [x])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"xs\[1\] must be a Value, got float"):
        gradients(x * 2, [x, 2.0])  # type: ignore[list-item]


def test_a_failed_gradients_call_leaves_later_calls_correct() -> None:
    x = Value(3.0)
    y = x * x
    with pytest.raises(TypeError):
        gradients(y, [x, "x"])  # type: ignore[list-item]
    assert gradients(y, [x]) == (6.0,)
    assert x.grad == 0.0


# -- grad and value_and_grad -------------------------------------------------------


def loss(w: Any, x: Any, target: Any = 0.3) -> Any:
    """The tutorial's error for one sigmoid neuron."""
    return ((w * x).sigmoid() - target) ** 2


def loss_by_hand(w: float, x: float, target: float = 0.3) -> tuple[float, float, float]:
    """(E, dE/dw, dE/dx) by the chain rule."""
    pred = 1 / (1 + math.exp(-w * x))
    outer = 2 * (pred - target) * pred * (1 - pred)
    return (pred - target) ** 2, outer * x, outer * w


def test_grad_on_floats_returns_a_float() -> None:
    _, dw, dx = loss_by_hand(0.5, 0.1)
    assert grad(loss)(0.5, 0.1) == pytest.approx(dw, rel=1e-14)
    assert type(grad(loss)(0.5, 0.1)) is float
    assert grad(loss, argnums=1)(0.5, 0.1) == pytest.approx(dx, rel=1e-14)


def test_grad_accepts_ints_and_numpy_scalars() -> None:
    assert grad(lambda x: x**3)(2) == 12.0
    assert grad(lambda x: x**3)(np.float32(2.0)) == 12.0
    assert grad(lambda x: x**3)(np.int64(2)) == 12.0


def test_argnums_tuple_and_negative() -> None:
    e, dw, dx = loss_by_hand(0.5, 0.1)
    both = grad(loss, argnums=(0, 1))(0.5, 0.1)
    assert isinstance(both, tuple) and both == pytest.approx((dw, dx), rel=1e-14)
    assert grad(loss, argnums=(1, 0))(0.5, 0.1) == pytest.approx((dx, dw), rel=1e-14)
    assert grad(loss, argnums=-1)(0.5, 0.1) == pytest.approx(dx, rel=1e-14)
    assert grad(loss, argnums=(0,))(0.5, 0.1) == pytest.approx((dw,), rel=1e-14)


def test_keyword_arguments_pass_through_undifferentiated() -> None:
    _, dw, _ = loss_by_hand(0.5, 0.1, target=0.9)
    assert grad(loss)(0.5, 0.1, target=0.9) == pytest.approx(dw, rel=1e-14)


def test_value_and_grad_returns_value_and_gradient() -> None:
    e, dw, dx = loss_by_hand(0.5, 0.1)
    value, gradient = value_and_grad(loss, argnums=(0, 1))(0.5, 0.1)
    assert type(value) is float and value == pytest.approx(e, rel=1e-14)
    assert gradient == pytest.approx((dw, dx), rel=1e-14)


def test_grad_on_values_returns_values_and_touches_no_grad() -> None:
    w, x = Value(0.5), Value(0.1)
    value, dw = value_and_grad(loss)(w, x)
    e, expected_dw, _ = loss_by_hand(0.5, 0.1)
    assert isinstance(value, Value) and isinstance(dw, Value)
    assert value.data == pytest.approx(e, rel=1e-14)
    assert dw.data == pytest.approx(expected_dw, rel=1e-14)
    assert w.grad == 0.0 and x.grad == 0.0
    # dw is differentiable again: d²E/dwdx by central differences of the hand formula.
    (dwx,) = gradients(dw, [x])
    h = 1e-6
    numeric = (loss_by_hand(0.5, 0.1 + h)[1] - loss_by_hand(0.5, 0.1 - h)[1]) / (2 * h)
    assert dwx == pytest.approx(numeric, rel=1e-7)


def test_a_function_that_ignores_its_argument_has_zero_gradient() -> None:
    assert grad(lambda x: 3.0)(1.0) == 0.0
    assert grad(lambda x: Value(2.0) * 4)(1.0) == 0.0
    assert value_and_grad(lambda x, y: y * 2, argnums=(0, 1))(1.0, 5.0) == (10.0, (0.0, 2.0))


def test_grad_keeps_the_function_name() -> None:
    assert grad(loss).__name__ == "loss"
    assert value_and_grad(loss).__doc__ == loss.__doc__


# -- nesting --------------------------------------------------------------------------


def test_nested_grad_gives_higher_derivatives() -> None:
    f = lambda x: x**4  # noqa: E731
    assert grad(f)(1.5) == pytest.approx(4 * 1.5**3, rel=1e-15)
    assert grad(grad(f))(1.5) == pytest.approx(12 * 1.5**2, rel=1e-15)
    assert grad(grad(grad(f)))(1.5) == pytest.approx(24 * 1.5, rel=1e-15)
    assert grad(grad(grad(grad(f))))(1.5) == pytest.approx(24.0, rel=1e-15)
    assert grad(grad(grad(grad(grad(f)))))(1.5) == 0.0


def test_nested_grad_of_several_arguments() -> None:
    # f = x²y³: d²f/dxdy = 6xy².
    f = lambda x, y: x**2 * y**3  # noqa: E731
    assert grad(grad(f, argnums=1), argnums=0)(2.0, 3.0) == 6 * 2.0 * 9.0
    assert grad(grad(f, argnums=0), argnums=1)(2.0, 3.0) == 6 * 2.0 * 9.0


def test_nested_grad_with_a_closure_over_the_outer_variable() -> None:
    # d/dx [x · d/dy (x·y)] = d/dx [x·x] = 2x.
    assert grad(lambda x: x * grad(lambda y: x * y)(1.0))(3.0) == 6.0
    # d/dx [x · d/dy (x + y)] = d/dx [x] = 1 (a classic perturbation-confusion check).
    assert grad(lambda x: x * grad(lambda y: x + y)(1.0))(3.0) == 1.0


def test_inner_grad_at_the_outer_variable_treats_it_as_a_new_variable() -> None:
    # d/dx [ d/dy (x·y) evaluated at y = x ] = d/dx [x] = 1; confusing y with
    # the outer x would differentiate x·x instead and give 2.
    assert grad(lambda x: grad(lambda y: x * y)(x))(3.0) == 1.0
    # d/dx [ x · d/dy (x·y²) at y = x ] = d/dx [2x³] = 6x².
    assert grad(lambda x: x * grad(lambda y: x * y * y)(x))(2.0) == 24.0


# -- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argnums, error, message",
    [
        ("0", TypeError, "argnums must be an int or a non-empty tuple of ints, got '0'"),
        ((), TypeError, "non-empty"),
        ((0, 1.0), TypeError, r"got \(0, 1.0\)"),
        (True, TypeError, "got True"),
        ((0, 0), ValueError, "repeated position"),
    ],
    ids=["str", "empty", "float inside", "bool", "repeated"],
)
def test_bad_argnums_fail_at_definition(argnums: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        grad(loss, argnums=argnums)
    with pytest.raises(error, match=message):
        value_and_grad(loss, argnums=argnums)


@pytest.mark.parametrize(
    "argnums, message",
    [
        (2, "argnums 2 is out of range: loss was called with 2 positional arguments"),
        (-3, "argnums -3 is out of range"),
        ((0, -2), r"argnums \(0, -2\) name the same argument twice"),
    ],
)
def test_argnums_outside_the_call_fail_naming_the_position(argnums: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        grad(loss, argnums=argnums)(0.5, 0.1)


@pytest.mark.parametrize(
    "argument, type_name",
    [("0.5", "str"), (None, "NoneType"), (1j, "complex"), ([0.5, "a"], "str")],
)
def test_a_non_real_argument_is_named(argument: Any, type_name: str) -> None:
    with pytest.raises(TypeError, match=rf"argument 0 of loss must be a real number.*{type_name}"):
        grad(loss)(argument, 0.1)


@pytest.mark.parametrize(
    "result, type_name",
    [([1.0], "list"), (None, "NoneType"), (1j, "complex"), ((1.0, 2.0), "tuple")],
)
def test_a_non_scalar_result_is_named(result: Any, type_name: str) -> None:
    def returns_non_scalar(x: Any) -> Any:
        return result

    pattern = rf"returns_non_scalar must return a scalar Value or a number.*got {type_name}"
    with pytest.raises(TypeError, match=pattern):
        grad(returns_non_scalar)(1.0)


def test_an_error_changes_no_grad_and_the_next_call_works() -> None:
    w = Value(0.5)
    w.grad = 1.5
    with pytest.raises(TypeError):
        grad(lambda a, b: a * b, argnums=1)(w, "b")
    with pytest.raises(ValueError):
        grad(lambda a: a, argnums=3)(w)
    assert w.grad == 1.5
    assert grad(lambda x: x * x)(w).data == 1.0
    assert grad(lambda x: x * x)(0.5) == 1.0


@pytest.mark.parametrize("xs", [5, None, "x"])
def test_gradients_names_a_bad_xs(xs: Any) -> None:
    with pytest.raises(TypeError, match="xs must be a Value or a sequence of Values"):
        gradients(Value(1.0) * 2, xs)


def test_a_numpy_int_argnum_is_one_position() -> None:
    assert grad(lambda x, y: x * y, argnums=np.int64(1))(3.0, 4.0) == 3.0
    assert grad(lambda x, y: x * y, argnums=(np.int64(0),))(3.0, 4.0) == (4.0,)

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


# -- the graphs that create_graph builds --------------------------------------------------


def test_a_first_flow_adds_no_zero_plus_flow_node() -> None:
    x, y = Value(2.0), Value(3.0)
    (d,) = gradients(x * y, [x], create_graph=True)
    # d(x·y)/dx = y · (incoming 1.0): one mul of y and a number, and no 0 + flow add.
    assert d.data == 3.0
    assert d.op is MUL and len(reverse_topological_order(d)) == 3
    assert d.parents[0] is y and d.parents[1].data == 1.0


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
