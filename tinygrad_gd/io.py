"""Save and load a model's parameters (and an optimizer's state) as JSON.

The file is plain JSON that a person can read: a format name and version, the
model's ``repr``, its :meth:`~tinygrad_gd.nn.Module.state_dict` and, if given,
the optimizer's. Numbers are written with full precision, so loading gives
back exactly the same predictions. A save is atomic: the text goes to a
temporary file in the same directory, which then replaces the target in one
step, so a crash never leaves half a file. A load checks everything (JSON,
format, version, architecture, every shape and number) before it changes the
model or the optimizer; on any problem it raises :class:`ParameterFileError`
and both stay as they were. Nothing is ever unpickled or evaluated.

>>> import os, tempfile
>>> from tinygrad_gd import nn
>>> model = nn.MLP(2, [3, 1], seed=0)
>>> path = os.path.join(tempfile.mkdtemp(), "model.json")
>>> save(path, model)
>>> copy = nn.MLP(2, [3, 1], seed=1)
>>> load(path, copy)
>>> copy.state_dict() == model.state_dict()
True
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import Any

from tinygrad_gd.nn import Module
from tinygrad_gd.optim import Optimizer

__all__ = ["FORMAT", "VERSION", "ParameterFileError", "load", "save"]

FORMAT = "tinygrad_gd parameters"
"""The ``format`` field that marks a file as ours."""
VERSION = 1
"""The version of the file layout this module writes and reads."""


class ParameterFileError(ValueError):
    """A parameter file that cannot be loaded: corrupt, truncated or for another model."""


def save(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None) -> None:
    """Write ``model``'s parameters (and ``optimizer``'s state) to ``path``, atomically.

    Raises ``ValueError`` before writing anything if a parameter is not
    finite (JSON has no nan or inf).
    """
    document: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": repr(model),
        "parameters": model.state_dict(),
    }
    if optimizer is not None:
        document["optimizer"] = optimizer.state_dict()
    try:
        # One line per entry: the header reads at a glance, the numbers stay compact.
        entries = [
            f"{json.dumps(key)}: {json.dumps(value, allow_nan=False)}"
            for key, value in document.items()
        ]
        text = "{\n " + ",\n ".join(entries) + "\n}\n"
    except ValueError:
        raise ValueError(
            f"cannot save {model!r}: a parameter or optimizer value is nan or inf"
        ) from None
    _write_atomically(os.fspath(path), text)


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())  # the data is on disk before the name points at it
        os.chmod(temporary, 0o644)  # mkstemp's 0o600 would hide the file from others
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None) -> None:
    """Set ``model``'s parameters (and ``optimizer``'s state) from the file at ``path``.

    Raises :class:`ParameterFileError` naming the file and the problem, and
    leaves ``model`` and ``optimizer`` unchanged, when the file is not one
    of ours, is truncated or corrupt, holds another architecture or lacks the
    optimizer state asked for. A missing file raises ``FileNotFoundError``.
    """
    name = os.fspath(path)
    with open(name, "rb") as file:
        content = file.read()
    try:
        document = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ParameterFileError(
            f"{name}: not valid JSON (truncated or corrupt?): {error}"
        ) from None
    problem = _header_problem(document, model, optimizer)
    if problem:
        raise ParameterFileError(f"{name}: {problem}")
    saved_model = model.state_dict()
    saved_optimizer = None if optimizer is None else optimizer.state_dict()
    try:
        model.load_state_dict(document["parameters"])
        if optimizer is not None:
            optimizer.load_state_dict(document["optimizer"])
    except ValueError as error:
        # Each load checks all before it changes anything; undo the model's
        # if the optimizer's then fails.
        model.load_state_dict(saved_model)
        if optimizer is not None and saved_optimizer is not None:
            optimizer.load_state_dict(saved_optimizer)
        raise ParameterFileError(f"{name}: {error}") from None


def _header_problem(document: Any, model: Module, optimizer: Optimizer | None) -> str | None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return f"not a tinygrad_gd parameter file (no 'format': {FORMAT!r})"
    if document.get("version") != VERSION:
        return f"format version {document.get('version')!r}; this library reads version {VERSION}"
    if document.get("model") != repr(model):
        return f"holds parameters of {document.get('model')}, not of {model!r}"
    if "parameters" not in document:
        return "has no 'parameters'"
    if optimizer is not None and "optimizer" not in document:
        return "has no optimizer state; load it without an optimizer"
    return None
