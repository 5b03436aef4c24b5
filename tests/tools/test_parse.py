"""parse(): formulas from text, checked against a whitelist and never evaluated by Python."""

from __future__ import annotations

import builtins
import importlib
import inspect
import math
import operator
from types import SimpleNamespace as Namespace
from typing import Any

import numpy as np
import pytest
from helpers import sigmoid
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_gd import Value, detect_anomaly, grad, gradients, parse
from tinygrad_gd.core import ops
from tinygrad_gd.tools.parse import FUNCTIONS, MAX_DEPTH, MAX_LENGTH, parse_point

# -- what a formula computes --------------------------------------------------------


def test_variables_are_in_order_of_first_appearance() -> None:
    assert parse("sigmoid(w*x) - t").variables == ("w", "x", "t")
    assert parse("t - sigmoid(x*w) + w * t").variables == ("t", "x", "w")
    assert parse("2 + 3").variables == ()


def test_the_tutorial_error_and_its_gradient() -> None:
    error = parse("(sigmoid(w * x) - t) ** 2")
    predicted = sigmoid(0.5 * 0.1)
    assert error(0.5, 0.1, 0.3) == pytest.approx((predicted - 0.3) ** 2, rel=1e-15)
    by_hand = 2 * (predicted - 0.3) * predicted * (1 - predicted) * 0.1
    assert grad(error)(0.5, 0.1, 0.3) == pytest.approx(by_hand, rel=1e-12)
    assert grad(error)(0.5, 0.1, 0.3) == pytest.approx(0.0106182320, abs=1e-10)


def test_arguments_by_position_or_by_name() -> None:
    f = parse("a - b / c")
    assert f(1.0, 6.0, 3.0) == f(c=3.0, a=1.0, b=6.0) == f(1.0, c=3.0, b=6.0) == -1.0
    assert str(inspect.signature(f)) == "(a, b, c)"


def test_any_variable_name_may_be_passed_by_name() -> None:
    # Formula.__call__'s own parameter names must not capture a variable's name.
    f = parse("self + args * kwargs")
    assert f(self=1.0, args=2.0, kwargs=3.0) == f(1.0, 2.0, 3.0) == 7.0
    assert grad(f)(1.0, 2.0, 3.0) == 1.0
    with pytest.raises(TypeError, match="got two values for 'self'"):
        f(1.0, 2.0, 3.0, self=1.0)


def test_works_on_values_floats_ints_and_arrays() -> None:
    f = parse("x * x + 3 * y")
    assert f(2, 1) == 7.0 and isinstance(f(2, 1), float)
    x = Value(2.0)
    y = f(x, 1.0)
    assert isinstance(y, Value)
    y.backward()
    assert x.grad == 4.0
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]), 0.5), [2.5, 5.5])


def test_second_derivatives_through_nested_grad() -> None:
    cube = parse("x ** 3 + sin(x)")
    assert grad(grad(cube))(2.0) == pytest.approx(12.0 - math.sin(2.0), rel=1e-14)


def test_operator_precedence_and_associativity_follow_python() -> None:
    assert parse("-x ** 2")(3.0) == -9.0
    assert parse("2 ** x ** 2")(3.0) == 512.0  # right to left
    assert parse("x - y - z")(10.0, 3.0, 2.0) == 5.0
    assert parse("x / y / z")(12.0, 3.0, 2.0) == 2.0
    assert parse("x + y * z")(1.0, 2.0, 3.0) == 7.0
    assert parse("+x - -y")(1.0, 2.0) == 3.0


def test_every_function_the_table_writes_as_a_call() -> None:
    references = {
        "abs": abs, "cos": math.cos, "exp": math.exp, "log": math.log,
        "relu": lambda a: max(a, 0.0), "sigmoid": sigmoid, "sign": lambda a: math.copysign(1, a),
        "sin": math.sin, "sqrt": math.sqrt, "step": lambda a: float(a > 0), "tanh": math.tanh,
    }  # fmt: skip
    assert set(references) <= set(FUNCTIONS)
    for name, reference in references.items():
        assert parse(f"{name}(x)")(0.7) == pytest.approx(reference(0.7), rel=1e-15), name
    for name, op in FUNCTIONS.items():  # rows added later are callable with their arity
        arguments = ", ".join(["x"] * op.arity)
        assert parse(f"{name}({arguments})")(0.7) == op(*[0.7] * op.arity), name


def test_a_constant_exponent_differentiates_like_value_pow() -> None:
    # x ** 2 must be the row x**2, not x ** Value(2): the latter's partial for the
    # exponent, out * log(x), is nan at x < 0 and would trip detect_anomaly.
    with detect_anomaly():
        assert grad(parse("x ** 2"))(-3.0) == -6.0
        assert grad(parse("x ** (1 + 1)"))(-3.0) == -6.0
    base, exponent = Value(2.0), Value(3.0)
    y = parse("b ** e")(base, exponent)
    assert gradients(y, [base, exponent]) == pytest.approx((12.0, 8.0 * math.log(2.0)))
    assert grad(parse("2 ** x"))(3.0) == pytest.approx(8.0 * math.log(2.0))


def test_arithmetic_on_numbers_alone_is_done_once_when_parsing() -> None:
    x = Value(3.0)
    y = parse("x * (1 / 4 + 2 ** -1)")(x)
    assert y.op is not None and y.op.name == "mul"
    assert y.parents[1].op is None and y.parents[1].data == 0.75
    assert parse("2 * 3 + 1")() == 7.0


def test_variables_follow_ieee_arithmetic() -> None:
    assert parse("x + 1 / y")(1.0, 0.0) == math.inf
    assert math.isnan(parse("log(y) * x")(x=1.0, y=-1.0))
    assert parse("log(x)")(0.0) == -math.inf


@given(
    left=st.floats(allow_nan=False, allow_infinity=False),
    right=st.floats(allow_nan=False, allow_infinity=False),
    symbol=st.sampled_from(["+", "-", "*", "/"]),
)
def test_a_constant_is_finite_so_the_printed_formula_reads_back(
    left: float, right: float, symbol: str
) -> None:
    """One rule for every constant, written or computed: finite, or a ValueError."""
    text = f"x * ({left!r} {symbol} {right!r})"
    try:  # Python's own float arithmetic is the reference
        constant = {"+": operator.add, "-": operator.sub, "*": operator.mul}.get(
            symbol, operator.truediv
        )(left, right)
    except ZeroDivisionError:
        constant = math.nan
    if not math.isfinite(constant):
        with pytest.raises(ValueError, match="numbers alone give .*constants are finite"):
            parse(text)
        return
    f = parse(text)
    again = parse(str(f))
    assert again.variables == ("x",) and str(again) == str(f)
    assert again(1.0) == f(1.0) == constant


def test_an_exponent_of_minus_zero_is_x_to_the_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    # power() makes one row per exponent, keyed by the float, and -0.0 == 0.0: whichever
    # came first named both. A fresh table makes x ** -0.0 come first, as in a new process.
    monkeypatch.setattr(ops, "_POWER_ROWS", {})
    monkeypatch.setattr(ops, "_ROWS", set(ops.OPS))
    minus_zero = parse("x ** -0.0")
    assert str(parse("x ** 0")) == str(minus_zero) == "x ** 0"
    assert minus_zero(0.0) == 1.0 and grad(minus_zero)(0.0) == 0.0


def test_str_prints_the_formula_canonically_and_reads_back() -> None:
    text = "( sigmoid( w*x )-t )**2 / 2"
    f = parse(text)
    assert str(f) == "(sigmoid(w * x) - t) ** 2 / 2"
    assert repr(f) == f"parse({text!r})"
    again = parse(str(f))
    assert again.variables == f.variables
    assert again(0.3, -1.2, 0.4) == f(0.3, -1.2, 0.4)
    assert str(parse("1 + 2")) == "3"


def test_unicode_names_and_surrounding_whitespace() -> None:
    f = parse("  η * x\t")
    assert f.variables == ("η", "x")
    assert f(0.5, 4.0) == 2.0


def test_boundaries_of_the_limits_are_accepted() -> None:
    assert parse("x ** 1000")(1.0) == 1.0
    assert parse("x ** -1000")(1.0) == 1.0
    assert parse("-" * (MAX_DEPTH - 1) + "x")(2.0) == -2.0  # MAX_DEPTH nodes deep
    long_sum = "+".join(["x"] * (MAX_DEPTH // 2)) + " " * (MAX_LENGTH - MAX_DEPTH + 1)
    assert len(long_sum) == MAX_LENGTH
    assert parse(long_sum)(1.0) == MAX_DEPTH // 2


# -- calling a formula wrongly ----------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1.0,), {}, "missing a value for y"),
        ((1.0, 2.0, 3.0), {}, "takes 2 arguments (x, y) but 3 were given"),
        ((1.0, 2.0), {"z": 1.0}, "has no variable 'z'"),
        ((1.0,), {"x": 2.0}, "got two values for 'x'"),
        ((1.0, "2"), {}, "variable 'y' needs a number, a Value or a numpy array, got str"),
        ((1.0, None), {}, "got NoneType"),
    ],
)
def test_a_wrong_call_is_a_type_error_naming_the_variable(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError) as caught:
        parse("x + y")(*args, **kwargs)
    assert message in str(caught.value)


def test_a_formula_without_variables_takes_no_arguments() -> None:
    assert parse("2 * 3")() == 6.0
    with pytest.raises(TypeError, match=r"takes 0 arguments \(\) but 1 was given$"):
        parse("2 * 3")(1.0)


# -- what a formula may not hold ----------------------------------------------------

FORBIDDEN = [
    # (text, words the message must hold, the offending part, its column)
    ("x.real", "attribute access", "x.real", 1),
    ("2 * x.__class__", "attribute access", "x.__class__", 5),
    ("x[0]", "subscript", "x[0]", 1),
    ("x[1:2]", "subscript", "x[1:2]", 1),
    ("lambda: 0", "lambda", "lambda: 0", 1),
    ("[x for x in y]", "comprehension", "[x for x in y]", 1),
    ("{x for x in y}", "comprehension", "{x for x in y}", 1),
    ("{x: 1 for x in y}", "comprehension", "{x: 1 for x in y}", 1),
    ("exp(x for x in y)", "comprehension", "(x for x in y)", 4),
    ("x < y", "comparison", "x < y", 1),
    ("x and y", "'and'/'or'", "x and y", 1),
    ("x if y else z", "conditional expression", "x if y else z", 1),
    ("(y := x) * 2", "assignment", "y := x", 2),
    ("sin(*x)", "starred argument", "*x", 5),
    ("exp(x=1)", "keyword argument", "x=1", 5),
    ("exp(**x)", "keyword argument", "**x", 5),
    ("f'{x}'", "f-string", "f'{x}'", 1),
    ("x, y", "tuple", "x, y", 1),
    ("[x]", "list", "[x]", 1),
    ("{x: y}", "dict", "{x: y}", 1),
    ("{x}", "set", "{x}", 1),
    ("await x", "await", "await x", 1),
    ("x + 'a'", "string", "'a'", 5),
    ("x + b'a'", "string", "b'a'", 5),
    ("x * 2j", "complex number", "2j", 5),
    ("True * x", "constant True", "True", 1),
    ("x + None", "constant None", "None", 5),
    ("x + ...", "constant Ellipsis", "...", 5),
    ("__import__", "names starting with '__' are reserved", "__import__", 1),
    ("x + __builtins__", "names starting with '__' are reserved", "__builtins__", 5),
    ("__import__('os')", "names starting with '__' are reserved", "__import__", 1),
    ("foo(x)", "unknown function", "foo", 1),
    ("x.exp()", "attribute access", "x.exp", 1),
    ("exp(x)(y)", "calling what a call returns", "exp(x)", 1),
    ("(x)(y)", "unknown function", "x", 2),
    ("exp", "function without a call (write exp(...))", "exp", 1),
    ("1 + exp(x, y)", "exp takes 1 argument, got 2", "exp(x, y)", 5),
    ("sigmoid()", "sigmoid takes 1 argument, got 0", "sigmoid()", 1),
    ("x ^ 2", "operator ^ (a power is written **)", "x ^ 2", 1),
    ("x // 2", "operator //", "x // 2", 1),
    ("x % 2", "operator %", "x % 2", 1),
    ("x @ y", "operator @", "x @ y", 1),
    ("x << 1", "operator <<", "x << 1", 1),
    ("x >> 1", "operator >>", "x >> 1", 1),
    ("x & y", "operator &", "x & y", 1),
    ("x | y", "operator |", "x | y", 1),
    ("~x", "operator ~", "~x", 1),
    ("not x", "operator 'not'", "not x", 1),
    ("2 ** 10 ** 10", "exponent 10000000000 is beyond ±1000", "10 ** 10", 6),
    ("x ** 1001", "exponent 1001 is beyond ±1000", "1001", 6),
    ("x ** -1e4", "exponent -10000 is beyond ±1000", "-1e4", 6),
    ("x + 1e400", "number too large for a float", "1e400", 5),
    ("x + 10**400", "numbers alone give inf; a formula's constants are finite", "10**400", 5),
    ("x * log(0)", "numbers alone give -inf", "log(0)", 5),
    ("x * (1 / 0)", "numbers alone give inf", "1 / 0", 6),
    ("log(-1) * x", "numbers alone give nan", "log(-1)", 1),
    ("9" * 400, "number too large for a float", "9" * 37 + "...", 1),
    ("  σ + x.y", "attribute access", "x.y", 7),  # columns count characters
]


@pytest.mark.parametrize(("text", "problem", "part", "column"), FORBIDDEN)
def test_a_forbidden_construct_is_named_with_its_column(
    text: str, problem: str, part: str, column: int
) -> None:
    with pytest.raises(ValueError) as caught:
        parse(text)
    message = str(caught.value)
    assert problem in message
    assert message.endswith(f"{part!r} at column {column}")


def test_nesting_deeper_than_the_limit() -> None:
    with pytest.raises(ValueError, match=f"nests deeper than {MAX_DEPTH} operations"):
        parse("-" * MAX_DEPTH + "x")
    with pytest.raises(ValueError, match=f"nests deeper than {MAX_DEPTH}.*column 1$"):
        parse("+".join(["x"] * (MAX_DEPTH + 1)))
    with pytest.raises(ValueError, match="too many nested parentheses"):
        parse("(" * 300 + "x" + ")" * 300)
    with pytest.raises(ValueError, match="nests deeper"):
        parse("-" * (MAX_LENGTH - 1) + "x")  # well past the limit, still no RecursionError


def test_nesting_too_deep_for_pythons_parser() -> None:
    # Each "-(-" is several levels of CPython's parser: its stack runs out (MemoryError on
    # 3.11) before the tokenizer counts 200 parentheses, and before our own depth check.
    text = "-(-" * 500
    with pytest.raises(ValueError) as caught:
        parse(text)
    assert str(caught.value) == f"formula nests too deeply to parse: {text[:40]!r}..."


@pytest.mark.parametrize("error", [RecursionError, MemoryError])
def test_nesting_too_deep_for_any_version_of_the_parser(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception]
) -> None:
    def overflowing(*args: Any, **kwargs: Any) -> None:
        raise error

    # Only the parse module's view of ast: pytest itself needs the real ast.parse.
    module = importlib.import_module("tinygrad_gd.tools.parse")
    monkeypatch.setattr(module, "ast", Namespace(parse=overflowing))
    with pytest.raises(ValueError, match=r"^formula nests too deeply to parse: '\(x\)'\.\.\.$"):
        parse("(x)")


def test_over_long_text() -> None:
    with pytest.raises(ValueError, match=f"is {MAX_LENGTH + 1} characters long; the limit"):
        parse("x" * (MAX_LENGTH + 1))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "formula is empty"),
        ("  \t ", "formula is empty"),
        ("x +", "invalid syntax: 'x +' at column"),
        ("(x", "'(' was never closed: '(x' at column 1"),
        ("  (x", "'(' was never closed: '  (x' at column 3"),
        ("x = 1", "invalid syntax"),
        ("x; y", "invalid syntax"),
        ("x\ny", r"one line of printable text: '\n' at column 2"),
        ("x\x00", r"one line of printable text: '\x00' at column 2"),
        ("x\u2028+ y", r"one line of printable text: '\u2028' at column 2"),
    ],
)
def test_text_that_is_not_a_formula(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="parse needs the formula as a str, got bytes"):
        parse(b"x")  # type: ignore[arg-type]


def test_parse_never_calls_eval_or_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("eval/exec was called")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    f = parse("sigmoid(w * x) - t")
    assert f(0.0, 1.0, 0.5) == 0.0
    assert str(f) == "sigmoid(w * x) - t"
    with pytest.raises(ValueError):
        parse("__import__('os').system('true')")


# -- reading a point: NAME=NUMBER,... ---------------------------------------------------


def test_parse_point_reads_names_and_numbers_in_variable_order() -> None:
    point = parse_point(["t = 0.3, w=0.5", " x=1e-1 "], ["w", "x", "t"])
    assert list(point.items()) == [("w", 0.5), ("x", 0.1), ("t", 0.3)]
    assert parse_point("a=-2,b=inf", ["a", "b"]) == {"a": -2.0, "b": math.inf}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w0.5,x=1", "expected NAME=NUMBER, got 'w0.5'"),
        ("=0.5,x=1", "expected NAME=NUMBER, got '=0.5'"),
        ("w=0.5,,x=1", "expected NAME=NUMBER, got ''"),
        ("w=0.5,x=1,y=2", "y is not a variable (the variables: w, x)"),
        ("w=0.5,x=1,w=2", "w is given twice"),
        ("w=0.5,x=abc", "x=abc: 'abc' is not a number"),
        ("w=0.5,x=", "x=: '' is not a number"),
        ("w=0.5", "no value for x (the variables: w, x)"),
        ("", "expected NAME=NUMBER, got ''"),
    ],
)
def test_parse_point_names_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_point(text, ["w", "x"])
    assert str(caught.value) == message
