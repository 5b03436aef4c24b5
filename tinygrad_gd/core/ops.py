"""The rule table: every primitive operation and its local partial derivatives.

Each row is an :class:`Op`. Its ``partials(*operands, out)`` gives one local
partial derivative per operand, written with ordinary operators (``+ - * /``)
and with the ops of this table called as functions (``LOG(a)``, ``STEP(a)``).
That single definition serves every consumer:

* called on floats it gives numbers (plain backward);
* called on ``Value`` nodes it builds a graph (higher-order derivatives);
* called on symbolic expressions it prints a formula (explain, compile).

Rules may use: the operands and ``out`` (the op's own result), numbers, the
operators ``+ - * /`` and unary ``-``, and the ops in this module. They never
use ``**`` on their operands (Python's float ``**`` can return a complex
number); they call :func:`power` instead.

Forwards come in two forms: ``forward`` is the fast path on Python floats and
may raise at a domain edge (``math.log(0)``); ``ufunc`` is the numpy form,
which gives the IEEE answer there (``-inf``, ``nan``) and evaluates whole
arrays. :meth:`Op.evaluate` tries the first and falls back to the second, so
a user sees ``inf`` or ``nan``, never a bare "math domain error". A third
form, ``array``, is the forward written once for any array library passed
as ``xp`` (numpy, jax.numpy, torch): what packed and exported code calls.
Ops written as operators (``+``, ``**``) need none.

>>> MUL.evaluate(3.0, 4.0), LOG.evaluate(0.0), EXP.evaluate(1000.0)
(12.0, -inf, inf)
>>> SIGMOID.partials(0.0, 0.5)  # σ'(0) = σ(0)(1 - σ(0))
(0.25,)
"""

from __future__ import annotations

import inspect
import keyword
import math
import numbers
import operator
import string
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ABS", "ADD", "COS", "DIV", "EXP", "LOG", "MUL", "NEG", "OPS", "POW", "RELU",
    "SIGMOID", "SIGN", "SIN", "SQRT", "STEP", "SUB", "TANH", "XLOGY", "Op", "cached_power_row",
    "custom_op", "custom_op_names", "is_custom", "is_number", "is_row", "number_text", "power",
]  # fmt: skip

_exp = math.exp  # a global name: the sigmoid runs in every tutorial step

# Binding strength of each notation, for parenthesizing printed formulas.
ATOM, POWER, UNARY, PRODUCT, SUM = 5, 4, 3, 2, 1


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its forward on floats and arrays, and its local partials.

    >>> TANH.name, TANH.arity, TANH.notation
    ('tanh', 1, 'tanh({0})')
    """

    name: str
    arity: int
    forward: Callable[..., float]
    ufunc: Callable[..., Any]
    partials: Callable[..., tuple[Any, ...]] = field(repr=False)
    notation: str
    precedence: int = ATOM
    # The forward on any array library, given as ``xp`` (numpy, jax.numpy, torch): no
    # math.*, no in-place updates. None for ops the notation writes as operators (+, **).
    array: Callable[..., Any] | None = field(default=None, repr=False)

    def evaluate(self, *operands: float) -> float:
        """The forward on floats, with the IEEE result at domain edges.

        >>> DIV.evaluate(1.0, 0.0), SQRT.evaluate(-1.0)
        (inf, nan)
        """
        try:
            return self.forward(*operands)
        except (ArithmeticError, ValueError):  # math's domain errors and overflow
            with np.errstate(all="ignore"):
                return float(self.ufunc(*operands))

    def partials_at(self, *operands: float) -> tuple[float, ...]:
        """The local partials at numbers (operands, then ``out``), IEEE at edges.

        >>> LOG.partials_at(2.0, LOG.evaluate(2.0)), LOG.partials_at(0.0, -math.inf)
        ((0.5,), (inf,))
        """
        try:
            return self.partials(*operands)
        except ArithmeticError:  # a division by zero: numpy floats give inf or nan
            with np.errstate(all="ignore"):
                return tuple(float(p) for p in self.partials(*map(np.float64, operands)))

    def __call__(self, *operands: Any) -> Any:
        """Apply the op: numbers give a float, arrays an array, nodes a node.

        Any operand that is not a number or an array is asked to build the
        result itself through its class's ``apply(op, *operands)``; that is how
        ``Value`` records a node and how a symbolic expression prints one.

        >>> EXP(0.0), EXP(np.array([0.0, 1000.0])), ADD(2, 3)
        (1.0, array([ 1., inf]), 5.0)
        """
        convert = False
        for operand in operands:
            if type(operand) is float:
                continue
            if isinstance(operand, np.ndarray):
                with np.errstate(all="ignore"):
                    return self.ufunc(*operands)
            if not is_number(operand):
                apply = getattr(type(operand), "apply", None)
                if apply is None:
                    raise TypeError(
                        f"{self.name} needs numbers, arrays or Values, "
                        f"got {type(operand).__name__}: {operand!r}"
                    )
                return apply(self, *operands)
            convert = True  # an int, np.float32, np.int64: numbers, computed as floats
        return self.evaluate(*map(float, operands) if convert else operands)

    def format(self, *operands: str) -> str:
        """The op written out with already-printed operands.

        >>> ADD.format("x", "y"), SIGMOID.format("sop")
        ('x + y', 'sigmoid(sop)')
        """
        return self.notation.format(*operands)


def is_number(x: object) -> bool:
    """Whether the engine computes with ``x`` as a number: an int, a float, a numpy real
    scalar, or a bool (Python's or numpy's), which counts as 0 or 1, as in arithmetic.

    >>> is_number(2), is_number(np.float32(0.5)), is_number(np.True_), is_number("2")
    (True, True, True, False)
    """
    return isinstance(x, (numbers.Real, np.bool_))


def _stable_sigmoid(a: float) -> float:
    # exp of a non-positive number never overflows, so sigmoid(±1000) is exact and silent.
    if a >= 0:
        return 1.0 / (1.0 + _exp(-a))
    e = _exp(a)
    return e / (1.0 + e)


def _stable_sigmoid_array(a: Any, xp: Any = np) -> Any:
    e = xp.exp(-xp.abs(a))
    return xp.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# At a kink the subgradient 0 is used (as PyTorch does): relu'(0) = 0, |x|'(0) = 0.
def _step(a: float) -> float:
    return 1.0 if a > 0 else 0.0


def _sign(a: float) -> float:
    return 1.0 if a > 0 else -1.0 if a < 0 else 0.0


def _step_array(a: Any, xp: Any = np) -> Any:
    return xp.where(a > 0, 1.0, 0.0)


def _sign_array(a: Any, xp: Any = np) -> Any:
    return xp.where(a > 0, 1.0, xp.where(a < 0, -1.0, 0.0))


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 and y == y else x * math.log(y)  # y == y: y is not nan


def _xlogy_array(x: Any, y: Any, xp: Any = np) -> Any:
    return xp.where((x == 0) & ~xp.isnan(y), 0.0, x * xp.log(y))


# max() keeps a nan operand, so relu(nan) is nan, as np.maximum gives.
def _relu(a: float) -> float:
    return max(a, 0.0)


# fmt: off
ADD = Op("add", 2, operator.add, np.add,
         lambda a, b, out: (1.0, 1.0),
         "{0} + {1}", SUM)
SUB = Op("sub", 2, operator.sub, np.subtract,
         lambda a, b, out: (1.0, -1.0),
         "{0} - {1}", SUM)
MUL = Op("mul", 2, operator.mul, np.multiply,
         lambda a, b, out: (b, a),
         "{0} * {1}", PRODUCT)
DIV = Op("div", 2, operator.truediv, np.divide,
         lambda a, b, out: (1.0 / b, -out / b),                  # d(a/b)/db = -a/b²
         "{0} / {1}", PRODUCT)
NEG = Op("neg", 1, operator.neg, np.negative,
         lambda a, out: (-1.0,),
         "-{0}", UNARY)
# np.float_power, not np.power: it agrees with math.pow at (-inf) ** 0.5 (numpy's power
# takes a square root there), and with integer arrays under negative exponents.
# d/da = b·a**(b-1) with the exponent 0, not -1, where b is 0: then 0·a**0 = 0 (a**0 is
# flat), not 0·0**-1 = 0·inf, also one order higher ((x**b)' = b·x**(b-1) meets b-1 = 0).
# d/db = out·log(a), log read at 1 where a is 0 (as JAX does): 0**b is flat for b > 0, at
# every order, while a negative base gives nan even where out underflows to 0.
POW: Op = Op("pow", 2, math.pow, np.float_power,
         lambda a, b, out: (b * POW(a, b - ABS(SIGN(b))),
                            out * LOG(a + (1.0 - ABS(SIGN(a))))),
         "{0} ** {1}", POWER)
EXP = Op("exp", 1, math.exp, np.exp,
         lambda a, out: (out,),
         "exp({0})", array=lambda xp, a: xp.exp(a))
LOG: Op = Op("log", 1, math.log, np.log,
         lambda a, out: (1.0 / a,),
         "log({0})", array=lambda xp, a: xp.log(a))
SIGMOID = Op("sigmoid", 1, _stable_sigmoid, _stable_sigmoid_array,
             lambda a, out: (out * (1.0 - out),),                # σ' = σ(1 - σ)
             "sigmoid({0})", array=lambda xp, a: _stable_sigmoid_array(a, xp))
TANH = Op("tanh", 1, math.tanh, np.tanh,
          lambda a, out: (1.0 - out * out,),
          "tanh({0})", array=lambda xp, a: xp.tanh(a))
# x·log(y), but 0 where x is 0 and y is not nan (as scipy's and PyTorch's xlogy).
XLOGY: Op = Op("xlogy", 2, _xlogy, _xlogy_array,
               lambda x, y, out: (LOG(y), x / y),
               "xlogy({0}, {1})", array=lambda xp, x, y: _xlogy_array(x, y, xp))
STEP: Op = Op("step", 1, _step, _step_array,
          lambda a, out: (0.0,),
          "step({0})", array=lambda xp, a: _step_array(a, xp))
RELU = Op("relu", 1, _relu, lambda a: np.maximum(a, 0.0),
          lambda a, out: (STEP(a),),
          "relu({0})", array=lambda xp, a: xp.maximum(a, 0.0))
SIGN: Op = Op("sign", 1, _sign, _sign_array,
          lambda a, out: (0.0,),
          "sign({0})", array=lambda xp, a: _sign_array(a, xp))
ABS: Op = Op("abs", 1, abs, np.abs,
         lambda a, out: (SIGN(a),),
         "abs({0})", array=lambda xp, a: xp.abs(a))
SQRT = Op("sqrt", 1, math.sqrt, np.sqrt,
          lambda a, out: (0.5 / out,),
          "sqrt({0})", array=lambda xp, a: xp.sqrt(a))
SIN: Op = Op("sin", 1, math.sin, np.sin,
         lambda a, out: (COS(a),),
         "sin({0})", array=lambda xp, a: xp.sin(a))
COS: Op = Op("cos", 1, math.cos, np.cos,
         lambda a, out: (-SIN(a),),
         "cos({0})", array=lambda xp, a: xp.cos(a))
# fmt: on


def number_text(x: float) -> str:
    """A number as the shortest text that reads back exactly.

    >>> number_text(2.0), number_text(0.1), number_text(-3.0), number_text(1e300)
    ('2', '0.1', '-3', '1e+300')
    """
    x = float(x)
    # Whole numbers print as ints while that is short and keeps the sign (-0.0).
    if x.is_integer() and abs(x) < 1e16 and math.copysign(1.0, x) == math.copysign(1.0, x or 1):
        return str(int(x))
    return repr(x)


def power(n: float) -> Op:
    """The op x ↦ x**n for a fixed number n: one row per exponent, made once.

    >>> power(2).evaluate(-3.0), power(2).partials(-3.0, 9.0)
    (9.0, (-6.0,))
    >>> power(-1).evaluate(0.0), power(2) is power(2.0)
    (inf, True)
    >>> power(-0.0) is power(0.0), power(-0.0).format("x")  # -0.0 == 0.0: one row, written 0
    (True, 'x ** 0')
    >>> power(float("nan")) is power(-float("nan"))  # not a new row per nan
    True
    """
    n = float(n) + 0.0  # -0.0 becomes 0.0: the rows are keyed by n, and -0.0 == 0.0
    if n != n:
        n = math.nan  # one nan object: a dict finds a nan key only by identity
    row = _POWER_ROWS.get(n)
    if row is None:
        row = _LIVE_POWER_ROWS.get(n)  # left the cache, but a graph still uses it
        if row is None:
            row = _LIVE_POWER_ROWS[n] = _power_row(n)
            _POWER_ROW_SET.add(row)
        if len(_POWER_ROWS) >= POWER_ROWS_KEPT:
            _POWER_ROWS.pop(next(iter(_POWER_ROWS)), None)  # the oldest: dicts keep order
        _POWER_ROWS[n] = row
    return row


def is_row(op: Op) -> bool:
    """Whether ``op`` is a row of this table: a fixed row or a power row, not an op
    made elsewhere (the compiler writes only rows into the code it runs).

    >>> is_row(SIGMOID), is_row(power(3)), is_row(Op("mine", 1, abs, abs, abs, "mine({0})"))
    (True, True, False)
    """
    return op in _ROWS or op in _POWER_ROW_SET


def _power_row(n: float) -> Op:
    derivative: Callable[..., tuple[Any, ...]]
    if n == 0.0:
        derivative = lambda a, out: (0.0,)  # noqa: E731  (x**0 is flat, even at 0)
    elif n == 1.0:
        derivative = lambda a, out: (1.0,)  # noqa: E731
    elif n == 2.0:
        derivative = lambda a, out: (2.0 * a,)  # noqa: E731  (spares the node a**1)
    else:
        derivative = lambda a, out: (n * power(n - 1.0)(a),)  # noqa: E731
    exponent = number_text(n)
    if n < 0:
        exponent = f"({exponent})"
    return Op(
        "pow",
        1,
        lambda a: math.pow(a, n),
        lambda a: np.float_power(a, n),
        derivative,
        "{0} ** " + exponent,
        POWER,
    )


OPS: tuple[Op, ...] = (
    ADD, SUB, MUL, DIV, NEG, POW, EXP, LOG, XLOGY, SIGMOID, TANH, STEP, RELU, SIGN, ABS,
    SQRT, SIN, COS,
)  # fmt: skip
"""Every fixed row of the table; :func:`power` makes the rows x**n on demand."""

# One power row per exponent, made on demand; keyed by float, so power(2) is power(2.0).
# A program may use a new exponent in every step (x ** (2 + i * 1e-7)), so memory stays
# bounded: the cache keeps the rows made most recently, and a row that left it lives on
# only while some graph (or other holder) still uses it, found again by exponent.
POWER_ROWS_KEPT = 256
"""How many power rows stay cached when nothing uses them."""
_POWER_ROWS: dict[float, Op] = {}
cached_power_row = _POWER_ROWS.get
"""The cached row x**n for ``n``, or None: the direct look-up ``Value.__pow__`` makes."""
_LIVE_POWER_ROWS: weakref.WeakValueDictionary[float, Op] = weakref.WeakValueDictionary()
_POWER_ROW_SET: weakref.WeakSet[Op] = weakref.WeakSet()
_ROWS: frozenset[Op] = frozenset(OPS)  # ops hash by identity (eq=False): no look-alike


# -- ops added by users -------------------------------------------------------------------

# Each custom op by its name: the compiler's generated code calls it by this name.
_CUSTOM: dict[str, Op] = {}
# Names a custom op cannot take: the table's rows, and what the generated code reads.
_TAKEN = frozenset({op.name for op in OPS} | {"inf", "nan", "range"})


def custom_op(
    name: str,
    forward: Callable[..., float],
    partials: Callable[..., tuple[Any, ...]],
    notation: str | None = None,
    *,
    ufunc: Callable[..., Any] | None = None,
) -> Op:
    """A new op with one or two operands, usable wherever a row of the table is.

    ``forward`` computes it on floats. ``partials(*operands, out)`` returns
    one local partial per operand, written as the table's rules are: with
    operators and the ops of this table called as functions (``SIGMOID(a)``,
    ``LOG(a)``, not ``math``), so that it serves floats (backward), Values
    (higher orders) and formulas (``explain``, ``compile``). ``notation``
    (``"{0}"`` for the operand) is how ``explain`` and ``to_dot`` write it,
    ``name(...)`` by default; the compiled code always calls it by name.
    ``ufunc`` computes it on numpy arrays (by default ``forward`` on each
    element). The op is called like a function: ``softplus(x)``. Registering
    a name again replaces the op of that name for ``compile``.

    >>> softplus = custom_op(
    ...     "softplus_example",
    ...     forward=lambda a: math.log1p(math.exp(-abs(a))) + max(a, 0.0),
    ...     partials=lambda a, out: (SIGMOID(a),),
    ... )
    >>> softplus(0.0) == math.log(2), softplus.partials(0.0, math.log(2))
    (True, (0.5,))
    """
    _check_name(name)
    for role, function in (("forward", forward), ("partials", partials)):
        if not callable(function):
            raise TypeError(f"custom_op {name!r}: {role} must be callable, got {function!r}")
    arity = _arity(name, partials)
    if ufunc is not None and not callable(ufunc):
        raise TypeError(f"custom_op {name!r}: ufunc must be callable, got {ufunc!r}")
    written = ", ".join(f"{{{i}}}" for i in range(arity))
    if notation is not None:
        _check_notation(name, notation, arity)
    op = Op(
        name,
        arity,
        forward,
        ufunc if ufunc is not None else _elementwise(forward),
        _checked_partials(name, arity, partials),
        f"{name}({written})" if notation is None else notation,
        # A notation of the user's may be any text: printed inside another formula, it
        # is put in parentheses, as the weakest-binding operation is.
        ATOM if notation is None else SUM,
    )
    _CUSTOM[name] = op
    return op


def is_custom(op: Op) -> bool:
    """Whether ``op`` is the custom op registered under its name (not one since replaced).

    >>> is_custom(SIGMOID)
    False
    """
    return _CUSTOM.get(op.name) is op


def custom_op_names() -> frozenset[str]:
    """The names of the custom ops registered so far.

    >>> "sigmoid" in custom_op_names()
    False
    """
    return frozenset(_CUSTOM)


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.isascii() or not name.isidentifier():
        raise ValueError(
            f"custom_op: the name must be a plain ASCII identifier (it is called by this "
            f"name in compiled code), got {name!r}"
        )
    if keyword.iskeyword(name) or name.startswith("_") or name in _TAKEN:
        raise ValueError(
            f"custom_op: the name {name!r} is taken (a keyword, a name starting with _, "
            f"or one of {', '.join(sorted(_TAKEN))})"
        )


def _arity(name: str, partials: Callable[..., Any]) -> int:
    """The number of operands: partials takes them, then ``out``."""
    try:
        parameters = inspect.signature(partials).parameters.values()
    except (TypeError, ValueError):
        parameters = None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if parameters is None or any(p.kind not in kinds for p in parameters):
        raise TypeError(
            f"custom_op {name!r}: partials must take the operands and out as plain "
            "parameters, like lambda a, out: (...,)"
        )
    arity = len(parameters) - 1
    if arity not in (1, 2):
        raise ValueError(
            f"custom_op {name!r}: an op takes one or two operands, but partials takes "
            f"{len(parameters)} parameters (the operands, then out)"
        )
    return arity


def _check_notation(name: str, notation: object, arity: int) -> None:
    wanted = {str(i) for i in range(arity)}
    try:
        fields = [
            (field, conversion, spec)
            for _, field, spec, conversion in string.Formatter().parse(str(notation))
            if field is not None
        ]
    except ValueError:  # an unmatched brace
        fields = [("?", None, "")]
    if not isinstance(notation, str) or {f for f, _, _ in fields} != wanted or any(
        conversion or spec for _, conversion, spec in fields
    ):
        places = " and ".join(f"{{{i}}}" for i in range(arity))
        raise ValueError(
            f"custom_op {name!r}: the notation must be text with {places} where the "
            f"operands go and no other braces, got {notation!r}"
        )


def _checked_partials(
    name: str, arity: int, partials: Callable[..., Any]
) -> Callable[..., tuple[Any, ...]]:
    def rule(*operands_and_out: Any) -> tuple[Any, ...]:
        found = partials(*operands_and_out)
        if not isinstance(found, (tuple, list)) or len(found) != arity:
            raise TypeError(
                f"custom op {name!r}: partials must return a tuple of {arity} local "
                f"partial{'s' if arity > 1 else ''}, one per operand, got {found!r}"
            )
        return tuple(found)

    return rule


def _elementwise(forward: Callable[..., float]) -> Callable[..., Any]:
    """``forward`` on each element of arrays; nan where it raises (a domain edge)."""

    def one(*operands: float) -> float:
        try:
            return forward(*operands)
        except (ArithmeticError, ValueError):
            return math.nan

    return np.vectorize(one, otypes=[float])
