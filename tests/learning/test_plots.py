"""plots: figures on their own canvas; the decision boundary follows the loss's classify."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tinygrad_gd import data
from tinygrad_gd.learning import plots
from tinygrad_gd.learning.losses import HingeLoss
from tinygrad_gd.learning.nn import MLP, Neuron
from tinygrad_gd.learning.train import History

PNG = b"\x89PNG\r\n\x1a\n"


def test_figure_has_the_size_asked_for() -> None:
    drawing = plots.figure((4.0, 3.0), dpi=50)
    assert drawing.get_size_inches().tolist() == [4.0, 3.0] and drawing.dpi == 50


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"size": 4.0}, TypeError, r"size must be \(width, height\) in inches, got 4.0"),
        ({"size": (4.0, 0.0)}, ValueError, "size must be a positive finite number, got 0.0"),
        ({"size": (4.0, 3.0), "dpi": 0}, ValueError, "dpi must be at least 1, got 0"),
    ],
)
def test_figure_names_a_bad_argument(
    arguments: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        plots.figure(**arguments)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(ModuleNotFoundError, match=r'pip install "tinygrad_gd\[plot\]"'):
        plots.figure((4.0, 3.0))


def test_the_regions_are_the_classes_that_classify_gives(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Reversed(HingeLoss):
        """Class 1 below the threshold: the picture must follow classify, not ``>``."""

        def classify(self, output: float) -> float:
            return self.labels[1] if output < self.threshold else self.labels[0]

    drawn: list[tuple[np.ndarray, np.ndarray]] = []
    original = Axes.contourf

    def record(self: Axes, x: np.ndarray, y: np.ndarray, regions: np.ndarray, **kw: Any) -> Any:
        drawn.append((x, np.asarray(regions)))
        return original(self, x, y, regions, **kw)

    monkeypatch.setattr(Axes, "contourf", record)
    neuron = Neuron(2, activation="linear", seed=0)
    neuron.load_state_dict({"weight": [1.0, 0.0], "bias": 0.0})  # output x₁: the line x₁ = 0
    X, y = np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0])
    path = tmp_path / "boundary.png"
    plots.plot_decision_boundary(neuron, X, y, path, Reversed(), resolution=9)
    ((grid_x, second_class),) = drawn
    assert grid_x.shape == second_class.shape == (9, 9)
    np.testing.assert_array_equal(second_class, grid_x < 0)
    assert path.read_bytes().startswith(PNG)


def test_plot_loss_writes_a_png(tmp_path: Path) -> None:
    history = History(loss=[1.0, 0.5, 0.25], metrics={"accuracy": [0.5, 0.75, 1.0]}, epochs=3)
    plots.plot_loss(history, tmp_path / "loss.png")
    assert (tmp_path / "loss.png").read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"model": MLP(3, [1], seed=0)}, ValueError, "2 inputs, but the model has 3"),
        ({"model": "mlp"}, TypeError, "model must be an nn.Module, got str"),
        ({"loss": None}, TypeError, "loss must be an nn.Loss"),
        ({"resolution": 1}, ValueError, "resolution must be at least 2, got 1"),
        ({"X": [[0.0, 1.0, 2.0]]}, ValueError, r"X must have 2 columns.*\(1, 3\)"),
        ({"y": [1.0]}, ValueError, r"y one label per row of X.*\(1,\)"),
    ],
)
def test_plot_decision_boundary_names_a_bad_argument_and_writes_nothing(
    tmp_path: Path, change: dict[str, Any], error: type[Exception], message: str
) -> None:
    X, y = data.xor(labels=(-1, 1))
    arguments: dict[str, Any] = {
        "model": MLP(2, [2, 1], seed=0), "X": X, "y": y,
        "path": tmp_path / "boundary.png", "loss": HingeLoss(), **change,
    }  # fmt: skip
    with pytest.raises(error, match=message):
        plots.plot_decision_boundary(**arguments)
    assert list(tmp_path.iterdir()) == []


def test_plot_loss_needs_a_history(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="plot_loss needs the History that fit returns"):
        plots.plot_loss([1.0, 0.5], tmp_path / "loss.png")  # type: ignore[arg-type]


def test_without_a_path_the_plots_are_returned_as_figures(tmp_path: Path) -> None:
    history = History(loss=[1.0, 0.5, 0.25], metrics={"accuracy": [0.5, 0.75, 1.0]})
    drawing = plots.plot_loss(history)
    assert isinstance(drawing, Figure)
    (line,) = drawing.axes[0].get_lines()
    assert list(line.get_ydata()) == [1.0, 0.5, 0.25]  # the loss, step by step
    assert list(tmp_path.iterdir()) == []  # nothing written
    assert drawing._repr_png_().startswith(PNG)  # type: ignore[attr-defined]  # as a notebook shows it
    X, y = data.xor(labels=(-1, 1))
    model = MLP(2, [4, 1], activation=["tanh", "linear"], seed=0)
    boundary = plots.plot_decision_boundary(model, X, y, loss=HingeLoss(), resolution=20)
    assert isinstance(boundary, Figure)
    accuracy = HingeLoss().accuracy(model.predict(X).tolist(), y.tolist())
    assert boundary.axes[0].get_title() == f"Decision boundary: accuracy {accuracy:.0%}"
    assert plots.plot_loss(history, tmp_path / "loss.png") is None
    assert (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
