"""Drawing the computation graph to files: Graphviz DOT text, or SVG/PNG/PDF by Graphviz.

``to_dot(y)`` needs nothing but the graph: each value node shows its name
(its label, or its formula as ``explain`` writes it), data and grad; each op
node shows its formula in ``a`` and ``b``, with the edges from its operands
marked ``a`` and ``b`` when it has two (so that ``a - b`` reads the right way
round). Rendering needs Graphviz (its ``dot``, or ``graphviz-pure`` from the
``graph`` extra); without it, :class:`GraphvizNotFoundError` says how to get
it. Both are :class:`GraphvizError`, as is Graphviz failing to draw. The DOT
writer itself lives in :mod:`tinygrad_gd.core.drawing`, so that a Value can
show its graph in a notebook.

>>> from tinygrad_gd import Value
>>> w = Value(0.5, label="w")
>>> dot = to_dot((w * 2).sigmoid())  # core.drawing's docstring shows the whole text
>>> dot.splitlines()[0], 'label="{sigmoid(w * 2) | data 0.731059 | grad 0}"' in dot
('digraph tinygrad_gd {', True)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tinygrad_gd._support.files import atomic_write_text, replacing
from tinygrad_gd.core.drawing import (
    RANKDIRS,
    GraphvizError,
    GraphvizNotFoundError,
    dot_text,
    find_dot,
)
from tinygrad_gd.core.value import Value, reverse_topological_order

__all__ = [
    "RANKDIRS",
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


def to_dot(y: Value, *, rankdir: str = "auto", size: tuple[float, float] | None = None) -> str:
    """The graph that ``y`` was computed from, as Graphviz DOT text.

    Nodes are numbered operands first, in an order fixed by the graph's
    shape, so the same computation always gives the same text. ``rankdir``
    lays the graph out left to right (``LR``), top to bottom (``TB``), or, by
    default (``auto``), left to right unless its longest chain is so long
    that the picture would be too wide to read. ``size`` (width, height in
    inches) is the largest picture Graphviz draws; a larger graph is scaled
    down to fit.

    >>> x = Value(3.0, label="x")
    >>> "a - b" in to_dot(x - 1) and '[label="b"]' in to_dot(x - 1)
    True
    >>> "rankdir=TB" in to_dot(x.sin().sin().sin().sin().sin().sin().sin().sin().sin())
    True
    """
    if not isinstance(y, Value):
        raise TypeError(f"to_dot: y must be a Value, got {type(y).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"to_dot: rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    return dot_text(reverse_topological_order(y)[::-1], rankdir=rankdir, size=size)


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


def write_graph(
    y: Value, path: str | os.PathLike[str], *, size: tuple[float, float] | None = None
) -> Path:
    """Write y's graph to ``path``: DOT text for ``.dot``/``.gv``, else an image by suffix.

    ``size`` is the largest picture in inches, as for :func:`to_dot`.

    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = write_graph(Value(1.0, label="one"), pathlib.Path(folder, "g.dot"))
    ...     written.read_text().startswith("digraph")
    True
    """
    target = Path(path)
    text = to_dot(y, size=size)
    if target.suffix.lower() in (".dot", ".gv"):
        atomic_write_text(target, text)
        return target
    return render(text, target)
