"""Per-op records and hypothesis strategies shared by the tests.

``OP_RECORDS`` holds one record per row of the rule table (and one per tested
``power(n)`` row): the op's forward and partials re-derived by hand with
``math``, the domain on which the op is smooth, and the points to avoid (kinks
and poles). They are the independent source of truth the engine is checked
against; a row added to ``ops.OPS`` fails ``test_ops`` until it has a record.

``expressions()`` draws random expression trees over every record, built so
that each op only ever sees operands inside its domain. A tree evaluates three
ways with one fold, :func:`evaluate`: with the records' ``math`` references
(plain floats, the independent answer), with the table's ops on ``Value``s (the
engine), and with the table's ops on ``Expr``s (the printed formula).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tinygrad_gd.core import ops
from tinygrad_gd.core.ops import Op, power

# How far a drawn operand keeps from a domain's ends and from a kink or pole,
# so that a finite-difference step (1e-6 relative) never crosses one.
MARGIN = 0.05


@dataclass(frozen=True)
class Operand:
    """The values one operand of an op is tested on: an interval minus some points."""

    low: float
    high: float
    avoid: tuple[float, ...] = ()  # kinks and poles: the derivative jumps or blows up

    def admits(self, x: float) -> bool:
        """Whether ``x`` lies inside the interval, ``MARGIN`` from its ends and every kink."""
        inside = self.low + MARGIN <= x <= self.high - MARGIN
        return inside and all(abs(x - point) >= MARGIN for point in self.avoid)

    def points(self, count: int) -> list[float]:
        """``count`` evenly spaced admitted points (fewer where a kink was removed)."""
        low, high = self.low + MARGIN, self.high - MARGIN
        grid = [low + (high - low) * (i + 0.5) / count for i in range(count)]
        return [x for x in grid if self.admits(x)]


@dataclass(frozen=True)
class OpRecord:
    """What the tests know about one op, independently of the rule table."""

    op: Op
    arity: int
    reference: Callable[..., float]  # the forward, with math
    derivative: Callable[..., tuple[float, ...]]  # the partials, derived by hand, with math
    operands: tuple[Operand, ...]
    rtol: float = 1e-6  # partials against central finite differences

    @property
    def name(self) -> str:
        return self.op.format(*"xy"[: self.arity]) if self.op.name == "pow" else self.op.name

    def admits(self, *operands: float) -> bool:
        """Whether every operand lies inside its domain."""
        return all(domain.admits(x) for domain, x in zip(self.operands, operands, strict=True))

    def points(self, per_operand: int = 7) -> list[tuple[float, ...]]:
        """A grid of representative points inside the domain."""
        grid: list[tuple[float, ...]] = [()]
        for domain in self.operands:
            grid = [point + (x,) for point in grid for x in domain.points(per_operand)]
        return grid


ANYWHERE = Operand(-10.0, 10.0)
POSITIVE = Operand(0.0, 100.0)
NONZERO = Operand(-10.0, 10.0, avoid=(0.0,))


def _sign(a: float) -> float:
    return math.copysign(1.0, a)


def power_record(n: float) -> OpRecord:
    """The record of the row x**n: x > 0 unless n is an integer; x != 0 if n < 0."""
    if not float(n).is_integer():
        domain = Operand(0.0, 10.0)
    elif n < 0:
        domain = NONZERO
    else:
        domain = ANYWHERE
    return OpRecord(
        power(n), 1, lambda a: a**n, lambda a: (n * a ** (n - 1) if n else 0.0,), (domain,)
    )


POWER_EXPONENTS = (0, 1, 2, 3, 4, -1, -2, 0.5, 1.5, -0.5)

# fmt: off
OP_RECORDS: tuple[OpRecord, ...] = (
    OpRecord(ops.ADD, 2, lambda a, b: a + b, lambda a, b: (1.0, 1.0), (ANYWHERE, ANYWHERE)),
    OpRecord(ops.SUB, 2, lambda a, b: a - b, lambda a, b: (1.0, -1.0), (ANYWHERE, ANYWHERE)),
    OpRecord(ops.MUL, 2, lambda a, b: a * b, lambda a, b: (b, a), (ANYWHERE, ANYWHERE)),
    OpRecord(ops.DIV, 2, lambda a, b: a / b, lambda a, b: (1 / b, -a / b**2),
             (ANYWHERE, NONZERO)),
    OpRecord(ops.NEG, 1, lambda a: -a, lambda a: (-1.0,), (ANYWHERE,)),
    # A Value exponent: real only for a positive base.
    OpRecord(ops.POW, 2, lambda a, b: a**b, lambda a, b: (b * a ** (b - 1), a**b * math.log(a)),
             (Operand(0.0, 10.0), Operand(-3.0, 3.0))),
    OpRecord(ops.XLOGY, 2, lambda a, b: 0.0 if a == 0 else a * math.log(b),
             lambda a, b: (math.log(b), a / b), (ANYWHERE, POSITIVE)),
    OpRecord(ops.EXP, 1, math.exp, lambda a: (math.exp(a),), (ANYWHERE,)),
    OpRecord(ops.LOG, 1, math.log, lambda a: (1 / a,), (POSITIVE,)),
    OpRecord(ops.SIGMOID, 1, lambda a: 1 / (1 + math.exp(-a)),
             lambda a: (math.exp(-a) / (1 + math.exp(-a)) ** 2,), (Operand(-30.0, 30.0),)),
    OpRecord(ops.TANH, 1, lambda a: math.sinh(a) / math.cosh(a),
             lambda a: (1 / math.cosh(a) ** 2,), (ANYWHERE,)),
    OpRecord(ops.STEP, 1, lambda a: 1.0 if a > 0 else 0.0, lambda a: (0.0,), (NONZERO,)),
    OpRecord(ops.RELU, 1, lambda a: a if a > 0 else 0.0,
             lambda a: (1.0 if a > 0 else 0.0,), (NONZERO,)),
    OpRecord(ops.SIGN, 1, _sign, lambda a: (0.0,), (NONZERO,)),
    OpRecord(ops.ABS, 1, math.fabs, lambda a: (_sign(a),), (NONZERO,)),
    OpRecord(ops.SQRT, 1, lambda a: a**0.5, lambda a: (0.5 / a**0.5,), (POSITIVE,)),
    OpRecord(ops.SIN, 1, math.sin, lambda a: (math.cos(a),), (ANYWHERE,)),
    OpRecord(ops.COS, 1, math.cos, lambda a: (-math.sin(a),), (ANYWHERE,)),
    *(power_record(n) for n in POWER_EXPONENTS),
)
# fmt: on


# -- expression trees ------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """A leaf: the ``index``-th input of the expression."""

    index: int


@dataclass(frozen=True)
class Constant:
    """A leaf: a number written into the expression."""

    value: float


@dataclass(frozen=True)
class Node:
    """An op applied to sub-expressions."""

    record: OpRecord
    operands: tuple[Tree, ...]


Tree = Variable | Constant | Node


@dataclass(frozen=True)
class Expression:
    """A tree with the inputs it was built for: every op sees operands in its domain."""

    tree: Tree
    inputs: tuple[float, ...]

    def reference(self, inputs: Sequence[float] | None = None) -> float:
        """The value computed with ``math`` alone (no rule-table code involved)."""
        chosen = self.inputs if inputs is None else inputs
        return evaluate(self.tree, chosen, lambda record, *xs: record.reference(*xs))

    def engine(self, inputs: Sequence[Any]) -> Any:
        """The value computed by applying the rule table's ops to ``inputs``."""
        return evaluate(self.tree, inputs, lambda record, *xs: record.op(*xs))


def evaluate(tree: Tree, inputs: Sequence[Any], apply: Callable[..., Any]) -> Any:
    """Fold a tree: leaves read ``inputs`` or are numbers, nodes call ``apply(record, ...)``."""
    if isinstance(tree, Variable):
        return inputs[tree.index]
    if isinstance(tree, Constant):
        return tree.value
    return apply(tree.record, *(evaluate(operand, inputs, apply) for operand in tree.operands))


# Every value inside a tree stays within this bound, so no op overflows and
# finite differences stay accurate.
BOUND = 9.0

reals = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


@st.composite
def expressions(draw: st.DrawFn, variables: int = 2, max_depth: int = 4) -> Expression:
    """A random expression over ``variables`` inputs (drawn in [-3, 3]) and every op.

    Each node draws its arity and op first, then its operands; operands that fall outside
    the op's domain, or a result beyond ``BOUND``, are drawn again a few times.
    If they still do not fit, the op is redrawn among the records that admit
    the last operands, and failing that the first operand stands alone.
    """
    inputs = tuple(draw(reals) for _ in range(variables))

    def leaf() -> tuple[Tree, float]:
        if draw(st.integers(0, 3)) == 0:
            constant = draw(reals)
            return Constant(constant), constant
        index = draw(st.integers(0, variables - 1))
        return Variable(index), inputs[index]

    def fits(record: OpRecord, values: list[float]) -> float | None:
        if record.arity != len(values) or not record.admits(*values):
            return None
        result = record.reference(*values)
        return result if abs(result) <= BOUND else None

    def build(depth: int) -> tuple[Tree, float]:
        if depth == 0 or (depth < max_depth and draw(st.integers(0, 3)) == 0):
            return leaf()
        arity = draw(st.integers(1, 2))  # as many binary nodes as unary ones
        record = draw(st.sampled_from([r for r in OP_RECORDS if r.arity == arity]))
        for _ in range(3):
            built = [build(depth - 1) for _ in range(record.arity)]
            values = [value for _, value in built]
            result = fits(record, values)
            if result is not None:
                return Node(record, tuple(tree for tree, _ in built)), result
        candidates = [r for r in OP_RECORDS if fits(r, values) is not None]
        if not candidates:
            return built[0]
        record = draw(st.sampled_from(candidates))
        return Node(record, tuple(tree for tree, _ in built)), record.reference(*values)

    tree, _ = build(max_depth)
    return Expression(tree, inputs)


def central_difference(f: Callable[[list[float]], float], at: Sequence[float], i: int) -> float:
    """d f / d at[i] by central differences with a relative step of 1e-6."""
    h = 1e-6 * max(1.0, abs(at[i]))
    above, below = list(at), list(at)
    above[i] += h
    below[i] -= h
    return (f(above) - f(below)) / (2 * h)
