"""Structured arguments: numbers and Values nested in lists, tuples and numpy arrays.

The transforms (``grad``, ``jvp``, ``jacobian``, ...) differentiate with
respect to every number inside an argument and hand results back in the
argument's own shape, as JAX does with its pytrees. :func:`flatten` takes a
structure apart into its leaves and a function that puts a structure of the
same shape together from new leaves.

>>> leaves, rebuild = flatten([1.0, (2.0, 3.0)])
>>> leaves, rebuild([10.0, 20.0, 30.0])
([1.0, 2.0, 3.0], [10.0, (20.0, 30.0)])
>>> import numpy as np
>>> leaves, rebuild = flatten(np.array([[1.0, 2.0]]))
>>> rebuild([5.0, 6.0])
array([[5., 6.]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_gd.core.value import Value

__all__ = ["Rebuild", "flatten", "to_numbers"]

Rebuild = Callable[[list[Any]], Any]


def flatten(tree: Any) -> tuple[list[Any], Rebuild]:
    """The leaves of ``tree`` (all that is not a list, tuple or array), and its rebuilder.

    An array rebuilds as an array of the same shape: of floats when every new
    leaf is a float, else of objects (Values).
    """
    if isinstance(tree, np.ndarray):
        shape = tree.shape
        return list(tree.flat), lambda leaves: _array(leaves, shape)
    if isinstance(tree, (list, tuple)):
        kind = type(tree)
        parts = [flatten(item) for item in tree]
        sizes = [len(leaves) for leaves, _ in parts]

        def rebuild(leaves: list[Any]) -> Any:
            items, start = [], 0
            for size, (_, rebuild_item) in zip(sizes, parts, strict=True):
                items.append(rebuild_item(leaves[start : start + size]))
                start += size
            return kind(items) if kind in (list, tuple) else kind(*items)  # a namedtuple

        return [leaf for leaves, _ in parts for leaf in leaves], rebuild
    return [tree], lambda leaves: leaves[0]


def _array(leaves: list[Any], shape: tuple[int, ...]) -> Any:
    numeric = all(isinstance(leaf, (float, int)) for leaf in leaves)
    array = np.empty(len(leaves), dtype=float if numeric else object)
    array[:] = leaves  # item by item: an object array of Values stays one
    return array.reshape(shape)


def to_numbers(tree: Any) -> Any:
    """``tree`` with every Value read as its number.

    >>> to_numbers((Value(2.0), [1, "label"]))
    (2.0, [1, 'label'])
    """
    leaves, rebuild = flatten(tree)
    return rebuild([leaf.data if isinstance(leaf, Value) else leaf for leaf in leaves])
