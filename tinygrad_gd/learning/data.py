"""Small data sets, generated on the spot (nothing is downloaded).

:func:`xor` and :func:`moons` are binary classification problems; their
``labels`` argument picks the two class labels a loss expects (``(0, 1)`` for
cross-entropy or squared error, ``(-1, 1)`` for the hinge loss).
The tutorial's examples, data sets of one sample each, are in
:mod:`tinygrad_gd.tutorial.examples` (``tinygrad_gd.data`` shows both).

>>> X, y = moons(100, noise=0.1, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import Seed, count, number, random_generator

__all__ = ["moons", "xor"]


def xor(labels: Sequence[float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """The four points of exclusive or: class 1 where exactly one input is 1.

    >>> X, y = xor(labels=(-1, 1))
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [-1.0, 1.0, 1.0, -1.0])
    """
    low, high = _check_labels(labels)
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([low, high, high, low])


def moons(
    n: int = 100,
    noise: float = 0.1,
    seed: Seed = None,
    labels: Sequence[float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles, with Gaussian noise, in random order.

    Class ``labels[0]``: the upper half of the unit circle; class ``labels[1]``:
    the same arc turned over and moved to (1, 0.5), so the two hook into each
    other and no straight line separates them. ``noise`` is the standard
    deviation added to each coordinate; ``seed`` (an int or a
    ``numpy.random.Generator``) makes the set reproducible.

    >>> X, y = moons(4, noise=0.0, seed=0, labels=(-1, 1))
    >>> sorted(zip(y.tolist(), X.round(6).tolist()))  # the ends of each arc
    [(-1.0, [-1.0, 0.0]), (-1.0, [1.0, 0.0]), (1.0, [0.0, 0.5]), (1.0, [2.0, 0.5])]
    """
    n = count(n, "n", minimum=2)  # a point on each moon at least
    noise = number(noise, "noise", non_negative=True)
    low, high = _check_labels(labels)
    rng = random_generator(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    upper = np.linspace(0.0, np.pi, n_upper)
    lower = np.linspace(0.0, np.pi, n_lower)
    X = np.concatenate(
        [
            np.stack([np.cos(upper), np.sin(upper)], axis=1),
            np.stack([1.0 - np.cos(lower), 0.5 - np.sin(lower)], axis=1),
        ]
    )
    y = np.concatenate([np.full(n_upper, low), np.full(n_lower, high)])
    order = rng.permutation(n)
    X = X[order] + rng.normal(0.0, noise, size=X.shape) if noise else X[order]
    return X, y[order]


def _check_labels(labels: Any) -> tuple[float, float]:
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)):
        raise TypeError(f"labels must be two different numbers, got {labels!r}")
    if len(labels) != 2:
        raise ValueError(f"labels must be two different numbers, got {labels!r}")
    low, high = (number(label, f"labels[{i}]") for i, label in enumerate(labels))
    if low == high:
        raise ValueError(f"labels must be two different numbers, got {labels!r}")
    return low, high
