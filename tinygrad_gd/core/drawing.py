"""Drawing a computation graph: Graphviz DOT text, and SVG through Graphviz when installed.

This sits in core, beside ``Value``, because a Value shows its own graph when
a notebook displays it (``Value._repr_mimebundle_``), and core imports no
layer above it. The tools layer (:mod:`tinygrad_gd.tools.graph`) builds on it
to write files. Nodes are named as ``explain`` names them
(:class:`~tinygrad_gd.core.symbolic.NodeNames`): the label, the number of a
constant, or the formula in terms of named nodes.

The picture needs the Graphviz program ``dot``, or ``graphviz-pure`` (the
``graph`` extra: ``pip install "tinygrad_gd[graph]"``); without either,
:class:`GraphvizNotFoundError` says how to get one, and a notebook shows the
graph as text.

>>> from tinygrad_gd.core.value import Value, reverse_topological_order
>>> w = Value(0.5, label="w")
>>> y = (w * 2).sigmoid()
>>> print(dot_text(reverse_topological_order(y)[::-1]), end="")
digraph tinygrad_gd {
  rankdir=LR;
  node [fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9];
  v0 [shape=record, label="{w | data 0.5 | grad 0}"];
  v1 [shape=record, label="{2 | data 2 | grad 0}"];
  v2 [shape=record, label="{w * 2 | data 1 | grad 0}"];
  v2_op [shape=ellipse, label="a * b"];
  v0 -> v2_op [label="a"];
  v1 -> v2_op [label="b"];
  v2_op -> v2;
  v3 [shape=record, label="{sigmoid(w * 2) | data 0.731059 | grad 0}"];
  v3_op [shape=ellipse, label="sigmoid(a)"];
  v2 -> v3_op;
  v3_op -> v3;
}
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinygrad_gd._support.checks import number
from tinygrad_gd.core.symbolic import Node, NodeNames

__all__ = [
    "DISPLAY_SIZE", "GRAPHVIZ_HINT", "MAX_LABEL_LENGTH", "RANKDIRS", "GraphvizError",
    "GraphvizNotFoundError", "display_bundle", "dot_text", "find_dot", "svg_text",
]  # fmt: skip

RANKDIRS = ("auto", "LR", "TB", "RL", "BT")
"""Which way a graph is laid out; ``auto`` is left to right unless the graph is deep."""

DEEP = 8
"""``auto`` lays out top to bottom a graph whose longest chain has more values than this:
left to right, such a graph grows too wide to read when scaled to a page or a cell."""

MAX_LABEL_LENGTH = 200
"""The most characters a node shows of a name or formula; more is cut to end in "…", so a
huge label cannot make a huge picture. Control characters (a NUL, a tab) are shown as
escapes such as ``\\x00``, never written raw."""

DISPLAY_SIZE = (9.0, 9.0)
"""The largest picture (inches) that a notebook shows of a Value's graph; Graphviz
scales a larger one down to fit."""

GRAPHVIZ_HINT = (
    'pip install "tinygrad_gd[graph]", or install Graphviz (https://graphviz.org/download/: '
    "e.g. `apt install graphviz`, `brew install graphviz` or `conda install graphviz`), or "
    "write the graph as .dot text and render it elsewhere"
)


class GraphvizError(RuntimeError):
    """Graphviz could not draw a graph: its program is missing or failed.

    >>> issubclass(GraphvizNotFoundError, GraphvizError)
    True
    """


class GraphvizNotFoundError(GraphvizError):
    """Neither the Graphviz program ``dot`` nor ``graphviz-pure`` is installed.

    >>> try:
    ...     program = find_dot()
    ... except GraphvizNotFoundError as error:  # the message says how to install one
    ...     print("tinygrad_gd[graph]" in str(error))
    ... else:
    ...     print(Path(program).name.startswith(("dot", "graphviz-pure")))
    True
    """


def dot_text(
    order: Sequence[Node],
    *,
    rankdir: str = "auto",
    size: tuple[float, float] | None = None,
) -> str:
    """A graph given operands first (topological order) as Graphviz DOT text.

    Each value node shows its name, data and grad; each op node its formula
    in ``a`` and ``b``, with the edges from its operands marked ``a`` and
    ``b`` when it has two (so that ``a - b`` reads the right way round).
    ``size`` (width, height in inches) is the largest picture Graphviz draws;
    a larger graph is scaled down to fit.

    >>> from tinygrad_gd.core.value import Value
    >>> x = Value(3.0, label="x")
    >>> 'size="4,3"' in dot_text([x], size=(4, 3))
    True
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise TypeError(f"size must be (width, height) in inches, got {size!r}")
        size = (number(size[0], "size", positive=True), number(size[1], "size", positive=True))
    ids = {node: f"v{i}" for i, node in enumerate(order)}
    names = NodeNames(order)
    lines = [
        "digraph tinygrad_gd {",
        f"  rankdir={_direction(order) if rankdir == 'auto' else rankdir};",
        *([f'  size="{size[0]:g},{size[1]:g}";'] if size is not None else []),
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in order:
        grad = getattr(node, "grad", 0.0)
        fields = (names.text(node), f"data {_number(node.data)}", f"grad {_number(grad)}")
        record = " | ".join(_escape_record(field) for field in fields)
        lines.append(f'  {ids[node]} [shape=record, label="{{{record}}}"];')
        op = node.op
        if op is None:
            continue
        operands = ("a", "b")[: len(node.parents)]
        lines.append(f'  {ids[node]}_op [shape=ellipse, label="{_escape(op.format(*operands))}"];')
        for parent, name in zip(node.parents, operands, strict=True):
            edge_label = f' [label="{name}"]' if len(operands) > 1 else ""
            lines.append(f"  {ids[parent]} -> {ids[node]}_op{edge_label};")
        lines.append(f"  {ids[node]}_op -> {ids[node]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def find_dot() -> str:
    """The path of Graphviz's ``dot``, else of ``graphviz-pure``; or :class:`GraphvizNotFoundError`.

    ``graphviz-pure`` is looked for on the PATH and beside the running Python,
    where ``pip install "tinygrad_gd[graph]"`` puts it in a virtual environment.

    >>> import shutil
    >>> (shutil.which("dot") is None) or find_dot() == shutil.which("dot")
    True
    """
    beside_python = str(Path(sys.executable).parent)
    program = (
        shutil.which("dot")
        or shutil.which("graphviz-pure")
        or shutil.which("graphviz-pure", path=beside_python)
    )
    if program is None:
        raise GraphvizNotFoundError(f"the Graphviz program `dot` is not installed: {GRAPHVIZ_HINT}")
    return program


def svg_text(dot: str) -> str:
    """DOT text drawn as SVG by Graphviz, in memory; :class:`GraphvizError` if it cannot.

    >>> try:
    ...     picture = svg_text("digraph { a -> b }")
    ... except GraphvizNotFoundError:  # no Graphviz here: nothing to draw with
    ...     picture = "<svg"
    >>> "<svg" in picture
    True
    """
    if not isinstance(dot, str):
        raise TypeError(f"dot must be DOT text (a str), got {type(dot).__name__}")
    completed = subprocess.run(
        [find_dot(), "-Tsvg"], input=dot, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 or "<svg" not in completed.stdout:
        message = completed.stderr.strip().splitlines() or [f"exit status {completed.returncode}"]
        raise GraphvizError(f"Graphviz could not draw the graph: {message[0]}")
    return completed.stdout[completed.stdout.index("<svg") :]  # no XML prolog inside HTML


def display_bundle(order: Sequence[Node], text: str) -> dict[str, str]:
    """What a notebook shows of a graph: SVG when Graphviz can draw it, ``text`` always.

    >>> from tinygrad_gd.core.value import Value
    >>> bundle = display_bundle([Value(1.0, label="one")], "Value(data=1.0)")
    >>> bundle["text/plain"], set(bundle) <= {"text/plain", "image/svg+xml"}
    ('Value(data=1.0)', True)
    """
    bundle = {"text/plain": text}
    try:
        bundle["image/svg+xml"] = svg_text(dot_text(order, size=DISPLAY_SIZE))
    except (GraphvizError, OSError):  # no Graphviz, or it failed: the text still shows
        pass
    return bundle


def _direction(order: Sequence[Node]) -> str:
    """LR, or TB for a graph whose longest chain of values is longer than DEEP."""
    depth: dict[Node, int] = {}
    for node in order:  # operands first
        depth[node] = 1 + max((depth[parent] for parent in node.parents), default=0)
    return "TB" if max(depth.values(), default=0) > DEEP else "LR"


def _number(x: Any) -> str:
    value = getattr(x, "data", x)  # a grad is a Value inside create_graph
    return f"{value:.6g}"


def _escape(text: str) -> str:
    if len(text) > MAX_LABEL_LENGTH:
        text = text[: MAX_LABEL_LENGTH - 1] + "…"
    text = text.replace("\n", " ")
    # Other control characters (a NUL ends a C string inside Graphviz) are shown as escapes.
    if not text.isprintable():
        text = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _escape_record(text: str) -> str:
    # In a record label, braces, bars and angle brackets are structure, not text.
    escaped = _escape(text)
    for special in "{}|<>":
        escaped = escaped.replace(special, "\\" + special)
    return escaped
