"""Pictures of training: the loss curve and a classifier's decision boundary.

Given a path, each plot is written there (PNG, or the format of the
suffix); without one, it is returned as a matplotlib ``Figure``, which a
notebook shows as the cell's result. Needs matplotlib, an optional extra:
``pip install "tinygrad_gd[plot]"``. Figures are drawn on their own canvas,
without pyplot, so plotting changes no global matplotlib state (a
notebook's backend stays as it was).

>>> INSTALL_HINT  # what the error says when matplotlib is missing
'pip install "tinygrad_gd[plot]"'
"""

from __future__ import annotations

import functools
import io
import os
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from tinygrad_gd._support.checks import count, number
from tinygrad_gd.learning.losses import Loss
from tinygrad_gd.learning.nn import Module

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tinygrad_gd.learning.train import History

__all__ = [
    "INSTALL_HINT",
    "figure",
    "plot_decision_boundary",
    "plot_loss",
    "require_matplotlib",
]

INSTALL_HINT = 'pip install "tinygrad_gd[plot]"'
"""The command that installs what plotting needs."""


def require_matplotlib() -> None:
    """Import matplotlib, or raise ``ModuleNotFoundError`` naming the command that installs it.

    >>> import importlib.util
    >>> if importlib.util.find_spec("matplotlib") is not None:  # the plot extra is installed
    ...     require_matplotlib()
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ModuleNotFoundError(f"plotting needs matplotlib: {INSTALL_HINT}") from None


def figure(size: tuple[float, float], dpi: int = 100) -> Figure:
    """A blank matplotlib ``Figure`` of ``size`` inches on its own canvas (no pyplot).

    Draw on ``figure.subplots()`` and write it with ``figure.savefig(path)``;
    no global matplotlib state changes. Without matplotlib, raises
    ``ModuleNotFoundError`` naming the command that installs it.

    >>> import importlib.util, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "line.png")
    >>> if importlib.util.find_spec("matplotlib") is not None:  # the plot extra is installed
    ...     drawing = figure((4.0, 3.0))
    ...     lines = drawing.subplots().plot([1, 2, 3], [1.0, 0.5, 0.25])
    ...     drawing.savefig(path)
    """
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise TypeError(f"size must be (width, height) in inches, got {size!r}")
    width, height = (number(x, "size", positive=True) for x in size)
    dpi = count(dpi, "dpi", minimum=1)
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


@overload
def plot_loss(history: History, path: None = None) -> Figure: ...


@overload
def plot_loss(history: History, path: str | os.PathLike[str]) -> None: ...


def plot_loss(history: History, path: str | os.PathLike[str] | None = None) -> Figure | None:
    """The loss per step (log scale when it is positive) and each metric: to ``path``, or returned.

    >>> import importlib.util, os, tempfile
    >>> from tinygrad_gd.learning.train import History
    >>> history = History(loss=[1.0, 0.5, 0.25], metrics={"accuracy": [0.5, 0.75, 1.0]})
    >>> if importlib.util.find_spec("matplotlib") is not None:  # the plot extra is installed
    ...     plot_loss(history, os.path.join(tempfile.mkdtemp(), "loss.png"))
    ...     print(type(plot_loss(history)).__name__)
    Figure
    """
    from tinygrad_gd.learning.train import History

    if not isinstance(history, History):
        raise TypeError(f"plot_loss needs the History that fit returns, got {history!r}")
    drawing = figure((5.0, 3.2))
    axes = drawing.subplots()
    steps = np.arange(1, history.steps + 1)
    lines = axes.plot(steps, history.loss, color="tab:blue", label="loss")
    if history.loss and min(history.loss) > 0:
        axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    if history.metrics:
        other = axes.twinx()
        colors = ["tab:orange", "tab:green", "tab:purple", "tab:brown"]
        for (name, values), color in zip(history.metrics.items(), colors * 8, strict=False):
            lines += other.plot(steps, values, color=color, linestyle="--", label=name)
        other.set_ylabel(", ".join(history.metrics))
    axes.legend(handles=lines, loc="center right")
    axes.set_title(f"Training: {history.steps} steps")
    return _saved_or_returned(drawing, path)


@overload
def plot_decision_boundary(
    model: Module, X: Any, y: Any, path: None = None, loss: Loss | None = None,
    resolution: int = 200,
) -> Figure: ...  # fmt: skip


@overload
def plot_decision_boundary(
    model: Module, X: Any, y: Any, path: str | os.PathLike[str], loss: Loss | None = None,
    resolution: int = 200,
) -> None: ...  # fmt: skip


def plot_decision_boundary(
    model: Module,
    X: Any,
    y: Any,
    path: str | os.PathLike[str] | None = None,
    loss: Loss | None = None,
    resolution: int = 200,
) -> Figure | None:
    """A 2-input classifier's regions of each class, with the data: to ``path``, or returned.

    The model runs on a ``resolution`` x ``resolution`` grid with numpy
    (:meth:`~tinygrad_gd.learning.nn.Module.predict`); ``loss`` (required) says where
    an output changes class (:meth:`~tinygrad_gd.learning.losses.Loss.classify`).
    Without a path, pass it by name: ``plot_decision_boundary(model, X, y, loss=...)``.

    >>> import importlib.util, os, tempfile
    >>> from tinygrad_gd import data, nn
    >>> X, y = data.xor(labels=(-1, 1))
    >>> model = nn.MLP(2, [4, 1], activation=["tanh", "linear"], seed=0)
    >>> if importlib.util.find_spec("matplotlib") is not None:  # the plot extra is installed
    ...     path = os.path.join(tempfile.mkdtemp(), "boundary.png")
    ...     plot_decision_boundary(model, X, y, path, nn.HingeLoss(), resolution=50)
    ...     drawing = plot_decision_boundary(model, X, y, loss=nn.HingeLoss(), resolution=50)
    >>> plot_decision_boundary(nn.MLP(3, [1]), X, y, "boundary.png", nn.HingeLoss())
    Traceback (most recent call last):
    ValueError: a decision boundary is drawn for 2 inputs, but the model has 3
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be an nn.Loss such as nn.HingeLoss(), got {loss!r}")
    resolution = count(resolution, "resolution", minimum=2)
    if model.nin != 2:
        raise ValueError(
            f"a decision boundary is drawn for 2 inputs, but the model has {model.nin}"
        )
    points = np.asarray(X, dtype=float)
    labels = np.asarray(y, dtype=float)
    if points.ndim != 2 or points.shape[1] != 2 or labels.shape != (len(points),):
        raise ValueError(
            f"X must have 2 columns and y one label per row of X; "
            f"got shapes {points.shape} and {labels.shape}"
        )
    drawing = figure((4.0, 4.0))
    axes = drawing.subplots()
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    outputs = model.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    classes = np.array([loss.classify(output) for output in outputs.tolist()])
    second = (classes == loss.labels[1]).reshape(grid_x.shape)
    axes.contourf(grid_x, grid_y, second, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
    for label, color, marker in zip(loss.labels, ["tab:red", "tab:blue"], "os", strict=True):
        chosen = labels == label
        axes.scatter(
            points[chosen, 0],
            points[chosen, 1],
            c=color,
            marker=marker,
            s=14,
            label=f"class {label:g}",
        )
    accuracy = loss.accuracy(model.predict(points).tolist(), labels.tolist())
    axes.set_title(f"Decision boundary: accuracy {accuracy:.0%}")
    axes.legend(loc="lower left", fontsize="small")
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    return _saved_or_returned(drawing, path)


def _saved_or_returned(drawing: Figure, path: str | os.PathLike[str] | None) -> Figure | None:
    """Write the figure to ``path``; without one, hand it back to be shown or saved later."""
    if path is None:
        # Drawn without pyplot, the figure is unknown to a notebook's inline backend,
        # which would show its repr: it shows itself as PNG instead.
        setattr(drawing, "_repr_png_", functools.partial(_png, drawing))  # noqa: B010
        return drawing
    drawing.savefig(os.fspath(path))
    return None


def _png(drawing: Figure) -> bytes:
    buffer = io.BytesIO()
    drawing.savefig(buffer, format="png")
    return buffer.getvalue()
