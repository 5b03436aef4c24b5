"""Graph modes: what operations on Values do in the current thread or task.

A mode is kept in a context variable, so each thread and each asyncio task has
its own, and ``graph_mode`` changes it inside a ``with`` block. Reading a
context variable costs about as much as a float multiply does in the hot path, so
the engine reads it only while some non-default mode exists anywhere
(``live_modes`` is not empty); the rest of the time every context is in the
default mode, which needs no reading.

>>> from tinygrad_gd import Value
>>> with graph_mode(record=False):
...     (Value(2.0) * 3).parents, bool(live_modes)
((), True)
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, fields, replace

__all__ = ["EAGER", "GraphMode", "current_mode", "graph_mode", "live_modes"]

# One entry per GraphMode object alive anywhere, the default one excepted. A thread,
# task or copied context can be in a non-default mode only by holding such an object,
# so while this is empty every context is in the default mode, and the hot paths skip
# reading the context variable. Adding and removing a key are each one step under the
# GIL. An entry outlives its ``with`` block while anything still holds the mode (a
# copied context, a traceback): that only sends the hot paths to the exact, slower read.
live_modes: dict[int, None] = {}
"""The non-default graph modes alive anywhere, by id: empty, every context is eager."""


@dataclass(frozen=True)
class GraphMode:
    """What operations on Values do in the current thread or task.

    ``record``: build the graph (``no_grad`` turns it off). ``tracing``: a
    function is being traced, so its control flow must not read a value.
    ``detect_anomaly``: the first non-finite result, forward or backward,
    raises :class:`AnomalyError` naming the op and the line that made it.
    """

    record: bool = True
    tracing: bool = False
    detect_anomaly: bool = False

    def __post_init__(self) -> None:
        live_modes[id(self)] = None

    def __del__(self) -> None:
        try:
            live_modes.pop(id(self), None)  # a copy made without __init__ was never counted
        except (AttributeError, TypeError):  # the interpreter shutting down
            pass


EAGER = GraphMode()
"""The default mode: record, no tracing, no anomaly checks."""
live_modes.clear()  # the default mode does not count
_SWITCHES = {field.name for field in fields(GraphMode)}
# A context variable, so each thread and each asyncio task has its own mode.
_mode: ContextVar[GraphMode] = ContextVar("tinygrad_gd_graph_mode", default=EAGER)
current_mode = _mode.get
"""The mode of the current thread or task (the context variable's read)."""


class graph_mode:  # noqa: N801  (used like a function: ``with graph_mode(record=False):``)
    """Change the graph mode inside a ``with`` block, in this context only.

    >>> with graph_mode(record=False) as mode:
    ...     mode.record, current_mode().record
    (False, False)
    """

    __slots__ = ("changes", "token")

    def __init__(self, **changes: bool) -> None:
        unknown = sorted(set(changes) - _SWITCHES)
        if unknown:
            raise TypeError(
                f"graph_mode has no switch {', '.join(map(repr, unknown))}; "
                f"its switches are {', '.join(sorted(_SWITCHES))}"
            )
        self.changes = changes

    def __enter__(self) -> GraphMode:
        current = _mode.get()
        wanted = _changed(current, tuple(self.changes.items()))
        self.token = _mode.set(wanted) if wanted is not current else None
        return wanted

    def __exit__(self, *exc_info: object) -> None:
        if self.token is not None:
            _mode.reset(self.token)
            self.token = None  # the token holds the mode: let it go with the block


def _changed(mode: GraphMode, changes: tuple[tuple[str, bool], ...]) -> GraphMode:
    """``mode`` with ``changes``: the very same object when nothing changes.

    Not cached: a cached mode would stay alive, and so would the slow path.
    """
    if all(getattr(mode, name) == value for name, value in changes):
        return mode
    wanted = replace(mode, **dict(changes))
    return EAGER if wanted == EAGER else wanted
