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


class Module:
    """Base of every network piece: parameters, gradients, state and prediction.

    A subclass says how it computes its outputs (``_forward``) and which
    parameters it holds, as nested dicts and lists of Values (``_state``);
    everything else is derived from those two.

    >>> neuron = Neuron(2, activation="linear", seed=0)
    >>> neuron.load_state_dict({"weight": [1.0, 2.0], "bias": 0.5})
    >>> neuron([3.0, 4.0]).data  # 0.5 + 1*3 + 2*4
    11.5
    """

    nin: int

    def __call__(self, x: Sequence[Value | float]) -> Any:
        """The outputs for one sample ``x`` of ``nin`` numbers or Values."""
        if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)):
            raise TypeError(
                f"{type(self).__name__} expects a sequence of {self.nin} inputs, "
                f"got {type(x).__name__}"
            )
        if len(x) != self.nin:
            raise ValueError(f"{type(self).__name__} expects {self.nin} inputs, got {len(x)}")
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
        """
        samples = np.asarray(X, dtype=float)
        if samples.ndim != 2 or samples.shape[1] != self.nin:
            raise ValueError(
                f"predict expects an array of shape (samples, {self.nin}), "
                f"got shape {samples.shape}"
            )
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

    def __init__(
        self, nin: int, activation: str = "sigmoid", bias: bool = True, seed: Seed = None
    ) -> None:
        _check_count("nin", nin)
        self._activation = _activation_op(activation)
        rng = np.random.default_rng(seed)
        limit = 1.0 / math.sqrt(nin)
        self.nin = nin
        self.activation = activation
        self.w = [Value(float(rng.uniform(-limit, limit))) for _ in range(nin)]
        self.b = Value(float(rng.uniform(-limit, limit))) if bias else None

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
        _check_count("nin", nin)
        _check_count("nout", nout)
        _activation_op(activation)
        rng = np.random.default_rng(seed)
        self.nin, self.nout, self.activation, self.bias = nin, nout, activation, bias
        self.neurons = [Neuron(nin, activation, bias, rng) for _ in range(nout)]

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
        _check_count("nin", nin)
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or not nouts:
            raise ValueError(f"nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for i, nout in enumerate(nouts):
            _check_count(f"nouts[{i}]", nout)
        if isinstance(activation, str):
            activations = [activation] * len(nouts)
        else:
            activations = list(activation)
            if len(activations) != len(nouts):
                raise ValueError(
                    f"activation lists {len(activations)} names for {len(nouts)} layers: "
                    f"give one name, or one per layer"
                )
        for name in activations:
            _activation_op(name)
        rng = np.random.default_rng(seed)
        sizes = [nin, *nouts]
        self.nin, self.nouts, self.bias = nin, list(nouts), bias
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activations[i], bias, rng) for i in range(len(nouts))
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


def _activation_op(name: str) -> Op | None:
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def _check_count(name: str, n: object) -> None:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or int(n) < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")


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
        if (
            not isinstance(given, numbers.Real)
            or isinstance(given, bool)
            or not math.isfinite(given)
        ):
            raise ValueError(f"{where}: expected a finite number, got {given!r}")
        yield template, float(given)
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
        if not isinstance(l2, numbers.Real) or isinstance(l2, bool) or not 0 <= l2 < math.inf:
            raise ValueError(f"l2 must be a finite number >= 0, got {l2!r}")
        self.l2 = float(l2)

    def sample(self, output: Any, target: Any) -> Any:
        """The loss of one output against its target."""
        raise NotImplementedError

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Whether ``target`` is a target this loss is defined for."""
        return math.isfinite(target)

    def check_targets(self, targets: Sequence[float]) -> None:
        """Raise ``ValueError`` naming the first target this loss is not defined for.

        >>> HingeLoss().check_targets([1.0, 0.0])
        Traceback (most recent call last):
        ValueError: HingeLoss needs targets that are -1 or 1; target 1 is 0.0
        """
        for i, target in enumerate(targets):
            if (
                not isinstance(target, numbers.Real)
                or isinstance(target, bool)
                or not self.accepts(float(target))
            ):
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
        """The mean loss of ``outputs`` against ``targets``, plus the L2 penalty."""
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
        """The squared error of one output."""
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
        """The cross-entropy of one logit."""
        return binary_cross_entropy_with_logits(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are probabilities: 0 <= target <= 1."""
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
        """The hinge loss of one output."""
        return hinge(output, target)

    @classmethod
    def accepts(cls, target: float) -> bool:
        """Targets are the labels -1 and 1."""
        return target in cls.labels
