"""Formulas from text: ``parse("sigmoid(w*x) - t")`` is a function of w, x and t.

The text is read by Python's own ``ast`` parser and then checked against a
whitelist; it is never passed to ``eval``. A formula may hold

* numbers (``2``, ``0.5``, ``1e-3``) and variable names (``w``, ``x1``, ``σ``);
* the operators ``+ - * / **`` and unary ``-`` and ``+``;
* calls of the rule table's functions, the rows it writes as calls
  (``exp log sigmoid tanh relu abs sqrt sin cos ...``; :data:`FUNCTIONS` has
  them all).

Anything else (attributes, subscripts, lambdas, comprehensions, strings,
keyword or starred arguments, names starting with ``__``, constant exponents
beyond ±1000, nesting deeper than 200, text longer than 2000 characters) is a
``ValueError`` that names the offending part and its column. So is a constant
that is not a finite number, whether written (``1e400``) or computed from
numbers alone (``10 ** 400``, ``1 / 0``, ``log(0)``): a formula prints only
finite constants, so its text always reads back as the same formula. On
variables, arithmetic follows IEEE (``log(x)`` at 0 is ``-inf``).

The checked formula is kept as a short program of rule-table ops, applied in
order like a tape; arithmetic on numbers alone is done once, when parsing.
The result is a :class:`Formula`: call it on floats, Values or numpy arrays.
Its arguments are its variables in the order they first appear in the text,
left to right (``.variables``); they may also be passed by name.
The command line's ``tinygrad-gd grad`` is built on it.

>>> error = parse("(sigmoid(w * x) - t) ** 2")
>>> error.variables
('w', 'x', 't')
>>> error(0.5, 0.1, 0.3)
0.0451551435
>>> from tinygrad_gd import grad
>>> round(grad(error)(0.5, 0.1, 0.3), 10)  # the tutorial's dE/dw
0.010618232
"""

from __future__ import annotations

import ast
import inspect
import math
import numbers
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinygrad_gd._support.tables import listing
from tinygrad_gd.core.ops import ADD, DIV, MUL, NEG, OPS, POW, SUB, Op, power
from tinygrad_gd.core.symbolic import Expr, number_text
from tinygrad_gd.core.value import Value

__all__ = [
    "FUNCTIONS", "MAX_DEPTH", "MAX_EXPONENT", "MAX_LENGTH", "Formula", "parse", "parse_point",
]  # fmt: skip

MAX_LENGTH = 2000
"""The longest formula text accepted, in characters."""
MAX_DEPTH = 200
"""The deepest nesting of operations accepted (Python allows 200 parentheses)."""
MAX_EXPONENT = 1000.0
"""The largest magnitude of a constant exponent: ``2 ** 10 ** 10`` is a typo, not a number."""

# The functions are the rows the table writes as calls, so any formula the
# library prints (explain, Expr) reads back here.
FUNCTIONS: dict[str, Op] = {op.name: op for op in OPS if op.notation.startswith(op.name + "(")}
"""Name to rule-table op of every function a formula may call."""

_OPERATORS: dict[type[ast.operator], Op] = {
    ast.Add: ADD, ast.Sub: SUB, ast.Mult: MUL, ast.Div: DIV, ast.Pow: POW,
}  # fmt: skip

# What a user most likely meant by the constructs a formula does not have.
_FORBIDDEN: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.Compare: "comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment",
    ast.Starred: "starred argument",
    ast.JoinedStr: "f-string",
    ast.Tuple: "tuple",
    ast.List: "list",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.Await: "await",
    ast.Slice: "slice",
    ast.Call: "calling what a call returns",
}
_OPERATOR_HINTS: dict[type[ast.AST], str] = {
    ast.BitXor: "operator ^ (a power is written **)",
    ast.FloorDiv: "operator //",
    ast.Mod: "operator %",
    ast.MatMult: "operator @",
    ast.LShift: "operator <<",
    ast.RShift: "operator >>",
    ast.BitAnd: "operator &",
    ast.BitOr: "operator |",
    ast.Not: "operator 'not'",
    ast.Invert: "operator ~",
}

_FINITE_CONSTANTS = "a formula's constants are finite numbers"

# One step of a formula's program: a float is pushed, an int pushes that
# argument, an op replaces the top ``arity`` entries by its result.
_Step = float | int | Op


class Formula:
    """A formula parsed from text: a function of its variables.

    Called on numbers it returns a float, on Values a Value (so ``grad``
    works), on numpy arrays an array. ``str()`` prints it canonically.

    >>> f = parse("2*x**2 + y")
    >>> f.variables, f(3.0, 1.0), f(y=1.0, x=3.0), str(f)
    (('x', 'y'), 19.0, 19.0, '2 * x ** 2 + y')
    """

    __slots__ = ("__signature__", "_program", "text", "variables")

    text: str
    variables: tuple[str, ...]
    _program: tuple[_Step, ...]

    def __init__(self, text: str, variables: tuple[str, ...], program: tuple[_Step, ...]) -> None:
        self.text = text
        self.variables = variables
        self._program = program
        self.__signature__ = inspect.Signature(
            [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in variables]
        )

    def __call__(self, /, *args: Any, **kwargs: Any) -> Any:
        # self is positional-only, so a variable named self can be passed by name
        return self._run(self._bind(args, kwargs))

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        names = self.variables
        if len(args) > len(names):
            raise TypeError(
                f"{self!r} takes {len(names)} argument{'s' if len(names) != 1 else ''} "
                f"({', '.join(names)}) but {len(args)} {'was' if len(args) == 1 else 'were'} given"
            )
        bound = dict(zip(names, args, strict=False))  # too many args was refused above
        for name, arg in kwargs.items():
            if name not in names:
                raise TypeError(f"{self!r} has no variable {name!r}; its variables: {names}")
            if name in bound:
                raise TypeError(f"{self!r} got two values for {name!r}")
            bound[name] = arg
        missing = [name for name in names if name not in bound]
        if missing:
            raise TypeError(f"{self!r} is missing a value for {', '.join(missing)}")
        return [_operand(name, bound[name]) for name in names]

    def _run(self, args: list[Any]) -> Any:
        stack: list[Any] = []
        for step in self._program:
            if isinstance(step, Op):
                operands = stack[len(stack) - step.arity :]
                del stack[len(stack) - step.arity :]
                stack.append(step(*operands))
            elif isinstance(step, int):
                stack.append(args[step])
            else:
                stack.append(step)
        return stack[0]

    def __str__(self) -> str:
        result = self._run([Expr(name) for name in self.variables])
        return str(result) if isinstance(result, Expr) else number_text(result)

    def __repr__(self) -> str:
        return f"parse({self.text!r})"


def _operand(name: str, arg: Any) -> Any:
    if isinstance(arg, (Value, np.ndarray)):
        return arg
    if isinstance(arg, numbers.Real):
        return float(arg)
    raise TypeError(
        f"variable {name!r} needs a number, a Value or a numpy array, got {type(arg).__name__}"
    )


def parse(text: str) -> Formula:
    """Parse formula text into a :class:`Formula`, checking it against the whitelist.

    >>> parse("sigmoid(w*x) - t").variables
    ('w', 'x', 't')
    >>> parse("x.__class__")
    Traceback (most recent call last):
    ValueError: attribute access is not allowed in a formula: 'x.__class__' at column 1
    """
    if not isinstance(text, str):
        raise TypeError(f"parse needs the formula as a str, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    body = text.strip()
    shift = len(text) - len(text.lstrip())  # columns count in the text as given
    for column, char in enumerate(body, start=shift + 1):
        if not char.isprintable() and char != "\t":
            raise ValueError(
                f"a formula is one line of printable text: {char!r} at column {column}"
            )
    if not body:
        raise ValueError("formula is empty")
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"{error.msg}: {text!r} at column {shift + (error.offset or 1)}") from None
    except (RecursionError, MemoryError):  # the parser's own stack ran out
        raise ValueError(f"formula nests too deeply to parse: {text[:40]!r}...") from None
    checker = _Checker(body, shift)
    program = _postfix(checker.check(tree.body, depth=1))
    return Formula(text, tuple(checker.variables), tuple(program))


# A checked formula as a tree: a float is a constant, an int the variable with
# that index, a tuple an op applied to its operand trees.
_Tree = float | int | tuple[Any, ...]


class _Checker:
    """Checks a syntax tree against the whitelist, folding constant parts."""

    def __init__(self, body: str, shift: int) -> None:
        self.body = body
        self.shift = shift
        self.variables: dict[str, int] = {}  # name -> index, in order of appearance

    def check(self, node: ast.expr, depth: int) -> _Tree:
        if depth > MAX_DEPTH:
            raise self.error(node, f"formula nests deeper than {MAX_DEPTH} operations")
        if isinstance(node, ast.Constant):
            return self.number(node)
        if isinstance(node, ast.Name):
            return self.variable(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.check(node.operand, depth + 1)
            return operand if isinstance(node.op, ast.UAdd) else _apply(NEG, operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left = self.check(node.left, depth + 1)
            right = self.check(node.right, depth + 1)
            if isinstance(node.op, ast.Pow) and isinstance(right, float):
                if abs(right) > MAX_EXPONENT:
                    raise self.error(
                        node.right,
                        f"exponent {number_text(right)} is beyond ±{MAX_EXPONENT:g}",
                    )
                # the row x**n, as Value.__pow__ uses
                return self.folded(node, _apply(power(right), left))
            return self.folded(node, _apply(_OPERATORS[type(node.op)], left, right))
        if isinstance(node, ast.Call):
            op = self.function(node)
            operands = (self.check(arg, depth + 1) for arg in node.args)
            return self.folded(node, _apply(op, *operands))
        raise self.error(node, f"{self.kind(node)} is not allowed in a formula")

    def number(self, node: ast.Constant) -> float:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.error(node, f"{_kind_of_constant(node.value)} is not allowed in a formula")
        try:
            value = float(node.value)
        except OverflowError:  # an integer literal beyond the largest float
            value = math.inf
        if not math.isfinite(value):
            raise self.error(node, f"number too large for a float; {_FINITE_CONSTANTS}")
        return value

    def folded(self, node: ast.expr, tree: _Tree) -> _Tree:
        """``tree``, unless numbers alone made it a constant that is not finite.

        The same rule as for a number written out (``1e400``): ``10 ** 400``,
        ``1 / 0`` and ``log(0)`` would print as ``inf`` or ``nan``, which read
        back as variables.
        """
        if isinstance(tree, float) and not math.isfinite(tree):
            raise self.error(node, f"numbers alone give {number_text(tree)}; {_FINITE_CONSTANTS}")
        return tree

    def variable(self, node: ast.Name) -> int:
        name = self.name(node)
        if name in FUNCTIONS:
            raise self.error(node, f"function without a call (write {name}(...))")
        return self.variables.setdefault(name, len(self.variables))

    def name(self, node: ast.Name) -> str:
        if node.id.startswith("__"):
            raise self.error(node, "names starting with '__' are reserved")
        return node.id

    def function(self, node: ast.Call) -> Op:
        if node.keywords:
            raise self.error(node.keywords[0], "keyword argument is not allowed in a formula")
        if not isinstance(node.func, ast.Name):
            raise self.error(node.func, f"{self.kind(node.func)} is not allowed in a formula")
        if self.name(node.func) not in FUNCTIONS:
            raise self.error(
                node.func, f"unknown function (the functions: {', '.join(sorted(FUNCTIONS))})"
            )
        op = FUNCTIONS[node.func.id]
        if len(node.args) != op.arity:
            raise self.error(
                node,
                f"{op.name} takes {op.arity} argument{'s' * (op.arity != 1)}, got {len(node.args)}",
            )
        return op

    def kind(self, node: ast.AST) -> str:
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            return _OPERATOR_HINTS.get(type(node.op), f"operator {type(node.op).__name__}")
        return _FORBIDDEN.get(type(node), type(node).__name__)

    def error(self, node: ast.AST, problem: str) -> ValueError:
        segment = ast.get_source_segment(self.body, node) or ""
        if len(segment) > 40:
            segment = segment[:37] + "..."
        return ValueError(f"{problem}: {segment!r} at column {self.column(node)}")

    def column(self, node: ast.AST) -> int:
        # ast counts columns in UTF-8 bytes; a user counts characters.
        offset: int = getattr(node, "col_offset", 0)
        return len(self.body.encode()[:offset].decode(errors="replace")) + self.shift + 1


def _kind_of_constant(value: object) -> str:
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, complex):
        return "complex number"
    return f"constant {value!r}"


def _apply(op: Op, *operands: _Tree) -> _Tree:
    """The tree of ``op`` applied to operands; numbers alone fold into a number."""
    if all(isinstance(x, float) for x in operands):
        return float(op(*operands))
    return (op, *operands)


def _postfix(tree: _Tree) -> list[_Step]:
    """The program that evaluates ``tree``: operands first, then their op."""
    if not isinstance(tree, tuple):
        return [tree]
    op, *operands = tree
    return [step for operand in operands for step in _postfix(operand)] + [op]


def parse_point(text: str | Iterable[str], variables: Iterable[str]) -> dict[str, float]:
    """Read ``"w=0.5,x=0.1"`` (or several such texts) into a value for each variable.

    Every variable must get exactly one value, and no other name may.

    >>> parse_point("w=0.5, x=0.1", ["w", "x"])
    {'w': 0.5, 'x': 0.1}
    >>> parse_point(["w=0.5", "x=1e-3"], ["x", "w"])
    {'x': 0.001, 'w': 0.5}
    >>> parse_point("w=0.5", ["w", "x"])
    Traceback (most recent call last):
    ValueError: no value for x (the variables: w, x)
    """
    wanted = list(variables)
    texts = [text] if isinstance(text, str) else list(text)
    values: dict[str, float] = {}
    for item in (item for text in texts for item in text.split(",")):
        name, equals, number = (part.strip() for part in item.partition("="))
        name = unicodedata.normalize("NFKC", name)  # as Python reads names
        if not equals or not name:
            raise ValueError(f"expected NAME=NUMBER, got {item.strip()!r}")
        if name not in wanted:
            raise ValueError(f"{name} is not a variable (the variables: {listing(wanted)})")
        if name in values:
            raise ValueError(f"{name} is given twice")
        try:
            values[name] = float(number)
        except ValueError:
            raise ValueError(f"{name}={number}: {number!r} is not a number") from None
    missing = [name for name in wanted if name not in values]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} (the variables: {listing(wanted)})")
    return {name: values[name] for name in wanted}
