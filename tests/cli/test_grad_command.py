"""``tinygrad-gd grad EXPR --at ... [--wrt ...]``: value and gradient of a typed formula."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_gd.cli import main
from tinygrad_gd.tools import graph as viz
from tinygrad_gd.tools.parse import FUNCTIONS


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["grad", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def rows(out: str) -> dict[str, str]:
    return dict(line.split(maxsplit=1) for line in out.splitlines())  # type: ignore[misc]


def test_prints_the_value_and_every_partial_derivative(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "sigmoid(w*x) - t", "--at", "w=0.5,x=0.1,t=0.3")
    assert status == 0 and err == ""
    predicted = 1 / (1 + math.exp(-0.05))
    slope = predicted * (1 - predicted)  # σ'(w·x), by hand
    printed = rows(out)
    assert printed["formula"] == "sigmoid(w * x) - t"
    assert printed["at"] == "w = 0.5, x = 0.1, t = 0.3"
    assert float(printed["value"]) == pytest.approx(predicted - 0.3, rel=1e-15)
    assert float(printed["d/dw"]) == pytest.approx(slope * 0.1, rel=1e-14)
    assert float(printed["d/dx"]) == pytest.approx(slope * 0.5, rel=1e-14)
    assert float(printed["d/dt"]) == -1.0
    assert list(printed) == ["formula", "at", "value", "d/dw", "d/dx", "d/dt"]


def test_wrt_picks_variables_and_at_may_repeat(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "(sigmoid(w*x) - t) ** 2", "--at", "t=0.3", "--at", "x=0.1, w=0.5", "--wrt", "w"
    )
    assert status == 0
    printed = rows(out)
    assert printed["at"] == "w = 0.5, x = 0.1, t = 0.3"  # in the formula's order
    assert [key for key in printed if key.startswith("d/")] == ["d/dw"]
    assert float(printed["d/dw"]) == pytest.approx(0.0106182320, abs=1e-10)  # the tutorial's


def test_a_variable_may_be_called_self(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "self * x", "--at", "self=2,x=3")
    assert status == 0
    assert rows(out) == {
        "formula": "self * x", "at": "self = 2.0, x = 3.0", "value": "6.0",
        "d/dself": "3.0", "d/dx": "2.0",
    }  # fmt: skip


def test_a_formula_without_variables(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "2 ** 3 - 1")
    assert status == 0
    assert rows(out) == {"formula": "7", "at": "-", "value": "7.0"}


def test_ieee_results_are_printed_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "log(x)", "--at", "x=0")
    assert status == 0
    assert rows(out)["value"] == "-inf" and rows(out)["d/dx"] == "inf"


def test_a_leading_minus_needs_a_space_or_double_dash(capsys: pytest.CaptureFixture[str]) -> None:
    expected = {"formula": "-x ** 2", "at": "x = 3.0", "value": "-9.0", "d/dx": "-6.0"}
    status, out, _ = run(capsys, " -x ** 2", "--at", "x=3")
    assert status == 0 and rows(out) == expected
    status, out, _ = run(capsys, "--at", "x=3", "--", "-x ** 2")
    assert status == 0 and rows(out) == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x.real", "--at", "x=1"], "attribute access is not allowed in a formula: 'x.real'"),
        (["x +", "--at", "x=1"], "invalid syntax"),
        (["2 ** 10 ** 10"], "exponent 10000000000 is beyond"),
        (["x * y", "--at", "x=1"], "--at: no value for y (the variables: x, y)"),
        (["x", "--at", "x=1,y=2"], "--at: y is not a variable (the variables: x)"),
        (["x", "--at", "x=one"], "--at: x=one: 'one' is not a number"),
        (["x", "--at", "x"], "--at: expected NAME=NUMBER, got 'x'"),
        (["x", "--at", "x=1", "--at", "x=2"], "--at: x is given twice"),
        (["x", "--at", "x=1", "--wrt", "y"], "--wrt: 'y' is not a variable (the variables: x)"),
        (["3", "--at", "x=1"], "--at: x is not a variable (the variables: none)"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("tinygrad-gd grad: error: ")
    assert message in err


def test_the_installed_command_reports_without_a_traceback() -> None:
    command = [sys.executable, "-m", "tinygrad_gd", "grad", "__import__('os')", "--at", "x=1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "tinygrad-gd grad: error: names starting with '__' are reserved: "
        "'__import__' at column 1\n"
    )


def test_help_lists_the_functions_of_the_rule_table(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["grad", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(sorted(FUNCTIONS)) in text
    assert {"exp", "log", "sigmoid", "tanh", "relu", "abs", "sqrt", "sin", "cos"} <= set(FUNCTIONS)
    assert "--at NAME=NUMBER,..." in text and "--wrt NAME,..." in text


def test_explain_prints_the_chain_rule_of_each_derivative(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "sin(w * x)", "--at", "w=2,x=3", "--explain")
    assert status == 0
    blocks = out.split("\n\n")
    # The explainer names the output f; its chains end in dy/dx by hand: x·cos(wx), w·cos(wx).
    for name, by_hand in [("w", 3 * math.cos(6.0)), ("x", 2 * math.cos(6.0))]:
        (header,) = [b for b in blocks if b.startswith(f"d f / d {name} = ")]
        assert float(header.split(" = ")[1]) == pytest.approx(by_hand, rel=1e-9)
    paths = [line for line in out.splitlines() if line.startswith("path 1: f ← ")]
    assert [path.rsplit(" ← ", 1)[1] for path in paths] == ["w", "x"]


def test_explain_names_the_output_apart_from_a_variable_called_f(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "f * 2", "--at", "f=1", "--explain")
    assert status == 0 and "d f_ / d f = 2" in out


def test_dot_writes_the_graph_with_its_gradients(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "graph.dot"
    status, out, _ = run(capsys, "w * x", "--at", "w=0.5,x=4", "--dot", str(target))
    assert status == 0 and out.endswith(f"graph written to {target}\n")
    text = target.read_text()
    assert text.startswith("digraph")
    assert '"{w | data 0.5 | grad 4' in text and '"{x | data 4 | grad 0.5' in text


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing-folder/graph.dot", "cannot write"),  # an OSError
        ("graph.jpeg", "render: cannot tell the format of"),  # a ValueError
    ],
)
def test_dot_that_cannot_be_written_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, message: str
) -> None:
    status, out, err = run(capsys, "w * x", "--at", "w=0.5,x=4", "--dot", str(tmp_path / name))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert err.startswith("tinygrad-gd grad: error: --dot: ")  # like --at, --wrt, --explain


def test_dot_without_graphviz_for_an_image_names_the_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_graphviz() -> str:
        raise viz.GraphvizNotFoundError("the Graphviz program `dot` is not on the PATH")

    monkeypatch.setattr(viz, "find_dot", no_graphviz)
    status, out, err = run(capsys, "w", "--at", "w=1", "--dot", str(tmp_path / "graph.svg"))
    assert status == 2 and out == ""
    assert err == "tinygrad-gd grad: error: --dot: the Graphviz program `dot` is not on the PATH\n"


@pytest.mark.parametrize(
    ("expr", "limit"),
    [
        ("*".join(["x"] * 61), "1,890 local factors in all, more than max_factors=1000"),
        ("+".join(["x"] * 199), "sums over 199 paths, more than max_paths=100"),
    ],
    ids=["factors", "paths"],
)
def test_explain_beyond_its_limits_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], expr: str, limit: str
) -> None:
    status, out, err = run(capsys, expr, "--at", "x=1", "--explain")
    assert status == 2 and out == ""  # like every bad input: nothing half-printed
    assert err.count("\n") == 1 and err.startswith("tinygrad-gd grad: error: --explain: ")
    assert limit in err
    assert "the value and gradient are fine without --explain" in err
    status, out, _ = run(capsys, expr, "--at", "x=1")  # which the message promises
    assert status == 0 and "d/dx" in out
