"""Formulas as text, built by the rule table itself.

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
"""

from __future__ import annotations

from tinygrad_gd.core.ops import ADD, ATOM, DIV, MUL, NEG, POW, POWER, SUB, UNARY, Op, number_text

__all__ = ["Expr", "as_expr", "number_text"]

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
