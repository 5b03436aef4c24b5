"""The training loop: ``fit`` a model to data, step by step, and keep a ``History``.

Each step takes a batch, computes its loss and the gradient of every
parameter (one small, replaceable function: a :data:`BatchStep`), then lets
the optimizer move the parameters. The loss and the metrics of every step
are recorded; callbacks see each step and may stop training, as may a
target loss (the tutorial trains until its prediction reaches the target).

>>> from tinygrad_gd import data, nn, optim
>>> X, y = data.xor()
>>> model = nn.MLP(2, [4, 1], seed=0)
>>> history = fit(model, X, y, loss=nn.MSELoss(),
...               optimizer=optim.Adam(model.parameters(), lr=0.1), epochs=300)
>>> history.metrics["accuracy"][-1]
1.0
"""

from __future__ import annotations

import argparse
import math
import numbers
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from tinygrad_gd.autodiff import detect_anomaly as anomaly_mode
from tinygrad_gd.autodiff import gradients
from tinygrad_gd.compile import compile as compile_function
from tinygrad_gd.nn import (
    ACTIVATIONS,
    MLP,
    BCEWithLogitsLoss,
    HingeLoss,
    Loss,
    Module,
    MSELoss,
    Seed,
)
from tinygrad_gd.optim import SGD, Adam, Optimizer
from tinygrad_gd.value import Value

__all__ = [
    "BatchResult",
    "BatchStep",
    "Callback",
    "History",
    "Metric",
    "StepReport",
    "add_train_arguments",
    "compiled_batch_step",
    "eager_batch_step",
    "evaluate",
    "fit",
    "run_train_command",
]


@dataclass(frozen=True)
class BatchResult:
    """What one batch step found: the batch's loss and the model's output per sample."""

    loss: float
    outputs: list[float]


BatchStep = Callable[[list[list[float]], list[float]], BatchResult]
"""Computes the loss of a batch ``(inputs, targets)`` and leaves d loss / d p in
each parameter's ``.grad``. :func:`eager_batch_step` is the default; another
way of computing the same (compiled, checked for anomalies) is another
function of this shape."""

Metric = Callable[[list[float], list[float]], float]
"""A number computed from a batch's outputs and targets, e.g. accuracy."""


@dataclass
class History:
    """What happened in training: the loss and every metric, one entry per step.

    >>> history = History(loss=[0.5, 0.25], metrics={"accuracy": [0.5, 1.0]}, epochs=2)
    >>> history
    History(steps=2, epochs=2, loss=0.25, accuracy=1)
    """

    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    epochs: int = 0
    stop_reason: str | None = None
    """Why training ended before its last epoch, or None if it ran them all."""

    @property
    def steps(self) -> int:
        """How many optimizer steps were recorded."""
        return len(self.loss)

    def __repr__(self) -> str:
        parts = [f"steps={self.steps}", f"epochs={self.epochs}"]
        last = {"loss": self.loss, **self.metrics}
        parts += [f"{name}={values[-1]:.4g}" for name, values in last.items() if values]
        if self.stop_reason:
            parts.append(f"stop_reason={self.stop_reason!r}")
        return f"History({', '.join(parts)})"


@dataclass(frozen=True)
class StepReport:
    """One finished step, as a callback sees it (``epoch`` and ``step`` count from 1)."""

    epoch: int
    step: int
    loss: float
    metrics: Mapping[str, float]
    model: Module
    end_of_epoch: bool


Callback = Callable[[StepReport], bool | None]
"""Called after every step; returning True stops training there."""


def eager_batch_step(model: Module, loss: Loss, parameters: Sequence[Value]) -> BatchStep:
    """The default :data:`BatchStep`: build the batch's graph, then reverse mode over it.

    >>> from tinygrad_gd import nn
    >>> neuron = nn.Neuron(1, activation="linear", bias=False, seed=0)
    >>> neuron.load_state_dict({"weight": [2.0]})
    >>> step = eager_batch_step(neuron, nn.MSELoss(), neuron.parameters())
    >>> step([[1.0], [3.0]], [1.0, 6.0])  # errors 1 and 0
    BatchResult(loss=0.5, outputs=[2.0, 6.0])
    >>> neuron.parameters()[0].grad  # mean of 2 (2w - 1) * 1 and 2 (6 - 6) * 3
    1.0
    """

    def step(inputs: list[list[float]], targets: list[float]) -> BatchResult:
        outputs = [model(x) for x in inputs]
        total = loss(outputs, targets, parameters)
        for parameter, gradient in zip(parameters, gradients(total, parameters), strict=True):
            parameter.grad = gradient
        return BatchResult(total.data, [output.data for output in outputs])

    return step


def compiled_batch_step(model: Module, loss: Loss, parameters: Sequence[Value]) -> BatchStep:
    """A :data:`BatchStep` on generated code: one sample's loss is compiled once.

    The model and the per-sample loss (plus the L2 penalty) are traced with
    respect to the parameters by :func:`~tinygrad_gd.compile`; each batch
    then runs as numpy arrays, one per input, and the loss and gradient are
    the means over the batch, as in :func:`eager_batch_step` (equal to
    rounding).

    >>> from tinygrad_gd import nn
    >>> neuron = nn.Neuron(1, activation="linear", bias=False, seed=0)
    >>> neuron.load_state_dict({"weight": [2.0]})
    >>> step = compiled_batch_step(neuron, nn.MSELoss(), neuron.parameters())
    >>> step([[1.0], [3.0]], [1.0, 6.0])
    BatchResult(loss=0.5, outputs=[2.0, 6.0])
    >>> neuron.parameters()[0].grad
    1.0
    """

    def sample_loss(x: list[Value], target: Value) -> tuple[Value, Value]:
        output = model(x)
        return loss.sample(output, target) + loss.penalty(parameters), output

    compiled = compile_function(sample_loss, wrt=parameters, reduce="mean", has_aux=True)

    def step(inputs: list[list[float]], targets: list[float]) -> BatchResult:
        columns = list(np.asarray(inputs, dtype=float).T)
        (total, outputs), gradient = compiled(columns, np.asarray(targets, dtype=float))
        for parameter, parameter_gradient in zip(parameters, gradient, strict=True):
            parameter.grad = parameter_gradient
        return BatchResult(total, outputs.tolist())

    return step


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: Loss | None = None,
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    seed: Seed = None,
    metrics: Mapping[str, Metric] | None = None,
    callbacks: Sequence[Callback] = (),
    target_loss: float | None = None,
    progress: bool | None = None,
    detect_anomaly: bool = False,
    compile: bool = False,
) -> History:
    """Train ``model`` on inputs ``X`` (one row per sample) and targets ``y``.

    - ``loss``: a :class:`~tinygrad_gd.nn.Loss` (default ``MSELoss()``, the
      tutorial's squared error); its L2 penalty reads ``model.parameters()``.
    - ``optimizer``: default ``SGD(model.parameters(), lr=0.1)``.
    - ``epochs`` passes over the data, in batches of ``batch_size`` samples
      (default: all of them, one step per epoch), reshuffled every epoch
      when ``shuffle`` (from ``seed``).
    - ``metrics``: name -> function of a batch's outputs and targets;
      default: ``accuracy`` when every target is one of the loss's labels.
    - ``callbacks``: see :data:`Callback`; ``target_loss``: stop at the first
      step whose loss is at most this, before updating, so the model keeps
      the parameters that reached it. A loss that is not finite stops too.
    - ``progress``: a progress bar on standard error; default: only when
      standard error is a terminal.
    - ``detect_anomaly``: run each step inside :func:`~tinygrad_gd.detect_anomaly`,
      so the first op whose value or gradient is not finite raises
      ``AnomalyError`` naming it, before the parameters are updated.
    - ``compile``: trace the model and loss once and run every step on the
      generated code over the whole batch (:func:`compiled_batch_step`):
      the same results to rounding, many times faster.

    Every argument is checked before anything changes. Returns the
    :class:`History`; the model is trained in place.

    >>> from tinygrad_gd import nn, optim
    >>> neuron = nn.Neuron(1, activation="sigmoid", bias=False, seed=0)  # the tutorial's Part 1
    >>> history = fit(neuron, [[0.1]], [0.3], optimizer=optim.SGD(neuron.parameters(), lr=0.5),
    ...               epochs=100_000, target_loss=1e-6)
    >>> history.stop_reason
    'loss reached the target 1e-06'
    >>> round(float(neuron.predict([[0.1]])[0]), 3)
    0.3
    """
    loss = MSELoss() if loss is None else loss
    if not isinstance(model, Module):
        raise TypeError(f"fit needs an nn.Module to train, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be an nn.Loss such as nn.MSELoss(), got {loss!r}")
    samples, targets = _check_data(model, X, y)
    loss.check_targets(targets)
    _check_int("epochs", epochs, minimum=0)
    if batch_size is None:
        batch_size = len(samples)
    _check_int("batch_size", batch_size, minimum=1)
    if not isinstance(detect_anomaly, bool):
        raise TypeError(f"detect_anomaly must be True or False, got {detect_anomaly!r}")
    if not isinstance(compile, bool):
        raise TypeError(f"compile must be True or False, got {compile!r}")
    if compile and detect_anomaly:
        raise ValueError("detect_anomaly watches the eager engine; it cannot run with compile")
    if target_loss is not None and not _is_finite_number(target_loss):
        raise ValueError(f"target_loss must be a finite number or None, got {target_loss!r}")
    if metrics is None:
        metrics = {"accuracy": loss.accuracy} if loss.is_classification(targets) else {}
    for name, function in [*metrics.items(), *enumerate(callbacks)]:
        if not callable(function):
            what = f"metric {name!r}" if isinstance(name, str) else f"callbacks[{name}]"
            raise TypeError(f"{what} must be callable, got {type(function).__name__}")
    parameters = model.parameters()
    optimizer = SGD(parameters, lr=0.1) if optimizer is None else optimizer
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be an optim.Optimizer, got {type(optimizer).__name__}")
    rng = np.random.default_rng(seed)

    compute = (compiled_batch_step if compile else eager_batch_step)(model, loss, parameters)
    history = History(metrics={name: [] for name in metrics})
    batches_per_epoch = math.ceil(len(samples) / batch_size)
    bar = _ProgressBar(epochs * batches_per_epoch, enabled=progress)
    try:
        for epoch in range(1, epochs + 1):
            history.epochs = epoch
            reshuffle = shuffle and batch_size < len(samples)
            order = rng.permutation(len(samples)) if reshuffle else np.arange(len(samples))
            for start in range(0, len(samples), batch_size):
                end_of_epoch = start + batch_size >= len(samples)
                batch = order[start : start + batch_size]
                batch_targets = [targets[i] for i in batch]
                with anomaly_mode() if detect_anomaly else nullcontext():
                    result = compute([samples[i] for i in batch], batch_targets)
                stop_reason = _stop_before_update(result.loss, target_loss)
                if stop_reason is None:
                    optimizer.step()
                values = {name: f(result.outputs, batch_targets) for name, f in metrics.items()}
                history.loss.append(result.loss)
                for name, value in values.items():
                    history.metrics[name].append(value)
                report = StepReport(epoch, history.steps, result.loss, values, model, end_of_epoch)
                bar.update(report, epochs)
                for callback in callbacks:
                    if callback(report) is True and stop_reason is None:
                        stop_reason = f"{_name(callback)} stopped training"
                if stop_reason is not None:
                    history.stop_reason = stop_reason
                    return history
    finally:
        bar.close()
    return history


def _stop_before_update(loss: float, target_loss: float | None) -> str | None:
    if not math.isfinite(loss):
        return f"loss became {loss}"
    if target_loss is not None and loss <= target_loss:
        return f"loss reached the target {target_loss}"
    return None


def evaluate(model: Module, X: Any, y: Any, loss: Loss | None = None) -> dict[str, float]:
    """The loss of ``model`` on ``(X, y)`` (with its L2 penalty), and accuracy if it applies.

    Runs on numbers (:meth:`~tinygrad_gd.nn.Module.predict`), building no graph.

    >>> from tinygrad_gd import nn
    >>> neuron = nn.Neuron(1, activation="linear", seed=0)
    >>> neuron.load_state_dict({"weight": [1.0], "bias": 0.0})
    >>> evaluate(neuron, [[2.0], [-1.0]], [1.0, -1.0], nn.HingeLoss())
    {'loss': 0.0, 'accuracy': 1.0}
    """
    loss = MSELoss() if loss is None else loss
    samples, targets = _check_data(model, X, y)
    outputs = [float(o) for o in model.predict(samples)]
    parameters = [p.data for p in model.parameters()]
    result = {"loss": float(loss(outputs, targets, parameters))}
    if loss.is_classification(targets):
        result["accuracy"] = loss.accuracy(outputs, targets)
    return result


# -- checks ------------------------------------------------------------------------------


def _check_data(model: Module, X: Any, y: Any) -> tuple[list[list[float]], list[float]]:
    """The samples and targets as Python floats (the engine's fast path), checked."""
    inputs = np.asarray(X, dtype=float) if _is_numeric_array_like(X) else None
    if inputs is None or inputs.ndim != 2 or inputs.shape[1] != model.nin or not len(inputs):
        shape = "no array of numbers" if inputs is None else f"shape {inputs.shape}"
        raise ValueError(
            f"X must be a non-empty array of shape (samples, {model.nin}), one row per "
            f"sample; got {shape}"
        )
    outputs = np.asarray(y, dtype=float) if _is_numeric_array_like(y) else None
    if outputs is None or outputs.ndim != 1 or len(outputs) != len(inputs):
        shape = "no array of numbers" if outputs is None else f"shape {outputs.shape}"
        raise ValueError(
            f"y must hold one target per row of X, shape ({len(inputs)},); got {shape}"
        )
    if not np.all(np.isfinite(inputs)) or not np.all(np.isfinite(outputs)):
        raise ValueError("X and y must hold finite numbers only (no nan or inf)")
    if model.predict(inputs[:1]).ndim != 1:
        raise ValueError(f"{model!r} has several outputs; fit and evaluate train one output")
    return inputs.tolist(), outputs.tolist()


def _is_numeric_array_like(x: Any) -> bool:
    try:
        array = np.asarray(x)
    except ValueError:  # ragged nesting
        return False
    return array.dtype.kind in "biuf" and array.dtype.kind != "b"


def _is_finite_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _check_int(name: str, n: object, minimum: int) -> None:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or int(n) < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {n!r}")


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__name__", type(f).__name__)


# -- progress ----------------------------------------------------------------------------


class _ProgressBar:
    """One line on standard error, redrawn at most ten times a second."""

    width = 24
    interval = 0.1

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.stream: TextIO = sys.stderr
        # No standard error at all (a windowed program) means no bar, even if asked.
        terminal = self.stream is not None and self.stream.isatty()
        self.enabled = self.stream is not None and (terminal if enabled is None else enabled)
        self.total = max(total, 1)
        self.last_draw = -math.inf
        self.line_length = 0

    def update(self, report: StepReport, epochs: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last_draw < self.interval and report.step < self.total):
            return
        self.last_draw = now
        filled = round(self.width * report.step / self.total)
        values = "".join(f"  {name} {value:.4g}" for name, value in report.metrics.items())
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] epoch {report.epoch}/{epochs}"
            f"  step {report.step}  loss {report.loss:.4g}{values}"
        )
        self.stream.write("\r" + line.ljust(self.line_length))  # cover a longer last line
        self.stream.flush()
        self.line_length = len(line)

    def close(self) -> None:
        if self.line_length:
            self.stream.write("\n")
            self.stream.flush()


# -- the command line: tinygrad-gd train -------------------------------------------------

_LOSSES: dict[str, Callable[[float], Loss]] = {
    "hinge": lambda l2: HingeLoss(l2=l2),
    "bce": lambda l2: BCEWithLogitsLoss(l2=l2),
    "mse": lambda l2: MSELoss(l2=l2),
}
_DEFAULT_LEARNING_RATES = {"sgd": 0.5, "adam": 0.05}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd train`` on ``parser``."""
    add = parser.add_argument
    add("--dataset", choices=["moons", "xor"], default="moons", help="(default moons)")
    add("--samples", type=int, default=100, metavar="N", help="moons: points (default 100)")
    add("--noise", type=float, default=0.1, metavar="SD", help="moons: noise (default 0.1)")
    add("--hidden", default="16,16", metavar="SIZES", help="hidden layer sizes (default 16,16)")
    add(
        "--activation",
        choices=[name for name in ACTIVATIONS if name != "linear"],
        default="relu",
        help="of the hidden layers; the output is linear (default relu)",
    )
    add(
        "--loss",
        choices=list(_LOSSES),
        default="hinge",
        help="hinge (labels -1, 1), bce (cross-entropy from logits) or mse (default hinge)",
    )
    add("--l2", type=float, default=1e-4, metavar="ALPHA", help="L2 penalty (default 1e-4)")
    add("--epochs", type=int, default=100, metavar="N", help="passes over the data (default 100)")
    add("--batch-size", type=int, metavar="N", help="samples per step (default: all)")
    add("--optimizer", choices=list(_DEFAULT_LEARNING_RATES), default="adam", help="(default adam)")
    add("--lr", type=float, help="learning rate (default 0.05 for adam, 0.5 for sgd)")
    add("--momentum", type=float, default=0.0, help="sgd momentum (default 0)")
    add("--seed", type=int, default=0, help="seeds data, weights and order (default 0)")
    add("--save", metavar="FILE", help="save parameters and optimizer state as JSON")
    add("--plot", metavar="DIR", help="write loss.png and decision_boundary.png into DIR")
    add("--compile", action="store_true", help="run every step on code compiled once (faster)")


def run_train_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd train``: train an MLP on a built-in data set, report, save, plot.

    Bad input prints one line on standard error and returns 2.
    """
    try:
        return _train_command(args)
    except (ValueError, TypeError, OSError, ImportError) as error:
        print(f"tinygrad-gd train: error: {error}", file=sys.stderr)
        return 2


def _train_command(args: argparse.Namespace) -> int:
    from tinygrad_gd import data, io, plots

    hidden = _layer_sizes(args.hidden)
    _check_int("--epochs", args.epochs, minimum=0)
    if args.batch_size is not None:
        _check_int("--batch-size", args.batch_size, minimum=1)
    if args.plot is not None:
        plots.require_matplotlib()
        os.makedirs(args.plot, exist_ok=True)
    if args.save is not None and not os.path.isdir(os.path.dirname(os.path.abspath(args.save))):
        raise ValueError(f"--save {args.save}: its directory does not exist")
    loss = _LOSSES[args.loss](args.l2)
    rng = np.random.default_rng(args.seed)
    if args.dataset == "moons":
        X, y = data.moons(args.samples, noise=args.noise, seed=rng, labels=loss.labels)
    else:
        X, y = data.xor(labels=loss.labels)
    activations = [args.activation] * len(hidden) + ["linear"]
    model = MLP(X.shape[1], [*hidden, 1], activation=activations, seed=rng)
    lr = _DEFAULT_LEARNING_RATES[args.optimizer] if args.lr is None else args.lr
    optimizer: Optimizer = (
        Adam(model.parameters(), lr=lr)
        if args.optimizer == "adam"
        else SGD(model.parameters(), lr=lr, momentum=args.momentum)
    )
    print(f"{args.dataset}: {len(X)} samples; {model!r}; {loss!r}; {optimizer!r}")
    every = max(1, args.epochs // 10)

    def report_epoch(report: StepReport) -> None:
        if report.end_of_epoch and report.epoch % every == 0:
            values = "".join(f"  {name} {value:.4g}" for name, value in report.metrics.items())
            print(f"epoch {report.epoch:>{len(str(args.epochs))}}  loss {report.loss:.4g}{values}")

    history = fit(
        model,
        X,
        y,
        loss=loss,
        optimizer=optimizer,
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=rng,
        callbacks=[report_epoch],
        compile=args.compile,
    )
    if history.stop_reason:
        print(f"stopped early: {history.stop_reason}")
    final = evaluate(model, X, y, loss)
    print(f"final loss {final['loss']:.4g}, accuracy {final['accuracy']:.1%}")
    if args.save is not None:
        io.save(args.save, model, optimizer)
        print(f"saved {args.save}")
    if args.plot is not None:
        plots.plot_loss(history, os.path.join(args.plot, "loss.png"))
        plots.plot_decision_boundary(
            model, X, y, os.path.join(args.plot, "decision_boundary.png"), loss
        )
        print(f"wrote {os.path.join(args.plot, 'loss.png')} and decision_boundary.png")
    return 0


def _layer_sizes(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ValueError(f"--hidden must be positive ints separated by commas, got {text!r}")
    return [int(part) for part in parts]
