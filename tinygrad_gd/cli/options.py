"""What every command shares: its error type, and option types that check while parsing.

argparse calls an option's ``type`` on its text; these turn a library check into one,
so a bad value is refused while parsing, before any work starts, with argparse's
one-line form.

>>> number_option(positive=True)("0.5")
0.5
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from tinygrad_gd._support.checks import count, number

__all__ = ["UsageError", "count_option", "number_option"]

T = TypeVar("T")


class UsageError(ValueError):
    """Bad input to a command: the command line prints it in one line and exits 2."""


def number_option(**bounds: Any) -> Callable[[str], float]:
    """An argparse ``type`` reading a number within ``bounds`` (as :func:`number`).

    >>> number_option(positive=True)("0.5")
    0.5
    """
    return _option(float, "a number", lambda x: number(x, "", **bounds))


def count_option(minimum: int = 0, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse ``type`` reading a whole number of at least ``minimum`` (at most ``maximum``).

    >>> count_option(minimum=1)("12")
    12
    """
    return _option(
        int, "a whole number", lambda x: count(x, "", minimum=minimum, maximum=maximum)
    )


def _option(read: Callable[[str], T], kind: str, check: Callable[[T], T]) -> Callable[[str], T]:
    def parse(text: str) -> T:
        try:
            value = read(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        try:
            return check(value)
        except (TypeError, ValueError) as error:  # "must be ...": argparse names the option
            raise argparse.ArgumentTypeError(str(error).lstrip()) from None

    parse.__name__ = kind
    return parse
