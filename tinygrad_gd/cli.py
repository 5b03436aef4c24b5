"""The command line: ``tinygrad-gd COMMAND`` (also ``python -m tinygrad_gd``).

Every command prints to standard output and returns an exit status: 0 on
success, 2 for bad input (with a one-line message on standard error).

>>> main(["demo", "--steps", "0"])  # doctest: +ELLIPSIS
Tutorial part 1: one sigmoid neuron, x = 0.1, target = 0.3, w = 0.5
...
0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tinygrad_gd import __version__
from tinygrad_gd.autodiff import value_and_grad
from tinygrad_gd.ops import SIGMOID
from tinygrad_gd.parse import FUNCTIONS, grad_command
from tinygrad_gd.train import add_train_arguments, run_train_command


def _demo(args: argparse.Namespace) -> int:
    x, target, w = 0.1, 0.3, args.w

    def error(w: float) -> float:
        return ((w * x).sigmoid() - target) ** 2  # type: ignore[no-any-return, attr-defined]

    print(f"Tutorial part 1: one sigmoid neuron, x = {x}, target = {target}, w = {w}")
    sop = w * x
    predicted = SIGMOID.evaluate(sop)
    by_hand = x * predicted * (1 - predicted) * 2 * (predicted - target)
    _, automatic = value_and_grad(error)(w)
    print(f"  dE/dw by hand   x · σ'(sop) · 2(pred − target) = {by_hand:.10f}")
    print(f"  dE/dw automatic (reverse mode)                  = {automatic:.10f}")
    print(f"  difference                                      = {abs(by_hand - automatic):.1e}")
    for step in range(1, args.steps + 1):
        loss, gradient = value_and_grad(error)(w)
        w -= args.lr * gradient
        if step == 1 or step % max(1, args.steps // 5) == 0 or step == args.steps:
            print(f"  step {step:>6}: error = {loss:.3e}, w = {w:.6f}")
    print(f"  prediction {SIGMOID.evaluate(w * x):.6f} for target {target}")
    return 0


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinygrad-gd",
        description="A scalar automatic-differentiation engine for learning gradient descent.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo", help="derive the tutorial's gradient automatically and train with it"
    )
    demo.add_argument("--w", type=float, default=0.5, help="starting weight (default 0.5)")
    demo.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    demo.add_argument(
        "--steps", type=int, default=10_000, help="gradient-descent steps (default 10000)"
    )
    demo.set_defaults(run=_demo)

    formula = commands.add_parser(
        "grad",
        help="the value and gradient of a formula typed as text",
        description=(
            "Print the value of EXPR and its derivative with respect to each variable. "
            "EXPR uses numbers, variable names, + - * / **, and the functions "
            f"{', '.join(sorted(FUNCTIONS))}; it is parsed, never run as Python. "
            "An EXPR that starts with '-' needs a space in front (' -x') or must come "
            "last, after '--'."
        ),
    )
    formula.add_argument("expr", metavar="EXPR", help='a formula, e.g. "sigmoid(w*x) - t"')
    formula.add_argument(
        "--at", action="append", default=[], metavar="NAME=NUMBER,...",
        help="the value of every variable, e.g. w=0.5,x=0.1,t=0.3 (may repeat)",
    )  # fmt: skip
    formula.add_argument(
        "--wrt", action="append", metavar="NAME,...",
        help="differentiate with respect to these variables only (default: all)",
    )  # fmt: skip
    formula.add_argument(
        "--explain", action="store_true",
        help="also print the chain rule of each derivative, factor by factor",
    )  # fmt: skip
    formula.add_argument(
        "--dot", metavar="FILE",
        help="write the computation graph: DOT text for .dot/.gv, an image for .svg/.png/.pdf "
        "(needs Graphviz)",
    )  # fmt: skip
    formula.set_defaults(
        run=lambda args: grad_command(args.expr, args.at, args.wrt, args.explain, args.dot)
    )

    train = commands.add_parser(
        "train",
        help="train a small network on a built-in data set (two moons, XOR)",
        description=(
            "Train an MLP (hidden layers as given, one linear output) on a generated data "
            "set; print progress, the final loss and the accuracy; optionally save the "
            "parameters as JSON and plot the loss curve and the decision boundary."
        ),
    )
    add_train_arguments(train)
    train.set_defaults(run=run_train_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the status.

    >>> main(["--version"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: 0
    """
    args = _build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
