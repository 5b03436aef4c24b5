"""What a user's type checker sees: grad(f)(x) has the argument's type, Value.grad is a float."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

PROBE = """
    import numpy as np
    from typing import Any, assert_type
    from numpy.typing import NDArray
    from tinygrad_gd import Value, grad, hessian, jvp

    def f(x: Any) -> Any:
        return x * x

    assert_type(grad(f)(2.0), float)
    assert_type(grad(f)(Value(2.0)), Value)
    assert_type(grad(f)([2.0]), list[Any])
    assert_type(grad(f)(np.array([2.0])), NDArray[Any])
    assert_type(Value(1.0).grad, float)
    assert_type(jvp(f, (1.0,), (1.0,)), tuple[Any, Any])
    g: float = grad(f)(2.0) * 3.0
"""


def test_public_returns_are_typed_for_a_strict_type_checker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pytest.importorskip("mypy.api")
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent(PROBE), encoding="utf-8")
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # where tinygrad_gd is found
    report, errors, status = api.run(["--strict", "--python-version", "3.11", str(probe)])
    assert status == 0, report + errors
