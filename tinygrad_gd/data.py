"""Small data sets, generated on the spot (nothing is downloaded).

:func:`xor` and :func:`moons` are binary classification problems; their
``labels`` argument picks the two class labels a loss expects (``(0, 1)`` for
cross-entropy or squared error, ``(-1, 1)`` for the hinge loss).
The examples of the "gradient descent from scratch" tutorial, parts 1 to 4
(``TUTORIAL_EXAMPLES``, the ones :mod:`tinygrad_gd.tutorial` publishes), are
data sets of one sample each (:func:`tutorial_data`), trained by the network
:func:`tutorial_network` builds.

>>> X, y = moons(100, noise=0.1, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_gd._checks import count, number
from tinygrad_gd.nn import MLP, Seed, _random_generator
from tinygrad_gd.tutorial import EXAMPLES as TUTORIAL_EXAMPLES
from tinygrad_gd.tutorial import Example

__all__ = [
    "TUTORIAL_EXAMPLES",
    "moons",
    "tutorial_data",
    "tutorial_example",
    "tutorial_network",
    "xor",
]


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
    rng = _random_generator(seed)
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


def tutorial_example(name: str) -> Example:
    """The published example called ``name`` or by its slug (see ``tutorial.EXAMPLES``).

    >>> tutorial_example("part-3")
    Example(name='part 3', x=(0.1, 0.4, 4.1), target=0.2, learning_rate=0.001, hidden=2, claim='')
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}: {name!r}")
    for example in TUTORIAL_EXAMPLES:
        if name in (example.name, example.slug):
            return example
    names = ", ".join(example.slug for example in TUTORIAL_EXAMPLES)
    raise ValueError(f"no tutorial example {name!r}; choose from {names}")


def tutorial_data(example: Example | str) -> tuple[list[list[float]], list[float]]:
    """A published example as a data set: its one sample and its target.

    >>> tutorial_data("part 3")
    ([[0.1, 0.4, 4.1]], [0.2])
    """
    example = _example(example)
    return [list(example.x)], [example.target]


def _example(example: Any) -> Example:
    """An Example, given as itself or by name."""
    if isinstance(example, Example):
        return example
    if isinstance(example, str):
        return tutorial_example(example)
    raise TypeError(
        f"example must be a tutorial Example or its name, got {type(example).__name__}: {example!r}"
    )


def tutorial_network(example: Example | str, seed: Seed = None) -> MLP:
    """The network of a published example: sigmoid neurons, no bias, weights from ``seed``.

    >>> tutorial_network("part 4, 5 hidden", seed=0)
    MLP(3, [5, 1], activation='sigmoid', bias=False)
    >>> tutorial_network("part 1")
    MLP(1, [1], activation='sigmoid', bias=False)
    """
    example = _example(example)
    layers = [example.hidden, 1] if example.hidden else [1]
    return MLP(len(example.x), layers, activation="sigmoid", bias=False, seed=seed)
