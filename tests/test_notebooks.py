"""The notebooks in docs/notebooks run from top to bottom, so they never rot.

Each cell's claims are asserts; a notebook that raises fails here. Needs the
notebooks extra (nbclient, ipykernel), which CI installs; without it the
test is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import ROOT

NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_hand_out() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert "tutorial-parts-1-4.ipynb" in names and "training-xor.ipynb" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the Jupyter stack's own
def test_the_notebook_runs_and_its_checks_hold(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    # The kernel imports this checkout's package, installed or not.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    # The rich displays reached the notebook: HTML tables, and figures as PNG.
    shown = [kind for output in outputs for kind in output.get("data", {})]
    assert "text/html" in shown
    if path.stem == "training-xor":
        assert shown.count("image/png") == 2  # the loss curve and the decision boundary
