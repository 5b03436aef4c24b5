"""Small data sets, generated on the spot (nothing is downloaded).

:func:`xor` and :func:`moons` are binary classification problems; their
``labels`` argument picks the two class labels a loss expects (``(0, 1)`` for
cross-entropy or squared error, ``(-1, 1)`` for the hinge loss).
:data:`TUTORIAL_EXAMPLES` holds the examples of the "gradient descent from
scratch" tutorial, parts 1 to 4, with the network each one trains.

>>> X, y = moons(100, noise=0.1, seed=0)
>>> X.shape, y.shape, sorted(set(y.tolist()))
((100, 2), (100,), [0.0, 1.0])
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from tinygrad_gd.nn import MLP, Seed

__all__ = ["TUTORIAL_EXAMPLES", "TutorialExample", "moons", "tutorial_example", "xor"]


def xor(labels: tuple[float, float] = (0.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
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
    labels: tuple[float, float] = (0.0, 1.0),
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
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an int >= 2 (one point per moon at least), got {n!r}")
    if not isinstance(noise, numbers.Real) or not 0 <= noise < math.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    low, high = _check_labels(labels)
    rng = np.random.default_rng(seed)
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


def _check_labels(labels: tuple[float, float]) -> tuple[float, float]:
    if (
        not isinstance(labels, (tuple, list))
        or len(labels) != 2
        or not all(isinstance(x, numbers.Real) and math.isfinite(x) for x in labels)
        or labels[0] == labels[1]
    ):
        raise ValueError(f"labels must be two different numbers, got {labels!r}")
    return float(labels[0]), float(labels[1])


@dataclass(frozen=True)
class TutorialExample:
    """One published example: a single sample, its target and learning rate.

    ``hidden`` lists the hidden layer sizes (empty for a single neuron).
    Every tutorial network has no bias, sigmoid activations and the squared
    error; :meth:`model` builds it.

    >>> example = tutorial_example("hidden_2")
    >>> example.model(seed=0)
    MLP(3, [2, 1], activation='sigmoid', bias=False)
    >>> example.X, example.y
    ([[0.1, 0.4, 4.1]], [0.2])
    """

    name: str
    part: str
    inputs: tuple[float, ...]
    target: float
    learning_rate: float
    hidden: tuple[int, ...] = ()

    @property
    def X(self) -> list[list[float]]:  # noqa: N802  (the usual name for inputs)
        """The inputs as a one-sample data set."""
        return [list(self.inputs)]

    @property
    def y(self) -> list[float]:
        """The target as a one-sample data set."""
        return [self.target]

    def model(self, seed: Seed = None) -> MLP:
        """The tutorial's network for this example, with weights drawn from ``seed``."""
        return MLP(len(self.inputs), [*self.hidden, 1], activation="sigmoid", bias=False, seed=seed)


_TEN_INPUTS = (0.1, 0.4, 4.1, 4.3, 1.8, 2.0, 0.01, 0.9, 3.8, 1.6)
_THREE_INPUTS = (0.1, 0.4, 4.1)

TUTORIAL_EXAMPLES: tuple[TutorialExample, ...] = (
    # Part 1's loop uses 0.01; its text also shows a faster run with 0.5.
    TutorialExample("one_input", "1", (0.1,), 0.3, 0.01),
    TutorialExample("two_inputs", "1-2", (0.1, 0.4), 0.3, 0.1),
    TutorialExample("ten_inputs", "2", _TEN_INPUTS, 0.3, 0.01),
    TutorialExample("hidden_2", "3", _THREE_INPUTS, 0.2, 0.001, hidden=(2,)),
    TutorialExample("hidden_5", "4", _THREE_INPUTS, 0.2, 0.001, hidden=(5,)),
    TutorialExample("hidden_8", "4", _THREE_INPUTS, 0.2, 0.001, hidden=(8,)),
)
"""The tutorial's published examples, parts 1 to 4, in order."""


def tutorial_example(name: str) -> TutorialExample:
    """The tutorial example called ``name`` (see :data:`TUTORIAL_EXAMPLES`).

    >>> tutorial_example("one_input").inputs, tutorial_example("one_input").target
    ((0.1,), 0.3)
    """
    for example in TUTORIAL_EXAMPLES:
        if example.name == name:
            return example
    names = ", ".join(example.name for example in TUTORIAL_EXAMPLES)
    raise ValueError(f"no tutorial example {name!r}; choose from {names}")
