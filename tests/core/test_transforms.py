"""jvp, jacobian and hessian against closed forms, central differences and torch.func."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from strategies import Expression, central_difference, expressions

from tinygrad_gd import Value, grad, hessian, jacobian, jvp, no_grad, value_and_grad

# -- jvp -----------------------------------------------------------------------------------


def test_jvp_of_a_product_is_the_product_rule() -> None:
    # d(x·y) along (dx, dy) = y·dx + x·dy
    value, tangent = jvp(lambda x, y: x * y, (2.0, 3.0), (0.5, -1.0))
    assert (value, tangent) == (6.0, 3.0 * 0.5 + 2.0 * -1.0)


def test_jvp_of_sin_times_exp_is_its_closed_form() -> None:
    x = 0.7
    _, tangent = jvp(lambda x: x.sin() * x.exp(), (x,), (1.0,))
    assert tangent == pytest.approx((math.cos(x) + math.sin(x)) * math.exp(x), rel=1e-14)


def test_jvp_returns_floats_on_numbers_and_values_on_values() -> None:
    value, tangent = jvp(lambda x: x * x, (3.0,), (1.0,))
    assert type(value) is float and type(tangent) is float
    value, tangent = jvp(lambda x: x * x, (Value(3.0),), (1.0,))
    assert isinstance(value, Value) and isinstance(tangent, Value)
    assert (value.data, tangent.data) == (9.0, 6.0)


def test_jvp_of_a_function_of_a_list_gives_a_structured_output() -> None:
    value, tangent = jvp(lambda v: [v[0] * v[1], v[0] + v[1]], ([2.0, 5.0],), ([1.0, 1.0],))
    assert value == [10.0, 7.0]
    assert tangent == [5.0 + 2.0, 2.0]


def test_jvp_on_an_array_keeps_its_shape() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    value, tangent = jvp(lambda a: a * a, (x,), (np.ones((2, 2)),))
    assert isinstance(tangent, np.ndarray) and tangent.shape == (2, 2)
    np.testing.assert_array_equal(tangent, 2 * x)


def test_jvp_of_a_constant_function_is_zero() -> None:
    assert jvp(lambda x: 3.0, (1.0,), (1.0,)) == (3.0, 0.0)


def test_hessian_vector_product_by_forward_over_reverse() -> None:
    # f = x²y + y³: H = [[2y, 2x], [2x, 6y]]; H·(1, 2) at (1, 2) = (4 + 4, 2 + 24)
    def f(v: list[Any]) -> Any:
        return v[0] ** 2 * v[1] + v[1] ** 3

    _, hvp = jvp(grad(f), ([1.0, 2.0],), ([1.0, 2.0],))
    assert hvp == [8.0, 26.0]


def test_reverse_over_forward_gives_the_second_derivative() -> None:
    # d/dx of (d/dx x³ along 1) = 6x
    second = grad(lambda x: jvp(lambda y: y**3, (x,), (1.0,))[1])(2.0)
    assert second == 12.0


def test_jvp_in_a_closure_does_not_confuse_the_outer_variable() -> None:
    # d/dx [x · d/dy (x·y)] = d/dx x² = 2x: the inner tangent must not leak into x.
    def f(x: Any) -> Any:
        return x * jvp(lambda y: x * y, (1.0,), (1.0,))[1]

    assert grad(f)(3.0) == 6.0


def test_jvp_with_a_value_tangent_is_differentiable_in_the_tangent() -> None:
    # d/dt of (jvp of x² at x = 3 along t) = 2x = 6
    assert grad(lambda t: jvp(lambda x: x * x, (3.0,), (t,))[1])(0.5) == 6.0


@pytest.mark.parametrize(
    "primals, tangents, match",
    [
        ([1.0], 1.0, "tuples"),
        ((1.0, 2.0), (1.0,), "2 primals but 1 tangents"),
        (([1.0, 2.0],), ([1.0],), "same structure"),
        ((1.0,), ("a",), "holds a str"),
    ],
)
def test_jvp_refuses_mismatched_tangents(primals: Any, tangents: Any, match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        jvp(lambda *xs: xs[0], primals, tangents)


def test_jvp_refuses_a_math_function_on_its_input() -> None:
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        jvp(math.exp, (1.0,), (1.0,))


# -- jacobian and hessian --------------------------------------------------------------------


def test_jacobian_of_a_vector_function_by_forward_mode() -> None:
    # f(x, y) = (x·y, x + y, x²): three outputs, two inputs (forward mode)
    jac = jacobian(lambda v: [v[0] * v[1], v[0] + v[1], v[0] ** 2])([2.0, 3.0])
    assert jac == [[3.0, 2.0], [1.0, 1.0], [4.0, 0.0]]


def test_jacobian_of_a_scalar_function_of_many_is_the_gradient_by_reverse_mode() -> None:
    jac = jacobian(lambda v: v[0] * v[1] * v[2])([2.0, 3.0, 4.0])  # one output, three inputs
    assert jac == [12.0, 8.0, 6.0]


def test_jacobian_of_arrays_has_shape_out_by_in() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([0.5, -1.0])
    jac = jacobian(lambda x: a @ x)(x)  # a linear map: its Jacobian is a itself
    assert isinstance(jac, np.ndarray) and jac.shape == (2, 2)
    np.testing.assert_array_equal(jac, a)
    jac = jacobian(lambda m: m * m)(np.array([[1.0, 2.0]]))
    assert jac.shape == (1, 2, 1, 2)
    assert jac[0, 1, 0, 1] == 4.0 and jac[0, 0, 0, 1] == 0.0


def test_jacobian_of_one_scalar_is_a_number() -> None:
    assert jacobian(lambda x: x.tanh())(0.0) == 1.0


def test_jacobian_over_two_arguments_gives_a_tuple() -> None:
    jac = jacobian(lambda x, y: [x * y, x - y], argnums=(0, 1))(2.0, 5.0)
    assert jac == ([5.0, 1.0], [2.0, -1.0])


def test_hessian_of_one_scalar_is_a_number() -> None:
    assert hessian(lambda x: x**4)(2.0) == 48.0  # 12x²


def test_hessian_of_a_quadratic_form_is_its_symmetric_matrix() -> None:
    # f = ½ xᵀ A x with A symmetric: H = A
    a = np.array([[2.0, -1.0, 0.5], [-1.0, 3.0, 0.0], [0.5, 0.0, 1.0]])
    h = hessian(lambda x: 0.5 * (x @ (a @ x)))(np.array([0.3, -0.2, 0.7]))
    assert isinstance(h, np.ndarray) and h.shape == (3, 3)
    np.testing.assert_allclose(h, a, rtol=0, atol=1e-15)


def test_hessian_of_the_rosenbrock_function_is_its_closed_form() -> None:
    def rosenbrock(v: list[Any]) -> Any:
        return (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] ** 2) ** 2

    x, y = 0.5, 1.5
    expected = [[2.0 - 400.0 * y + 1200.0 * x**2, -400.0 * x], [-400.0 * x, 200.0]]
    h = hessian(rosenbrock)([x, y])
    np.testing.assert_allclose(h, expected, rtol=1e-13)


def test_hessian_matches_central_differences_of_the_gradient() -> None:
    def f(v: list[Any]) -> Any:
        return (v[0] * v[1]).sin() + v[1].exp() / (1.0 + v[0] ** 2)

    at = [0.4, -0.3]
    h = hessian(f)(at)
    gradient = grad(f)
    for j in range(2):
        column = [
            central_difference(lambda p, i=i: gradient(list(p))[i], at, j) for i in range(2)
        ]
        np.testing.assert_allclose([h[0][j], h[1][j]], column, rtol=1e-6)


def test_hessian_with_two_argnums_gives_the_blocks() -> None:
    # f = x·y²: f_xx = 0, f_xy = 2y, f_yy = 2x
    h = hessian(lambda x, y: x * y * y, argnums=(0, 1))(1.5, 2.0)
    assert h == ((0.0, 4.0), (4.0, 3.0))


def test_third_derivative_through_grad_of_hessian() -> None:
    assert grad(lambda x: hessian(lambda y: y**4)(x))(1.0) == 24.0  # 24x


def test_hessian_inside_no_grad_is_still_right() -> None:
    with no_grad():
        assert hessian(lambda x: x**3)(2.0) == 12.0


def test_jacobian_refuses_an_output_that_is_not_numbers() -> None:
    with pytest.raises(TypeError, match="must return numbers or Values"):
        jacobian(lambda x: "text")(1.0)


# -- properties over random expression trees -------------------------------------------------


@settings(max_examples=60)
@given(expressions(variables=2), st.floats(-2.0, 2.0), st.floats(-2.0, 2.0))
def test_jvp_is_the_gradient_dotted_with_the_tangent(
    expression: Expression, u: float, w: float
) -> None:
    def f(x: Any, y: Any) -> Any:
        return expression.engine([x, y])

    x, y = expression.inputs
    value, tangent = jvp(f, (x, y), (u, w))
    _, (gx, gy) = value_and_grad(f, argnums=(0, 1))(x, y)
    assert value == pytest.approx(expression.reference(), rel=1e-9, abs=1e-12)
    assume(all(math.isfinite(t) for t in (tangent, gx, gy)))
    assert tangent == pytest.approx(gx * u + gy * w, rel=1e-9, abs=1e-9)


@settings(max_examples=40)
@given(expressions(variables=2, max_depth=3))
def test_hessian_is_symmetric_and_matches_differences(expression: Expression) -> None:
    def f(v: Any) -> Any:
        return expression.engine([v[0], v[1]])

    at = list(expression.inputs)
    h = hessian(f)(at)
    assume(all(math.isfinite(d) for row in h for d in row))
    assert h[0][1] == pytest.approx(h[1][0], rel=1e-9, abs=1e-9)
    gradient = grad(f)
    for i in range(2):
        for j in range(2):
            numeric = central_difference(lambda p, i=i: gradient(list(p))[i], at, j)
            assert h[i][j] == pytest.approx(numeric, rel=1e-4, abs=1e-4)


# -- torch.func, where torch is installed ---------------------------------------------------

def _torch() -> Any:
    return pytest.importorskip("torch", reason="torch is an optional cross-check")


CASES: list[tuple[str, Callable[[Any], Any], Callable[[Any], Any]]] = [
    (
        "sigmoid of a product",
        lambda v: (v[0] * v[1]).sigmoid() * v[2],
        lambda t: (t[0] * t[1]).sigmoid() * t[2],
    ),
    (
        "log, sqrt and division",
        lambda v: (v[0] * v[0] + 1.0).log() / (v[1] * v[1] + v[2] * v[2]).sqrt(),
        lambda t: (t[0] * t[0] + 1.0).log() / (t[1] * t[1] + t[2] * t[2]).sqrt(),
    ),
    (
        "tanh, sin, cos and a power",
        lambda v: (v[0] + v[1].sin()).tanh() * v[2].cos() ** 3,
        lambda t: (t[0] + t[1].sin()).tanh() * t[2].cos() ** 3,
    ),
]
POINT = [0.3, -0.8, 1.7]
DIRECTION = [0.5, 1.0, -2.0]


# torch's forward mode loads modules on first use that warn about torch's own deprecations.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("name, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_jvp_hessian_and_jacobian_agree_with_torch_func(
    name: str, ours: Callable[[Any], Any], theirs: Callable[[Any], Any]
) -> None:
    torch = _torch()
    point = torch.tensor(POINT, dtype=torch.float64)
    direction = torch.tensor(DIRECTION, dtype=torch.float64)
    value, tangent = torch.func.jvp(theirs, (point,), (direction,))
    assert jvp(ours, (POINT,), (DIRECTION,)) == pytest.approx(
        (value.item(), tangent.item()), rel=1e-12
    )
    expected = torch.func.hessian(theirs)(point).tolist()
    np.testing.assert_allclose(hessian(ours)(POINT), expected, rtol=1e-12, atol=1e-14)

    def vector(v: Any) -> Any:
        return [ours(v), ours(v[::-1])]

    expected = torch.func.jacrev(lambda t: torch.stack([theirs(t), theirs(t.flip(0))]))(point)
    np.testing.assert_allclose(jacobian(vector)(POINT), expected.tolist(), rtol=1e-12)
