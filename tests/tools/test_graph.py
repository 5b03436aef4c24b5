"""to_dot and rendering; Graphviz is faked both ways (present and missing)."""

from __future__ import annotations

import re
import shutil
import stat
import sys
from pathlib import Path

import pytest

from tinygrad_gd import Value, to_dot
from tinygrad_gd.core.drawing import MAX_LABEL_LENGTH
from tinygrad_gd.tools.graph import GraphvizError, GraphvizNotFoundError, render, write_graph
from tinygrad_gd.tutorial.graphs import build_neuron

NODE = re.compile(r"^  (v\d+(?:_op)?) \[")
EDGE = re.compile(r"^  (v\d+(?:_op)?) -> (v\d+(?:_op)?)")


def part_one() -> Value:
    return build_neuron([0.1], [0.5], 0.3).error


def test_the_same_computation_gives_the_same_text() -> None:
    assert to_dot(part_one()) == to_dot(part_one())


def test_every_value_and_op_is_a_node_and_every_operand_an_edge() -> None:
    error = part_one()
    lines = to_dot(error).splitlines()
    assert lines[0] == "digraph tinygrad_gd {" and lines[-1] == "}"
    nodes = [m.group(1) for line in lines if (m := NODE.match(line))]
    edges = [m.groups() for line in lines if (m := EDGE.match(line))]
    # x, w, sop, predicted, target, predicted - target, error: 7 values, 4 of them made by ops
    assert len([n for n in nodes if not n.endswith("_op")]) == 7
    assert len([n for n in nodes if n.endswith("_op")]) == 4
    assert len(edges) == 4 + (2 + 1 + 2 + 1)  # op -> value, and one edge per operand
    assert {a for a, b in edges} | {b for a, b in edges} <= set(nodes)


def test_nodes_show_label_data_and_grad_after_backward() -> None:
    error = part_one()
    error.backward()
    text = to_dot(error)
    assert 'label="{w | data 0.5 | grad 0.0106182}"' in text
    assert 'label="{error | data 0.0451551 | grad 1}"' in text


def test_binary_ops_mark_which_operand_is_which() -> None:
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    text = to_dot(b - a)
    ids = dict(re.findall(r'  (v\d+) \[shape=record, label="\{(\w+) \|', text))
    node = {label: identifier for identifier, label in ids.items()}
    op = re.search(r'  (v\d+_op) \[shape=ellipse, label="a - b"\];', text)
    assert op is not None
    assert f'  {node["b"]} -> {op.group(1)} [label="a"];' in text  # b is the left operand
    assert f'  {node["a"]} -> {op.group(1)} [label="b"];' in text


def test_labels_are_escaped() -> None:
    text = to_dot(Value(1.0, label='odd {name} | "quoted" <x>'))
    assert r'label="{odd \{name\} \| \"quoted\" \<x\> | data 1 | grad 0}"' in text


def test_control_characters_are_shown_as_escapes_not_written_raw() -> None:
    """A raw NUL would end the label inside Graphviz (a C string); a tab is shown, too."""
    text = to_dot(Value(1.0, label="a\x00b\tc\x7f"))
    assert "\x00" not in text and "\t" not in text and "\x7f" not in text
    assert r'label="{a\\x00b\\tc\\x7f | data 1 | grad 0}"' in text  # DOT shows a\x00b\tc\x7f


def test_a_label_beyond_the_limit_is_cut_with_an_ellipsis() -> None:
    kept = to_dot(Value(1.0, label="k" * MAX_LABEL_LENGTH))
    assert f'label="{{{"k" * MAX_LABEL_LENGTH} | data 1' in kept
    cut = to_dot(Value(1.0, label="c" * 20_000))
    assert f'label="{{{"c" * (MAX_LABEL_LENGTH - 1)}… | data 1' in cut
    assert len(cut) < 1000


def test_bad_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="to_dot: y must be a Value"):
        to_dot(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rankdir must be one of"):
        to_dot(Value(1.0), rankdir="UP")


# -- rendering ----------------------------------------------------------------------------


FAKE_DOT = """\
import sys
args = sys.argv[1:]
fmt = next(a for a in args if a.startswith("-T"))[2:]
out = next(a for a in args if a.startswith("-o"))[2:]
source = sys.stdin.read()
if "broken" in source:
    sys.stderr.write("Error: <stdin>: syntax error in line 1\\n")
    sys.exit(1)
with open(out, "w") as f:
    f.write(f"fake {fmt} of {len(source)} characters")
"""


@pytest.fixture
def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for Graphviz's dot on the lookup path."""
    program = tmp_path / "bin" / "dot"
    program.parent.mkdir()
    program.write_text(f"#!{sys.executable}\n{FAKE_DOT}")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(
        shutil, "which", lambda name, path=None: str(program) if name == "dot" else None
    )
    return program


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)


def test_render_runs_dot_with_the_format_of_the_suffix(fake_dot: Path, tmp_path: Path) -> None:
    text = to_dot(part_one())
    written = render(text, tmp_path / "graph.svg")
    assert written == tmp_path / "graph.svg"
    assert written.read_text() == f"fake svg of {len(text)} characters"
    assert render(text, tmp_path / "other.out", format="png").read_text().startswith("fake png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "graph.svg", "other.out"]


def test_a_failing_dot_leaves_no_file_and_says_why(fake_dot: Path, tmp_path: Path) -> None:
    with pytest.raises(GraphvizError, match="Graphviz could not draw .*: Error: <stdin>: syntax"):
        render("broken {", tmp_path / "graph.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]


def test_without_graphviz_the_error_says_how_to_get_it(no_dot: None, tmp_path: Path) -> None:
    with pytest.raises(GraphvizNotFoundError) as caught:
        write_graph(part_one(), tmp_path / "graph.svg")
    assert isinstance(caught.value, GraphvizError)  # one class to catch for any Graphviz failure
    message = str(caught.value)
    assert "`dot` is not installed" in message and "install Graphviz" in message
    assert 'pip install "tinygrad_gd[graph]"' in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_write_graph_writes_dot_text_without_graphviz(no_dot: None, tmp_path: Path) -> None:
    error = part_one()
    assert write_graph(error, tmp_path / "graph.dot").read_text() == to_dot(error)
    assert write_graph(error, tmp_path / "graph.gv").read_text() == to_dot(error)


def test_render_rejects_an_unknown_format_before_looking_for_dot(no_dot: None) -> None:
    with pytest.raises(ValueError, match=r"cannot tell the format of g\.jpeg"):
        render("digraph {}", "g.jpeg")
    with pytest.raises(ValueError, match="cannot tell format 'gif'"):
        render("digraph {}", "g.svg", format="gif")


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="its folder does not exist"):
        write_graph(part_one(), tmp_path / "nowhere" / "graph.dot")
