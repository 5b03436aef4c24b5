"""The training loop: ``fit`` a model to data, step by step, and keep a ``History``.

Each step takes a batch, computes its loss and the gradient of every
parameter (compiled by default: :class:`FlatStep` or :func:`compiled_batch_step`;
:func:`eager_batch_step` with ``compile=False``), then lets the optimizer
move the parameters. The loss and
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

import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_gd._support.checks import (
    Seed,
    count,
    flag,
    function,
    function_name,
    number,
    random_generator,
    samples_array,
)
from tinygrad_gd._support.progress import LiveLine, bar
from tinygrad_gd._support.tables import html_table
from tinygrad_gd.core.autodiff import detect_anomaly as anomaly_mode
from tinygrad_gd.core.autodiff import gradients
from tinygrad_gd.core.value import Value
from tinygrad_gd.learning.losses import Loss, MSELoss
from tinygrad_gd.learning.nn import OUTPUT_RANGES, Module
from tinygrad_gd.learning.optim import SGD, Adam, Optimizer
from tinygrad_gd.tools.compiler import compile as compile_function
from tinygrad_gd.tools.compiler import export

__all__ = [
    "BatchResult",
    "Callback",
    "History",
    "Metric",
    "StepReport",
    "FlatStep",
    "compiled_batch_step",
    "eager_batch_step",
    "evaluate",
    "fit",
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

    def _repr_html_(self) -> str:
        """A notebook's view: loss and metrics at about ten steps, first and last included.

        >>> history = History(loss=[0.5, 0.25], metrics={"accuracy": [0.5, 1.0]}, epochs=1)
        >>> print(history._repr_html_())
        <table><caption>History: 2 steps, 1 epoch</caption>
        <tr><th>step</th><th>loss</th><th>accuracy</th></tr>
        <tr><td>1</td><td>0.5</td><td>0.5</td></tr>
        <tr><td>2</td><td>0.25</td><td>1</td></tr>
        </table>
        """
        epochs = f"{self.epochs} epoch{'' if self.epochs == 1 else 's'}"
        caption = f"History: {self.steps} step{'' if self.steps == 1 else 's'}, {epochs}"
        if self.stop_reason:
            caption += f"; stopped early: {self.stop_reason}"
        shown = sorted({round(k * (self.steps - 1) / 9) for k in range(10)}) if self.steps else []
        rows = [("step", "loss", *self.metrics)]
        rows += [
            (str(i + 1), f"{self.loss[i]:.4g}", *(f"{v[i]:.4g}" for v in self.metrics.values()))
            for i in shown
        ]
        return html_table(rows, caption=caption)


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


def _sample_loss(model: Module, loss: Loss) -> Callable[[list[Value], Value], Any]:
    """One sample's loss plus the L2 penalty, and the model's output as aux: what is compiled."""
    parameters = model.parameters()

    def sample_loss(x: list[Value], target: Value) -> tuple[Value, Value]:
        output = model(x)
        return loss.sample(output, target) + loss.penalty(parameters), output

    return sample_loss


class FlatStep:
    """The step of ``fit(..., compile=True)``: packed array code on one flat parameter array.

    The model and the per-sample loss are packed once (:func:`~tinygrad_gd.export`)
    with respect to the optimizer's parameters. Their values live in one
    array ``P`` while training: each batch gives the mean loss and one
    gradient array, and the optimizer's :meth:`~tinygrad_gd.optim.Optimizer.step_arrays`
    moves ``P``. :meth:`write_back` copies ``P`` (and the last gradients)
    into the Values, which ``fit`` does at the end of each epoch and before
    a callback reads the model.

    >>> from tinygrad_gd import nn, optim
    >>> neuron = nn.Neuron(1, activation="linear", bias=False, seed=0)
    >>> neuron.load_state_dict({"weight": [2.0]})
    >>> optimizer = optim.SGD(neuron.parameters(), lr=0.25)
    >>> step = FlatStep(neuron, nn.MSELoss(), optimizer)
    >>> step([[1.0], [3.0]], [1.0, 6.0])  # errors 1 and 0
    BatchResult(loss=0.5, outputs=[2.0, 6.0])
    >>> step.update(optimizer)  # d loss / dw = mean of 2·1·1 and 0: 1; w = 2 - 0.25
    >>> neuron.parameters()[0].data, step.write_back(), neuron.parameters()[0].data
    (2.0, None, 1.75)
    """

    def __init__(self, model: Module, loss: Loss, optimizer: Optimizer) -> None:
        self.parameters = list(optimizer.params)
        self.exported = export(
            _sample_loss(model, loss), wrt=self.parameters, reduce="mean", has_aux=True
        )
        self.P = self.exported.params
        self.G = np.zeros_like(self.P)

    def pays(self, inputs: list[list[float]], targets: list[float]) -> bool:
        """Whether the packed program is worth it for batches shaped like this one."""
        return self.exported.packing(np.asarray(inputs, dtype=float), np.asarray(targets)).pays

    def __call__(self, inputs: list[list[float]], targets: list[float]) -> BatchResult:
        """The batch's mean loss and outputs; its gradient is kept in ``G``."""
        X, y = np.asarray(inputs, dtype=float), np.asarray(targets, dtype=float)
        (total, outputs), self.G = self.exported.value_and_grad(self.P, X, y)
        return BatchResult(total, outputs.tolist())

    def update(self, optimizer: Optimizer) -> None:
        """One optimizer step on ``P``, from the last batch's gradient."""
        optimizer.step_arrays(self.P, self.G)

    def write_back(self) -> None:
        """Copy ``P`` into the Values' ``.data`` and the last gradient into their ``.grad``."""
        for parameter, data, gradient in zip(
            self.parameters, self.P.tolist(), self.G.tolist(), strict=True
        ):
            parameter.data, parameter.grad = data, gradient

    def read_back(self) -> None:
        """Take the Values' ``.data`` into ``P`` again (a callback may have moved them)."""
        self.P[:] = [parameter.data for parameter in self.parameters]


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
    compile: bool | None = None,
) -> History:
    """Train ``model`` on inputs ``X`` (one row per sample) and targets ``y``.

    - ``loss``: a :class:`~tinygrad_gd.learning.losses.Loss` (default ``MSELoss()``, the
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
    - ``compile`` (the default, unless ``detect_anomaly``): trace the model
      and loss once and run every step on generated code over the whole
      batch: packed array code on one flat parameter array
      (:class:`FlatStep`) where the optimizer is ``SGD`` or ``Adam`` and
      packing pays, else the scalar code (:func:`compiled_batch_step`).
      The same results to rounding, many times faster; ``compile=False``
      runs the eager engine.

    Every argument is checked before anything changes; a loss that cannot
    separate the classes after the model's output activation (a hinge or
    logits loss after a sigmoid) is warned about. Returns the
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
    _warn_if_outputs_stay_on_one_side(plan.model, plan.loss)
    compute = _make_step(plan)
    history = History(metrics={name: [] for name in plan.metrics})
    with LiveLine(sys.stderr, enabled=plan.progress) as line:
        callbacks = [ProgressBar(line, plan.epochs, plan.steps_per_epoch), *plan.callbacks]
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

    Runs on numbers (:meth:`~tinygrad_gd.learning.nn.Module.predict`), building no graph.

    >>> from tinygrad_gd import nn
    >>> neuron = nn.Neuron(1, activation="linear", seed=0)
    >>> neuron.load_state_dict({"weight": [1.0], "bias": 0.0})
    >>> evaluate(neuron, [[2.0], [-1.0]], [1.0, -1.0], nn.HingeLoss())
    {'loss': 0.0, 'accuracy': 1.0}
    """
    loss = _check_model_and_loss(model, loss)
    samples, targets = _check_data(model, X, y, loss, "evaluate")
    _warn_if_outputs_stay_on_one_side(model, loss)
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
        detect_anomaly = flag(detect_anomaly, "detect_anomaly")
        compile = not detect_anomaly if compile is None else flag(compile, "compile")
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
            rng=random_generator(seed),
            metrics=_check_metrics(metrics, loss, targets),
            callbacks=_check_callbacks(callbacks),
            target_loss=None if target_loss is None else number(target_loss, "target_loss"),
            progress=None if progress is None else flag(progress, "progress"),
            detect_anomaly=detect_anomaly,
            compile=compile,
        )

    @property
    def steps_per_epoch(self) -> int:
        return steps_per_epoch(len(self.samples), self.batch_size)

    def batches(self) -> Iterator[tuple[np.ndarray, bool]]:
        """One epoch: the sample indices of each batch, and whether it ends the epoch."""
        n = len(self.samples)
        order = self.rng.permutation(n) if self.shuffle and self.batch_size < n else np.arange(n)
        for start in range(0, n, self.batch_size):
            yield order[start : start + self.batch_size], start + self.batch_size >= n


def _make_step(plan: _Plan) -> _BatchStep | FlatStep:
    """Eager, or compiled: packed on flat arrays where the optimizer steps arrays and
    packing pays, else the scalar code compiled over the batch."""
    if not plan.compile:
        return eager_batch_step(plan.model, plan.loss, plan.model.parameters())
    if type(plan.optimizer) in (SGD, Adam):  # a subclass may update floats only
        flat = FlatStep(plan.model, plan.loss, plan.optimizer)
        first = [plan.samples[i] for i in range(min(plan.batch_size, len(plan.samples)))]
        if flat.pays(first, [plan.targets[i] for i in range(len(first))]):
            return flat
    return compiled_batch_step(plan.model, plan.loss, plan.model.parameters())


def _step(
    plan: _Plan,
    compute: _BatchStep | FlatStep,
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
    flat = compute if isinstance(compute, FlatStep) else None
    if stop_reason is None:
        flat.update(plan.optimizer) if flat else plan.optimizer.step()
    values = {name: metric(result.outputs, targets) for name, metric in plan.metrics.items()}
    history.loss.append(result.loss)
    for name, value in values.items():
        history.metrics[name].append(value)
    if flat and (end_of_epoch or plan.callbacks or stop_reason is not None):
        flat.write_back()  # the model's Values are current whenever someone may read them
    report = StepReport(epoch, history.steps, result.loss, values, plan.model, end_of_epoch)
    for callback in callbacks:
        if callback(report) is True and stop_reason is None:
            stop_reason = f"{function_name(callback)} stopped training"
    if flat and plan.callbacks:
        flat.read_back()
    return stop_reason


def _stop_before_update(loss: float, target_loss: float | None) -> str | None:
    if not math.isfinite(loss):
        return f"loss became {loss}"
    if target_loss is not None and loss <= target_loss:
        return f"loss reached the target {target_loss}"
    return None


def steps_per_epoch(samples: int, batch_size: int | None) -> int:
    """Batches in one pass over ``samples``: one full batch when ``batch_size`` is None."""
    return 1 if batch_size is None else math.ceil(samples / batch_size)


class ProgressBar:
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


def _warn_if_outputs_stay_on_one_side(model: Module, loss: Loss) -> None:
    """Warn, at the caller of fit or evaluate, when every output falls on one side of the
    output at which ``loss`` tells its two labels apart (a hinge loss after a sigmoid)."""
    activation = model.output_activation
    threshold = getattr(loss, "threshold", None)
    if activation not in OUTPUT_RANGES or threshold is None:
        return
    lowest, highest = OUTPUT_RANGES[activation]
    side = "below" if lowest >= threshold else "above" if highest <= threshold else None
    if side is not None:
        warnings.warn(
            f"{loss!r} tells {loss.labels[0]:g} from {loss.labels[1]:g} at an output of "
            f"{threshold:g}, but the output activation {activation!r} never gives an output "
            f"{side} {threshold:g}, so the loss cannot separate the classes; "
            "give the last layer activation 'linear' (MLP's default)",
            UserWarning,
            stacklevel=3,
        )


def _check_data(
    model: Module, X: Any, y: Any, loss: Loss, user: str
) -> tuple[list[list[float]], list[float]]:
    """The samples and targets as Python floats (the engine's fast path), checked."""
    inputs = samples_array(X, model.nin, user)
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


