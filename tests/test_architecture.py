"""The package's layers point one way: no module imports from a layer above its own, and no import
cycle exists, counting every import (deferred ones inside functions and `TYPE_CHECKING` blocks too).

The layer order is `LAYERS` below, lowest first; the README's "Architecture" section draws it.
Modules of one layer may import each other (without cycles). Modules over `MAX_LINES` lines must
say why in their docstring (a paragraph starting with "Size:").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jakinfer"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("_jax_config", "errors"),
    ("parameters", "likelihood", "solvers", "runtime"),
    ("model",),
    ("simulate",),
    ("problem",),
    ("fingerprint", "noise_check"),
    ("io",),
    ("problems",),
    ("infer",),
    ("analysis",),
    ("plots",),
    ("rundir",),
    ("cli",),
    ("",),  # the lazy facade `jakinfer/__init__.py`
)
"""Top-level modules and subpackages of `jakinfer`, from the bottom layer up."""

MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imports(path: Path) -> set[str]:
    """Every `jakinfer` module `path` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "jakinfer"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "jakinfer":
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            submodules = {name for name in submodules if _is_module(name)}
            # `from jakinfer import likelihood` imports the submodule, not the facade
            found |= submodules if submodules and node.module == "jakinfer" else {node.module} | submodules
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {target for target in _imports(path) if target != name} for name, path in modules.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, members in enumerate(LAYERS):
        if top in members:
            return index
    raise AssertionError(f"{module} belongs to no layer of LAYERS; add its top-level name there")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_every_module_has_a_layer():
    for module in _graph():
        _layer(module)


def test_every_imported_module_exists():
    missing = [f"{module} imports {target}" for module, targets in sorted(_graph().items())
               for target in sorted(targets) if not _is_module(target)]
    assert missing == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
              for module, targets in sorted(_graph().items()) for target in sorted(targets)
              if _layer(target) > _layer(module)]
    assert upward == []


def test_there_is_no_import_cycle():
    assert _cycles(_graph()) == []


def test_long_modules_say_why_in_their_docstring():
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(text)) or ""
        if text.count("\n") > MAX_LINES and "\nSize:" not in f"\n{docstring}":
            unexplained.append(f"{path.relative_to(PACKAGE.parent)} ({text.count(chr(10))} lines)")
    assert unexplained == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert _cycles(graph) == expected


def test_the_import_walk_sees_deferred_and_type_checking_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from jakinfer.problem import Problem\n"
                      "def f():\n    from jakinfer.io import petab\n    import jakinfer.rundir.report\n")
    assert _imports(source) == {"jakinfer.problem", "jakinfer.io", "jakinfer.io.petab", "jakinfer.rundir.report"}
