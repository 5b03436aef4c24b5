"""``tinygrad-gd train``: train a small network on a built-in data set, report, save, plot."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from tinygrad_gd._support.files import check_writable, existing_folder
from tinygrad_gd._support.progress import LiveLine
from tinygrad_gd.cli.options import UsageError, count_option, number_option
from tinygrad_gd.learning import data, io, plots
from tinygrad_gd.learning.losses import BCEWithLogitsLoss, HingeLoss, Loss, MSELoss
from tinygrad_gd.learning.nn import ACTIVATIONS, MLP
from tinygrad_gd.learning.optim import SGD, Adam, Optimizer
from tinygrad_gd.learning.train import ProgressBar, StepReport, evaluate, fit, steps_per_epoch

__all__ = ["add_train_arguments", "run_train_command"]

_LOSSES: dict[str, Callable[[float], Loss]] = {
    "hinge": lambda l2: HingeLoss(l2=l2),
    "bce": lambda l2: BCEWithLogitsLoss(l2=l2),
    "mse": lambda l2: MSELoss(l2=l2),
}
_DEFAULT_LEARNING_RATES = {"sgd": 0.5, "adam": 0.05}
_MOONS_SAMPLES, _MOONS_NOISE = 100, 0.1
"""The defaults of ``--samples`` and ``--noise``, which only the moons data set reads."""
# Limits, so that a typo is an error rather than a run that fills the memory: a
# scalar engine trains these sizes in minutes, and noise beyond a few units hides
# the two moons entirely (at 1e308 the points themselves overflow).
_MAX_SAMPLES, _MAX_NOISE, _MAX_PARAMETERS = 100_000, 10.0, 100_000


def _layer_sizes(text: str) -> list[int]:
    """An argparse ``type``: hidden layer sizes as whole numbers ≥ 1 between commas."""
    parts = [part.strip() for part in text.split(",")] if text.strip() else []
    if not all(part.isascii() and part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(
            f"layer sizes must be whole numbers >= 1 separated by commas, got {text!r}"
        )
    return [int(part) for part in parts]


_layer_sizes.__name__ = "layer sizes"  # how argparse names the type in its messages


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``tinygrad-gd train`` on ``parser``; each is checked as parsed.

    >>> parser = argparse.ArgumentParser(prog="tinygrad-gd train")
    >>> add_train_arguments(parser)
    >>> args = parser.parse_args(["--hidden", "8,4", "--epochs", "50"])
    >>> args.hidden, args.epochs, args.optimizer
    ([8, 4], 50, 'adam')
    """
    add = parser.add_argument
    add("--dataset", choices=["moons", "xor"], default="moons", help="(default moons)")
    add(
        "--samples", type=count_option(minimum=2, maximum=_MAX_SAMPLES), metavar="N",
        help=f"moons only: the number of points, 2 to {_MAX_SAMPLES} (default {_MOONS_SAMPLES})",
    )  # fmt: skip
    add(
        "--noise", type=number_option(non_negative=True, below=_MAX_NOISE), metavar="SD",
        help=(
            f"moons only: the noise's standard deviation, in [0, {_MAX_NOISE:g}) "
            f"(default {_MOONS_NOISE})"
        ),
    )  # fmt: skip
    add(
        "--hidden", type=_layer_sizes, default="16,16", metavar="SIZES",
        help=(
            "hidden layer sizes, e.g. 16,16; empty for none; the network may have "
            f"{_MAX_PARAMETERS:,} parameters at most (default 16,16)"
        ),
    )  # fmt: skip
    add(
        "--activation",
        choices=[name for name in ACTIVATIONS if name != "linear"],
        default="relu",
        help="of the hidden layers; the output is linear (default relu)",
    )
    add(
        "--loss",
        choices=list(_LOSSES),
        default="hinge",
        help="hinge (labels -1, 1), bce (cross-entropy from logits) or mse (default hinge)",
    )
    add(
        "--l2", type=number_option(non_negative=True), default=1e-4, metavar="ALPHA",
        help="L2 penalty (default 1e-4)",
    )  # fmt: skip
    add(
        "--epochs", type=count_option(minimum=0), default=100, metavar="N",
        help="passes over the data (default 100)",
    )  # fmt: skip
    add(
        "--batch-size", type=count_option(minimum=1), metavar="N",
        help="samples per step (default: all)",
    )  # fmt: skip
    add("--optimizer", choices=list(_DEFAULT_LEARNING_RATES), default="adam", help="(default adam)")
    add(
        "--lr", type=number_option(positive=True), metavar="RATE",
        help="learning rate (default 0.05 for adam, 0.5 for sgd)",
    )  # fmt: skip
    add(
        "--momentum", type=number_option(non_negative=True, below=1.0), metavar="MU",
        help="sgd only: momentum in [0, 1) (default 0)",
    )  # fmt: skip
    add(
        "--seed", type=count_option(minimum=0), default=0, metavar="N",
        help="seeds data, weights and order (default 0)",
    )  # fmt: skip
    add("--save", metavar="FILE", help="save parameters and optimizer state as JSON")
    add(
        "--plot", metavar="DIR",
        help="write loss.png and decision_boundary.png into the existing folder DIR",
    )  # fmt: skip
    add(
        "--compile", action="store_true",
        help="run every step on code compiled once (the default; kept for old scripts)",
    )  # fmt: skip
    add("--eager", action="store_true", help="run every step on the eager engine (slower)")


def run_train_command(args: argparse.Namespace) -> int:
    """``tinygrad-gd train``: train an MLP on a built-in data set, report, save, plot.

    Input that parsing cannot check (options that do not go together, a
    file or folder that cannot be written) raises ``UsageError`` before
    training starts.

    >>> parser = argparse.ArgumentParser(prog="tinygrad-gd train")
    >>> add_train_arguments(parser)
    >>> args = parser.parse_args(["--dataset", "xor", "--hidden", "4", "--epochs", "2"])
    >>> run_train_command(args)  # doctest: +ELLIPSIS
    xor: 4 samples; MLP(2, [4, 1], activation=['relu', 'linear'], ...); HingeLoss(...); Adam(...)
    epoch 1  loss ...
    epoch 2  loss ...
    final loss ..., accuracy ...%
    0
    """
    _check_option_combinations(args)
    if args.plot is not None:
        _prepare_plot_folder(args.plot, plots.require_matplotlib)
    if args.save is not None:
        with _naming_the_option("--save"):
            check_writable(args.save)
    loss = _LOSSES[args.loss](args.l2)
    rng = np.random.default_rng(args.seed)
    if args.dataset == "moons":
        samples = _MOONS_SAMPLES if args.samples is None else args.samples
        noise = _MOONS_NOISE if args.noise is None else args.noise
        X, y = data.moons(samples, noise=noise, seed=rng, labels=loss.labels)
    else:
        X, y = data.xor(labels=loss.labels)
    _check_network_size(X.shape[1], args.hidden)
    activations = [args.activation] * len(args.hidden) + ["linear"]
    model = MLP(X.shape[1], [*args.hidden, 1], activation=activations, seed=rng)
    lr = _DEFAULT_LEARNING_RATES[args.optimizer] if args.lr is None else args.lr
    optimizer: Optimizer = (
        Adam(model.parameters(), lr=lr)
        if args.optimizer == "adam"
        else SGD(model.parameters(), lr=lr, momentum=args.momentum or 0.0)
    )
    print(f"{args.dataset}: {len(X)} samples; {model!r}; {loss!r}; {optimizer!r}")
    every = max(1, args.epochs // 10)
    # fit's own bar (on standard error) would stay drawn when an epoch line (on
    # standard output) is printed after it, and on a terminal the two would share
    # one line. So the command draws the bar on a live line it owns, as demo does,
    # and erases it before each line it prints.
    live = LiveLine(sys.stderr)
    progress = ProgressBar(live, args.epochs, steps_per_epoch(len(X), args.batch_size))

    def report_epoch(report: StepReport) -> None:
        if report.end_of_epoch and report.epoch % every == 0:
            values = "".join(f"  {name} {value:.4g}" for name, value in report.metrics.items())
            live.clear()
            print(f"epoch {report.epoch:>{len(str(args.epochs))}}  loss {report.loss:.4g}{values}")

    try:
        history = fit(
            model,
            X,
            y,
            loss=loss,
            optimizer=optimizer,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=rng,
            callbacks=[progress, report_epoch],
            progress=False,
            compile=not args.eager,
        )
    finally:
        live.clear()  # the bar is transient: what follows starts at the left margin
    if history.stop_reason:
        print(f"stopped early: {history.stop_reason}")
    final = evaluate(model, X, y, loss)
    print(f"final loss {final['loss']:.4g}, accuracy {final['accuracy']:.1%}")
    if args.save is not None:
        with _naming_the_option("--save"):
            io.save(args.save, model, optimizer)
        print(f"saved {args.save}")
    if args.plot is not None:
        with _naming_the_option("--plot"):
            plots.plot_loss(history, os.path.join(args.plot, "loss.png"))
            plots.plot_decision_boundary(
                model, X, y, os.path.join(args.plot, "decision_boundary.png"), loss
            )
        print(f"wrote {os.path.join(args.plot, 'loss.png')} and decision_boundary.png")
    return 0


def _check_option_combinations(args: argparse.Namespace) -> None:
    if args.compile and args.eager:
        raise UsageError("--compile and --eager exclude each other: pick one engine")
    if args.momentum is not None and args.optimizer != "sgd":
        raise UsageError(f"--momentum applies to --optimizer sgd only, not {args.optimizer}")
    given = {"--samples": args.samples, "--noise": args.noise}
    moons_only = [option for option, value in given.items() if value is not None]
    if moons_only and args.dataset != "moons":
        verb = "applies" if len(moons_only) == 1 else "apply"
        raise UsageError(f"{' and '.join(moons_only)} {verb} to --dataset moons only")


def _check_network_size(inputs: int, hidden: list[int]) -> None:
    sizes = [inputs, *hidden, 1]
    layers = zip(sizes, sizes[1:], strict=False)
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in layers)  # weights and biases
    if parameters > _MAX_PARAMETERS:
        raise UsageError(
            f"--hidden: a network of {parameters:,} parameters; the limit is {_MAX_PARAMETERS:,}"
        )


def _prepare_plot_folder(folder: str, require_matplotlib: Callable[[], None]) -> None:
    try:
        require_matplotlib()
    except ImportError as error:
        raise UsageError(str(error)) from None
    try:
        existing_folder(folder, "--plot")  # refused when missing, as by every command
    except OSError as error:
        raise UsageError(str(error)) from None


@contextmanager
def _naming_the_option(option: str) -> Iterator[None]:
    """Turn a file error into a ``UsageError`` that names the command-line option."""
    try:
        yield
    except OSError as error:
        raise UsageError(f"{option}: {error}") from None
