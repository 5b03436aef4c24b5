"""The training loop: ``fit`` a model to data, step by step, and keep a ``History``.

Each step takes a batch, computes its loss and the gradient of every
parameter (:func:`eager_batch_step`, or :func:`compiled_batch_step` with
``compile=True``), then lets the optimizer move the parameters. The loss and
the metrics of every step are recorded; callbacks see each step and may stop
training, as may a target loss (the tutorial trains until its prediction
reaches the target).

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
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_gd import data, io, plots
from tinygrad_gd._checks import (
    UsageError,
    count,
    count_option,
    flag,
    function,
    function_name,
    number,
    number_option,
)
from tinygrad_gd._progress import LiveLine, bar
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
    _random_generator,
    _samples_array,
)
from tinygrad_gd.optim import SGD, Adam, Optimizer
from tinygrad_gd.value import Value

__all__ = [
    "BatchResult",
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
    """What one batch step found: the batch's loss and the model's output per sample.

    >>> BatchResult(loss=0.5, outputs=[2.0, 6.0]).outputs
    [2.0, 6.0]
    """

    loss: float
    outputs: list[float]


_BatchStep = Callable[[list[list[float]], list[float]], BatchResult]
"""Computes the loss of a batch ``(inputs, targets)`` and leaves d loss / d p in
each parameter's ``.grad``."""

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
        """How many steps were recorded.

        >>> History(loss=[0.5, 0.25, 0.125]).steps
        3
        """
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
    """One finished step, as a callback sees it (``epoch`` and ``step`` count from 1).

    >>> from tinygrad_gd import data, nn
    >>> seen = []
    >>> def watch(report):
    ...     seen.append((report.epoch, report.step, report.end_of_epoch))
    >>> history = fit(nn.MLP(2, [2, 1], seed=0), *data.xor(), epochs=2, batch_size=2,
    ...               callbacks=[watch])
    >>> seen  # two batches of two samples per epoch
    [(1, 1, False), (1, 2, True), (2, 3, False), (2, 4, True)]
    """

    epoch: int
    step: int
    loss: float
    metrics: Mapping[str, float]
    model: Module
    end_of_epoch: bool


Callback = Callable[[StepReport], bool | None]
"""Called after every step; returning True stops training."""


def eager_batch_step(model: Module, loss: Loss, parameters: Sequence[Value]) -> _BatchStep:
    """The step ``fit`` takes by default: build the batch's graph, then reverse mode over it.

    Returns a function of a batch ``(inputs, targets)`` giving a
    :class:`BatchResult` and leaving d loss / d p in each parameter's ``.grad``.

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


def compiled_batch_step(model: Module, loss: Loss, parameters: Sequence[Value]) -> _BatchStep:
    """The step of ``fit(..., compile=True)``: one sample's loss is compiled once.

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
    callbacks: Sequence[Callback] | None = None,
    target_loss: float | None = None,
    progress: bool | None = None,
    detect_anomaly: bool = False,
    compile: bool = False,
) -> History:
    """Train ``model`` on inputs ``X`` (one row per sample) and targets ``y``.

    - ``loss``: a :class:`~tinygrad_gd.nn.Loss` (default ``MSELoss()``, the
      tutorial's squared error); its L2 penalty reads ``model.parameters()``.
    - ``optimizer``: default ``SGD(model.parameters(), lr=0.1)``; one built
      over other Values than the model's parameters is refused.
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
    plan = _Plan.check(
        model, X, y, loss, optimizer, epochs, batch_size, shuffle, seed, metrics, callbacks,
        target_loss, progress, detect_anomaly, compile,
    )  # fmt: skip
    make_step = compiled_batch_step if plan.compile else eager_batch_step
    compute = make_step(plan.model, plan.loss, plan.model.parameters())
    history = History(metrics={name: [] for name in plan.metrics})
    with LiveLine(sys.stderr, enabled=plan.progress) as line:
        callbacks = [_ProgressBar(line, plan.epochs, plan.steps_per_epoch), *plan.callbacks]
        for epoch in range(1, plan.epochs + 1):
            history.epochs = epoch
            for batch, end_of_epoch in plan.batches():
                stop_reason = _step(plan, compute, callbacks, history, epoch, batch, end_of_epoch)
                if stop_reason is not None:
                    history.stop_reason = stop_reason
                    return history
    return history


def evaluate(model: Module, X: Any, y: Any, loss: Loss | None = None) -> dict[str, float]:
    """The loss of ``model`` on ``(X, y)`` (with its L2 penalty), and accuracy if it applies.

    Runs on numbers (:meth:`~tinygrad_gd.nn.Module.predict`), building no graph.

    >>> from tinygrad_gd import nn
    >>> neuron = nn.Neuron(1, activation="linear", seed=0)
    >>> neuron.load_state_dict({"weight": [1.0], "bias": 0.0})
    >>> evaluate(neuron, [[2.0], [-1.0]], [1.0, -1.0], nn.HingeLoss())
    {'loss': 0.0, 'accuracy': 1.0}
    """
    loss = _check_model_and_loss(model, loss)
    samples, targets = _check_data(model, X, y, loss, "evaluate")
    outputs = model.predict(samples).tolist()
    parameters = [p.data for p in model.parameters()]
    result = {"loss": float(loss(outputs, targets, parameters))}
    if loss.is_classification(targets):
        result["accuracy"] = loss.accuracy(outputs, targets)
    return result


# -- the loop ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """The arguments of :func:`fit`, checked, with the defaults filled in."""

    model: Module
    samples: list[list[float]]
    targets: list[float]
    loss: Loss
    optimizer: Optimizer
    epochs: int
    batch_size: int
    shuffle: bool
    rng: np.random.Generator
    metrics: Mapping[str, Metric]
    callbacks: Sequence[Callback]
    target_loss: float | None
    progress: bool | None
    detect_anomaly: bool
    compile: bool

    @classmethod
    def check(
        cls, model: Any, X: Any, y: Any, loss: Any, optimizer: Any, epochs: Any,
        batch_size: Any, shuffle: Any, seed: Any, metrics: Any, callbacks: Any,
        target_loss: Any, progress: Any, detect_anomaly: Any, compile: Any,
    ) -> _Plan:  # fmt: skip
        """Check every argument of ``fit``, before anything changes."""
        loss = _check_model_and_loss(model, loss)
        samples, targets = _check_data(model, X, y, loss, "fit")
        compile, detect_anomaly = flag(compile, "compile"), flag(detect_anomaly, "detect_anomaly")
        if compile and detect_anomaly:
            raise ValueError("detect_anomaly watches the eager engine; it cannot run with compile")
        return cls(
            model=model,
            samples=samples,
            targets=targets,
            loss=loss,
            optimizer=_check_optimizer(optimizer, model),
            epochs=count(epochs, "epochs"),
            batch_size=(
                len(samples) if batch_size is None else count(batch_size, "batch_size", minimum=1)
            ),
            shuffle=flag(shuffle, "shuffle"),
            rng=_random_generator(seed),
            metrics=_check_metrics(metrics, loss, targets),
            callbacks=_check_callbacks(callbacks),
            target_loss=None if target_loss is None else number(target_loss, "target_loss"),
            progress=None if progress is None else flag(progress, "progress"),
            detect_anomaly=detect_anomaly,
            compile=compile,
        )

    @property
    def steps_per_epoch(self) -> int:
        return _steps_per_epoch(len(self.samples), self.batch_size)

    def batches(self) -> Iterator[tuple[np.ndarray, bool]]:
        """One epoch: the sample indices of each batch, and whether it ends the epoch."""
        n = len(self.samples)
        order = self.rng.permutation(n) if self.shuffle and self.batch_size < n else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield order[start : start + self.batch_size], start + self.batch_size >= n


def _step(
    plan: _Plan,
    compute: _BatchStep,
    callbacks: Sequence[Callback],
    history: History,
    epoch: int,
    batch: np.ndarray,
    end_of_epoch: bool,
) -> str | None:
    """Train on one batch and record it; return why training stops, or None."""
    targets = [plan.targets[i] for i in batch]
    with anomaly_mode() if plan.detect_anomaly else nullcontext():
        result = compute([plan.samples[i] for i in batch], targets)
    stop_reason = _stop_before_update(result.loss, plan.target_loss)
    if stop_reason is None:
        plan.optimizer.step()
    values = {name: metric(result.outputs, targets) for name, metric in plan.metrics.items()}
    history.loss.append(result.loss)
    for name, value in values.items():
        history.metrics[name].append(value)
    report = StepReport(epoch, history.steps, result.loss, values, plan.model, end_of_epoch)
    for callback in callbacks:
        if callback(report) is True and stop_reason is None:
            stop_reason = f"{function_name(callback)} stopped training"
    return stop_reason


def _stop_before_update(loss: float, target_loss: float | None) -> str | None:
    if not math.isfinite(loss):
        return f"loss became {loss}"
    if target_loss is not None and loss <= target_loss:
        return f"loss reached the target {target_loss}"
    return None


def _steps_per_epoch(samples: int, batch_size: int | None) -> int:
    """Batches in one pass over ``samples``: one full batch when ``batch_size`` is None."""
    return 1 if batch_size is None else math.ceil(samples / batch_size)


class _ProgressBar:
    """The callback that draws ``fit``'s progress: bar, epoch, step, loss and metrics."""

    def __init__(self, line: LiveLine, epochs: int, steps_per_epoch: int) -> None:
        self.line = line
        self.epochs = epochs
        self.total_steps = epochs * steps_per_epoch

    def __call__(self, report: StepReport) -> None:
        if not self.line.enabled:  # spare the formatting when nothing is drawn
            return
        values = "".join(f"  {name} {value:.4g}" for name, value in report.metrics.items())
        self.line.show(
            f"{bar(report.step, self.total_steps)} epoch {report.epoch}/{self.epochs}"
            f"  step {report.step}  loss {report.loss:.4g}{values}"
        )


# -- checks ------------------------------------------------------------------------------


def _check_model_and_loss(model: Any, loss: Any) -> Loss:
    """The loss (default ``MSELoss()``), once both are what ``fit`` and ``evaluate`` need."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}: {model!r}")
    if model.output_shape != ():
        raise ValueError(
            f"{model!r} gives a list of {model.output_shape[0]} outputs per sample; "
            "fit and evaluate need a model with a single output (one Value per sample)"
        )
    loss = MSELoss() if loss is None else loss
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be an nn.Loss such as nn.MSELoss(), got {loss!r}")
    return loss


def _check_data(
    model: Module, X: Any, y: Any, loss: Loss, user: str
) -> tuple[list[list[float]], list[float]]:
    """The samples and targets as Python floats (the engine's fast path), checked."""
    inputs = _samples_array(X, model.nin, user)
    try:
        outputs = np.asarray(y)
    except ValueError:  # numpy refuses ragged nesting
        outputs = np.asarray(None)
    if outputs.dtype.kind not in "iuf" or outputs.shape != (len(inputs),):
        found = f"shape {outputs.shape}" if outputs.dtype.kind in "iuf" else "no array of numbers"
        raise ValueError(
            f"y must hold one target (a number) per row of X, shape ({len(inputs)},); got {found}"
        )
    if not np.isfinite(inputs).all():
        raise ValueError("X must hold finite numbers only (no nan or inf)")
    targets = outputs.astype(float).tolist()
    loss.check_targets(targets)
    return inputs.tolist(), targets


def _check_optimizer(optimizer: Any, model: Module) -> Optimizer:
    """The optimizer (default plain SGD), once it moves the model's parameters only."""
    parameters = model.parameters()
    if optimizer is None:
        return SGD(parameters, lr=0.1)
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an optim.Optimizer, got {type(optimizer).__name__}: {optimizer!r}"
        )
    # By identity: a Value that is not the model's own gets no gradient from fit.
    owned = {id(p) for p in parameters}
    strangers = sum(id(p) not in owned for p in optimizer.params)
    if strangers:
        raise ValueError(
            f"the optimizer moves {strangers} of its {len(optimizer.params)} Values that are "
            f"not parameters of {model!r}: build it from model.parameters()"
        )
    return optimizer


def _check_metrics(metrics: Any, loss: Loss, targets: list[float]) -> Mapping[str, Metric]:
    if metrics is None:
        return {"accuracy": loss.accuracy} if loss.is_classification(targets) else {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            "metrics must be a dict of name -> function(outputs, targets), "
            f"got {type(metrics).__name__}: {metrics!r}"
        )
    for name, metric in metrics.items():
        if not isinstance(name, str):
            raise TypeError(f"metric names must be str, got {type(name).__name__}: {name!r}")
        function(metric, f"metric {name!r}")
    return dict(metrics)


def _check_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    # One function alone is a slip for a list of one; a str or a dict is no list of functions.
    if (
        callable(callbacks)
        or isinstance(callbacks, (str, bytes, Mapping))
        or not isinstance(callbacks, Iterable)
    ):
        raise TypeError(
            f"callbacks must be a list of functions, got {type(callbacks).__name__}: {callbacks!r}"
        )
    return [function(callback, f"callbacks[{i}]") for i, callback in enumerate(callbacks)]


# -- the command line: tinygrad-gd train -------------------------------------------------

_LOSSES: dict[str, Callable[[float], Loss]] = {
    "hinge": lambda l2: HingeLoss(l2=l2),
    "bce": lambda l2: BCEWithLogitsLoss(l2=l2),
    "mse": lambda l2: MSELoss(l2=l2),
}
_DEFAULT_LEARNING_RATES = {"sgd": 0.5, "adam": 0.05}
_MOONS_SAMPLES, _MOONS_NOISE = 100, 0.1
"""The defaults of ``--samples`` and ``--noise``, which only the moons data set reads."""


def _layer_sizes(text: str) -> list[int]:
    """An argparse ``type``: hidden layer sizes as whole numbers ≥ 1 between commas."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isascii() and part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(
            f"layer sizes must be whole numbers >= 1 separated by commas, got {text!r}"
        )
    return [int(part) for part in parts]


_layer_sizes.__name__ = "layer sizes"  # how argparse names the type in its messages


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd train`` on ``parser``; each is checked as parsed.

    >>> parser = argparse.ArgumentParser(prog="tinygrad-gd train")
    >>> add_train_arguments(parser)
    >>> args = parser.parse_args(["--hidden", "8,4", "--epochs", "50"])
    >>> args.hidden, args.epochs, args.optimizer
    ([8, 4], 50, 'adam')
    """
    add = parser.add_argument
    add("--dataset", choices=["moons", "xor"], default="moons", help="(default moons)")
    add(
        "--samples", type=count_option(minimum=2), metavar="N",
        help=f"moons only: the number of points (default {_MOONS_SAMPLES})",
    )  # fmt: skip
    add(
        "--noise", type=number_option(non_negative=True), metavar="SD",
        help=f"moons only: the noise's standard deviation (default {_MOONS_NOISE})",
    )  # fmt: skip
    add(
        "--hidden", type=_layer_sizes, default="16,16", metavar="SIZES",
        help="hidden layer sizes, e.g. 16,16; empty for none (default 16,16)",
    )  # fmt: skip
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
    add(
        "--l2", type=number_option(non_negative=True), default=1e-4, metavar="ALPHA",
        help="L2 penalty (default 1e-4)",
    )  # fmt: skip
    add(
        "--epochs", type=count_option(minimum=0), default=100, metavar="N",
        help="passes over the data (default 100)",
    )  # fmt: skip
    add(
        "--batch-size", type=count_option(minimum=1), metavar="N",
        help="samples per step (default: all)",
    )  # fmt: skip
    add("--optimizer", choices=list(_DEFAULT_LEARNING_RATES), default="adam", help="(default adam)")
    add(
        "--lr", type=number_option(positive=True), metavar="RATE",
        help="learning rate (default 0.05 for adam, 0.5 for sgd)",
    )  # fmt: skip
    add(
        "--momentum", type=number_option(non_negative=True, below=1.0), metavar="MU",
        help="sgd only: momentum in [0, 1) (default 0)",
    )  # fmt: skip
    add(
        "--seed", type=count_option(minimum=0), default=0, metavar="N",
        help="seeds data, weights and order (default 0)",
    )  # fmt: skip
    add("--save", metavar="FILE", help="save parameters and optimizer state as JSON")
    add("--plot", metavar="DIR", help="write loss.png and decision_boundary.png into DIR")
    add("--compile", action="store_true", help="run every step on code compiled once (faster)")


def run_train_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd train``: train an MLP on a built-in data set, report, save, plot.

    Input that parsing cannot check (options that do not go together, a
    file or folder that cannot be written) raises ``UsageError`` before
    training starts.

    >>> parser = argparse.ArgumentParser(prog="tinygrad-gd train")
    >>> add_train_arguments(parser)
    >>> args = parser.parse_args(["--dataset", "xor", "--hidden", "4", "--epochs", "2"])
    >>> run_train_command(args)  # doctest: +ELLIPSIS
    xor: 4 samples; MLP(2, [4, 1], activation=['relu', 'linear'], ...); HingeLoss(...); Adam(...)
    epoch 1  loss ...
    epoch 2  loss ...
    final loss ..., accuracy ...%
    0
    """
    _check_option_combinations(args)
    if args.plot is not None:
        _prepare_plot_folder(args.plot, plots.require_matplotlib)
    if args.save is not None:
        with _naming_the_option("--save"):
            io.check_writable(args.save)
    loss = _LOSSES[args.loss](args.l2)
    rng = np.random.default_rng(args.seed)
    if args.dataset == "moons":
        samples = _MOONS_SAMPLES if args.samples is None else args.samples
        noise = _MOONS_NOISE if args.noise is None else args.noise
        X, y = data.moons(samples, noise=noise, seed=rng, labels=loss.labels)
    else:
        X, y = data.xor(labels=loss.labels)
    activations = [args.activation] * len(args.hidden) + ["linear"]
    model = MLP(X.shape[1], [*args.hidden, 1], activation=activations, seed=rng)
    lr = _DEFAULT_LEARNING_RATES[args.optimizer] if args.lr is None else args.lr
    optimizer: Optimizer = (
        Adam(model.parameters(), lr=lr)
        if args.optimizer == "adam"
        else SGD(model.parameters(), lr=lr, momentum=args.momentum or 0.0)
    )
    print(f"{args.dataset}: {len(X)} samples; {model!r}; {loss!r}; {optimizer!r}")
    every = max(1, args.epochs // 10)
    # fit's own bar (on standard error) would stay drawn when an epoch line (on
    # standard output) is printed after it, and on a terminal the two would share
    # one line. So the command draws the bar on a live line it owns, as demo does,
    # and erases it before each line it prints.
    live = LiveLine(sys.stderr)
    progress = _ProgressBar(live, args.epochs, _steps_per_epoch(len(X), args.batch_size))

    def report_epoch(report: StepReport) -> None:
        if report.end_of_epoch and report.epoch % every == 0:
            values = "".join(f"  {name} {value:.4g}" for name, value in report.metrics.items())
            live.clear()
            print(f"epoch {report.epoch:>{len(str(args.epochs))}}  loss {report.loss:.4g}{values}")

    try:
        history = fit(
            model,
            X,
            y,
            loss=loss,
            optimizer=optimizer,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=rng,
            callbacks=[progress, report_epoch],
            progress=False,
            compile=args.compile,
        )
    finally:
        live.clear()  # the bar is transient: what follows starts at the left margin
    if history.stop_reason:
        print(f"stopped early: {history.stop_reason}")
    final = evaluate(model, X, y, loss)
    print(f"final loss {final['loss']:.4g}, accuracy {final['accuracy']:.1%}")
    if args.save is not None:
        with _naming_the_option("--save"):
            io.save(args.save, model, optimizer)
        print(f"saved {args.save}")
    if args.plot is not None:
        with _naming_the_option("--plot"):
            plots.plot_loss(history, os.path.join(args.plot, "loss.png"))
            plots.plot_decision_boundary(
                model, X, y, os.path.join(args.plot, "decision_boundary.png"), loss
            )
        print(f"wrote {os.path.join(args.plot, 'loss.png')} and decision_boundary.png")
    return 0


def _check_option_combinations(args: argparse.Namespace) -> None:
    if args.momentum is not None and args.optimizer != "sgd":
        raise UsageError(f"--momentum applies to --optimizer sgd only, not {args.optimizer}")
    given = {"--samples": args.samples, "--noise": args.noise}
    moons_only = [option for option, value in given.items() if value is not None]
    if moons_only and args.dataset != "moons":
        verb = "applies" if len(moons_only) == 1 else "apply"
        raise UsageError(f"{' and '.join(moons_only)} {verb} to --dataset moons only")


def _prepare_plot_folder(folder: str, require_matplotlib: Callable[[], None]) -> None:
    try:
        require_matplotlib()
    except ImportError as error:
        raise UsageError(str(error)) from None
    with _naming_the_option("--plot"):
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise NotADirectoryError(f"{folder} is a file, not a folder")
        os.makedirs(folder, exist_ok=True)


@contextmanager
def _naming_the_option(option: str) -> Iterator[None]:
    """Turn a file error into a ``UsageError`` that names the command-line option."""
    try:
        yield
    except OSError as error:
        raise UsageError(f"{option}: {error}") from None
