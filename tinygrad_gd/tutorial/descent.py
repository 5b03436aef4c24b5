"""Gradient descent on the tutorial's networks, by any of four gradients.

``gradient_descent`` trains an example's network with reverse mode over
Values, the same compiled once into Python, the hand derivation, or the
published code's variant; ``tutorial_program`` is the compiled program that
``tinygrad-gd codegen`` prints.

>>> run = gradient_descent(PART1, [[0.5]], iterations=2)
>>> run.predictions.shape
(3,)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tinygrad_gd._support.checks import choice, count, function, number
from tinygrad_gd._support.checks import seed as checked_seed
from tinygrad_gd.core.value import Value
from tinygrad_gd.tools.compiler import CompiledFunction, compile
from tinygrad_gd.tutorial.examples import Example, check_example, example_of

# The examples that this module's doctests train.
from tinygrad_gd.tutorial.examples import PART1, PART1_FAST, PART3  # noqa: F401  isort: skip
from tinygrad_gd.tutorial.graphs import (
    HiddenLayerGraph,
    NeuronGraph,
    automatic_hidden_layer_gradients,
    automatic_neuron_gradient,
    build_hidden_layer,
    build_neuron,
)
from tinygrad_gd.tutorial.steps import (
    Array,
    check_hidden_layer_weights,
    check_weights,
    error,
    hidden_layer_chain,
    hidden_layer_forward,
    neuron_chain,
    neuron_forward,
    update_w,
)

__all__ = [
    "GRADIENT_METHODS", "GradientMethod", "Run", "example_gradients", "gradient_descent",
    "initial_weights", "predict", "tutorial_program",
]  # fmt: skip


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
    check_example(example)
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
        return neuron_forward(x, weights[0])[1]
    return hidden_layer_forward(x, weights[0], weights[1])[3]


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
        return (neuron_chain(x, weights[0], target, published),)
    rate = learning_rate if published else None
    return hidden_layer_chain(x, weights[0], weights[1], target, rate)


@functools.cache
def _compiled_error(example: Example) -> Any:
    """The example's error as a function of its weights, compiled once (reverse mode too)."""
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
    stop_within: float | None = None,
) -> Run:
    """Train the example's network: ``iterations`` steps of w ← w − learning_rate · dE/dw.

    ``learning_rate`` defaults to the example's. ``manual`` and ``published``
    train a whole batch of starting weights at once (leading axes);
    ``automatic`` and ``compiled`` train one. ``on_step(k, prediction)`` is
    called after each step (for progress reports); it follows one run, so it
    needs one set of weights. With ``stop_within``, training stops early, after
    the first step where every |prediction − target| < stop_within, so
    ``iterations`` is a cap. The given weights are not changed.

    >>> run = gradient_descent(PART1_FAST, [[0.5]], iterations=12_000, method="automatic")
    >>> int(run.reached_at()), round(float(run.predictions[-1]), 4)
    (11012, 0.3006)
    >>> early = gradient_descent(PART1_FAST, [[0.5]], iterations=12_000, stop_within=1e-3)
    >>> len(early.predictions) - 1  # the steps taken: until within 0.001 of the target
    11012
    """
    current = _example_weights(example, weights)
    rate = _rate(example, learning_rate)
    method = _method(method)
    iterations = count(iterations, "iterations")
    tolerance = None if stop_within is None else number(stop_within, "stop_within", positive=True)
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
    step = 0
    while step < iterations and not _within(predictions[step], example.target, tolerance):
        step += 1
        grads = _example_gradients(example, current, method, rate)
        current = tuple(update_w(w, g, rate) for w, g in zip(current, grads, strict=True))
        predictions[step] = _predict(example, current)
        if on_step is not None:
            on_step(step, float(predictions[step]))
    return Run(example, predictions[: step + 1], current)


def _within(predictions: Array, target: float, tolerance: float | None) -> bool:
    """Whether training may stop: every prediction closer to the target than tolerance."""
    return tolerance is not None and bool(np.all(np.abs(predictions - target) < tolerance))


# -- validation ------------------------------------------------------------------------


def _rate(example: Example, learning_rate: Any) -> float:
    if learning_rate is None:
        return example.learning_rate
    return number(learning_rate, "learning_rate", positive=True)


def _method(method: Any) -> GradientMethod:
    choice(method, "method", GRADIENT_METHODS)
    checked: GradientMethod = method
    return checked


def _example_weights(example: Example, weights: Sequence[Any]) -> tuple[Array, ...]:
    check_example(example)
    what = "(w,)" if example.hidden == 0 else "(w_hidden, w_output)"
    if isinstance(weights, str) or not isinstance(weights, (Sequence, np.ndarray)):
        raise TypeError(f"{example.name} needs weights {what}, got {type(weights).__name__}")
    if len(weights) != (1 if example.hidden == 0 else 2):
        raise ValueError(f"{example.name} needs weights {what}, got {len(weights)} arrays")
    x = np.array(example.x)
    if example.hidden == 0:
        return (check_weights("w", weights[0], x.shape),)
    hidden, output = check_hidden_layer_weights(x, weights[0], weights[1])
    if hidden.shape[-1] != example.hidden:
        raise ValueError(
            f"{example.name} has {example.hidden} hidden neurons, w_hidden has {hidden.shape[-1]}"
        )
    return hidden, output


def tutorial_program(part: int = 1, example: str | None = None) -> CompiledFunction:
    """The tutorial's network, compiled: its error with respect to every weight.

    ``part`` picks the series' first example of that part; ``example`` picks
    one by its slug (``"part-2-10-inputs"``). The network is the tutorial
    module's own, built from Values with its labels, so the generated code
    names ``sop``, ``predicted`` and ``error`` as the tutorial does.

    >>> program = tutorial_program(1)
    >>> value, (gradient,) = program()
    >>> program.source.splitlines()[5]
    '    predicted = sigmoid(sop)  # sigmoid'
    """
    chosen = example_of(part, example)
    x, target = chosen.x, chosen.target
    weights = initial_weights(chosen, seed=0)
    graph: NeuronGraph | HiddenLayerGraph
    if chosen.hidden == 0:
        graph = build_neuron(x, weights[0], target)
        neuron = graph

        def error() -> Value:
            return build_neuron(x, neuron.weights, target).error
    else:
        graph = build_hidden_layer(x, weights[0], weights[1], target)
        layer = graph

        def error() -> Value:
            rows, output = layer.hidden_weights, layer.output_weights
            return build_hidden_layer(x, rows, output, target).error

    return compile(error, wrt=graph.weights)
