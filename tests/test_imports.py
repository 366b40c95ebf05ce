"""The packages' modules import each other without circles.

Every ``import`` of a project module counts, at module level or inside a function (a function-level
import that closes a circle is still a circle a reader has to untangle); imports only for type
checkers (``if TYPE_CHECKING:``) do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("clv_core", "clv_ui")


def _modules() -> dict[str, Path]:
    """Every module of the packages, subpackages included, by dotted name.

    ``clv_core/loading/text.py`` is ``clv_core.loading.text``; an ``__init__.py`` is its package.
    """
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.ImportFrom) and child.module:
                found.update(
                    name
                    for name in (child.module, *(f"{child.module}.{a.name}" for a in child.names))
                    if name in modules
                )
            elif isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name in modules)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def test_no_import_circles() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    assert len(graph) > 30
    assert "clv_core.roles" in graph["clv_core.money"], "the walker sees imports"
    assert "clv_core.loading.header" in graph["clv_core.loading.text"], "and subpackages"
    assert _circles(graph) == []


def test_the_walker_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
