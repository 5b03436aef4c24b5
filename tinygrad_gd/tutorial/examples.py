"""The series' published examples, in one registry: by part, by name, as data, as a network.

Each part of the "gradient descent from scratch" series trains one or two
networks on one sample; an :class:`Example` holds its inputs, target,
learning rate and hidden width. :data:`EXAMPLES` lists them in the order of
the series, :data:`PARTS` by part, :func:`tutorial_example` finds one by name.

>>> [example.slug for example in PARTS[4]]
['part-4-5-hidden', 'part-4-8-hidden']
>>> tutorial_example("part 3") is PART3
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinygrad_gd._support.checks import Seed
from tinygrad_gd.learning.nn import MLP

__all__ = [
    "EXAMPLES", "PART1", "PART1_FAST", "PART2_TEN_INPUTS", "PART2_TWO_INPUTS", "PART3",
    "PART4_EIGHT", "PART4_FIVE", "PARTS", "Example", "check_example", "tutorial_data",
    "example_of", "tutorial_example", "tutorial_network",
]  # fmt: skip


# -- the published examples ----------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One published example: its inputs, target, learning rate and network.

    ``hidden`` is the width of the hidden layer; 0 means the single neuron of
    parts 1–2. ``claim`` is what the text says about reaching the target.

    >>> PART3.hidden, PART3.x, PART3.target, PART3.learning_rate
    (2, (0.1, 0.4, 4.1), 0.2, 0.001)
    """

    name: str
    x: tuple[float, ...]
    target: float
    learning_rate: float
    hidden: int = 0
    claim: str = ""

    @property
    def slug(self) -> str:
        """The name as a file name: ``"part 1, lr 0.5"`` -> ``"part-1-lr-0.5"``.

        >>> PART4_FIVE.slug
        'part-4-5-hidden'
        """
        return "-".join(self.name.replace(",", " ").split())


# fmt: off
PART1 = Example("part 1", (0.1,), 0.3, 0.01,
                claim="about 50,000 iterations")
PART1_FAST = Example("part 1, lr 0.5", (0.1,), 0.3, 0.5,
                     claim="about 10,000 iterations")
PART2_TWO_INPUTS = Example("part 2, 2 inputs", (0.1, 0.4), 0.3, 0.1,
                           claim="about 5,000 iterations")
PART2_TEN_INPUTS = Example("part 2, 10 inputs",
                           (0.1, 0.4, 4.1, 4.3, 1.8, 2.0, 0.01, 0.9, 3.8, 1.6), 0.3, 0.01,
                           claim="about 26,000 iterations")
PART3 = Example("part 3", (0.1, 0.4, 4.1), 0.2, 0.001, hidden=2)
PART4_FIVE = Example("part 4, 5 hidden", (0.1, 0.4, 4.1), 0.2, 0.001, hidden=5)
PART4_EIGHT = Example("part 4, 8 hidden", (0.1, 0.4, 4.1), 0.2, 0.001, hidden=8)
# fmt: on

EXAMPLES: tuple[Example, ...] = (
    PART1, PART1_FAST, PART2_TWO_INPUTS, PART2_TEN_INPUTS, PART3, PART4_FIVE, PART4_EIGHT,
)  # fmt: skip
"""Every published example, in the order of the series."""

PARTS: dict[int, tuple[Example, ...]] = {
    1: (PART1, PART1_FAST),
    2: (PART2_TWO_INPUTS, PART2_TEN_INPUTS),
    3: (PART3,),
    4: (PART4_FIVE, PART4_EIGHT),
}
"""The published examples of each part of the series."""


def check_example(example: Any) -> None:
    """``TypeError`` unless ``example`` is an :class:`Example`.

    >>> check_example("part 1")
    Traceback (most recent call last):
    TypeError: example must be a tutorial.Example such as PART1, got str
    """
    if not isinstance(example, Example):
        raise TypeError(
            f"example must be a tutorial.Example such as PART1, got {type(example).__name__}"
        )


def tutorial_example(name: str) -> Example:
    """The published example called ``name`` or by its slug (see ``tutorial.EXAMPLES``).

    >>> tutorial_example("part-3")
    Example(name='part 3', x=(0.1, 0.4, 4.1), target=0.2, learning_rate=0.001, hidden=2, claim='')
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}: {name!r}")
    for example in EXAMPLES:
        if name in (example.name, example.slug):
            return example
    names = ", ".join(example.slug for example in EXAMPLES)
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


def example_of(part: int = 1, name: str | None = None) -> Example:
    """The example called ``name`` (its name or slug), else the first one of ``part``.

    >>> example_of(2).name, example_of(name="part-3").name
    ('part 2, 2 inputs', 'part 3')
    """
    if name is not None:
        return tutorial_example(name)
    if part not in PARTS:
        raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    return PARTS[part][0]
