"""``tinygrad-gd demo``: Part 1 of the tutorial told in a screenful, or parts 1–4 in detail."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinygrad_gd._support.files import existing_folder
from tinygrad_gd.cli.options import UsageError, count_option, number_option
from tinygrad_gd.learning.plots import INSTALL_HINT
from tinygrad_gd.tools.graph import GraphvizError
from tinygrad_gd.tutorial.demo import DEFAULT_ITERATIONS, GRAPH_FORMATS, REACHED, run_demo
from tinygrad_gd.tutorial.descent import GRADIENT_METHODS
from tinygrad_gd.tutorial.examples import PARTS

__all__ = ["add_demo_arguments", "run_demo_command"]

def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd demo`` on ``parser``.

    >>> parser = argparse.ArgumentParser(prog="demo")
    >>> add_demo_arguments(parser)
    >>> args = parser.parse_args(["--part", "3", "--lr", "0.5"])
    >>> args.part, args.lr, args.iterations
    ([3], 0.5, 100000)
    """
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--part", type=int, action="append", choices=sorted(PARTS), metavar="N",
        help="show part N of the series in detail (1-4; may repeat; default: the story of "
        "part 1 in a screenful)",
    )  # fmt: skip
    which.add_argument(
        "--all", action="store_true", help="show every part of the series in detail",
    )  # fmt: skip
    parser.add_argument(
        "--lr", type=number_option(positive=True), metavar="RATE",
        help="learning rate for every network (default: each example's published rate)",
    )  # fmt: skip
    parser.add_argument(
        "--iterations", type=count_option(), default=DEFAULT_ITERATIONS, metavar="N",
        help="the most gradient-descent iterations per network; each stops once within "
        f"{REACHED:g} of its target (default {DEFAULT_ITERATIONS:,})",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=count_option(), default=0, metavar="N",
        help="seed of the starting weights, drawn from [0, 1) (default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--gradient", choices=GRADIENT_METHODS, default="compiled",
        help="the gradient that trains: reverse mode (automatic, the eager engine), the "
        "same compiled once, the hand derivation, or the published code's variant "
        "(default compiled: the same numbers as automatic, faster)",
    )  # fmt: skip
    parser.add_argument(
        "--compile", action="store_true",
        help="train with the automatic gradient compiled once into Python (the default; "
        "the same as --gradient compiled)",
    )  # fmt: skip
    parser.add_argument(
        "--plot", type=Path, metavar="DIR",
        help=f"write each network's prediction and error against iteration as DIR/NAME.png "
        f"into the existing folder DIR (needs matplotlib: {INSTALL_HINT})",
    )  # fmt: skip
    parser.add_argument(
        "--graph", type=Path, metavar="DIR",
        help="write each network's computation graph into the existing folder DIR "
        "(see --graph-format)",
    )  # fmt: skip
    parser.add_argument(
        "--graph-format", choices=GRAPH_FORMATS, default="dot",
        help="Graphviz DOT text, or an image drawn by Graphviz's dot program (default dot)",
    )  # fmt: skip


def run_demo_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd demo`` with parsed options; a problem is a one-line :class:`UsageError`.

    Whatever the figures and graphs need (matplotlib, Graphviz, their
    folders) is checked before the run; a file that cannot be written
    during it stops the run with the same kind of error.

    >>> parser = argparse.ArgumentParser(prog="demo")
    >>> add_demo_arguments(parser)
    >>> run_demo_command(parser.parse_args(["--gradient", "manual", "--compile"]))
    Traceback (most recent call last):
    tinygrad_gd.cli.options.UsageError: --compile trains with the automatic gradient, not manual
    """
    if args.compile and args.gradient not in ("automatic", "compiled"):
        raise UsageError(f"--compile trains with the automatic gradient, not {args.gradient}")
    try:
        for folder, option in ((args.plot, "--plot"), (args.graph, "--graph")):
            if folder is not None:
                existing_folder(folder, option)
        run_demo(
            parts=sorted(PARTS) if args.all else sorted(set(args.part)) if args.part else None,
            learning_rate=args.lr,
            iterations=args.iterations,
            seed=args.seed,
            method="compiled" if args.compile else args.gradient,
            plot_dir=args.plot,
            graph_dir=args.graph,
            graph_format=args.graph_format,
        )
    except (ImportError, GraphvizError, OSError) as error:  # the plot extra, Graphviz, a file
        raise UsageError(str(error)) from None
    return 0
