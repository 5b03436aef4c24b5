"""The tutorial series, parts 1–4: its steps, its hand-derived gradients, its networks.

The "gradient descent from scratch" series trains sigmoid neurons without bias
on the squared error ``(predicted - target) ** 2``. It derives dE/dw by hand as
a product of local derivatives, the g-factors: for one neuron,
g1 = dE/dpredicted, g2 = dpredicted/dsop, g3 = dsop/dw. This module holds:

* the published step functions under their published names (``sigmoid``,
  ``error``, ``error_predicted_deriv``, ``activation_sop_deriv``,
  ``sop_w_deriv``, ``update_w``), for floats, numpy arrays and Values;
* the gradients derived by hand, the tutorial's way, with numpy. They are
  written out on purpose, apart from the rule table: they are the independent
  derivation that the automatic one is checked against. Beside them, the
  published variants and their defects;
* the same networks built from Values, so each has an automatic gradient;
* the published examples and a gradient-descent loop over any of the three.

>>> w = [0.5]
>>> neuron_gradient(PART1.x, w, PART1.target)  # g1 · g2 · g3
array([0.01061823])
>>> automatic_neuron_gradient(PART1.x, w, PART1.target)
array([0.01061823])
>>> published_neuron_gradient(PART1.x, w, PART1.target)  # σ' taken at predicted
array([0.00995665])
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from tinygrad_gd._checks import choice, count, function, number
from tinygrad_gd._checks import seed as checked_seed
from tinygrad_gd.autodiff import gradients
from tinygrad_gd.ops import SIGMOID
from tinygrad_gd.value import Value

__all__ = [
    "EXAMPLES", "GRADIENT_METHODS", "PART1", "PART1_FAST", "PART2_TEN_INPUTS",
    "PART2_TWO_INPUTS", "PART3", "PART4_EIGHT", "PART4_FIVE", "Example", "GradientMethod",
    "HiddenLayerGraph", "NeuronGraph", "Run", "activation_sop_deriv",
    "automatic_hidden_layer_gradients",
    "automatic_neuron_gradient", "build_hidden_layer", "build_neuron", "error",
    "error_predicted_deriv", "example_gradients", "gradient_descent", "hidden_layer_gradients",
    "initial_weights", "neuron_gradient", "predict", "published_hidden_layer_gradients",
    "published_neuron_gradient", "sigmoid", "sop_w_deriv", "update_w",
]  # fmt: skip

Array = npt.NDArray[np.float64]
# A step function takes a float, a numpy array or a Value and gives back the same kind.
Operand = TypeVar("Operand", float, Array, Value)


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


# -- the published step functions ---------------------------------------------------


def sigmoid(sop: Operand) -> Operand:
    """The activation: σ(sop) = 1 / (1 + e^(−sop)), without overflow at any input.

    >>> sigmoid(0.0), sigmoid(np.array([-1000.0, 1000.0]))
    (0.5, array([0., 1.]))
    """
    result: Operand = SIGMOID(sop)
    return result


def error(predicted: Operand, target: float | Operand) -> Operand:
    """The squared error (predicted − target)².

    >>> error(0.5, 0.3)
    0.04
    """
    return (predicted - target) ** 2


def error_predicted_deriv(predicted: Operand, target: float | Operand) -> Operand:
    """g1 = dE/dpredicted = 2 (predicted − target).

    >>> error_predicted_deriv(0.5, 0.3)
    0.4
    """
    return 2 * (predicted - target)


def activation_sop_deriv(sop: Operand) -> Operand:
    """g2 = dpredicted/dsop = σ(sop) (1 − σ(sop)).

    >>> activation_sop_deriv(0.0)
    0.25
    """
    return sigmoid(sop) * (1 - sigmoid(sop))


def sop_w_deriv(x: Operand) -> Operand:
    """g3 = dsop/dw = x: the sum of products changes with w at the rate of w's input.

    >>> sop_w_deriv(0.1)
    0.1
    """
    return x


def update_w(w: Operand, grad: Operand, learning_rate: float) -> Operand:
    """One gradient-descent step: w − learning_rate · grad.

    >>> update_w(0.5, 0.2, 0.1)
    0.48
    """
    return w - learning_rate * grad


# -- the hand-derived gradients, the tutorial's way ----------------------------------
# Weights may carry leading batch axes (many starting points trained at once):
# w is (..., inputs); w_hidden is (..., inputs, hidden), w_hidden[z, y] the weight
# from input z to hidden neuron y; w_output is (..., hidden).


def neuron_gradient(x: npt.ArrayLike, w: npt.ArrayLike, target: float) -> Array:
    """dE/dw for one sigmoid neuron with any number of inputs: g1 · g2 · g3.

    >>> neuron_gradient([0.1, 0.4], [0.5, 0.5], 0.3)
    array([0.01290611, 0.05162446])
    """
    inputs = _inputs(x)
    return _neuron_gradient(inputs, _weights("w", w, inputs.shape), number(target, "target"))


def published_neuron_gradient(x: npt.ArrayLike, w: npt.ArrayLike, target: float) -> Array:
    """The gradient as the published parts 1–2 compute it, with g2 taken at ``predicted``.

    The derivation says g2 = σ'(sop); the published code passes ``predicted``
    to ``activation_sop_deriv``, which gives σ'(predicted) = σ'(σ(sop)).

    >>> published_neuron_gradient([0.1], [0.5], 0.3)
    array([0.00995665])
    """
    inputs = _inputs(x)
    weights = _weights("w", w, inputs.shape)
    return _neuron_gradient(inputs, weights, number(target, "target"), published=True)


def _neuron_forward(x: Array, w: Array) -> tuple[Array, Array]:
    sop = np.asarray(w @ x)  # an array even for one sample, so batch axes index alike
    return sop, sigmoid(sop)


def _neuron_gradient(x: Array, w: Array, target: float, published: bool = False) -> Array:
    sop, predicted = _neuron_forward(x, w)
    g1 = error_predicted_deriv(predicted, target)
    g2 = activation_sop_deriv(predicted if published else sop)
    g3 = sop_w_deriv(x)
    return (g1 * g2)[..., None] * g3


def hidden_layer_gradients(
    x: npt.ArrayLike, w_hidden: npt.ArrayLike, w_output: npt.ArrayLike, target: float
) -> tuple[Array, Array]:
    """(dE/dw_hidden, dE/dw_output) for one hidden layer of any width, by the chain rule.

    Output weight v_y: g1 · g2 · h_y. Hidden weight w_zy: the chain runs on
    through v_y: g1 · g2 · v_y · σ'(sop_y) · x_z.

    >>> hidden, output = hidden_layer_gradients([0.1, 0.4, 4.1], np.full((3, 2), 0.5),
    ...                                         [0.5, 0.5], 0.2)
    >>> output
    array([0.19082573, 0.19082573])
    >>> hidden[:, 0]
    array([0.00086943, 0.00347772, 0.03564664])
    """
    inputs = _inputs(x)
    hidden, output = _hidden_layer_weights(inputs, w_hidden, w_output)
    return _hidden_layer_gradients(inputs, hidden, output, number(target, "target"))


def published_hidden_layer_gradients(
    x: npt.ArrayLike,
    w_hidden: npt.ArrayLike,
    w_output: npt.ArrayLike,
    target: float,
    learning_rate: float,
) -> tuple[Array, Array]:
    """The gradients as the published parts 3–4 compute them.

    The published loop updates the output weights in place first, so the
    hidden layer's chain runs through the *updated* weights
    v_y − learning_rate · dE/dv_y instead of the ones the error was computed with.

    >>> hidden, output = published_hidden_layer_gradients(
    ...     [0.1, 0.4, 4.1], np.full((3, 2), 0.5), [0.5, 0.5], 0.2, learning_rate=1.0)
    >>> hidden[:, 0]
    array([0.00053761, 0.00215044, 0.02204205])
    """
    inputs = _inputs(x)
    hidden, output = _hidden_layer_weights(inputs, w_hidden, w_output)
    target, rate = number(target, "target"), number(learning_rate, "learning_rate", positive=True)
    return _hidden_layer_gradients(inputs, hidden, output, target, published_rate=rate)


def _hidden_layer_forward(x: Array, w_hidden: Array, w_output: Array) -> tuple[Array, ...]:
    sop_hidden = x @ w_hidden
    hidden = sigmoid(sop_hidden)
    sop = np.asarray((hidden * w_output).sum(axis=-1))
    return sop_hidden, hidden, sop, sigmoid(sop)


def _hidden_layer_gradients(
    x: Array, w_hidden: Array, w_output: Array, target: float, published_rate: float | None = None
) -> tuple[Array, Array]:
    sop_hidden, hidden, sop, predicted = _hidden_layer_forward(x, w_hidden, w_output)
    g1 = error_predicted_deriv(predicted, target)
    g2 = activation_sop_deriv(sop)
    output_gradient = (g1 * g2)[..., None] * sop_w_deriv(hidden)
    if published_rate is not None:  # the published aliasing: the "old" weights are the new
        w_output = update_w(w_output, output_gradient, published_rate)
    g3 = w_output  # dsop/dh_y = v_y
    g4 = activation_sop_deriv(sop_hidden)  # dh_y/dsop_y
    g5 = sop_w_deriv(x)  # dsop_y/dw_zy = x_z
    hidden_gradient = (g1 * g2)[..., None, None] * (g3 * g4)[..., None, :] * g5[:, None]
    return hidden_gradient, output_gradient


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
    inputs = _inputs(x)
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
    inputs = _inputs(x)
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


# -- training --------------------------------------------------------------------------

GradientMethod = Literal["automatic", "compiled", "manual", "published"]
"""How ``gradient_descent`` gets its gradient: reverse mode over Values, the
same compiled once into Python (:func:`tinygrad_gd.compile`), the hand
derivation, or the published code's variant."""

GRADIENT_METHODS: tuple[GradientMethod, ...] = ("automatic", "compiled", "manual", "published")


def initial_weights(
    example: Example, seed: int | None, batch: tuple[int, ...] = ()
) -> tuple[Array, ...]:
    """Starting weights drawn uniformly from [0, 1), as the tutorial's ``numpy.random.rand``.

    The tutorial draws them without a seed; here a seed makes a run repeatable
    (``None`` draws fresh ones). Gives ``(w,)`` for a single neuron,
    ``(w_hidden, w_output)`` for a hidden layer, each with the leading
    ``batch`` axes.

    >>> [w.shape for w in initial_weights(PART3, seed=0, batch=(10,))]
    [(10, 3, 2), (10, 2)]
    """
    _check_example(example)
    rng = np.random.default_rng(checked_seed(seed))
    if not isinstance(batch, tuple):
        raise TypeError(f"batch must be a tuple of whole numbers, got {batch!r}")
    shape = tuple(count(axis, f"batch[{i}]") for i, axis in enumerate(batch))
    inputs = len(example.x)
    if example.hidden == 0:
        return (rng.random((*shape, inputs)),)
    return rng.random((*shape, inputs, example.hidden)), rng.random((*shape, example.hidden))


def predict(example: Example, weights: Sequence[npt.ArrayLike]) -> Array:
    """The network's prediction for the example's inputs with these weights.

    >>> float(predict(PART1, ([0.5],)))
    0.5124973964842103
    """
    return _predict(example, _example_weights(example, weights))


def example_gradients(
    example: Example,
    weights: Sequence[npt.ArrayLike],
    method: GradientMethod = "manual",
    learning_rate: float | None = None,
) -> tuple[Array, ...]:
    """The gradient of the example's error with respect to each weight array.

    ``published`` needs the learning rate for parts 3–4, whose published
    hidden-layer gradients depend on it (default: the example's own).

    >>> example_gradients(PART1, ([0.5],), "automatic")
    (array([0.01061823]),)
    """
    current = _example_weights(example, weights)
    method = _method(method)
    if current[-1].ndim > 1 and method in ("automatic", "compiled"):
        raise ValueError(f"{method} gradients take one set of weights, not a batch")
    return _example_gradients(example, current, method, _rate(example, learning_rate))


def _predict(example: Example, weights: tuple[Array, ...]) -> Array:
    x = np.array(example.x)
    if example.hidden == 0:
        return _neuron_forward(x, weights[0])[1]
    return _hidden_layer_forward(x, weights[0], weights[1])[3]


def _example_gradients(
    example: Example, weights: tuple[Array, ...], method: GradientMethod, learning_rate: float
) -> tuple[Array, ...]:
    x, target = np.array(example.x), example.target
    if method == "automatic":
        if example.hidden == 0:
            return (automatic_neuron_gradient(x, weights[0], target),)
        return automatic_hidden_layer_gradients(x, weights[0], weights[1], target)
    if method == "compiled":
        _, gradient = _compiled_error(example)(*(w.tolist() for w in weights))
        return tuple(np.array(g, dtype=float) for g in gradient)
    published = method == "published"
    if example.hidden == 0:
        return (_neuron_gradient(x, weights[0], target, published),)
    rate = learning_rate if published else None
    return _hidden_layer_gradients(x, weights[0], weights[1], target, rate)


@functools.cache
def _compiled_error(example: Example) -> Any:
    """The example's error as a function of its weights, compiled once (reverse mode too)."""
    from tinygrad_gd.compile import compile

    x, target = example.x, example.target
    if example.hidden == 0:
        return compile(lambda w: build_neuron(x, w, target).error, argnums=(0,))
    return compile(
        lambda w_hidden, w_output: build_hidden_layer(x, w_hidden, w_output, target).error,
        argnums=(0, 1),
    )


@dataclass(frozen=True)
class Run:
    """A gradient-descent run: the prediction before each step and after the last.

    ``predictions[k]`` is the prediction after k steps, with the batch axes of
    the weights after the first axis.

    >>> run = gradient_descent(PART3, initial_weights(PART3, 0, batch=(4,)), iterations=2)
    >>> run.predictions.shape, [w.shape for w in run.weights]
    ((3, 4), [(4, 3, 2), (4, 2)])
    """

    example: Example
    predictions: Array
    weights: tuple[Array, ...]

    @property
    def errors(self) -> Array:
        """The error after each step: (prediction − target)².

        >>> gradient_descent(PART1, [[0.5]], iterations=1).errors  # (σ(0.05) − 0.3)², then less
        array([0.04515514, 0.04515402])
        """
        return error(self.predictions, self.example.target)

    def reached_at(self, tolerance: float = 1e-3) -> Array:
        """The first step count with |prediction − target| < tolerance; −1 where never.

        >>> run = gradient_descent(PART1_FAST, initial_weights(PART1_FAST, 0), iterations=3)
        >>> run.reached_at(0.5), run.reached_at(1e-9)
        (array(0), array(-1))
        """
        close = np.abs(self.predictions - self.example.target) < tolerance
        return np.where(close.any(axis=0), close.argmax(axis=0), -1)


def gradient_descent(
    example: Example,
    weights: Sequence[npt.ArrayLike],
    *,
    iterations: int,
    learning_rate: float | None = None,
    method: GradientMethod = "manual",
    on_step: Callable[[int, float], None] | None = None,
) -> Run:
    """Train the example's network: ``iterations`` steps of w ← w − learning_rate · dE/dw.

    ``learning_rate`` defaults to the example's. ``manual`` and ``published``
    train a whole batch of starting weights at once (leading axes);
    ``automatic`` and ``compiled`` train one. ``on_step(k, prediction)`` is
    called after each step (for progress reports); it follows one run, so it
    needs one set of weights. The given weights are not changed.

    >>> run = gradient_descent(PART1_FAST, [[0.5]], iterations=12_000, method="automatic")
    >>> int(run.reached_at()), round(float(run.predictions[-1]), 4)
    (11012, 0.3006)
    """
    current = _example_weights(example, weights)
    rate = _rate(example, learning_rate)
    method = _method(method)
    iterations = count(iterations, "iterations")
    batch = current[-1].shape[:-1]  # w or w_output: (..., inputs or hidden)
    if batch and method in ("automatic", "compiled"):
        raise ValueError(
            f"{method} gradients train one set of weights at a time, not a batch of {batch}"
        )
    if on_step is not None:
        function(on_step, "on_step")
        if batch:
            raise ValueError(
                f"on_step follows one run: give one set of weights, not a batch of {batch}"
            )
    first = _predict(example, current)
    predictions = np.empty((iterations + 1, *first.shape))
    predictions[0] = first
    for step in range(1, iterations + 1):
        grads = _example_gradients(example, current, method, rate)
        current = tuple(update_w(w, g, rate) for w, g in zip(current, grads, strict=True))
        predictions[step] = _predict(example, current)
        if on_step is not None:
            on_step(step, float(predictions[step]))
    return Run(example, predictions, current)


# -- validation ------------------------------------------------------------------------


def _check_example(example: Any) -> None:
    if not isinstance(example, Example):
        raise TypeError(
            f"example must be a tutorial.Example such as PART1, got {type(example).__name__}"
        )


def _rate(example: Example, learning_rate: Any) -> float:
    if learning_rate is None:
        return example.learning_rate
    return number(learning_rate, "learning_rate", positive=True)


def _method(method: Any) -> GradientMethod:
    choice(method, "method", GRADIENT_METHODS)
    checked: GradientMethod = method
    return checked


def _numbers(name: str, values: Any) -> Array:
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got {values!r}")
    return array.astype(float)


def _inputs(x: Any) -> Array:
    inputs = _numbers("x", x)
    if inputs.ndim != 1 or inputs.size == 0:
        raise ValueError(f"x must be a non-empty sequence of numbers, got shape {inputs.shape}")
    return inputs


def _weights(name: str, w: Any, shape: tuple[int, ...]) -> Array:
    weights = _numbers(name, w)
    if weights.shape[weights.ndim - len(shape) :] != shape or weights.ndim < len(shape):
        raise ValueError(
            f"{name} must have shape (..., {', '.join(map(str, shape))}) to match x, "
            f"got {weights.shape}"
        )
    return weights


def _hidden_layer_weights(x: Array, w_hidden: Any, w_output: Any) -> tuple[Array, Array]:
    hidden = _numbers("w_hidden", w_hidden)
    if hidden.ndim < 2 or hidden.shape[-2] != len(x) or hidden.shape[-1] == 0:
        raise ValueError(
            f"w_hidden must have shape (..., {len(x)}, hidden): one row per input, "
            f"got {hidden.shape}"
        )
    output = _weights("w_output", w_output, hidden.shape[-1:])
    if output.shape[:-1] != hidden.shape[:-2]:
        raise ValueError(
            f"w_hidden {hidden.shape} and w_output {output.shape} have different batch axes"
        )
    return hidden, output


def _example_weights(example: Example, weights: Sequence[Any]) -> tuple[Array, ...]:
    _check_example(example)
    what = "(w,)" if example.hidden == 0 else "(w_hidden, w_output)"
    if isinstance(weights, str) or not isinstance(weights, (Sequence, np.ndarray)):
        raise TypeError(f"{example.name} needs weights {what}, got {type(weights).__name__}")
    if len(weights) != (1 if example.hidden == 0 else 2):
        raise ValueError(f"{example.name} needs weights {what}, got {len(weights)} arrays")
    x = np.array(example.x)
    if example.hidden == 0:
        return (_weights("w", weights[0], x.shape),)
    hidden, output = _hidden_layer_weights(x, weights[0], weights[1])
    if hidden.shape[-1] != example.hidden:
        raise ValueError(
            f"{example.name} has {example.hidden} hidden neurons, w_hidden has {hidden.shape[-1]}"
        )
    return hidden, output


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
