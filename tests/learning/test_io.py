"""io: JSON round trips are exact; a bad file is refused and leaves everything as it was."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import run_python

from tinygrad_gd import data
from tinygrad_gd._support.files import atomic_write_text, replacing
from tinygrad_gd.learning.io import (
    FORMAT,
    MAX_FILE_SIZE,
    VERSION,
    ParameterFileError,
    load,
    save,
)
from tinygrad_gd.learning.losses import HingeLoss
from tinygrad_gd.learning.nn import MLP
from tinygrad_gd.learning.optim import SGD, Adam
from tinygrad_gd.learning.train import fit


def trained() -> tuple[MLP, Adam]:
    X, y = data.moons(20, noise=0.1, seed=0, labels=(-1, 1))
    model = MLP(2, [4, 1], activation=["tanh", "linear"], seed=0)
    optimizer = Adam(model.parameters(), lr=0.05)
    fit(model, X, y, loss=HingeLoss(), optimizer=optimizer, epochs=3)
    return model, optimizer


def test_a_round_trip_reproduces_predictions_exactly(tmp_path: Path) -> None:
    model, _ = trained()
    path = tmp_path / "model.json"
    save(path, model)
    copy = MLP(2, [4, 1], activation=["tanh", "linear"], seed=99)
    load(path, copy)
    X = np.random.default_rng(0).normal(size=(50, 2))
    assert np.array_equal(copy.predict(X), model.predict(X))
    assert copy([0.3, -0.2]).data == model([0.3, -0.2]).data


def test_the_file_is_plain_json_with_format_version_and_architecture(tmp_path: Path) -> None:
    model, optimizer = trained()
    save(str(tmp_path / "model.json"), model, optimizer)
    document = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert document["format"] == FORMAT and document["version"] == VERSION == 1
    assert document["model"] == "MLP(2, [4, 1], activation=['tanh', 'linear'], bias=True)"
    assert document["parameters"] == model.state_dict()
    assert document["optimizer"]["type"] == "Adam" and document["optimizer"]["steps"] == 3


def test_optimizer_state_resumes_training_exactly(tmp_path: Path) -> None:
    X, y = data.moons(20, noise=0.1, seed=0, labels=(-1, 1))
    model, optimizer = trained()
    save(tmp_path / "checkpoint.json", model, optimizer)
    fit(model, X, y, loss=HingeLoss(), optimizer=optimizer, epochs=2)

    resumed = MLP(2, [4, 1], activation=["tanh", "linear"], seed=7)
    resumed_optimizer = Adam(resumed.parameters(), lr=0.05)
    load(tmp_path / "checkpoint.json", resumed, resumed_optimizer)
    fit(resumed, X, y, loss=HingeLoss(), optimizer=resumed_optimizer, epochs=2)
    assert resumed.state_dict() == model.state_dict()
    assert resumed_optimizer.state_dict() == optimizer.state_dict()


def write(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document), encoding="utf-8")


def saved_document(model: MLP, optimizer: Adam) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": repr(model),
        "parameters": MLP(2, [4, 1], activation=["tanh", "linear"], seed=5).state_dict(),
        "optimizer": Adam(optimizer.params).state_dict(),
    }


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: "", "not valid JSON"),
        (lambda text: "\x00\xff garbage", "not valid JSON"),
        (lambda text: "[1, 2, 3]", "not a tinygrad_gd parameter file"),
        (lambda text: text.replace('"version": 1', '"version": 2'), "format version 2"),
        (lambda text: text.replace("tanh", "relu"), r"holds parameters of MLP\(2, \[4, 1\]"),
        (lambda text: text.replace('"parameters"', '"params"'), "has no 'parameters'"),
        (lambda text: text.replace('"optimizer"', '"other"'), "has no optimizer state"),
        (lambda text: text.replace('"bias": [', '"bias": [1e999, '), r"bias: expected a list"),
        (lambda text: text.replace('"m": [0.0', '"m": [NaN'), r"'m'\[0\] must be a finite"),
        (lambda text: text.replace('"steps": 0', '"steps": -3'), "steps must be at least 0"),
        (lambda text: text.replace('"steps": 0', '"steps": "0"'), "steps must be a whole number"),
        (lambda text: text.replace('"m": [0.0', '"m": [1' + "0" * 400), r"'m'\[0\] is too large"),
        (lambda text: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (lambda text: text.replace('"steps": 0', '"steps": 1' + "0" * 5000), "not valid JSON"),
        (lambda text: text.replace('"type": "Adam"', '"type": "SGD"'), "state is for SGD"),
        # true == 1 in Python, but a bool is no number (as everywhere in the library)
        (lambda text: text.replace('"version": 1', '"version": true'), "format version true"),
        (lambda text: text.replace("{", '{"comment": 0, ', 1), "unknown keys 'comment'"),
        # Adam's v is a mean of squares: the next step would take the root of -1
        (lambda text: text.replace('"v": [0.0', '"v": [-1.0'), r"'v'\[0\] must be a non-negative"),
    ],
)
def test_a_bad_file_raises_and_leaves_model_and_optimizer_untouched(
    tmp_path: Path, spoil: Callable[[str], str], message: str
) -> None:
    model, optimizer = trained()
    path = tmp_path / "model.json"
    write(path, saved_document(model, optimizer))
    path.write_bytes(spoil(path.read_text(encoding="utf-8")).encode("latin-1"))
    model_before, optimizer_before = model.state_dict(), optimizer.state_dict()
    with pytest.raises(ParameterFileError, match=message) as raised:
        load(path, model, optimizer)
    assert str(raised.value).startswith(str(path))
    assert model.state_dict() == model_before
    assert optimizer.state_dict() == optimizer_before


def test_a_weight_too_large_for_a_float_is_a_parameter_file_error(tmp_path: Path) -> None:
    """JSON integers have any number of digits; 10**400 is no float, and no OverflowError."""
    model, _ = trained()
    document = saved_document(model, Adam(model.parameters()))
    document["parameters"]["layers"][0]["weight"][1][0] = 10**400
    path = tmp_path / "model.json"
    write(path, document)
    before = model.state_dict()
    with pytest.raises(ParameterFileError, match=r"layers\[0\]\.weight\[1\]\[0\] is too large"):
        load(path, model)
    assert model.state_dict() == before


def test_a_truncated_save_of_the_same_model_is_refused(tmp_path: Path) -> None:
    model, _ = trained()
    path = tmp_path / "model.json"
    save(path, model)
    content = path.read_bytes()
    before = model.state_dict()
    for cut in (1, len(content) // 3, len(content) - 3):
        path.write_bytes(content[:cut])
        with pytest.raises(ParameterFileError, match="truncated or corrupt"):
            load(path, model)
        assert model.state_dict() == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path: Path) -> None:
    """Reading a FIFO with no writer blocks forever: a child process keeps a hang out of the run."""
    fifo = tmp_path / "model.json"
    os.mkfifo(fifo)
    code = (
        "from tinygrad_gd.learning.io import load\nfrom tinygrad_gd.learning.nn import MLP\n"
        f"load({str(fifo)!r}, MLP(2, [1], seed=0))"
    )
    child = run_python(code, timeout=30)
    assert "ParameterFileError" in child.stderr and "not a regular file (a FIFO)" in child.stderr


def test_a_folder_or_a_device_is_refused_as_no_regular_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterFileError, match="not a regular file"):
        load(os.devnull, MLP(2, [1], seed=0))
    with pytest.raises((ParameterFileError, IsADirectoryError, PermissionError)):
        load(tmp_path, MLP(2, [1], seed=0))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A sparse file of 1 GB costs no disk; reading it whole would cost 1 GB of memory."""
    path = tmp_path / "model.json"
    with open(path, "wb") as file:
        file.truncate(2**30)
    code = (
        "import os, resource\n"
        "os.environ['OPENBLAS_NUM_THREADS'] = '1'  # numpy's threads reserve address space\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31))  # a regression stays small\n"
        "from tinygrad_gd.learning.io import load\nfrom tinygrad_gd.learning.nn import MLP\n"
        f"load({str(path)!r}, MLP(2, [1], seed=0))"
    )
    child = run_python(code, timeout=30)
    assert "ParameterFileError" in child.stderr, child.stderr
    assert f"1,073,741,824 bytes, more than a parameter file's limit of {MAX_FILE_SIZE:,}" in (
        child.stderr
    )


def test_running_out_of_memory_while_parsing_is_a_parameter_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = trained()
    path = tmp_path / "model.json"
    save(path, model)

    def out_of_memory(text: bytes) -> object:
        raise MemoryError

    monkeypatch.setattr(json, "loads", out_of_memory)
    with pytest.raises(ParameterFileError, match="too large to read in the memory available"):
        load(path, model)


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.json", MLP(2, [1], seed=0))


def test_saving_replaces_the_file_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    model, _ = trained()
    path = tmp_path / "model.json"
    path.write_text("old contents", encoding="utf-8")
    save(path, model)
    assert json.loads(path.read_text(encoding="utf-8"))["parameters"] == model.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]


def test_replacing_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    path = tmp_path / "graph.svg"
    path.write_text("old picture", encoding="utf-8")
    with pytest.raises(RuntimeError, match="drawing failed"), replacing(path) as temporary:
        temporary.write_text("half a pict", encoding="utf-8")
        raise RuntimeError("drawing failed")
    assert path.read_text(encoding="utf-8") == "old picture"
    assert os.listdir(tmp_path) == ["graph.svg"]


def test_atomic_write_text_needs_text(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        atomic_write_text(tmp_path / "note.txt", b"bytes")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_saved_file_has_the_permissions_the_umask_gives(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        save(tmp_path / "model.json", MLP(2, [1], seed=0))
    finally:
        os.umask(old)
    assert (tmp_path / "model.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_saving_into_a_missing_folder_names_the_target_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "model.json"
    with pytest.raises(FileNotFoundError, match=f"cannot write {target}: its folder does not"):
        save(target, MLP(2, [1], seed=0))
    assert os.listdir(tmp_path) == []


def test_saving_over_a_folder_names_it_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "model.json").mkdir()
    with pytest.raises(IsADirectoryError, match="model.json: it is a folder"):
        save(tmp_path / "model.json", MLP(2, [1], seed=0))
    assert os.listdir(tmp_path) == ["model.json"] and (tmp_path / "model.json").is_dir()


def test_an_error_about_the_temporary_file_names_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied", source)

    monkeypatch.setattr(os, "replace", refuse)
    path = tmp_path / "model.json"
    with pytest.raises(PermissionError) as raised:
        save(path, MLP(2, [1], seed=0))
    assert raised.value.filename == str(path) and ".tmp" not in str(raised.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"path": None}, "path must be a str or os.PathLike, got NoneType"),
        ({"model": None}, "model must be an nn.Module, got NoneType"),
        ({"optimizer": "x"}, "optimizer must be an optim.Optimizer or None, got str: 'x'"),
    ],
)
def test_bad_arguments_are_named_before_any_file_is_touched(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text("old contents", encoding="utf-8")
    model = MLP(2, [1], seed=0)
    before = model.state_dict()
    full = {"path": path, "model": model, **arguments}
    with pytest.raises(TypeError, match=message):
        save(**full)
    with pytest.raises(TypeError, match=message):
        load(**full)
    assert path.read_text(encoding="utf-8") == "old contents"
    assert os.listdir(tmp_path) == [path.name]
    assert model.state_dict() == before


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _ = trained()
    path = tmp_path / "model.json"
    path.write_text("old contents", encoding="utf-8")

    def crash(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        save(path, model)
    assert path.read_text(encoding="utf-8") == "old contents"
    assert os.listdir(tmp_path) == ["model.json"]


def test_non_finite_parameters_are_refused_before_writing(tmp_path: Path) -> None:
    model = MLP(2, [1], seed=0)
    model.parameters()[0].data = math.nan
    with pytest.raises(ValueError, match="nan or inf"):
        save(tmp_path / "model.json", model, SGD(model.parameters(), lr=0.1))
    assert os.listdir(tmp_path) == []
