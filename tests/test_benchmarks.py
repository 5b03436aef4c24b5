"""The benchmarks behind docs/performance.md run, at sizes small enough for the suite.

Their figures are measured with the commands the docs give, at full size and
by hand; this keeps the scripts from rotting in between. Timings at these
sizes mean nothing, so only that a script runs to its summary is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import ROOT

BENCHMARKS = ROOT / "benchmarks"

# script: (arguments that make it small, a line of the summary it prints last)
SMALL_RUNS = {
    "engine.py": (
        ["--nodes", "200", "--chain", "200", "--repeat", "1", "--loop-nodes", "400"],
        "us per step of Part 1",
    ),
    "anomaly.py": (["--nodes", "200", "--repeat", "1"], "the check alone:"),
    "compile.py": (["--iterations", "10", "--chain", "200", "--repeat", "1"], "each call after"),
    "pack.py": (["--widths", "4", "--repeat", "1", "--scalar-max", "4"], "compile cost"),
    "tutorial_claims.py": (["--seeds", "2", "--max-iterations", "1000"], "part 4, 8 hidden"),
    "gc_slots.py": (["--chain", "200", "--repeat", "1"], "8 slots rather than 10"),
}


def test_every_benchmark_is_run_here() -> None:
    scripts = {path.name for path in BENCHMARKS.glob("*.py") if path.name != "micrograd_ops.py"}
    assert scripts == set(SMALL_RUNS)


@pytest.mark.parametrize("script", sorted(SMALL_RUNS))
def test_the_benchmark_runs_to_its_summary(script: str) -> None:
    arguments, summary = SMALL_RUNS[script]
    # the checkout first on the path, as the docs run them
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    environment = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert summary in done.stdout
