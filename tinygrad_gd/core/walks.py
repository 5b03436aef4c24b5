"""The float backward walks, written as Python source from the rule table.

A backward pass runs a step per node, so its loops are written out at import
(like ``Value``'s operators, :mod:`tinygrad_gd.core.hotpaths`): each row's
``partials`` is applied to a printer of Python source, so the text does the
same float operations, in the same order, as the rule called on floats, and
gives bit-identical gradients. The most common rows are written into the
loops; every other fixed row gets a step function; a power row gets one when
first met; an op made outside the table calls its rule (:func:`generic_step`).

Three walks. ``order(root)``: the nodes in reverse topological order, by
Kahn's algorithm (a node is taken once all its users have been) after
:func:`count_users` has counted every node's users. ``backward(root)`` and
``adjoints(root)`` (``float_gradients``) fold the float pass into such a walk,
so a node's adjoint is final when it is taken: ``backward`` puts its total
``.grad + adjoint`` into ``_adjoint``, and both add its flows into its
operands, in the same order as a pass over ``order`` would add them.

Those two count nothing while the graph, seen from root, is a path: while each
node taken has one operand that is a node, the others leaves or numbers, that
operand has no other user in the graph (every node below it was made before
it, and cannot use it), so it is the next node Kahn's walk would take. Down a
path (a chain, a recurrence, the tutorial's error) a node is taken, its flows
added and the next one found in one step. At the first node with two operands
that are nodes, a Kahn walk from that node (``_rest_backward``,
``_rest_adjoints``) takes the rest; a leaf met on the path takes its total at
the very end, when all its flows are in.

A walk that fails puts every count (and, for the last two, every adjoint) back
to 0. ``propagate(order)`` runs the same flows over an order already made;
its caller rests the adjoints.

>>> print(BACKWARD_SOURCE[BACKWARD_SOURCE.index("            elif op is _row9"):].split("elif")[1])
 op is _row9:  # sigmoid
                out = node.data
                a._adjoint += (out * ((1.0) - out)) * g
<BLANKLINE>
"""

from __future__ import annotations

import linecache
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinygrad_gd.core.hotpaths import (
    OPERATOR_TEXT,
    WITH_CONSTANT,
    WithConstant,
    comment,
    row_name,
    run,
)
from tinygrad_gd.core.ops import (
    ADD,
    DIV,
    EXP,
    LOG,
    MUL,
    NEG,
    OPS,
    RELU,
    SIGMOID,
    SUB,
    TANH,
    Op,
    is_row,
)  # fmt: skip

__all__ = [
    "BACKWARD_SOURCE", "INLINED", "Walks", "count_users", "flows", "generate_backward",
    "generic_step", "install", "partials_at", "rule_inputs",
]  # fmt: skip

# The rows whose backward step is written into the loops themselves, most frequent
# first: each costs the ops after it one `is` test.
INLINED: tuple[Op | WithConstant, ...] = (
    MUL, ADD, SUB, DIV, NEG, SIGMOID, TANH, RELU, EXP, LOG,
    WITH_CONSTANT[MUL, 1], WITH_CONSTANT[MUL, 0], WITH_CONSTANT[SUB, 1], WITH_CONSTANT[ADD, 1],
)  # fmt: skip

STEP_NAMES = "_step_names"
"""The key, in the backward's names, of the map from a row to its step function's name."""
STEPS_KEPT = 256
"""How many steps of power rows (and other ops) the backward keeps, beyond the fixed rows'."""
_STEP_FILE = "<tinygrad_gd generated step"


class _Source:
    """Python source text of a float expression, printed by applying a rule to it.

    Every operation is parenthesized, so the printed code evaluates exactly the
    operations, in exactly the order, that the rule evaluates on floats.
    """

    __slots__ = ("names", "text")

    def __init__(self, text: str, names: frozenset[str]) -> None:
        self.text, self.names = text, names

    @classmethod
    def apply(cls, op: Op, *operands: Any) -> _Source:
        """The hook ``Op.__call__`` uses: print ``op`` applied to the operands."""
        parts = [_source(x) for x in operands]
        texts = [p.text for p in parts]
        names = frozenset().union(*(p.names for p in parts))
        text = OPERATOR_TEXT.get(op.forward)
        if text is not None:
            return cls("(" + text.format(*texts) + ")", names)
        forward = _forward_name(op)
        return cls(f"{forward}({', '.join(texts)})", names | {forward})

    def __add__(self, other: Any) -> _Source:
        return _Source.apply(ADD, self, other)

    def __radd__(self, other: Any) -> _Source:
        return _Source.apply(ADD, other, self)

    def __sub__(self, other: Any) -> _Source:
        return _Source.apply(SUB, self, other)

    def __rsub__(self, other: Any) -> _Source:
        return _Source.apply(SUB, other, self)

    def __mul__(self, other: Any) -> _Source:
        return _Source.apply(MUL, self, other)

    def __rmul__(self, other: Any) -> _Source:
        return _Source.apply(MUL, other, self)

    def __truediv__(self, other: Any) -> _Source:
        return _Source.apply(DIV, self, other)

    def __rtruediv__(self, other: Any) -> _Source:
        return _Source.apply(DIV, other, self)

    def __neg__(self) -> _Source:
        return _Source.apply(NEG, self)

    def __bool__(self) -> bool:  # a rule that branches on a value cannot be printed
        raise TypeError("a printed rule cannot branch on a value")


# The forwards a rule being printed calls, by the name its text gives them.
_CALLED: dict[str, Callable[..., Any]] = {}


def _forward_name(op: Op) -> str:
    """The name of a row's forward in printed text; KeyError for an op outside the
    table, whose rule is not printed (it may read state that changes later)."""
    if not is_row(op):
        raise KeyError(op.name)
    name = f"{row_name(op)}_forward" if op in OPS else f"_power{id(op):x}_forward"
    _CALLED[name] = op.forward
    return name


def _source(x: Any) -> _Source:
    if isinstance(x, _Source):
        return x
    if type(x) in (int, float) and math.isfinite(x):
        return _Source(f"({float(x)!r})", frozenset())
    raise TypeError(f"a printed rule can hold only finite numbers, got {x!r}")



# -- the generic paths: any node, read in full -----------------------------------------


def rule_inputs(node: Any, read: Callable[[Any], Any] = operator.attrgetter("data")) -> list[Any]:
    """What a rule reads at a node: its operands, then the node, each ``read`` (as
    numbers by default); a number operand is itself, at its position.

    >>> from tinygrad_gd import Value
    >>> rule_inputs(3 - Value(1.0))
    [3.0, 1.0, 2.0]
    """
    op, a, b = node._op, node._a, node._b
    if type(op) is WithConstant:
        if op.position == 0:
            return [node._const, read(a), read(node)]
        return [read(a), node._const, read(node)]
    return [read(x) for x in (a, b, node) if x is not None]


def partials_at(node: Any) -> tuple[float, ...]:
    """The local partials at a node's numbers, in operand order: its rule, IEEE at
    domain edges.

    >>> from tinygrad_gd import Value
    >>> partials_at(Value(2.0) * 3.0)
    (3.0, 2.0)
    """
    op = node._op
    row = op.row if type(op) is WithConstant else op
    return row.partials_at(*rule_inputs(node))


def flows(node: Any, partials: tuple[Any, ...]) -> list[tuple[Any, Any]]:
    """The operands that take a flow from ``node``, each with its local partial: every
    operand but a number (``partials`` are in operand order, numbers included).

    >>> from tinygrad_gd import Value
    >>> x = Value(2.0)
    >>> flows(3.0 * x, (2.0, 3.0)) == [(x, 3.0)]
    True
    """
    op, a, b = node._op, node._a, node._b
    with_constant = type(op) is WithConstant
    arity = 2 if with_constant or b is not None else 1
    if len(partials) != arity:
        name = op.row.name if with_constant else op.name
        raise ValueError(f"the rule of {name} gave {len(partials)} partials for {arity} operands")
    if with_constant:
        return [(a, partials[1 - op.position])]
    return [(a, partials[0])] if b is None else [(a, partials[0]), (b, partials[1])]


def generic_step(node: Any, adjoint: Any) -> None:
    """The float backward step of any op: one made outside the table, or one whose
    rule cannot be printed."""
    for operand, partial in flows(node, partials_at(node)):
        operand._adjoint += partial * adjoint



def count_users(root: Any) -> list[Any]:
    """Every node ``root`` depends on, root first, each one's ``_users`` set to how
    many times the nodes reached use it (an interrupted count puts them back to 0).

    >>> from tinygrad_gd import Value
    >>> x = Value(2.0)
    >>> reached = count_users(x * x)
    >>> len(reached), x._users
    (2, 2)
    >>> x._users = 0
    """
    reached = [root]
    append = reached.append
    try:
        for node in reached:  # grows while iterated: a breadth-first walk
            a = node._a
            if a is not None:  # a leaf has neither operand
                users = a._users
                if not users:
                    append(a)
                a._users = users + 1
                b = node._b
                if b is not None:
                    users = b._users
                    if not users:
                        append(b)
                    b._users = users + 1
        return reached
    except BaseException:
        for node in reached:
            node._users = 0
        raise


def _step_lines(
    op: Op | WithConstant, indent: str, namespace: dict[str, Any]
) -> list[str] | None:
    """Lines adding the flows from ``node`` (adjoint ``g``) into its operands ``a``
    (and ``b``, both already read) on floats, or None where the rule cannot be printed.

    A node's operands are ``a`` and ``b`` in order, except under a
    :class:`WithConstant`: there ``a`` is the one operand that is a node, the
    number (``cd``) is at its position, and only ``a`` takes a flow.
    """
    if isinstance(op, WithConstant):
        row, names = op.row, ["cd", "ad", "out"] if op.position == 0 else ["ad", "cd", "out"]
        targets = {"a": 1 - op.position}  # the node operand and its partial's index
    else:
        row, names = op, ["ad", "bd", "out"] if op.arity == 2 else ["ad", "out"]
        targets = {"a": 0, "b": 1} if op.arity == 2 else {"a": 0}
    _CALLED.clear()
    try:
        partials = row.partials(*(_Source(n, frozenset([n])) for n in names))
        printed = [_source(p) for p in partials]
    except (TypeError, KeyError):
        return None
    if len(printed) != row.arity:
        return None
    printed = [printed[i] for i in targets.values()]
    used = frozenset().union(*(p.names for p in printed))
    namespace.update((name, _CALLED[name]) for name in used if name in _CALLED)
    loads = {"ad": "ad = a.data", "bd": "bd = b.data", "cd": "cd = node._const",
             "out": "out = node.data"}  # fmt: skip
    lines = [load for name, load in loads.items() if name in used]
    texts = [p.text for p in printed]
    # Only a division or a forward can raise on floats (+ - * overflow to inf). Where
    # one does, at a domain edge, the rule called on numbers gives the IEEE answer.
    if any("/" in p.text or any(n.endswith("_forward") for n in p.names) for p in printed):
        lines.append("try:")
        lines += [f"    p{i} = {text}" for i, text in zip(targets.values(), texts, strict=True)]
        lines.append("except (ArithmeticError, ValueError):")
        every = ", ".join(f"p{i}" for i in range(row.arity))
        lines.append(f"    {every if row.arity > 1 else every + ','} = _partials_at(node)")
        texts = [f"p{i}" for i in targets.values()]
    # 1.0 * g is g, bit for bit: the flow of a partial 1 is the adjoint itself.
    lines += [f"{target}._adjoint += " + ("g" if text == "(1.0)" else f"{text} * g")
              for target, text in zip(targets, texts, strict=True)]  # fmt: skip
    return [indent + line for line in lines]



def _dispatch_lines(indent: str, namespace: dict[str, Any]) -> list[str]:
    """The flows from ``node`` (op ``op``, adjoint ``g``) into its operands ``a``, ``b``:
    the rows of :data:`INLINED` written out, any other op's step called."""
    lines = []
    for i, op in enumerate(INLINED):
        row = row_name(op)
        namespace[row] = op
        body = _step_lines(op, indent + "    ", namespace)
        assert body is not None, "an inlined row's rule must print"
        lines += [f"{indent}{'if' if i == 0 else 'elif'} op is {row}:{comment(op)}", *body]
    return lines + [f"{indent}else:",
                    f"{indent}    step = _steps_get(op)",
                    f"{indent}    if step is None:",
                    f"{indent}        step = _step_of(op)",
                    f"{indent}    step(node, g)"]  # fmt: skip


# Kahn's loop: take the next node, or stop when none is ready. The operand released
# last is taken at once rather than pushed and popped: the same order, less work.
_NEXT = ["if not ready:", "    break", "node = pop()"]
_RELEASE = [
    "u = a._users - 1", "a._users = u",
    "if b is None:", "    if u:", *("        " + line for line in _NEXT),
    "    else:", "        node = a", "    continue",
    "v = b._users - 1", "b._users = v",
    "if v:", "    if u:", *("        " + line for line in _NEXT),
    "    else:", "        node = a",
    "else:", "    if not u:", "        push(a)", "    node = b",
]  # fmt: skip


def _walk(name: str, setup: list[str], each: list[str], flows: list[str], result: str,
          reset: str) -> list[str]:  # fmt: skip
    """A walk: count users, ``setup``, then Kahn's loop from root doing ``each`` for
    every node and ``flows`` for every node with operands; if it fails, ``reset`` the
    reached nodes. A float walk's root has its adjoint set by ``setup`` or, for the
    rest of a path walk, already by that walk."""
    loop = [*each, "op = node._op", "if op is None:", *("    " + line for line in _NEXT),
            "    continue", "a = node._a", "b = node._b", *flows, *_RELEASE]  # fmt: skip
    return [f"def {name}(root):",
            "    reached = _count_users(root)",
            "    ready = []",
            "    push = ready.append",
            "    pop = ready.pop",
            "    node = root",
            "    try:",
            *("        " + line for line in setup),
            "        while True:",
            *("            " + line for line in loop),
            f"        return {result}",
            "    except BaseException:",
            f"        {reset}(reached)",
            "        raise",
            ""]  # fmt: skip


def _keep_once(leaf: str, indent: str) -> list[str]:
    """Lines keeping ``leaf`` for the end of a path walk, the first time it is met;
    kept before marked, so that an interrupt never leaves a mark unkept."""
    return [f"{indent}if not {leaf}._users:", f"{indent}    keep({leaf})",
            f"{indent}    {leaf}._users = 1"]  # fmt: skip


def _path_walk(name: str, rest: str, each: list[str], flows: list[str],
               leaf: list[str]) -> list[str]:  # fmt: skip
    """A walk down the path from root, counting nothing (see the module's docstring):
    each node does ``each`` and ``flows``; the next is its one operand that is a
    node. A leaf met on the way is kept once, marked by ``_users`` 1, and does
    ``leaf`` at the end. At a node with two operands that are nodes, ``rest`` (a
    Kahn walk) takes over from it: it counts a kept leaf's users on top of the
    mark, so never takes that leaf, which stays this walk's to finish."""
    return [f"def {name}(root):",
            "    path = []",
            "    leaves = []",
            "    append = path.append",
            "    keep = leaves.append",
            "    node = root",
            "    ahead = None",
            "    try:",
            "        root._adjoint = 1.0",
            "        if root._op is None:",
            f"            return {rest}(root)",
            "        while True:",
            "            append(node)",
            "            g = node._adjoint",
            "            op = node._op",
            "            a = node._a",
            "            b = node._b",
            "            ahead = None",
            "            if a._a is None:",
            *_keep_once("a", "                "),
            "            else:",
            "                ahead = a",
            "            if b is not None:",
            "                if b._a is None:",
            *_keep_once("b", "                    "),
            "                elif ahead is None:",
            "                    ahead = b",
            "                else:  # a second operand that is a node: the path ends",
            f"                    path[-1:] = {rest}(node)",
            "                    break",
            *("            " + line for line in each),
            *("            " + line for line in flows),
            "            if ahead is None:",
            "                break",
            "            node = ahead",
            "        for node in leaves:",
            "            node._users = 0",
            *("            " + line for line in leaf),
            "        path += leaves",
            "        return path",
            "    except BaseException:",
            "        _reset(path)",
            "        _reset(leaves)",
            "        _reset([node] if ahead is None else [node, ahead])  # not yet in path",
            "        raise",
            ""]  # fmt: skip


def generate_backward() -> tuple[str, dict[str, Any]]:
    """The source of the float backward walks, and the rows and forwards it names.

    >>> source, names = generate_backward()
    >>> "a._adjoint += (out * ((1.0) - out)) * g" in source  # sigmoid: out·(1 - out)
    True
    """
    namespace: dict[str, Any] = {"_partials_at": partials_at}
    src: list[str] = []
    steps: dict[Op | WithConstant, str] = {}
    every: list[Op | WithConstant] = [*OPS, *WITH_CONSTANT.values()]
    for op in every:
        body = None if op in INLINED else _step_lines(op, "    ", namespace)
        if body is not None:
            name = "_step" + row_name(op).removeprefix("_row")
            binary = op.arity == 2 if isinstance(op, Op) else False
            src += [f"def {name}(node, g):{comment(op)}", "    a = node._a",
                    *(["    b = node._b"] if binary else []), *body, ""]  # fmt: skip
            steps[op] = name
    src += ["def propagate(order):",
            "    for node in order:",
            "        op = node._op",
            "        if op is None:",
            "            continue",
            "        g = node._adjoint",
            "        a = node._a",
            "        b = node._b",
            *_dispatch_lines("        ", namespace),
            ""]  # fmt: skip
    dispatch = _dispatch_lines("", namespace)
    src += _walk("order", ["order = []", "emit = order.append"], ["emit(node)"], [], "order",
                 "_reset_users")  # fmt: skip
    total = ["g = node._adjoint", "node._adjoint = node.grad + g"]
    src += _walk("_rest_backward", [], total, dispatch, "reached", "_reset")
    src += _walk("_rest_adjoints", [], ["g = node._adjoint"], dispatch, "reached", "_reset")
    src += _path_walk("backward", "_rest_backward", ["node._adjoint = node.grad + g"], dispatch,
                      ["node._adjoint = node.grad + node._adjoint"])  # fmt: skip
    src += _path_walk("adjoints", "_rest_adjoints", [], dispatch, [])
    namespace[STEP_NAMES] = steps
    return "\n".join(src) + "\n", namespace


BACKWARD_SOURCE, BACKWARD_NAMES = generate_backward()
"""The generated float backward walks, and the rows and forwards their text names."""


def _reset_users(reached: list[Any]) -> None:
    for node in reached:
        node._users = 0


def _reset(reached: list[Any]) -> None:
    for node in reached:
        node._users = 0
        node._adjoint = 0.0


@dataclass(frozen=True)
class Walks:
    """The generated walks, ready to run (see the module's docstring)."""

    order: Callable[[Any], list[Any]]
    """The nodes root depends on, in reverse topological order."""
    backward: Callable[[Any], list[Any]]
    """The nodes root depends on, each ``_adjoint`` its ``.grad`` plus d root / d node."""
    adjoints: Callable[[Any], list[Any]]
    """The nodes root depends on, each ``_adjoint`` d root / d node."""
    propagate: Callable[[list[Any]], None]
    """The flows of a float pass over an order whose root's ``_adjoint`` is set."""


def install() -> Walks:
    """Run the generated text and return its walks; ``core/value.py`` calls it once.

    >>> from tinygrad_gd import Value
    >>> walks = install()
    >>> x = Value(3.0)
    >>> reached = walks.adjoints(x * x)
    >>> x._adjoint
    6.0
    >>> _reset(reached)
    """
    names = {**BACKWARD_NAMES, "_count_users": count_users, "_reset_users": _reset_users,
             "_reset": _reset}  # fmt: skip
    backward = run(BACKWARD_SOURCE, names, "<tinygrad_gd generated backward>")
    fixed = {op: backward[name] for op, name in backward[STEP_NAMES].items()}
    steps = dict(fixed)

    def step_of(op: Op) -> Callable[[Any, Any], None]:
        """The float step of an op met for the first time: a power row's is written
        from its rule; any other op calls its rule. At most STEPS_KEPT are kept."""
        if len(steps) >= len(fixed) + STEPS_KEPT:
            for name in [f for f in linecache.cache if f.startswith(_STEP_FILE)]:
                del linecache.cache[name]
            steps.clear()
            steps.update(fixed)
        namespace: dict[str, Any] = {"_partials_at": partials_at}
        body = _step_lines(op, "    ", namespace) if is_row(op) else None
        if body is None:
            step: Callable[[Any, Any], None] = generic_step
        else:
            source = "\n".join([f"def step(node, g):{comment(op)}", "    a = node._a", *body])
            step = run(source + "\n", namespace, f"{_STEP_FILE} {id(op):x}>")["step"]
        steps[op] = step
        return step

    backward["_steps_get"], backward["_step_of"] = steps.get, step_of
    return Walks(backward["order"], backward["backward"], backward["adjoints"],
                 backward["propagate"])  # fmt: skip
