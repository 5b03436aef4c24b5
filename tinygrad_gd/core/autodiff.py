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
from typing import Any, Literal, Protocol, overload

from numpy.typing import NDArray

from tinygrad_gd._support.checks import function_name as _name
from tinygrad_gd.core.escape import depth, differentiated, guard, unguard
from tinygrad_gd.core.modes import graph_mode, live_modes
from tinygrad_gd.core.ops import is_number
from tinygrad_gd.core.trees import Rebuild, flatten, to_numbers
from tinygrad_gd.core.value import Value, adjoints, float_gradients, float_leaf

__all__ = [
    "detect_anomaly", "differentiable_arguments", "differentiating", "gradients", "grad",
    "nested", "no_grad", "scalar_output", "split_aux", "stop_gradient", "value_and_grad",
]  # fmt: skip


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
    with graph_mode() as current:  # no change: only reads the mode
        recording = current.record
    if create_graph and not recording:
        # The derivative's graph would not be recorded: differentiating it again would
        # give a flat 0. (grad and jvp record it whatever the mode: they switch it on.)
        raise RuntimeError(
            "gradients(create_graph=True) under no_grad(): the derivative's graph cannot "
            "be recorded. Call it outside the no_grad() block."
        )
    if not create_graph:
        if not live_modes:  # no anomaly mode anywhere: the float pass alone
            return tuple(float_gradients(y, targets))
        with adjoints(y):
            found = [x._adjoint for x in targets]
        return tuple(found)
    # A rule written with math.* on its operands would hand back a constant partial.
    with differentiated(targets), adjoints(y, create_graph=True):
        found = [x._adjoint for x in targets]
    return tuple(_as_node(d) for d in found)


def _as_node(d: Value | float) -> Value:
    # In a created graph a constant derivative (1.0 from y = x + c) is a plain float.
    return d if isinstance(d, Value) else Value(d)


def nested() -> bool:
    """Whether a transform is evaluating its function here: results must stay Values.

    >>> nested(), grad(lambda x: x * nested())(1.0)
    (False, 1.0)
    """
    return depth() > 0


@contextmanager
def differentiating(inputs: Sequence[Value]) -> Iterator[None]:
    """Evaluate a transform's function: graphs recorded, ``inputs`` guarded against ``float()``.

    >>> x = Value(1.0)
    >>> with differentiating([x]):
    ...     nested(), (x * 2).parents[0] is x
    (True, True)
    """
    token = guard(inputs)
    try:
        with graph_mode(record=True):
            yield
    finally:
        unguard(token)


def differentiable_arguments(
    f: Callable[..., Any], args: Sequence[Any], wanted: Sequence[int]
) -> tuple[list[Any], list[tuple[list[Value], Rebuild]], bool]:
    """The call's arguments with the wanted ones made of fresh leaf Values.

    Returns the new argument list, for each wanted argument its leaves and
    the function rebuilding its structure, and whether the results must stay
    Values (an input is a Value, or another transform is running).

    >>> args, groups, stays = differentiable_arguments(print, [1.0, [2.0, 3]], [1])
    >>> args, len(groups[0][0]), stays
    ([1.0, [Value(data=2.0, grad=0.0), Value(data=3.0, grad=0.0)]], 2, False)
    """
    new_args = list(args)
    groups = []
    keep_values = nested()
    for i in wanted:
        leaves, rebuild = flatten(args[i])
        fresh = []
        for leaf in leaves:
            if isinstance(leaf, Value):
                # Differentiate through a fresh alias (x * 1, exact for every float), so
                # that f's own uses of the same node, say through a closure in a nested
                # transform, stay outside this derivative. The alias is no op of the
                # user's: anomaly mode must not name it for an argument already inf.
                with graph_mode(record=True, detect_anomaly=False):
                    fresh.append(leaf * 1.0)
                keep_values = True
            elif type(leaf) is float or is_number(leaf):  # bools count as 0 and 1
                fresh.append(Value(leaf))
            else:
                raise TypeError(
                    f"argument {i} of {_name(f)} must be a real number or a Value, or a "
                    "list, tuple or numpy array of them, to be differentiated; "
                    f"it holds a {type(leaf).__name__}"
                )
        new_args[i] = rebuild(fresh)
        groups.append((fresh, rebuild))
    return new_args, groups, keep_values


def split_aux(f: Callable[..., Any], out: Any, has_aux: bool) -> tuple[Any, Any]:
    """``(value, aux)`` from what ``f`` returned: the pair itself with ``has_aux``."""
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{_name(f)} must return a pair (value, aux) when has_aux=True, "
            f"got {type(out).__name__}"
        )
    return out


def scalar_output(f: Callable[..., Any], out: Any) -> Value:
    """What ``f`` returned as a Value, or the error saying it is not a scalar."""
    if isinstance(out, Value):
        return out
    if not is_number(out):
        raise TypeError(
            f"{_name(f)} must return a scalar Value or a number to be "
            f"differentiated, got {type(out).__name__}"
        )
    return Value(out)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient of f)`` at its arguments.

    ``argnums`` picks the arguments to differentiate: an int gives one
    gradient, a tuple gives a tuple. An argument may be a number, a Value, or
    a list, tuple or numpy array of them: its gradient has the same shape.
    Called on numbers it returns floats; called on Values, or inside another
    transform, it returns Values, which is what lets ``grad`` nest. With
    ``has_aux``, ``f`` returns ``(value, aux)`` and the result is
    ``((value, aux), gradient)``, as in JAX.

    >>> loss = lambda w, x: (w * x - 1.0) ** 2
    >>> value_and_grad(loss, argnums=(0, 1))(2.0, 3.0)
    (25.0, (30.0, 20.0))
    >>> value_and_grad(lambda w: (w[0] * w[1], w[0] + 1), has_aux=True)([2.0, 3.0])
    ((6.0, 3.0), [3.0, 2.0])
    """
    positions = check_argnums(argnums)
    one = is_position(argnums)  # one position gives one gradient, a tuple a tuple
    if not isinstance(has_aux, bool):
        raise TypeError(f"has_aux must be True or False, got {has_aux!r}")

    resolved: dict[int, list[int]] = {}  # the positions wanted, by number of arguments

    @functools.wraps(f)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        wanted = resolved.get(len(args))
        if wanted is None:
            wanted = resolved[len(args)] = resolve_argnums(positions, len(args), f)
        if not has_aux and not live_modes and not depth():
            # The common call: floats in, not nested, the default mode everywhere (so
            # graphs are recorded). What the general path below does, without its
            # setting up; an argument that is not a float goes there instead.
            new_args, inputs = list(args), []
            for i in wanted:
                if type(args[i]) is not float:
                    break
                new_args[i] = leaf = float_leaf(args[i])
                inputs.append(leaf)
            else:
                token = guard(inputs)  # differentiating(inputs), less the mode switch
                try:
                    out = f(*new_args, **kwargs)
                finally:
                    unguard(token)
                root = out if isinstance(out, Value) else scalar_output(f, out)
                derivatives = float_gradients(root, inputs)
                return root.data, (derivatives[0] if one else tuple(derivatives))
        new_args, groups, keep_values = differentiable_arguments(f, args, wanted)
        inputs = [leaf for leaves, _ in groups for leaf in leaves]
        with differentiating(inputs):
            out = f(*new_args, **kwargs)
        value, aux = split_aux(f, out, has_aux)
        value = scalar_output(f, value)
        with graph_mode(record=True):  # a result that stays a Value keeps its graph
            found = iter(gradients(value, inputs, create_graph=keep_values))
        gradient = [rebuild([next(found) for _ in leaves]) for leaves, rebuild in groups]
        result = gradient[0] if one else tuple(gradient)
        if not keep_values:
            value, aux = value.data, to_numbers(aux)
        return ((value, aux) if has_aux else value), result

    return value_and_grad_f


class GradientFunction(Protocol):
    """What ``grad(f)`` is to a type checker: the gradient has its argument's type.

    A float gives a float, a Value a Value, a list a list, an array an array.
    (Inside another transform a float argument gives a Value, which computes
    as a float does.)
    """

    @overload
    def __call__(self, x: Value, /, *args: Any, **kwargs: Any) -> Value: ...
    @overload
    def __call__(self, x: float, /, *args: Any, **kwargs: Any) -> float: ...
    @overload
    def __call__(self, x: list[Any], /, *args: Any, **kwargs: Any) -> list[Any]: ...
    @overload
    def __call__(self, x: tuple[Any, ...], /, *args: Any, **kwargs: Any) -> tuple[Any, ...]: ...
    @overload
    def __call__(self, x: NDArray[Any], /, *args: Any, **kwargs: Any) -> NDArray[Any]: ...


@overload
def grad(
    f: Callable[..., Any], argnums: Literal[0] = 0, has_aux: Literal[False] = False
) -> GradientFunction: ...
@overload
def grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]: ...
def grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """The gradient of a scalar function ``f``, as a function (like ``jax.grad``).

    With ``has_aux`` it returns ``(gradient, aux)``. A list argument gets a
    list of gradients, a numpy array an array of the same shape.

    >>> import math
    >>> round(grad(lambda x: x.exp() * x.log())(2.0), 6)  # eˣ(log x + 1/x)
    8.816231
    >>> grad(grad(grad(lambda x: x ** 4)))(1.0)  # 24x
    24.0
    >>> grad(lambda w: w[0] * w[1])([2.0, 3.0])
    [3.0, 2.0]
    """
    value_and_grad_f = value_and_grad(f, argnums, has_aux)

    @functools.wraps(f)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        out, gradient = value_and_grad_f(*args, **kwargs)
        return (gradient, out[1]) if has_aux else gradient

    return grad_f


def stop_gradient(x: Any) -> Any:
    """The same value with no gradient: a Value becomes a new leaf, a number stays itself.

    Lists, tuples and numpy arrays are taken element by element, as in JAX.

    >>> grad(lambda x: x * stop_gradient(x))(3.0)  # d/dx of x · c, c = 3
    3.0
    """
    leaves, rebuild = flatten(x)
    return rebuild([leaf.detach() if isinstance(leaf, Value) else leaf for leaf in leaves])


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
