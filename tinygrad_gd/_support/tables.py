"""Text tables and lists as the library prints them (gradcheck, explain, the demo).

>>> print(format_table([("name", "value"), ("w", "0.5")]))
name  value
w     0.5
>>> listing(["w", "x"]), listing([])
('w, x', 'none')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["format_table", "listing"]


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as text: columns padded to their widest cell, two spaces apart.

    >>> print(format_table([("a", "bb"), ("xyz", "1")]))
    a    bb
    xyz  1
    """
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows)  # fmt: skip
    return "\n".join(line.rstrip() for line in lines)


def listing(names: Iterable[str]) -> str:
    """Names joined by commas, or ``none``.

    >>> listing(("a", "b"))
    'a, b'
    """
    return ", ".join(names) or "none"
