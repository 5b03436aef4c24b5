"""Pictures of training: the loss curve and a classifier's decision boundary, as PNG.

Needs matplotlib, an optional extra: ``pip install "tinygrad_gd[plot]"``.
Figures are drawn on their own canvas, without pyplot, so plotting changes
no global matplotlib state (a notebook's backend stays as it was).

>>> try:
...     require_matplotlib()
... except ModuleNotFoundError as error:
...     print(error)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_gd.nn import Loss, Module

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from tinygrad_gd.train import History

__all__ = [
    "INSTALL_HINT",
    "plot_decision_boundary",
    "plot_loss",
    "require_matplotlib",
]

INSTALL_HINT = 'pip install "tinygrad_gd[plot]"'
"""The command that installs what plotting needs."""


def require_matplotlib() -> None:
    """Import matplotlib, or raise ``ModuleNotFoundError`` naming the command that installs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ModuleNotFoundError(f"plotting needs matplotlib: {INSTALL_HINT}") from None


def _figure(size: tuple[float, float]) -> Figure:
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=100, layout="constrained")


def plot_loss(history: History, path: str | os.PathLike[str]) -> None:
    """Write the loss per step (log scale when it is positive) and each metric to ``path``."""
    figure = _figure((5.0, 3.2))
    axes = figure.subplots()
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
    figure.savefig(os.fspath(path))


def plot_decision_boundary(
    model: Module,
    X: Any,
    y: Any,
    path: str | os.PathLike[str],
    loss: Loss,
    resolution: int = 200,
) -> None:
    """Write the regions a 2-input classifier assigns to each class, with the data, to ``path``.

    The model runs on a ``resolution`` x ``resolution`` grid with numpy
    (:meth:`~tinygrad_gd.nn.Module.predict`); ``loss`` says where an output
    changes class (:meth:`~tinygrad_gd.nn.Loss.classify`).
    """
    points = np.asarray(X, dtype=float)
    labels = np.asarray(y, dtype=float)
    if model.nin != 2 or points.ndim != 2 or points.shape[1] != 2:
        raise ValueError("a decision boundary is drawn for 2 inputs: a model and X with 2 columns")
    figure = _figure((4.0, 4.0))
    axes = figure.subplots()
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    outputs = model.predict(np.column_stack([grid_x.ravel(), grid_y.ravel()]))
    above = (outputs > loss.threshold).reshape(grid_x.shape)
    axes.contourf(grid_x, grid_y, above, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
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
    accuracy = loss.accuracy([float(o) for o in model.predict(points)], labels.tolist())
    axes.set_title(f"Decision boundary: accuracy {accuracy:.0%}")
    axes.legend(loc="lower left", fontsize="small")
    axes.set_xlabel("x₁")
    axes.set_ylabel("x₂")
    figure.savefig(os.fspath(path))
