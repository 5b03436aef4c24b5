"""custom_op: a user's op in backward at any order, in explain, to_dot and compile.

The reference is softplus, log(1 + eˣ), whose derivatives are known in
closed form: σ(x), σ(x)(1 - σ(x)), σ(x)(1 - σ(x))(1 - 2σ(x)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from strategies import central_difference

from tinygrad_gd import (
    Value,
    compile,
    custom_op,
    explain,
    grad,
    gradcheck,
    hessian,
    jvp,
    to_dot,
)
from tinygrad_gd.core.ops import LOG, SIGMOID, SIGN, custom_op_names, is_custom


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _softplus(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


SOFTPLUS = custom_op("softplus_test", _softplus, lambda a, out: (SIGMOID(a),))
# A two-operand op: a·log(b), with its partials (log b, a/b).
ALOGB = custom_op(
    "alogb_test",
    lambda a, b: a * math.log(b),
    lambda a, b, out: (LOG(b), a / b),
    notation="{0}·ln({1})",
)


@pytest.mark.parametrize("x", [-3.0, -0.5, 0.0, 0.7, 4.0])
def test_softplus_derivatives_to_third_order_are_the_closed_forms(x: float) -> None:
    s = _sigma(x)
    assert SOFTPLUS(x) == pytest.approx(math.log(1 + math.exp(x)), rel=1e-15)
    assert grad(SOFTPLUS)(x) == pytest.approx(s, rel=1e-15)
    assert grad(grad(SOFTPLUS))(x) == pytest.approx(s * (1 - s), rel=1e-14)
    assert grad(grad(grad(SOFTPLUS)))(x) == pytest.approx(s * (1 - s) * (1 - 2 * s), abs=1e-14)


def test_softplus_backward_on_a_graph_matches_central_differences() -> None:
    w = Value(0.3)
    y = SOFTPLUS(w * 2.0 - 1.0) * w
    y.backward()

    def f(p: list[float]) -> float:
        return _softplus(p[0] * 2.0 - 1.0) * p[0]

    assert w.grad == pytest.approx(central_difference(f, [0.3], 0), rel=1e-8)
    assert gradcheck(lambda w: SOFTPLUS(w * 2.0 - 1.0) * w, 0.3)


def test_a_two_operand_op_in_backward_jvp_and_hessian() -> None:
    a, b = 1.5, 2.0
    assert ALOGB(a, b) == a * math.log(b)
    assert grad(ALOGB, argnums=(0, 1))(a, b) == (math.log(b), a / b)
    assert jvp(ALOGB, (a, b), (1.0, 1.0))[1] == pytest.approx(math.log(b) + a / b, rel=1e-15)
    # H = [[0, 1/b], [1/b, -a/b²]]
    h = hessian(lambda v: ALOGB(v[0], v[1]))([a, b])
    np.testing.assert_allclose(h, [[0.0, 1 / b], [1 / b, -a / b**2]], rtol=1e-15)


def test_on_arrays_the_op_runs_elementwise() -> None:
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_allclose(SOFTPLUS(x), np.log1p(np.exp(x)), rtol=1e-15)


def test_explain_and_to_dot_print_the_op_with_its_notation() -> None:
    x = Value(2.0, label="x")
    y = ALOGB(x, x) * 3.0
    text = str(explain(y, x))
    assert "y ← x·ln(x) ← x" in text and "log(x)" in text and "x / x" in text
    assert "d y / d x = 5.079441542" in text  # 3 (ln 2 + 1)
    dot = to_dot(y)
    assert "·ln(" in dot
    text = str(explain(SOFTPLUS(x * x), x))
    assert "sigmoid(x * x)" in text  # the rule, printed through the table's sigmoid


def test_compile_calls_the_op_by_its_name_on_floats_and_arrays() -> None:
    fast = compile(lambda w, x: (SOFTPLUS(w * x) - 1.0) ** 2)
    assert "softplus_test(" in fast.source
    value, gradient = fast(0.5, 2.0)
    p = _softplus(1.0)
    assert value == pytest.approx((p - 1.0) ** 2, rel=1e-15)
    assert gradient == pytest.approx(2 * (p - 1.0) * _sigma(1.0) * 2.0, rel=1e-14)
    values, gradients = fast(0.5, np.array([2.0, -1.0]))
    assert values[1] == pytest.approx((_softplus(-0.5) - 1.0) ** 2, rel=1e-15)
    assert gradients[1] == pytest.approx(2 * (_softplus(-0.5) - 1.0) * _sigma(-0.5) * -1, rel=1e-14)


def test_compiled_code_never_holds_the_notation_text() -> None:
    tricky = custom_op("tricky_test", abs, lambda a, out: (1.0,), notation="__import__({0})")
    fast = compile(lambda x: tricky(x) * 2.0)
    assert "__import__" not in fast.source and "tricky_test(x)" in fast.source
    assert fast(-3.0) == (6.0, 2.0)
    x = Value(1.0, label="x")
    assert "__import__(x)" in str(explain(tricky(x) * 2.0, x))  # display text, never run


def test_a_label_named_like_the_op_does_not_shadow_it() -> None:
    fast = compile(lambda softplus_test: SOFTPLUS(softplus_test))
    assert fast(0.0) == (math.log(2.0), 0.5)


def test_an_op_registered_again_replaces_the_old_one_for_compile() -> None:
    first = custom_op("replaced_test", math.exp, lambda a, out: (out,))
    x = Value(0.0)
    old_graph = first(x)
    second = custom_op("replaced_test", math.exp, lambda a, out: (out,))
    assert not is_custom(first) and is_custom(second)
    assert grad(first)(0.0) == 1.0  # the old op still computes
    with pytest.raises(TypeError, match="registered again"):
        compile(lambda v: first(v))(0.0)
    assert compile(lambda v: second(v))(0.0) == (1.0, 1.0)
    assert old_graph.data == 1.0


@pytest.mark.parametrize(
    "name, match",
    [
        ("sigmoid", "taken"),
        ("pow", "taken"),
        ("inf", "taken"),
        ("_private", "taken"),
        ("lambda", "taken"),
        ("two words", "identifier"),
        ("naïve", "identifier"),
        (3, "identifier"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_is_registered(name: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        custom_op(name, abs, lambda a, out: (1.0,))
    assert name not in custom_op_names() and is_custom(SOFTPLUS)


@pytest.mark.parametrize(
    "partials, notation, match",
    [
        (lambda out: (), None, "one or two operands"),
        (lambda a, b, c, out: (1, 1, 1), None, "one or two operands"),
        (lambda *args: (1.0,), None, "plain parameters"),
        (lambda a, out: (1.0,), "f({1})", "notation"),
        (lambda a, out: (1.0,), "f({0!r})", "notation"),
        (lambda a, out: (1.0,), "f({0.real})", "notation"),
        (lambda a, out: (1.0,), "f({0", "notation"),
        (lambda a, out: (1.0,), "constant", "notation"),
        (lambda a, out: (1.0,), 3, "notation"),
        ("not callable", None, "callable"),
    ],
)
def test_bad_partials_or_notation_are_refused(partials: Any, notation: Any, match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        custom_op("refused_test", abs, partials, notation)
    assert "refused_test" not in custom_op_names()


def test_partials_returning_the_wrong_count_is_named() -> None:
    wrong = custom_op("wrong_count_test", abs, lambda a, out: (1.0, 2.0))
    with pytest.raises(TypeError, match=r"'wrong_count_test': partials must return a tuple of 1"):
        grad(wrong)(1.0)


def test_a_name_the_generated_code_uses_is_refused_by_compile() -> None:
    steps = custom_op("steps", abs, lambda a, out: (SIGN(a),))
    assert grad(steps)(-2.0) == -1.0
    with pytest.raises(TypeError, match="'steps' is one the code uses"):
        compile(lambda x: steps(x))(1.0)


def test_a_domain_edge_gives_nan_on_arrays_not_an_error() -> None:
    root = custom_op("root_test", math.sqrt, lambda a, out: (0.5 / out,))
    np.testing.assert_array_equal(np.isnan(root(np.array([4.0, -1.0]))), [False, True])
    assert math.isnan(root(-1.0))
