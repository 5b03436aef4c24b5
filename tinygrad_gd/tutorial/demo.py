"""``tinygrad-gd demo``: the tutorial's parts 1–4, derived by hand and automatically.

For each network of the series, at seeded starting weights: the gradient by
hand (the tutorial's g-factors) beside the gradient by reverse mode, with
their largest difference; the published code's variant beside the correct
gradient; the chain rule written out by ``explain`` (Part 1, and one hidden
weight of Part 3); a gradient-descent run reporting its progress; the final
prediction against the target. Optionally the figures (``--plot``) and the
graphs (``--graph``).

>>> import io
>>> run_demo(parts=[1], iterations=0, out=io.StringIO()).passed
True
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tinygrad_gd._support.checks import choice, count, number
from tinygrad_gd._support.progress import LiveLine
from tinygrad_gd._support.tables import format_table
from tinygrad_gd.learning.plots import figure, require_matplotlib
from tinygrad_gd.tools.explain import explain
from tinygrad_gd.tools.gradcheck import Comparison, compare
from tinygrad_gd.tools.graph import RENDER_FORMATS, find_dot, write_graph
from tinygrad_gd.tutorial.descent import (
    GRADIENT_METHODS,
    GradientMethod,
    Run,
    example_gradients,
    gradient_descent,
    initial_weights,
)
from tinygrad_gd.tutorial.examples import (
    PART1,
    PART3,
    PARTS,
    Example,
)
from tinygrad_gd.tutorial.graphs import (
    HiddenLayerGraph,
    NeuronGraph,
    build_hidden_layer,
    build_neuron,
)
from tinygrad_gd.tutorial.steps import Array

__all__ = [
    "DEFAULT_ITERATIONS", "GRAPH_FORMATS", "REACHED", "DemoResult", "DemoResults",
    "run_demo",
]  # fmt: skip

DEFAULT_ITERATIONS = 5_000
REACHED = 1e-3
"""A run has reached its target when |prediction − target| < REACHED."""

GRAPH_FORMATS = ("dot", *RENDER_FORMATS)
"""How ``--graph`` writes a graph: DOT text, or an image drawn by Graphviz."""

CHECKPOINTS = 5  # progress lines per run, besides the start


@dataclass(frozen=True)
class DemoResult:
    """What one network's demo found: both comparisons and the training run.

    >>> import io
    >>> (result,) = run_demo(parts=[3], iterations=0, out=io.StringIO()).results
    >>> result.example.name, result.manual_vs_automatic.passed, result.run.predictions.shape
    ('part 3', True, (1,))
    """

    example: Example
    manual_vs_automatic: Comparison
    published_vs_automatic: Comparison
    run: Run

    @property
    def passed(self) -> bool:
        """Whether the hand-derived gradient matched the automatic one.

        >>> import io
        >>> [result.passed for result in run_demo([1], iterations=0, out=io.StringIO()).results]
        [True, True]
        """
        return self.manual_vs_automatic.passed


@dataclass(frozen=True)
class DemoResults:
    """What :func:`run_demo` returns: every network's result, in the order shown.

    >>> import io
    >>> results = run_demo(parts=[1], iterations=0, out=io.StringIO())
    >>> [result.example.name for result in results.results]
    ['part 1', 'part 1, lr 0.5']
    """

    results: tuple[DemoResult, ...]

    @property
    def passed(self) -> bool:
        """Whether every hand-derived gradient matched the automatic one.

        >>> import io
        >>> run_demo(parts=[2], iterations=0, out=io.StringIO()).passed
        True
        """
        return all(result.passed for result in self.results)


@dataclass(frozen=True)
class _Options:
    """The checked options of one demo run, shared by every network in it."""

    learning_rate: float | None
    iterations: int
    seed: int
    method: GradientMethod
    plot_dir: Path | None
    graph_dir: Path | None
    graph_format: str


def run_demo(
    parts: Iterable[int] = (1, 2, 3, 4),
    *,
    learning_rate: float | None = None,
    iterations: int = DEFAULT_ITERATIONS,
    seed: int = 0,
    method: GradientMethod = "automatic",
    plot_dir: str | os.PathLike[str] | None = None,
    graph_dir: str | os.PathLike[str] | None = None,
    graph_format: str = "dot",
    out: TextIO | None = None,
) -> DemoResults:
    """Run the demo of the chosen parts, printing to ``out`` (default: standard output).

    ``learning_rate`` replaces every example's published rate; ``method``
    picks the gradient that trains (one of ``GRADIENT_METHODS``). Figures go
    to ``plot_dir`` (needs matplotlib), graphs to ``graph_dir`` in one of
    :data:`GRAPH_FORMATS` (images need Graphviz); missing folders are made.
    Every argument, and what the outputs need, is checked before anything is
    printed or made.

    >>> import io
    >>> results = run_demo(parts=[3], iterations=10, out=io.StringIO())
    >>> [result.example.name for result in results.results], results.passed
    (['part 3'], True)
    >>> run_demo(parts=[1, 7])
    Traceback (most recent call last):
    ValueError: part must be one of [1, 2, 3, 4], got 7
    """
    chosen = _parts(parts)
    choice(method, "method", GRADIENT_METHODS)
    options = _Options(
        learning_rate=(
            None if learning_rate is None else number(learning_rate, "learning_rate", positive=True)
        ),
        iterations=count(iterations, "iterations"),
        seed=count(seed, "seed"),
        method=method,
        plot_dir=_folder(plot_dir, "plot_dir"),
        graph_dir=_folder(graph_dir, "graph_dir"),
        graph_format=choice(graph_format, "graph_format", GRAPH_FORMATS),
    )
    if options.plot_dir is not None:
        require_matplotlib()
    if options.graph_dir is not None and options.graph_format != "dot":
        find_dot()
    for folder in (options.plot_dir, options.graph_dir):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    show = _Printer(sys.stdout if out is None else out)
    results = tuple(
        _demo_example(example, options, show) for part in chosen for example in PARTS[part]
    )
    _summary(results, show)
    return DemoResults(results)


def _parts(parts: Any) -> list[int]:
    if isinstance(parts, (str, bytes)) or not isinstance(parts, Iterable):
        raise TypeError(f"parts must be a sequence of part numbers such as [1, 3], got {parts!r}")
    chosen = [count(part, "part") for part in parts]
    for part in chosen:
        if part not in PARTS:
            raise ValueError(f"part must be one of {sorted(PARTS)}, got {part!r}")
    if not chosen:
        raise ValueError(f"parts must name at least one of {sorted(PARTS)}")
    return chosen


def _folder(path: Any, name: str) -> Path | None:
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}: {path!r}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{name} {folder}: exists and is not a folder")
    return folder


def _demo_example(example: Example, options: _Options, show: _Printer) -> DemoResult:
    rate = example.learning_rate if options.learning_rate is None else options.learning_rate
    weights = initial_weights(example, options.seed)
    show.line(f"== {example.name}: {_network(example)} ==")
    show.line(f"x = {list(example.x)}, target = {example.target}, learning rate {rate:g}")
    show.line(
        f"starting weights drawn from [0, 1) with seed {options.seed}: {_weights_text(weights)}"
    )

    manual = _named(example, example_gradients(example, weights, "manual"))
    automatic = _named(example, example_gradients(example, weights, "automatic"))
    published = _named(example, example_gradients(example, weights, "published", rate))
    by_hand = compare(manual, automatic)
    show.line()
    show.line("dE/dw by hand (the tutorial's g-factors) and by reverse mode:")
    show.block(by_hand.format(max_rows=12))
    variant = compare(published, automatic, labels=("published", "automatic"))
    show.line()
    show.line(_published_defect(example, rate))
    show.block(variant.format(max_rows=12))

    if example in (PART1, PART3):
        graph = _graph(example, weights)
        show.line()
        show.line(f"the chain rule of dE/d{graph.weights[0].label}, written out by explain:")
        show.block(str(explain(graph.error, graph.weights[0])))

    show.line()
    show.line(f"gradient descent: {options.iterations:,} iterations, {options.method} gradient:")
    run = _train(example, weights, options.iterations, rate, options.method, show)
    show.line(_outcome(example, run))

    if options.plot_dir is not None:
        path = _plot(run, options.plot_dir / f"{example.slug}.png", rate, options.method)
        show.line(f"figure: {path}")
    if options.graph_dir is not None:
        graph = _graph(example, weights)
        graph.error.backward()
        file = options.graph_dir / f"{example.slug}.{options.graph_format}"
        show.line(f"graph: {write_graph(graph.error, file)}")
    show.line()
    return DemoResult(example, by_hand, variant, run)


def _network(example: Example) -> str:
    inputs = f"{len(example.x)} input{'s' if len(example.x) > 1 else ''}"
    if example.hidden == 0:
        return f"{inputs} → 1 sigmoid neuron"
    return f"{inputs} → {example.hidden} hidden sigmoid neurons → 1 output"


def _weights_text(weights: tuple[Array, ...]) -> str:
    if len(weights) == 1:
        return "w = [" + ", ".join(f"{w:.4g}" for w in weights[0]) + "]"
    hidden, output = weights
    return f"w_hidden {hidden.shape[0]}×{hidden.shape[1]}, w_output {output.shape[0]}"


def _named(example: Example, gradients: tuple[Array, ...]) -> dict[str, Array]:
    names = ("w",) if example.hidden == 0 else ("w_hidden", "w_output")
    return dict(zip(names, gradients, strict=True))


def _published_defect(example: Example, rate: float) -> str:
    if example.hidden == 0:
        return "the published code takes σ' at predicted, not at sop:"
    return (
        f"the published code updates the output weights first (learning rate {rate:g}),\n"
        "then runs the hidden layer's chain through the updated ones:"
    )


def _graph(example: Example, weights: tuple[Array, ...]) -> NeuronGraph | HiddenLayerGraph:
    if example.hidden == 0:
        return build_neuron(example.x, weights[0], example.target)
    return build_hidden_layer(example.x, weights[0], weights[1], example.target)


def _train(
    example: Example,
    weights: tuple[Array, ...],
    iterations: int,
    rate: float,
    method: GradientMethod,
    show: _Printer,
) -> Run:
    every = max(1, math.ceil(iterations / CHECKPOINTS))
    start = gradient_descent(example, weights, iterations=0, learning_rate=rate)
    show.line(_progress_line(0, float(start.predictions[0]), example.target))

    def on_step(step: int, prediction: float) -> None:
        if step % every == 0 or step == iterations:
            show.line(_progress_line(step, prediction, example.target))
        else:
            progress = f"iteration {step:,} of {iterations:,}: prediction {prediction:.6f}"
            show.progress.show(f"  {progress}")

    return gradient_descent(
        example, weights, iterations=iterations, learning_rate=rate, method=method, on_step=on_step
    )


def _progress_line(step: int, prediction: float, target: float) -> str:
    error = (prediction - target) ** 2
    return f"  iteration {step:>9,}  prediction {prediction:.6f}  error {error:.3e}"


def _outcome(example: Example, run: Run) -> str:
    final = float(run.predictions[-1])
    gap = abs(final - example.target)
    reached = int(run.reached_at(REACHED))
    verdict = (
        f"within {REACHED:g} since iteration {reached:,}"
        if reached >= 0
        else f"not yet within {REACHED:g}"
    )
    target = example.target
    return f"final prediction {final:.6f} for target {target}: |difference| {gap:.1e}, {verdict}"


def _summary(results: tuple[DemoResult, ...], show: _Printer) -> None:
    rows = [
        ("network", "hand vs automatic", "published vs automatic", "final prediction", "target")
    ]
    for result in results:
        rows.append(
            (
                result.example.name,
                f"{result.manual_vs_automatic.max_abs_diff:.1e} "
                + ("ok" if result.manual_vs_automatic.passed else "FAIL"),
                f"{result.published_vs_automatic.max_abs_diff:.1e} "
                + ("ok" if result.published_vs_automatic.passed else "FAIL"),
                f"{float(result.run.predictions[-1]):.6f}",
                f"{result.example.target}",
            )
        )
    show.line("summary: largest difference of each gradient from the automatic one")
    show.block(format_table(rows))


def _plot(run: Run, path: Path, rate: float, method: str) -> Path:
    """The tutorial's two figures side by side: prediction and error against iteration."""
    drawing = figure((8.0, 3.0), dpi=80)
    left, right = drawing.subplots(1, 2)
    steps = np.arange(len(run.predictions))
    left.plot(steps, run.predictions, color="tab:blue", label="prediction")
    left.axhline(run.example.target, color="tab:gray", linestyle="--", label="target")
    left.set(xlabel="iteration", ylabel="prediction", title="prediction vs iteration")
    left.legend(loc="best")
    right.plot(steps, run.errors, color="tab:red")
    right.set(xlabel="iteration", ylabel="error", title="error vs iteration", yscale="log")
    drawing.suptitle(f"{run.example.name}: learning rate {rate:g}, {method} gradient")
    drawing.savefig(path)
    return path


class _Printer:
    """Lines to the output, and a run's live progress line (drawn only on a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.progress = LiveLine(stream)

    def line(self, text: str = "") -> None:
        self.progress.clear()
        print(text, file=self.stream)

    def block(self, text: str) -> None:
        for row in text.splitlines():
            self.line(f"  {row}" if row else "")


