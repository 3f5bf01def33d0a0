"""Imports point one way: flows -> tasks, warehouse; warehouse -> tasks; tasks import neither.

The import statements of every module of the shipped packages are read with `ast`
(nothing is imported), deferred imports inside functions included: a cycle that a
function-level import hides is still a cycle. Imports under `if TYPE_CHECKING:` are
left out, since they never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("flows", "tasks", "warehouse", "seeds")
"""The packages pyproject.toml ships (bench/ and tests/ may import anything)."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the shipped packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    yield from _walk(ast.iter_child_nodes(tree))


def _walk(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _type_checking_only(node):
            yield from _walk(node.orelse)
        else:
            yield from _walk(ast.iter_child_nodes(node))


def imports_of(name: str) -> set[str]:
    """The dotted names a module imports (`from a import b`: `a`, and `a.b` if b is a module)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        names.add(base)
        for alias in node.names:
            if f"{base}.{alias.name}" in MODULES:
                names.add(f"{base}.{alias.name}")
    return names


GRAPH = {name: imports_of(name) for name in MODULES}


def top(name: str) -> str:
    return name.partition(".")[0]


def offenders(package: str, forbidden: set[str]) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if top(name) == package
        for target in targets
        if top(target) in forbidden
    )


def find_cycle(nodes: set[str]) -> list[str] | None:
    """One import cycle among `nodes`, as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(GRAPH[node] & nodes):
            if state.get(target) == 1:
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_the_packages_are_found() -> None:
    assert {"flows.nightly", "flows.backfill", "tasks.fetch", "warehouse.writer"} <= set(MODULES)


def test_tasks_import_neither_flows_nor_warehouse() -> None:
    assert offenders("tasks", {"flows", "warehouse"}) == []


def test_warehouse_does_not_import_flows() -> None:
    assert offenders("warehouse", {"flows"}) == []


def test_flows_modules_import_each_other_without_a_cycle() -> None:
    flows = {name for name in MODULES if top(name) == "flows"}
    cycle = find_cycle(flows)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "warehouse"])
def test_only_the_warehouse_imports_duckdb(package: str) -> None:
    assert offenders(package, {"duckdb"}) == []


def test_deferred_imports_count_and_type_checking_imports_do_not() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import duckdb\nelse:\n    import json\n"
        "def f():\n    import flows.backfill\n"
    )
    found = {a.name for n in _import_nodes(tree) if isinstance(n, ast.Import) for a in n.names}
    assert found == {"json", "flows.backfill"}
