"""Save and load a model's parameters (and an optimizer's state) as JSON.

The file is plain JSON that a person can read: a format name and version, the
model's ``repr``, its :meth:`~tinygrad_gd.learning.nn.Module.state_dict` and, if given,
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

import json
import os
import stat
from typing import Any

from tinygrad_gd._support.files import atomic_write_text, path_argument
from tinygrad_gd.learning.nn import Module
from tinygrad_gd.learning.optim import Optimizer

__all__ = [
    "FORMAT",
    "MAX_FILE_SIZE",
    "VERSION",
    "ParameterFileError",
    "load",
    "save",
]

FORMAT = "tinygrad_gd parameters"
"""The ``format`` field that marks a file as ours."""
VERSION = 1
"""The version of the file layout this module writes and reads."""
MAX_FILE_SIZE = 64 * 2**20
"""The largest parameter file ``load`` reads, in bytes (64 MiB: some three million numbers)."""
_KEYS = ("format", "version", "model", "parameters", "optimizer")
"""The top-level keys of a parameter file; ``optimizer`` is optional."""


class ParameterFileError(ValueError):
    """A parameter file that cannot be loaded: corrupt, truncated or for another model.

    A ``ValueError``, so ``except ValueError`` catches bad input of every kind.

    >>> issubclass(ParameterFileError, ValueError)
    True
    """


def save(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None) -> None:
    """Write ``model``'s parameters (and ``optimizer``'s state) to ``path``, atomically.

    Raises ``ValueError`` before writing anything if a parameter is not
    finite (JSON has no nan or inf), and an ``OSError`` naming ``path`` if
    its folder does not exist or it is a folder itself.

    >>> import os, tempfile
    >>> from pathlib import Path
    >>> from tinygrad_gd import nn, optim
    >>> model = nn.Neuron(2, seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "neuron.json")
    >>> save(path, model, optim.SGD(model.parameters(), lr=0.1))
    >>> print(Path(path).read_text())  # doctest: +ELLIPSIS
    {
     "format": "tinygrad_gd parameters",
     "version": 1,
     "model": "Neuron(2, activation='relu', bias=True)",
     "parameters": {"weight": [..., ...], "bias": ...},
     "optimizer": {"type": "SGD", "steps": 0, "buffers": {}}
    }
    """
    target = path_argument(path)
    _check_model_and_optimizer(model, optimizer)
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
    except ValueError:
        raise ValueError(
            f"cannot save {model!r}: a parameter or optimizer value is nan or inf"
        ) from None
    atomic_write_text(target, "{\n " + ",\n ".join(entries) + "\n}\n")


def load(path: str | os.PathLike[str], model: Module, optimizer: Optimizer | None = None) -> None:
    """Set ``model``'s parameters (and ``optimizer``'s state) from the file at ``path``.

    Raises :class:`ParameterFileError` naming the file and the problem, and
    leaves ``model`` and ``optimizer`` unchanged, when the file is not one
    of ours, is truncated or corrupt, holds another architecture, a key it
    does not know or an optimizer state no optimizer could reach (a negative
    Adam second moment), or lacks the optimizer state asked for. What is
    not a regular file (a FIFO, a device) or holds more than
    :data:`MAX_FILE_SIZE` bytes is refused before it is read. A missing
    file raises ``FileNotFoundError``.

    >>> import os, tempfile
    >>> from tinygrad_gd import nn
    >>> path = os.path.join(tempfile.mkdtemp(), "neuron.json")
    >>> save(path, nn.Neuron(2, seed=0))
    >>> copy = nn.Neuron(2, seed=1)
    >>> load(path, copy)
    >>> copy.state_dict() == nn.Neuron(2, seed=0).state_dict()
    True
    >>> load(path, nn.Neuron(3, seed=0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    tinygrad_gd.learning.io.ParameterFileError: ...holds parameters of Neuron(2, ...), not of ...
    """
    name = os.fspath(path_argument(path))
    _check_model_and_optimizer(model, optimizer)
    content = _read_parameter_file(name)
    try:
        document = json.loads(content)
    except RecursionError:  # nesting deeper than the parser's recursion limit
        raise ParameterFileError(f"{name}: not a parameter file (nested too deeply)") from None
    except MemoryError:
        raise ParameterFileError(f"{name}: too large to read in the memory available") from None
    except ValueError as error:  # bad JSON, bad UTF-8, an integer of too many digits
        raise ParameterFileError(
            f"{name}: not valid JSON (truncated or corrupt?): {error}"
        ) from None
    problem = _header_problem(document, model, optimizer)
    if problem:
        raise ParameterFileError(f"{name}: {problem}")
    saved_model = model.state_dict()
    try:
        model.load_state_dict(document["parameters"])
        if optimizer is not None:
            optimizer.load_state_dict(document["optimizer"])
    except ValueError as error:
        # Each load checks all before it changes anything; undo the model's
        # if the optimizer's then fails.
        model.load_state_dict(saved_model)
        raise ParameterFileError(f"{name}: {error}") from None


def _read_parameter_file(name: str) -> bytes:
    """The bytes of the file ``name``, once it is known to be a regular file of a sane size.

    Opened without blocking and judged by the open file itself, so a FIFO
    with no writer or a device is refused at once, and a file that grows
    after the check is still read no further than the limit.
    """
    descriptor = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(descriptor, "rb") as file:
        kind = os.fstat(descriptor)
        if not stat.S_ISREG(kind.st_mode):
            raise ParameterFileError(f"{name}: not a regular file ({_kind(kind.st_mode)})")
        if kind.st_size > MAX_FILE_SIZE:
            raise ParameterFileError(
                f"{name}: {kind.st_size:,} bytes, more than a parameter file's limit "
                f"of {MAX_FILE_SIZE:,} (MAX_FILE_SIZE)"
            )
        content = file.read(MAX_FILE_SIZE + 1)
    if len(content) > MAX_FILE_SIZE:
        raise ParameterFileError(
            f"{name}: more than a parameter file's limit of {MAX_FILE_SIZE:,} bytes"
        )
    return content


def _kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISDIR: "a folder",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "not a regular file")


def _check_model_and_optimizer(model: Any, optimizer: Any) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}: {model!r}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"optimizer must be an optim.Optimizer or None, got {type(optimizer).__name__}: "
            f"{optimizer!r}"
        )


def _header_problem(document: Any, model: Module, optimizer: Optimizer | None) -> str | None:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        return f"not a tinygrad_gd parameter file (no 'format': {FORMAT!r})"
    version = document.get("version")
    # A version is a whole number; true equals 1 in Python but is no version.
    if type(version) is not int or version != VERSION:
        return f"format version {_brief(json.dumps(version))}; this library reads version {VERSION}"
    if document.get("model") != repr(model):
        return f"holds parameters of {_brief(str(document.get('model')))}, not of {model!r}"
    if "parameters" not in document:
        return "has no 'parameters'"
    if optimizer is not None and "optimizer" not in document:
        return "has no optimizer state; load it without an optimizer"
    unknown = [key for key in document if key not in _KEYS]
    if unknown:
        return f"unknown keys {_brief(', '.join(map(repr, unknown)))}; a parameter file has {_KEYS}"
    return None


def _brief(text: str, limit: int = 80) -> str:
    """``text`` cut to ``limit`` characters: a file's content may be any size."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
