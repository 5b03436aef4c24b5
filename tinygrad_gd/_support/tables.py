"""Tables and lists as the library shows them: text (gradcheck, explain, the demo), HTML.

The HTML is what a notebook shows for a result (``_repr_html_``): the same
rows, escaped, in a plain ``<table>``.

>>> print(format_table([("name", "value"), ("w", "0.5")]))
name  value
w     0.5
>>> listing(["w", "x"]), listing([])
('w, x', 'none')
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["format_table", "html_table", "listing"]


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


def html_table(
    rows: Sequence[Sequence[str]], *, header: bool = True, caption: str | None = None
) -> str:
    """Rows of cells as an HTML table, every cell escaped; the first row is the header.

    >>> print(html_table([("name", "value"), ("w", "<0.5>")], caption="a & b"))
    <table><caption>a &amp; b</caption>
    <tr><th>name</th><th>value</th></tr>
    <tr><td>w</td><td>&lt;0.5&gt;</td></tr>
    </table>
    """
    lines = ["<table>" + (f"<caption>{html.escape(caption)}</caption>" if caption else "")]
    for i, row in enumerate(rows):
        tag = "th" if header and i == 0 else "td"
        cells = "".join(f"<{tag}>{html.escape(cell)}</{tag}>" for cell in row)
        lines.append(f"<tr>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)
