"""The rule table, swept row by row against independent references.

Each record of ``strategies.OP_RECORDS`` (every row of ``OPS`` plus several
``power(n)`` rows) drives the same checks: the forward against ``math``, the
scalar forward against the numpy ufunc at ordinary and extreme points, the
local partials against central finite differences and against a derivative
written by hand, and the partials on Values against the partials on floats.
Then every domain edge that docs/engine.md documents, through ``Value`` as users
meet it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from strategies import OP_RECORDS, OpRecord, central_difference

import tinygrad_gd
from tinygrad_gd import Value, grad, gradients
from tinygrad_gd.core.ops import (
    ADD,
    DIV,
    OPS,
    POW,
    SIGMOID,
    TANH,
    XLOGY,
    Op,
    is_row,
    number_text,
    power,
)

inf, nan = math.inf, math.nan

sweep = pytest.mark.parametrize("record", OP_RECORDS, ids=[r.name for r in OP_RECORDS])


def same(actual: float, expected: float, rel_tol: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Equal as IEEE results: nan matches nan, infinities match exactly."""
    if math.isnan(expected):
        return math.isnan(actual)
    return math.isclose(actual, expected, rel_tol=rel_tol, abs_tol=abs_tol)


def data(x: Value | float) -> float:
    """A partial may be a plain constant (``1.0``) even when the operands are Values."""
    return x.data if isinstance(x, Value) else x


# -- the records cover the table ------------------------------------------------


def test_every_row_of_the_table_has_a_record() -> None:
    recorded = {record.op for record in OP_RECORDS}
    missing = [op.name for op in OPS if op not in recorded]
    assert missing == [], f"rows without a test record in strategies.OP_RECORDS: {missing}"


@sweep
def test_record_arity_matches_the_row(record: OpRecord) -> None:
    assert record.op.arity == record.arity == len(record.operands)
    assert len(record.points()) >= 5


# -- forward ----------------------------------------------------------------------


@sweep
def test_forward_matches_math(record: OpRecord) -> None:
    for point in record.points():
        expected = record.reference(*point)
        assert same(record.op.forward(*point), expected, rel_tol=1e-12, abs_tol=1e-15), point
        assert same(record.op(*point), expected, rel_tol=1e-12, abs_tol=1e-15), point


# Ordinary points, signed zeros, subnormal-adjacent, overflow thresholds, infinities, nan.
EXTREMES = (
    0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 1e-300, -1e-300,
    20.0, 710.0, -750.0, 1000.0, -1000.0, 1e308, -1e308, inf, -inf, nan,
)  # fmt: skip
BINARY_EXTREMES = (0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 1e-300, 1000.0, -1000.0,
                   1e308, inf, -inf, nan)  # fmt: skip


def extreme_points(record: OpRecord) -> list[tuple[float, ...]]:
    if record.arity == 1:
        return [(x,) for x in EXTREMES]
    return list(itertools.product(BINARY_EXTREMES, repeat=record.arity))


@sweep
def test_scalar_forward_equals_ufunc_everywhere(record: OpRecord) -> None:
    """evaluate never raises: it gives the ufunc's IEEE answer, also where math would raise."""
    points = extreme_points(record)
    scalars = [record.op.evaluate(*point) for point in points]
    columns = [np.array(column) for column in zip(*points, strict=True)]
    batched = record.op(*columns)  # the array path: one call over every point
    for point, scalar, in_batch in zip(points, scalars, batched, strict=True):
        with np.errstate(all="ignore"):
            expected = float(record.op.ufunc(*map(np.float64, point)))
        # math and numpy may round transcendental functions differently in the last bit.
        assert same(scalar, expected, rel_tol=4e-16), (point, scalar, expected)
        assert same(float(in_batch), expected), (point, in_batch, expected)


# -- partials ---------------------------------------------------------------------


def finite_difference_mismatches(op: Op, record: OpRecord) -> list[str]:
    """Where ``op``'s partials disagree with central differences of its forward."""
    mismatches = []
    for point in record.points():
        partials = op.partials(*point, op.evaluate(*point))
        for i, partial in enumerate(partials):
            numeric = central_difference(lambda xs: op.evaluate(*xs), point, i)
            # Central differences with a relative step h = 1e-6 err by about
            # h²·|f'''|/6 + ε·|f|/h, well below 1e-6 on these bounded domains.
            if not math.isclose(partial, numeric, rel_tol=record.rtol, abs_tol=record.rtol):
                mismatches.append(f"d{record.name}/d#{i} at {point}: {partial} vs {numeric}")
    return mismatches


@sweep
def test_partials_match_finite_differences(record: OpRecord) -> None:
    assert finite_difference_mismatches(record.op, record) == []


@sweep
def test_partials_match_the_hand_derivation(record: OpRecord) -> None:
    for point in record.points():
        partials = record.op.partials(*point, record.op.evaluate(*point))
        expected = record.derivative(*point)
        assert len(partials) == record.arity
        for partial, by_hand in zip(partials, expected, strict=True):
            # abs_tol: σ(1 - σ) at σ ≈ 1 loses its relative precision to cancellation.
            assert math.isclose(partial, by_hand, rel_tol=1e-9, abs_tol=1e-12), point


@sweep
def test_partials_on_values_equal_partials_on_floats(record: OpRecord) -> None:
    for point in record.points(per_operand=4):
        operands = [Value(x) for x in point]
        out = Value.apply(record.op, *operands)
        on_floats = record.op.partials(*point, out.data)
        on_values = record.op.partials(*operands, out)
        assert [data(p) for p in on_values] == pytest.approx(on_floats, rel=1e-12, abs=1e-300)
        first_order = gradients(out, operands)
        built = gradients(out, operands, create_graph=True)
        assert all(isinstance(d, Value) for d in built)
        assert [d.data for d in built] == pytest.approx(first_order, rel=1e-12, abs=1e-300)


def _published_sigmoid_derivative(a: float, out: float) -> tuple[float]:
    # The tutorial's parts 1-2 defect: σ' evaluated at the prediction, not at sop.
    s = SIGMOID(out)
    return (s * (1.0 - s),)


WRONG_RULES = {
    "tanh' = 1 - tanh": (TANH, lambda a, out: (1.0 - out,)),
    "d(a/b)/db sign flipped": (DIV, lambda a, b, out: (1.0 / b, out / b)),
    "sigmoid' at the prediction": (SIGMOID, _published_sigmoid_derivative),
}


@pytest.mark.parametrize("op, wrong", WRONG_RULES.values(), ids=WRONG_RULES.keys())
def test_a_wrong_rule_is_caught(op: Op, wrong: Callable[..., tuple[float, ...]]) -> None:
    record = next(r for r in OP_RECORDS if r.op is op)
    broken = dataclasses.replace(op, partials=wrong)
    assert finite_difference_mismatches(broken, record) != []
    assert finite_difference_mismatches(op, record) == []


def test_power_rows_are_made_once_per_exponent() -> None:
    assert power(2) is power(2.0) is power(np.int64(2))
    assert (Value(3.0) ** 2).op is (Value(3.0) ** np.float32(2.0)).op is power(2)
    assert power(2) is not power(3)


# -- domain edges, through Value ------------------------------------------------
# Each case: the function, the input, then y and dy/dx derived by hand in IEEE
# arithmetic (the rule of the op evaluated at the edge, as PyTorch does).

EDGES: dict[str, tuple[Callable[[Value], Value], float, float, float]] = {
    "log(0)": (lambda x: x.log(), 0.0, -inf, inf),  # 1/x
    "log(-1)": (lambda x: x.log(), -1.0, nan, -1.0),  # 1/x, written as is
    "log(inf)": (lambda x: x.log(), inf, inf, 0.0),
    "0 ** -1": (lambda x: x**-1, 0.0, inf, -inf),  # -1·x**-2
    "0 ** Value(-1)": (lambda x: x ** Value(-1.0), 0.0, inf, -inf),
    "0 ** 0.5": (lambda x: x**0.5, 0.0, 0.0, inf),  # 0.5·x**-0.5
    "(-8) ** (1/3)": (lambda x: x ** (1 / 3), -8.0, nan, nan),
    "(-2) ** Value(0.5)": (lambda x: (-2.0) ** x, 0.5, nan, nan),
    "(-2) ** Value(2)": (lambda x: (-2.0) ** x, 2.0, 4.0, nan),  # d/db = a**b·log(a)
    "Value(-2) ** Value(2)": (lambda x: x ** Value(2.0), -2.0, 4.0, -4.0),  # d/da = b·a**(b-1)
    "0 ** Value(2)": (lambda x: Value(0.0) ** x, 2.0, 0.0, 0.0),  # 0**b is flat for b > 0
    "0 ** Value(-1), d/db": (lambda x: Value(0.0) ** x, -1.0, inf, nan),  # inf·log(1): flat at inf
    "(-2.5) ** Value(-1000)": (lambda x: (-2.5) ** x, -1000.0, 0.0, nan),  # underflows; no d/db
    "0 ** 0": (lambda x: x**0, 0.0, 1.0, 0.0),
    "xlogy(0, 0)": (lambda x: XLOGY(x, Value(0.0)), 0.0, 0.0, -inf),  # d/dx = log(y)
    "xlogy(1, 0)": (lambda x: XLOGY(Value(1.0), x), 0.0, -inf, inf),  # d/dy = x/y
    "xlogy(0, -1)": (lambda x: XLOGY(x, Value(-1.0)), 0.0, 0.0, nan),
    "xlogy(1, -1)": (lambda x: XLOGY(x, Value(-1.0)), 1.0, nan, nan),
    "xlogy(0, nan)": (lambda x: XLOGY(x, Value(nan)), 0.0, nan, nan),
    "exp(1000)": (lambda x: x.exp(), 1000.0, inf, inf),
    "exp(-1000)": (lambda x: x.exp(), -1000.0, 0.0, 0.0),
    "1 / 0": (lambda x: 1 / x, 0.0, inf, -inf),  # -1/x²
    "-1 / 0": (lambda x: -1 / x, 0.0, -inf, inf),
    "x / 0": (lambda x: x / Value(0.0), 1.0, inf, inf),  # 1/b
    "0 / 0": (lambda x: x / Value(0.0), 0.0, nan, inf),
    "sqrt(-1)": (lambda x: x.sqrt(), -1.0, nan, nan),  # 0.5/sqrt(x)
    "sqrt(0)": (lambda x: x.sqrt(), 0.0, 0.0, inf),
    "sigmoid(1000)": (lambda x: x.sigmoid(), 1000.0, 1.0, 0.0),  # σ(1 - σ)
    "sigmoid(-1000)": (lambda x: x.sigmoid(), -1000.0, 0.0, 0.0),
    "tanh(1000)": (lambda x: x.tanh(), 1000.0, 1.0, 0.0),  # 1 - tanh²
    "tanh(-1000)": (lambda x: x.tanh(), -1000.0, -1.0, 0.0),
    "relu(0)": (lambda x: x.relu(), 0.0, 0.0, 0.0),  # subgradient 0 at the kink
    "abs(0)": (lambda x: abs(x), 0.0, 0.0, 0.0),
    "sin(inf)": (lambda x: x.sin(), inf, nan, nan),  # cos(inf)
}


@pytest.mark.parametrize("create_graph", [False, True], ids=["floats", "values"])
@pytest.mark.parametrize("f, x0, y0, dy", EDGES.values(), ids=EDGES.keys())
def test_domain_edge_gives_the_ieee_result(
    f: Callable[[Value], Value], x0: float, y0: float, dy: float, create_graph: bool
) -> None:
    x = Value(x0)
    y = f(x)
    assert same(y.data, y0), y
    (derivative,) = gradients(y, [x], create_graph=create_graph)
    assert same(data(derivative), dy), derivative
    y.backward()
    assert same(x.grad, dy), x


def test_second_derivative_at_an_edge() -> None:
    assert grad(grad(lambda x: x.log()))(0.0) == -inf  # -1/x²
    assert grad(grad(lambda x: x.sigmoid()))(1000.0) == 0.0
    assert grad(grad(lambda x: x.sigmoid()))(-1000.0) == 0.0


def test_stable_sigmoid_never_overflows() -> None:
    # Raise on overflow and invalid results, not only warn (underflow to 0 is the answer).
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        batch = SIGMOID.ufunc(np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0]))
    assert batch.tolist() == [0.0, pytest.approx(math.exp(-745.0), rel=1e-6), 0.5, 1.0, 1.0]
    assert SIGMOID.forward(-1000.0) == 0.0
    assert SIGMOID.forward(1000.0) == 1.0
    assert grad(lambda x: x.sigmoid())(-1000.0) == 0.0


def test_zeroth_power_has_zero_derivative_at_zero() -> None:
    # x**0 is flat: its derivative is 0 everywhere, also where 0·x**-1 would give 0·inf.
    assert grad(lambda x: x**0)(0.0) == 0.0
    assert grad(grad(lambda x: x**0))(0.0) == 0.0


def test_zero_base_has_zero_exponent_derivative() -> None:
    # 0**b is 0 for every b > 0, so d/db is 0, not 0·log(0) = 0·(-inf).
    assert grad(lambda b: Value(0.0) ** b)(2.0) == 0.0
    assert grad(lambda b: 0.0**b)(0.5) == 0.0


def test_zero_base_has_zero_second_exponent_derivative() -> None:
    # 0**b is 0 for every b > 0, so every derivative in b is 0 (not -inf · 0 = nan).
    assert grad(grad(lambda b: Value(0.0) ** b))(2.0) == 0.0
    assert grad(grad(grad(lambda b: Value(0.0) ** b)))(0.5) == 0.0


def test_zeroth_value_power_has_zero_base_derivative_at_zero() -> None:
    # x**b with b = 0 is the constant 1: d/dx is 0 at x = 0 too (not 0 · 0**-1 = 0 · inf).
    assert grad(lambda x: x ** Value(0.0))(0.0) == 0.0


def test_first_power_has_zero_second_derivative_at_zero() -> None:
    # (x**b)' = b·x**(b-1) = x**0 at b = 1; its derivative is 0, also at x = 0.
    x, b = Value(0.0), Value(1.0)
    (first,) = gradients(x**b, [x], create_graph=True)
    assert first.data == 1.0
    assert gradients(first, [x]) == (0.0,)


@pytest.mark.parametrize("exponent", [1.0, 2.0, 3.0, 0.5, -1.0])
@pytest.mark.parametrize("base", [0.0, 1.5, -2.0])
def test_value_power_second_base_derivative_is_the_closed_form(
    base: float, exponent: float
) -> None:
    # d²(a**b)/da² = b·(b-1)·a**(b-2), evaluated in IEEE arithmetic where it is defined;
    # b = 1 and b = 2 are polynomials, whose second derivative is 0 and 2 everywhere.
    second = grad(grad(lambda a: a ** Value(exponent)))(base)
    if exponent in (1.0, 2.0):
        expected = exponent * (exponent - 1.0)
    else:
        with np.errstate(all="ignore"):  # the IEEE answer: inf at 0**-3, nan at (-2)**-1.5
            power_ = float(np.float_power(base, exponent - 2.0))
        expected = exponent * (exponent - 1.0) * power_
    assert same(second, expected, rel_tol=1e-12), second


def test_negative_base_has_nan_exponent_derivative_where_the_power_underflows() -> None:
    # (-2.5)**-1000 rounds to 0, but a**b has no real derivative in b for a < 0.
    b = Value(-1000.0)
    power_ = Value(-2.5) ** b
    assert power_.data == 0.0
    (derivative,) = gradients(power_, [b])
    assert math.isnan(derivative)


@pytest.mark.parametrize(
    "scalar", [np.float32(1.0), np.int64(1), np.float64(1.0)], ids=["float32", "int64", "float64"]
)
def test_ops_accept_numpy_scalars(scalar: float) -> None:
    result = TANH(scalar)
    assert type(result) is float and result == math.tanh(1.0)
    assert ADD(scalar, 2) == 3.0


def test_an_op_named_with_a_non_number_operand() -> None:
    with pytest.raises(TypeError, match="tanh needs numbers, arrays or Values, got str: 'a'"):
        TANH("a")


@pytest.mark.parametrize(
    "op, operands, expected",
    [(DIV, (1.0, 0.0, inf), (inf, -inf)), (power(0.5), (0.0, 0.0), (inf,))],
    ids=["1/0", "sqrt at 0"],
)
def test_partials_at_numbers_give_ieee_results_where_floats_raise(
    op: Op, operands: tuple[float, ...], expected: tuple[float, ...]
) -> None:
    # d(a/b)/da = 1/b and d(a/b)/db = -(a/b)/b; d(x**0.5)/dx = 0.5 x**-0.5.
    assert op.partials_at(*operands) == expected


def test_ops_on_python_ints_compute_floats() -> None:
    # As in a Value, where every number becomes a float first.
    assert ADD(2, 3) == 5.0 and type(ADD(2, 3)) is float
    assert type(TANH(0)) is float and DIV(1, 4) == 0.25

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
        "from tinygrad_gd.core.ops import power\n"
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


@pytest.mark.parametrize("op", [op for op in OPS if op.array is not None], ids=lambda op: op.name)
def test_the_array_column_gives_the_numpy_forward(op: Op) -> None:
    points = np.array([-1000.0, -2.5, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 1000.0, np.inf, np.nan])
    grids = np.meshgrid(*[points] * op.arity, indexing="ij")
    with np.errstate(all="ignore"):
        expected = op.ufunc(*grids)
        got = op.array(np, *grids)
    np.testing.assert_array_equal(got, expected)


def test_an_op_without_an_array_column_is_written_as_an_operator() -> None:
    for op in OPS:
        if op.array is None:  # packed code writes it with Python's operators
            assert not op.notation.startswith(op.name + "(")
