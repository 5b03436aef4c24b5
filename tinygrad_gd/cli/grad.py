"""``tinygrad-gd grad``: the value, gradient and chain rule of a formula typed as text."""

from __future__ import annotations

import argparse
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tinygrad_gd._support.tables import listing
from tinygrad_gd.cli.options import UsageError
from tinygrad_gd.core.value import Value
from tinygrad_gd.tools.explain import PathLimitError, explain
from tinygrad_gd.tools.graph import GraphvizError, write_graph
from tinygrad_gd.tools.parse import parse, parse_point

__all__ = ["add_grad_arguments", "grad_command", "run_grad_command"]

_T = TypeVar("_T")


def add_grad_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tinygrad-gd grad``.

    >>> parser = argparse.ArgumentParser(prog="grad")
    >>> add_grad_arguments(parser)
    >>> parser.parse_args(["w * x", "--at", "w=2,x=3"]).at
    ['w=2,x=3']
    """
    parser.add_argument("expr", metavar="EXPR", help='a formula, e.g. "sigmoid(w*x) - t"')
    parser.add_argument(
        "--at", action="append", default=[], metavar="NAME=NUMBER,...",
        help="the value of every variable, e.g. w=0.5,x=0.1,t=0.3 (may repeat)",
    )  # fmt: skip
    parser.add_argument(
        "--wrt", action="append", metavar="NAME,...",
        help="differentiate with respect to these variables only (default: all)",
    )  # fmt: skip
    parser.add_argument(
        "--explain", action="store_true",
        help="also print the chain rule of each derivative, factor by factor",
    )  # fmt: skip
    parser.add_argument(
        "--dot", metavar="FILE",
        help="write the computation graph: DOT text for .dot/.gv, an image for .svg/.png/.pdf "
        "(needs Graphviz)",
    )  # fmt: skip


def run_grad_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd grad`` with parsed options; bad input is a :class:`UsageError`.

    >>> args = argparse.Namespace(expr="x ** 2", at=["x=3"], wrt=None, explain=False, dot=None)
    >>> run_grad_command(args)
    formula  x ** 2
    at       x = 3.0
    value    9.0
    d/dx     6.0
    0
    """
    return grad_command(args.expr, args.at, args.wrt, args.explain, args.dot)


def grad_command(
    expr: str,
    at: Iterable[str] = (),
    wrt: Iterable[str] | None = None,
    chain: bool = False,
    graph_file: str | None = None,
) -> int:
    """Print a formula's value and gradient at a point; return the exit status 0.

    ``at`` holds ``NAME=NUMBER`` lists for every variable; ``wrt`` the
    variables to differentiate with respect to (default: all). ``chain``
    also prints the chain rule of each derivative (:func:`~tinygrad_gd.tools.explain.explain`);
    ``graph_file`` receives the graph (:func:`~tinygrad_gd.tools.graph.write_graph`:
    DOT text for ``.dot``, an image for ``.svg``/``.png`` with Graphviz).
    Bad input raises :class:`UsageError`, which the command line prints in one
    line with exit status 2; so does ``chain`` for a chain rule too long for
    :func:`~tinygrad_gd.tools.explain.explain` to write out. Nothing is printed then.

    >>> grad_command("(sigmoid(w*x) - t) ** 2", ["w=0.5,x=0.1,t=0.3"], ["w"])
    formula  (sigmoid(w * x) - t) ** 2
    at       w = 0.5, x = 0.1, t = 0.3
    value    0.04515514351256769
    d/dw     0.010618232
    0
    """
    try:
        formula = parse(expr)
        point = _for_option("--at", parse_point, list(at), formula.variables)
        chosen = _for_option("--wrt", _choose, wrt, formula.variables)
    except ValueError as error:
        raise UsageError(str(error)) from None
    leaves = {name: Value(number, label=name) for name, number in point.items()}
    output = _as_node(formula(**leaves))
    if output.op is not None:  # a formula that is one variable keeps its name
        output.label = _fresh_name("f", formula.variables)
    output.backward()  # fills every node's grad, which the graph file shows
    derivatives = [leaves[name].grad for name in chosen]
    rows = [
        ("formula", str(formula)),
        ("at", ", ".join(f"{name} = {number!r}" for name, number in point.items()) or "-"),
        ("value", repr(output.data)),
        *((f"d/d{name}", repr(d)) for name, d in zip(chosen, derivatives, strict=True)),
    ]
    width = max(len(label) for label, _ in rows) + 2
    report = [f"{label:<{width}}{text}".rstrip() for label, text in rows]
    if chain:
        try:
            report += [f"\n{explain(output, leaves[name])}" for name in chosen]
        except PathLimitError as error:  # too many paths to print; the numbers are still right
            limit = str(error).removeprefix("explain: ").partition(";")[0]
            raise UsageError(
                f"--explain: cannot write out the chain rule: {limit}; "
                "the value and gradient are fine without --explain"
            ) from None
    if graph_file is not None:
        try:
            written = write_graph(output, graph_file)
        except (ValueError, OSError, GraphvizError) as error:  # the path, the file, Graphviz
            raise UsageError(f"--dot: {error}") from None
        report.append(f"graph written to {written}")
    print("\n".join(report))
    return 0


def _fresh_name(name: str, taken: Iterable[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _for_option(option: str, read: Callable[..., _T], *args: Any) -> _T:
    try:
        return read(*args)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None


def _choose(wrt: Iterable[str] | None, variables: tuple[str, ...]) -> list[str]:
    """The variables named in ``wrt`` (comma-separated texts), in formula order."""
    if wrt is None:
        return list(variables)
    names = {
        unicodedata.normalize("NFKC", name.strip()) for text in wrt for name in text.split(",")
    }
    for name in sorted(names):
        if name not in variables:
            raise ValueError(f"{name!r} is not a variable (the variables: {listing(variables)})")
    return [name for name in variables if name in names]


def _as_node(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(x)
