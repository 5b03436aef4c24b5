"""Networks of scalar neurons: Neuron, Layer, MLP.

A :class:`Neuron` computes ``activation(b + w·x)``; a :class:`Layer` is a row of
neurons reading the same inputs; an :class:`MLP` chains layers. Given no
activation, they behave as micrograd's classes of the same names: relu
neurons, and an MLP whose last layer is linear. The tutorial's networks have
no bias, a sigmoid everywhere and the squared error; they are written exactly
as ``MLP(3, [2, 1], activation="sigmoid", bias=False)`` with :class:`MSELoss`.
Activations are rows of the rule table, so a network runs on ``Value`` nodes
(training), and on numpy columns (:meth:`Module.predict`).

>>> model = MLP(3, [2, 1], activation="sigmoid", bias=False, seed=0)
>>> model
MLP(3, [2, 1], activation='sigmoid', bias=False)
>>> len(model.parameters())  # 2 hidden neurons x 3 weights + 2 output weights
8
>>> from tinygrad_gd.learning.losses import MSELoss
>>> error = MSELoss()([model([0.1, 0.4, 4.1])], [0.2])
>>> error.backward()
>>> all(p.grad != 0.0 for p in model.parameters())
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import (
    Seed,
    choice,
    count,
    flag,
    number,
    random_generator,
    samples_array,
)
from tinygrad_gd.core.ops import RELU, SIGMOID, TANH, Op
from tinygrad_gd.core.value import Value

__all__ = ["ACTIVATIONS", "MLP", "OUTPUT_RANGES", "Layer", "Module", "Neuron", "manual_seed"]

ACTIVATIONS: dict[str, Op | None] = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "linear": None}
"""Activation names and their rule-table ops (``linear`` applies none)."""

OUTPUT_RANGES: dict[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, math.inf),
    "linear": (-math.inf, math.inf),
}  # fmt: skip
"""The lowest and highest output of each activation (bounds that sigmoid and tanh never reach)."""

_unseeded = np.random.default_rng()
"""Where a module built without a ``seed`` draws its parameters; :func:`manual_seed` resets it."""


def manual_seed(seed: int) -> None:
    """Make every module built from now on without a ``seed`` draw reproducibly.

    As ``torch.manual_seed``: after ``manual_seed(n)`` the modules built with
    ``seed=None`` draw, one after another, from a generator seeded with ``n``
    (the first one equals the module built with ``seed=n``). Data sets and
    ``fit``'s shuffling take their own ``seed=``.

    >>> manual_seed(1337)
    >>> first = MLP(2, [16, 16, 1]).state_dict()
    >>> manual_seed(1337)
    >>> MLP(2, [16, 16, 1]).state_dict() == first == MLP(2, [16, 16, 1], seed=1337).state_dict()
    True
    """
    global _unseeded
    _unseeded = np.random.default_rng(count(seed, "seed"))


def _generator(seed: Seed) -> np.random.Generator:
    return _unseeded if seed is None else random_generator(seed)

class Module:
    """Base of every network piece: parameters, gradients, state and prediction.

    A subclass says how it computes its outputs (``_forward``), which
    parameters it holds, as nested dicts and lists of Values (``_state``),
    and the shape of one sample's outputs (``output_shape``); everything
    else is derived from those.

    >>> neuron = Neuron(2, activation="linear", seed=0)
    >>> neuron.load_state_dict({"weight": [1.0, 2.0], "bias": 0.5})
    >>> neuron([3.0, 4.0]).data  # 0.5 + 1*3 + 2*4
    11.5
    """

    nin: int
    output_shape: tuple[int, ...]
    """The shape of one sample's outputs: ``()`` for one Value, ``(k,)`` for a list of k."""

    def __call__(self, x: Sequence[Value | float]) -> Any:
        """The outputs for one sample ``x``: a sequence of ``nin`` numbers or Values.

        Builds the graph from the inputs to the outputs; for many samples at
        once, on numbers only, use :meth:`predict`.

        >>> layer = Layer(2, 3, activation="relu", seed=0)
        >>> len(layer([1.0, -1.0])), layer.output_shape
        (3, (3,))
        >>> layer(np.array([[1.0, -1.0], [0.0, 2.0]]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: Layer takes one sample of 2 inputs, got an array of shape (2, 2); use predict...
        """
        name = type(self).__name__
        if isinstance(x, np.ndarray) and x.ndim != 1:
            raise ValueError(
                f"{name} takes one sample of {self.nin} inputs, got an array of shape "
                f"{x.shape}; use predict for many samples"
            )
        if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)):
            raise TypeError(
                f"{name} expects a sequence of {self.nin} inputs, got {type(x).__name__}"
            )
        if len(x) != self.nin:
            raise ValueError(f"{name} expects {self.nin} inputs, got {len(x)}")
        for i, entry in enumerate(x):
            if isinstance(entry, bool) or not isinstance(entry, (Value, float, numbers.Real)):
                raise TypeError(
                    f"{name} input {i} must be a number or a Value, "
                    f"got {type(entry).__name__}: {entry!r}"
                )
        return self._forward(x)

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        """Outputs for inputs ``x``; with ``numbers``, on parameter values, not nodes."""
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        """The parameters as nested dicts and lists of Values."""
        raise NotImplementedError

    @property
    def output_activation(self) -> str | None:
        """The activation of the output neurons (a key of :data:`ACTIVATIONS`), None if unknown.

        >>> MLP(2, [16, 16, 1]).output_activation, Neuron(2).output_activation
        ('linear', 'relu')
        """
        return None

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order.

        >>> [p.data for p in Neuron(2, seed=0).parameters()] == [
        ...     p.data for p in Neuron(2, seed=0).parameters()]
        True
        """
        return list(_leaves(self._state()))

    def zero_grad(self) -> None:
        """Set the ``.grad`` of every parameter to 0.0.

        >>> neuron = Neuron(1, seed=0)
        >>> neuron([1.0]).backward()
        >>> neuron.zero_grad()
        >>> [p.grad for p in neuron.parameters()]
        [0.0, 0.0]
        """
        for p in self.parameters():
            p.grad = 0.0

    def state_dict(self) -> dict[str, Any]:
        """The parameter values as nested dicts and lists of floats (JSON-ready).

        >>> Neuron(2, activation="relu", bias=False, seed=0).state_dict()  # doctest: +ELLIPSIS
        {'weight': [..., ...]}
        """
        return _numbers(self._state())  # type: ignore[no-any-return]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from ``state``, shaped as :meth:`state_dict` returns.

        The whole ``state`` is checked first: a missing or extra key, a wrong
        length or a non-finite value raises ``ValueError`` naming where, and
        leaves every parameter as it was.

        >>> neuron = Neuron(2, bias=False, seed=0)
        >>> neuron.load_state_dict({"weight": [1.0]})
        Traceback (most recent call last):
        ValueError: weight: expected a list of 2 entries, got 1
        """
        assignments = list(_assignments(self._state(), state, ""))
        for parameter, value in assignments:
            parameter.data = value

    def predict(self, X: Any) -> np.ndarray:
        """The outputs for many samples at once, with numpy: one row of ``X`` each.

        Evaluates the same network on parameter values and input columns, so
        it builds no graph; a decision boundary over thousands of points is
        quick.

        >>> neuron = Neuron(1, activation="linear", seed=0)
        >>> neuron.load_state_dict({"weight": [2.0], "bias": 1.0})
        >>> neuron.predict([[0.0], [1.0], [2.0]])
        array([1., 3., 5.])

        Numbers too large for a float give inf or nan, as IEEE arithmetic
        does, without a warning.
        """
        samples = samples_array(X, self.nin, "predict", allow_empty=True)
        # IEEE results at the edges (inf, nan), as the engine gives on Values.
        with np.errstate(all="ignore"):
            outputs = self._forward(list(samples.T), numbers=True)
        result: np.ndarray = np.stack(outputs, axis=1) if isinstance(outputs, list) else outputs
        return result


class Neuron(Module):
    """``activation(b + w·x)`` with ``nin`` weights and an optional bias.

    ``activation`` is a key of :data:`ACTIVATIONS`, relu if not given;
    micrograd's ``nonlin=True`` / ``nonlin=False`` mean ``"relu"`` / ``"linear"``.
    Weights and bias start uniform in ±1/√nin (as PyTorch's linear layers),
    drawn from ``seed`` (an int or a ``numpy.random.Generator``; None draws
    from the generator :func:`manual_seed` sets, fresh until then).

    >>> neuron = Neuron(1, activation="sigmoid", bias=False, seed=0)
    >>> neuron.load_state_dict({"weight": [0.5]})
    >>> round(neuron([0.1]).data, 6)  # the tutorial's Part 1: sigmoid(0.5 * 0.1)
    0.512497
    """

    output_shape = ()

    def __init__(
        self,
        nin: int,
        activation: str | None = None,
        bias: bool = True,
        seed: Seed = None,
        *,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = count(nin, "nin", minimum=1)
        self.activation = _activation_name(activation, nonlin)
        self._activation = ACTIVATIONS[self.activation]
        has_bias = flag(bias, "bias")
        rng = _generator(seed)
        limit = 1.0 / math.sqrt(self.nin)
        draw = rng.uniform
        self.w = [Value(float(draw(-limit, limit)), label=f"w[{i}]") for i in range(self.nin)]
        self.b = Value(float(draw(-limit, limit)), label="b") if has_bias else None

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        if numbers:
            bias = None if self.b is None else self.b.data
            return _neuron_output([w.data for w in self.w], bias, x, self._activation)
        return _neuron_output(self.w, self.b, x, self._activation)

    def _state(self) -> dict[str, Any]:
        return {"weight": self.w} if self.b is None else {"weight": self.w, "bias": self.b}

    @property
    def output_activation(self) -> str:
        return self.activation

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r}, bias={self.b is not None})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; the outputs are a list.

    As in micrograd, a layer of one neuron gives that neuron's output, a
    Value, not a list of one. ``activation`` and ``nonlin`` are as for
    :class:`Neuron` (relu if not given).

    >>> layer = Layer(2, 3, seed=0)
    >>> layer
    Layer(2, 3, activation='relu', bias=True)
    >>> len(layer([1.0, -1.0]))
    3
    >>> Layer(2, 1, nonlin=False, seed=0)([1.0, -1.0])  # doctest: +ELLIPSIS
    Value(data=..., grad=0.0)
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None = None,
        bias: bool = True,
        seed: Seed = None,
        *,
        nonlin: bool | None = None,
    ) -> None:
        self.nin = count(nin, "nin", minimum=1)
        self.nout = count(nout, "nout", minimum=1)
        self.activation = _activation_name(activation, nonlin)
        self.bias = flag(bias, "bias")
        self.output_shape = () if self.nout == 1 else (self.nout,)
        rng = _generator(seed)
        self.neurons = [Neuron(self.nin, self.activation, self.bias, rng) for _ in range(self.nout)]
        for j, neuron in enumerate(self.neurons):  # labelled as the weight matrix's entries
            for i, weight in enumerate(neuron.w):
                weight.label = f"w[{j}][{i}]"
            if neuron.b is not None:
                neuron.b.label = f"b[{j}]"

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        outputs = self._outputs(x, numbers)
        return outputs[0] if self.nout == 1 else outputs

    def _outputs(self, x: Sequence[Any], numbers: bool) -> list[Any]:
        """Every neuron's output, as a list also for one neuron (what the next layer reads)."""
        return [neuron._forward(x, numbers) for neuron in self.neurons]

    def _state(self) -> dict[str, Any]:
        # As PyTorch's Linear: a weight matrix (one row per neuron) and a bias vector.
        state: dict[str, Any] = {"weight": [neuron.w for neuron in self.neurons]}
        if self.bias:
            state["bias"] = [neuron.b for neuron in self.neurons]
        return state

    @property
    def output_activation(self) -> str:
        return self.activation

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}, bias={self.bias})"


class MLP(Module):
    """A multilayer perceptron: layers of ``nouts[i]`` neurons, one after another.

    ``activation`` is one name for every layer, or a sequence with one name
    per layer (e.g. ``["sigmoid", "linear"]``); names are the keys of
    :data:`ACTIVATIONS`. Not given, it is micrograd's: relu in the hidden
    layers, a linear output. With a single output neuron the output is a
    Value, otherwise a list of Values.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model
    MLP(2, [16, 16, 1], activation=['relu', 'relu', 'linear'], bias=True)
    >>> len(model.parameters())  # (2+1)*16 + (16+1)*16 + (16+1)*1
    337
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] | None = None,
        bias: bool = True,
        seed: Seed = None,
    ) -> None:
        self.nin = count(nin, "nin", minimum=1)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, (Sequence, np.ndarray)):
            raise TypeError(f"nouts must be a list of layer sizes, got {type(nouts).__name__}")
        if not len(nouts):
            raise ValueError("nouts must list at least one layer size, got none")
        self.nouts = [count(nout, f"nouts[{i}]", minimum=1) for i, nout in enumerate(nouts)]
        activations = _layer_activations(activation, len(self.nouts))
        self.bias = flag(bias, "bias")
        self.output_shape = () if self.nouts[-1] == 1 else (self.nouts[-1],)
        rng = _generator(seed)
        sizes = [self.nin, *self.nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activations[i], self.bias, rng)
            for i in range(len(self.nouts))
        ]
        for i, layer in enumerate(self.layers):  # named the way code reaches them
            for parameter in layer.parameters():
                parameter.label = f"layers[{i}].{parameter.label}"

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        for layer in self.layers:
            x = layer._outputs(x, numbers)
        return x[0] if len(x) == 1 else x

    def _state(self) -> dict[str, Any]:
        return {"layers": [layer._state() for layer in self.layers]}

    @property
    def output_activation(self) -> str:
        return self.layers[-1].activation

    def __repr__(self) -> str:
        names = [layer.activation for layer in self.layers]
        activation = names[0] if len(set(names)) == 1 else names
        return f"MLP({self.nin}, {self.nouts}, activation={activation!r}, bias={self.bias})"


def _neuron_output(weights: Sequence[Any], bias: Any, inputs: Sequence[Any], op: Op | None) -> Any:
    # Works alike on Values (a graph) and on numbers or numpy columns (a batch).
    total = bias
    for w, x in zip(weights, inputs, strict=False):  # lengths checked on entry
        total = w * x if total is None else total + w * x
    return total if op is None else op(total)


def _activation_name(activation: Any, nonlin: Any) -> str:
    """A neuron's activation, from its name or micrograd's ``nonlin`` flag; relu by default."""
    if nonlin is None:
        return choice("relu" if activation is None else activation, "activation", ACTIVATIONS)
    if activation is not None:
        raise TypeError(
            f"give activation or nonlin, not both: got activation={activation!r}, nonlin={nonlin!r}"
        )
    return "relu" if flag(nonlin, "nonlin") else "linear"


def _layer_activations(activation: Any, layers: int) -> list[str]:
    """One activation name per layer, from one name or a list of them; micrograd's by default."""
    if activation is None:  # relu hidden layers, a linear output
        return ["relu"] * (layers - 1) + ["linear"]
    if isinstance(activation, str):
        return [choice(activation, "activation", ACTIVATIONS)] * layers
    if not isinstance(activation, (Sequence, np.ndarray)):
        raise TypeError(
            "activation must be a name or a list of names, one per layer; "
            f"got {type(activation).__name__}: {activation!r}"
        )
    if len(activation) != layers:
        raise ValueError(
            f"activation lists {len(activation)} names for {layers} layers: "
            f"give one name, or one per layer"
        )
    return [choice(name, f"activation[{i}]", ACTIVATIONS) for i, name in enumerate(activation)]


# -- parameter trees: nested dicts and lists with Values at the leaves -----------------


def _leaves(tree: Any) -> Iterator[Value]:
    if isinstance(tree, Value):
        yield tree
    else:
        for branch in tree.values() if isinstance(tree, dict) else tree:
            yield from _leaves(branch)


def _numbers(tree: Any) -> Any:
    if isinstance(tree, Value):
        return tree.data
    if isinstance(tree, dict):
        return {key: _numbers(branch) for key, branch in tree.items()}
    return [_numbers(branch) for branch in tree]


def _assignments(template: Any, given: Any, path: str) -> Iterator[tuple[Value, float]]:
    """Pair each parameter with its new value, or raise ValueError naming the place."""
    where = path or "state"
    if isinstance(template, Value):
        try:
            yield template, number(given, where)
        except TypeError as error:  # a wrong entry is a malformed state, as a wrong length is
            raise ValueError(str(error)) from None
    elif isinstance(template, dict):
        if not isinstance(given, Mapping):
            raise ValueError(f"{where}: expected a dict, got {type(given).__name__}")
        missing = [key for key in template if key not in given]
        unexpected = [key for key in given if key not in template]
        if missing or unexpected:
            raise ValueError(f"{where}: missing keys {missing}, unexpected keys {unexpected}")
        for key, branch in template.items():
            yield from _assignments(branch, given[key], f"{path}.{key}" if path else key)
    else:
        if isinstance(given, (str, bytes)) or not isinstance(given, Sequence):
            raise ValueError(f"{where}: expected a list, got {type(given).__name__}")
        if len(given) != len(template):
            raise ValueError(
                f"{where}: expected a list of {len(template)} entries, got {len(given)}"
            )
        for i, (branch, entry) in enumerate(zip(template, given, strict=True)):
            yield from _assignments(branch, entry, f"{path}[{i}]")

