"""A Value's graph in a notebook: SVG through Graphviz when it is there, its repr always."""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

import pytest

from tinygrad_gd import Value
from tinygrad_gd.core import drawing
from tinygrad_gd.core.value import reverse_topological_order
from tinygrad_gd.tutorial import PART3, build_hidden_layer, initial_weights

try:
    drawing.find_dot()
    HAVE_GRAPHVIZ = True
except drawing.GraphvizNotFoundError:
    HAVE_GRAPHVIZ = False
needs_graphviz = pytest.mark.skipif(not HAVE_GRAPHVIZ, reason='needs "tinygrad_gd[graph]"')


def unlabelled_neuron() -> tuple[Value, Value]:
    w, x, t = Value(0.5, label="w"), Value(0.1, label="x"), Value(0.3, label="t")
    return (w * x).sigmoid() - t, w


def test_unlabelled_nodes_are_named_as_explain_names_them() -> None:
    y, _ = unlabelled_neuron()
    text = drawing.dot_text(reverse_topological_order(y)[::-1])
    names = re.findall(r'shape=record, label="\{([^|]*) \|', text)
    assert names == ["w", "x", "w * x", "sigmoid(w * x)", "t", "sigmoid(w * x) - t"]


def test_without_graphviz_a_value_shows_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    y, _ = unlabelled_neuron()
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}


def test_a_failing_graphviz_still_shows_the_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = tmp_path / "dot"
    program.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(3)\n")
    program.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda name, path=None: str(program))
    y, _ = unlabelled_neuron()
    assert y._repr_mimebundle_() == {"text/plain": repr(y)}
    with pytest.raises(drawing.GraphvizError, match="could not draw the graph: exit status 3"):
        drawing.svg_text("digraph { a }")


@needs_graphviz
def test_with_graphviz_a_value_shows_its_graph_as_svg() -> None:
    y, w = unlabelled_neuron()
    y.backward()
    bundle = y._repr_mimebundle_()
    assert bundle["text/plain"] == repr(y)
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    texts = {html.unescape(text) for text in re.findall(r">([^<]*)</text>", svg)}
    # Every node's name is drawn, the intermediates' as explain writes them.
    assert {"w", "x", "t", "w * x", "sigmoid(w * x)", "sigmoid(w * x) - t"} <= texts
    assert f"grad {w.grad:.6g}" in texts and "a - b" in texts


@needs_graphviz
def test_a_wide_network_is_drawn_top_to_bottom_within_the_display_size() -> None:
    weights = initial_weights(PART3, seed=0)
    error = build_hidden_layer(PART3.x, weights[0], weights[1], PART3.target).error
    svg = error._repr_mimebundle_()["image/svg+xml"]
    size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert size is not None
    width, height = float(size.group(1)), float(size.group(2))
    limit = 72 * drawing.DISPLAY_SIZE[0]  # points per inch
    assert width <= limit + 1 and height <= limit + 1
    assert height > width  # ranked top to bottom: the chain runs down the page


def test_the_size_option_reaches_graphviz_and_is_checked() -> None:
    x = Value(1.0, label="x")
    assert 'size="4,2.5";' in drawing.dot_text([x], size=(4, 2.5))
    with pytest.raises(ValueError, match="size must be a positive finite number"):
        drawing.dot_text([x], size=(0, 1))
    with pytest.raises(TypeError, match=r"size must be \(width, height\) in inches"):
        drawing.dot_text([x], size=4)  # type: ignore[arg-type]


def test_auto_ranks_a_deep_graph_top_to_bottom_and_a_shallow_one_left_to_right() -> None:
    x = Value(1.0, label="x")
    shallow, deep = x, x
    for _ in range(drawing.DEEP - 1):
        shallow = shallow.sin()  # DEEP values in a chain
    for _ in range(drawing.DEEP):
        deep = deep.sin()  # one more
    assert "rankdir=LR;" in drawing.dot_text(reverse_topological_order(shallow)[::-1])
    assert "rankdir=TB;" in drawing.dot_text(reverse_topological_order(deep)[::-1])
