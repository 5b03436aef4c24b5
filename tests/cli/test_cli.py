"""The command line as a whole: ``--help``, ``--version``, ``python -m``, bad input.

Each command has its own tests (tests/cli/test_grad_command.py, test_train_cli.py, and
tests/tutorial/test_demo.py for the demo);
these pin what every command shares.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT, run_cli

from tinygrad_gd import __version__
from tinygrad_gd.cli import main


def test_help_lists_the_commands(tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("usage: tinygrad-gd")
    for command in ("demo", "grad", "train"):
        assert f"    {command} " in done.stdout, command


@pytest.mark.parametrize("command", ["demo", "grad", "train"])
def test_each_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: tinygrad-gd {command}")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"tinygrad-gd {__version__}\n"


def test_a_bad_option_exits_2_naming_it_with_the_commands_usage(tmp_path: Path) -> None:
    done = run_cli("demo", "--bogus", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: tinygrad-gd demo ")  # the command's, not the top's
    assert done.stderr.splitlines()[-1] == (
        "tinygrad-gd demo: error: unrecognized arguments: --bogus"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--iteration", "5"],
         "tinygrad-gd demo: error: unrecognized arguments: --iteration 5 "
         "(did you mean --iterations?)"),
        (["train", "--hiden=4"],
         "tinygrad-gd train: error: unrecognized arguments: --hiden=4 (did you mean --hidden?)"),
        (["grad", "x", "--ex"],  # no abbreviation is taken as the option: it is suggested
         "tinygrad-gd grad: error: unrecognized arguments: --ex (did you mean --explain?)"),
        (["dmo"], "(did you mean demo?)"),
        (["demo", "--gradient", "atomatic"], "(did you mean automatic?)"),
    ],
    ids=["option", "option=value", "abbreviation", "command", "choice"],
)  # fmt: skip
def test_a_typo_gets_a_suggestion(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.endswith(message)


@pytest.mark.parametrize("command", ["demo", "grad", "train", "codegen"])
def test_no_long_option_can_be_abbreviated(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from tinygrad_gd.cli import _build_parser

    parser, commands = _build_parser()
    assert parser.allow_abbrev is False and commands[command].allow_abbrev is False
    options = [o for a in commands[command]._actions for o in a.option_strings if o != "--help"]
    longest = max((o for o in options if o.startswith("--")), key=len)
    with pytest.raises(SystemExit):
        main([command, *(["x"] if command == "grad" else []), longest[:-1]])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_an_unknown_word_far_from_every_option_gets_no_guess(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--xyz"])
    assert capsys.readouterr().err.splitlines()[-1] == (
        "tinygrad-gd demo: error: unrecognized arguments: --xyz"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["demo", "--iterations", "many"], "argument --iterations: not a whole number"),
        (["demo", "--lr", "fast"], "argument --lr: not a number"),
        (["demo", "--seed"], "argument --seed: expected one argument"),
        (["train-all"], "invalid choice: 'train-all'"),
        ([], "the following arguments are required: COMMAND"),
    ],
    ids=["iterations", "lr", "missing value", "unknown command", "no command"],
)
def test_bad_input_exits_2_with_the_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err.splitlines()[-1]


def test_the_readme_and_ci_run_the_same_test_command() -> None:
    root = ROOT
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = 'pip install ".[test]" && python -m pytest'
    assert f"\n    {command}\n" in readme
    assert f"run bash -c '{command}'" in (root / ".ci" / "run").read_text(encoding="utf-8")


def test_output_a_console_cannot_encode_is_escaped_not_a_crash(tmp_path: Path) -> None:
    # A Windows console's code page has no σ and no ← (which --explain prints).
    environment = {**os.environ, "PYTHONIOENCODING": "cp1252"}
    command = [sys.executable, "-m", "tinygrad_gd", "grad", "σ * x", "--at", "σ=1,x=2"]
    done = subprocess.run(
        [*command, "--explain"], capture_output=True, cwd=tmp_path, env=environment, timeout=60
    )
    assert done.returncode == 0 and done.stderr == b""
    out = done.stdout.decode("cp1252")
    assert "formula  \\u03c3 * x" in out and "path 1: f \\u2190 \\u03c3" in out
    done = subprocess.run(
        [*command[:-3], "σ.real"], capture_output=True, cwd=tmp_path, env=environment, timeout=60
    )
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode("cp1252") == (
        "tinygrad-gd grad: error: attribute access is not allowed in a formula: "
        "'\\u03c3.real' at column 1\n"
    )
