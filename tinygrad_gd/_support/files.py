"""Files written whole or not at all, and the checks of a path argument.

A file is written under a temporary name in its own folder and then renamed over the
target (one step on POSIX and Windows), so a reader sees the old file or the new one,
never half of one. Errors name the target, not the temporary.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_text", "check_writable", "existing_folder", "path_argument", "replacing"]


def path_argument(path: Any) -> Path:
    """``path`` as a Path, or ``TypeError`` if it is not a str or an os.PathLike of text.

    >>> path_argument("model.json").name
    'model.json'
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: {path!r}")
    return Path(path)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, if a file can be written there: its folder exists, it is no folder.

    Raises ``FileNotFoundError`` or ``IsADirectoryError`` naming ``path``.

    >>> import tempfile
    >>> check_writable(tempfile.gettempdir())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    IsADirectoryError: cannot write ...: it is a folder
    """
    target = path_argument(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder")
    if not target.absolute().parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: its folder does not exist")
    return target


def existing_folder(path: Any, name: str) -> Path:
    """``path`` as a Path, if it names an existing folder; errors say ``name`` first.

    Output folders are never made on the fly, by any command: a typo in a path
    would otherwise leave a stray folder and files where nobody looks.

    >>> existing_folder("/no/such/folder", "--plot")
    Traceback (most recent call last):
    FileNotFoundError: --plot /no/such/folder: no such folder; create it first
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}: {path!r}")
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"{name} {folder}: no such folder; create it first")
    if not folder.is_dir():
        raise NotADirectoryError(f"{name} {folder}: exists and is not a folder")
    return folder


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh temporary path beside ``path``; what is written there replaces ``path``.

    If the ``with`` block raises, ``path`` keeps its old contents and the
    temporary file is removed. The new file's permissions follow the umask.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with replacing(path) as temporary:
    ...     _ = temporary.write_text("written whole or not at all")
    >>> Path(path).read_text()
    'written whole or not at all'
    """
    target = check_writable(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as error:
        if error.filename is None or os.fspath(error.filename) != os.fspath(temporary):
            raise
        # The temporary's name would mislead: the user asked for the target.
        raise type(error)(error.errno, error.strerror, os.fspath(target)) from None
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: whole, or not at all.

    The data reaches the disk before the name points at it, so even a
    power cut leaves the old file or the new one.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> atomic_write_text(path, "hello\\n")
    >>> Path(path).read_text()
    'hello\\n'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    with replacing(path) as temporary, open(temporary, "x", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
