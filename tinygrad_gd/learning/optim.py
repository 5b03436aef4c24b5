"""Optimizers: they read each parameter's ``.grad`` and move its ``.data``.

Plain :class:`SGD` is the tutorial's update ``w = w - learning_rate * grad``,
to the last bit. Momentum, Nesterov momentum and weight decay follow
PyTorch's ``torch.optim.SGD``; :class:`Adam` follows Kingma & Ba (2015) with
bias correction. A learning rate is a number or a schedule, a function of the
number of steps taken (:class:`StepDecay`, :class:`ExponentialDecay`), so the
step count in the optimizer's state is all a schedule needs to resume.

>>> from tinygrad_gd import Value
>>> w = Value(0.5)
>>> optimizer = SGD([w], lr=0.1)
>>> w.grad = 2.0
>>> optimizer.step()
>>> w.data  # 0.5 - 0.1 * 2.0
0.3
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import count, flag, number, real
from tinygrad_gd.core.value import Value

__all__ = ["Adam", "ExponentialDecay", "Optimizer", "SGD", "Schedule", "StepDecay"]

Schedule = Callable[[int], float]
"""A learning rate as a function of the number of steps already taken."""


@dataclass(frozen=True)
class StepDecay:
    """``lr * gamma ** (step // step_size)``: the rate drops by ``gamma`` every ``step_size`` steps.

    >>> schedule = StepDecay(1.0, step_size=10, gamma=0.5)
    >>> schedule(0), schedule(9), schedule(10), schedule(25)
    (1.0, 1.0, 0.5, 0.25)
    """

    lr: float
    step_size: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        # Frozen: the checked values are set the way a dataclass sets its fields.
        object.__setattr__(self, "lr", number(self.lr, "lr", positive=True))
        object.__setattr__(self, "step_size", count(self.step_size, "step_size", minimum=1))
        object.__setattr__(self, "gamma", number(self.gamma, "gamma", positive=True))

    def __call__(self, step: int) -> float:
        """The learning rate after ``step`` steps.

        >>> StepDecay(0.1, step_size=2)(4)  # two drops by 0.1  # doctest: +NUMBER
        0.001
        """
        return _scaled(self.lr, self.gamma, step // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay:
    """``lr * gamma ** step``: the rate shrinks by ``gamma`` every step.

    >>> ExponentialDecay(0.1, gamma=0.5)(3)
    0.0125
    """

    lr: float
    gamma: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", number(self.lr, "lr", positive=True))
        object.__setattr__(self, "gamma", number(self.gamma, "gamma", positive=True))

    def __call__(self, step: int) -> float:
        """The learning rate after ``step`` steps; inf once a growing rate overflows.

        >>> ExponentialDecay(1.0, gamma=0.5)(2), ExponentialDecay(1.0, gamma=1.5)(2000)
        (0.25, inf)
        """
        return _scaled(self.lr, self.gamma, step)


def _scaled(lr: float, gamma: float, times: int) -> float:
    """``lr * gamma ** times``; inf where a growing rate passes the largest float.

    A step refuses an infinite rate with an error that names it.
    """
    try:
        return lr * gamma**times
    except OverflowError:  # gamma ** times alone is too large; lr (< 1) may bring it back
        try:
            return math.exp(math.log(lr) + times * math.log(gamma))
        except OverflowError:
            return math.inf


class Optimizer:
    """Updates ``params`` from their ``.grad``; subclasses say how (``_update``).

    ``weight_decay`` adds ``weight_decay * p`` to each gradient (an L2
    penalty of ``weight_decay / 2 * p²``). The state, :meth:`state_dict`, is
    the step count and the per-parameter buffers; the hyperparameters are
    the constructor's, so load a state into an optimizer built the same way.

    >>> from tinygrad_gd import Value
    >>> w = Value(1.0)
    >>> optimizer = SGD([w], lr=StepDecay(0.1, step_size=1, gamma=0.5))
    >>> optimizer.learning_rate
    0.1
    >>> w.grad = 1.0
    >>> optimizer.step()
    >>> optimizer.steps, optimizer.learning_rate
    (1, 0.05)
    """

    buffer_names: tuple[str, ...] = ()
    non_negative_buffers: tuple[str, ...] = ()
    """Buffers that no step can make negative (sums of squares): loaded state is held to it."""

    def __init__(
        self, params: Iterable[Value], lr: float | Schedule, weight_decay: float = 0.0
    ) -> None:
        self.params = _check_params(params)
        self.lr = lr if callable(lr) else number(lr, "lr", positive=True)
        self.weight_decay = number(weight_decay, "weight_decay", non_negative=True)
        self.steps = 0
        # Lists of floats; arrays while step_arrays runs (each step converts what it needs).
        self.buffers: dict[str, Any] = {
            name: [0.0] * len(self.params) for name in self.buffer_names
        }

    @property
    def learning_rate(self) -> float:
        """The learning rate the next step will use.

        >>> from tinygrad_gd import Value
        >>> SGD([Value(1.0)], lr=ExponentialDecay(0.5, gamma=0.5)).learning_rate
        0.5
        """
        return self.lr(self.steps) if callable(self.lr) else self.lr

    def zero_grad(self) -> None:
        """Set the ``.grad`` of every parameter to 0.0.

        >>> from tinygrad_gd import Value
        >>> w = Value(1.0)
        >>> (w * w).backward()
        >>> optimizer = SGD([w], lr=0.1)
        >>> optimizer.zero_grad()
        >>> w.grad
        0.0
        """
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter once, from its current ``.grad``: all of them, or none.

        Every new value and buffer entry is computed before any is stored, so a
        step that fails (a gradient that is not a number or too large for a
        float, a learning rate from a schedule that is not a finite number ≥ 0)
        raises an error naming the culprit and moves nothing, counts nothing.

        >>> from tinygrad_gd import Value
        >>> w = Value(1.0)
        >>> (w * w).backward()  # d(w²)/dw = 2
        >>> optimizer = SGD([w], lr=0.1)
        >>> optimizer.step()
        >>> w.data, optimizer.steps  # 1 - 0.1 * 2
        (0.8, 1)
        """
        rate_name = f"the learning rate at step {self.steps}"
        lr = number(self.learning_rate, rate_name, non_negative=True)
        gradients = [_gradient(i, p.grad) for i, p in enumerate(self.params)]
        steps = self.steps + 1
        # Copies to write into (floats again after step_arrays), kept only if every update works.
        buffers = {
            name: values.tolist() if isinstance(values, np.ndarray) else list(values)
            for name, values in self.buffers.items()
        }
        new_data = []
        for i, (p, gradient) in enumerate(zip(self.params, gradients, strict=True)):
            try:
                if self.weight_decay:
                    gradient = gradient + self.weight_decay * p.data
                new_data.append(self._update(i, p.data, gradient, lr, steps, buffers))
            except (ArithmeticError, ValueError) as error:
                raise ValueError(
                    f"step {steps} failed at params[{i}]: {error}; no parameter moved"
                ) from None
        # Commit: nothing below can raise, so the step is taken whole.
        for p, data in zip(self.params, new_data, strict=True):
            p.data = data
        self.buffers = buffers
        self.steps = steps

    def step_arrays(self, P: np.ndarray[Any, Any], G: np.ndarray[Any, Any]) -> None:
        """The same step for all parameters at once, on arrays: fit's fast path.

        ``P`` holds the parameters' values in the order of ``params`` and is
        updated in place, from the gradients ``G``; the Values are not touched
        (write ``P`` back into them when they are read). The update is
        :meth:`step`'s own, applied to whole arrays.

        >>> import numpy as np
        >>> from tinygrad_gd import Value
        >>> optimizer = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.5)
        >>> P = np.array([1.0, 2.0])
        >>> optimizer.step_arrays(P, np.array([1.0, -1.0]))
        >>> optimizer.step_arrays(P, np.array([1.0, -1.0]))
        >>> P  # velocity 1, then 1.5: 1 - 0.1 - 0.15, 2 + 0.1 + 0.15
        array([0.75, 2.25])
        """
        if not (isinstance(P, np.ndarray) and isinstance(G, np.ndarray)):
            raise TypeError("step_arrays needs numpy arrays P and G")
        if P.shape != (len(self.params),) or G.shape != P.shape or P.dtype != np.float64:
            raise ValueError(
                f"step_arrays needs float64 arrays of shape ({len(self.params)},), one number "
                f"per parameter; got P {P.dtype} {P.shape}, G {G.shape}"
            )
        rate_name = f"the learning rate at step {self.steps}"
        lr = number(self.learning_rate, rate_name, non_negative=True)
        steps = self.steps + 1
        buffers = {
            name: values if isinstance(values, np.ndarray) else np.array(values, dtype=np.float64)
            for name, values in self.buffers.items()
        }
        gradient = G + self.weight_decay * P if self.weight_decay else G
        P[:] = self._update(slice(None), P, gradient, lr, steps, buffers)
        self.buffers = buffers
        self.steps = steps

    def _update(
        self, i: Any, data: Any, gradient: Any, lr: float, steps: int, buffers: dict[str, Any]
    ) -> Any:
        """Parameter ``i``'s new data at step ``steps``, writing its new buffer entries: on
        floats, or with ``i`` a slice and ``data`` the array of all parameters."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's progress as JSON-ready data: type, steps and buffers.

        >>> from tinygrad_gd import Value
        >>> SGD([Value(1.0)], lr=0.1, momentum=0.9).state_dict()
        {'type': 'SGD', 'steps': 0, 'buffers': {'velocity': [0.0]}}
        """
        return {
            "type": type(self).__name__,
            "steps": self.steps,
            "buffers": {
                name: [float(v) for v in values] for name, values in self.buffers.items()
            },
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from :meth:`state_dict`; anything malformed raises and changes nothing.

        >>> from tinygrad_gd import Value
        >>> Adam([Value(1.0)]).load_state_dict({"type": "SGD", "steps": 0, "buffers": {}})
        Traceback (most recent call last):
        ValueError: optimizer state is for SGD, not Adam
        """
        if not isinstance(state, Mapping) or set(state) != {"type", "steps", "buffers"}:
            raise ValueError(
                "optimizer state must be a dict with keys 'type', 'steps' and 'buffers'"
            )
        if state["type"] != type(self).__name__:
            raise ValueError(f"optimizer state is for {state['type']}, not {type(self).__name__}")
        try:
            steps = count(state["steps"], "optimizer steps")
        except TypeError as error:  # a wrong entry is a malformed state, as a wrong key is
            raise ValueError(str(error)) from None
        buffers = state["buffers"]
        if not isinstance(buffers, Mapping) or set(buffers) != set(self.buffer_names):
            raise ValueError(
                f"{type(self).__name__} state needs buffers {list(self.buffer_names)}, "
                f"got {list(buffers) if isinstance(buffers, Mapping) else buffers!r}"
            )
        loaded = {
            name: _check_buffer(
                name, buffers[name], len(self.params), name in self.non_negative_buffers
            )
            for name in self.buffer_names
        }
        self.steps = steps
        self.buffers = loaded

    def __repr__(self) -> str:
        """As the constructor call, with every setting that is not its default.

        >>> from tinygrad_gd import Value
        >>> SGD([Value(1.0)], lr=0.1, weight_decay=0.01)
        SGD(1 parameters, lr=0.1, weight_decay=0.01)
        """
        settings = "".join(f", {name}={value!r}" for name, value in self._settings().items())
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r}{settings})"

    def _settings(self) -> dict[str, object]:
        """The settings besides ``lr`` that differ from their defaults, in the call's order.

        Shown by the repr, so that a printed optimizer (``tinygrad-gd train``
        prints its own) tells how it updates.
        """
        return {"weight_decay": self.weight_decay} if self.weight_decay else {}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov and weight decay.

    Without momentum: ``p -= lr * g``. With momentum μ (as PyTorch):
    ``v = μ v + g``, then ``p -= lr * v``, or with Nesterov ``p -= lr * (g + μ v)``.

    >>> from tinygrad_gd import Value
    >>> w = Value(0.0)
    >>> optimizer = SGD([w], lr=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = 1.0
    ...     optimizer.step()
    >>> w.data  # -0.5 * 1, then -0.5 * (0.9 + 1)
    -1.45
    """

    momentum: float
    nesterov: bool

    def __init__(
        self,
        params: Iterable[Value],
        lr: float | Schedule,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        momentum = number(momentum, "momentum", non_negative=True, below=1.0)
        if flag(nesterov, "nesterov") and not momentum:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.buffer_names = ("velocity",) if momentum else ()
        super().__init__(params, lr, weight_decay)
        self.momentum = momentum
        self.nesterov = nesterov

    def _settings(self) -> dict[str, object]:
        """Momentum and Nesterov when on, then the base settings.

        >>> from tinygrad_gd import Value
        >>> SGD([Value(1.0)], lr=0.1, momentum=0.9, nesterov=True)
        SGD(1 parameters, lr=0.1, momentum=0.9, nesterov=True)
        """
        shown: dict[str, object] = {"momentum": self.momentum} if self.momentum else {}
        if self.nesterov:
            shown["nesterov"] = True
        return {**shown, **super()._settings()}

    def _update(
        self, i: Any, data: Any, gradient: Any, lr: float, steps: int, buffers: dict[str, Any]
    ) -> Any:
        if not self.momentum:
            return data - lr * gradient  # the tutorial's update, exactly
        velocity = buffers["velocity"]
        velocity[i] = self.momentum * velocity[i] + gradient
        direction = gradient + self.momentum * velocity[i] if self.nesterov else velocity[i]
        return data - lr * direction


class Adam(Optimizer):
    """Adam: steps scaled by running averages of the gradient and its square.

    ``m = β₁ m + (1-β₁) g``, ``v = β₂ v + (1-β₂) g²``, then
    ``p -= lr * m̂ / (√v̂ + eps)`` with the bias corrections
    ``m̂ = m / (1-β₁ᵗ)``, ``v̂ = v / (1-β₂ᵗ)`` at step t.

    >>> from tinygrad_gd import Value
    >>> w = Value(1.0)
    >>> optimizer = Adam([w], lr=0.1)
    >>> w.grad = 3.0
    >>> optimizer.step()
    >>> round(w.data, 6)  # the first step moves by lr, whatever the gradient's size
    0.9
    """

    buffer_names = ("m", "v")
    non_negative_buffers = ("v",)  # a running mean of g²; its square root is taken

    def __init__(
        self,
        params: Iterable[Value],
        lr: float | Schedule = 0.001,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Iterable):
            raise TypeError(f"betas must be two numbers (beta1, beta2), got {betas!r}")
        given = list(betas)
        if len(given) != 2:
            raise ValueError(f"betas must be two numbers (beta1, beta2), got {given!r}")
        beta1, beta2 = (
            number(beta, f"betas[{i}]", non_negative=True, below=1.0)
            for i, beta in enumerate(given)
        )
        self.eps = number(eps, "eps", positive=True)
        super().__init__(params, lr, weight_decay)
        self.betas = (beta1, beta2)

    def _update(
        self, i: Any, data: Any, gradient: Any, lr: float, steps: int, buffers: dict[str, Any]
    ) -> Any:
        beta1, beta2 = self.betas
        m, v = buffers["m"], buffers["v"]
        m[i] = beta1 * m[i] + (1.0 - beta1) * gradient
        v[i] = beta2 * v[i] + (1.0 - beta2) * gradient * gradient
        m_hat = m[i] / (1.0 - beta1**steps)
        v_hat = v[i] / (1.0 - beta2**steps)
        root = np.sqrt(v_hat) if isinstance(v_hat, np.ndarray) else math.sqrt(v_hat)
        return data - lr * m_hat / (root + self.eps)


def _check_params(params: Iterable[Value]) -> list[Value]:
    if isinstance(params, Value):
        raise TypeError("params must be an iterable of Values, e.g. model.parameters()")
    checked = list(params)
    if not checked:
        raise ValueError("the optimizer got an empty list of parameters")
    for i, p in enumerate(checked):
        if not isinstance(p, Value):
            raise TypeError(f"params[{i}] must be a Value, got {type(p).__name__}")
    if len({id(p) for p in checked}) != len(checked):
        raise ValueError("params lists the same Value twice; it would be updated twice")
    return checked


def _gradient(i: int, gradient: object) -> float:
    """Parameter ``i``'s gradient as a float (nan and inf pass: training reports them)."""
    return gradient if type(gradient) is float else real(gradient, f"params[{i}].grad")


def _check_buffer(name: str, values: Any, size: int, non_negative: bool) -> list[float]:
    if not isinstance(values, list) or len(values) != size:
        found = len(values) if isinstance(values, list) else type(values).__name__
        raise ValueError(
            f"buffer {name!r} must list {size} numbers, one per parameter; got {found}"
        )
    try:
        return [
            number(x, f"buffer {name!r}[{i}]", non_negative=non_negative)
            for i, x in enumerate(values)
        ]
    except TypeError as error:  # a wrong entry is a malformed state, as a wrong length is
        raise ValueError(str(error)) from None
