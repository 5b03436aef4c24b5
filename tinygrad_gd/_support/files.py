"""Files written whole or not at all, and the checks of a path argument.

A file is written under a temporary name in its own folder and then renamed over the
target (one step on POSIX and Windows), so a reader sees the old file or the new one,
never half of one. Errors name the target, not the temporary. Beyond that, a save:

* through a symbolic link replaces the file the link points to; the link stays;
* keeps an existing file's permissions, and refuses a file that no one may write
  (mode 0444) with a ``PermissionError`` naming it;
* removes, before it writes, the temporaries ``.NAME.PID.HEX.tmp`` of the same
  target that a writer killed mid-save left behind (those whose process is gone);
* names the target in the errors of writing itself (``ENOSPC`` disk full,
  ``EFBIG`` file too large).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
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
    """``path`` as a Path, if a file can be written there: its folder exists, it is no
    folder, and it is not a file that no one may write.

    Raises ``FileNotFoundError``, ``IsADirectoryError`` or ``PermissionError`` naming ``path``.

    >>> import tempfile
    >>> check_writable(tempfile.gettempdir())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    IsADirectoryError: cannot write ...: it is a folder
    """
    target = path_argument(path)
    real = _resolved(target)
    if real.is_dir():
        raise IsADirectoryError(f"cannot write {target}: it is a folder")
    if not real.parent.is_dir():
        raise FileNotFoundError(f"cannot write {target}: its folder does not exist")
    mode = _mode(real)
    # Judged by the mode bits, not by access(): the superuser may write anything,
    # and a save should mean the same whoever runs it.
    if mode is not None and not mode & 0o222:
        raise PermissionError(f"cannot write {target}: it is read-only (mode {mode:04o})")
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
    temporary file is removed. A new file's permissions follow the umask; a
    replaced file keeps its own.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.txt")
    >>> with replacing(path) as temporary:
    ...     _ = temporary.write_text("written whole or not at all")
    >>> Path(path).read_text()
    'written whole or not at all'
    """
    target = check_writable(path)
    real = _resolved(target)  # through a link, the file it points to
    _remove_stale_temporaries(real)
    mode = _mode(real)
    temporary = real.with_name(f".{real.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        yield temporary
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, real)
    except OSError as error:
        about_the_write = error.filename is None and error.errno is not None  # ENOSPC, EFBIG
        if not about_the_write and os.fspath(error.filename or "") != os.fspath(temporary):
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


def _resolved(target: Path) -> Path:
    return Path(os.path.realpath(target))


def _mode(path: Path) -> int | None:
    """The permission bits of the file at ``path``, or None if there is none."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _remove_stale_temporaries(real: Path) -> None:
    """Remove the temporaries of ``real`` whose writer was killed: our names, process gone."""
    ours = re.compile(rf"\.{re.escape(real.name)}\.(\d+)\.[0-9a-f]{{8}}\.tmp")
    try:
        names = os.listdir(real.parent)
    except OSError:
        return
    for name in names:
        match = ours.fullmatch(name)
        if match and not _process_alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                (real.parent / name).unlink()


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` may still be writing; when in doubt, yes."""
    if os.name != "posix" or pid == os.getpid():  # another thread of ours may be saving
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # it exists under another user, or no pid of this system
        return True
    return True
