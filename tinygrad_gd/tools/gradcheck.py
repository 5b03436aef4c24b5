"""Checking gradients: central differences, ``gradcheck`` and side-by-side reports.

An *argument* here is a real number or an array of real numbers of any shape
(a sequence, nested sequences or a numpy array), every entry finite. A
function checked by ``gradcheck`` receives a ``Value`` for a number and a
numpy array of Values (``dtype=object``, same shape) for an array, so it is
written with Value operations: ``w @ x``, ``.sigmoid()``, ``** 2``.

>>> f = lambda w: ((w * 0.1).sigmoid() - 0.3) ** 2
>>> gradcheck(f, 0.5)
True
>>> print(compare({"w": 0.0099566468}, {"w": 0.0106182320}))
parameter  manual        automatic    abs diff  rel diff
w          0.0099566468  0.010618232  6.6e-04   6.2e-02   differs
largest abs diff 6.6e-04; 1 of 1 entries differ beyond atol=1e-10, rtol=1e-07
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_gd._support.checks import function, function_name, parameter_names
from tinygrad_gd._support.tables import format_table, html_table
from tinygrad_gd.core.autodiff import differentiating, gradients
from tinygrad_gd.core.value import Value, graph_mode

__all__ = [
    "Comparison",
    "ComparisonRow",
    "GradcheckError",
    "compare",
    "gradcheck",
    "numerical_grad",
]

Array = npt.NDArray[np.float64]
Argument = float | Array


def numerical_grad(f: Callable[..., Any], *args: Any, eps: float = 1e-6) -> Any:
    """The gradient of scalar ``f`` by central differences: (f(a + eps) − f(a − eps)) / 2 eps.

    ``f`` is called with the arguments as given kinds: a float for a number, a
    float array for an array. The result has the argument's shape: a float
    for one number argument, an array for an array, a tuple for several.
    Its error is of order eps² (truncation) plus 1e-16 / eps (rounding).

    >>> round(numerical_grad(lambda x: x ** 3, 2.0), 6)  # 3x²
    12.0
    >>> numerical_grad(lambda w, x: float(np.dot(w, x)), [1.0, 2.0], [3.0, 4.0])
    (array([3., 4.]), array([1., 2.]))
    """
    function(f, "numerical_grad: f")
    step = _step(eps)
    points = [_argument(i, arg) for i, arg in enumerate(args)]
    if not points:
        raise TypeError("numerical_grad needs at least one argument to differentiate")

    def at(i: int, shifted: Argument) -> float:
        return _scalar_output(f, f(*points[:i], shifted, *points[i + 1 :]))

    result: list[Argument] = []
    for i, point in enumerate(points):
        if isinstance(point, float):
            up, down = point + step, point - step
            result.append((at(i, up) - at(i, down)) / (up - down))
            continue
        derivative = np.empty_like(point)
        for index in np.ndindex(point.shape):
            up_point, down_point = point.copy(), point.copy()
            up_point[index] += step
            down_point[index] -= step
            # Divide by the step as represented, not 2·eps: it spares a rounding error.
            width = up_point[index] - down_point[index]
            derivative[index] = (at(i, up_point) - at(i, down_point)) / width
        result.append(derivative)
    return result[0] if len(result) == 1 else tuple(result)


class GradcheckError(Exception):
    """The automatic gradient differs from central differences; ``.report`` has the table.

    >>> try:
    ...     gradcheck(lambda x: x * Value(x.data), 3.0)  # the copy hides x from reverse mode
    ... except GradcheckError as error:
    ...     print(error.report.rows[0].first, error.report.rows[0].second)
    3.0 6.0
    """

    def __init__(self, message: str, report: Comparison) -> None:
        super().__init__(message)
        self.report = report


def gradcheck(
    f: Callable[..., Any],
    *args: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> Literal[True]:
    """Check the automatic gradient of ``f`` against central differences at ``args``.

    Returns True when every entry agrees within ``atol + rtol · |numerical|``;
    otherwise raises :class:`GradcheckError`, whose message is a table naming
    each argument entry (by the parameter names of ``f``) with the automatic
    and numerical values and their absolute and relative errors.

    >>> gradcheck(lambda w, x: (w @ x).tanh(), [0.5, -0.2], [1.0, 2.0])
    True
    """
    function(f, "gradcheck: f")
    points = [_argument(i, arg) for i, arg in enumerate(args)]
    if not points:
        raise TypeError("gradcheck needs at least one argument to differentiate")
    _tolerances(atol, rtol)
    _step(eps)
    names = parameter_names(f, len(points))
    automatic = _automatic_gradient(f, points)
    numerical = numerical_grad(lambda *a: _evaluate_on_values(f, a), *points, eps=eps)
    if len(points) == 1:
        numerical = (numerical,)
    report = compare(
        dict(zip(names, automatic, strict=True)),
        dict(zip(names, numerical, strict=True)),
        labels=("automatic", "numerical"),
        atol=atol,
        rtol=rtol,
    )
    if not report.passed:
        failed = sum(not row.passed for row in report.rows)
        raise GradcheckError(
            f"gradcheck of {function_name(f)}: the automatic gradient differs from central "
            f"differences (eps={eps:g}) at {failed} of {len(report.rows)} entries\n{report}",
            report,
        )
    return True


@dataclass(frozen=True)
class ComparisonRow:
    """One entry of a comparison: both values, their differences and the verdict.

    >>> compare({"w": 0.25}, {"w": 0.5}).rows[0]
    ComparisonRow(name='w', first=0.25, second=0.5, abs_diff=0.25, rel_diff=0.5, passed=False)
    """

    name: str
    first: float
    second: float
    abs_diff: float
    rel_diff: float
    passed: bool


@dataclass(frozen=True)
class Comparison:
    """Two gradients side by side, entry by entry; prints as a table.

    The second is the reference: the relative difference is taken against
    it, and an entry passes when |first − second| ≤ atol + rtol · |second|,
    or when both are the same infinity.

    >>> report = compare([0.1, 0.2], [0.1, 0.2000001], rtol=1e-3)
    >>> report.passed, report.max_abs_diff
    (True, 1e-07)
    """

    rows: tuple[ComparisonRow, ...]
    labels: tuple[str, str]
    atol: float
    rtol: float

    @property
    def passed(self) -> bool:
        """Whether every entry agrees within the tolerance.

        >>> compare([1.0, 2.0], [1.0, 2.0]).passed, compare(1.0, 1.1).passed
        (True, False)
        """
        return all(row.passed for row in self.rows)

    @property
    def max_abs_diff(self) -> float:
        """The largest absolute difference over all entries.

        >>> compare([1.0, 2.0], [1.5, 2.0]).max_abs_diff
        0.5
        """
        return max((row.abs_diff for row in self.rows), default=0.0)

    @property
    def max_rel_diff(self) -> float:
        """The largest relative difference over all entries.

        >>> compare([1.0, 2.0], [1.5, 2.5]).max_rel_diff  # 0.5 / 1.5
        0.333
        """
        return max((row.rel_diff for row in self.rows), default=0.0)

    def __str__(self) -> str:
        return self.format()

    def format(self, max_rows: int | None = None) -> str:
        """The table, with at most ``max_rows`` entries (failing ones first) and a summary.

        >>> print(compare([1.0, 2.0, 3.0], [1.0, 2.5, 3.0]).format(max_rows=1))
        parameter  manual  automatic  abs diff  rel diff
        w[1]       2       2.5        5.0e-01   2.0e-01   differs
        ... 2 more entries
        largest abs diff 5.0e-01; 1 of 3 entries differ beyond atol=1e-10, rtol=1e-07
        """
        header, body, summary = self._rows(max_rows)
        hidden = len(self.rows) - len(body)
        more = f"\n... {hidden} more entries" if hidden else ""
        return f"{format_table([header, *body])}{more}\n{summary}"

    def _repr_html_(self) -> str:
        """The table as HTML, for a notebook: at most 50 entries, those that differ first.

        >>> print(compare({"w": 0.25}, {"w": 0.5})._repr_html_())  # doctest: +ELLIPSIS
        <table><caption>largest abs diff 2.5e-01; 1 of 1 entries differ beyond ...</caption>
        <tr><th>parameter</th><th>manual</th><th>automatic</th><th>abs diff</th>...
        <tr><td>w</td><td>0.25</td><td>0.5</td><td>2.5e-01</td><td>5.0e-01</td><td>differs</td></tr>
        </table>
        """
        header, body, summary = self._rows(50)
        hidden = len(self.rows) - len(body)
        more = [(f"... {hidden} more entries", *[""] * (len(header) - 1))] if hidden else []
        return html_table([header, *body, *more], caption=summary)

    def _rows(self, max_rows: int | None) -> tuple[tuple[str, ...], list[tuple[str, ...]], str]:
        """The header, the rows shown (those that differ first) and the summary line."""
        header: tuple[str, ...] = ("parameter", *self.labels, "abs diff", "rel diff", "")
        shown = list(self.rows)
        if max_rows is not None and len(shown) > max_rows:
            shown = sorted(shown, key=lambda row: row.passed)[:max_rows]  # stable: failures first
        body: list[tuple[str, ...]] = [
            (
                row.name,
                f"{row.first:.10g}",
                f"{row.second:.10g}",
                f"{row.abs_diff:.1e}",
                f"{row.rel_diff:.1e}",
                "ok" if row.passed else "differs",
            )
            for row in shown
        ]
        failed = sum(not row.passed for row in self.rows)
        summary = (
            f"largest abs diff {self.max_abs_diff:.1e}; {failed} of {len(self.rows)} entries "
            f"differ beyond atol={self.atol:g}, rtol={self.rtol:g}"
        )
        return header, body, summary


def compare(
    manual: Any,
    automatic: Any,
    *,
    name: str = "w",
    labels: tuple[str, str] = ("manual", "automatic"),
    atol: float = 1e-10,
    rtol: float = 1e-7,
) -> Comparison:
    """Compare two gradients entry by entry: a report with both values and their differences.

    Each side is a mapping from parameter name to a number or an array, or a
    single number or array (then called ``name``); both sides need the same
    names and shapes. An entry passes when |manual − automatic| ≤
    atol + rtol · |automatic| (the automatic side is the reference), or when
    both are the same infinity.

    >>> report = compare({"v": [0.19082573, 0.19]}, {"v": [0.19082573, 0.19082573]})
    >>> [row.name for row in report.rows if not row.passed]
    ['v[1]']
    """
    atol, rtol = _tolerances(atol, rtol)
    if not isinstance(name, str):
        raise TypeError(f"compare: name must be a str, got {type(name).__name__}: {name!r}")
    pair = isinstance(labels, tuple) and len(labels) == 2
    if not pair or not all(isinstance(label, str) for label in labels):
        raise TypeError(f"compare: labels must be a pair of str (first, second), got {labels!r}")
    first, second = _parameters(labels[0], manual, name), _parameters(labels[1], automatic, name)
    if first.keys() != second.keys():
        raise ValueError(
            f"compare: the two sides name different parameters: "
            f"{labels[0]} has {sorted(first)}, {labels[1]} has {sorted(second)}"
        )
    rows = []
    for key, values in first.items():
        others = second[key]
        if values.shape != others.shape:
            raise ValueError(
                f"compare: {key} has shape {values.shape} in {labels[0]} "
                f"but {others.shape} in {labels[1]}"
            )
        for index in np.ndindex(values.shape):
            a, b = float(values[index]), float(others[index])
            rows.append(_row(_entry_name(key, index), a, b, atol, rtol))
    return Comparison(tuple(rows), labels, atol, rtol)


# -- helpers ---------------------------------------------------------------------------


def _row(name: str, first: float, second: float, atol: float, rtol: float) -> ComparisonRow:
    if first == second:  # inf == inf too, whose difference would be nan
        return ComparisonRow(name, first, second, 0.0, 0.0, True)
    difference = abs(first - second)
    relative = difference / abs(second) if second != 0.0 and not math.isinf(second) else math.inf
    # An infinite reference is matched only by itself; nan by nothing.
    passed = math.isfinite(second) and difference <= atol + rtol * abs(second)
    return ComparisonRow(name, first, second, difference, relative, passed)


def _entry_name(key: str, index: tuple[int, ...]) -> str:
    return f"{key}[{', '.join(map(str, index))}]" if index else key


def _parameters(side: str, values: Any, name: str) -> dict[str, Array]:
    named = dict(values) if isinstance(values, Mapping) else {name: values}
    arrays = {}
    for key, value in named.items():
        if not isinstance(key, str):
            raise TypeError(f"compare: parameter names must be str, got {key!r} in {side}")
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting
            array = np.asarray(None)
        if array.dtype.kind not in "iuf":
            raise TypeError(
                f"compare: {key} in {side} must be a number or an array of numbers "
                f"(pass a dict name -> array for several parameters), got {value!r}"
            )
        arrays[key] = array.astype(float)
    return arrays


def _tolerances(atol: Any, rtol: Any) -> tuple[float, float]:
    for label, tolerance in (("atol", atol), ("rtol", rtol)):
        if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real):
            raise TypeError(f"{label} must be a real number, got {type(tolerance).__name__}")
        if not float(tolerance) >= 0.0:
            raise ValueError(f"{label} must be 0 or more, got {tolerance}")
    return float(atol), float(rtol)


def _step(eps: Any) -> float:
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__}")
    if not (0.0 < float(eps) < math.inf):
        raise ValueError(f"eps must be a positive finite number, got {eps}")
    return float(eps)


def _argument(position: int, value: Any) -> Argument:
    """A number as a float, an array-like as a float array (a fresh copy)."""
    if isinstance(value, Value):
        raise TypeError(
            f"argument {position} is a Value: pass its number ({value.data!r}); the "
            "checks make Values of their own"
        )
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        point: Argument = float(value)
    else:
        try:
            array = np.array(value)
        except ValueError:  # ragged nesting
            array = np.array(None)
        if array.dtype.kind not in "iuf" or array.ndim == 0 or array.size == 0:
            raise TypeError(
                f"argument {position} must be a real number or a non-empty array of real "
                f"numbers, got {type(value).__name__}: {value!r}"
            )
        point = array.astype(float)
    if not np.all(np.isfinite(point)):
        raise ValueError(f"argument {position} must be finite, got {value!r}")
    return point


def _as_values(point: Argument) -> Value | npt.NDArray[np.object_]:
    if isinstance(point, float):
        return Value(point)
    nodes = np.empty(point.shape, dtype=object)
    for index in np.ndindex(point.shape):
        nodes[index] = Value(float(point[index]))
    return nodes


def _leaves(arguments: list[Value | npt.NDArray[np.object_]]) -> list[Value]:
    return [
        node
        for argument in arguments
        for node in ([argument] if isinstance(argument, Value) else argument.flat)
    ]


def _scalar_output(f: Callable[..., Any], out: Any) -> float:
    if isinstance(out, Value):
        return out.data
    return float(_output(f, out))


def _output(f: Callable[..., Any], out: Any) -> Value | float:
    """The scalar ``f`` returned: a Value, a number, or a one-entry array of either."""
    if isinstance(out, np.ndarray) and out.size == 1:
        out = out.reshape(-1)[0]
    if isinstance(out, Value):
        return out
    if isinstance(out, numbers.Real) and not isinstance(out, bool):
        return float(out)
    raise TypeError(
        f"{function_name(f)} must return a scalar (a Value or a real number), "
        f"got {type(out).__name__}: {out!r}"
    )


def _evaluate_on_values(f: Callable[..., Any], points: tuple[Argument, ...]) -> float:
    with graph_mode(record=False):
        out = _output(f, f(*(_as_values(point) for point in points)))
    return out.data if isinstance(out, Value) else out


def _automatic_gradient(f: Callable[..., Any], points: list[Argument]) -> list[Argument]:
    arguments = [_as_values(point) for point in points]
    leaves = _leaves(arguments)
    with differentiating(leaves):  # math.exp(x) in f: the error that says to write x.exp()
        out = _output(f, f(*arguments))
    flat = gradients(out, leaves) if isinstance(out, Value) else (0.0,) * len(leaves)
    result: list[Argument] = []
    start = 0
    for point in points:
        if isinstance(point, float):
            result.append(float(flat[start]))
            start += 1
        else:
            result.append(
                np.array(flat[start : start + point.size], dtype=float).reshape(point.shape)
            )
            start += point.size
    return result
