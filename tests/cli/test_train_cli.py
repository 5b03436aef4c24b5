"""``tinygrad-gd train``: trains, reports, saves and plots; bad input is one line and exit 2."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli

from tinygrad_gd import data
from tinygrad_gd.cli import main
from tinygrad_gd.learning.io import load
from tinygrad_gd.learning.losses import HingeLoss
from tinygrad_gd.learning.nn import MLP
from tinygrad_gd.learning.train import evaluate

SIZES = "layer sizes must be whole numbers >= 1 separated by commas"


def test_xor_trains_to_full_accuracy_in_a_subprocess() -> None:
    done = run_cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "200")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar: standard error is not a terminal
    lines = done.stdout.splitlines()
    assert lines[0].startswith("xor: 4 samples; MLP(2, [4, 1], activation=['relu', 'linear']")
    assert sum(line.startswith("epoch ") for line in lines) == 10
    assert re.fullmatch(r"final loss \S+, accuracy 100\.0%", lines[-1])


def run_on_a_terminal(*arguments: str) -> tuple[int, str]:
    """Run the command with stdout and stderr on one pseudo-terminal, as in a shell.

    Returns the exit status and everything the terminal received.
    """
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "tinygrad_gd", "train", *arguments],
            stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal,
        )  # fmt: skip
    finally:
        os.close(terminal)  # else reading never ends: this process would hold it open
    received = bytearray()
    try:
        while select.select([controller], [], [], 120)[0]:  # a hung run fails, not hangs
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # Linux: EIO once the program has closed the terminal
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(controller)
    return process.wait(timeout=120), received.decode()


def screen_lines(received: str) -> list[str]:
    """The lines a terminal shows: after a \\r, text overwrites the line from its start."""
    lines = []
    for raw in received.split("\n"):
        shown = ""
        for part in raw.split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown.rstrip())
    return lines


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal (POSIX)")
def test_on_a_terminal_the_progress_bar_never_shares_a_line_with_an_epoch_line() -> None:
    status, received = run_on_a_terminal("--dataset", "xor", "--hidden", "4", "--epochs", "3")
    assert status == 0, received
    bar = re.compile(r"\[[#.]+\] epoch")
    assert bar.search(received)  # standard error is a terminal: the bar was drawn
    lines = screen_lines(received)
    mixed = [line for line in lines if bar.search(line) and re.search(r"epoch \d+  loss", line)]
    assert mixed == []
    assert [line[:9] for line in lines if line.startswith("epoch ")] == [
        "epoch 1  ", "epoch 2  ", "epoch 3  "
    ]  # fmt: skip


def test_moons_saves_a_loadable_model_and_plots_in_a_subprocess(tmp_path: Path) -> None:
    saved, plots = tmp_path / "moons.json", tmp_path / "plots"
    plots.mkdir()
    done = run_cli("train",
        "--samples", "40", "--epochs", "20", "--seed", "3",
        "--save", str(saved), "--plot", str(plots),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # The saved model, on the same data set regenerated from the seed, scores what was printed.
    X, y = data.moons(40, noise=0.1, seed=np.random.default_rng(3), labels=(-1, 1))
    model = MLP(2, [16, 16, 1], activation=["relu", "relu", "linear"], seed=0)
    load(saved, model)
    accuracy = evaluate(model, X, y, HingeLoss(l2=1e-4))["accuracy"]
    assert f"accuracy {accuracy:.1%}" in done.stdout.splitlines()[-3]
    for name in ("loss.png", "decision_boundary.png"):
        assert (plots / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_sgd_with_momentum_and_minibatches(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["train", "--dataset", "xor", "--hidden", "8", "--optimizer", "sgd", "--lr", "0.1",
         "--momentum", "0.9", "--batch-size", "2", "--epochs", "100", "--loss", "bce"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    # The optimizer as printed names its momentum: an ignored --momentum shows.
    assert "BCEWithLogitsLoss(l2=0.0001); SGD(33 parameters, lr=0.1, momentum=0.9)" in out
    assert "accuracy 100.0%" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--hidden", "16,x"], f"argument --hidden: {SIZES}, got '16,x'"),
        (["--hidden", "0"], f"argument --hidden: {SIZES}, got '0'"),
        (["--hidden", "²"], f"argument --hidden: {SIZES}, got '²'"),
        (["--epochs", "-1"], "argument --epochs: must be at least 0, got -1"),
        (["--epochs", "2.5"], "argument --epochs: not a whole number: '2.5'"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--lr", "-1"], "argument --lr: must be a positive finite number, got -1.0"),
        (["--lr", "1e999"], "argument --lr: must be a positive finite number, got inf"),
        (["--samples", "1"], "argument --samples: must be at least 2, got 1"),
        (["--noise", "nan"], "argument --noise: must be a number in [0, 10), got nan"),
        (["--momentum", "1.5"], "argument --momentum: must be a number in [0, 1), got 1.5"),
        (["--l2", "-1"], "argument --l2: must be a non-negative finite number, got -1.0"),
        (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
    ],
)
def test_a_bad_option_is_refused_while_parsing_naming_the_option(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *arguments])
    shown = capsys.readouterr()
    assert exit_info.value.code == 2 and shown.out == ""
    assert shown.err.splitlines()[-1] == f"tinygrad-gd train: error: {message}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--momentum", "0.9"], "--momentum applies to --optimizer sgd only, not adam"),
        (["--samples", "50"], "--samples applies to --dataset moons only"),
        (["--samples", "50", "--noise", "0"], "--samples and --noise apply to --dataset moons"),
        (["--save", "{missing}/m.json"], "--save: cannot write {missing}/m.json: its folder does"),
        (["--save", "{folder}"], "--save: cannot write {folder}: it is a folder"),
    ],
)
def test_options_that_cannot_go_together_are_one_line_on_stderr_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, arguments: list[str], message: str
) -> None:
    places = {"missing": tmp_path / "missing", "folder": tmp_path}
    arguments = [a.format(**places) for a in arguments]
    status = main(["train", "--dataset", "xor", "--epochs", "1", *arguments])
    shown = capsys.readouterr()
    assert status == 2 and shown.out == ""  # refused before training: nothing printed
    assert shown.err.startswith(f"tinygrad-gd train: error: {message.format(**places)}")
    assert shown.err.count("\n") == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--samples", "100001"], "argument --samples: must be at most 100000, got 100001"),
        (["--samples", "1000000000"], "argument --samples: must be at most 100000, got 1000000000"),
        (["--noise", "1e308"], "argument --noise: must be a number in [0, 10), got 1e+308"),
        # 2 inputs * 10**8 + 10**8 biases, then 10**8 weights and a bias into the output
        (["--hidden", "100000000"], "--hidden: a network of 400,000,001 parameters; the limit is"),
    ],
)
def test_sizes_beyond_the_limits_are_one_line_usage_errors(
    arguments: list[str], message: str
) -> None:
    """In a child with a timeout: without the limits these run until memory runs out."""
    done = run_cli("train", "--epochs", "1", *arguments, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1].startswith(f"tinygrad-gd train: error: {message}")


def test_a_huge_learning_rate_stops_training_without_numpy_warnings() -> None:
    done = run_cli("train", "--dataset", "xor", "--hidden", "4", "--epochs", "5", "--lr", "1e300")
    assert done.returncode == 0 and done.stderr == ""
    assert "stopped early: loss became nan" in done.stdout


def test_a_plot_folder_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("", encoding="utf-8")
    assert main(["train", "--dataset", "xor", "--plot", str(tmp_path / "taken")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_missing_plot_folder_is_refused_as_demo_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "plots"
    assert main(["train", "--dataset", "xor", "--plot", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"tinygrad-gd train: error: --plot {missing}: no such folder; create it first\n"
    )
    assert not missing.exists()


def test_plot_without_matplotlib_names_the_extra_and_trains_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["train", "--dataset", "xor", "--plot", str(tmp_path / "plots")]) == 2
    shown = capsys.readouterr()
    assert shown.out == "" and not (tmp_path / "plots").exists()
    assert shown.err == (
        'tinygrad-gd train: error: plotting needs matplotlib: pip install "tinygrad_gd[plot]"\n'
    )


def test_an_unknown_choice_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--dataset", "mnist"])
    assert exit_info.value.code == 2
    assert "argument --dataset: invalid choice: 'mnist'" in capsys.readouterr().err.splitlines()[-1]


def test_help_lists_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for option in ("--dataset", "--hidden", "--epochs", "--lr", "--optimizer", "--seed",
                   "--save", "--plot", "--batch-size", "--loss"):  # fmt: skip
        assert option in text


def test_eager_and_compile_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--dataset", "xor", "--epochs", "1", "--eager", "--compile"]) == 2
    assert "--compile and --eager exclude each other" in capsys.readouterr().err


def test_eager_trains_as_the_compiled_default_does(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["train", "--dataset", "moons", "--samples", "30", "--epochs", "3"]
    assert main(arguments) == 0
    compiled = capsys.readouterr().out.splitlines()
    assert main([*arguments, "--eager"]) == 0
    eager = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in compiled] == [line.split()[:3] for line in eager]
    assert compiled[-1] == eager[-1]  # the final loss and accuracy, to the digits printed


def test_help_states_the_limits(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # as one line, however argparse wraps
    assert "the number of points, 2 to 100000" in text
    assert "standard deviation, in [0, 10)" in text
    assert "100,000 parameters at most" in text
