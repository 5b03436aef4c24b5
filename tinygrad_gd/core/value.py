"""``Value``: a scalar that records the computation graph, and reverse mode over it.

Every arithmetic operator and method looks its op up in the rule table
(:mod:`tinygrad_gd.ops`), computes the forward on floats and records a node
holding the op and its operands. ``backward()`` walks the recorded graph in
reverse topological order, without recursion, and multiplies local partials
exactly as the chain rule does: dE/dw = dE/dpred · dpred/dsop · dsop/dw.

>>> w = Value(0.5, label="w")
>>> error = ((w * 0.1).sigmoid() - 0.3) ** 2
>>> error.backward()
>>> round(w.grad, 10)
0.010618232
"""

from __future__ import annotations

import functools
import linecache
import math
import numbers
import operator
import os
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from typing import Any

from tinygrad_gd.core.escape import check_float
from tinygrad_gd.core.ops import (
    ABS,
    ADD,
    COS,
    DIV,
    EXP,
    LOG,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SQRT,
    SUB,
    TANH,
    Op,
    power,
)

__all__ = [
    "AnomalyError",
    "GraphMode",
    "TracingError",
    "Value",
    "adjoints",
    "graph_mode",
    "reverse_topological_order",
]


@dataclass(frozen=True)
class GraphMode:
    """What operations on Values do in the current thread or task.

    ``record``: build the graph (``no_grad`` turns it off). ``tracing``: a
    function is being traced, so its control flow must not read a value.
    ``detect_anomaly``: the first non-finite result, forward or backward,
    raises :class:`AnomalyError` naming the op and the line that made it.
    """

    record: bool = True
    tracing: bool = False
    detect_anomaly: bool = False


_EAGER = GraphMode()
_SWITCHES = {field.name for field in fields(GraphMode)}
# A context variable, so each thread and each asyncio task has its own mode.
_mode: ContextVar[GraphMode] = ContextVar("tinygrad_gd_graph_mode", default=_EAGER)


class graph_mode:  # noqa: N801  (used like a function: ``with graph_mode(record=False):``)
    """Change the graph mode inside a ``with`` block, in this context only.

    >>> with graph_mode(record=False):
    ...     (Value(2.0) * 3).parents
    ()
    """

    __slots__ = ("changes", "token")

    def __init__(self, **changes: bool) -> None:
        unknown = sorted(set(changes) - _SWITCHES)
        if unknown:
            raise TypeError(
                f"graph_mode has no switch {', '.join(map(repr, unknown))}; "
                f"its switches are {', '.join(sorted(_SWITCHES))}"
            )
        self.changes = changes

    def __enter__(self) -> GraphMode:
        current = _mode.get()
        wanted = _changed(current, tuple(self.changes.items()))
        self.token = _mode.set(wanted) if wanted is not current else None
        return wanted

    def __exit__(self, *exc_info: object) -> None:
        if self.token is not None:
            _mode.reset(self.token)


@functools.cache
def _changed(mode: GraphMode, changes: tuple[tuple[str, bool], ...]) -> GraphMode:
    """``mode`` with ``changes``: the very same object when nothing changes."""
    if all(getattr(mode, name) == value for name, value in changes):
        return mode
    return replace(mode, **dict(changes))


def _operator(op: Op, name: str, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method ``name`` computing ``self ∘ other`` (``other ∘ self`` if reflected)."""

    def method(self: Value, other: Any) -> Value:
        if not isinstance(other, Value):
            other = _constant(other)
            if other is None:
                return NotImplemented  # type: ignore[no-any-return]
        return _record(op, other, self) if reflected else _record(op, self, other)

    method.__name__ = method.__qualname__ = name
    return method


def _comparison(symbol: str, compare: Callable[[float, float], bool]) -> Callable[..., bool]:
    """The method for ``self <symbol> other``: it compares the data."""

    def method(self: Value, other: Any) -> bool:
        if isinstance(other, Value):
            other = other._concrete(symbol)
        elif not isinstance(other, numbers.Real):
            return NotImplemented  # type: ignore[no-any-return]
        return compare(self._concrete(symbol), other)

    return method


class Value:
    """A scalar node: its ``data``, its accumulated ``grad`` and how it was made.

    >>> x = Value(3.0, label="x")
    >>> y = x * x + 2 * x
    >>> y.backward()
    >>> y.data, x.grad
    (15.0, 8.0)
    """

    # Parents sit in two slots rather than a tuple: one object per node keeps
    # the garbage collector's work, and the memory, per node low.
    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_users", "_adjoint")

    data: float
    grad: float  # d root / d self, summed over backward() calls
    label: str
    _op: Op | None
    _a: Value | None
    _b: Value | None
    _users: int  # only during a graph walk: how many users are still pending
    _adjoint: Any  # d root / d self during a backward pass; 0.0 outside one

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.data = _real(data)
        self.grad = 0.0
        self.label = label
        self._op = self._a = self._b = None
        self._users = 0
        self._adjoint = 0.0

    @classmethod
    def apply(cls, op: Op, *operands: Value | float) -> Value:
        """Apply a rule-table op to Values or numbers, recording a node.

        >>> from tinygrad_gd.core.ops import MUL
        >>> Value.apply(MUL, Value(2.0), 3.0)
        Value(data=6.0, grad=0.0)
        """
        return _record(op, *map(_as_value, operands))

    # -- the graph, read-only -------------------------------------------------

    @property
    def op(self) -> Op | None:
        """The rule-table op that made this node; None for a leaf."""
        return self._op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was made from, in order, duplicates kept.

        >>> x = Value(2.0)
        >>> len((x * x).parents)
        2
        """
        if self._a is None:
            return ()
        if self._b is None:
            return (self._a,)
        return (self._a, self._b)

    # -- arithmetic -------------------------------------------------------------

    # a + b with a number on either side; anything else is NotImplemented, so that
    # Python names both types in its TypeError and numpy can broadcast over arrays.
    __add__ = _operator(ADD, "__add__")
    __radd__ = _operator(ADD, "__radd__", reflected=True)
    __sub__ = _operator(SUB, "__sub__")
    __rsub__ = _operator(SUB, "__rsub__", reflected=True)
    __mul__ = _operator(MUL, "__mul__")
    __rmul__ = _operator(MUL, "__rmul__", reflected=True)
    __truediv__ = _operator(DIV, "__truediv__")
    __rtruediv__ = _operator(DIV, "__rtruediv__", reflected=True)
    __rpow__ = _operator(POW, "__rpow__", reflected=True)  # __pow__ is below

    def __pow__(self, exponent: Value | float) -> Value:
        """``v ** 2`` uses the row x**2; ``v ** w`` with a Value w uses pow.

        >>> (Value(3.0) ** 2).data, (Value(-8.0) ** Value(1 / 3)).data
        (9.0, nan)
        """
        if isinstance(exponent, Value):
            return _record(POW, self, exponent)
        constant = _constant(exponent)
        if constant is None:
            return NotImplemented
        return _record(power(constant.data), self)

    def __neg__(self) -> Value:
        """-self. ``(-Value(2.0)).data`` is -2.0."""
        return _record(NEG, self)

    def __pos__(self) -> Value:
        """+self is self: no node is recorded. ``+v is v``."""
        return self

    def __abs__(self) -> Value:
        """|self|; its derivative at 0 is taken as 0. ``abs(Value(-2.0)).data`` is 2.0."""
        return _record(ABS, self)

    # -- functions ----------------------------------------------------------------

    def exp(self) -> Value:
        """e ** self; ``exp(1000)`` is ``inf``, as IEEE arithmetic says.

        >>> Value(0.0).exp().data, Value(1000.0).exp().data
        (1.0, inf)
        """
        return _record(EXP, self)

    def log(self) -> Value:
        """Natural logarithm: ``log(0)`` is ``-inf``, ``log(-1)`` is ``nan``.

        >>> Value(1.0).log().data, Value(0.0).log().data, Value(-1.0).log().data
        (0.0, -inf, nan)
        """
        return _record(LOG, self)

    def sigmoid(self) -> Value:
        """1 / (1 + e ** -self), computed without overflow at any input.

        >>> Value(0.0).sigmoid().data, Value(-1000.0).sigmoid().data
        (0.5, 0.0)
        """
        return _record(SIGMOID, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent.

        >>> Value(0.0).tanh().data, Value(1000.0).tanh().data
        (0.0, 1.0)
        """
        return _record(TANH, self)

    def relu(self) -> Value:
        """max(self, 0); its derivative at 0 is taken as 0.

        >>> Value(-2.0).relu().data, Value(3.0).relu().data
        (0.0, 3.0)
        """
        return _record(RELU, self)

    def sqrt(self) -> Value:
        """Square root: ``sqrt(-1)`` is ``nan``; the derivative at 0 is ``inf``.

        >>> Value(9.0).sqrt().data, Value(-1.0).sqrt().data
        (3.0, nan)
        """
        return _record(SQRT, self)

    def sin(self) -> Value:
        """Sine (radians). ``Value(0.0).sin().data`` is 0.0."""
        return _record(SIN, self)

    def cos(self) -> Value:
        """Cosine (radians). ``Value(0.0).cos().data`` is 1.0."""
        return _record(COS, self)

    # -- reading the value --------------------------------------------------------
    # Comparisons and conversions read the data. While a function is traced,
    # reading it would bake one branch of the function into the trace, so it
    # is refused there instead of silently giving a wrong program.

    def __float__(self) -> float:
        """``self.data``; refused inside ``grad``, ``jvp``, ... where it would drop a derivative.

        >>> float(Value(2.5))
        2.5
        """
        check_float(self)  # math.exp(v) inside grad: an error that says to write v.exp()
        return self._concrete("float()")

    def detach(self) -> Value:
        """A new leaf with the same value: no gradient flows through it.

        >>> x = Value(3.0)
        >>> y = x * x.detach()  # d/dx of x · c, c = 3
        >>> y.backward(); x.grad
        3.0
        """
        return Value(self.data, self.label)

    def __bool__(self) -> bool:
        return self._concrete("bool() (an `if` or `while` on a Value)") != 0.0

    __lt__ = _comparison("<", operator.lt)
    __le__ = _comparison("<=", operator.le)
    __gt__ = _comparison(">", operator.gt)
    __ge__ = _comparison(">=", operator.ge)

    def _concrete(self, use: str) -> float:
        if _mode.get().tracing:
            raise TracingError(
                f"{use} needs a concrete number, but this Value is being traced: the "
                "traced program would hold only one branch. Write the choice with "
                "ops instead (relu, abs, sigmoid, step) or keep it outside the "
                "traced function."
            )
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """In a notebook: the graph that made this Value as SVG (with Graphviz), and its repr.

        >>> set(Value(1.0)._repr_mimebundle_()) <= {"text/plain", "image/svg+xml"}
        True
        """
        from tinygrad_gd.core.drawing import display_bundle  # only when a notebook asks

        return display_bundle(reverse_topological_order(self)[::-1], repr(self))

    # -- reverse mode -------------------------------------------------------------

    def backward(self) -> None:
        """Add d(self)/d(node) into ``.grad`` of every node self depends on.

        Gradients accumulate across calls, as in PyTorch; reset them with
        ``zero_grad`` (nn) or by assigning ``.grad = 0.0``.

        >>> x = Value(2.0)
        >>> y = x * x
        >>> y.backward(); y.backward()
        >>> x.grad
        8.0
        """
        with adjoints(self, into_grad=True):
            pass  # leaving the block adds each adjoint into its node's .grad


class TracingError(TypeError):
    """A traced function read a concrete value (a branch, ``float()``, ...)."""


class AnomalyError(FloatingPointError):
    """Under ``detect_anomaly``, an op's result or gradient was not finite."""


class _SitedValue(Value):
    """A node made under ``detect_anomaly``: it remembers the line that made it."""

    __slots__ = ("_site",)
    _site: tuple[str, int]


_new_value = object.__new__
_current_mode = _mode.get  # bound once, not looked up on every op


def _record(op: Op, a: Value, b: Value | None = None) -> Value:
    """Compute op's forward and, unless recording is off, the node that made it."""
    try:
        data = op.forward(a.data) if b is None else op.forward(a.data, b.data)
    except (ArithmeticError, ValueError):
        data = op.evaluate(a.data) if b is None else op.evaluate(a.data, b.data)
    mode = _current_mode()
    node = _new_value(Value if mode is _EAGER or not mode.detect_anomaly else _SitedValue)
    node.data = data
    node.grad = 0.0
    node.label = ""
    node._op = op
    node._a = a
    node._b = b
    node._users = 0
    node._adjoint = 0.0
    if mode is not _EAGER:  # what the default mode pays for: this test and the one above
        _apply_mode(mode, node)
    return node


def _apply_mode(mode: GraphMode, node: Value) -> None:
    """Site the node under anomaly mode (and check it); unlink it under no_grad."""
    if isinstance(node, _SitedValue):
        node._site = _user_site()
        if not math.isfinite(node.data):
            raise AnomalyError(f"{_describe(node)} gave {node.data}{_where(node)}")
    if not mode.record:
        node._op = node._a = node._b = None


# The whole package (this file is in its core/), ending in a separator.
_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "")


def _user_site() -> tuple[str, int]:
    """The first frame outside this package: the user's line that made a node."""
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


def _describe(node: Value) -> str:
    if node._op is None:
        return f"the leaf {node.label or ''}{' ' if node.label else ''}= {node.data!r}"
    operands = ", ".join(repr(p.data) for p in node.parents)
    return f"{node._op.name}({operands})"


def _where(node: Value) -> str:
    if not isinstance(node, _SitedValue):
        return ""
    filename, line = node._site
    code = linecache.getline(filename, line).strip()
    return f"\n  made at {filename}:{line}" + (f": {code}" if code else "")


def _real(x: object) -> float:
    """A real number as a float, or an error that names what it was."""
    if type(x) is not float and not isinstance(x, numbers.Real):
        raise TypeError(
            "Value needs a real number (int, float or numpy real scalar), "
            f"got {type(x).__name__}: {x!r}"
        )
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(
            f"the number {str(x)[:20]}... ({len(str(x))} digits) is too large for a float"
        ) from None


def _constant(x: object) -> Value | None:
    """A leaf for a number met in arithmetic; None for anything that is not one."""
    if type(x) is float or type(x) is int or isinstance(x, numbers.Real):
        return Value(x)  # type: ignore[arg-type]
    return None


def _as_value(x: object) -> Value:
    node = x if isinstance(x, Value) else _constant(x)
    if node is None:
        raise TypeError(f"an op needs Values or real numbers, got {type(x).__name__}: {x!r}")
    return node


def _data(x: Value | float) -> float:
    return x.data if isinstance(x, Value) else x


# A walk keeps its state in the nodes (counts, adjoints), so two threads walking
# graphs that share a node would mix their counts: walks take turns instead. An
# RLock, because a backward pass walks inside its own turn.
_walking = threading.RLock()


def reverse_topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all the nodes that use it.

    Kahn's algorithm, run backwards and without recursion, so a chain of a
    million nodes is fine: count each node's users within root's graph, then
    emit a node once all its users have been emitted. The counts live in the
    nodes (a slot that is 0 between walks), which spares a set of visited
    nodes and a sort.

    >>> x = Value(1.0, label="x")
    >>> [n.label or n.op.name for n in reverse_topological_order(x.exp() * x)]
    ['mul', 'exp', 'x']
    """
    with _walking:
        return _kahn_order(root)


def _kahn_order(root: Value) -> list[Value]:
    reached = [root]
    try:
        for node in reached:  # grows while iterated: a breadth-first walk
            a, b = node._a, node._b
            if a is not None:
                if not a._users:
                    reached.append(a)
                a._users += 1
            if b is not None:
                if not b._users:
                    reached.append(b)
                b._users += 1
        order = []
        ready = [root]
        while ready:
            node = ready.pop()
            order.append(node)
            a, b = node._a, node._b
            if a is not None:
                a._users -= 1
                if not a._users:
                    ready.append(a)
            if b is not None:
                b._users -= 1
                if not b._users:
                    ready.append(b)
        return order
    except BaseException:  # interrupted: leave every count at 0 for the next walk
        for node in reached:
            node._users = 0
        raise


class adjoints:  # noqa: N801  (used like a function: ``with adjoints(y) as order:``)
    """Inside the block, each node's ``_adjoint`` is d root / d node.

    The block gets the nodes in reverse topological order. Outside a pass
    every adjoint is 0.0, so a pass needs no setting up and a node the root
    does not depend on reads 0.0. With ``create_graph`` the partials are
    evaluated on the nodes themselves, so adjoints are Values with a graph of
    their own. With ``into_grad``, leaving the block without an error adds
    each adjoint into its node's ``.grad`` (that is ``backward``).

    >>> x = Value(3.0)
    >>> with adjoints(x * x) as order:
    ...     x._adjoint, len(order)
    (6.0, 2)
    >>> x._adjoint
    0.0
    """

    __slots__ = ("create_graph", "into_grad", "order", "root")

    def __init__(self, root: Value, create_graph: bool = False, into_grad: bool = False) -> None:
        self.root, self.create_graph, self.into_grad = root, create_graph, into_grad
        self.order: list[Value] = []

    def __enter__(self) -> list[Value]:
        _walking.acquire()
        try:
            self.order = _kahn_order(self.root)
            self.root._adjoint = 1.0
            anomaly = _mode.get().detect_anomaly
            if not self.create_graph:
                _propagate_floats(self.order)
            elif anomaly:
                # The check below names the op being differentiated; the nodes
                # its rule builds must not trip the forward check first.
                with graph_mode(detect_anomaly=False):
                    _propagate_nodes(self.order)
            else:
                _propagate_nodes(self.order)
            if anomaly:
                _check_gradients(self.order)
        except BaseException:
            self._release(into_grad=False)
            raise
        return self.order

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        self._release(into_grad=self.into_grad and error_type is None)

    def _release(self, into_grad: bool) -> None:
        if into_grad:
            for node in self.order:  # one loop: add to .grad and rest the adjoint
                node.grad += node._adjoint
                node._adjoint = 0.0
        else:
            for node in self.order:
                node._adjoint = 0.0
        _walking.release()


def _propagate_floats(order: list[Value]) -> None:
    for node in order:
        op = node._op
        if op is None:
            continue
        a, b, adjoint = node._a, node._b, node._adjoint
        try:
            if b is None:
                partials = op.partials(a.data, node.data)  # type: ignore[union-attr]
            else:
                partials = op.partials(a.data, b.data, node.data)  # type: ignore[union-attr]
        except ArithmeticError:  # a division by zero at a domain edge
            partials = op.partials_at(*_numbers(node))
        a._adjoint += partials[0] * adjoint  # type: ignore[union-attr]
        if b is not None:
            b._adjoint += partials[1] * adjoint


def _propagate_nodes(order: list[Value]) -> None:
    for node in order:
        op = node._op
        if op is None:
            continue
        a, b, adjoint = node._a, node._b, node._adjoint
        partials = op.partials(a, node) if b is None else op.partials(a, b, node)
        # A unary node has b = None and one partial: zip stops after it.
        for parent, partial in zip((a, b), partials, strict=False):
            flow = adjoint if partial == 1.0 else partial * adjoint  # x1 adds no node
            assert parent is not None
            total = parent._adjoint
            # 0.0 + flow would add a node: the first flow is the adjoint itself.
            parent._adjoint = flow if type(total) is float and total == 0.0 else total + flow


def _check_gradients(order: list[Value]) -> None:
    """Find the first op whose backward flow is not finite, and name it.

    In reverse topological order every user of a node comes before it, and
    each user's flows were found finite; so a node whose adjoint is not finite
    got there by their sum.
    """
    for done, user in enumerate(order):
        op, adjoint = user._op, _data(user._adjoint)
        if not math.isfinite(adjoint):
            uses = [u for u in order[:done] if user is u._a or user is u._b]
            raise AnomalyError(
                f"backward: the gradients flowing into {_describe(user)} from its "
                f"{len(uses)} uses sum to {adjoint}, though each was finite"
                + "".join(_where(u) for u in uses[:3])
            )
        if op is None:
            continue
        for operand, partial in zip(user.parents, op.partials_at(*_numbers(user)), strict=True):
            if not math.isfinite(partial * adjoint):
                raise AnomalyError(
                    f"backward through {_describe(user)}: the gradient for operand "
                    f"{operand.data!r} is {partial * adjoint} (local partial "
                    f"{partial}, incoming gradient {adjoint}){_where(user)}"
                )


def _numbers(node: Value) -> list[float]:
    """What a rule reads at a node, as numbers: its operands' data, then its own."""
    return [x.data for x in (node._a, node._b, node) if x is not None]
