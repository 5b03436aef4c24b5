"""Formulas as text, built by the rule table itself; and the names of a graph's nodes.

An :class:`Expr` is a piece of formula text that composes like a number:
``+ - * /`` and the table's ops applied to Exprs print the result, with just
the parentheses it needs. Applying a rule's ``partials`` to Exprs therefore
prints the rule, so the explainer and the compiler never keep a second copy
of any derivative.

>>> from tinygrad_gd.core.ops import SIGMOID, DIV
>>> sop, pred = Expr("sop"), Expr("pred")
>>> SIGMOID.partials(sop, pred)
(Expr('pred * (1 - pred)'),)
>>> DIV.partials(Expr("a"), Expr("b"), Expr("out"))
(Expr('1 / b'), Expr('-out / b'))

:class:`NodeNames` names every node of a graph the one way that ``explain``
and the drawings share: by its label, by its number if constant, else by its
formula in terms of named nodes, or by a generated ``t1``, ``t2`` ... when
that formula is long.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from tinygrad_gd.core.ops import ADD, ATOM, DIV, MUL, NEG, POW, POWER, SUB, UNARY, Op, number_text

__all__ = ["MAX_INLINE_FORMULA", "Expr", "Node", "NodeNames", "Term", "as_expr", "number_text"]

# Ops for which a left operand of equal binding strength needs no parentheses:
# a - b - c is (a - b) - c, but a ** b ** c is not (a ** b) ** c.
_LEFT_ASSOCIATIVE = {ADD.name, SUB.name, MUL.name, DIV.name}


class Expr:
    """Formula text with the binding strength of its outermost operation.

    >>> x = Expr("x")
    >>> (x - 1) ** 2, -(x + 1), 2 * x / (x - 1)
    (Expr('(x - 1) ** 2'), Expr('-(x + 1)'), Expr('2 * x / (x - 1)'))
    """

    __slots__ = ("precedence", "text")

    def __init__(self, text: str, precedence: int = ATOM) -> None:
        self.text = text
        self.precedence = precedence

    @classmethod
    def apply(cls, op: Op, *operands: Expr | float) -> Expr:
        """Print ``op`` applied to operands (the hook ``Op.__call__`` uses)."""
        notation, precedence = cls.written(op)
        exprs = [as_expr(x) for x in operands]
        texts = [_operand_text(op.name, precedence, i, e) for i, e in enumerate(exprs)]
        return cls(notation.format(*texts), precedence)

    @classmethod
    def written(cls, op: Op) -> tuple[str, int]:
        """How ``op`` is written, and how strongly that binds: the table's notation.

        A subclass may write some ops otherwise; the operators of its
        formulas keep its class.
        """
        return op.notation, op.precedence

    def __add__(self, other: Expr | float) -> Expr:
        return self.apply(ADD, self, other)

    def __radd__(self, other: float) -> Expr:
        return self.apply(ADD, other, self)

    def __sub__(self, other: Expr | float) -> Expr:
        return self.apply(SUB, self, other)

    def __rsub__(self, other: float) -> Expr:
        return self.apply(SUB, other, self)

    def __mul__(self, other: Expr | float) -> Expr:
        return self.apply(MUL, self, other)

    def __rmul__(self, other: float) -> Expr:
        return self.apply(MUL, other, self)

    def __truediv__(self, other: Expr | float) -> Expr:
        return self.apply(DIV, self, other)

    def __rtruediv__(self, other: float) -> Expr:
        return self.apply(DIV, other, self)

    def __pow__(self, other: Expr | float) -> Expr:
        return self.apply(POW, self, other)

    def __rpow__(self, other: float) -> Expr:
        return self.apply(POW, other, self)

    def __neg__(self) -> Expr:
        return self.apply(NEG, self)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Expr({self.text!r})"


def as_expr(x: Expr | float) -> Expr:
    """An Expr for ``x``: ``x`` itself, or a number printed with its binding strength.

    >>> as_expr(-2.0), as_expr(Expr("x"))
    (Expr('-2'), Expr('x'))
    """
    if isinstance(x, Expr):
        return x
    text = number_text(x)
    return Expr(text, UNARY if text.startswith("-") else ATOM)


def _operand_text(name: str, precedence: int, position: int, operand: Expr) -> str:
    if operand.precedence > precedence or precedence == ATOM:
        return operand.text
    tied_on_the_left = operand.precedence == precedence and position == 0
    if tied_on_the_left and name in _LEFT_ASSOCIATIVE:
        return operand.text
    if precedence == POWER and position == 1 and operand.precedence >= UNARY:
        return operand.text  # x ** -2 reads as intended
    return f"({operand.text})"


# -- the names of a graph's nodes ---------------------------------------------------

MAX_INLINE_FORMULA = 40
"""An unlabelled node's formula longer than this is named ``t1``, ``t2`` ... instead."""

Term = Expr | float  # a formula, or a number when it has no symbol in it


class Node(Protocol):
    """What naming reads of a graph node: a ``Value``, without importing it here.

    (``core.value`` shows a Value's graph through the drawing module, which
    names nodes with this one; importing Value back would close a cycle.)
    """

    @property
    def label(self) -> str: ...

    @property
    def data(self) -> float: ...

    @property
    def op(self) -> Op | None: ...

    @property
    def parents(self) -> Sequence[Node]: ...


N = TypeVar("N", bound=Node)


class NodeNames(Generic[N]):
    """Each node's name in formulas, for a graph given operands first (topological order).

    A node is named by its label; an unlabelled one by ``ends`` if listed
    there, by its number if it is a constant, else by its formula in terms of
    its operands' names, or by a generated name (``t1``, ``t2`` ..., listed
    with their formulas in ``generated``) when that formula is longer than
    :data:`MAX_INLINE_FORMULA`. ``mentions[node]`` holds the nodes with
    generated names that a node's name uses.

    >>> from tinygrad_gd.core.value import Value, reverse_topological_order
    >>> w = Value(0.5, label="w")
    >>> y = (w * 0.1).sigmoid() - 0.3
    >>> names = NodeNames(reverse_topological_order(y)[::-1])
    >>> names.text(y.parents[0]), names.text(y)
    ('sigmoid(w * 0.1)', 'sigmoid(w * 0.1) - 0.3')
    """

    def __init__(self, order: Sequence[N], ends: Mapping[N, str] | None = None) -> None:
        ends = ends or {}
        self.terms: dict[N, Term] = {}
        self.generated: dict[N, tuple[str, str]] = {}
        self.mentions: dict[N, frozenset[N]] = {}
        taken = {node.label for node in order if node.label} | set(ends.values())
        fresh = (name for k in range(1, len(order) + 2) if (name := f"t{k}") not in taken)
        for node in order:
            mentions: frozenset[N] = frozenset()
            if node.label or node in ends:
                term: Term = Expr(node.label or ends[node])
            elif node.op is None:
                term = node.data
            else:
                parents: Sequence[N] = node.parents  # type: ignore[assignment]  # N's own kind
                term = node.op(*(self.terms[parent] for parent in parents))
                mentions = frozenset().union(*(self.mentions[p] for p in parents))
                if isinstance(term, Expr) and len(term.text) > MAX_INLINE_FORMULA:
                    self.generated[node] = (next(fresh), term.text)
                    term, mentions = Expr(self.generated[node][0]), frozenset({node})
            self.terms[node] = term
            self.mentions[node] = mentions

    def text(self, node: N) -> str:
        """The node's name as text.

        >>> from tinygrad_gd.core.value import Value
        >>> two = Value(2.0)
        >>> NodeNames([two]).text(two)
        '2'
        """
        term = self.terms[node]
        return term.text if isinstance(term, Expr) else number_text(term)
