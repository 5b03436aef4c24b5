"""What several test files share: sigmoid by its formula, a terminal, the CLI as users run it,
and code run in a child process, where a fault could hang or kill the test run."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The checkout's root, where README.md, docs/ and the package are."""


def sigmoid(z: float) -> float:
    """σ(z) = 1 / (1 + e^-z), straight from the formula: the tests' independent reference."""
    return 1.0 / (1.0 + math.exp(-z))


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, so live progress lines are drawn on it."""

    def isatty(self) -> bool:
        return True


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m tinygrad_gd ARGS`` in a fresh interpreter, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_gd", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def run_python(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -c CODE`` in a fresh interpreter: a hang becomes ``TimeoutExpired``, a kill
    or a memory cap stays in the child."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )
