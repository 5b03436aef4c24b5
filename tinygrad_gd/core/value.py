"""``Value``: a scalar that records the computation graph, and reverse mode over it.

Every arithmetic operator and method computes its row's forward (the rule
table, :mod:`tinygrad_gd.core.ops`) on floats and records a node holding the
row and its operands; they are written at import from the table
(:mod:`tinygrad_gd.core.hotpaths`). ``backward()`` walks the recorded graph in
reverse topological order, without recursion, and multiplies local partials
exactly as the chain rule does: dE/dw = dE/dpred · dpred/dsop · dsop/dw.

>>> w = Value(0.5, label="w")
>>> error = ((w * 0.1).sigmoid() - 0.3) ** 2
>>> error.backward()
>>> round(w.grad, 10)
0.010618232
"""

from __future__ import annotations

import linecache
import math
import operator
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tinygrad_gd.core import hotpaths, walks
from tinygrad_gd.core.escape import check_float
from tinygrad_gd.core.hotpaths import WITH_CONSTANT, WithConstant
from tinygrad_gd.core.modes import GraphMode, current_mode, graph_mode, live_modes
from tinygrad_gd.core.ops import Op, cached_power_row, is_number, power
from tinygrad_gd.core.walks import flows, partials_at, rule_inputs

__all__ = [
    "AnomalyError",
    "GraphMode",
    "TracingError",
    "Value",
    "adjoints",
    "graph_mode",
    "reverse_topological_order",
]

def _comparison(symbol: str, compare: Callable[[float, float], bool]) -> Callable[..., bool]:
    """The method for ``self <symbol> other``: it compares the data."""

    def method(self: Value, other: Any) -> bool:
        if isinstance(other, Value):
            other = other._concrete(symbol)
        elif not is_number(other):
            return NotImplemented  # type: ignore[no-any-return]
        return compare(self._concrete(symbol), other)

    return method


class Value:
    """A scalar node: its ``data``, its accumulated ``grad`` and how it was made.

    Every operator and method that records an op is written at import from the
    rule table (see :mod:`tinygrad_gd.hotpaths`).

    >>> x = Value(3.0, label="x")
    >>> y = x * x + 2 * x
    >>> y.backward()
    >>> y.data, x.grad
    (15.0, 8.0)
    """

    # Parents sit in two slots rather than a tuple: one object per node keeps the
    # garbage collector's work, and the memory, per node low. Every Value, leaf or
    # node, is of this one class, so attribute look-ups stay monomorphic. A node made
    # by an op leaves ``_label`` and ``_site`` unset: one store less each. A number
    # operand is kept in ``_const``, not made a leaf (see hotpaths.WithConstant).
    __slots__ = (
        "data", "grad", "_label", "_op", "_a", "_b", "_users", "_adjoint", "_site", "_const",
    )  # fmt: skip

    data: float
    grad: float  # d root / d self, summed over backward() calls
    _label: str
    _op: Op | WithConstant | None
    _a: Value | None
    _b: Value | None
    _users: int  # only during a graph walk: how many users are still pending
    _adjoint: Any  # d root / d self during a backward pass; 0.0 outside one
    _site: tuple[str, int]  # under detect_anomaly: the user's line that made the node
    _const: float  # under a WithConstant op: the number operand

    def __init__(self, data: float, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.data = _real(data)
        self.grad = 0.0
        if label:
            self._label = label
        self._op = self._a = self._b = None
        self._users = 0
        self._adjoint = 0.0
        if type(self) is Value:
            self.__class__ = _Node  # one class for every Value: see _Node

    @property
    def label(self) -> str:
        """A name for the node ("" until given), used by explain, graphs and compile.

        >>> Value(1.0, label="w").label, (Value(1.0) * 2).label
        ('w', '')
        """
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, label: str) -> None:
        self._label = label

    @classmethod
    def apply(cls, op: Op, *operands: Value | float) -> Value:
        """Apply a rule-table op to Values or numbers, recording a node.

        >>> from tinygrad_gd.core.ops import MUL
        >>> Value.apply(MUL, Value(2.0), 3.0)
        Value(data=6.0, grad=0.0)
        """
        return _record(op, *map(_as_operand, operands))

    # -- the graph, read-only -------------------------------------------------

    @property
    def op(self) -> Op | None:
        """The rule-table op that made this node; None for a leaf.

        >>> (Value(2.0) * 3).op.name
        'mul'
        """
        op = self._op
        return op.row if isinstance(op, WithConstant) else op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was made from, in order, duplicates kept.

        A number operand is a leaf holding it, made when first read (the same
        leaf after): a constant, which backward gives no gradient.

        >>> x = Value(2.0)
        >>> len((x * x).parents), [p.data for p in (3 * x).parents]
        (2, [3.0, 2.0])
        """
        a, b = self._a, self._b
        if a is None:
            return ()
        op = self._op
        if type(op) is WithConstant:
            if b is None:
                b = _constant_leaf(self)
            return (b, a) if op.position == 0 else (a, b)
        if b is None:
            return (a,)
        return (a, b)

    # -- arithmetic and functions: generated, see _install_generated_methods ---------
    # a + b with a number on either side; anything else is NotImplemented, so that
    # Python names both types in its TypeError and numpy can broadcast over arrays.

    if TYPE_CHECKING:

        def __add__(self, other: Value | float) -> Value: ...
        def __radd__(self, other: float) -> Value: ...
        def __sub__(self, other: Value | float) -> Value: ...
        def __rsub__(self, other: float) -> Value: ...
        def __mul__(self, other: Value | float) -> Value: ...
        def __rmul__(self, other: float) -> Value: ...
        def __truediv__(self, other: Value | float) -> Value: ...
        def __rtruediv__(self, other: float) -> Value: ...
        def __pow__(self, exponent: Value | float) -> Value: ...
        def __rpow__(self, base: float) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...
        def exp(self) -> Value: ...
        def log(self) -> Value: ...
        def sigmoid(self) -> Value: ...
        def tanh(self) -> Value: ...
        def relu(self) -> Value: ...
        def sqrt(self) -> Value: ...
        def sin(self) -> Value: ...
        def cos(self) -> Value: ...

    def __pos__(self) -> Value:
        """+self is self: no node is recorded. ``+v is v``."""
        return self

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
        if live_modes and current_mode().tracing:
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
        ``zero_grad`` (nn) or by assigning ``.grad = 0.0``. A backward that
        fails or is interrupted adds nothing: every ``.grad`` is as before.

        >>> x = Value(2.0)
        >>> y = x * x
        >>> y.backward(); y.backward()
        >>> x.grad
        8.0
        """
        if live_modes and current_mode().detect_anomaly:
            with adjoints(self, into_grad=True):
                pass  # leaving the block adds each adjoint into its node's .grad
            return
        with _walking:
            try:
                reached = _walks.backward(self)  # each total in _adjoint, no .grad changed
            except Exception as error:
                _name_a_bad_grad(_walks.order(self), error)
                raise
            _store_totals(reached)


class TracingError(TypeError):
    """A traced function read a concrete value (a branch, ``float()``, ...)."""


class AnomalyError(FloatingPointError):
    """Under ``detect_anomaly``, an op's result or gradient was not finite."""


class _Node(Value):
    """The class of every Value the library makes, and of ``Value(...)`` once made.

    One class, so that the attribute look-ups of the hot paths stay monomorphic
    (a second class makes backward some 40 % slower). Its ``__init__`` is C's,
    so an op allocates a node in one call (``_Node()``) and sets its slots one by
    one. It is named Value, so that reprs and Python's errors name the type users know.
    """

    __slots__ = ()
    __init__ = object.__init__


_Node.__name__ = _Node.__qualname__ = "Value"


def float_leaf(data: float) -> Value:
    """A leaf holding ``data`` (already a float), made without ``__init__``'s checks.

    >>> float_leaf(2.5)
    Value(data=2.5, grad=0.0)
    """
    leaf: Value = _Node()
    leaf.data = data
    leaf.grad = 0.0
    leaf._op = leaf._a = leaf._b = None
    leaf._users = 0
    leaf._adjoint = 0.0
    return leaf


def _constant_leaf(node: Value) -> Value:
    """The leaf holding the number of a node under a WithConstant, made once: it sits
    in ``_b``, where walks find it (and, since the step of a WithConstant op adds
    nothing to ``_b``, no gradient). Made within a walk's turn, so that a walk in
    another thread never finds a leaf it did not count."""
    with _walking:
        if node._b is None:
            node._b = float_leaf(node._const)
        return node._b


def _record(op: Op, *operands: Value | float) -> Value:
    """Compute op's forward and the node that made it (the generic path).

    A number beside a Value, given to a row of the table, is kept in the node
    (a WithConstant), as the operators keep it; otherwise numbers become leaves.
    """
    numbers = [x.data if isinstance(x, Value) else x for x in operands]
    try:
        data = op.forward(*numbers)
    except (ArithmeticError, ValueError):
        data = op.evaluate(*numbers)
    numeric = [type(x) is float for x in operands]
    if numeric in ([True, False], [False, True]):
        position = numeric.index(True)
        constant = WITH_CONSTANT.get((op, position))
        if constant is not None:
            value = operands[1 - position]
            assert isinstance(value, Value)
            return _make(constant, value, None, data, numbers[position])
    values = [x if isinstance(x, Value) else float_leaf(x) for x in operands]
    return _make(op, values[0], values[1] if len(values) == 2 else None, data)


def _make(
    op: Op | WithConstant, a: Value, b: Value | None, data: float, constant: float = 0.0
) -> Value:
    """The node for a computed forward, in whatever graph mode this context is in;
    ``constant`` is the number operand under a WithConstant op."""
    node: Value = _Node()
    node.data = data
    node.grad = 0.0
    node._op = op
    node._a = a
    node._b = b
    node._users = 0
    node._adjoint = 0.0
    if type(op) is WithConstant:
        node._const = constant
    if live_modes:  # some non-default mode exists somewhere: read this context's
        mode = current_mode()
        if mode.detect_anomaly:
            node._site = _user_site()
            if not math.isfinite(data):
                raise AnomalyError(f"{_describe(node)} gave {data}{_where(node)}")
        if not mode.record:
            node._op = node._a = node._b = None
    return node


# Frames in these files are the library's, not the user's line that made a node.
_LIBRARY_FILES = (
    # the whole package (this file is in its core/), ending in a separator
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ""),
    "<tinygrad_gd generated",
)


def _user_site() -> tuple[str, int]:
    """The first frame outside the library: the user's line that made a node."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_LIBRARY_FILES):
        frame = frame.f_back
    return frame.f_code.co_filename, frame.f_lineno


def _describe(node: Value) -> str:
    op = node.op
    if op is None:
        return f"the leaf {node.label or ''}{' ' if node.label else ''}= {node.data!r}"
    operands = ", ".join(map(repr, rule_inputs(node)[:-1]))
    return f"{op.name}({operands})"


def _where(node: Value) -> str:
    site: tuple[str, int] | None = getattr(node, "_site", None)
    if site is None:
        return ""
    filename, line = site
    code = linecache.getline(filename, line).strip()
    return f"\n  made at {filename}:{line}" + (f": {code}" if code else "")


def _real(x: object) -> float:
    """A number as a float, or an error that names what it was."""
    if type(x) is not float and not is_number(x):
        raise TypeError(
            "Value needs a real number (int, float or numpy real scalar), "
            f"got {type(x).__name__}: {x!r}"
        )
    try:
        return float(x)  # type: ignore[arg-type]
    except OverflowError:
        raise OverflowError(
            f"the number {str(x)[:20]}... ({len(str(x))} digits) is too large for a float"
        ) from None


def _operand(x: object) -> Value | float | None:
    """An operand met in arithmetic: a Value as itself, a number as a float, else None."""
    if isinstance(x, Value):
        return x
    if is_number(x):
        return _real(x)
    return None


def _power_of(exponent: object) -> Op | None:
    """The row x**n for a number met as an exponent; None for anything else."""
    return power(_real(exponent)) if is_number(exponent) else None


def _as_operand(x: object) -> Value | float:
    operand = _operand(x)
    if operand is None:
        raise TypeError(f"an op needs Values or real numbers, got {type(x).__name__}: {x!r}")
    return operand


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

    A number operand is in the order as the leaf ``parents`` shows for it.

    >>> x = Value(1.0, label="x")
    >>> [n.label or n.op.name for n in reverse_topological_order(x.exp() * x)]
    ['mul', 'exp', 'x']
    """
    with _walking:
        order = _walks.order(root)
        unread = [n for n in order if n._b is None and type(n._op) is WithConstant]
        if not unread:
            return order
        for node in unread:
            _constant_leaf(node)
        return _walks.order(root)


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
            self.order = _walks.order(self.root)
            self.root._adjoint = 1.0
            anomaly = bool(live_modes) and current_mode().detect_anomaly
            if not self.create_graph:
                _walks.propagate(self.order)
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
            _rest(self.order)
            _walking.release()
            raise
        return self.order

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        try:
            if self.into_grad and error_type is None:
                _add_grads(self.order)
                _store_totals(self.order)
        finally:
            _rest(self.order)
            _walking.release()


def _add_grads(order: list[Value]) -> None:
    """Put each node's total, ``.grad`` plus its adjoint, in its ``_adjoint``; no
    ``.grad`` changes. A ``.grad`` that cannot take the sum (None, a string) is named."""
    try:
        for node in order:
            node._adjoint = node.grad + node._adjoint
    except Exception as error:
        _name_a_bad_grad(order, error)
        raise


def _name_a_bad_grad(nodes: list[Value], error: Exception) -> None:
    """Raise the error that names the first node whose ``.grad`` cannot take a gradient,
    if one cannot: the cause of ``error``."""
    for node in nodes:
        try:
            node.grad + 0.0
        except Exception:
            raise TypeError(
                f"backward: the .grad of {_describe(node)} is {node.grad!r} "
                f"({type(node.grad).__name__}), which cannot take its gradient; "
                "set it to a number (.grad = 0.0). No .grad was changed."
            ) from error


def _store_totals(nodes: list[Value]) -> None:
    """Move each node's total from ``_adjoint`` into ``.grad``, resting the adjoint.

    All of them, even if an interrupt arrives in between, so that a pass counts
    whole. The loop's body cannot raise, and Python takes an interrupt only at
    the jump back to the loop's top, after a whole node: the handler goes on
    with the nodes not yet done.
    """
    remaining = iter(nodes)
    try:
        for node in remaining:
            node.grad = node._adjoint
            node._adjoint = 0.0
    except BaseException:
        for node in remaining:
            node.grad = node._adjoint
            node._adjoint = 0.0
        raise
def _rest(order: list[Value]) -> None:
    """Every adjoint back to 0.0, as between passes."""
    for node in order:
        node._adjoint = 0.0


def float_gradients(root: Value, targets: list[Value]) -> list[float]:
    """d root / d target for each target, on floats, outside anomaly mode.

    >>> x = Value(3.0)
    >>> float_gradients(x * x, [x])
    [6.0]
    """
    with _walking:
        reached = _walks.adjoints(root)
        try:
            return [x._adjoint for x in targets]
        finally:
            _rest(reached)


def _itself(node: Value) -> Value:
    return node


def _propagate_nodes(order: list[Value]) -> None:
    for node in order:
        op = node.op
        if op is None:
            continue
        adjoint = node._adjoint
        # The rule applied to the nodes (and numbers): partials with graphs of their own.
        for operand, partial in flows(node, op.partials(*rule_inputs(node, read=_itself))):
            flow = adjoint if partial == 1.0 else partial * adjoint  # x1 adds no node
            total = operand._adjoint
            # 0.0 + flow would add a node: the first flow is the adjoint itself.
            operand._adjoint = flow if type(total) is float and total == 0.0 else total + flow


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
        for operand, partial in flows(user, partials_at(user)):
            if not math.isfinite(partial * adjoint):
                raise AnomalyError(
                    f"backward through {_describe(user)}: the gradient for operand "
                    f"{operand.data!r} is {partial * adjoint} (local partial "
                    f"{partial}, incoming gradient {adjoint}){_where(user)}"
                )


# -- the generated hot paths ------------------------------------------------------

# What the generated text may name besides its own rows and forwards: this module's.
_GENERATED_GLOBALS = {
    "Value": Value, "_Node": _Node, "_live": live_modes, "_make": _make, "_operand": _operand,
    "_power_rows_get": cached_power_row, "_power_of": _power_of,
}  # fmt: skip

# The generated methods' docstrings are examples too: doctest finds them here.
__test__ = hotpaths.install(Value, _GENERATED_GLOBALS)
_walks = walks.install()
