"""numerical_grad, gradcheck (also against a deliberately wrong rule) and compare."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_gd import GradcheckError, Value, compare, gradcheck, numerical_grad
from tinygrad_gd._support.tables import format_table
from tinygrad_gd.core.ops import SIN, Op


def wrong_sin_rule() -> Op:
    """sin whose rule claims d sin(a)/da = sin(a): the checker must catch it."""
    return Op("sin", 1, math.sin, np.sin, lambda a, out: (SIN(a),), "sin({0})")


# -- numerical_grad ----------------------------------------------------------------------


def test_numerical_grad_matches_analytic_derivatives() -> None:
    assert numerical_grad(lambda x: x**3, 2.0) == pytest.approx(12.0, rel=1e-9)
    assert numerical_grad(math.sin, 0.7) == pytest.approx(math.cos(0.7), rel=1e-9)
    dx, dy = numerical_grad(lambda x, y: x * math.exp(y), 1.5, -0.5)
    assert (dx, dy) == (pytest.approx(math.exp(-0.5)), pytest.approx(1.5 * math.exp(-0.5)))


def test_numerical_grad_keeps_the_shape_of_array_arguments() -> None:
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    gradient = numerical_grad(lambda m: float((m**2).sum()), a)
    assert gradient.shape == (2, 2)
    np.testing.assert_allclose(gradient, 2 * a, rtol=1e-8)
    np.testing.assert_array_equal(a, [[1.0, 2.0], [3.0, 4.0]])  # not changed in place


def test_numerical_grad_reads_a_value_result_and_a_one_entry_array() -> None:
    assert numerical_grad(lambda x: Value(x) * 2, 1.0) == pytest.approx(2.0)
    assert numerical_grad(lambda x: np.array([x * 3]), 1.0) == pytest.approx(3.0)


def test_numerical_grad_error_shrinks_with_eps_squared() -> None:
    # Central differences: error ≈ eps² f'''(x) / 6; for exp at 0 that is eps² / 6.
    for eps in (1e-2, 1e-3):
        error = numerical_grad(math.exp, 0.0, eps=eps) - 1.0
        assert error == pytest.approx(eps**2 / 6, rel=1e-2)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        ((), {}, TypeError, "at least one argument"),
        ((True,), {}, TypeError, "argument 0 must be a real number"),
        (("1.0",), {}, TypeError, "argument 0 must be a real number"),
        (([],), {}, TypeError, "non-empty array"),
        (([[1.0], [2.0, 3.0]],), {}, TypeError, "argument 0"),
        ((1.0, math.nan), {}, ValueError, "argument 1 must be finite"),
        ((Value(1.0),), {}, TypeError, "argument 0 is a Value"),
        ((1.0,), {"eps": 0.0}, ValueError, "eps must be a positive finite number"),
        ((1.0,), {"eps": "small"}, TypeError, "eps must be a real number"),
    ],
    ids=["none", "bool", "str", "empty", "ragged", "nan", "value", "eps zero", "eps str"],
)
def test_numerical_grad_rejects_bad_arguments(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        numerical_grad(lambda *a: 0.0, *args, **kwargs)


def test_numerical_grad_needs_a_scalar_result() -> None:
    with pytest.raises(TypeError, match="must return a scalar"):
        numerical_grad(lambda x: [x, x], 1.0)


# -- gradcheck ------------------------------------------------------------------------------


def test_gradcheck_passes_on_correct_gradients() -> None:
    assert gradcheck(lambda x: (x * 0.1).sigmoid(), 0.5) is True
    assert gradcheck(lambda w, x: (w @ x).tanh(), [0.5, -0.2], [1.0, 2.0]) is True
    assert gradcheck(lambda m: (m * m).sum().log(), [[1.0, 2.0], [3.0, 0.5]]) is True
    assert gradcheck(lambda x, y: x**y, 1.7, 0.3) is True


def test_gradcheck_catches_a_wrong_rule_with_a_table_naming_the_argument() -> None:
    bad_sin = wrong_sin_rule()

    def f(x: Value, w: np.ndarray) -> Value:
        return Value.apply(bad_sin, x * w[1]) + w[0]

    with pytest.raises(GradcheckError) as caught:
        gradcheck(f, 0.5, [1.0, 2.0])
    message = str(caught.value)
    assert message.splitlines()[0].startswith("gradcheck of f: the automatic gradient differs")
    assert "parameter  automatic" in message and "numerical" in message
    report = caught.value.report
    rows = {row.name: row for row in report.rows}
    assert set(rows) == {"x", "w[0]", "w[1]"}
    # The wrong rule gives sin(u)·du; the truth is cos(u)·du, u = x·w1 = 1.
    assert rows["x"].first == pytest.approx(math.sin(1.0) * 2.0, rel=1e-12)
    assert rows["x"].second == pytest.approx(math.cos(1.0) * 2.0, rel=1e-6)
    assert rows["w[1]"].second == pytest.approx(math.cos(1.0) * 0.5, rel=1e-6)
    assert rows["w[0]"].passed and not rows["x"].passed and not rows["w[1]"].passed
    assert any(line.startswith("x ") and line.endswith("differs") for line in message.splitlines())


def test_gradcheck_names_star_args() -> None:
    with pytest.raises(GradcheckError, match=r"args\[1\]"):
        gradcheck(lambda *args: Value.apply(wrong_sin_rule(), args[0] * args[1]), 1.0, 2.0)


def test_gradcheck_of_a_constant_is_zero_both_ways() -> None:
    assert gradcheck(lambda x: 3.0, 1.0) is True


def test_gradcheck_tolerances_are_validated() -> None:
    with pytest.raises(ValueError, match="atol must be 0 or more"):
        gradcheck(lambda x: x, 1.0, atol=-1.0)
    with pytest.raises(TypeError, match="rtol must be a real number"):
        gradcheck(lambda x: x, 1.0, rtol="tight")


def test_gradcheck_records_no_graph_for_the_numerical_side() -> None:
    made: list[Value] = []

    def f(x: Value) -> Value:
        y = x * 2
        made.append(y)
        return y

    gradcheck(f, 1.0)
    recorded = [node for node in made if node.parents]
    assert len(recorded) == 1  # the automatic call; the four numerical calls record nothing


# -- compare -----------------------------------------------------------------------------


def test_compare_passes_within_tolerance_and_fails_beyond() -> None:
    # Default tolerance at 2.0: 1e-10 + 1e-7 · 2 = 2.001e-7, so 1e-6 fails and 1e-7 passes.
    report = compare({"a": [1.0, 2.0], "b": 3.0}, {"a": [1.0 + 1e-7, 2.0 + 1e-6], "b": 3.0})
    assert [row.name for row in report.rows] == ["a[0]", "a[1]", "b"]
    assert [row.passed for row in report.rows] == [True, False, True]
    assert report.rows[1].abs_diff == pytest.approx(1e-6, rel=1e-6)
    assert report.rows[1].rel_diff == pytest.approx(5e-7, rel=1e-6)
    assert not report.passed
    assert compare([1.0, 2.0], [1.0, 2.0 + 1e-6], rtol=1e-6).passed


def test_compare_relative_difference_against_zero() -> None:
    report = compare([0.0, 1e-3], [0.0, 0.0])
    assert report.rows[0].rel_diff == 0.0 and report.rows[1].rel_diff == math.inf
    assert not report.rows[1].passed


def test_compare_fails_nan() -> None:
    assert not compare(math.nan, 1.0).passed
    assert not compare(1.0, math.nan).passed


def test_compare_passes_the_same_infinity_and_fails_any_other_value() -> None:
    inf = math.inf
    report = compare([inf, -inf, 1.0, -inf], [inf, -inf, inf, inf])
    assert [row.passed for row in report.rows] == [True, True, False, False]
    assert [row.abs_diff for row in report.rows] == [0.0, 0.0, inf, inf]
    assert [row.rel_diff for row in report.rows] == [0.0, 0.0, inf, inf]
    assert str(compare(inf, inf)).splitlines()[1].split() == [
        "w", "inf", "inf", "0.0e+00", "0.0e+00", "ok",
    ]  # fmt: skip


def test_compare_prints_a_table_with_labels() -> None:
    text = str(compare({"w": 0.25}, {"w": 0.5}, labels=("published", "correct")))
    lines = text.splitlines()
    assert lines[0].split() == ["parameter", "published", "correct", "abs", "diff", "rel", "diff"]
    assert lines[1].split() == ["w", "0.25", "0.5", "2.5e-01", "5.0e-01", "differs"]
    assert (
        lines[2] == "largest abs diff 2.5e-01; 1 of 1 entries differ beyond atol=1e-10, rtol=1e-07"
    )


def test_compare_format_shows_failures_first_and_counts_the_rest() -> None:
    report = compare(list(range(20)), [*range(19), 99])
    lines = report.format(max_rows=3).splitlines()
    assert lines[1].startswith("w[19]") and lines[1].endswith("differs")
    assert lines[4] == "... 17 more entries"


@pytest.mark.parametrize(
    "manual, automatic, error, message",
    [
        ({"a": 1.0}, {"b": 1.0}, ValueError, "name different parameters"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], ValueError, r"w has shape \(2,\) in manual but \(3,\)"),
        ("0.1", 0.1, TypeError, "w in manual must be a number or an array"),
        ((np.zeros(2), np.zeros(3)), 0.0, TypeError, "pass a dict"),
        ({1: 0.1}, {1: 0.1}, TypeError, "parameter names must be str"),
    ],
    ids=["keys", "shapes", "str", "ragged", "key type"],
)
def test_compare_rejects_mismatched_sides(
    manual: object, automatic: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        compare(manual, automatic)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"labels": ("a",)}, r"labels must be a pair of str \(first, second\), got \('a',\)"),
        ({"labels": ["a", "b"]}, r"labels must be a pair of str .* got \['a', 'b'\]"),
        ({"labels": ("a", 2)}, r"labels must be a pair of str .* got \('a', 2\)"),
        ({"name": 3}, "name must be a str, got int: 3"),
    ],
    ids=["one label", "list", "not str", "name"],
)
def test_compare_names_a_bad_option(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        compare(1.0, 1.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical"])
def test_a_function_that_is_not_callable_is_named(check: object) -> None:
    name = check.__name__  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=rf"^{name}: f must be callable, got int: 3$"):
        check(3, 1.0)  # type: ignore[operator]


def test_gradcheck_refuses_a_bad_eps_before_differentiating() -> None:
    calls: list[object] = []
    with pytest.raises(ValueError, match="eps must be a positive finite number, got -1"):
        gradcheck(lambda x: calls.append(x) or x, 1.0, eps=-1.0)
    assert calls == []


def test_format_table_pads_columns() -> None:
    assert format_table([("a", "bb", "c"), ("xyz", "1", "")]) == "a    bb  c\nxyz  1"


def test_gradcheck_of_a_math_function_on_a_value_says_to_write_the_op() -> None:
    # math.exp(x) leaves the graph: its automatic gradient would be a silent 0 · ...
    with pytest.raises(TypeError, match=r"x\.exp\(\)"):
        gradcheck(lambda x: x * math.exp(x), 1.0)
    assert gradcheck(lambda x: x * x.exp(), 1.0)
