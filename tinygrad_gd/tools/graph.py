"""Drawing the computation graph: Graphviz DOT text, rendered to SVG/PNG/PDF by ``dot``.

``to_dot(y)`` needs nothing but the graph: each value node shows its label,
data and grad; each op node shows its formula in ``a`` and ``b``, with the
edges from its operands marked ``a`` and ``b`` when it has two (so that
``a - b`` reads the right way round). Rendering needs the Graphviz program
``dot``; without it, :class:`GraphvizNotFoundError` says how to get it.
Both are :class:`GraphvizError`, as is Graphviz failing to draw.

>>> from tinygrad_gd import Value
>>> w = Value(0.5, label="w")
>>> print(to_dot((w * 2).sigmoid()), end="")
digraph tinygrad_gd {
  rankdir=LR;
  node [fontname="Helvetica", fontsize=11];
  edge [fontname="Helvetica", fontsize=9];
  v0 [shape=record, label="{w | data 0.5 | grad 0}"];
  v1 [shape=record, label="{ | data 2 | grad 0}"];
  v2 [shape=record, label="{ | data 1 | grad 0}"];
  v2_op [shape=ellipse, label="a * b"];
  v0 -> v2_op [label="a"];
  v1 -> v2_op [label="b"];
  v2_op -> v2;
  v3 [shape=record, label="{ | data 0.731059 | grad 0}"];
  v3_op [shape=ellipse, label="sigmoid(a)"];
  v2 -> v3_op;
  v3_op -> v3;
}
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tinygrad_gd._support.files import atomic_write_text, replacing
from tinygrad_gd.core.value import Value, reverse_topological_order

__all__ = [
    "RENDER_FORMATS",
    "GraphvizError",
    "GraphvizNotFoundError",
    "find_dot",
    "render",
    "to_dot",
    "write_graph",
]

RENDER_FORMATS = ("svg", "png", "pdf")
"""The file types ``render`` asks Graphviz for."""

GRAPHVIZ_HINT = (
    "install Graphviz (https://graphviz.org/download/: e.g. `apt install graphviz`, "
    "`brew install graphviz` or `conda install graphviz`) or write the graph as .dot "
    "text and render it elsewhere"
)


class GraphvizError(RuntimeError):
    """Graphviz could not draw a graph: its program is missing or failed.

    >>> issubclass(GraphvizNotFoundError, GraphvizError)
    True
    """


class GraphvizNotFoundError(GraphvizError):
    """The Graphviz program ``dot`` is not on the PATH.

    >>> try:
    ...     program = find_dot()
    ... except GraphvizNotFoundError as error:  # the message says how to install it
    ...     print("install Graphviz" in str(error))
    ... else:
    ...     print(program.endswith("dot"))
    True
    """


def to_dot(y: Value, *, rankdir: str = "LR") -> str:
    """The graph that ``y`` was computed from, as Graphviz DOT text.

    Nodes are numbered operands first, in an order fixed by the graph's
    shape, so the same computation always gives the same text. ``rankdir``
    lays the graph out left to right (``LR``, the default) or top to bottom
    (``TB``).

    >>> x = Value(3.0, label="x")
    >>> "a - b" in to_dot(x - 1) and '[label="b"]' in to_dot(x - 1)
    True
    """
    if not isinstance(y, Value):
        raise TypeError(f"to_dot: y must be a Value, got {type(y).__name__}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"to_dot: rankdir must be one of LR, TB, RL, BT, got {rankdir!r}")
    order = reverse_topological_order(y)[::-1]  # operands first
    ids = {node: f"v{i}" for i, node in enumerate(order)}
    lines = [
        "digraph tinygrad_gd {",
        f"  rankdir={rankdir};",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in order:
        fields = (node.label, f"data {_number(node.data)}", f"grad {_number(node.grad)}")
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
    """The path of the Graphviz program ``dot``, or :class:`GraphvizNotFoundError`.

    >>> import shutil
    >>> (shutil.which("dot") is None) or find_dot() == shutil.which("dot")
    True
    """
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFoundError(
            f"the Graphviz program `dot` is not on the PATH: {GRAPHVIZ_HINT}"
        )
    return program


def render(dot: str, path: str | os.PathLike[str], format: str | None = None) -> Path:
    """Render DOT text to an image file with Graphviz; return the file's path.

    ``format`` is one of :data:`RENDER_FORMATS`, by default the path's suffix.
    The file appears whole or not at all: Graphviz writes a temporary file,
    which is then renamed.

    >>> render("digraph {}", "graph.jpeg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: render: cannot tell the format of graph.jpeg: use a path ending in .svg, ...
    """
    target = Path(path)
    chosen = (format or target.suffix.lstrip(".")).lower()
    if chosen not in RENDER_FORMATS:
        wanted = ", ".join(f".{f}" for f in RENDER_FORMATS[:-1]) + f" or .{RENDER_FORMATS[-1]}"
        what = f"format {format!r}" if format else f"the format of {target}"
        raise ValueError(f"render: cannot tell {what}: use a path ending in {wanted}")
    if not isinstance(dot, str):
        raise TypeError(f"render: dot must be DOT text (a str), got {type(dot).__name__}")
    program = find_dot()
    with replacing(target) as temporary:
        completed = subprocess.run(
            [program, f"-T{chosen}", f"-o{temporary}"],
            input=dot,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            message = completed.stderr.strip().splitlines() or [
                f"exit status {completed.returncode}"
            ]
            raise GraphvizError(f"render: Graphviz could not draw {target}: {message[0]}")
    return target


def write_graph(y: Value, path: str | os.PathLike[str]) -> Path:
    """Write y's graph to ``path``: DOT text for ``.dot``/``.gv``, else an image by suffix.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_graph(Value(1.0, label="one"), pathlib.Path(folder, "g.dot"))
    ...     written.read_text().startswith("digraph")
    True
    """
    target = Path(path)
    text = to_dot(y)
    if target.suffix.lower() in (".dot", ".gv"):
        atomic_write_text(target, text)
        return target
    return render(text, target)


def _number(x: Any) -> str:
    value = x.data if isinstance(x, Value) else x  # a grad is a Value inside create_graph
    return f"{value:.6g}"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _escape_record(text: str) -> str:
    # In a record label, braces, bars and angle brackets are structure, not text.
    escaped = _escape(text)
    for special in "{}|<>":
        escaped = escaped.replace(special, "\\" + special)
    return escaped
