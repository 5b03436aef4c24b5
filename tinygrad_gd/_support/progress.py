"""A live progress line: one line on a terminal, redrawn in place as work goes on.

Redrawing costs time and flickers, so the line is redrawn at most every
``interval`` seconds (a tenth by default); the text given last is never
lost, because :meth:`LiveLine.close` draws it. Output that is not a
terminal (a file, a pipe, a test's capture) gets no line at all unless asked
for, and no stream at all (a windowed program has no standard error) gets
none even then.

>>> import io
>>> out = io.StringIO()
>>> with LiveLine(out, enabled=True, interval=60.0) as line:
...     line.show("step 1 of 3")
...     line.show("step 2 of 3")  # within the interval: not drawn yet
...     line.show("step 3")
>>> out.getvalue()  # the last text is drawn on close, covering the longer line
'\\rstep 1 of 3\\rstep 3     \\n'
"""

from __future__ import annotations

import math
import time
from types import TracebackType
from typing import TextIO

from tinygrad_gd._support.checks import flag, number

__all__ = ["LiveLine", "bar"]


class LiveLine:
    """One line on ``stream`` that each :meth:`show` redraws in place (``\\r``).

    ``enabled``: draw at all; default: only when ``stream`` is a terminal.
    ``interval``: the least time in seconds between two redraws.

    >>> import io
    >>> LiveLine(io.StringIO()).enabled  # not a terminal
    False
    """

    def __init__(
        self, stream: TextIO | None, *, enabled: bool | None = None, interval: float = 0.1
    ) -> None:
        isatty = getattr(stream, "isatty", None)
        terminal = bool(isatty and isatty())
        self.stream = stream
        self.interval = number(interval, "interval", non_negative=True)
        asked = terminal if enabled is None else flag(enabled, "enabled")
        self.enabled = stream is not None and asked
        self._drawn_length = 0  # of the text on screen; 0: nothing shown
        self._last_draw = -math.inf
        self._pending: str | None = None  # given but not drawn yet

    def show(self, text: str) -> None:
        """Show ``text`` on the line (now, or by the next redraw or :meth:`close`).

        >>> import io
        >>> out = io.StringIO()
        >>> LiveLine(out, enabled=True).show("epoch 1")
        >>> out.getvalue()
        '\\repoch 1'
        """
        if not self.enabled:
            return
        self._pending = text
        if time.monotonic() - self._last_draw >= self.interval:
            self._draw()

    def clear(self) -> None:
        """Erase the line, so that ordinary output starts at the left margin.

        >>> import io
        >>> out = io.StringIO()
        >>> line = LiveLine(out, enabled=True)
        >>> line.show("busy")
        >>> line.clear()
        >>> out.getvalue()
        '\\rbusy\\r    \\r'
        """
        self._pending = None
        if self._drawn_length:
            self._write("\r" + " " * self._drawn_length + "\r")
            self._drawn_length = 0

    def close(self) -> None:
        """Draw the last text given, and end the line: it stays on screen.

        >>> import io
        >>> out = io.StringIO()
        >>> line = LiveLine(out, enabled=True)
        >>> line.close()  # nothing was shown: nothing to end
        >>> out.getvalue()
        ''
        """
        if self._pending is not None:
            self._draw()
        if self._drawn_length:
            self._write("\n")
            self._drawn_length = 0

    def __enter__(self) -> LiveLine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _draw(self) -> None:
        text = self._pending or ""
        self._write("\r" + text.ljust(self._drawn_length))  # cover a longer last text
        self._drawn_length = max(len(text), 1)  # an empty text still needs ending
        self._last_draw = time.monotonic()
        self._pending = None

    def _write(self, text: str) -> None:
        assert self.stream is not None  # only an enabled line writes
        self.stream.write(text)
        self.stream.flush()


def bar(done: int, total: int, width: int = 24) -> str:
    """A text progress bar: ``done`` of ``total`` as a share of ``width`` marks.

    >>> bar(1, 4, width=8), bar(0, 0, width=4)
    ('[##......]', '[####]')
    """
    filled = width if total <= 0 else round(width * min(done, total) / total)
    return f"[{'#' * filled}{'.' * (width - filled)}]"
