"""``tinygrad-gd codegen``: print the Python that compile writes for a tutorial network."""

from __future__ import annotations

import argparse

from tinygrad_gd.cli.options import UsageError
from tinygrad_gd.tutorial.descent import tutorial_program
from tinygrad_gd.tutorial.examples import EXAMPLES, example_of

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


def run_codegen_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd codegen``: print the Python generated for a tutorial network.

    >>> parser = argparse.ArgumentParser(prog="codegen")
    >>> add_codegen_arguments(parser)
    >>> run_codegen_command(parser.parse_args(["--part", "1"]))  # doctest: +ELLIPSIS
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
    print(f"# {chosen.name}: x = {list(chosen.x)}, target = {chosen.target}")
    print(program.source)
    if args.loop:
        print()
        print(program.descend_source)
    return 0
