"""The eager engine's hot paths, written as Python source from the rule table.

``Value``'s operators and methods, and the loop of a float backward pass, run
for every node of every graph, so they are written out at import as
straight-line Python, one function per method, from the rows of
:mod:`tinygrad_gd.ops`. The table stays the single source: an operator's
forward is the op's own Python operator when its ``forward`` is one (``a * b``),
else a call of its ``forward``; a backward step is the row's ``partials``
applied to a printer of Python source, so the generated code does the same
float operations, in the same order, as the rule called on floats, and gives
bit-identical gradients.

The text is kept: :data:`FORWARD_SOURCE` and :data:`BACKWARD_SOURCE` hold it,
and tracebacks and debuggers show its lines (they are registered with
:mod:`linecache` under ``<tinygrad_gd generated ...>``). Only names this module
makes enter the text: rows are named by their index in ``OPS`` (``_row2``),
never by their name, which is data.

How to read it: ``Value.__mul__`` (``inspect.getsource`` shows it) is

>>> print(FORWARD_SOURCE.split("\\n\\n")[4])
def __mul__(self, other):  # mul
    if type(other) is not _Node:
        if type(other) is not float:
            other = _operand(other)
            if other is None:
                return NotImplemented
        if type(other) is float:
            sd = self.data
            try:
                data = sd * other
            except (ArithmeticError, ValueError):
                data = _row2_evaluate(sd, other)
            if _live:
                return _make(_row2_c1, self, None, data, other)
            node = _Node()
            node.data = data
            node.grad = 0.0
            node._op = _row2_c1
            node._a = self
            node._b = None
            node._users = 0
            node._adjoint = 0.0
            node._const = other
            return node
    sd = self.data
    od = other.data
    try:
        data = sd * od
    except (ArithmeticError, ValueError):
        data = _row2_evaluate(sd, od)
    if _live:
        return _make(_row2, self, other, data)
    node = _Node()
    node.data = data
    node.grad = 0.0
    node._op = _row2
    node._a = self
    node._b = other
    node._users = 0
    node._adjoint = 0.0
    return node

A number on the other side (``_operand`` turns an int or a numpy scalar into a
float, and anything else into None) stays a number: it is kept in the node's
``_const``, under the op ``_row2_c1`` (mul with a number as operand 1, a
:class:`WithConstant`), so ``x * 3.0`` allocates one object, not two. The
forward is the row's own operator, with ``evaluate`` (the IEEE answer) where it
raises; while any graph mode other than the default exists anywhere
(``_live``), the node is made by ``_make``, which reads this context's mode;
otherwise it is made right here.
"""

from __future__ import annotations

import linecache
import math
import operator
from collections.abc import Callable
from typing import Any

from tinygrad_gd.core.ops import (
    ABS,
    ADD,
    COS,
    DIV,
    EXP,
    LOG,
    MUL,
    NEG,
    OPS,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SQRT,
    SUB,
    TANH,
    Op,
    is_row,
)  # fmt: skip

__all__ = [
    "BACKWARD_SOURCE", "FORWARD_SOURCE", "WITH_CONSTANT", "WithConstant", "flows",
    "generate_backward", "generate_forward", "generic_step", "install", "partials_at",
    "rule_inputs", "run",
]  # fmt: skip

# Forwards that are Python operators are written as the operator: a * b, not mul(a, b).
_OPERATOR_TEXT: dict[Callable[..., Any], str] = {
    operator.add: "{0} + {1}", operator.sub: "{0} - {1}", operator.mul: "{0} * {1}",
    operator.truediv: "{0} / {1}", operator.neg: "-{0}",
}  # fmt: skip

# Value's methods that record one row: (name, row, how the operands are taken, docstring).
# Docstrings of the binary operators are one line; the examples of the rest run as tests.
BINARY, REFLECTED, UNARY = "binary", "reflected", "unary"
METHODS: tuple[tuple[str, Op, str, str], ...] = (
    ("__add__", ADD, BINARY, "self + other."), ("__radd__", ADD, REFLECTED, "other + self."),
    ("__sub__", SUB, BINARY, "self - other."), ("__rsub__", SUB, REFLECTED, "other - self."),
    ("__mul__", MUL, BINARY, "self * other."), ("__rmul__", MUL, REFLECTED, "other * self."),
    ("__truediv__", DIV, BINARY, "self / other."),
    ("__rtruediv__", DIV, REFLECTED, "other / self."),
    ("_pow_value", POW, BINARY, "self ** other for a Value other: the row pow."),
    ("__rpow__", POW, REFLECTED, "other ** self: the row pow."),
    ("__neg__", NEG, UNARY, "-self. ``(-Value(2.0)).data`` is -2.0."),
    ("__abs__", ABS, UNARY,
     "|self|; its derivative at 0 is taken as 0. ``abs(Value(-2.0)).data`` is 2.0."),
    ("exp", EXP, UNARY, """e ** self; ``exp(1000)`` is ``inf``, as IEEE arithmetic says.

        >>> Value(0.0).exp().data, Value(1000.0).exp().data
        (1.0, inf)
        """),
    ("log", LOG, UNARY, """Natural logarithm: ``log(0)`` is ``-inf``, ``log(-1)`` is ``nan``.

        >>> Value(1.0).log().data, Value(0.0).log().data, Value(-1.0).log().data
        (0.0, -inf, nan)
        """),
    ("sigmoid", SIGMOID, UNARY, """1 / (1 + e ** -self), computed without overflow at any input.

        >>> Value(0.0).sigmoid().data, Value(-1000.0).sigmoid().data
        (0.5, 0.0)
        """),
    ("tanh", TANH, UNARY, """Hyperbolic tangent.

        >>> Value(0.0).tanh().data, Value(1000.0).tanh().data
        (0.0, 1.0)
        """),
    ("relu", RELU, UNARY, """max(self, 0); its derivative at 0 is taken as 0.

        >>> Value(-2.0).relu().data, Value(3.0).relu().data
        (0.0, 3.0)
        """),
    ("sqrt", SQRT, UNARY, """Square root: ``sqrt(-1)`` is ``nan``; the derivative at 0 is ``inf``.

        >>> Value(9.0).sqrt().data, Value(-1.0).sqrt().data
        (3.0, nan)
        """),
    ("sin", SIN, UNARY, "Sine (radians). ``Value(0.0).sin().data`` is 0.0."),
    ("cos", COS, UNARY, "Cosine (radians). ``Value(0.0).cos().data`` is 1.0."),
)  # fmt: skip
POW_DOC = """``v ** 2`` uses the row x**2; ``v ** w`` with a Value w uses pow.

        >>> (Value(3.0) ** 2).data, (Value(-8.0) ** Value(1 / 3)).data
        (9.0, nan)
        """



class WithConstant:
    """The op of a node with a number among its operands: ``row`` at that number.

    ``x * 3.0`` makes one node, not a node and a leaf for 3.0: the number is kept
    in the node's ``_const``, its other operand in ``_a``, and its op is
    ``WithConstant(MUL, 1)`` (the number is operand 1). A number is a constant of
    the graph: no gradient flows to it, as in PyTorch and JAX. Readers of the
    graph (``Value.op``, ``Value.parents``) see the row and a leaf holding the
    number, made when first read.

    >>> WithConstant(MUL, 1)
    WithConstant(mul, position=1)
    """

    __slots__ = ("position", "row")

    def __init__(self, row: Op, position: int) -> None:
        self.row, self.position = row, position

    def __repr__(self) -> str:
        return f"WithConstant({self.row.name}, position={self.position})"


# One per binary row and side a number can be on (`x ** 2` has power rows instead).
WITH_CONSTANT = {
    (op, position): WithConstant(op, position)
    for op in OPS
    if op.arity == 2
    for position in (0, 1)
}
"""The op of a node with a number operand, keyed by (row, the number's position)."""

# The rows whose backward step is written into the loop itself, most frequent first:
# each costs the ops after it one `is` test.
INLINED: tuple[Op | WithConstant, ...] = (
    MUL, ADD, SUB, DIV, NEG, SIGMOID, TANH, RELU, EXP, LOG,
    WITH_CONSTANT[MUL, 1], WITH_CONSTANT[MUL, 0], WITH_CONSTANT[SUB, 1], WITH_CONSTANT[ADD, 1],
)  # fmt: skip

_INDEX = {op: i for i, op in enumerate(OPS)}

STEP_NAMES = "_step_names"
STEPS_KEPT = 256
"""How many steps of power rows (and other ops) the backward keeps, beyond the fixed rows'."""
_STEP_FILE = "<tinygrad_gd generated step"
"""The key, in the backward's names, of the map from a row to its step function's name."""


def _row_name(op: Op | WithConstant) -> str:
    if isinstance(op, WithConstant):
        return f"_row{_INDEX[op.row]}_c{op.position}"
    return f"_row{_INDEX[op]}"


def _comment(op: Op | WithConstant) -> str:
    # An op's name is data: it enters the text only as a plain identifier, in a comment.
    row = op.row if isinstance(op, WithConstant) else op
    if not row.name.isidentifier():
        return ""
    return f"  # {row.name}" + (" with a number" if row is not op else "")


def _new_node(op: str, a: str, b: str, constant: str | None = None) -> list[str]:
    """Lines making and returning a node in the default mode, inline.

    ``label`` and ``_site`` are left unset: they read "" and None until assigned;
    ``_const`` is set only where the op is a :class:`WithConstant`.
    """
    lines = ["node = _Node()", "node.data = data", "node.grad = 0.0", f"node._op = {op}",
             f"node._a = {a}", f"node._b = {b}", "node._users = 0",
             "node._adjoint = 0.0"]  # fmt: skip
    if constant is not None:
        lines.append(f"node._const = {constant}")
    return lines + ["return node"]


def _forward_lines(op: Op, operands: list[str], namespace: dict[str, Any]) -> list[str]:
    """``data = forward(operands)``; ``op.evaluate`` (the IEEE result) where it raises."""
    row = _row_name(op)
    text = _OPERATOR_TEXT.get(op.forward)
    if text is None:
        namespace[f"{row}_forward"] = op.forward
        text = f"{row}_forward(" + ", ".join(f"{{{i}}}" for i in range(op.arity)) + ")"
    namespace[f"{row}_evaluate"] = op.evaluate
    return ["try:",
            f"    data = {text.format(*operands)}",
            "except (ArithmeticError, ValueError):",
            f"    data = {row}_evaluate({', '.join(operands)})"]  # fmt: skip


def _record_lines(op: str, a: str, b: str) -> list[str]:
    """Return the node; while any non-default graph mode exists, through ``_make``."""
    return ["if _live:", f"    return _make({op}, {a}, {b}, data)", *_new_node(op, a, b)]


def _indented(indent: str, lines: list[str]) -> list[str]:
    return [indent + line for line in lines]


def generate_forward() -> tuple[str, dict[str, Any]]:
    """The source of Value's operators and methods, and the rows and forwards it names.

    >>> source, names = generate_forward()
    >>> "data = sd * od" in source, names["_row2"].name
    (True, 'mul')
    """
    namespace: dict[str, Any] = {}
    src: list[str] = []
    for method, op, kind, _ in METHODS:
        assert method.isidentifier()
        row = _row_name(op)
        namespace[row] = op
        if kind == UNARY:
            src += [f"def {method}(self):{_comment(op)}", "    sd = self.data"]
            src += _indented("    ", _forward_lines(op, ["sd"], namespace))
            src += _indented("    ", _record_lines(row, "self", "None"))
        else:
            # A number on the other side stays a number, kept in the node under the
            # row "with a number" (WithConstant); anything else is _operand's business
            # (a Value, a number as a float, or None: NotImplemented).
            reflected = kind == REFLECTED
            with_number = _row_name(WITH_CONSTANT[op, 0 if reflected else 1])
            namespace[with_number] = WITH_CONSTANT[op, 0 if reflected else 1]
            a, b = ("other", "self") if reflected else ("self", "other")
            src += [f"def {method}(self, other):{_comment(op)}",
                    "    if type(other) is not _Node:",
                    "        if type(other) is not float:",
                    "            other = _operand(other)",
                    "            if other is None:",
                    "                return NotImplemented",
                    "        if type(other) is float:",
                    "            sd = self.data"]  # fmt: skip
            numbers = ["other", "sd"] if reflected else ["sd", "other"]
            src += _indented("            ", _forward_lines(op, numbers, namespace))
            src += _indented("            ", [
                "if _live:",
                f"    return _make({with_number}, self, None, data, other)",
                *_new_node(with_number, "self", "None", constant="other"),
            ])  # fmt: skip
            src += ["    sd = self.data", "    od = other.data"]
            operands = ["od", "sd"] if reflected else ["sd", "od"]
            src += _indented("    ", _forward_lines(op, operands, namespace))
            src += _indented("    ", _record_lines(row, a, b))
        src.append("")
    # v ** n: the row x**n for the number n, looked up directly; v ** w: the row pow.
    src += ["def __pow__(self, exponent):",
            "    if type(exponent) is float or type(exponent) is int:",
            "        row = _power_rows_get(exponent)",
            "        if row is None:",
            "            row = _power_of(exponent)",
            "    elif isinstance(exponent, Value):",
            "        return _pow_value(self, exponent)",
            "    else:",
            "        row = _power_of(exponent)",
            "        if row is None:",
            "            return NotImplemented",
            "    sd = self.data",
            "    try:",
            "        data = row.forward(sd)",
            "    except (ArithmeticError, ValueError):",
            "        data = row.evaluate(sd)"]  # fmt: skip
    src += _indented("    ", _record_lines("row", "self", "None"))
    return "\n".join(src) + "\n", namespace


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
        text = _OPERATOR_TEXT.get(op.forward)
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
    name = f"{_row_name(op)}_forward" if op in _INDEX else f"_power{id(op):x}_forward"
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


def _step_lines(
    op: Op | WithConstant, indent: str, namespace: dict[str, Any]
) -> list[str] | None:
    """Lines adding the flows from ``node`` (adjoint ``g``) into ``a`` (and ``b``) on
    floats, or None where the row's rule cannot be printed.

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
    lines = ["b = node._b"] if "b" in targets else []
    lines += [load for name, load in loads.items() if name in used]
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


def generate_backward() -> tuple[str, dict[str, Any]]:
    """The source of the float backward pass over an ordered graph, and what it names.

    The rows in :data:`INLINED` are written into the loop; every other fixed row gets
    a step function of its own here; a power row gets one when first met
    (``_step_of``); an op made outside the table calls its rule (:func:`generic_step`).

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
            name = "_step" + _row_name(op).removeprefix("_row")
            src += [f"def {name}(node, g):{_comment(op)}", "    a = node._a", *body, ""]
            steps[op] = name
    src += ["def propagate(order):",
            "    for node in order:",
            "        op = node._op",
            "        if op is None:",
            "            continue",
            "        g = node._adjoint",
            "        a = node._a"]  # fmt: skip
    for i, op in enumerate(INLINED):
        row = _row_name(op)
        namespace[row] = op
        body = _step_lines(op, "            ", namespace)
        assert body is not None, "an inlined row's rule must print"
        src.append(f"        {'if' if i == 0 else 'elif'} op is {row}:{_comment(op)}")
        src += body
    src += ["        else:",
            "            step = _steps_get(op)",
            "            if step is None:",
            "                step = _step_of(op)",
            "            step(node, g)"]  # fmt: skip
    namespace[STEP_NAMES] = steps
    return "\n".join(src) + "\n", namespace


FORWARD_SOURCE, FORWARD_NAMES = generate_forward()
"""Value's generated operators and methods, and the rows and forwards their text names."""
BACKWARD_SOURCE, BACKWARD_NAMES = generate_backward()
"""The generated float backward pass, and the rows and forwards its text names."""


def run(source: str, namespace: dict[str, Any], filename: str) -> dict[str, Any]:
    """Execute generated source in ``namespace``, its lines kept for tracebacks.

    >>> names = run("def double(x):\\n    return 2 * x\\n", {}, "<tinygrad_gd example>")
    >>> names["double"](3), linecache.getline("<tinygrad_gd example>", 2).strip()
    (6, 'return 2 * x')
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (our text, not a user's)
    return namespace


def install(
    cls: type, names: dict[str, Any]
) -> tuple[dict[str, Callable[..., Any]], Callable[[list[Any]], None]]:
    """Run the generated text with ``names`` (the engine's own), make the operators and
    methods ``cls``'s, and return them and the float backward pass over an order.

    ``core/value.py`` calls it once, for ``Value``:

    >>> from tinygrad_gd import Value
    >>> Value.__mul__.__qualname__, Value.__mul__.__code__.co_filename
    ('Value.__mul__', '<tinygrad_gd generated forward>')
    """
    forward = run(FORWARD_SOURCE, {**names, **FORWARD_NAMES}, "<tinygrad_gd generated forward>")
    methods = {}
    for name, doc in [(m[0], m[3]) for m in METHODS] + [("__pow__", POW_DOC)]:
        function = forward[name]
        function.__qualname__ = f"{cls.__name__}.{name}"
        function.__module__ = cls.__module__
        function.__doc__ = doc
        if name != "_pow_value":  # __pow__'s helper for a Value exponent
            setattr(cls, name, function)
            methods[name] = function
    backward = run(
        BACKWARD_SOURCE, {**names, **BACKWARD_NAMES}, "<tinygrad_gd generated backward>"
    )
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
            source = "\n".join([f"def step(node, g):{_comment(op)}", "    a = node._a", *body])
            step = run(source + "\n", namespace, f"{_STEP_FILE} {id(op):x}>")["step"]
        steps[op] = step
        return step

    backward["_steps_get"], backward["_step_of"] = steps.get, step_of
    propagate: Callable[[list[Any]], None] = backward["propagate"]
    return methods, propagate
