"""_progress: a live line on terminals only, throttled, never losing the last text."""

from __future__ import annotations

import io

import pytest
from helpers import Terminal

from tinygrad_gd._support.progress import LiveLine, bar


def test_drawn_on_a_terminal_and_silent_elsewhere_unless_asked() -> None:
    assert LiveLine(Terminal()).enabled
    assert not LiveLine(io.StringIO()).enabled
    assert LiveLine(io.StringIO(), enabled=True).enabled
    assert not LiveLine(Terminal(), enabled=False).enabled
    silent = io.StringIO()
    with LiveLine(silent) as line:
        line.show("never seen")
    assert silent.getvalue() == ""


def test_no_stream_means_no_line_even_when_asked() -> None:
    with LiveLine(None, enabled=True) as line:
        line.show("nowhere to go")
        line.clear()
    assert not line.enabled


def test_redraws_are_throttled_but_close_draws_the_last_text() -> None:
    out = Terminal()
    with LiveLine(out, interval=3600.0) as line:
        for step in range(1, 101):
            line.show(f"step {step}")
    assert out.getvalue() == "\rstep 1\rstep 100\n"


def test_every_show_is_drawn_without_an_interval_and_covers_the_longer_text() -> None:
    out = Terminal()
    line = LiveLine(out, interval=0.0)
    line.show("loss 0.125")
    line.show("loss 1")
    assert out.getvalue() == "\rloss 0.125\rloss 1    "
    line.close()
    line.close()  # a second close ends nothing more
    assert out.getvalue().endswith("    \n") and out.getvalue().count("\n") == 1


def test_clear_erases_the_line_and_forgets_what_was_pending() -> None:
    out = Terminal()
    line = LiveLine(out, interval=3600.0)
    line.show("abc")
    line.show("pending")
    line.clear()
    line.close()
    assert out.getvalue() == "\rabc\r   \r"


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"interval": -1.0}, ValueError, "interval must be a non-negative finite number"),
        ({"interval": "fast"}, TypeError, "interval must be a number"),
        ({"enabled": "yes"}, TypeError, "enabled must be True or False, got str: 'yes'"),
    ],
)
def test_bad_arguments_are_named(arguments: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        LiveLine(Terminal(), **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("done", "total", "expected"),
    [(0, 4, "[....]"), (1, 4, "[#...]"), (3, 4, "[###.]"), (4, 4, "[####]"), (9, 4, "[####]")],
)
def test_bar_fills_one_mark_per_quarter(done: int, total: int, expected: str) -> None:
    assert bar(done, total, width=4) == expected
