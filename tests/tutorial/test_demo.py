"""``tinygrad-gd demo``: the tutorial end to end, checked against plain arithmetic."""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import Terminal, run_cli
from helpers import sigmoid as sig

from tinygrad_gd.cli import main
from tinygrad_gd.tutorial.demo import run_demo


def part_one_gradient(w: float, published: bool = False) -> float:
    """dE/dw = 2 (pred − target) · σ'(·) · x at x = 0.1, target = 0.3, with math."""
    pred = sig(0.1 * w)
    at = sig(pred) if published else pred  # published: σ' of predicted, σ(pred)(1 − σ(pred))
    return 2 * (pred - 0.3) * at * (1 - at) * 0.1


def descend(w: float, rate: float, steps: int, published: bool = False) -> float:
    for _ in range(steps):
        w -= rate * part_one_gradient(w, published)
    return w


SEED_0_WEIGHT = float(np.random.default_rng(0).random(1)[0])  # the demo's Part 1 start


def steps_to_reach(w: float, rate: float, tolerance: float = 1e-3) -> tuple[int, float]:
    """Descend until |σ(0.1 w) − 0.3| < tolerance: (steps taken, final prediction)."""
    steps = 0
    while abs(sig(0.1 * w) - 0.3) >= tolerance:
        w -= rate * part_one_gradient(w)
        steps += 1
    return steps, sig(0.1 * w)


def test_the_demo_tells_part_one_in_a_screenful(tmp_path: Path) -> None:
    done = run_cli("demo", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "\r" not in done.stdout  # no live progress into a pipe
    text, lines = done.stdout, done.stdout.splitlines()
    assert len(lines) <= 100 and "FAIL" not in text
    w, x, target = SEED_0_WEIGHT, 0.1, 0.3
    predicted = sig(w * x)
    g1, g2, g3 = 2 * (predicted - target), predicted * (1 - predicted), x
    assert f"starting weight w = {w:.4f} (seed 0)" in text
    # The forward pass, the three g-factors and their product, each as the formula gives it.
    for name, value in [("sop", w * x), ("predicted", predicted),
                        ("error", (predicted - target) ** 2)]:  # fmt: skip
        assert any(line.split()[:1] == [name] and line.endswith(f"= {value:.10g}")
                   for line in lines), name  # fmt: skip
    for name, value in [("g1", g1), ("g2", g2), ("g3", g3)]:
        assert any(line.split()[:1] == [name] and line.endswith(f"= {value:.10g}")
                   for line in lines), name  # fmt: skip
    gradient = f"{part_one_gradient(w):.10g}"
    assert f"  dE/dw = g1 · g2 · g3 = {gradient}" in lines
    assert f"  w.grad = {gradient}, the same as by hand (difference 0.0e+00)" in lines
    assert "    d sop / d w            =  x                                  =  0.1" in lines
    # The slip: σ' taken at predicted, and how far that is from the true gradient.
    slipped = sig(predicted) * (1 - sig(predicted))
    published = part_one_gradient(w, published=True)
    assert f"= {slipped:.10g}, so its dE/dw = {published:.10g}" in text
    relative = abs(published - part_one_gradient(w)) / part_one_gradient(w)
    assert f"differs from the true gradient by {relative:.1%}" in text
    # Training stops once within 0.001, at the step plain arithmetic reaches it.
    steps, final = steps_to_reach(w, 0.5)
    assert f"reached: within 0.001 of the target after {steps:,} iterations " in text
    assert f"(prediction {final:.6f}, target 0.3)" in text
    last = f"  iteration {steps:>9,}  prediction {final:.6f}"
    assert any(line.startswith(last) for line in lines)
    # One line per part with its command, then what to try next.
    for part in (1, 2, 3, 4):
        assert sum(line.endswith(f"tinygrad-gd demo --part {part}") for line in lines) == 1
    assert lines[-7:][0] == "Try next:" and lines[-6].endswith(":")
    assert "tinygrad-gd demo --all" in text


def test_what_the_demo_suggests_runs(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    run_demo(iterations=0, out=out)
    lines = out.getvalue().splitlines()
    index = lines[lines.index("Try next:") - 7 : lines.index("Try next:")]
    parts = [line.split("tinygrad-gd ")[1].split() for line in index if "tinygrad-gd demo" in line]
    assert parts == [["demo", "--part", "1"], ["demo", "--part", "2"], ["demo", "--part", "3"],
                     ["demo", "--part", "4"], ["demo", "--all"]]  # fmt: skip
    for argv in parts[1:]:
        assert main([*argv, "--iterations", "0"]) == 0
    suggested = [line.strip() for line in lines[lines.index("Try next:") :]
                 if line.startswith("    tinygrad-gd ")]  # fmt: skip
    assert len(suggested) == 3
    for command in suggested:
        argv = shlex.split(command)[1:]  # as a shell splits it
        done = run_cli(*argv, "--epochs", "2") if argv[0] == "train" else run_cli(*argv)
        assert done.returncode == 0 and done.stderr == "", (command, done.stderr)
        if argv[0] == "grad":  # the gradient of Part 1 at w = 0.5, by the formula typed
            assert f"d/dw     {part_one_gradient(0.5):.12f}" in done.stdout


def test_every_part_in_detail_says_differs_never_fail(tmp_path: Path) -> None:
    done = run_cli("demo", "--all", "--iterations", "200", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "FAIL" not in done.stdout
    # Part 1 at seed 0: the hand-derived and automatic gradients, the published one differing.
    gradient = f"{part_one_gradient(SEED_0_WEIGHT):.10g}"
    assert f"  w[0]       {gradient}  {gradient}  0.0e+00   0.0e+00   ok" in lines
    published = f"{part_one_gradient(SEED_0_WEIGHT, published=True):.10g}"
    assert any(line.startswith(f"  w[0]       {published}") and line.endswith("differs")
               for line in lines)  # fmt: skip
    # The second run of Part 1 starts where the first did: its tables are not repeated.
    assert sum(line.startswith("dE/dw by hand") for line in lines) == 6
    assert "gradients at the start: as for part 1 (the rate changes the steps)" in lines
    summary = lines[
        lines.index("summary: largest difference of each gradient from the automatic one") :
    ]
    names = ["part 1", "part 1, lr 0.5", "part 2, 2 inputs", "part 2, 10 inputs", "part 3"]
    for name in [*names, "part 4, 5 hidden", "part 4, 8 hidden"]:
        row = next(line for line in summary if line.startswith(f"  {name}  "))
        assert " agrees " in row and " differs " in row  # hand = automatic; published differs
        assert row.endswith("not after 200 (the cap)")  # none gets there in 200 steps


def installed_script() -> Path:
    """The ``tinygrad-gd`` console script of this interpreter's environment, else on PATH."""
    for name in ("tinygrad-gd", "tinygrad-gd.exe"):
        beside = Path(sys.executable).with_name(name)
        if beside.is_file():
            return beside
    found = shutil.which("tinygrad-gd")
    if found is None:
        pytest.fail(
            f"the tinygrad-gd console script is neither next to {sys.executable} nor on PATH; "
            'install the package first: pip install ".[test]"'
        )
    return Path(found)


def test_the_installed_console_script_runs_the_demo(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(installed_script()), "demo", "--part", "1", "--iterations", "0"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    heading = lines.index("dE/dw by hand (the tutorial's g-factors) and by reverse mode:")
    assert lines[heading + 1].split()[:3] == ["parameter", "manual", "automatic"]
    gradient = f"{part_one_gradient(SEED_0_WEIGHT):.10g}"
    assert lines[heading + 2] == f"  w[0]       {gradient}  {gradient}  0.0e+00   0.0e+00   ok"


def test_part_one_trains_as_plain_arithmetic_does() -> None:
    out = io.StringIO()
    results = run_demo(parts=[1], iterations=50, out=out)
    text = out.getvalue()
    assert results.passed
    for result, rate in zip(results.results, (0.01, 0.5), strict=True):
        expected = sig(0.1 * descend(SEED_0_WEIGHT, rate, 50))
        assert float(result.run.predictions[-1]) == pytest.approx(expected, rel=1e-12)
        assert f"(prediction {expected:.6f}, target 0.3)" in text
    assert "d sop / d w            =  x" in text  # explain's three factors, once
    assert text.count("path 1: error ← predicted ← sop ← w") == 1


def test_the_published_gradient_can_train() -> None:
    (result,) = run_demo(parts=[1], iterations=30, method="published", out=io.StringIO()).results[
        :1
    ]
    expected = sig(0.1 * descend(SEED_0_WEIGHT, 0.01, 30, published=True))
    assert float(result.run.predictions[-1]) == pytest.approx(expected, rel=1e-12)


def test_part_three_explains_a_hidden_weight() -> None:
    out = io.StringIO()
    run_demo(parts=[3], iterations=0, out=out)
    assert "path 1: error ← predicted ← sop ← h1 ← sop1 ← w1_1" in out.getvalue()


def test_options_reach_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--part", "2", "--lr", "0.2", "--iterations", "10", "--seed", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("learning rate 0.2") == 2 and "== part 1" not in out
    (w,) = np.random.default_rng(4).random((1, 2))
    assert f"w = [{w[0]:.4f}, {w[1]:.4f}]" in out
    assert "iteration        10" in out


def test_progress_is_live_only_on_a_terminal() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    run_demo(parts=[1], iterations=50, out=terminal)
    run_demo(parts=[1], iterations=50, out=pipe)
    assert "\r  iteration 2 of at most 50: prediction" in terminal.getvalue()
    assert "\r" not in pipe.getvalue()
    # Apart from the live line, both say the same.
    assert (
        pipe.getvalue().count("iteration        50")
        == terminal.getvalue().count("iteration        50")
        == 2
    )


def test_plot_writes_one_png_per_network(tmp_path: Path) -> None:
    folder = tmp_path / "figures"
    folder.mkdir()
    assert main(["demo", "--part", "1", "--iterations", "20", "--plot", str(folder)]) == 0
    written = sorted(folder.iterdir())
    assert [p.name for p in written] == ["part-1-lr-0.5.png", "part-1.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in written)


def test_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["demo", "--plot", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        'tinygrad-gd demo: error: plotting needs matplotlib: pip install "tinygrad_gd[plot]"\n'
    )
    assert list(tmp_path.iterdir()) == []


def test_graph_writes_dot_files(tmp_path: Path) -> None:
    assert main(["demo", "--part", "3", "--iterations", "0", "--graph", str(tmp_path)]) == 0
    text = (tmp_path / "part-3.dot").read_text()
    assert text.startswith("digraph") and "{w1_1 | data" in text and "{error | data" in text


def test_graph_images_need_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    assert main(["demo", "--graph", str(tmp_path), "--graph-format", "svg"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith("tinygrad-gd demo: error: the Graphviz program `dot`")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--plot", "--graph"])
def test_a_missing_folder_is_refused_naming_the_option(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing"
    assert main(["demo", option, str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not missing.exists()
    assert captured.err == (
        f"tinygrad-gd demo: error: {option} {missing}: no such folder; create it first\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "0"], "argument --lr: must be a positive finite number, got 0.0"),
        (["--lr", "nan"], "argument --lr: must be a positive finite number"),
        (["--iterations", "-1"], "argument --iterations: must be at least 0, got -1"),
        (["--iterations", "2.5"], "argument --iterations: not a whole number: '2.5'"),
        (["--seed", "x"], "argument --seed: not a whole number: 'x'"),
        (["--part", "5"], "argument --part: invalid choice: 5"),
        (["--gradient", "guess"], "argument --gradient: invalid choice: 'guess'"),
    ],
)
def test_bad_options_exit_2_naming_them(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err.splitlines()[-1]


def test_a_plot_path_that_is_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "figures"
    occupied.write_text("not a folder")
    assert main(["demo", "--plot", str(occupied)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"parts": [1, 7]}, ValueError, r"part must be one of \[1, 2, 3, 4\], got 7"),
        ({"parts": []}, ValueError, r"parts must name at least one of \[1, 2, 3, 4\]"),
        ({"parts": 1}, TypeError, r"parts must be a sequence of part numbers .* got 1"),
        ({"parts": [1.0]}, TypeError, "part must be a whole number, got float: 1.0"),
        ({"iterations": -5}, ValueError, "iterations must be at least 0, got -5"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate must be a positive finite number"),
        ({"seed": "0"}, TypeError, "seed must be a whole number, got str: '0'"),
        ({"method": "guess"}, ValueError, "method must be one of 'automatic', .* got 'guess'"),
        ({"graph_format": "gif"}, ValueError, "graph_format must be one of 'dot', .* got 'gif'"),
        ({"plot_dir": 3}, TypeError, "plot_dir must be a path, got int: 3"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_run_demo_checks_everything_before_printing(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    out = io.StringIO()
    with pytest.raises(error, match=message):
        run_demo(**{"parts": [1], "iterations": 1, **kwargs}, out=out)  # type: ignore[arg-type]
    assert out.getvalue() == ""


def test_run_demo_refuses_a_file_or_a_missing_folder_and_makes_none(tmp_path: Path) -> None:
    occupied, fresh = tmp_path / "occupied", tmp_path / "fresh"
    occupied.write_text("not a folder")
    out = io.StringIO()
    with pytest.raises(NotADirectoryError, match=f"graph_dir {occupied}: exists and is not a"):
        run_demo(parts=[1], iterations=0, plot_dir=tmp_path, graph_dir=occupied, out=out)
    with pytest.raises(FileNotFoundError, match=f"plot_dir {fresh}: no such folder"):
        run_demo(parts=[1], iterations=0, plot_dir=fresh, out=out)
    assert out.getvalue() == "" and not fresh.exists()


def test_a_figure_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "part-1-lr-0.5.png").mkdir()  # a folder where the second figure should go
    assert main(["demo", "--part", "1", "--iterations", "0", "--plot", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "figure: " in captured.out  # the first network's figure was written
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("tinygrad-gd demo: error: ")
    assert "part-1-lr-0.5.png" in captured.err


def test_graphviz_failing_during_the_run_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "dot"
    failing = "import sys\nsys.stderr.write('Error: out of memory\\n')\nsys.exit(1)\n"
    program.write_text(f"#!{sys.executable}\n{failing}")
    program.chmod(0o755)
    monkeypatch.setattr(
        shutil, "which", lambda name, path=None: str(program) if name == "dot" else None
    )
    (tmp_path / "graphs").mkdir()
    argv = ["demo", "--part", "3", "--iterations", "0", "--graph", str(tmp_path / "graphs")]
    assert main([*argv, "--graph-format", "svg"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"tinygrad-gd demo: error: render: Graphviz could not draw "
        f"{tmp_path / 'graphs' / 'part-3.svg'}: Error: out of memory\n"
    )
    assert list((tmp_path / "graphs").iterdir()) == []  # no half-written image
