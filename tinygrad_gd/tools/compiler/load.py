"""Loading and running: generated source compiled into functions for floats and arrays.

The generated code sees the rule table's forward functions and nothing else
(no builtins). A program too long to compile as one function runs in pieces.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinygrad_gd.core.ops import OPS, Op, is_custom
from tinygrad_gd.tools.compiler.write import Code, Line, code_line

__all__ = ["Loaded", "Program"]


# -- from source to functions -------------------------------------------------------------


@dataclass
class Loaded:
    source: str
    scalar: Callable[..., Any]
    array: Callable[..., Any]


class Program:
    """A traced program as the functions it runs as: value-and-gradient, and descent."""

    def __init__(self, code: Code) -> None:
        self.code = code
        display: list[tuple[int, str | Line]] = [(1, line) for line in code.unpack]
        if code.forward:
            display += [(1, "# forward: one line per op"), *((1, ln) for ln in code.forward)]
        if code.reverse:
            display.append((1, f"# reverse: grad_v = d {code.root} / d v"))
            display += [(1, line) for line in code.reverse]
        body = [*code.unpack, *code.forward, *code.reverse]
        self.value_and_grad = _load(
            f"value_and_grad_{code.name}",
            code.parameters,
            display,
            body,
            None,
            code.result,
            code.custom_ops,
        )
        self._descend: Loaded | None = None

    @property
    def descend(self) -> Loaded:
        if self._descend is None:
            self._descend = _load_descend(self.code)
        return self._descend


def _load_descend(code: Code) -> Loaded:
    """The loop: the lines the updates need, those that do not change hoisted before it."""
    updates = [
        code_line([leaf], f"{leaf} - learning_rate * {gradient}") for leaf, gradient in code.updates
    ]
    needed: set[str] = set().union(*(line.uses for line in updates))
    kept = []
    for line in reversed([*code.unpack, *code.forward, *code.reverse]):
        if needed.intersection(line.defines):  # dead code (the value itself) is left out
            kept.append(line)
            needed |= line.uses
    varying = {leaf for leaf, _ in code.updates}
    before, loop = [], []
    for line in reversed(kept):
        if varying.intersection(line.uses):
            loop.append(line)
            varying.update(line.defines)
        else:
            before.append(line)
    loop += updates
    display: list[tuple[int, str | Line]] = [
        *((1, line) for line in before),
        (1, "for _ in range(steps):"),
        *((2, line) for line in loop),
    ]
    parameters = [*code.parameters, "learning_rate", "steps"]
    return _load(
        f"descend_{code.name}", parameters, display, before, loop, code.updated, code.custom_ops
    )


# The generated code sees these names and nothing else (no builtins): each op's
# forward from the rule table, for floats or for numpy arrays.
_SCALAR_NAMESPACE: dict[str, Any] = {op.name: op.forward for op in OPS}
_ARRAY_NAMESPACE: dict[str, Any] = {op.name: op.ufunc for op in OPS}
for _namespace in (_SCALAR_NAMESPACE, _ARRAY_NAMESPACE):
    _namespace.update({"__builtins__": {}, "inf": math.inf, "nan": math.nan, "range": range})

# Compiling Python costs kilobytes per line: a program longer than this is
# compiled and run in pieces, its variables kept in a dict.
_LARGEST_FUNCTION = 20_000
_PIECE = 5_000


def _load(
    name: str,
    parameters: list[str],
    display: list[tuple[int, str | Line]],
    body: list[Line],
    loop: list[Line] | None,
    result: str,
    custom_ops: dict[str, Op],
) -> Loaded:
    """Write the function's source and compile it for floats and for arrays."""
    scalar_namespace, array_namespace = _namespaces(custom_ops)

    lines = [f"def {name}({', '.join(parameters)}):"]
    for depth, item in display:
        lines.append("    " * depth + (item if isinstance(item, str) else item.code))
    source = "\n".join([*lines, f"    return {result}"])
    if len(body) + len(loop or ()) > _LARGEST_FUNCTION:
        return Loaded(
            source, *_in_pieces(parameters, body, loop, result, scalar_namespace, array_namespace)
        )
    # One text, run with the table's float functions or with its array functions.
    code = builtins.compile(source, f"<{name}>", "exec")
    functions = []
    for namespace in (scalar_namespace, array_namespace):
        namespace = dict(namespace)
        exec(code, namespace)  # generated code only, no user text
        functions.append(namespace[name])
    return Loaded(source, *functions)


def _namespaces(custom_ops: dict[str, Op]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The names the code sees: the table's forwards, and the custom ops it calls."""
    for name, op in custom_ops.items():
        # Checked again where the name becomes a variable: the op registered under it.
        if not (name.isidentifier() and op.name == name and is_custom(op)):
            raise TypeError(f"compile: {name!r} is not the name of a registered custom op")
    return (
        {**_SCALAR_NAMESPACE, **{name: op.forward for name, op in custom_ops.items()}},
        {**_ARRAY_NAMESPACE, **{name: op.ufunc for name, op in custom_ops.items()}},
    )


def _in_pieces(
    parameters: list[str],
    body: list[Line],
    loop: list[Line] | None,
    result: str,
    scalar_namespace: dict[str, Any],
    array_namespace: dict[str, Any],
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """A long program as module-level pieces run one after another in one dict."""

    def pieces(lines: list[Line]) -> list[Any]:
        return [
            builtins.compile(
                "\n".join(line.code for line in lines[i : i + _PIECE]), "<generated>", "exec"
            )
            for i in range(0, len(lines), _PIECE)
        ]

    before, repeated = pieces(body), pieces(loop or [])
    returned = builtins.compile(f"_returned = {result}", "<generated>", "exec")
    steps = (lambda variables: variables["steps"]) if loop is not None else (lambda _: 0)

    def runner(namespace: dict[str, Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            variables = dict(namespace)
            variables.update(zip(parameters, args, strict=True))
            for piece in before:
                exec(piece, variables)  # generated code only, no user text
            for _ in range(steps(variables)):
                for piece in repeated:
                    exec(piece, variables)
            exec(returned, variables)
            return variables["_returned"]

        return run

    return runner(scalar_namespace), runner(array_namespace)
