"""The emulator is a separate house: no import circles, and the library never imports it.

The import graph is read from the source with :mod:`ast` (every ``import`` and
``from ... import``, at module level or inside functions), so a lazy import
inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "volcspeech"
#: Modules of the library allowed to import ``volcspeech.testing``.
EMULATOR_USERS = frozenset({"volcspeech.cli", "volcspeech._demo", "volcspeech._pytest_plugin"})


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (path, is a package ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _in_type_checking_block(tree: ast.Module) -> set[int]:
    """The ids of nodes under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(child) for child in ast.walk(node))
    return hidden


def _imports(name: str, *, runtime_only: bool) -> set[str]:
    """The package's modules that module ``name`` imports."""
    path, is_package = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _in_type_checking_block(tree) if runtime_only else set()
    package = name if is_package else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in MODULES else source)
    return {t for t in targets if t in MODULES and t != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
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


def _graph(*, runtime_only: bool) -> dict[str, set[str]]:
    return {name: _imports(name, runtime_only=runtime_only) for name in MODULES}


def _emulator_modules() -> Iterator[str]:
    return (name for name in MODULES if name.startswith("volcspeech.testing"))


def test_the_graph_reader_sees_lazy_and_relative_imports() -> None:
    """The reader finds the emulator's own modules and the CLI's lazy import of it."""
    assert "volcspeech.testing._protocol" in _imports(
        "volcspeech.testing._emulator", runtime_only=False
    )
    assert "volcspeech.testing" in _imports("volcspeech.cli", runtime_only=True)
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle_in_the_emulator() -> None:
    """Among volcspeech.testing modules there is no circle, counting annotation-only imports."""
    graph = _graph(runtime_only=False)
    emulator = set(_emulator_modules())
    sub = {name: graph[name] & emulator for name in emulator}
    assert _cycles(sub) == []


def test_no_import_circle_in_the_package() -> None:
    """No module of volcspeech imports (at run time, eagerly or lazily) one that imports it back."""
    assert _cycles(_graph(runtime_only=True)) == []


LIBRARY = sorted(
    name
    for name in MODULES
    if not name.startswith("volcspeech.testing") and name not in EMULATOR_USERS
)


@pytest.mark.parametrize("name", LIBRARY)
def test_library_does_not_import_the_emulator(name: str) -> None:
    """Outside testing/, only cli.py, _demo.py and the pytest plugin import volcspeech.testing."""
    emulator = {t for t in _imports(name, runtime_only=False) if t.startswith("volcspeech.testing")}
    assert emulator == set()
