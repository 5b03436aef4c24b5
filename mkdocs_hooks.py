"""mkdocs hook: docstring examples (``>>>`` blocks) shown as code, not read as Markdown.

The API reference renders docstrings as Markdown, where a doctest's output
such as ``['mul', 'exp']`` under a line ending in ``]`` reads as a reference
link. Each ``>>>`` block outside a code fence is fenced as ``pycon`` first.
"""

from __future__ import annotations

from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor


class _FenceDoctests(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        fenced = in_doctest = False
        indent = ""
        for line in lines:
            stripped = line.lstrip()
            if in_doctest and not stripped:
                out += [f"{indent}```", line]
                in_doctest = False
                continue
            if stripped.startswith("```") and not in_doctest:
                fenced = not fenced
            elif stripped.startswith(">>>") and not fenced and not in_doctest:
                indent = line[: len(line) - len(stripped)]
                out.append(f"{indent}```pycon")
                in_doctest = True
            out.append(line)
        if in_doctest:
            out.append(f"{indent}```")
        return out


class DoctestBlocks(Extension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802  # Markdown's name
        md.preprocessors.register(_FenceDoctests(md), "doctest_blocks", 40)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestBlocks())
    return config
