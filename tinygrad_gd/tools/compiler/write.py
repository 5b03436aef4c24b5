"""Tracing and writing: run ``f`` on placeholder Values, write the program it computed.

The forward pass is one line per op; the reverse pass is the rule table's own
``partials`` printed through :class:`~tinygrad_gd.core.symbolic.Expr`, so the
table stays the one source of every derivative. Names are chosen
deterministically and checked (:func:`is_safe`): no label reaches the source
unless it is a plain identifier of its own.
"""

from __future__ import annotations

import ast
import gc
import inspect
import keyword
import math
import numbers
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from typing import Any, NamedTuple

import numpy as np

from tinygrad_gd._support.checks import function_name as _name
from tinygrad_gd._support.checks import parameter_names
from tinygrad_gd.core.autodiff import resolve_argnums
from tinygrad_gd.core.ops import (
    ADD,
    ATOM,
    DIV,
    MUL,
    OPS,
    SUB,
    Op,
    custom_op_names,
    is_custom,
    is_row,
)
from tinygrad_gd.core.symbolic import Expr
from tinygrad_gd.core.transforms import topological_order
from tinygrad_gd.core.value import TracingError, Value, graph_mode

__all__ = [
    "Code", "CodeExpr", "Line", "Structure", "check_wrt", "code_line", "collector_paused",
    "map_tree", "required_positional", "run_traced", "trace", "tree_leaves",
]  # fmt: skip

# A structure describes one argument: None for a number or an array, else
# (list or tuple, the structures of its items). Equal structures share a program.
Structure = Any


# -- tracing ------------------------------------------------------------------------------

@contextmanager
def collector_paused() -> Iterator[None]:
    """Tracing makes millions of objects that all stay alive until the code is written:
    the cyclic garbage collector would walk them again and again (time grows with the
    square of the graph's size) and could free none of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def check_wrt(wrt: Sequence[Value]) -> tuple[Value, ...]:
    """The Values to differentiate by: each a leaf Value, none twice."""
    values = tuple(wrt)
    for i, value in enumerate(values):
        if not isinstance(value, Value):
            raise TypeError(f"wrt[{i}] must be a Value, got {type(value).__name__}")
        if value.op is not None:
            raise ValueError(
                f"wrt[{i}] must be a leaf Value (a parameter), not the result of an op"
            )
    if len({id(v) for v in values}) != len(values):
        raise ValueError("wrt names the same Value twice")
    return values


def required_positional(f: Callable[..., Any]) -> int:
    """How many positional arguments ``f`` needs (0 when it has no signature to read)."""
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return 0
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(p.kind in positional and p.default is p.empty for p in parameters)



_RESERVED = frozenset({op.name for op in OPS} | {"inf", "nan", "range", "learning_rate", "steps"})


def _is_safe(name: str) -> bool:
    """Whether a label can be a variable of the generated code as it stands."""
    return (
        name.isascii()
        and name.isidentifier()
        and not keyword.iskeyword(name)
        and name not in _RESERVED
        and not name.startswith(("_", "grad_"))  # _: ours; grad_: the adjoints' names
    )


class _Names:
    """Unique variable names: labels where they are safe, else t0, t1, ..."""

    def __init__(self) -> None:
        self.used: set[str] = set(custom_op_names())  # the code calls custom ops by name
        self._temporaries = count()

    def take(self, wanted: str, fallback: str | None = None) -> str:
        base = wanted if _is_safe(wanted) else fallback
        if base is None:
            return self.temporary()
        name, suffix = base, 2
        while name in self.used:
            name, suffix = f"{base}_{suffix}", suffix + 1
        self.used.add(name)
        return name

    def temporary(self) -> str:
        name = f"t{next(self._temporaries)}"
        while name in self.used:
            name = f"t{next(self._temporaries)}"
        self.used.add(name)
        return name


class Line(NamedTuple):
    """One statement: its text, the names it assigns, and its right-hand side."""

    code: str  # as .source shows it, and as it runs on floats and on numpy arrays
    defines: tuple[str, ...]
    expression: str

    @property
    def uses(self) -> set[str]:
        """The names the statement reads (and the functions it calls)."""
        return set(_IDENTIFIER.findall(self.expression))


_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*")  # the 'e' of 1e-05 follows a digit: no match


def code_line(targets: Sequence[str], expression: str, comment: str = "", target: str = "") -> Line:
    left, tail = target or targets[0], f"  # {comment}" if comment else ""
    code = f"{left} = {_real_powers(expression) if '**' in expression else expression}{tail}"
    return Line(code, tuple(targets), expression)


def _real_powers(expression: str) -> str:
    powers = _RealPowers()
    tree = powers.visit(ast.parse(expression, mode="eval"))
    return ast.unparse(ast.fix_missing_locations(tree)) if powers.changed else expression


class _RealPowers(ast.NodeTransformer):
    """``a ** b`` with b not whole is written ``pow(a, b)``: the rule table's power, as
    the eager engine computes it. On floats, ``**`` would give a complex number where
    a < 0 (``pow``, math.pow, raises and the call falls back to numpy's nan); on
    arrays, numpy's ``**`` is a square root at b = 0.5, nan at -inf where eager gives
    inf (``pow`` is np.float_power there). A whole exponent (``t ** 2``) stays:
    always the same, and faster."""

    changed = False

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow) or _is_whole(node.right):
            return node
        self.changed = True
        return ast.Call(ast.Name("pow", ast.Load()), [node.left, node.right], [])


def _is_whole(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and float(node.value).is_integer()
    )


@dataclass
class Code:
    """A traced program, to be written as a function or as a descent loop."""

    name: str  # f's name where it is a safe identifier, else "f"
    parameters: list[str]
    unpack: list[Line]  # list arguments into their leaves
    forward: list[Line]
    reverse: list[Line]
    result: str  # what the function returns: value (and aux), gradient
    root: str  # the value's expression
    updates: list[tuple[str, str]]  # (differentiated leaf, its gradient's expression)
    updated: str  # the differentiated arguments, written as descend returns them
    custom_ops: dict[str, Op]  # the custom ops the code calls, by their checked names


def trace(
    f: Callable[..., Any],
    structure: tuple[Structure, ...],
    positions: tuple[int, ...],
    single: bool,
    wrt: tuple[Value, ...] | None,
    has_aux: bool,
) -> Code:
    """Run ``f`` on placeholders and write out the program it computed."""
    names = _Names()
    # f's own names; rest[0] of *rest becomes rest_0, as a variable must.
    parameters = [
        names.take(wanted.replace("[", "_").rstrip("]"), f"arg{i}")
        for i, wanted in enumerate(parameter_names(f, len(structure)))
    ]
    inputs: dict[Value, str] = {}
    unpack: list[Line] = []
    placeholders = [
        _placeholder(name, structure, inputs, names, unpack)
        for name, structure in zip(parameters, structure, strict=True)
    ]
    if wrt is None:
        picked = [placeholders[i] for i in resolve_argnums(positions, len(placeholders), f)]
        differentiated = [leaf for tree in picked for leaf in tree_leaves(tree)]
    else:
        parameters.append(names.take("parameters"))
        leaf_names = [names.take(p.label, f"p{i}") for i, p in enumerate(wrt)]
        inputs.update(zip(wrt, leaf_names, strict=True))
        unpack.append(code_line(leaf_names, parameters[-1], target=f"[{', '.join(leaf_names)}]"))
        differentiated = list(wrt)
    value, aux = run_traced(f, placeholders, has_aux)

    function_name = _name(f) if _is_safe(_name(f)) else "f"
    writer = _Writer(inputs, names, function_name)
    writer.forward_pass(value, aux)
    gradients = dict(zip(differentiated, writer.reverse_pass(value, differentiated), strict=True))
    if wrt is None:
        gradient = _pick(single, [_tree_text(tree, gradients) for tree in picked])
        updated = _pick(single, [_tree_text(tree, inputs) for tree in picked])
    else:
        gradient, updated = (
            _tree_text(differentiated, gradients),
            _tree_text(differentiated, inputs),
        )
    value_text = writer.text(value)
    if has_aux:
        value_text = f"({value_text}, {_tree_text(aux, writer.text)})"
    return Code(
        name=function_name,
        parameters=parameters,
        unpack=unpack,
        forward=writer.forward,
        reverse=writer.reverse,
        result=f"{value_text}, {gradient}",
        root=writer.text(value),
        updates=[(inputs[leaf], gradients[leaf]) for leaf in differentiated],
        updated=updated,
        custom_ops=writer.custom_ops,
    )


def _placeholder(
    name: str, structure: Structure, inputs: dict[Value, str], names: _Names, unpack: list[Line]
) -> Any:
    """The Value (or list of Values) that stands for one argument while ``f`` is traced."""
    if structure is None:
        # nan: a value that leaks out of the trace cannot pass for a real one.
        leaf = Value(math.nan, label=name)
        inputs[leaf] = name
        return leaf
    kind, items = structure
    leaves = [names.take(f"{name}_{i}") for i in range(len(items))]
    unpack.append(code_line(leaves, name, target=f"[{', '.join(leaves)}]"))
    return kind(
        _placeholder(leaf, item, inputs, names, unpack)
        for leaf, item in zip(leaves, items, strict=True)
    )


def run_traced(f: Callable[..., Any], placeholders: list[Any], has_aux: bool) -> tuple[Any, Any]:
    """Call ``f`` under tracing: a branch on a traced value raises instead of baking one in."""
    with graph_mode(record=True, tracing=True, detect_anomaly=False):
        try:
            out = f(*placeholders)
        except TracingError as error:
            raise TracingError(f"compile({_name(f)}): {error}") from error
    value, aux = out, None
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"{_name(f)} must return a pair (value, aux) when has_aux=True")
        value, aux = out
    if not isinstance(value, (Value, numbers.Real)):
        raise TypeError(
            f"{_name(f)} must return a scalar Value or a number to be differentiated, "
            f"got {type(value).__name__}"
        )
    for leaf in tree_leaves(aux if has_aux else ()):
        if not isinstance(leaf, (Value, numbers.Real)):
            raise TypeError(
                f"the aux of {_name(f)} must hold Values or numbers (in lists or tuples), "
                f"got {type(leaf).__name__}"
            )
    return value, aux


def map_tree(function: Callable[[Any], Any], tree: Any) -> Any:
    """The same nest of lists and tuples, each leaf replaced by ``function(leaf)``."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(map_tree(function, item) for item in tree)
    return function(tree)


def tree_leaves(tree: Any) -> Iterator[Any]:
    if isinstance(tree, (list, tuple)):
        for item in tree:
            yield from tree_leaves(item)
    else:
        yield tree


def _tree_text(tree: Any, text: Callable[[Any], str] | dict[Any, str]) -> str:
    """A nest of lists and tuples written out, each leaf by ``text``."""
    if isinstance(tree, list):
        return f"[{', '.join(_tree_text(item, text) for item in tree)}]"
    if isinstance(tree, tuple):
        return _tuple_text([_tree_text(item, text) for item in tree])
    return text[tree] if isinstance(text, dict) else text(tree)


def _tuple_text(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _pick(single: bool, texts: list[str]) -> str:
    return texts[0] if single else _tuple_text(texts)


def _literal(x: float) -> str:
    """A float as Python text that reads back as a float (inf and nan are bound names)."""
    return repr(float(x))


# Flows summed into one adjoint before the sum gets a line of its own.
_LONGEST_SUM = 100

# An op with one operand equal to its identity is its other operand: x - 0, x * 1.
# The sign of a zero counts: x + (-0.0) is x for every x, but x + 0.0 turns -0.0 into
# +0.0, so only -0.0 is the identity of + (and only +0.0 that of -).
_IDENTITIES: dict[Op, tuple[tuple[int, float], ...]] = {
    ADD: ((0, -0.0), (1, -0.0)),
    SUB: ((1, 0.0),),
    MUL: ((0, 1.0), (1, 1.0)),
    DIV: ((1, 1.0),),
}


def _is_identity(operand: Expr | float, identity: float) -> bool:
    return (
        isinstance(operand, float)
        and operand == identity
        and math.copysign(1.0, operand) == math.copysign(1.0, identity)
    )


class CodeExpr(Expr):
    """A formula as the generated code writes it: a custom op is a call of its name.

    A custom op's notation is display text of the user's; only its name, checked
    when it was registered, reaches the code.
    """

    @classmethod
    def written(cls, op: Op) -> tuple[str, int]:
        if is_custom(op):
            return f"{op.name}({', '.join(f'{{{i}}}' for i in range(op.arity))})", ATOM
        return op.notation, op.precedence


class _Writer:
    """Writes the forward and reverse pass of a traced graph, one line per op."""

    def __init__(self, inputs: dict[Value, str], names: _Names, function_name: str) -> None:
        self.inputs = inputs
        self.names = names
        self.function_name = function_name
        self.values: dict[Value, Expr | float] = {}  # a name, or a folded constant
        self.named: dict[Value, str] = {}  # nodes with a line of their own
        self.statements: dict[Value, str] = {}  # "sop = w * x", for the reverse comments
        self.order: list[Value] = []  # reverse topological
        self.forward: list[Line] = []
        self.reverse: list[Line] = []
        self.custom_ops: dict[str, Op] = {}
        self._partial_sums = count()

    def text(self, x: Any) -> str:
        """An output (Value or number) as the expression the generated code returns."""
        if not isinstance(x, Value):
            return _literal(x)
        value = self.values[x]
        return value.text if isinstance(value, Expr) else _literal(value)

    def forward_pass(self, value: Any, aux: Any) -> None:
        outputs = [x for x in tree_leaves((value, aux)) if isinstance(x, Value)]
        if not outputs:
            return
        forward_order = topological_order(outputs)
        self.order = forward_order[::-1]
        for node in forward_order:
            self._write_forward(node, root=node is value)

    def _write_forward(self, node: Value, root: bool) -> None:
        op = node.op
        if node in self.inputs:
            self.values[node] = CodeExpr(self.inputs[node])
            self.named[node] = self.inputs[node]
            return
        if op is not None and not is_row(op):
            # Only rows and registered custom ops reach the generated code: an op made
            # elsewhere has a name nobody checked, and no function in the code's namespace.
            if not is_custom(op):
                raise TypeError(
                    f"compile writes only the rule table's ops and those registered with "
                    f"custom_op; the op {op.name!r} is not one of them (made by hand, or "
                    "its name was registered again since)"
                )
            if op.name in _RESERVED:
                raise TypeError(f"compile: the custom op name {op.name!r} is one the code uses")
            self.custom_ops[op.name] = op
        operands = [self.values[parent] for parent in node.parents]
        if op is None or all(isinstance(v, float) for v in operands):
            self._write_constant(node)
            return
        for position, identity in _IDENTITIES.get(op, ()):
            if _is_identity(operands[position], identity):
                self.values[node] = operands[1 - position]
                return
        wanted = node.label or (self.function_name if root else "")
        name = self.names.take(wanted) if wanted else self.names.temporary()
        expression = CodeExpr.apply(op, *operands).text
        self.forward.append(code_line([name], expression, op.name))
        self.statements[node] = f"{name} = {expression}"
        self.values[node] = CodeExpr(name)
        self.named[node] = name

    def _write_constant(self, node: Value) -> None:
        """Fold: the trace already computed it. A labelled leaf keeps its name."""
        if node.op is None and node.label and _is_safe(node.label):
            name = self.names.take(node.label)
            self.forward.append(code_line([name], _literal(node.data), "constant"))
            self.values[node] = CodeExpr(name)
            self.named[node] = name
        else:
            self.values[node] = float(node.data)

    def reverse_pass(self, root: Any, differentiated: list[Value]) -> list[str]:
        """Write the adjoints, root to leaves; return each leaf's gradient expression."""
        active = set(differentiated)
        for node in reversed(self.order):
            if any(parent in active for parent in node.parents):
                active.add(node)
        adjoints: dict[Value, Expr | float] = {root: 1.0} if root in active else {}
        terms: dict[Value, int] = {}  # flows summed in an adjoint's expression so far
        users: dict[Value, list[Value]] = {}
        for node in self.order:
            if node.op is None or node not in active or node not in adjoints:
                continue
            adjoint = self._settle(node, adjoints[node], users.get(node, []))
            partials = self._partials(node)
            for parent, partial in zip(node.parents, partials, strict=True):
                if parent not in active:
                    continue
                flow = _times(partial, adjoint)
                users.setdefault(parent, []).append(node)
                if parent not in adjoints:
                    adjoints[parent], terms[parent] = flow, 1
                    continue
                total = adjoints[parent] + flow
                terms[parent] += 1
                if terms[parent] == _LONGEST_SUM and isinstance(total, Expr):
                    total, terms[parent] = self._partial_sum(total), 1
                adjoints[parent] = total
        return [self._gradient(leaf, adjoints, users) for leaf in differentiated]

    def _partial_sum(self, adjoint: Expr) -> Expr:
        """A long sum of flows on a line of its own, so no expression nests too deeply for
        Python's compiler (a value used by thousands of ops)."""
        name = f"grad__{next(self._partial_sums)}"  # no adjoint name starts grad__
        self.reverse.append(code_line([name], adjoint.text, f"{_LONGEST_SUM} flows so far"))
        return CodeExpr(name)

    def _settle(self, node: Value, adjoint: Expr | float, users: list[Value]) -> Expr | float:
        """Give the adjoint a line when it is a computation, or a labelled node's copy."""
        if isinstance(adjoint, float) or node not in self.named:
            return adjoint
        if adjoint.text.isidentifier() and not node.label:
            return adjoint  # another adjoint's name: reuse it, no copy
        name = f"grad_{self.named[node]}"
        self.reverse.append(code_line([name], adjoint.text, self._comment(users)))
        return CodeExpr(name)

    def _gradient(
        self, leaf: Value, adjoints: dict[Value, Expr | float], users: dict[Value, list[Value]]
    ) -> str:
        adjoint = adjoints.get(leaf, 0.0)
        if isinstance(adjoint, float):
            return _literal(adjoint)
        name = f"grad_{self.named[leaf]}"
        self.reverse.append(code_line([name], adjoint.text, self._comment(users.get(leaf, []))))
        return name

    def _partials(self, node: Value) -> tuple[Expr | float, ...]:
        """The rule's partials, printed: names for operands and result, numbers folded."""
        assert node.op is not None
        operands = [self.values[parent] for parent in node.parents]
        try:
            return tuple(node.op.partials(*operands, self.values[node]))
        except ArithmeticError:
            # A rule divides by a constant 0: numpy floats fold it to inf or nan, as the
            # eager engine's IEEE fallback does.
            with np.errstate(all="ignore"):
                written = [np.float64(x) if isinstance(x, float) else x for x in operands]
                partials = node.op.partials(*written, self.values[node])
            return tuple(float(p) if isinstance(p, float) else p for p in partials)

    def _comment(self, users: list[Value]) -> str:
        # A user of both operands (w * w) is listed once, not once per operand.
        statements = [
            self.statements.get(user, user.op.name if user.op else "")
            for user in dict.fromkeys(users)
        ]
        if len(statements) <= 2:
            return "from " + ", ".join(statements)
        return f"from {len(statements)} uses: {', '.join(statements[:2])}, ..."


def _times(partial: Expr | float, adjoint: Expr | float) -> Expr | float:
    """partial · adjoint, with the factors 1 and -1 left out (exact in IEEE arithmetic)."""
    if isinstance(partial, float) and partial in (1.0, -1.0):
        return adjoint if partial == 1.0 else -adjoint
    if isinstance(adjoint, float) and adjoint == 1.0:
        return partial
    return partial * adjoint
