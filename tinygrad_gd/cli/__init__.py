"""The command line: ``tinygrad-gd COMMAND`` (also ``python -m tinygrad_gd``).

Every command prints to standard output and returns an exit status: 0 on
success, 2 for bad input (with a one-line message on standard error).

>>> main(["demo", "--part", "1", "--iterations", "0"])  # doctest: +ELLIPSIS
== part 1: 1 input → 1 sigmoid neuron ==
...
0
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from tinygrad_gd import __version__
from tinygrad_gd.cli.codegen import add_codegen_arguments, run_codegen_command
from tinygrad_gd.cli.demo import add_demo_arguments, run_demo_command
from tinygrad_gd.cli.grad import add_grad_arguments, run_grad_command
from tinygrad_gd.cli.options import UsageError
from tinygrad_gd.cli.train import add_train_arguments, run_train_command
from tinygrad_gd.tools.parse import FUNCTIONS


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors suggest the nearest option or choice to a misspelt one."""

    def error(self, message: str) -> NoReturn:
        super().error(message + _suggestion(self, message))


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    """`` (did you mean --iterations?)`` for the first word of ``message`` that is close."""
    if message.startswith("unrecognized arguments: "):
        words = [w.split("=")[0] for w in message.split(": ", 1)[1].split() if w.startswith("-")]
        known = [option for action in parser._actions for option in action.option_strings]
    else:
        chosen = re.search(r"invalid choice: '?([^'\s]*)'? \(choose from (.*)\)", message)
        if chosen is None:
            return ""
        words, known = [chosen.group(1)], re.findall(r"'?([^',\s]+)'?", chosen.group(2))
    for word in words:
        close = [name for name in known if len(word) > 2 and name.startswith(word)]
        close = close or difflib.get_close_matches(word, known, n=1, cutoff=0.75)
        if close:
            return f" (did you mean {close[0]}?)"
    return ""


def _add_command(
    commands: Any,
    parsers: dict[str, argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
) -> None:
    # No abbreviations: --ex would silently be --explain, and a new option could
    # change what an old command line means.
    parser = commands.add_parser(name, help=summary, description=description, allow_abbrev=False)
    add_arguments(parser)
    parser.set_defaults(run=run)
    parsers[name] = parser


def _build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = _Parser(
        prog="tinygrad-gd",
        description="A scalar automatic-differentiation engine for learning gradient descent.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    parsers: dict[str, argparse.ArgumentParser] = {}

    command = functools.partial(_add_command, commands, parsers)
    command(
        "demo",
        "the tutorial's parts 1-4: gradients by hand and automatic, explained, trained",
        "Run the networks of the gradient-descent tutorial, parts 1-4: for each, the "
        "gradient derived by hand beside the automatic one, the published code's variant "
        "beside the correct one, the chain rule written out (part 1, part 3), and a "
        "gradient-descent run with its final prediction against the target.",
        add_demo_arguments,
        run_demo_command,
    )
    command(
        "grad",
        "the value and gradient of a formula typed as text",
        "Print the value of EXPR and its derivative with respect to each variable. EXPR "
        "uses numbers, variable names, + - * / **, and the functions "
        f"{', '.join(sorted(FUNCTIONS))}; it is parsed, never run as Python. An EXPR that "
        "starts with '-' needs a space in front (' -x') or must come last, after '--'.",
        add_grad_arguments,
        run_grad_command,
    )
    command(
        "train",
        "train a small network on a built-in data set (two moons, XOR)",
        "Train an MLP (hidden layers as given, one linear output) on a generated data set; "
        "print progress, the final loss and the accuracy; optionally save the parameters "
        "as JSON and plot the loss curve and the decision boundary.",
        add_train_arguments,
        run_train_command,
    )
    command(
        "codegen",
        "print the Python that compile generates for a tutorial network",
        "Trace a network of the tutorial series once and print the straight-line Python "
        "that compile generates from it: the forward pass, one line per op, then the "
        "reverse pass, the chain rule written out by the rule table.",
        add_codegen_arguments,
        run_codegen_command,
    )
    return parser, parsers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the status.

    >>> main(["--version"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    SystemExit: 0
    """
    _escape_what_the_console_cannot_encode()
    parser, commands = _build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's own usage, not the top level's
        commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        status: int = args.run(args)
    except UsageError as error:  # bad input found after parsing: one line, status 2
        print(f"tinygrad-gd {args.command}: error: {error}", file=sys.stderr)
        return 2
    return status


def _escape_what_the_console_cannot_encode() -> None:
    """Print what the console cannot encode escaped (σ as ``\\u03c3``), as on a Windows code page.

    Standard output is strict by default, so printing such text raised
    UnicodeEncodeError after the work was done. Streams that are not text files
    (a StringIO, ``None`` under pythonw) and error handlers chosen by the
    user (``PYTHONIOENCODING=cp1252:replace``) are left alone.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            reconfigure(errors="backslashreplace")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
