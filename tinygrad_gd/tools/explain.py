"""The chain rule written out: every path from y back to x, factor by factor.

``explain(y, x)`` lists each path through the graph from ``y`` down to ``x``;
along a path, each local derivative d(upper)/d(lower) with its formula and its
value; the product of a path's factors; and the sum over paths, which is
dy/dx. The formulas are the rule table's own partials applied to symbolic
names (:class:`~tinygrad_gd.core.symbolic.Expr`), so no derivative is written here
a second time.

Nodes are named by their label. Unlabelled ones are named ``y`` and ``x`` at
the two ends, by their number if constant, and otherwise by their formula in
terms of named nodes (or, when that would be long, by a generated name
``t1``, ``t2`` ... defined under "where"). When some node between y and x is
labelled, the unlabelled ones are *collapsed*: the factor between two
consecutive named nodes multiplies the local derivatives through them (and
adds over parallel routes), so a labelled graph reads like the hand
derivation. A graph with no such label shows every node.

>>> from tinygrad_gd.tutorial import build_neuron
>>> graph = build_neuron(x=[0.1], w=[0.5], target=0.3)
>>> print(explain(graph.error, graph.weights[0]))
d error / d w = 0.01061823205
<BLANKLINE>
path 1: error ← predicted ← sop ← w
  d error / d predicted  =  2 * (predicted - target)           =  0.424994793
  d predicted / d sop    =  sigmoid(sop) * (1 - sigmoid(sop))  =  0.2498438151
  d sop / d w            =  x                                  =  0.1
  product                                                      =  0.01061823205
<BLANKLINE>
sum over 1 path = 0.01061823205
"""

from __future__ import annotations

import functools
import html
import operator
from dataclasses import dataclass, replace
from typing import Any, cast

from tinygrad_gd._support.checks import count, flag
from tinygrad_gd._support.tables import format_table, html_table
from tinygrad_gd.core.symbolic import Expr, NodeNames, Term, as_expr, number_text
from tinygrad_gd.core.value import Value, reverse_topological_order

__all__ = ["ChainPath", "Explanation", "Factor", "PathLimitError", "explain"]

Route = tuple[tuple[Value, int], ...]  # edges (node, operand position), downwards


class PathLimitError(ValueError):
    """The chain rule of dy/dx has more paths or factors than ``explain`` writes out.

    >>> x = y = Value(1.0, label="x")
    >>> for _ in range(8):
    ...     y = y * y  # each level doubles the paths
    >>> explain(y, x)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tinygrad_gd.tools.explain.PathLimitError: explain: d y / d x sums over 256 paths, more than ...
    """


@dataclass(frozen=True)
class Factor:
    """One local derivative d(upper)/d(lower): its formula and its value here.

    >>> x = Value(3.0, label="x")
    >>> explain(x * 2, x).paths[0].factors
    (Factor(upper='y', lower='x', formula='2', value=2.0),)
    """

    upper: str
    lower: str
    formula: str
    value: float

    @property
    def symbol(self) -> str:
        """The derivative as written: ``d error / d predicted``.

        >>> Factor("y", "a - b", "1", 1.0).symbol
        'd y / d(a - b)'
        """
        return f"{_d(self.upper)} / {_d(self.lower)}"


@dataclass(frozen=True)
class ChainPath:
    """One path from y back to x: the named nodes along it and its factors.

    >>> x = Value(3.0, label="x")
    >>> [path.nodes for path in explain(x.sin() * x, x).paths]  # x reaches y twice
    [('y', 'sin(x)', 'x'), ('y', 'x')]
    """

    nodes: tuple[str, ...]
    factors: tuple[Factor, ...]
    through: str = ""
    """Which operands the path takes, where paths with the same nodes part: ``x * x`` has
    two paths from y to x, one through each operand."""

    @property
    def title(self) -> str:
        """The path as its nodes, and the operands it takes where that tells it apart.

        >>> x = Value(3.0, label="x")
        >>> [path.title for path in explain(x * x, x).paths]
        ['y ← x, through the left operand of y', 'y ← x, through the right operand of y']
        """
        return " ← ".join(self.nodes) + (f", through {self.through}" if self.through else "")

    @property
    def product(self) -> float:
        """The product of the path's factors: its share of dy/dx.

        >>> x = Value(3.0, label="x")
        >>> explain(x.exp() * 2, x).paths[0].product == 2 * x.exp().data
        True
        """
        return functools.reduce(operator.mul, (f.value for f in self.factors), 1.0)


@dataclass(frozen=True)
class Explanation:
    """dy/dx as the sum over paths of products of local derivatives; prints as text.

    ``definitions`` holds (name, formula) for each generated name in use.

    >>> x = Value(3.0, label="x")
    >>> print(explain(x * 2, x))
    d y / d x = 2
    <BLANKLINE>
    path 1: y ← x
      d y / d x  =  2  =  2
      product          =  2
    <BLANKLINE>
    sum over 1 path = 2
    """

    y: str
    x: str
    paths: tuple[ChainPath, ...]
    definitions: tuple[tuple[str, str], ...] = ()

    @property
    def gradient(self) -> float:
        """dy/dx: the sum over paths of each path's product.

        >>> x = Value(3.0, label="x")
        >>> explain(x * x, x).gradient
        6.0
        """
        return sum((path.product for path in self.paths), 0.0)

    def __str__(self) -> str:
        symbol = f"{_d(self.y)} / {_d(self.x)}"
        if not self.paths:
            return f"{symbol} = 0: no path leads from {self.y} back to {self.x}"
        if not self.paths[0].factors:  # the one empty path: y is x
            return f"{symbol} = 1: the chain is empty ({self.x} is the variable itself)"
        count = f"{len(self.paths)} path{'s' if len(self.paths) != 1 else ''}"
        lines = [f"{symbol} = {_number(self.gradient)}"]
        if self.definitions:
            lines += ["", "where", *(f"  {name} = {text}" for name, text in self.definitions)]
        for i, path in enumerate(self.paths, 1):
            rows = [(f.symbol, "=", f.formula, "=", _number(f.value)) for f in path.factors]
            rows.append(("product", "", "", "=", _number(path.product)))
            table = format_table(rows).split("\n")
            lines += ["", f"path {i}: {path.title}", *(f"  {row}" for row in table)]
        products = " + ".join(_number(path.product) for path in self.paths)
        total = _number(self.gradient)
        sum_line = total if len(self.paths) == 1 else f"{products} = {total}"
        lines += ["", f"sum over {count} = {sum_line}"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The same chain as HTML, for a notebook: one table per path, then the sum.

        >>> x = Value(3.0, label="x")
        >>> print(explain(x * 2, x)._repr_html_())
        <p><b>d y / d x = 2</b></p>
        <table><caption>path 1: y ← x</caption>
        <tr><th>factor</th><th>formula</th><th>value</th></tr>
        <tr><td>d y / d x</td><td>2</td><td>2</td></tr>
        <tr><td>product</td><td></td><td>2</td></tr>
        </table>
        <p>sum over 1 path = 2</p>
        """
        text = str(self).split("\n")
        if len(self.paths) == 0 or not self.paths[0].factors:  # no chain: one sentence
            return f"<p>{html.escape(text[0])}</p>"
        parts = [f"<p><b>{html.escape(text[0])}</b></p>"]
        if self.definitions:
            parts.append(html_table([("name", "formula"), *self.definitions], caption="where"))
        for i, path in enumerate(self.paths, 1):
            rows: list[tuple[str, ...]] = [("factor", "formula", "value")]
            rows += [(f.symbol, f.formula, _number(f.value)) for f in path.factors]
            rows.append(("product", "", _number(path.product)))
            parts.append(html_table(rows, caption=f"path {i}: {path.title}"))
        parts.append(f"<p>{html.escape(text[-1])}</p>")
        return "\n".join(parts)


def explain(
    y: Value,
    x: Value,
    *,
    collapse: bool | None = None,
    max_paths: int = 100,
    max_factors: int = 1000,
) -> Explanation:
    """Write out the chain rule of dy/dx: every path, every local factor, products and sum.

    ``collapse=True`` shows only labelled intermediate nodes, ``False`` every
    one; by default, collapse when some node between y and x is labelled.
    A graph where y reaches x by more than ``max_paths`` paths (fan-out makes
    their number grow exponentially), or by more than ``max_factors`` local
    factors in all, raises :class:`PathLimitError` instead.

    >>> a = Value(2.0, label="a")
    >>> y = (a * a).sin()
    >>> print(explain(y, a, collapse=True))  # the product a * a folded into one factor
    d y / d a = -2.614574483
    <BLANKLINE>
    path 1: y ← a
      d y / d a  =  cos(a * a) * a + cos(a * a) * a  =  -2.614574483
      product                                        =  -2.614574483
    <BLANKLINE>
    sum over 1 path = -2.614574483
    >>> [path.nodes for path in explain(y, a).paths]  # no label between y and a
    [('y', 'a * a', 'a'), ('y', 'a * a', 'a')]
    """
    for name, node in (("y", y), ("x", x)):
        if not isinstance(node, Value):
            raise TypeError(f"explain: {name} must be a Value, got {type(node).__name__}")
    max_paths = count(max_paths, "explain: max_paths", minimum=1, maximum=_COUNT_CAP - 1)
    max_factors = count(max_factors, "explain: max_factors", minimum=1, maximum=_COUNT_CAP - 1)
    if collapse is not None:
        collapse = flag(collapse, "explain: collapse")
    order = reverse_topological_order(y)
    paths_to_x, factors_to_x = _count_paths(order, x)
    # The limits are decided before naming the nodes, the costly part: the ends'
    # names are their labels, or y and x, as _Names gives them.
    symbol = f"{_d(y.label or 'y')} / {_d(x.label or 'x')}"
    if paths_to_x.get(y, 0) > max_paths:
        raise PathLimitError(
            f"explain: {symbol} sums over {_how_many(paths_to_x[y])} paths, more than "
            f"max_paths={max_paths}; label fewer nodes' fan-out, explain an intermediate "
            "node, or get the number alone with gradients()"
        )
    if factors_to_x.get(y, 0) > max_factors:
        raise PathLimitError(
            f"explain: the paths of {symbol} have {_how_many(factors_to_x[y])} local "
            f"factors in all, more than max_factors={max_factors}; explain a shorter stretch "
            "of the graph, or get the number alone with gradients()"
        )
    names = _Names(order, y, x)
    y_name, x_name = names.text(y), names.text(x)

    if collapse is None:
        collapse = any(node.label for node in paths_to_x if node is not y and node is not x)

    def shown(node: Value) -> bool:
        return not collapse or node is y or node is x or bool(node.label)

    # Full paths with the same named nodes differ only inside segments of unnamed
    # nodes, and they are every combination of those segments' routes: so the
    # group's sum is the product, over segments, of each segment's sum of routes.
    groups: dict[tuple[object, ...], tuple[list[Value], list[dict[Route, None]]]] = {}
    for edges in _paths(y, x, paths_to_x):
        nodes, segments, route = [y], [], []
        for node, i in edges:
            route.append((node, i))
            if shown(node.parents[i]):
                nodes.append(node.parents[i])
                segments.append(tuple(route))
                route = []
        key = tuple(nodes) if collapse else edges  # uncollapsed, every path stands alone
        _, routes = groups.setdefault(key, (nodes, [{} for _ in segments]))
        for seen, segment in zip(routes, segments, strict=True):
            seen[segment] = None
    paths = tuple(
        ChainPath(
            tuple(names.text(node) for node in nodes),
            tuple(
                names.factor(upper, lower, segment_routes)
                for upper, lower, segment_routes in zip(nodes, nodes[1:], routes, strict=False)
            ),
        )
        for nodes, routes in groups.values()
    )
    if not collapse:  # each path stands alone, keyed by its edges
        paths = _told_apart(paths, cast(list[Route], list(groups)), names)
    return Explanation(y_name, x_name, paths, names.definitions_in_use())


def _told_apart(
    paths: tuple[ChainPath, ...], routes: list[Route], names: _Names
) -> tuple[ChainPath, ...]:
    """Paths through the same nodes part where they take different operands: say which."""
    alike: dict[tuple[str, ...], list[int]] = {}
    for k, path in enumerate(paths):
        alike.setdefault(path.nodes, []).append(k)
    told = list(paths)
    for members in alike.values():
        if len(members) < 2:
            continue
        parting = [
            position
            for position in range(len(routes[members[0]]))
            if len({routes[k][position] for k in members}) > 1
        ]
        for k in members:
            edges = [routes[k][position] for position in parting]
            through = " and ".join(
                f"the {('left', 'right')[i]} operand of {names.text(node)}" for node, i in edges
            )
            told[k] = replace(paths[k], through=through)
    return tuple(told)


# -- counting and walking the paths ----------------------------------------------------


# Path counts double with each level of fan-out: counted exactly up to this cap and
# held there, they stay machine-sized numbers (2**15000 paths would take 4,516 digits).
_COUNT_CAP = 10**18


def _count_paths(order: list[Value], x: Value) -> tuple[dict[Value, int], dict[Value, int]]:
    """For each node, how many paths lead from it to x, and how many edges they hold.

    Both are held at :data:`_COUNT_CAP` once they reach it.
    """
    paths: dict[Value, int] = {}
    edges: dict[Value, int] = {}
    for node in reversed(order):  # operands before their users
        if node is x:
            paths[node], edges[node] = 1, 0
            continue
        count = length = 0
        for parent in node.parents:
            through = paths.get(parent, 0)
            if through:
                count += through
                length += edges[parent] + through
        if count:
            if length > _COUNT_CAP:  # length >= count: one test for the common case
                count, length = min(count, _COUNT_CAP), _COUNT_CAP
            paths[node], edges[node] = count, length
    return paths, edges


def _how_many(number: int) -> str:
    return f"{number:,}" if number < _COUNT_CAP else "10^18 or more"


def _paths(y: Value, x: Value, paths_to_x: dict[Value, int]) -> list[Route]:
    """Every path from y to x as its edges (node, operand position), operands in order."""
    # Each stack entry links back to the edge before it, so extending a path costs
    # one entry, not a copy: long paths stay linear.
    Link = tuple[Any, tuple[Value, int]] | None
    found = []
    stack: list[tuple[Value, Link]] = [(y, None)] if y in paths_to_x else []
    while stack:
        node, link = stack.pop()
        if node is x:
            edges = []
            while link is not None:
                link, edge = link
                edges.append(edge)
            found.append(tuple(reversed(edges)))
            continue
        parents = node.parents
        for i in reversed(range(len(parents))):  # popped in operand order
            if parents[i] in paths_to_x:
                stack.append((parents[i], (link, (node, i))))
    return found


# -- names and formulas ------------------------------------------------------------------


class _Names(NodeNames[Value]):
    """Each node's symbol in formulas, and the local partials as formulas and numbers."""

    def __init__(self, order: list[Value], y: Value, x: Value) -> None:
        super().__init__(order[::-1], {y: "y", x: "x"})  # operands first
        self.used: set[Value] = set()
        if x not in self.terms:  # y does not depend on x: only its name is wanted
            self.terms[x], self.mentions[x] = Expr(x.label or "x"), frozenset()

    def text(self, node: Value) -> str:
        self.used |= self.mentions[node]
        return _text(self.terms[node])

    def factor(self, upper: Value, lower: Value, routes: dict[Route, None]) -> Factor:
        """d upper / d lower through unnamed nodes: the sum over routes of their products."""
        formula: Term | None = None
        values = []
        for route in routes:
            partials = [self._partial(node, i) for node, i in route]
            sign, product = _signed_product([formula for formula, _ in partials])
            if formula is None:
                formula = -product if sign < 0 else product
            else:
                formula = formula - product if sign < 0 else formula + product
            values.append(functools.reduce(operator.mul, (value for _, value in partials), 1.0))
        assert formula is not None  # a segment has at least one route
        return Factor(self.text(upper), self.text(lower), _text(formula), sum(values, 0.0))

    def _partial(self, node: Value, i: int) -> tuple[Term, float]:
        op = node.op
        assert op is not None  # a node on a path above x was made by an op
        operands = [self.terms[parent] for parent in node.parents]
        self.used.update(*(self.mentions[parent] for parent in node.parents))
        try:
            formula: Term = op.partials(*operands, op(*operands))[i]
        except ArithmeticError:  # a rule divides by a constant 0: write the constants out
            operands = [as_expr(term) for term in operands]
            formula = op.partials(*operands, op(*operands))[i]
        value = op.partials_at(*(parent.data for parent in node.parents), node.data)[i]
        return formula, float(value)

    def definitions_in_use(self) -> tuple[tuple[str, str], ...]:
        """(name, formula) of each generated name the text uses, directly or not."""
        wanted: set[Value] = set()
        stack = list(self.used)
        while stack:
            node = stack.pop()
            if node not in wanted:
                wanted.add(node)
                stack += [n for parent in node.parents for n in self.mentions[parent]]
        return tuple(definition for node, definition in self.generated.items() if node in wanted)


def _signed_product(terms: list[Term]) -> tuple[float, Term]:
    """(sign, product): factors of 1 left out, factors of −1 gathered into the sign."""
    sign, kept = 1.0, []
    for term in terms:
        if isinstance(term, float) and term in (1.0, -1.0):
            sign *= term
        else:
            kept.append(term)
    return sign, functools.reduce(operator.mul, kept) if kept else 1.0


def _text(term: Term) -> str:
    return term.text if isinstance(term, Expr) else number_text(term)


def _d(name: str) -> str:
    return f"d {name}" if name.isidentifier() else f"d({name})"


def _number(value: float) -> str:
    return f"{value:.10g}"
