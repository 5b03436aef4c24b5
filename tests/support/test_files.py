"""files: a save under faults (a kill, a read-only file, a link, a full disk) and what it leaves."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import run_python

from tinygrad_gd._support.files import atomic_write_text, replacing

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals, modes and links of POSIX")


def killed_mid_save(path: Path) -> list[str]:
    """Kill a child while its save of ``path`` is half written; the names it leaves."""
    code = (
        "import os, signal\n"
        "from tinygrad_gd._support.files import replacing\n"
        f"with replacing({str(path)!r}) as temporary:\n"
        "    temporary.write_text('half a fi')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    child = run_python(code)
    assert child.returncode == -9, child.stderr
    return sorted(os.listdir(path.parent))


@posix_only
def test_the_next_save_removes_the_temporary_a_killed_save_left(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")
    left = killed_mid_save(path)
    assert len(left) == 2 and left[0].startswith(".model.json.") and left[0].endswith(".tmp")
    assert path.read_text(encoding="utf-8") == "old"  # the kill broke nothing
    atomic_write_text(path, "new")
    assert os.listdir(tmp_path) == ["model.json"] and path.read_text(encoding="utf-8") == "new"


@posix_only
def test_a_save_leaves_temporaries_of_live_writers_and_other_names_alone(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as writer:
        try:
            kept = [
                f".model.json.{writer.pid}.0123abcd.tmp",  # a writer still at work
                f".other.json.{2**22 + 1}.0123abcd.tmp",  # another file's
                ".model.json.tmp",  # not of our pattern
                "model.json.999999.0123abcd.tmp",
            ]
            for name in kept:
                (tmp_path / name).write_text("someone's", encoding="utf-8")
            atomic_write_text(path, "new")
        finally:
            writer.kill()
    assert sorted(os.listdir(tmp_path)) == sorted([*kept, "model.json"])


@posix_only
def test_a_read_only_file_is_refused_and_keeps_contents_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o444)
    with pytest.raises(PermissionError, match=f"cannot write {path}: it is read-only .mode 0444"):
        atomic_write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "old" and path.stat().st_mode & 0o777 == 0o444
    assert os.listdir(tmp_path) == ["model.json"]


@posix_only
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    """A private file stays private: the new one does not get the umask's mode."""
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o600)
    old_umask = os.umask(0o022)
    try:
        atomic_write_text(path, "new")
    finally:
        os.umask(old_umask)
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text(encoding="utf-8") == "new"


@posix_only
def test_saving_through_a_link_writes_the_file_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "model.json"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new"
    assert os.listdir(tmp_path / "store") == ["model.json"]


def test_a_full_disk_names_the_target_not_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")

    def disk_full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() reports it

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as raised:
        atomic_write_text(path, "new")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(path)
    assert str(path) in str(raised.value) and ".tmp" not in str(raised.value)
    assert path.read_text(encoding="utf-8") == "old" and os.listdir(tmp_path) == ["model.json"]


@posix_only
def test_a_file_size_limit_names_the_target(tmp_path: Path) -> None:
    """A real EFBIG: the child may write files of 100 bytes at most."""
    path = tmp_path / "model.json"
    code = (
        "import resource, signal\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not a kill\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))\n"
        "from tinygrad_gd._support.files import atomic_write_text\n"
        "try:\n"
        f"    atomic_write_text({str(path)!r}, 'x' * 1000)\n"
        "except OSError as error:\n"
        "    print(error.errno, error.filename)\n"
    )
    child = run_python(code)
    assert child.stdout.split() == [str(errno.EFBIG), str(path)], child.stderr
    assert os.listdir(tmp_path) == []


def test_an_error_raised_inside_the_block_is_left_as_it_is(tmp_path: Path) -> None:
    """Only errors of writing the temporary are renamed; another file's keeps its name."""
    other = tmp_path / "missing" / "input.txt"
    with pytest.raises(FileNotFoundError) as raised, replacing(tmp_path / "out.txt"):
        other.read_text(encoding="utf-8")
    assert raised.value.filename == str(other)
