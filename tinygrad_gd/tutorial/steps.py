"""The published step functions, and the gradients derived by hand the tutorial's way.

The series derives dE/dw as a product of local derivatives, the g-factors: for
one neuron g1 = dE/dpredicted, g2 = dpredicted/dsop, g3 = dsop/dw. The step
functions keep their published names (``sigmoid``, ``error``,
``error_predicted_deriv``, ``activation_sop_deriv``, ``sop_w_deriv``,
``update_w``) and work on floats, numpy arrays and Values. The hand-derived
gradients are written out on purpose, apart from the rule table: they are the
independent derivation that the automatic one is checked against. Beside
them, the published variants and their defects.

>>> neuron_gradient([0.1], [0.5], 0.3)  # g1 · g2 · g3
array([0.01061823])
>>> published_neuron_gradient([0.1], [0.5], 0.3)  # σ' taken at predicted
array([0.00995665])
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from tinygrad_gd._support.checks import number
from tinygrad_gd.core.ops import SIGMOID
from tinygrad_gd.core.value import Value

__all__ = [
    "Array", "activation_sop_deriv", "error", "error_predicted_deriv", "hidden_layer_gradients",
    "neuron_gradient", "published_hidden_layer_gradients", "published_neuron_gradient",
    "sigmoid", "sop_w_deriv", "update_w",
]  # fmt: skip

Array = npt.NDArray[np.float64]
# A step function takes a float, a numpy array or a Value and gives back the same kind.
Operand = TypeVar("Operand", float, Array, Value)


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
    inputs = check_inputs(x)
    return neuron_chain(inputs, check_weights("w", w, inputs.shape), number(target, "target"))


def published_neuron_gradient(x: npt.ArrayLike, w: npt.ArrayLike, target: float) -> Array:
    """The gradient as the published parts 1–2 compute it, with g2 taken at ``predicted``.

    The derivation says g2 = σ'(sop); the published code passes ``predicted``
    to ``activation_sop_deriv``, which gives σ'(predicted) = σ'(σ(sop)).

    >>> published_neuron_gradient([0.1], [0.5], 0.3)
    array([0.00995665])
    """
    inputs = check_inputs(x)
    weights = check_weights("w", w, inputs.shape)
    return neuron_chain(inputs, weights, number(target, "target"), published=True)


def neuron_forward(x: Array, w: Array) -> tuple[Array, Array]:
    sop = np.asarray(w @ x)  # an array even for one sample, so batch axes index alike
    return sop, sigmoid(sop)


def neuron_chain(x: Array, w: Array, target: float, published: bool = False) -> Array:
    sop, predicted = neuron_forward(x, w)
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
    inputs = check_inputs(x)
    hidden, output = check_hidden_layer_weights(inputs, w_hidden, w_output)
    return hidden_layer_chain(inputs, hidden, output, number(target, "target"))


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
    inputs = check_inputs(x)
    hidden, output = check_hidden_layer_weights(inputs, w_hidden, w_output)
    target, rate = number(target, "target"), number(learning_rate, "learning_rate", positive=True)
    return hidden_layer_chain(inputs, hidden, output, target, published_rate=rate)


def hidden_layer_forward(x: Array, w_hidden: Array, w_output: Array) -> tuple[Array, ...]:
    sop_hidden = x @ w_hidden
    hidden = sigmoid(sop_hidden)
    sop = np.asarray((hidden * w_output).sum(axis=-1))
    return sop_hidden, hidden, sop, sigmoid(sop)


def hidden_layer_chain(
    x: Array, w_hidden: Array, w_output: Array, target: float, published_rate: float | None = None
) -> tuple[Array, Array]:
    sop_hidden, hidden, sop, predicted = hidden_layer_forward(x, w_hidden, w_output)
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


# -- the arguments, checked ------------------------------------------------------------


def real_array(name: str, values: Any) -> Array:
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got {values!r}")
    return array.astype(float)


def check_inputs(x: Any) -> Array:
    inputs = real_array("x", x)
    if inputs.ndim != 1 or inputs.size == 0:
        raise ValueError(f"x must be a non-empty sequence of numbers, got shape {inputs.shape}")
    return inputs


def check_weights(name: str, w: Any, shape: tuple[int, ...]) -> Array:
    weights = real_array(name, w)
    if weights.shape[weights.ndim - len(shape) :] != shape or weights.ndim < len(shape):
        raise ValueError(
            f"{name} must have shape (..., {', '.join(map(str, shape))}) to match x, "
            f"got {weights.shape}"
        )
    return weights


def check_hidden_layer_weights(x: Array, w_hidden: Any, w_output: Any) -> tuple[Array, Array]:
    hidden = real_array("w_hidden", w_hidden)
    if hidden.ndim < 2 or hidden.shape[-2] != len(x) or hidden.shape[-1] == 0:
        raise ValueError(
            f"w_hidden must have shape (..., {len(x)}, hidden): one row per input, "
            f"got {hidden.shape}"
        )
    output = check_weights("w_output", w_output, hidden.shape[-1:])
    if output.shape[:-1] != hidden.shape[:-2]:
        raise ValueError(
            f"w_hidden {hidden.shape} and w_output {output.shape} have different batch axes"
        )
    return hidden, output
