"""Networks of scalar neurons, and the losses that train them.

A :class:`Neuron` computes ``activation(b + w·x)``; a :class:`Layer` is a row of
neurons reading the same inputs; an :class:`MLP` chains layers. The tutorial's
networks have no bias, a sigmoid everywhere and the squared error; they are
written exactly as ``MLP(3, [2, 1], activation="sigmoid", bias=False)`` with
:class:`MSELoss`. Activations are rows of the rule table, so a network runs on
``Value`` nodes (training), and on numpy columns (:meth:`Module.predict`).

>>> model = MLP(3, [2, 1], activation="sigmoid", bias=False, seed=0)
>>> model
MLP(3, [2, 1], activation='sigmoid', bias=False)
>>> len(model.parameters())  # 2 hidden neurons x 3 weights + 2 output weights
8
>>> error = MSELoss()([model([0.1, 0.4, 4.1])], [0.2])
>>> error.backward()
>>> all(p.grad != 0.0 for p in model.parameters())
True
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from tinygrad_gd._checks import choice, count, flag, number
from tinygrad_gd._checks import seed as seed_number
from tinygrad_gd.ops import ABS, EXP, LOG, RELU, SIGMOID, TANH, Op
from tinygrad_gd.value import Value

__all__ = [
    "ACTIVATIONS",
    "BCEWithLogitsLoss",
    "HingeLoss",
    "Layer",
    "Loss",
    "MLP",
    "MSELoss",
    "Module",
    "Neuron",
    "binary_cross_entropy_with_logits",
    "hinge",
    "squared_error",
]

ACTIVATIONS: dict[str, Op | None] = {"sigmoid": SIGMOID, "tanh": TANH, "relu": RELU, "linear": None}
"""Activation names and their rule-table ops (``linear`` applies none)."""

Seed = int | np.random.Generator | None
"""Where random numbers come from: a whole number ≥ 0, a numpy ``Generator``, or None
(fresh randomness)."""


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
        samples = _samples_array(X, self.nin, "predict", allow_empty=True)
        # IEEE results at the edges (inf, nan), as the engine gives on Values.
        with np.errstate(all="ignore"):
            outputs = self._forward(list(samples.T), numbers=True)
        result: np.ndarray = np.stack(outputs, axis=1) if isinstance(outputs, list) else outputs
        return result


class Neuron(Module):
    """``activation(b + w·x)`` with ``nin`` weights and an optional bias.

    Weights and bias start uniform in ±1/√nin (as PyTorch's linear layers),
    drawn from ``seed`` (an int or a ``numpy.random.Generator``; None draws
    fresh ones).

    >>> neuron = Neuron(1, activation="sigmoid", bias=False, seed=0)
    >>> neuron.load_state_dict({"weight": [0.5]})
    >>> round(neuron([0.1]).data, 6)  # the tutorial's Part 1: sigmoid(0.5 * 0.1)
    0.512497
    """

    output_shape = ()

    def __init__(
        self, nin: int, activation: str = "sigmoid", bias: bool = True, seed: Seed = None
    ) -> None:
        self.nin = count(nin, "nin", minimum=1)
        self.activation = choice(activation, "activation", ACTIVATIONS)
        self._activation = ACTIVATIONS[self.activation]
        has_bias = flag(bias, "bias")
        rng = _random_generator(seed)
        limit = 1.0 / math.sqrt(self.nin)
        self.w = [Value(float(rng.uniform(-limit, limit))) for _ in range(self.nin)]
        self.b = Value(float(rng.uniform(-limit, limit))) if has_bias else None

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        if numbers:
            bias = None if self.b is None else self.b.data
            return _neuron_output([w.data for w in self.w], bias, x, self._activation)
        return _neuron_output(self.w, self.b, x, self._activation)

    def _state(self) -> dict[str, Any]:
        return {"weight": self.w} if self.b is None else {"weight": self.w, "bias": self.b}

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r}, bias={self.b is not None})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; the outputs are a list.

    >>> layer = Layer(2, 3, activation="relu", seed=0)
    >>> layer
    Layer(2, 3, activation='relu', bias=True)
    >>> len(layer([1.0, -1.0]))
    3
    """

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str = "sigmoid",
        bias: bool = True,
        seed: Seed = None,
    ) -> None:
        self.nin = count(nin, "nin", minimum=1)
        self.nout = count(nout, "nout", minimum=1)
        self.activation = choice(activation, "activation", ACTIVATIONS)
        self.bias = flag(bias, "bias")
        self.output_shape = (self.nout,)
        rng = _random_generator(seed)
        self.neurons = [Neuron(self.nin, self.activation, self.bias, rng) for _ in range(self.nout)]

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> list[Any]:
        return [neuron._forward(x, numbers) for neuron in self.neurons]

    def _state(self) -> dict[str, Any]:
        # As PyTorch's Linear: a weight matrix (one row per neuron) and a bias vector.
        state: dict[str, Any] = {"weight": [neuron.w for neuron in self.neurons]}
        if self.bias:
            state["bias"] = [neuron.b for neuron in self.neurons]
        return state

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r}, bias={self.bias})"


class MLP(Module):
    """A multilayer perceptron: layers of ``nouts[i]`` neurons, one after another.

    ``activation`` is one name for every layer, or a sequence with one name
    per layer (e.g. ``["relu", "relu", "linear"]``); names are the keys of
    :data:`ACTIVATIONS`. With a single output neuron the output is a Value,
    otherwise a list of Values.

    >>> model = MLP(2, [16, 16, 1], activation=["relu", "relu", "linear"], seed=0)
    >>> model
    MLP(2, [16, 16, 1], activation=['relu', 'relu', 'linear'], bias=True)
    >>> len(model.parameters())  # (2+1)*16 + (16+1)*16 + (16+1)*1
    337
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
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
        rng = _random_generator(seed)
        sizes = [self.nin, *self.nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activations[i], self.bias, rng)
            for i in range(len(self.nouts))
        ]

    def _forward(self, x: Sequence[Any], numbers: bool = False) -> Any:
        for layer in self.layers:
            x = layer._forward(x, numbers)
        return x[0] if len(x) == 1 else x

    def _state(self) -> dict[str, Any]:
        return {"layers": [layer._state() for layer in self.layers]}

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


def _layer_activations(activation: Any, layers: int) -> list[str]:
    """One activation name per layer, from one name or a list of them."""
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


def _random_generator(seed: Seed) -> np.random.Generator:
    """The numpy ``Generator`` that a :data:`Seed` stands for (a Generator is used as is).

    >>> generator = np.random.default_rng(7)
    >>> _random_generator(generator) is generator, _random_generator(None) is not None
    (True, True)
    >>> _random_generator(-1)
    Traceback (most recent call last):
    ValueError: seed must be at least 0, got -1
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_number(seed))


_KINDS = {"b": "True/False", "c": "complex", "O": "non-number", "S": "bytes", "U": "text"}
"""numpy's dtype kinds, as a message names entries that are not real numbers."""


def _samples_array(X: Any, nin: int, user: str, allow_empty: bool = False) -> np.ndarray:
    """``X`` as a float array of shape (samples, nin), or ``ValueError`` naming ``user``.

    >>> _samples_array([[1, 2], [3, 4]], 2, "fit").tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> _samples_array([[1, 2], [3]], 2, "fit")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: fit expects X as an array of numbers of shape (samples, 2), ... a ragged nesting
    """
    try:
        array = np.asarray(X)
    except ValueError:  # numpy refuses ragged nesting
        array = None
    if array is None:
        found = "a ragged nesting"
    elif array.dtype.kind not in "iuf":
        found = f"{_KINDS.get(array.dtype.kind, str(array.dtype))} entries"
    elif array.ndim != 2 or array.shape[1] != nin or not (len(array) or allow_empty):
        found = f"shape {array.shape}"
    else:
        return array.astype(float)
    rows = "one row per sample" if allow_empty else "one row per sample, at least one"
    raise ValueError(
        f"{user} expects X as an array of numbers of shape (samples, {nin}), {rows}; got {found}"
    )


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


# -- losses ----------------------------------------------------------------------------
# Written with operators and rule-table ops, so one formula runs on floats and on
# Values, and anything that reads the table (printing, compiling) can read it too.


def squared_error(output: Any, target: Any) -> Any:
    """The tutorial's error: ``(output - target) ** 2``.

    >>> squared_error(0.5, 0.3)  # doctest: +NUMBER
    0.04
    """
    return (output - target) ** 2


def binary_cross_entropy_with_logits(logit: Any, target: Any) -> Any:
    """Cross-entropy of ``sigmoid(logit)`` against ``target`` in [0, 1], without overflow.

    log(1 + e^z) is written as max(z, 0) + log(1 + e^-|z|), whose exp never
    overflows; the derivative is sigmoid(z) - target.

    >>> round(binary_cross_entropy_with_logits(0.0, 1.0), 6)  # log 2
    0.693147
    >>> [binary_cross_entropy_with_logits(z, 0.0) for z in (1000.0, -1000.0)]
    [1000.0, 0.0]
    """
    magnitude = ABS(logit)
    # max(z, 0) as (z + |z|) / 2, not relu(z): at z = 0 the subgradients of relu and
    # |z| (both 0) would give the derivative -target instead of 1/2 - target.
    return (logit + magnitude) * 0.5 - logit * target + LOG(1.0 + EXP(-magnitude))


def hinge(output: Any, target: Any) -> Any:
    """The max-margin loss ``max(0, 1 - target * output)`` for a target of -1 or 1.

    >>> hinge(0.3, 1.0), hinge(2.0, 1.0), hinge(2.0, -1.0)
    (0.7, 0.0, 3.0)
    """
    return RELU(1.0 - target * output)


class Loss:
    """The mean of a per-sample loss over a batch, plus ``l2`` times Σ p² if asked.

    Call it as ``loss(outputs, targets, parameters)``; the parameters are
    needed only for the L2 penalty. A classification loss also says which two
    ``labels`` its targets use and how an output is turned into one of them
    (:meth:`classify`), which gives :meth:`accuracy`.

    >>> loss = MSELoss()
    >>> loss([Value(0.5), Value(1.0)], [0.0, 1.0]).data  # (0.25 + 0) / 2
    0.125
    """

    labels: ClassVar[tuple[float, float]]
    threshold: ClassVar[float]
    target_rule: ClassVar[str] = "any finite number"
    l2: float

    def __init__(self, l2: float = 0.0) -> None:
        self.l2 = number(l2, "l2", non_negative=True)

    def sample(self, output: Any, target: Any) -> Any:
        """The loss of one output against its target, on numbers or on Values.

        >>> HingeLoss().sample(0.25, 1.0), MSELoss().sample(Value(0.5), 0.25).data
        (0.75, 0.0625)
        """
        raise NotImplementedError

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Whether ``target`` is a target this loss is defined for.

        >>> MSELoss.accepts(0.3), MSELoss.accepts(float("inf"))
        (True, False)
        """
        return math.isfinite(target)

    def check_targets(self, targets: Sequence[float]) -> None:
        """Raise ``ValueError`` naming the first target this loss is not defined for.

        >>> HingeLoss().check_targets([1.0, 0.0])
        Traceback (most recent call last):
        ValueError: HingeLoss needs targets that are -1 or 1; target 1 is 0.0
        """
        for i, target in enumerate(targets):
            try:
                accepted = self.accepts(number(target, "target", finite=False))
            except (TypeError, ValueError):  # not a number, nan or too large for a float
                accepted = False
            if not accepted:
                raise ValueError(
                    f"{type(self).__name__} needs targets that are {self.target_rule}; "
                    f"target {i} is {target!r}"
                )

    def __call__(
        self,
        outputs: Sequence[Any],
        targets: Sequence[float],
        parameters: Sequence[Value | float] = (),
    ) -> Any:
        """The mean loss of ``outputs`` against ``targets``, plus the L2 penalty.

        ``outputs`` are numbers or Values (then the result is a Value to
        differentiate); ``parameters`` are needed only when ``l2`` is set.

        >>> loss = MSELoss(l2=0.1)
        >>> w = Value(2.0)
        >>> total = loss([w * 1.0, w * 3.0], [1.0, 6.0], [w])  # ((2-1)² + 0²) / 2 + 0.1 · 4
        >>> total.data
        0.9
        """
        if len(outputs) != len(targets) or len(outputs) == 0:
            raise ValueError(
                f"{type(self).__name__} needs as many outputs as targets, at least one; "
                f"got {len(outputs)} outputs and {len(targets)} targets"
            )
        self.check_targets(targets)
        terms = [self.sample(o, t) for o, t in zip(outputs, targets, strict=True)]
        total = functools.reduce(operator.add, terms) / len(terms)
        if self.l2:
            if not parameters:
                raise ValueError(
                    f"{self!r} adds an L2 penalty and needs the parameters: "
                    "loss(outputs, targets, model.parameters())"
                )
            total = total + self.penalty(parameters)
        return total

    def penalty(self, parameters: Sequence[Value | float]) -> Any:
        """The L2 penalty the loss adds: ``l2`` times Σ p² (0.0 without ``l2``).

        >>> MSELoss(l2=0.5).penalty([1.0, 2.0])
        2.5
        """
        if not self.l2 or not parameters:
            return 0.0
        return self.l2 * functools.reduce(operator.add, [p * p for p in parameters])

    def classify(self, output: float) -> float:
        """The label predicted by an output: ``labels[1]`` above ``threshold``.

        >>> BCEWithLogitsLoss().classify(0.3), HingeLoss().classify(-0.2)
        (1.0, -1.0)
        """
        return self.labels[1] if output > self.threshold else self.labels[0]

    def is_classification(self, targets: Sequence[float]) -> bool:
        """Whether every target is one of the two ``labels`` (so accuracy means something).

        >>> MSELoss().is_classification([0.0, 1.0]), MSELoss().is_classification([0.3])
        (True, False)
        """
        return all(target in self.labels for target in targets)

    def accuracy(self, outputs: Sequence[float], targets: Sequence[float]) -> float:
        """The fraction of outputs whose :meth:`classify` equals the target.

        >>> HingeLoss().accuracy([0.5, -2.0, 0.1], [1.0, -1.0, -1.0])  # doctest: +NUMBER
        0.667
        """
        if len(outputs) != len(targets) or len(outputs) == 0:
            raise ValueError(
                f"accuracy needs as many outputs as targets, at least one; "
                f"got {len(outputs)} and {len(targets)}"
            )
        hits = sum(self.classify(o) == t for o, t in zip(outputs, targets, strict=True))
        return hits / len(outputs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(l2={self.l2!r})" if self.l2 else f"{type(self).__name__}()"


class MSELoss(Loss):
    """Mean squared error; on one sample, exactly the tutorial's ``(predicted - target)**2``.

    As a classifier (targets 0 and 1, e.g. after a sigmoid) an output above
    0.5 means 1.

    >>> MSELoss()([Value(0.5)], [0.3]).data  # doctest: +NUMBER
    0.04
    """

    labels = (0.0, 1.0)
    threshold = 0.5

    def sample(self, output: Any, target: Any) -> Any:
        """The squared error of one output.

        >>> MSELoss().sample(0.5, 0.3)  # doctest: +NUMBER
        0.04
        """
        return squared_error(output, target)


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy of ``sigmoid(output)``, computed stably from the logit.

    Put no sigmoid on the last layer (``activation=[..., "linear"]``); targets
    lie in [0, 1], and a logit above 0 means class 1.

    >>> round(BCEWithLogitsLoss()([Value(0.0)], [1.0]).data, 6)  # log 2
    0.693147
    """

    labels = (0.0, 1.0)
    threshold = 0.0
    target_rule = "between 0 and 1"

    def sample(self, output: Any, target: Any) -> Any:
        """The cross-entropy of one logit.

        >>> round(BCEWithLogitsLoss().sample(0.0, 1.0), 6)  # log 2
        0.693147
        """
        return binary_cross_entropy_with_logits(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are probabilities: 0 <= target <= 1.

        >>> BCEWithLogitsLoss.accepts(0.25), BCEWithLogitsLoss.accepts(2.0)
        (True, False)
        """
        return 0.0 <= target <= 1.0


class HingeLoss(Loss):
    """The max-margin (SVM) loss ``max(0, 1 - target * output)``, targets -1 or 1.

    With ``l2`` it is the soft-margin objective of a support vector machine.

    >>> HingeLoss(l2=0.5)([Value(0.5)], [1.0], [Value(2.0)]).data  # 0.5 + 0.5 * 4
    2.5
    """

    labels = (-1.0, 1.0)
    threshold = 0.0
    target_rule = "-1 or 1"

    def sample(self, output: Any, target: Any) -> Any:
        """The hinge loss of one output.

        >>> HingeLoss().sample(0.25, -1.0)  # on the wrong side: 1 + 0.25
        1.25
        """
        return hinge(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are the labels -1 and 1.

        >>> HingeLoss.accepts(-1.0), HingeLoss.accepts(0.0)
        (True, False)
        """
        return target in cls.labels
