"""Functional differentiation: ``gradients``, ``grad``, ``value_and_grad``, ``no_grad``.

``gradients`` is ``torch.autograd.grad``: derivatives of one node with respect
to others, leaving every ``.grad`` alone. ``grad`` and ``value_and_grad`` are
``jax.grad`` and ``jax.value_and_grad``: they turn a function of numbers into
the function of its derivative, and they nest to any order.

>>> d_sigmoid = grad(lambda x: x.sigmoid())
>>> d_sigmoid(0.0)
0.25
>>> grad(grad(lambda x: x ** 3))(2.0)  # d²/dx² x³ = 6x
12.0
"""

from __future__ import annotations

import functools
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from tinygrad_gd._support.checks import function_name as _name
from tinygrad_gd.core.value import Value, adjoints, graph_mode

__all__ = ["detect_anomaly", "gradients", "grad", "no_grad", "value_and_grad"]


def gradients(
    y: Value, xs: Value | Sequence[Value], create_graph: bool = False
) -> tuple[Any, ...]:
    """d y / d x for each x in ``xs``, as a tuple; no ``.grad`` is touched.

    A node that ``y`` does not depend on gets 0.0. With ``create_graph=True``
    the results are Values whose own graph can be differentiated again.

    >>> x, w = Value(0.1), Value(0.5)
    >>> y = (w * x).tanh()
    >>> dw, dx = gradients(y, [w, x])
    >>> round(dw, 6), round(dx, 6), w.grad
    (0.09975, 0.498752, 0.0)
    >>> (d2w,) = gradients(gradients(y, [w], create_graph=True)[0], [w])
    >>> round(d2w, 6)
    -0.000997
    """
    if not isinstance(y, Value):
        raise TypeError(f"gradients: y must be a Value, got {type(y).__name__}")
    if isinstance(xs, Value):
        targets = [xs]
    elif isinstance(xs, (list, tuple)) or (
        isinstance(xs, Iterable) and not isinstance(xs, (str, bytes))
    ):
        targets = list(xs)
    else:
        raise TypeError(
            f"gradients: xs must be a Value or a sequence of Values, got {type(xs).__name__}"
        )
    for i, x in enumerate(targets):
        if not isinstance(x, Value):
            raise TypeError(f"gradients: xs[{i}] must be a Value, got {type(x).__name__}")
    with adjoints(y, create_graph):
        found = [x._adjoint for x in targets]
    return tuple(_as_node(d) for d in found) if create_graph else tuple(found)


def _as_node(d: Value | float) -> Value:
    # In a created graph a constant derivative (1.0 from y = x + c) is a plain float.
    return d if isinstance(d, Value) else Value(d)


# How many grad/value_and_grad calls are evaluating their function right now.
# Inside one, a derivative must stay a Value: the outer call may differentiate it.
_nesting: ContextVar[int] = ContextVar("tinygrad_gd_nesting", default=0)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient of f)`` at its arguments.

    ``argnums`` picks the arguments to differentiate: an int gives one
    gradient, a tuple gives a tuple. Called on numbers it returns floats;
    called on Values, or inside another ``grad``, it returns Values, which is
    what lets ``grad`` nest.

    >>> loss = lambda w, x: (w * x - 1.0) ** 2
    >>> value_and_grad(loss, argnums=(0, 1))(2.0, 3.0)
    (25.0, (30.0, 20.0))
    """
    positions = check_argnums(argnums)
    one = is_position(argnums)  # one position gives one gradient, a tuple a tuple

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        wanted = resolve_argnums(positions, len(args), f)
        args_list = list(args)
        nested = _nesting.get() > 0
        for i in wanted:
            arg = args_list[i]
            if isinstance(arg, Value):
                # Differentiate through a fresh alias (x * 1, exact for every float), so
                # that f's own uses of the same node, say through a closure in a nested
                # grad, stay outside this derivative. The alias is no op of the user's:
                # anomaly mode must not name it for an argument that is already inf.
                with graph_mode(detect_anomaly=False):
                    args_list[i] = arg * 1.0
                nested = True
            elif type(arg) is float or isinstance(arg, numbers.Real):
                args_list[i] = Value(arg)  # type: ignore[arg-type]
            else:
                raise TypeError(
                    f"argument {i} of {_name(f)} must be a real number or a Value "
                    f"to be differentiated, got {type(arg).__name__}"
                )
        token = _nesting.set(_nesting.get() + 1)
        try:
            with graph_mode(record=True):
                out = f(*args_list, **kwargs)
        finally:
            _nesting.reset(token)
        if not isinstance(out, Value):
            if not isinstance(out, numbers.Real):
                raise TypeError(
                    f"{_name(f)} must return a scalar Value or a number to be "
                    f"differentiated, got {type(out).__name__}"
                )
            out = Value(out)  # type: ignore[arg-type]
        derivatives = gradients(out, [args_list[i] for i in wanted], create_graph=nested)
        result = derivatives[0] if one else derivatives
        return (out if nested else out.data), result

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The gradient of a scalar function ``f``, as a function (like ``jax.grad``).

    >>> import math
    >>> round(grad(lambda x: x.exp() * x.log())(2.0), 6)  # eˣ(log x + 1/x)
    8.816231
    >>> grad(grad(grad(lambda x: x ** 4)))(1.0)  # 24x
    24.0
    """
    value_and_grad_f = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


@contextmanager
def no_grad() -> Iterator[None]:
    """Inside the block, operations compute values but record no graph.

    The switch belongs to the current thread (or asyncio task) only.

    >>> w = Value(2.0)
    >>> with no_grad():
    ...     y = w * 3
    >>> y.parents
    ()
    """
    with graph_mode(record=False):
        yield


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Inside the block, the first non-finite result raises ``AnomalyError``.

    Forward: an op whose result is inf or nan. Backward: the first op whose
    gradient flow is inf or nan. The error names the op, its operand values
    and the line of user code that made the node. Outside the block the
    engine pays nothing for this; inside, each op records where it was made.

    >>> x = Value(0.0)
    >>> with detect_anomaly():
    ...     x.log()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tinygrad_gd.core.value.AnomalyError: log(0.0) gave -inf
      made at ...
    """
    with graph_mode(detect_anomaly=True):
        yield


def is_position(i: object) -> bool:
    """Whether ``i`` can be an argument position: an integer (numpy's too), not a bool.

    >>> is_position(1), is_position(True), is_position(1.0)
    (True, False, False)
    """
    return isinstance(i, numbers.Integral) and not isinstance(i, bool)  # numpy ints too


def check_argnums(argnums: int | Sequence[int]) -> tuple[int, ...]:
    """``argnums`` as a tuple of positions, or the error that names what is wrong with it.

    >>> check_argnums(0), check_argnums((1, 0))
    ((0,), (1, 0))
    """
    if is_position(argnums):
        return (operator.index(argnums),)  # type: ignore[arg-type]
    positions = tuple(argnums) if isinstance(argnums, (tuple, list)) else ()
    if not positions or not all(is_position(i) for i in positions):
        raise TypeError(f"argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    if len(set(positions)) != len(positions):
        raise ValueError(f"argnums has a repeated position: {argnums!r}")
    return tuple(int(i) for i in positions)


def resolve_argnums(positions: tuple[int, ...], nargs: int, f: Callable[..., Any]) -> list[int]:
    """The positions as indices into a call of ``f`` with ``nargs`` arguments (-1: the last).

    >>> resolve_argnums((0, -1), 3, print)
    [0, 2]
    """
    for i in positions:
        if not -nargs <= i < nargs:
            raise ValueError(
                f"argnums {i} is out of range: {_name(f)} was called with "
                f"{nargs} positional argument{'s' if nargs != 1 else ''}"
            )
    resolved = [i % nargs for i in positions]
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"argnums {positions} name the same argument twice")
    return resolved
