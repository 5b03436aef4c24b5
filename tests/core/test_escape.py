"""No silent escape from the graph, and what grad takes and gives: has_aux, structures, detach.

The right answers come from central differences of the same function on
floats and from derivatives worked out by hand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from strategies import central_difference

from tinygrad_gd import (
    Value,
    custom_op,
    grad,
    gradients,
    hessian,
    jvp,
    no_grad,
    stop_gradient,
    value_and_grad,
)
from tinygrad_gd.core.autodiff import nested
from tinygrad_gd.core.ops import SIN

# -- every function of the math module, applied to a Value inside grad -----------------------

# Ways to hand one differentiated number x to a math function, tried in order; the
# first one the function accepts on floats is the one checked on a Value.
CALLS: list[Callable[[Any], tuple[Any, ...]]] = [
    lambda x: (x,),
    lambda x: (x, 0.3),
    lambda x: (0.3, x),
    lambda x: (x, 2),
    lambda x: ([x, 0.3],),
    lambda x: ([x, 0.3], [0.2, 0.4]),
    lambda x: (x, 0.3, 0.1),
]
AT = 0.7
MATH_FUNCTIONS = sorted(name for name in dir(math) if callable(getattr(math, name)))


def _working_call(name: str, at: float) -> Callable[[Any], tuple[Any, ...]] | None:
    for call in CALLS:
        try:
            getattr(math, name)(*call(at))
        except (TypeError, ValueError):
            continue
        return call
    return None


@pytest.mark.parametrize("name", MATH_FUNCTIONS)
def test_a_math_function_inside_grad_is_refused_or_right(name: str) -> None:
    function = getattr(math, name)
    # math.comb and its like take integers: called as they work on 3, a Value is refused.
    call = _working_call(name, AT) or _working_call(name, 3)
    assert call is not None, f"no way found to call math.{name}"

    def f(x: Any) -> Any:
        return function(*call(x))

    try:
        derivative = grad(f)(AT)
    except TypeError as error:  # refused: the message says what to write instead
        message = str(error)
        assert "x.exp()" in message or "integer" in message or "Value" in message, message
        return
    if _working_call(name, AT) is None:
        pytest.fail(f"math.{name} accepted a Value but refuses a float")
    expected = central_difference(lambda p: float(f(p[0])), [AT], 0)
    assert derivative == pytest.approx(expected, rel=1e-6, abs=1e-8), name


def test_the_sweep_covers_the_math_functions_that_used_to_escape() -> None:
    # Before the guard these gave 2.718 (for 5.437) and 0.0 (for cos 1), silently.
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        grad(lambda x: x * math.exp(x))(1.0)
    with pytest.raises(TypeError, match=r"x\.data"):
        grad(math.sin)(1.0)
    assert {"exp", "sin", "log", "sqrt", "tanh", "fsum", "hypot"} <= set(MATH_FUNCTIONS)


def test_math_prod_computes_with_operators_and_is_right() -> None:
    assert grad(lambda x: math.prod([x, x, 3.0]))(2.0) == 12.0  # d(3x²)/dx


def test_numpy_float_conversion_is_refused_inside_grad() -> None:
    with pytest.raises(TypeError, match="float"):
        grad(lambda x: x * np.float64(x))(2.0)


def test_numpy_functions_dispatch_to_value_methods_and_are_right() -> None:
    assert grad(lambda x: np.exp(x) * np.sin(x))(0.0) == 1.0  # eˣ(sin x + cos x) at 0


def test_float_of_a_value_outside_differentiation_reads_its_data() -> None:
    x = Value(2.0)
    y = x * x
    assert float(y) == 4.0 and math.exp(y) == math.exp(4.0)
    y.backward()  # the graph is untouched by reading it
    assert x.grad == 4.0


def test_float_of_a_constant_inside_grad_is_allowed() -> None:
    # Logging a value that does not depend on the input loses no derivative.
    def f(x: Any) -> Any:
        scale = Value(2.0) * 3.0
        return x * float(scale)

    assert grad(f)(1.0) == 6.0


def test_float_of_the_data_is_the_deliberate_constant() -> None:
    assert grad(lambda x: x * math.exp(x.data))(1.0) == math.e  # e¹ held constant


def test_a_closed_over_outer_input_is_guarded_in_an_inner_grad() -> None:
    def outer(x: Any) -> Any:
        return grad(lambda y: y * math.exp(x))(1.0)  # x belongs to the outer derivative

    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        grad(outer)(0.5)


def test_jvp_and_hessian_guard_their_inputs_too() -> None:
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        jvp(lambda x: math.sin(x), (1.0,), (1.0,))
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        hessian(lambda x: x * math.cos(x))(1.0)


def test_after_a_refusal_the_guard_is_off_again() -> None:
    with pytest.raises(TypeError):
        grad(math.sin)(1.0)
    assert float(Value(1.5) * 2) == 3.0


def test_an_error_in_the_function_leaves_neither_guard_nor_nesting_behind() -> None:
    def fails(x: Any) -> Any:
        raise KeyError("inside f")

    outside = Value(1.5)
    for call in (grad(fails), grad(fails, has_aux=True)):  # the float path and the general one
        with pytest.raises(KeyError, match="inside f"):
            call(1.0)
        assert not nested()
        # Not nested: a float in gives a float out (d x²/dx at 3 = 6, by hand) ...
        derivative = grad(lambda x: x * x)(3.0)
        assert type(derivative) is float and derivative == 6.0
        # ... and a Value made outside is read as a number again.
        assert float(outside * 2) == 3.0


def test_a_refused_float_inside_a_nested_grad_leaves_the_outer_guard_on() -> None:
    def outer(x: Any) -> Any:
        with pytest.raises(TypeError, match=r"x\.exp\(\)"):
            grad(lambda y: y * math.exp(y))(1.0)
        assert nested()
        return x * math.exp(x)  # the outer input is still guarded

    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        grad(outer)(0.5)
    assert not nested()


# -- create_graph under no_grad ---------------------------------------------------------------


def test_create_graph_under_no_grad_is_an_error_not_a_flat_zero() -> None:
    x = Value(2.0)
    y = x**3
    with no_grad(), pytest.raises(RuntimeError, match="no_grad"):
        gradients(y, [x], create_graph=True)
    (dy,) = gradients(y, [x], create_graph=True)  # outside: right, 6x = 12
    assert gradients(dy, [x]) == (12.0,)


def test_grad_of_grad_inside_no_grad_is_right() -> None:
    with no_grad():
        assert grad(grad(lambda x: x**3))(2.0) == 12.0
        assert grad(lambda x: x * x)(Value(3.0)).data == 6.0


def test_a_custom_rule_written_with_math_is_refused_at_second_order() -> None:
    # The rule cos via math reads a float: right at first order, refused beyond.
    bad_sin = custom_op("bad_sin_escape", math.sin, lambda a, out: (math.cos(a),))
    assert grad(bad_sin)(1.0) == math.cos(1.0)
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        grad(grad(bad_sin))(1.0)
    x = Value(1.0)
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):  # gradients alone guards its graph
        gradients(bad_sin(x), [x], create_graph=True)
    assert gradients(bad_sin(x), [x]) == (math.cos(1.0),)  # on floats the rule is right
    good_sin = custom_op("good_sin_escape", math.sin, lambda a, out: (SIN(a + math.pi / 2),))
    assert grad(grad(good_sin))(1.0) == pytest.approx(-math.sin(1.0), rel=1e-15)


# -- stop_gradient and detach ---------------------------------------------------------------


def test_detach_is_the_same_value_with_no_gradient() -> None:
    x = Value(3.0, label="x")
    d = x.detach()
    assert (d.data, d.label, d.parents) == (3.0, "x", ())
    y = x * d + x
    y.backward()
    assert x.grad == 3.0 + 1.0 and d.grad == 3.0  # d is a leaf of its own


def test_stop_gradient_in_grad_jvp_and_on_structures() -> None:
    assert grad(lambda x: stop_gradient(x * x) * x)(3.0) == 9.0  # x² held constant
    assert jvp(lambda x: stop_gradient(x) * x, (2.0,), (1.0,)) == (4.0, 2.0)
    assert stop_gradient(1.5) == 1.5
    held = stop_gradient([Value(1.0), (2.0, Value(3.0))])
    assert held[0].data == 1.0 and held[0].parents == () and held[1][0] == 2.0


def test_stop_gradient_on_an_array_of_values() -> None:
    x = np.array([Value(1.0), Value(2.0)])
    held = stop_gradient(x)
    assert isinstance(held, np.ndarray) and [v.data for v in held] == [1.0, 2.0]
    assert all(v is not w for v, w in zip(held, x, strict=True))


# -- has_aux ----------------------------------------------------------------------------------


def test_grad_with_aux_returns_the_gradient_and_the_aux_as_numbers() -> None:
    def loss(w: Any) -> tuple[Any, Any]:
        prediction = (w * 0.5).sigmoid()
        return (prediction - 1.0) ** 2, {"prediction": prediction}

    gradient, aux = grad(loss, has_aux=True)(2.0)
    p = 1 / (1 + math.exp(-1.0))
    assert gradient == pytest.approx(2 * (p - 1) * p * (1 - p) * 0.5, rel=1e-15)
    assert aux["prediction"] == p or aux["prediction"].data == p  # dicts are passed as they are


def test_value_and_grad_with_aux_nests_as_jax() -> None:
    (value, aux), gradient = value_and_grad(lambda x: (x**3, [x * 2, 7]), has_aux=True)(2.0)
    assert (value, aux, gradient) == (8.0, [4.0, 7], 12.0)
    assert type(aux[0]) is float


def test_aux_stays_a_value_inside_a_nested_grad() -> None:
    def outer(x: Any) -> Any:
        gradient, aux = grad(lambda y: (y * x, y + x), has_aux=True)(2.0)
        assert isinstance(aux, Value)
        return gradient * aux  # x · (2 + x): derivative 2 + 2x

    assert grad(outer)(3.0) == 8.0


@pytest.mark.parametrize("returned", [1.0, (1.0,), (1.0, 2.0, 3.0), [1.0, 2.0]])
def test_has_aux_needs_a_pair(returned: Any) -> None:
    with pytest.raises(TypeError, match=r"pair \(value, aux\)"):
        grad(lambda x: returned, has_aux=True)(1.0)


def test_has_aux_must_be_a_bool() -> None:
    with pytest.raises(TypeError, match="has_aux must be True or False"):
        grad(lambda x: x, has_aux="yes")  # type: ignore[arg-type]


# -- structured arguments ---------------------------------------------------------------------


def _numeric_gradient(f: Callable[[list[float]], float], at: list[float]) -> list[float]:
    return [central_difference(f, at, i) for i in range(len(at))]


def test_grad_of_a_list_argument_is_a_list_matching_differences() -> None:
    def f(v: Any) -> Any:
        return (v[0] * v[1]).tanh() + v[2].exp() * v[0]

    at = [0.3, -1.2, 0.5]
    gradient = grad(f)(at)
    assert isinstance(gradient, list) and len(gradient) == 3
    numeric = _numeric_gradient(lambda p: f([Value(x) for x in p]).data, at)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-7)


def test_grad_of_nested_lists_and_tuples_keeps_their_structure() -> None:
    gradient = grad(lambda t: t[0] * t[1][0] * t[1][1])((2.0, [3.0, 5.0]))
    assert gradient == (15.0, [10.0, 6.0])


def test_grad_of_an_array_is_an_array_of_the_same_shape() -> None:
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    gradient = grad(lambda a: (a * a * a).sum())(x)
    assert isinstance(gradient, np.ndarray) and gradient.shape == (2, 2)
    assert gradient.dtype == np.float64
    np.testing.assert_array_equal(gradient, 3 * x * x)
    gradient = grad(lambda a: (a * a).sum())(np.array([1, 2]))  # integers are numbers too
    np.testing.assert_array_equal(gradient, [2.0, 4.0])


def test_several_structured_arguments_with_argnums() -> None:
    def f(w: Any, x: Any, b: Any) -> Any:
        return sum((wi * xi for wi, xi in zip(w, x, strict=True)), b).sigmoid()

    w, x, b = [0.5, -0.25], np.array([1.0, 2.0]), 0.1
    dw, db = grad(f, argnums=(0, 2))(w, x, b)
    s = 1 / (1 + math.exp(-(0.5 - 0.5 + 0.1)))
    assert dw == pytest.approx([s * (1 - s) * 1.0, s * (1 - s) * 2.0], rel=1e-14)
    assert db == pytest.approx(s * (1 - s), rel=1e-14)


def test_an_empty_list_argument_has_an_empty_gradient() -> None:
    assert grad(lambda v, y: y * y, argnums=(0, 1))([], 3.0) == ([], 6.0)


def test_nested_grad_over_a_list_argument() -> None:
    # d/dx of d/dv[0] (v0·v1·x) = v1
    assert grad(lambda x: grad(lambda v: v[0] * v[1] * x)([2.0, 5.0])[0])(1.0) == 5.0


def test_a_bad_leaf_in_a_structure_is_named_and_changes_nothing() -> None:
    values = [Value(1.0), "w"]
    with pytest.raises(TypeError, match="argument 0 of .* it holds a str"):
        grad(lambda v: v[0])(values)
    assert values[0].grad == 0.0 and values[1] == "w"
