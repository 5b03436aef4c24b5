"""The eager engine's hot paths, written as Python source from the rule table.

``Value``'s operators and methods run for every node of every graph, so they
are written out at import as straight-line Python, one function per method,
from the rows of :mod:`tinygrad_gd.core.ops`. The table stays the single
source: an operator's forward is the op's own Python operator when its
``forward`` is one (``a * b``), else a call of its ``forward``. The backward
walks are written the same way, in :mod:`tinygrad_gd.core.walks`.

The text is kept: :data:`FORWARD_SOURCE` holds it, and tracebacks and
debuggers show its lines (they are registered with :mod:`linecache` under
``<tinygrad_gd generated ...>``). Only names this module makes enter the text:
rows are named by their index in ``OPS`` (``_row2``), never by their name,
which is data.

How to read it: ``Value.__mul__`` (``inspect.getsource`` shows it) is

>>> print(FORWARD_SOURCE.split("\\n\\n")[4])
def __mul__(self, other):  # mul
    kind = type(other)
    if kind is not _Node:
        if kind is float:
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
        other = _operand(other)
        if other is None:
            return NotImplemented
        if type(other) is float:  # an int or a numpy number, as a float
            return __mul__(self, other)
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

A number on the other side stays a number (``_operand`` turns an int or a
numpy scalar into a float, and anything that is not a number into None): it is
kept in the node's ``_const``, under the op ``_row2_c1`` (mul with a number as
operand 1, a :class:`WithConstant`), so ``x * 3.0`` allocates one object, not
two. The forward is the row's own operator, with ``evaluate`` (the IEEE
answer) where it raises; while any graph mode other than the default exists
anywhere (``_live``), the node is made by ``_make``, which reads this
context's mode; otherwise it is made right here.
"""

from __future__ import annotations

import linecache
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
)  # fmt: skip

__all__ = [
    "FORWARD_SOURCE", "METHODS", "OPERATOR_TEXT", "WITH_CONSTANT", "WithConstant", "comment",
    "generate_forward", "install", "row_name", "run",
]  # fmt: skip

# Forwards that are Python operators are written as the operator: a * b, not mul(a, b).
OPERATOR_TEXT: dict[Callable[..., Any], str] = {
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

_INDEX = {op: i for i, op in enumerate(OPS)}


def row_name(op: Op | WithConstant) -> str:
    """The name of a fixed row, or of one with a number, in generated text: ``_row2``,
    ``_row2_c1``; never its name, which is data.

    >>> row_name(MUL), row_name(WITH_CONSTANT[MUL, 1])
    ('_row2', '_row2_c1')
    """
    if isinstance(op, WithConstant):
        return f"_row{_INDEX[op.row]}_c{op.position}"
    return f"_row{_INDEX[op]}"


def comment(op: Op | WithConstant) -> str:
    """A comment naming the op in generated text, where its name is a plain identifier
    (an op's name is data: it enters the text only there).

    >>> comment(WITH_CONSTANT[MUL, 1])
    '  # mul with a number'
    """
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
    row = row_name(op)
    text = OPERATOR_TEXT.get(op.forward)
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
        row = row_name(op)
        namespace[row] = op
        if kind == UNARY:
            src += [f"def {method}(self):{comment(op)}", "    sd = self.data"]
            src += _indented("    ", _forward_lines(op, ["sd"], namespace))
            src += _indented("    ", _record_lines(row, "self", "None"))
        else:
            # A number on the other side stays a number, kept in the node under the
            # row "with a number" (WithConstant); anything else but a node is
            # _operand's business (a Value, any other number as a float, or None).
            reflected = kind == REFLECTED
            with_number = row_name(WITH_CONSTANT[op, 0 if reflected else 1])
            namespace[with_number] = WITH_CONSTANT[op, 0 if reflected else 1]
            a, b = ("other", "self") if reflected else ("self", "other")
            src += [f"def {method}(self, other):{comment(op)}",
                    "    kind = type(other)",
                    "    if kind is not _Node:",
                    "        if kind is float:",
                    "            sd = self.data"]  # fmt: skip
            numbers = ["other", "sd"] if reflected else ["sd", "other"]
            src += _indented("            ", _forward_lines(op, numbers, namespace))
            src += _indented("            ", [
                "if _live:",
                f"    return _make({with_number}, self, None, data, other)",
                *_new_node(with_number, "self", "None", constant="other"),
            ])  # fmt: skip
            src += ["        other = _operand(other)",
                    "        if other is None:",
                    "            return NotImplemented",
                    "        if type(other) is float:  # an int or a numpy number, as a float",
                    f"            return {method}(self, other)"]  # fmt: skip
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


FORWARD_SOURCE, FORWARD_NAMES = generate_forward()
"""Value's generated operators and methods, and the rows and forwards their text names."""


def run(source: str, namespace: dict[str, Any], filename: str) -> dict[str, Any]:
    """Execute generated source in ``namespace``, its lines kept for tracebacks.

    >>> names = run("def double(x):\\n    return 2 * x\\n", {}, "<tinygrad_gd example>")
    >>> names["double"](3), linecache.getline("<tinygrad_gd example>", 2).strip()
    (6, 'return 2 * x')
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (our text, not a user's)
    return namespace


def install(cls: type, names: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Run the generated text with ``names`` (the engine's own), and make the operators
    and methods ``cls``'s; return them.

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
    return methods
