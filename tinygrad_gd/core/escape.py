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
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["check_float", "depth", "differentiated", "guard", "unguard"]

# What is being differentiated in this context: how many transforms (grad, jvp, ...)
# are evaluating their function here, and the inputs of every one, innermost last.
# One variable for both, so that a transform's call sets it once: it is set and
# reset on every value_and_grad call, and each set costs a new context mapping.
_State = tuple[int, tuple[Any, ...]]
_state: ContextVar[_State] = ContextVar("tinygrad_gd_differentiated", default=(0, ()))

ADVICE = (
    "float() of a Value that depends on an input being differentiated would drop its "
    "derivative: math.exp(x), math.sin(x), float(x) and np.float64(x) all compute on "
    "the bare number. Write the op on the Value instead (x.exp(), x.log(), x.sin(), "
    "x.cos(), x.tanh(), x.sqrt(), abs(x), x ** 2; tinygrad_gd.custom_op for a new one), "
    "or x.data where a constant is meant."
)


def guard(inputs: Iterable[Any], evaluating: bool = True) -> Token[_State]:
    """Guard ``inputs`` against ``float()`` until :func:`unguard` gets the token back.

    ``evaluating``: a transform is evaluating its function (:func:`depth` counts it).

    >>> token = guard(["x"])
    >>> depth()
    1
    >>> unguard(token); depth()
    0
    """
    nesting, guarded = _state.get()
    return _state.set((nesting + evaluating, (*guarded, *inputs)))


# End the guard that guard() started, given its token: the variable's own reset,
# with no Python frame of its own (value_and_grad calls it every time).
unguard = _state.reset


def depth() -> int:
    """How many transforms are evaluating their function in this context.

    >>> depth()
    0
    """
    return _state.get()[0]


class differentiated:  # noqa: N801  (used like a function: ``with differentiated(xs):``)
    """Inside the block, a Value depending on one of ``inputs`` refuses ``float()``.

    The inputs of a derivative's own graph (``gradients(create_graph=True)``):
    no transform is evaluating a function, so :func:`depth` stays as it is.
    """

    __slots__ = ("inputs", "token")

    def __init__(self, inputs: Iterable[Any]) -> None:
        self.inputs = inputs

    def __enter__(self) -> None:
        self.token = guard(self.inputs, evaluating=False)

    def __exit__(self, *exc_info: object) -> None:
        unguard(self.token)


def check_float(value: Any) -> float:
    """``value.data``, or a ``TypeError`` if it depends on an input being differentiated."""
    inputs = _state.get()[1]
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
