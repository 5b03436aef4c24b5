"""``tinygrad-gd codegen``: print the Python that compile writes for a tutorial network.

By default the output is a whole program: the imports the generated code
needs, the function(s), and a main block that runs them at the starting
weights, so ``tinygrad-gd codegen > part1.py && python part1.py`` works.
``--function-only`` prints the generated function(s) alone.
"""

from __future__ import annotations

import argparse
import ast

from tinygrad_gd.cli.options import UsageError
from tinygrad_gd.core.ops import OPS
from tinygrad_gd.tutorial.descent import initial_weights, tutorial_program
from tinygrad_gd.tutorial.examples import EXAMPLES, Example, example_of
from tinygrad_gd.tutorial.graphs import build_hidden_layer, build_neuron

__all__ = ["add_codegen_arguments", "run_codegen_command"]


def add_codegen_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd codegen`` on ``parser``.

    >>> parser = argparse.ArgumentParser(prog="codegen")
    >>> add_codegen_arguments(parser)
    >>> args = parser.parse_args(["--example", "part-2-2-inputs", "--loop"])
    >>> args.part, args.example, args.loop
    (1, 'part-2-2-inputs', True)
    """
    parser.add_argument(
        "--part", type=int, choices=(1, 2, 3, 4), default=1, metavar="N",
        help="the tutorial part whose first network to compile (1-4; default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--example", choices=[example.slug for example in EXAMPLES], metavar="NAME",
        help="a published example by name instead: "
        + ", ".join(example.slug for example in EXAMPLES),
    )  # fmt: skip
    parser.add_argument(
        "--loop", action="store_true",
        help="also print the gradient-descent loop generated from the same trace",
    )  # fmt: skip
    parser.add_argument(
        "--function-only", action="store_true",
        help="print the generated function(s) alone, without the imports and the main block "
        "that make the output a program",
    )  # fmt: skip


def run_codegen_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd codegen``: print the Python generated for a tutorial network.

    >>> parser = argparse.ArgumentParser(prog="codegen")
    >>> add_codegen_arguments(parser)
    >>> run_codegen_command(parser.parse_args(["--part", "1", "--function-only"]))
    ... # doctest: +ELLIPSIS
    # part 1: x = [0.1], target = 0.3
    def value_and_grad_error(parameters):
    ...
        return error, [grad_w]
    0
    """
    slugs = [example.slug for example in EXAMPLES]
    if args.example is not None and args.example not in slugs:
        raise UsageError(f"example must be one of {', '.join(slugs)}; got {args.example!r}")
    chosen = example_of(args.part, args.example)
    program = tutorial_program(example=chosen.slug)
    sources = [program.source, *([program.descend_source] if args.loop else [])]
    print(f"# {chosen.name}: x = {list(chosen.x)}, target = {chosen.target}")
    if args.function_only:
        print("\n\n".join(sources))
        return 0
    print(_program(sources, _start(chosen), chosen.learning_rate, args.loop), end="")
    return 0


def _start(example: Example) -> list[float]:
    """The weights the program is traced at (seed 0), in the order of its parameters."""
    weights = initial_weights(example, seed=0)
    x, target = example.x, example.target
    if example.hidden == 0:
        return [w.data for w in build_neuron(x, weights[0], target).weights]
    return [w.data for w in build_hidden_layer(x, weights[0], weights[1], target).weights]


def _program(sources: list[str], start: list[float], rate: float, loop: bool) -> str:
    """The generated functions as a program: the names they use, then a run at ``start``."""
    used = {node.id for text in sources for node in ast.walk(ast.parse(text))
            if isinstance(node, ast.Name)}  # fmt: skip
    ops = sorted(used & {op.name for op in OPS})
    constants = sorted(used & {"inf", "nan"})
    value_and_grad = sources[0].split("(", 1)[0].removeprefix("def ")
    lines = ["# Runs where tinygrad_gd is installed: each op is its rule table's forward function."]
    lines += [f"from math import {', '.join(constants)}"] if constants else []
    lines += ["", "from tinygrad_gd.core.ops import OPS", ""]
    lines += ["FORWARD = {op.name: op.forward for op in OPS}"]
    lines += [f"{name} = FORWARD[{name!r}]" for name in ops]
    lines += ["", "", "\n\n\n".join(sources), "", ""]
    lines += [
        'if __name__ == "__main__":',
        f"    weights = {start!r}  # the starting weights, drawn with seed 0",
        f"    error, gradient = {value_and_grad}(weights)",
        '    print("error", error)',
        '    print("gradient", gradient)',
    ]
    if loop:
        descend = sources[1].split("(", 1)[0].removeprefix("def ")
        lines += [
            f"    trained = {descend}(weights, learning_rate={rate!r}, steps=1000)",
            '    print("after 1000 steps", trained)',
        ]
    return "\n".join(lines) + "\n"
