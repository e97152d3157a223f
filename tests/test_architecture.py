"""The layering of docs/architecture.md, enforced on the import graph of ``hyperion/``.

Every import counts: at module level or inside a function, under
``TYPE_CHECKING`` or not, relative or absolute, and ``importlib.import_module``
with a literal name. The test fails on

* any import cycle between modules, and any cycle between the packages of
  ``LAYERS`` (a cycle is a design bug even when a lazy import hides it);
* any upward import: a module may import modules of its own layer and of the
  layers below it, never above;
* any module that ``LAYERS`` does not place (a new package must be given its layer).

To add a package (``hyperion/rollup``, ``hyperion/explorer``, ...), put its
dotted name in its layer's list below, and in docs/architecture.md.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "hyperion"

# Lowest layer first. A package belongs to the layer of the longest entry that
# prefixes its dotted name; "hyperion" itself is only the root module.
LAYERS: list[tuple[str, list[str]]] = [
    ("1 primitives", ["hyperion", "hyperion.primitives", "hyperion.artifacts", "hyperion.web3tx"]),
    ("2 trie", ["hyperion.trie"]),
    ("3 vm", ["hyperion.vm"]),
    ("4 state", ["hyperion.state"]),
    ("5 execution", ["hyperion.execution", "hyperion.execution.parallel"]),
    ("6 chain", ["hyperion.chain"]),
    ("7 rollup / sequencer", ["hyperion.rollup", "hyperion.sequencer"]),
    ("8 lazai / ai", ["hyperion.lazai", "hyperion.ai", "hyperion.predeploys"]),
    ("9 interfaces", ["hyperion.rpc", "hyperion.sdk", "hyperion.agents", "hyperion.cli", "hyperion.explorer",
                      "hyperion.tools", "hyperion.bench", "hyperion.fuzz", "hyperion.__main__"]),
]


# -- the graph ------------------------------------------------------------------------------------


def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file under ``root``."""
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def extension_modules(pyproject: Path = REPO_ROOT / "pyproject.toml") -> set[str]:
    """Compiled modules (``[tool.setuptools] ext-modules``): real modules without a ``.py`` file."""
    config = tomllib.loads(pyproject.read_text())
    return {entry["name"] for entry in config.get("tool", {}).get("setuptools", {}).get("ext-modules", [])}


def _literal_import_module(node: ast.AST) -> str | None:
    """The name in ``importlib.import_module("x.y")`` (or ``import_module("x.y")``), if literal."""
    if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    value = node.args[0].value
    return value if name == "import_module" and isinstance(value, str) else None


def _resolve(name: str, known: set[str]) -> str | None:
    """The longest known module that ``name`` is or lies in (None outside the package)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def module_imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``module`` imports; ``from pkg import name`` is ``pkg.name`` when that
    is a module, else ``pkg`` itself."""
    tree = ast.parse(path.read_text(), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                source = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else _resolve(source, known))
        else:
            literal = _literal_import_module(node)
            if literal:
                found.add(_resolve(literal, known))
    return {name for name in found if name is not None and name != module}


def import_graph(modules: dict[str, Path], leaves: set[str] = frozenset()) -> dict[str, set[str]]:
    """Module -> the package modules it imports (compiled ``leaves`` are modules without source)."""
    known = set(modules) | set(leaves)
    return {module: module_imports(module, path, known) for module, path in modules.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def layer_of(module: str, layers: list[tuple[str, list[str]]] = LAYERS) -> tuple[int, str] | None:
    """``(layer index, package)`` of a module: the longest listed package that contains it."""
    best = None
    for number, (_name, packages) in enumerate(layers):
        for package in packages:
            contains = module == package if package == "hyperion" else \
                module == package or module.startswith(package + ".")
            if contains and (best is None or len(package) > len(best[1])):
                best = (number, package)
    return best


def upward_imports(graph: dict[str, set[str]], layers: list[tuple[str, list[str]]] = LAYERS) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module, layers)
        for target in sorted(targets):
            there = layer_of(target, layers)
            if here is not None and there is not None and there[0] > here[0]:
                problems.append(f"{module} (layer {layers[here[0]][0]}) imports {target} "
                                f"(layer {layers[there[0]][0]})")
    return problems


def package_graph(graph: dict[str, set[str]], layers: list[tuple[str, list[str]]] = LAYERS) -> dict[str, set[str]]:
    """The import graph between the packages of ``layers``."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        here = layer_of(module, layers)
        if here is None:
            continue
        edges = packages.setdefault(here[1], set())
        for target in targets:
            there = layer_of(target, layers)
            if there is not None and there[1] != here[1]:
                edges.add(there[1])
    return packages


# -- the package --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(package_modules(), extension_modules())


def test_every_module_has_a_layer(graph):
    unplaced = sorted(module for module in graph if layer_of(module) is None)
    assert not unplaced, f"give these packages a layer in LAYERS (and docs/architecture.md): {unplaced}"


def test_no_import_cycle_between_modules(graph):
    assert find_cycles(graph) == []


def test_no_import_cycle_between_packages(graph):
    assert find_cycles(package_graph(graph)) == []


def test_no_upward_import(graph):
    assert upward_imports(graph) == []


def test_architecture_doc_names_every_package():
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    missing = [package for _layer, packages in LAYERS for package in packages
               if package not in ("hyperion", "hyperion.__main__")
               and f"{package.removeprefix('hyperion.').replace('.', '/')}/" not in text]
    assert not missing, f"docs/architecture.md does not place {missing}"


# -- the checker itself can fail ------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return package_modules(root / "hyperion")


def test_checker_finds_a_cycle_hidden_in_a_function_and_type_checking(tmp_path):
    modules = _write(tmp_path, {
        "hyperion/__init__.py": "",
        "hyperion/state/__init__.py": "",
        "hyperion/state/engine.py": "from hyperion.state.snapshot import Snapshot\n",
        "hyperion/state/snapshot.py": "from typing import TYPE_CHECKING\n"
                                      "if TYPE_CHECKING:\n    from hyperion.state import engine\n",
        "hyperion/state/pending.py": "def f():\n    from .engine import x\n",
        "hyperion/state/other.py": "import importlib\nimportlib.import_module('hyperion.state.pending')\n",
    })
    graph = import_graph(modules)
    assert graph["hyperion.state.other"] == {"hyperion.state.pending"}
    assert graph["hyperion.state.pending"] == {"hyperion.state.engine"}
    assert find_cycles(graph) == [["hyperion.state.engine", "hyperion.state.snapshot"]]


def test_checker_finds_an_upward_import_and_a_package_cycle(tmp_path):
    modules = _write(tmp_path, {
        "hyperion/__init__.py": "",
        "hyperion/chain/__init__.py": "",
        "hyperion/chain/chain.py": "def load():\n    import hyperion.lazai.genesis\n",
        "hyperion/lazai/__init__.py": "",
        "hyperion/lazai/genesis.py": "from hyperion.ai import model\n",
        "hyperion/ai/__init__.py": "",
        "hyperion/ai/model.py": "",
        "hyperion/ai/sdk.py": "from hyperion.lazai import genesis\n",
    })
    graph = import_graph(modules)
    problems = upward_imports(graph)
    assert problems == ["hyperion.chain.chain (layer 6 chain) imports hyperion.lazai.genesis (layer 8 lazai / ai)"]
    assert find_cycles(graph) == []
    assert find_cycles(package_graph(graph)) == [["hyperion.ai", "hyperion.lazai"]]
