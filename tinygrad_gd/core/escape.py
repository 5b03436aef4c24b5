"""No silent escape from the graph: a Value being differentiated is never read as a float.

``math.exp(v)``, ``math.sin(v)``, ``float(v)``, ``np.float64(v)``: each reads
``v`` through ``float()`` and computes on the bare number, so whatever comes
out is a constant to the engine and its derivative is lost without a word.
While a transform (``grad``, ``jvp``, ``hessian``, ...) evaluates a function,
its inputs are listed here; ``Value.__float__`` asks :func:`check_float`,
which refuses a Value that depends on one of them and says what to write
instead. Outside every transform ``float(v)`` reads ``v.data``, as PyTorch's
``float(tensor)`` does: printing and logging a loss keeps working.

>>> class Node:  # anything with ``parents`` and ``data`` will do
...     def __init__(self, *parents):
...         self.parents, self.data = parents, 1.0
>>> x = Node(); y = Node(x)
>>> with differentiated([x]):
...     check_float(y)  # doctest: +ELLIPSIS
Traceback (most recent call last):
TypeError: float() of a Value that depends on an input being differentiated would drop ...
>>> check_float(y)  # outside a transform: the number
1.0
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

__all__ = ["check_float", "differentiated"]

# The inputs of every transform evaluating its function in this context, innermost last.
_inputs: ContextVar[tuple[Any, ...]] = ContextVar("tinygrad_gd_differentiated", default=())

ADVICE = (
    "float() of a Value that depends on an input being differentiated would drop its "
    "derivative: math.exp(x), math.sin(x), float(x) and np.float64(x) all compute on "
    "the bare number. Write the op on the Value instead (x.exp(), x.log(), x.sin(), "
    "x.cos(), x.tanh(), x.sqrt(), abs(x), x ** 2; tinygrad_gd.custom_op for a new one), "
    "or x.data where a constant is meant."
)


class differentiated:  # noqa: N801  (used like a function: ``with differentiated(xs):``)
    """Inside the block, a Value depending on one of ``inputs`` refuses ``float()``.

    A class rather than a generator: every ``value_and_grad`` call enters one.
    """

    __slots__ = ("inputs", "token")

    def __init__(self, inputs: Iterable[Any]) -> None:
        self.inputs = inputs

    def __enter__(self) -> None:
        self.token = _inputs.set((*_inputs.get(), *self.inputs))

    def __exit__(self, *exc_info: object) -> None:
        _inputs.reset(self.token)


def check_float(value: Any) -> float:
    """``value.data``, or a ``TypeError`` if it depends on an input being differentiated."""
    inputs = _inputs.get()
    if inputs and _depends_on(value, {id(x) for x in inputs}):
        raise TypeError(ADVICE)
    return float(value.data)


def _depends_on(value: Any, inputs: set[int]) -> bool:
    """Whether the graph below ``value`` (``value`` included) holds one of ``inputs``."""
    seen: set[int] = set()
    stack = [value]
    while stack:  # iterative: a graph a million nodes deep is fine
        node = stack.pop()
        if id(node) in inputs:
            return True
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node.parents)
    return False
