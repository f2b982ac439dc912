"""The layout rules of the code, read from the source with `ast`:

- no module outside the tests and the migrations is longer than 600 lines;
- nothing uses a `_private` name of another module (`from x import _y`, or `x._y` after `import x`);
  what two modules share is public and lives with its owner;
- no import cycle between the project's modules (imports under `if TYPE_CHECKING:` aside).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600
# Where each top-level package's source sits (its folder holds the package folder).
SOURCE_ROOTS = [ROOT / "shared", ROOT / "devtools", ROOT, *sorted((ROOT / "services").glob("*/"))]
SKIPPED_FOLDERS = {"node_modules", "var", "test-artifacts", "__pycache__"}
PACKAGES = (
    "shared",
    "contacts",
    "properties",
    "invitations",
    "notifications",
    "portal_gateway",
    "devtools",
    "bench",
)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module = field(repr=False)

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def is_test_or_migration(self) -> bool:
        parts = self.path.relative_to(ROOT).parts
        return "tests" in parts or "alembic" in parts


def module_name(path: Path) -> str:
    """The name a module is imported by; a file no one imports (a service's tests) is named by its path."""
    parts = list(path.relative_to(ROOT).parts)
    for root in SOURCE_ROOTS:
        if root != ROOT and path.is_relative_to(root) and path.relative_to(root).parts[0] in PACKAGES:
            parts = list(path.relative_to(root).parts)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(directory: Path) -> Iterator[Path]:
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in SKIPPED_FOLDERS:
            yield from python_files(entry)
        elif entry.suffix == ".py":
            yield entry


@cache
def project_modules() -> dict[str, Module]:
    modules = {}
    for path in sorted(python_files(ROOT)):
        name = module_name(path)
        modules[name] = Module(name, path, ast.parse(path.read_text(), str(path)))
    return modules


def imports(module: Module) -> Iterator[tuple[ast.stmt, str, list[str]]]:
    """Each import statement outside `if TYPE_CHECKING:` as (statement, module imported, names)."""

    def walk(node: ast.AST) -> Iterator[ast.stmt]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                yield from (stmt for orelse in child.orelse for stmt in walk_one(orelse))
                continue
            yield from walk_one(child)

    def walk_one(node: ast.AST) -> Iterator[ast.stmt]:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from walk(node)

    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for stmt in walk(module.tree):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                yield stmt, alias.name, []
        elif isinstance(stmt, ast.ImportFrom):
            base = stmt.module or ""
            if stmt.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - stmt.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield stmt, base, [alias.name for alias in stmt.names]


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_module_outside_tests_and_migrations_is_longer_than_600_lines() -> None:
    too_long = {
        str(module.path.relative_to(ROOT)): lines
        for module in project_modules().values()
        if not module.is_test_or_migration
        and (lines := len(module.path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def test_no_module_uses_a_private_name_of_another() -> None:
    found = []
    for module in project_modules().values():
        imported_modules: dict[str, str] = {}
        for stmt, imported, names in imports(module):
            where = f"{module.path.relative_to(ROOT)}:{stmt.lineno}"
            if imported not in project_modules():
                continue  # the standard library's and other projects' names are theirs to name
            found += [f"{where} imports {imported}.{name}" for name in names if is_private(name)]
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    imported_modules[alias.asname or alias.name] = alias.name
            else:
                for alias in stmt.names:
                    if f"{imported}.{alias.name}" in project_modules():
                        imported_modules[alias.asname or alias.name] = f"{imported}.{alias.name}"
        for node in ast.walk(module.tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules
                and is_private(node.attr)
            ):
                owner = imported_modules[node.value.id]
                found.append(f"{module.path.relative_to(ROOT)}:{node.lineno} uses {owner}.{node.attr}")
    assert found == []


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for module in modules.values():
        for _stmt, imported, names in imports(module):
            # `from package import module` depends on that module; any other name, or a plain
            # `import x`, on the module imported from.
            targets = {f"{imported}.{name}" for name in names if f"{imported}.{name}" in modules}
            if len(targets) < len(names) or not names:
                targets.add(imported)
            graph[module.name] |= {target for target in targets if target in modules} - {module.name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_there_is_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
