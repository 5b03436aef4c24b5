"""``tinygrad-gd demo``: the tutorial told in a screenful, and each part in detail.

By default the demo tells Part 1 as a story: the forward pass, the gradient
by hand as the tutorial's g-factors g1 · g2 · g3, the same gradient derived
automatically, the chain rule written out by ``explain``, the published
code's slip, and gradient descent until the prediction is within
:data:`REACHED` of the target (or an iteration cap). It ends with one line
per part and the command that shows it, and what to try next.

With ``parts``, each network of those parts in detail: the gradient by hand
beside the automatic one, the published code's variant beside the correct
gradient, the chain rule (Part 1, one hidden weight of Part 3), training, and
a summary. Optionally the figures (``plot_dir``) and the graphs
(``graph_dir``).

>>> import io
>>> run_demo(iterations=0, out=io.StringIO()).passed
True
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tinygrad_gd._support.checks import choice, count, number
from tinygrad_gd._support.files import existing_folder
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
from tinygrad_gd.tutorial.examples import PART1, PART1_FAST, PART3, PARTS, Example
from tinygrad_gd.tutorial.graphs import (
    HiddenLayerGraph,
    NeuronGraph,
    build_hidden_layer,
    build_neuron,
)
from tinygrad_gd.tutorial.steps import (
    Array,
    activation_sop_deriv,
    error_predicted_deriv,
    sigmoid,
    sop_w_deriv,
)

__all__ = [
    "DEFAULT_ITERATIONS", "GRAPH_FORMATS", "REACHED", "DemoResult", "DemoResults",
    "run_demo",
]  # fmt: skip

DEFAULT_ITERATIONS = 100_000
"""The iteration cap of each run: training stops earlier once the target is reached."""

REACHED = 1e-3
"""A run has reached its target when |prediction − target| < REACHED."""

GRAPH_FORMATS = ("dot", *RENDER_FORMATS)
"""How ``--graph`` writes a graph: DOT text, or an image drawn by Graphviz."""

COMMAND = "tinygrad-gd demo"

NEXT_STEPS = (
    ("the gradient and chain rule of a formula you type",
     'tinygrad-gd grad "(sigmoid(w*x) - t)**2" --at w=0.5,x=0.1,t=0.3 --explain'),
    ("the straight-line Python that compile writes for Part 1",
     "tinygrad-gd codegen --part 1"),
    ("a small network trained on a data set", "tinygrad-gd train --dataset xor --hidden 4"),
)  # fmt: skip
"""What the demo suggests trying next: what it shows, and the command line."""


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

    @property
    def reached(self) -> bool:
        """Whether training brought the prediction within :data:`REACHED` of the target.

        >>> import io
        >>> run_demo(iterations=20_000, out=io.StringIO()).results[0].reached
        True
        """
        return bool(abs(float(self.run.predictions[-1]) - self.example.target) < REACHED)


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
    parts: Iterable[int] | None = None,
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
    """Tell Part 1 as a story, or show the chosen ``parts`` in detail, printing to ``out``.

    ``out`` defaults to standard output. Each network trains until its
    prediction is within :data:`REACHED` of the target, or for ``iterations``
    steps at most. ``learning_rate`` replaces every example's published rate;
    ``method`` picks the gradient that trains (one of ``GRADIENT_METHODS``).
    Figures go to ``plot_dir`` (needs matplotlib), graphs to ``graph_dir`` in
    one of :data:`GRAPH_FORMATS` (images need Graphviz); both folders must
    exist. Every argument, and what the outputs need, is checked before
    anything is printed or made.

    >>> import io
    >>> results = run_demo(parts=[3], iterations=10, out=io.StringIO())
    >>> [result.example.name for result in results.results], results.passed
    (['part 3'], True)
    >>> run_demo(parts=[1, 7])
    Traceback (most recent call last):
    ValueError: part must be one of [1, 2, 3, 4], got 7
    """
    chosen = None if parts is None else _parts(parts)
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
    show = _Printer(sys.stdout if out is None else out)
    if chosen is None:
        results: tuple[DemoResult, ...] = (_story(options, show),)
        _index(show)
    else:
        seen: dict[tuple[object, ...], str] = {}
        examples = [example for part in chosen for example in PARTS[part]]
        results = tuple(_demo_example(example, options, seen, show) for example in examples)
        _summary(results, show)
    _next_steps(show)
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
    return None if path is None else existing_folder(path, name)


# -- the story of Part 1 -------------------------------------------------------------


def _story(options: _Options, show: _Printer) -> DemoResult:
    """Part 1 from the forward pass to a trained neuron, in numbers a reader can check."""
    example = PART1_FAST  # Part 1's network; its second, faster run reaches the target
    rate = example.learning_rate if options.learning_rate is None else options.learning_rate
    (weights,) = initial_weights(example, options.seed)
    x, w, target = example.x[0], float(weights[0]), example.target
    sop = w * x
    predicted = sigmoid(sop)
    show.line("Part 1 of the series: one sigmoid neuron, one input, no bias, squared error.")
    show.line(f"x = {x:g}, target = {target:g}, starting weight w = {w:.4f} (seed {options.seed})")
    show.line()
    show.line("1. Forward: the prediction and its error")
    show.block(format_table([
        ("sop", "= w · x", f"= {_number(sop)}"),
        ("predicted", "= σ(sop)", f"= {_number(predicted)}"),
        ("error", "= (predicted − target)²", f"= {_number((predicted - target) ** 2)}"),
    ]))  # fmt: skip
    show.line()
    g1, g2, g3 = error_predicted_deriv(predicted, target), activation_sop_deriv(sop), sop_w_deriv(x)
    show.line("2. By hand: dE/dw = g1 · g2 · g3, one local derivative per step")
    show.block(format_table([
        ("g1", "= d error / d predicted", "= 2 (predicted − target)", f"= {_number(g1)}"),
        ("g2", "= d predicted / d sop", "= σ(sop) (1 − σ(sop))", f"= {_number(g2)}"),
        ("g3", "= d sop / d w", "= x", f"= {_number(g3)}"),
    ]))  # fmt: skip
    show.line(f"  dE/dw = g1 · g2 · g3 = {_number(g1 * g2 * g3)}")
    show.line()
    start = (weights,)
    by_hand = compare(*(_named(example, example_gradients(example, start, m)) for m in
                        ("manual", "automatic")))  # fmt: skip
    graph = build_neuron(example.x, weights, target)
    graph.error.backward()
    show.line("3. Automatically: error.backward() walks the graph back from error to w")
    show.line(f"  w.grad = {_number(graph.weights[0].grad)}, the same as by hand "
              f"(difference {by_hand.max_abs_diff:.1e})")  # fmt: skip
    show.line()
    show.line("4. explain(error, w) writes out the chain rule it applied:")
    show.block(str(explain(graph.error, graph.weights[0])))
    show.line()
    published = compare(
        _named(example, example_gradients(example, start, "published", rate)),
        _named(example, example_gradients(example, start, "automatic")),
        labels=("published", "automatic"),
    )
    (row,) = published.rows
    show.line("5. The published code's slip: it takes g2 at predicted instead of at sop")
    show.line(f"  σ(predicted) (1 − σ(predicted)) = {_number(activation_sop_deriv(predicted))}, "
              f"so its dE/dw = {_number(row.first)}")  # fmt: skip
    show.line(f"  differs from the true gradient by {row.rel_diff:.1%}: "
              "it descends, but not along the gradient")  # fmt: skip
    show.line()
    show.line(f"6. Gradient descent: w ← w − {rate:g} · dE/dw, until |predicted − target| < "
              f"{REACHED:g}")  # fmt: skip
    show.line(f"  or at most {options.iterations:,} iterations")
    if options.learning_rate is None:
        show.line(f"  (the series' second run; its first, at {PART1.learning_rate:g}, is far "
                  f"slower: {COMMAND} --part 1)")  # fmt: skip
    run = _train(example, start, options, rate, show)
    show.line(_outcome(example, run))
    show.line()
    _outputs(example, start, run, rate, options, show)
    return DemoResult(example, by_hand, published, run)


def _index(show: _Printer) -> None:
    show.line("The series, one part at a time (hand vs automatic, the published code, training):")
    rows = [(f"part {part}", _part_summary(examples), f"{COMMAND} --part {part}")
            for part, examples in PARTS.items()]  # fmt: skip
    rows.append(("all parts", "one after the other, with a summary", f"{COMMAND} --all"))
    show.block(format_table(rows))
    show.line()


def _part_summary(examples: tuple[Example, ...]) -> str:
    """The networks of one part in a phrase: ``2 or 10 inputs → 1 sigmoid neuron``."""

    def alternatives(values: Iterable[float]) -> str:
        return " or ".join(f"{value:g}" for value in dict.fromkeys(values))

    inputs = alternatives(len(example.x) for example in examples)
    text = f"{inputs} input{'' if inputs == '1' else 's'} → "
    if examples[0].hidden:
        hidden = alternatives(example.hidden for example in examples)
        text += f"{hidden} hidden sigmoid neurons → 1 output"
    else:
        text += "1 sigmoid neuron"
    if " or " in text:  # the networks differ: their rates are no news
        return text
    rates = alternatives(example.learning_rate for example in examples)
    return text if " or " not in rates else f"{text}, learning rate {rates}"


def _next_steps(show: _Printer) -> None:
    show.line("Try next:")
    for what, command in NEXT_STEPS:
        show.line(f"  {what}:")
        show.line(f"    {command}")


# -- each part in detail -------------------------------------------------------------


def _demo_example(
    example: Example, options: _Options, seen: dict[tuple[object, ...], str], show: _Printer
) -> DemoResult:
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
    variant = compare(published, automatic, labels=("published", "automatic"))
    # A single neuron's gradients do not depend on the rate: a second run at another
    # rate would print the same tables again.
    same_start = (example.x, example.target, example.hidden) if example.hidden == 0 else None
    if same_start in seen:
        show.line(f"gradients at the start: as for {seen[same_start]} (the rate changes the steps)")
    else:
        if same_start is not None:
            seen[same_start] = example.name
        show.line()
        show.line("dE/dw by hand (the tutorial's g-factors) and by reverse mode:")
        show.block(by_hand.format(max_rows=12))
        show.line()
        show.line(_published_defect(example, rate))
        show.block(variant.format(max_rows=12))

    if example in (PART1, PART3):
        graph = _graph(example, weights)
        show.line()
        show.line(f"the chain rule of dE/d{graph.weights[0].label}, written out by explain:")
        show.block(str(explain(graph.error, graph.weights[0])))

    show.line()
    show.line(
        f"gradient descent with the {options.method} gradient until within {REACHED:g}, "
        f"at most {options.iterations:,} iterations:"
    )
    run = _train(example, weights, options, rate, show)
    show.line(_outcome(example, run))
    _outputs(example, weights, run, rate, options, show)
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


def _summary(results: tuple[DemoResult, ...], show: _Printer) -> None:
    rows = [("network", "hand vs automatic", "published vs automatic", "final prediction",
             "target", f"within {REACHED:g}")]  # fmt: skip
    for result in results:
        hand, published = result.manual_vs_automatic, result.published_vs_automatic
        steps = len(result.run.predictions) - 1
        rows.append((
            result.example.name,
            f"{hand.max_abs_diff:.1e} {'agrees' if hand.passed else 'differs'}",
            f"{published.max_abs_diff:.1e} {'agrees' if published.passed else 'differs'}",
            f"{float(result.run.predictions[-1]):.6f}",
            f"{result.example.target}",
            f"after {steps:,}" if result.reached else f"not after {steps:,} (the cap)",
        ))  # fmt: skip
    show.line("summary: largest difference of each gradient from the automatic one")
    show.block(format_table(rows))
    show.line()


# -- training, shared by the story and the parts -------------------------------------


def _train(
    example: Example,
    weights: tuple[Array, ...],
    options: _Options,
    rate: float,
    show: _Printer,
) -> Run:
    """Train until within REACHED or the cap, printing iterations 0, 1, 10, 100 ... and the last."""
    cap, target = options.iterations, example.target
    start = gradient_descent(example, weights, iterations=0)
    show.line(_progress_line(0, float(start.predictions[0]), target))

    def on_step(step: int, prediction: float) -> None:
        if str(step).rstrip("0") == "1":  # a power of ten
            show.line(_progress_line(step, prediction, target))
        else:
            progress = f"iteration {step:,} of at most {cap:,}: prediction {prediction:.6f}"
            show.progress.show(f"  {progress}")

    run = gradient_descent(
        example, weights, iterations=cap, learning_rate=rate, method=options.method,
        on_step=on_step, stop_within=REACHED,
    )  # fmt: skip
    last = len(run.predictions) - 1
    if last > 0 and str(last).rstrip("0") != "1":
        show.line(_progress_line(last, float(run.predictions[-1]), target))
    return run


def _progress_line(step: int, prediction: float, target: float) -> str:
    error = (prediction - target) ** 2
    return f"  iteration {step:>9,}  prediction {prediction:.6f}  error {error:.3e}"


def _outcome(example: Example, run: Run) -> str:
    final, target = float(run.predictions[-1]), example.target
    steps = len(run.predictions) - 1
    if abs(final - target) < REACHED:
        return (
            f"reached: within {REACHED:g} of the target after {steps:,} iterations "
            f"(prediction {final:.6f}, target {target:g})"
        )
    return (
        f"stopped at the cap of {steps:,} iterations, not yet within {REACHED:g} "
        f"(prediction {final:.6f}, target {target:g})"
    )


def _outputs(
    example: Example,
    weights: tuple[Array, ...],
    run: Run,
    rate: float,
    options: _Options,
    show: _Printer,
) -> None:
    """The figure and the graph of one network, where the options ask for them."""
    if options.plot_dir is not None:
        path = _plot(run, options.plot_dir / f"{example.slug}.png", rate, options.method)
        show.line(f"figure: {path}")
    if options.graph_dir is not None:
        graph = _graph(example, weights)
        graph.error.backward()
        file = options.graph_dir / f"{example.slug}.{options.graph_format}"
        show.line(f"graph: {write_graph(graph.error, file)}")


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


def _number(value: float) -> str:
    return f"{value:.10g}"


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
