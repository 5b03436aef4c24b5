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
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tinygrad_gd.value import Value

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
        _check_positive("lr", self.lr)
        if not isinstance(self.step_size, int) or isinstance(self.step_size, bool):
            raise ValueError(f"step_size must be a positive int, got {self.step_size!r}")
        if self.step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {self.step_size!r}")
        _check_positive("gamma", self.gamma)

    def __call__(self, step: int) -> float:
        """The learning rate after ``step`` steps."""
        return self.lr * self.gamma ** (step // self.step_size)


@dataclass(frozen=True)
class ExponentialDecay:
    """``lr * gamma ** step``: the rate shrinks by ``gamma`` every step.

    >>> ExponentialDecay(0.1, gamma=0.5)(3)
    0.0125
    """

    lr: float
    gamma: float

    def __post_init__(self) -> None:
        _check_positive("lr", self.lr)
        _check_positive("gamma", self.gamma)

    def __call__(self, step: int) -> float:
        """The learning rate after ``step`` steps."""
        return self.lr * self.gamma**step


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

    def __init__(
        self, params: Iterable[Value], lr: float | Schedule, weight_decay: float = 0.0
    ) -> None:
        self.params = _check_params(params)
        if not callable(lr):
            _check_positive("lr", lr)
            lr = float(lr)
        _check_non_negative("weight_decay", weight_decay)
        self.lr = lr
        self.weight_decay = float(weight_decay)
        self.steps = 0
        self.buffers = {name: [0.0] * len(self.params) for name in self.buffer_names}

    @property
    def learning_rate(self) -> float:
        """The learning rate the next step will use."""
        return self.lr(self.steps) if callable(self.lr) else self.lr

    def zero_grad(self) -> None:
        """Set the ``.grad`` of every parameter to 0.0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Move every parameter once, from its current ``.grad``."""
        lr = self.learning_rate
        _check_non_negative(f"the learning rate at step {self.steps}", lr)
        gradients = [p.grad for p in self.params]
        for i, gradient in enumerate(gradients):
            if type(gradient) is not float and not _is_real(gradient):
                raise TypeError(f"params[{i}].grad must be a number, got {type(gradient).__name__}")
        self.steps += 1
        for i, (p, gradient) in enumerate(zip(self.params, gradients, strict=True)):
            if self.weight_decay:
                gradient = gradient + self.weight_decay * p.data
            self._update(i, p, gradient, lr)

    def _update(self, i: int, p: Value, gradient: float, lr: float) -> None:
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
            "buffers": {name: list(values) for name, values in self.buffers.items()},
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
        steps = state["steps"]
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
            raise ValueError(f"optimizer steps must be an int >= 0, got {steps!r}")
        buffers = state["buffers"]
        if not isinstance(buffers, Mapping) or set(buffers) != set(self.buffer_names):
            raise ValueError(
                f"{type(self).__name__} state needs buffers {list(self.buffer_names)}, "
                f"got {list(buffers) if isinstance(buffers, Mapping) else buffers!r}"
            )
        loaded = {name: _check_buffer(name, buffers[name], len(self.params)) for name in buffers}
        self.steps = steps
        self.buffers = loaded

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r})"


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
        if not isinstance(momentum, numbers.Real) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if nesterov and not momentum:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.buffer_names = ("velocity",) if momentum else ()
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, i: int, p: Value, gradient: float, lr: float) -> None:
        if not self.momentum:
            p.data -= lr * gradient  # the tutorial's update, exactly
            return
        velocity = self.buffers["velocity"]
        velocity[i] = self.momentum * velocity[i] + gradient
        direction = gradient + self.momentum * velocity[i] if self.nesterov else velocity[i]
        p.data -= lr * direction


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

    def __init__(
        self,
        params: Iterable[Value],
        lr: float | Schedule = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if (
            not isinstance(betas, tuple)
            or len(betas) != 2
            or not all(isinstance(b, numbers.Real) and 0.0 <= b < 1.0 for b in betas)
        ):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        _check_positive("eps", eps)
        super().__init__(params, lr, weight_decay)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)

    def _update(self, i: int, p: Value, gradient: float, lr: float) -> None:
        beta1, beta2 = self.betas
        m, v = self.buffers["m"], self.buffers["v"]
        m[i] = beta1 * m[i] + (1.0 - beta1) * gradient
        v[i] = beta2 * v[i] + (1.0 - beta2) * gradient * gradient
        m_hat = m[i] / (1.0 - beta1**self.steps)
        v_hat = v[i] / (1.0 - beta2**self.steps)
        p.data -= lr * m_hat / (math.sqrt(v_hat) + self.eps)


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


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_positive(name: str, x: object) -> None:
    if not _is_real(x) or not 0 < x < math.inf:  # type: ignore[operator]
        raise ValueError(f"{name} must be a finite number > 0, got {x!r}")


def _check_non_negative(name: str, x: object) -> None:
    if not _is_real(x) or not 0 <= x < math.inf:  # type: ignore[operator]
        raise ValueError(f"{name} must be a finite number >= 0, got {x!r}")


def _check_buffer(name: str, values: Any, size: int) -> list[float]:
    if not isinstance(values, list) or len(values) != size:
        found = len(values) if isinstance(values, list) else type(values).__name__
        raise ValueError(
            f"buffer {name!r} must list {size} numbers, one per parameter; got {found}"
        )
    for i, x in enumerate(values):
        if not _is_real(x) or not math.isfinite(x):
            raise ValueError(f"buffer {name!r}[{i}] must be a finite number, got {x!r}")
    return [float(x) for x in values]
