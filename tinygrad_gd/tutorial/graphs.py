"""The tutorial's networks built from Values, labelled as the tutorial names them.

Built from Values, each network has its gradient derived automatically, to be
set beside the hand derivation of :mod:`tinygrad_gd.tutorial.steps`.

>>> graph = build_neuron([0.1], [0.5], 0.3)
>>> graph.error.backward()
>>> round(graph.weights[0].grad, 10)
0.010618232
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tinygrad_gd._support.checks import number
from tinygrad_gd.core.autodiff import gradients
from tinygrad_gd.core.value import Value
from tinygrad_gd.tutorial.steps import Array, check_inputs, error, sigmoid

__all__ = [
    "HiddenLayerGraph", "NeuronGraph", "automatic_hidden_layer_gradients",
    "automatic_neuron_gradient", "build_hidden_layer", "build_neuron",
]  # fmt: skip


# -- the same networks from Values: gradients derived automatically -----------------


@dataclass(frozen=True)
class NeuronGraph:
    """The single neuron built from Values, nodes labelled as in the tutorial.

    >>> graph = build_neuron([0.1], [0.5], 0.3)
    >>> [graph.error.label, graph.predicted.label, graph.weights[0].label]
    ['error', 'predicted', 'w']
    """

    error: Value
    predicted: Value
    weights: tuple[Value, ...]


@dataclass(frozen=True)
class HiddenLayerGraph:
    """The one-hidden-layer network built from Values, nodes labelled.

    ``hidden_weights[z][y]`` (label ``w{z}_{y}``, counting from 1) joins input
    z to hidden neuron y; ``output_weights[y]`` (label ``v{y}``) joins hidden
    neuron y (label ``h{y}``) to the output.

    >>> graph = build_hidden_layer([0.1, 0.4, 4.1], np.full((3, 2), 0.5), [0.5, 0.5], 0.2)
    >>> graph.hidden_weights[2][1].label, graph.output_weights[1].label
    ('w3_2', 'v2')
    """

    error: Value
    predicted: Value
    hidden_weights: tuple[tuple[Value, ...], ...]
    output_weights: tuple[Value, ...]

    @property
    def weights(self) -> tuple[Value, ...]:
        """Every weight: the hidden ones row by row, then the output ones.

        >>> graph = build_hidden_layer([0.1], [[0.5, 0.5]], [0.5, 0.5], 0.2)
        >>> [w.label for w in graph.weights]
        ['w1_1', 'w1_2', 'v1', 'v2']
        """
        return (*(w for row in self.hidden_weights for w in row), *self.output_weights)


def build_neuron(
    x: npt.ArrayLike, w: Sequence[Value | float] | npt.ArrayLike, target: float
) -> NeuronGraph:
    """The single neuron of parts 1–2 as a graph of Values.

    Labels follow the tutorial: ``x``/``w`` for one input (``x1``, ``w1`` ...
    for several), ``sop``, ``predicted``, ``error``, ``target``. Weights given
    as Values are used as they are.

    >>> graph = build_neuron([0.1], [0.5], 0.3)
    >>> graph.error.backward()
    >>> round(graph.weights[0].grad, 10)
    0.010618232
    """
    inputs = check_inputs(x)
    names = [""] if len(inputs) == 1 else [str(i + 1) for i in range(len(inputs))]
    weights = _value_weights("w", w, [f"w{name}" for name in names])
    terms = [
        _leaf(xi, f"x{name}") * wi for xi, name, wi in zip(inputs, names, weights, strict=True)
    ]
    sop = _labelled(functools.reduce(operator.add, terms), "sop")
    predicted = _labelled(sigmoid(sop), "predicted")
    target_node = _leaf(number(target, "target"), "target")
    return NeuronGraph(_labelled(error(predicted, target_node), "error"), predicted, weights)


def build_hidden_layer(
    x: npt.ArrayLike,
    w_hidden: Sequence[Sequence[Value | float]] | npt.ArrayLike,
    w_output: Sequence[Value | float] | npt.ArrayLike,
    target: float,
) -> HiddenLayerGraph:
    """The network of parts 3–4 (one hidden layer of sigmoid neurons) as a graph of Values.

    Labels: inputs ``x1`` ..., weights ``w{z}_{y}`` and ``v{y}``, hidden sums
    ``sop{y}`` and activations ``h{y}``, then ``sop``, ``predicted``, ``error``.

    >>> graph = build_hidden_layer([0.1, 0.4, 4.1], np.full((3, 2), 0.5), [0.5, 0.5], 0.2)
    >>> round(graph.predicted.data, 8)
    0.71277032
    """
    inputs = check_inputs(x)
    rows = _value_rows(w_hidden, len(inputs))
    width = len(rows[0])
    output_weights = _value_weights("w_output", w_output, [f"v{y + 1}" for y in range(width)])
    xs = [_leaf(xi, f"x{z + 1}") for z, xi in enumerate(inputs)]
    hidden = []
    for y in range(width):
        sop_y = functools.reduce(
            operator.add, [xz * row[y] for xz, row in zip(xs, rows, strict=True)]
        )
        hidden.append(_labelled(sigmoid(_labelled(sop_y, f"sop{y + 1}")), f"h{y + 1}"))
    terms = [h * v for h, v in zip(hidden, output_weights, strict=True)]
    sop = _labelled(functools.reduce(operator.add, terms), "sop")
    predicted = _labelled(sigmoid(sop), "predicted")
    target_node = _leaf(number(target, "target"), "target")
    return HiddenLayerGraph(
        _labelled(error(predicted, target_node), "error"), predicted, rows, output_weights
    )


def automatic_neuron_gradient(x: npt.ArrayLike, w: npt.ArrayLike, target: float) -> Array:
    """dE/dw for the single neuron, derived by reverse mode over its graph.

    >>> automatic_neuron_gradient([0.1, 0.4], [0.5, 0.5], 0.3)
    array([0.01290611, 0.05162446])
    """
    graph = build_neuron(x, w, target)
    return np.array(gradients(graph.error, graph.weights), dtype=float)


def automatic_hidden_layer_gradients(
    x: npt.ArrayLike, w_hidden: npt.ArrayLike, w_output: npt.ArrayLike, target: float
) -> tuple[Array, Array]:
    """(dE/dw_hidden, dE/dw_output) for the hidden-layer network, by reverse mode.

    >>> hidden, output = automatic_hidden_layer_gradients(
    ...     [0.1, 0.4, 4.1], np.full((3, 2), 0.5), [0.5, 0.5], 0.2)
    >>> output
    array([0.19082573, 0.19082573])
    """
    graph = build_hidden_layer(x, w_hidden, w_output, target)
    flat = np.array(gradients(graph.error, graph.weights), dtype=float)
    inputs, width = len(graph.hidden_weights), len(graph.output_weights)
    return flat[: inputs * width].reshape(inputs, width), flat[inputs * width :]


# -- helpers ---------------------------------------------------------------------------


def _leaf(value: float, label: str) -> Value:
    return Value(float(value), label=label)


def _labelled(node: Value, label: str) -> Value:
    node.label = label
    return node


def _value_weights(name: str, w: Any, labels: list[str]) -> tuple[Value, ...]:
    items = _items(name, w)
    if len(items) != len(labels):
        raise ValueError(f"{name} must hold {len(labels)} weights, got {len(items)}")
    return tuple(
        item if isinstance(item, Value) else _leaf(number(item, f"{name}[{i}]"), label)
        for i, (item, label) in enumerate(zip(items, labels, strict=True))
    )


def _value_rows(w_hidden: Any, inputs: int) -> tuple[tuple[Value, ...], ...]:
    rows = _items("w_hidden", w_hidden)
    if len(rows) != inputs or np.ndim(rows[0]) != 1 or len(rows[0]) == 0:
        raise ValueError(
            f"w_hidden must be {inputs} rows (one per input) of one weight per hidden "
            f"neuron, got {w_hidden!r}"
        )
    width = len(rows[0])
    return tuple(
        _value_weights(f"w_hidden[{z}]", row, [f"w{z + 1}_{y + 1}" for y in range(width)])
        for z, row in enumerate(rows)
    )


def _items(name: str, values: Any) -> list[Any]:
    try:
        return list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of numbers or Values, got {type(values).__name__}"
        ) from None
