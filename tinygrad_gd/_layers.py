"""The package's layers, bottom to top: each module imports only from its own layer or below.

This is the one statement of the order: ``tests/test_layers.py`` reads the
import graph from the source and holds it to this list, and
docs/architecture.md describes it.

Drawing a graph sits in core (``core/drawing.py``), not in tools, because a
Value shows its own graph in a notebook and core imports nothing above it;
the names it gives nodes come from ``core/symbolic.py``, which ``explain``
(tools) uses too, so both name a node alike.

>>> layer_of("tinygrad_gd.core.value"), layer_of("tinygrad_gd.cli.train")
('core', 'cli')
>>> LAYERS.index("tools") < LAYERS.index("learning")
True
"""

from __future__ import annotations

__all__ = ["LAYERS", "MEMBERS", "layer_of"]

LAYERS = ("support", "core", "tools", "learning", "tutorial", "public", "cli")
"""The layers from the bottom up."""

MEMBERS: dict[str, tuple[str, ...]] = {
    "support": ("tinygrad_gd._support", "tinygrad_gd._layers"),
    "core": ("tinygrad_gd.core",),
    "tools": ("tinygrad_gd.tools",),
    "learning": ("tinygrad_gd.learning",),
    "tutorial": ("tinygrad_gd.tutorial",),
    # The names users import: the package itself and its thin re-export modules.
    "public": ("tinygrad_gd", "tinygrad_gd.nn", "tinygrad_gd.optim", "tinygrad_gd.data"),
    "cli": ("tinygrad_gd.cli", "tinygrad_gd.__main__"),
}
"""Each layer's modules: a name stands for itself and every module below it."""


def layer_of(module: str) -> str:
    """The layer of a module of the package, by its longest matching prefix in :data:`MEMBERS`.

    >>> layer_of("tinygrad_gd.tools.compiler.write")
    'tools'
    """
    best, found = -1, None
    for layer, prefixes in MEMBERS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), layer
    if found is None:
        raise ValueError(f"{module} is not a module of tinygrad_gd")
    return found
