"""Forward mode and the derivative matrices: ``jvp``, ``jacobian``, ``hessian``.

Forward mode carries a tangent along with each value: the tangent of a node
is Σ partial · tangent over its operands, with the partials of the same
rule-table rows that reverse mode multiplies the other way. Here the
function runs once on Values (so every Value method, custom op and guard
works unchanged) and the tangents are then swept through the recorded graph
from the inputs up. On numbers the partials are numbers; when the results
must stay differentiable (inside ``grad``, or on Values) they are evaluated
on the nodes, so the tangents are Values with a graph of their own and
``grad`` of a ``jvp`` (or ``jvp`` of a ``grad``) is exact.

>>> import math
>>> jvp(lambda x: x.sin() * x, (1.0,), (1.0,))[1] == math.cos(1.0) + math.sin(1.0)
True
>>> hessian(lambda x, y: x * x * y)(3.0, 2.0)  # d²/dx² x²y = 2y
4.0
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import function_name as _name
from tinygrad_gd.core.autodiff import (
    check_argnums,
    differentiable_arguments,
    differentiating,
    grad,
    gradients,
    is_position,
    resolve_argnums,
)
from tinygrad_gd.core.ops import ADD
from tinygrad_gd.core.trees import flatten
from tinygrad_gd.core.value import Value, graph_mode, reverse_topological_order

__all__ = ["hessian", "jacobian", "jvp", "push_tangents", "topological_order"]


def jvp(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]
) -> tuple[Any, Any]:
    """``(f(*primals), J·tangents)``: the derivative of ``f`` along ``tangents`` (JAX's jvp).

    ``primals`` and ``tangents`` are tuples of the same structure: each a
    number, a Value, or a list, tuple or numpy array of them. ``f`` may
    return a scalar or a structure of them; the tangent has its shape. On
    numbers the results are floats; on Values, or inside ``grad``, they are
    Values, so ``jvp`` nests with ``grad`` (Hessian-vector products).

    >>> jvp(lambda x, y: x * y, (2.0, 3.0), (1.0, 0.0))  # d(xy)/dx = y
    (6.0, 3.0)
    >>> from tinygrad_gd.core.autodiff import grad
    >>> jvp(grad(lambda x: x ** 3), (2.0,), (1.0,))  # (f'(2), f''(2)) = (12, 12)
    (12.0, 12.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp: primals and tangents must be tuples (one item per argument of f), got "
            f"{type(primals).__name__} and {type(tangents).__name__}"
        )
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent "
            "per argument"
        )
    seeds: list[Any] = []
    for i, (primal, tangent) in enumerate(zip(primals, tangents, strict=True)):
        primal_leaves, _ = flatten(primal)
        tangent_leaves, _ = flatten(tangent)
        if len(primal_leaves) != len(tangent_leaves):
            raise ValueError(
                f"jvp: tangent {i} has {len(tangent_leaves)} numbers, its primal "
                f"{len(primal_leaves)}; they must have the same structure"
            )
        for leaf in tangent_leaves:
            if not isinstance(leaf, (Value, float, int, np.floating, np.integer)):
                raise TypeError(f"jvp: tangent {i} holds a {type(leaf).__name__}, not a number")
        seeds += tangent_leaves
    new_args, groups, keep_values = differentiable_arguments(f, primals, range(len(primals)))
    inputs = [leaf for leaves, _ in groups for leaf in leaves]
    keep_values = keep_values or any(isinstance(t, Value) for t in seeds)
    with differentiating(inputs):
        out = f(*new_args)
    outputs, rebuild = flatten(out)
    nodes = [_output(f, o) for o in outputs]
    swept = push_tangents(nodes, dict(zip(inputs, seeds, strict=True)), keep_values)
    if keep_values:
        return rebuild(nodes), rebuild([_as_value(t) for t in swept])
    return rebuild([node.data for node in nodes]), rebuild([_as_float(t) for t in swept])


def push_tangents(
    outputs: Sequence[Value], seeds: dict[Value, Any], create_graph: bool = False
) -> list[Any]:
    """The tangent of each output, given the tangents of some nodes below them.

    A tangent may be a number, a Value or a numpy array (several directions
    at once). With ``create_graph`` the partials are evaluated on the nodes,
    so tangents built from them are Values that can be differentiated again.

    >>> x = Value(3.0)
    >>> y = x * x + x
    >>> push_tangents([y], {x: 1.0}), push_tangents([y], {x: np.array([1.0, 2.0])})
    ([7.0], [array([ 7., 14.])])
    """
    known: dict[Value, Any] = dict(seeds)
    for node in topological_order(outputs):
        op = node.op
        if op is None or node in seeds:
            continue
        parents = node.parents
        if not any(parent in known for parent in parents):
            continue  # depends on no seeded node: its tangent is 0
        if create_graph:
            partials = op.partials(*parents, node)
        else:
            partials = op.partials_at(*(parent.data for parent in parents), node.data)
        total: Any = None
        for parent, partial in zip(parents, partials, strict=False):
            if parent not in known:
                continue
            tangent = known[parent]
            flow = tangent if type(partial) is float and partial == 1.0 else partial * tangent
            total = flow if total is None else total + flow
        known[node] = total
    return [known.get(output, 0.0) for output in outputs]


def topological_order(outputs: Sequence[Value]) -> list[Value]:
    """Every node the outputs depend on, each after its operands (one walk for them all).

    >>> from tinygrad_gd.core.value import Value
    >>> x = Value(2.0, label="x")
    >>> [n.data for n in topological_order([x * 3, x.exp()])]  # x, 3, x * 3, exp(x)
    [2.0, 3.0, 6.0, 7.38905609893065]
    """
    if not outputs:
        return []
    # One walk covers every output: they are joined by a chain of nodes of our own,
    # ((o1 + o2) + o3) ..., which is walked and then left out.
    with graph_mode(record=True, detect_anomaly=False), np.errstate(all="ignore"):
        joined = functools.reduce(lambda a, b: Value.apply(ADD, a, b), outputs)
    joins, node = set(), joined
    for _ in outputs[1:]:
        joins.add(id(node))
        node = node.parents[0]
    return [n for n in reversed(reverse_topological_order(joined)) if id(n) not in joins]


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The matrix of derivatives of each output of ``f`` by each number of its arguments.

    ``f`` returns a number, a Value, or a list, tuple or numpy array of them.
    The result has one row per output, each row shaped like the argument:
    a number for a scalar function of one number, nested lists for lists, an
    array of shape ``out.shape + arg.shape`` where either is an array; a
    tuple of them for a tuple ``argnums``. Forward mode (all directions in
    one sweep) when there are at least as many outputs as inputs, reverse
    mode (one backward pass per output) when there are fewer.

    >>> jacobian(lambda x: [x[0] * x[1], x[0] + x[1]])([2.0, 3.0])
    [[3.0, 2.0], [1.0, 1.0]]
    >>> jacobian(lambda x: x.exp())(0.0)
    1.0
    """
    positions = check_argnums(argnums)
    one = is_position(argnums)

    @functools.wraps(f)
    def jacobian_f(*args: Any, **kwargs: Any) -> Any:
        wanted = resolve_argnums(positions, len(args), f)
        new_args, groups, keep_values = differentiable_arguments(f, args, wanted)
        inputs = [leaf for leaves, _ in groups for leaf in leaves]
        with differentiating(inputs):
            out = f(*new_args, **kwargs)
        outputs, rebuild_out = flatten(out)
        nodes = [_output(f, o) for o in outputs]
        rows = _rows(nodes, inputs, keep_values)
        per_argument = []
        start = 0
        for leaves, rebuild_arg in groups:
            block = [row[start : start + len(leaves)] for row in rows]
            start += len(leaves)
            per_argument.append(_matrix(out, rebuild_out, rebuild_arg, block))
        return per_argument[0] if one else tuple(per_argument)

    return jacobian_f


def _rows(outputs: list[Value], inputs: list[Value], keep_values: bool) -> list[list[Any]]:
    """d output / d input for every pair: forward or reverse, whichever walks less."""
    if len(outputs) < len(inputs):
        with graph_mode(record=True):
            return [list(gradients(o, inputs, create_graph=keep_values)) for o in outputs]
    directions = np.eye(len(inputs))
    if keep_values:
        directions = directions.astype(object)
    seeds = dict(zip(inputs, directions, strict=True))
    with graph_mode(record=True):
        swept = push_tangents(outputs, seeds, create_graph=keep_values)
    rows = []
    for tangent in swept:
        row = list(tangent) if isinstance(tangent, np.ndarray) else [tangent] * len(inputs)
        rows.append([_as_value(d) if keep_values else _as_float(d) for d in row])
    return rows


def _matrix(
    out: Any,
    rebuild_out: Callable[[list[Any]], Any],
    rebuild_arg: Callable[[list[Any]], Any],
    block: list[list[Any]],
) -> Any:
    """The rows put together: the output's structure outside, the argument's inside."""
    rows = [rebuild_arg(row) for row in block]
    if isinstance(out, np.ndarray) or any(isinstance(row, np.ndarray) for row in rows):
        numeric = all(isinstance(d, float) for row in block for d in row)
        array = np.array(
            [np.asarray(row, dtype=float if numeric else object) for row in rows],
            dtype=float if numeric else object,
        )
        out_shape = np.shape(out) if isinstance(out, np.ndarray) else _length_shape(out)
        return array.reshape(out_shape + np.shape(rows[0] if rows else ()))
    return rebuild_out(rows)


def _length_shape(out: Any) -> tuple[int, ...]:
    leaves, _ = flatten(out)
    return (len(leaves),) if isinstance(out, (list, tuple)) else ()


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The matrix of second derivatives of a scalar ``f``: forward mode over reverse.

    The gradient is found in reverse mode (one pass, recorded as a graph),
    then differentiated in forward mode, every direction in one sweep, as
    ``jax.hessian`` does. A number for one scalar argument, nested lists for
    a list, an ``(n, n)`` array for an array of n numbers.

    >>> hessian(lambda x: x[0] * x[0] * x[1])([3.0, 2.0])  # [[2y, 2x], [2x, 0]]
    [[4.0, 6.0], [6.0, 0.0]]
    """
    return jacobian(grad(f, argnums), argnums)


def _output(f: Callable[..., Any], out: Any) -> Value:
    if isinstance(out, Value):
        return out
    if isinstance(out, (float, int, np.floating, np.integer)) and not isinstance(out, bool):
        return Value(float(out))
    raise TypeError(
        f"{_name(f)} must return numbers or Values (or lists, tuples or arrays of "
        f"them) to be differentiated, got {type(out).__name__}"
    )


def _as_value(x: Any) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _as_float(x: Any) -> float:
    return float(x)  # a numpy float from a swept direction, or 0.0
