"""The package keeps its layers: no import cycle, no import up a layer, small modules.

The import graph is read from the source with ``ast`` (every import, also
those inside functions and under ``TYPE_CHECKING``), independently of Python's
import machinery; the layer order is ``tinygrad_gd._layers``, the one place
docs/architecture.md describes too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

from tinygrad_gd._layers import LAYERS, layer_of

PACKAGE = ROOT / "tinygrad_gd"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(module: str) -> set[tuple[str, str]]:
    """(module of ours it imports, a name it takes from there) for every import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1 steps
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add((submodule, "") if submodule in MODULES else (base, alias.name))
    return {(target, name) for target, name in found if target in MODULES and target != module}


GRAPH = {module: imported(module) for module in MODULES}


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        assert layer_of(module) in LAYERS


Graph = dict[str, set[tuple[str, str]]]


def upward_imports(graph: Graph) -> list[str]:
    return [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in graph.items()
        for target, _ in targets
        if LAYERS.index(layer_of(target)) > LAYERS.index(layer_of(module))
    ]


def cycles(graph: Graph) -> list[str]:
    done: set[str] = set()
    found: list[str] = []

    def visit(module: str, path: list[str]) -> None:  # depth-first; the graph is small
        for target, _ in sorted(graph.get(module, ())):
            if target in path:
                found.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    for module in graph:
        if module not in done:
            visit(module, [module])
    return found


def private_names(graph: Graph) -> list[str]:
    return [
        f"{module} takes {name} from {target}"
        for module, targets in graph.items()
        for target, name in targets
        if name.startswith("_") and not name.startswith("__")  # __version__ is public
    ]


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    assert upward_imports(GRAPH) == []


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(GRAPH) == []


def test_no_module_takes_another_modules_private_names() -> None:
    assert private_names(GRAPH) == []


def test_the_checks_find_what_they_look_for() -> None:
    value, train = "tinygrad_gd.core.value", "tinygrad_gd.learning.train"
    bad: Graph = {value: {(train, "fit")}, train: {(value, "_record")}}
    assert upward_imports(bad) == [f"{value} (core) imports {train} (learning)"]
    assert cycles(bad) == [f"{value} -> {train} -> {value}"]
    assert private_names(bad) == [f"{train} takes _record from {value}"]
    # and the real graph is read, imports inside functions included
    assert (value, "Value") in GRAPH["tinygrad_gd.core.autodiff"]
    assert ("tinygrad_gd.learning.train", "History") in GRAPH["tinygrad_gd.learning.plots"]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_reads_in_one_sitting(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 700, f"{module} has {lines} lines"


def test_importing_the_engine_loads_no_training_plotting_or_tutorial() -> None:
    code = (
        "import sys, tinygrad_gd.core.value, tinygrad_gd.core.autodiff\n"
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith('tinygrad_gd'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert all(layer_of(module) in ("support", "core", "public") for module in loaded), loaded
    assert "matplotlib" not in loaded and "tinygrad_gd.learning.train" not in loaded


def test_the_package_loads_its_public_names_lazily() -> None:
    code = (
        "import sys, tinygrad_gd\n"
        "before = 'tinygrad_gd.learning.train' in sys.modules\n"
        "from tinygrad_gd import fit, nn\n"
        "print(before, 'tinygrad_gd.learning.train' in sys.modules, nn.MLP.__name__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["False", "True", "MLP"]
