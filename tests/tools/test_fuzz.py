"""Fuzzing: arbitrary text and syntax trees at parse, arbitrary floats at every op.

* parse takes any text or any Python expression tree and either returns a
  formula or raises ValueError, with no side effect.
* Every op of the table, through Value, gives at any float (inf, nan,
  subnormals, ±0.0, the largest magnitudes) the IEEE answer of its numpy
  ufunc, and its gradient the IEEE value of its rule, with no exception and
  no warning.
* parse(text) computes what the same formula written in Python on Values
  computes, bit for bit, for random formulas over the whole table.
"""

from __future__ import annotations

import ast
import builtins
import functools
import math
import operator
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import POWER_EXPONENTS, Constant, Expression, Tree, Variable, expressions

from tinygrad_gd import Value, gradients, parse
from tinygrad_gd.core.ops import OPS, Op, power
from tinygrad_gd.core.value import graph_mode
from tinygrad_gd.tools.parse import MAX_LENGTH, Formula

# -- arbitrary text at parse -------------------------------------------------------------

TOKENS = [
    "x", "y", "w1", "_", "__class__", "__import__", "exp", "sigmoid", "log", "xlogy", "foo",
    "0", "1", "2.5", "1e400", "9" * 320, "1j", "0x1F", "1_000", ".5", "True", "None", "...",
    "(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "=", ":=", "*", "**", "/", "//", "+",
    "-", "~", "^", "%", "@", "<", "==", "not", "and", "if", "else", "lambda", "for", "in",
    "await", "'s'", '"', "f'{x}'", "\\", "#", " ", "\t", "\n", "\x00", "σ", "ﬁ", "\u2028",
]  # fmt: skip

formula_like_text = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=200), formula_like_text)


def state() -> tuple[Any, ...]:
    """What a side effect of parsing would change: modules, builtins, files, the graph mode."""
    with graph_mode() as mode:  # changes nothing: yields the current mode
        return set(sys.modules), dict(vars(builtins)), sorted(os.listdir()), mode


def parse_or_value_error(text: str) -> Formula | ValueError:
    try:
        return parse(text)
    except ValueError as error:
        assert "\n" not in str(error), "an error message is one line"
        return error


@given(any_text)
@example("2 ** 10 ** 10")
@example("-" * 1999 + "x")
@example("(" * 1000)
@example("x" * 5000)
@example("__import__('os').system('echo hacked')")
@settings(max_examples=300)
def test_any_text_parses_or_is_a_value_error_without_side_effects(text: str) -> None:
    before = state()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        outcome = parse_or_value_error(text)
    assert state() == before
    if isinstance(outcome, Formula):
        assert all(name.isidentifier() and not name.startswith("__") for name in outcome.variables)


# -- arbitrary syntax trees at parse ---------------------------------------------------

names = st.sampled_from(["x", "y", "w", "__class__", "exp", "sigmoid", "xlogy", "print"])
name_nodes = names.map(lambda n: ast.Name(n, ast.Load()))
constants = st.one_of(
    st.integers(0, 10**400),
    st.floats(min_value=0.0, allow_nan=False),
    st.sampled_from([True, None, "s", b"b", 2j, ...]),
).map(ast.Constant)
binary_operators = st.sampled_from(
    [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.FloorDiv, ast.Mod, ast.MatMult,
     ast.BitXor, ast.BitAnd, ast.BitOr, ast.LShift, ast.RShift]
)  # fmt: skip
unary_operators = st.sampled_from([ast.USub, ast.UAdd, ast.Not, ast.Invert])

# The node types a formula may hold; a tree holding any other is refused.
ALLOWED = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.Load)


def extend(children: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    pairs = st.tuples(children, children)
    return st.one_of(
        st.builds(lambda op, a, b: ast.BinOp(a, op(), b), binary_operators, children, children),
        st.builds(lambda op, a: ast.UnaryOp(op(), a), unary_operators, children),
        st.builds(
            lambda f, args: ast.Call(f, args, []), name_nodes, st.lists(children, max_size=3)
        ),
        st.builds(lambda f, a: ast.Call(f, [ast.Starred(a, ast.Load())], []), name_nodes, children),
        st.builds(lambda f, a: ast.Call(f, [], [ast.keyword("k", a)]), name_nodes, children),
        st.builds(lambda a: ast.Attribute(a, "real", ast.Load()), children),
        st.builds(lambda a, b: ast.Subscript(a, b, ast.Load()), children, children),
        st.builds(lambda p: ast.Compare(p[0], [ast.Lt()], [p[1]]), pairs),
        st.builds(lambda p: ast.BoolOp(ast.And(), list(p)), pairs),
        st.builds(lambda a, b, c: ast.IfExp(a, b, c), children, children, children),
        st.builds(lambda p: ast.Tuple(list(p), ast.Load()), pairs),
        st.builds(lambda p: ast.List(list(p), ast.Load()), pairs),
        st.builds(lambda a: ast.Set([a]), children),
        st.builds(lambda p: ast.Dict([p[0]], [p[1]]), pairs),
        st.builds(lambda a: ast.NamedExpr(ast.Name("z", ast.Store()), a), children),
        st.builds(lambda a: ast.Lambda(_no_arguments(), a), children),
        st.builds(
            lambda a: ast.ListComp(
                a, [ast.comprehension(ast.Name("i", ast.Store()), ast.Name("y", ast.Load()), [], 0)]
            ),
            children,
        ),
        st.builds(lambda a: ast.JoinedStr([ast.FormattedValue(a, -1, None)]), children),
    )


def _no_arguments() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


syntax_trees = st.recursive(st.one_of(name_nodes, constants), extend, max_leaves=12)


def _sum(*terms: ast.expr) -> ast.expr:
    return functools.reduce(lambda a, b: ast.BinOp(a, ast.Add(), b), terms)


HUGE = ast.Constant(10**400)  # 401 digits: five of them are past the length limit


@given(syntax_trees)
@example(_sum(*[HUGE] * 5))  # a formula, but too long
@example(ast.Attribute(_sum(*[HUGE] * 5), "real", ast.Load()))  # too long, and forbidden
@example(_sum(*[HUGE] * 4, ast.Attribute(ast.Name("x", ast.Load()), "real", ast.Load())))
@settings(max_examples=300)
def test_any_syntax_tree_parses_or_is_a_value_error(tree: ast.expr) -> None:
    text = ast.unparse(ast.fix_missing_locations(tree))
    before = state()
    outcome = parse_or_value_error(text)
    assert state() == before
    if len(text) > MAX_LENGTH:  # refused whole, before it is read: there is no part to name
        assert str(outcome) == f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}"
        return
    forbidden = [
        node for node in ast.walk(ast.parse(text, mode="eval").body)
        if not isinstance(node, ALLOWED + (ast.operator, ast.unaryop))
        or isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.Invert))
    ]  # fmt: skip
    if forbidden:
        assert isinstance(outcome, ValueError), f"{text!r} holds {forbidden[0]!r}"
        assert " at column " in str(outcome)
    if isinstance(outcome, Formula):  # what parses also runs, at any point, silently
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = outcome(*(Value(0.5) for _ in outcome.variables))
        assert isinstance(result, (Value, float))


# -- arbitrary floats at every op -----------------------------------------------------

LARGEST = sys.float_info.max
EDGES = [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, -5e-324, sys.float_info.min,
         LARGEST, -LARGEST, 1000.0, -1000.0, 1.0, -1.0, 0.5]  # fmt: skip
any_float = st.one_of(st.sampled_from(EDGES), st.floats(allow_nan=True, allow_infinity=True))
exponents = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5, 1e-300, 1e300]),
    st.floats(-1e6, 1e6),
)
# A row with its exponent when it is a row x**n (None for the table's fixed rows).
rows = st.one_of(st.tuples(st.sampled_from(OPS), st.none()), exponents.map(lambda n: (power(n), n)))


def same(engine: float, reference: float, ulps: int = 4) -> bool:
    """Equal as IEEE results: both nan, the same infinity, or within ``ulps`` units in the
    last place (math and numpy may round a transcendental function differently)."""
    if math.isnan(reference) or math.isnan(engine):
        return math.isnan(reference) and math.isnan(engine)
    if math.isinf(reference) or math.isinf(engine):
        return engine == reference
    return abs(engine - reference) <= ulps * math.ulp(reference)


def ieee_partials(op: Op, operands: list[float], out: float) -> list[float]:
    """The rule evaluated on numpy floats, where every edge gives inf or nan."""
    with np.errstate(all="ignore"):
        numbers = [np.float64(x) for x in [*operands, out]]
        return [float(p) for p in op.partials(*numbers)]


@given(rows, st.lists(any_float, min_size=2, max_size=2))
@settings(max_examples=1000)
def test_every_op_at_any_float_gives_the_ieee_result_and_gradient(
    row: tuple[Op, float | None], drawn: list[float]
) -> None:
    op, exponent = row
    operands = drawn[: op.arity]
    leaves = [Value(x) for x in operands]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy warning escaping is a failure too
        out = Value.apply(op, *leaves)
        derivatives = gradients(out, leaves)
        created = gradients(out, leaves, create_graph=True)
        on_floats = op(*operands)
    with np.errstate(all="ignore"):
        reference = float(op.ufunc(*operands))
    assert same(out.data, reference), (op.name, operands, out.data, reference)
    assert same(on_floats, reference)
    partials = ieee_partials(op, operands, out.data)
    for got, partial, node in zip(derivatives, partials, created, strict=True):
        assert same(got, partial), (op.name, operands, got, partial)
        assert same(node.data, got), (op.name, operands, node.data, got)


def test_power_half_at_minus_inf_is_the_same_on_floats_and_arrays() -> None:
    on_floats = (Value(-math.inf) ** 0.5).data
    with np.errstate(all="ignore"):
        on_arrays = power(0.5)(np.array([-math.inf]))[0]
    assert same(on_floats, on_arrays)


DOCUMENTED_EDGES: list[tuple[Callable[[Value], Value], float, float, float]] = [
    # (function, at, its value and its derivative there, by hand); docs/engine.md's edges
    (lambda x: x.log(), 0.0, -math.inf, math.inf),  # 1/x
    (lambda x: x.log(), -1.0, math.nan, -1.0),
    (lambda x: x**-1, 0.0, math.inf, -math.inf),  # -1/x²
    (lambda x: (-8.0) ** x, 1 / 3, math.nan, math.nan),  # a negative base, a Value exponent
    (lambda x: x.exp(), 1000.0, math.inf, math.inf),
    (lambda x: x.sigmoid(), -1000.0, 0.0, 0.0),  # σ(1 - σ): finite, no overflow
    (lambda x: x.sigmoid(), 1000.0, 1.0, 0.0),
]


@pytest.mark.parametrize(("f", "at", "value", "derivative"), DOCUMENTED_EDGES)
def test_documented_edges(
    f: Callable[[Value], Value], at: float, value: float, derivative: float
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = Value(at)
        y = f(x)
        y.backward()
    assert same(y.data, value, ulps=0)
    assert same(x.grad, derivative, ulps=0)


# -- parse agrees with the same formula written in Python ------------------------------

# Each op as a Python programmer writes it: operators, and methods on a Value.
OPERATORS: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "pow": operator.pow, "abs": abs,
}  # fmt: skip
METHODS = {"exp", "log", "sigmoid", "tanh", "relu", "sqrt", "sin", "cos"}
EXPONENT_OF = {power(n): float(n) for n in POWER_EXPONENTS}  # the rows x**n the records use


def in_python(tree: Tree, inputs: list[Any]) -> Any:
    """The formula evaluated by Python's own operators and Value's methods."""
    if isinstance(tree, Variable):
        return inputs[tree.index]
    if isinstance(tree, Constant):
        return tree.value
    operands = [in_python(operand, inputs) for operand in tree.operands]
    op = tree.record.op
    if op in EXPONENT_OF:
        return operands[0] ** EXPONENT_OF[op]
    if op.name in OPERATORS:
        return OPERATORS[op.name](*operands)
    if op.name in METHODS and isinstance(operands[0], Value):
        return getattr(operands[0], op.name)()
    return op(*operands)  # on numbers, or step/sign: the table's function is the spelling


def as_text(tree: Tree, draw: st.DrawFn) -> str:
    """The formula as text, each operand in parentheses, spacing drawn at random."""

    def space() -> str:
        return draw(st.sampled_from(["", " ", "  "]))

    if isinstance(tree, Variable):
        return f"x{tree.index}"
    if isinstance(tree, Constant):
        return repr(tree.value)  # repr reads back exactly
    operands = [f"({space()}{as_text(t, draw)}{space()})" for t in tree.operands]
    return tree.record.op.format(*operands)


@st.composite
def formulas(draw: st.DrawFn) -> tuple[Expression, str]:
    expression = draw(expressions(variables=3, max_depth=4))
    return expression, as_text(expression.tree, draw)


@given(formulas())
@settings(max_examples=300)
def test_parse_agrees_with_python_on_values(formula: tuple[Expression, str]) -> None:
    expression, text = formula
    parsed = parse(text)
    inputs = list(expression.inputs)
    wanted = [f"x{i}" for i in range(len(inputs))]
    used = [name for name in wanted if name in parsed.variables]
    python_leaves = [Value(x) for x in inputs]
    parsed_leaves = {name: Value(inputs[int(name[1:])]) for name in used}
    by_python = _as_value(in_python(expression.tree, python_leaves))
    by_parse = _as_value(parsed(**parsed_leaves))
    assert same(by_parse.data, by_python.data, ulps=0), text
    python_gradients = gradients(by_python, python_leaves)
    parse_gradients = gradients(by_parse, [parsed_leaves[name] for name in used])
    for name, derivative in zip(used, parse_gradients, strict=True):
        assert same(derivative, python_gradients[int(name[1:])], ulps=0), (text, name)
    assert _as_value(parse(str(parsed))(**parsed_leaves)).data == by_parse.data  # str reads back


def _as_value(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)
