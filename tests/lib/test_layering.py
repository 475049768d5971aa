"""The layers stay one-way: lib/ never imports autograder/, and no import cycle exists.

Every import statement counts, those inside functions too: a lazy import is still an
edge between layers (``check_hidden`` once imported the grader from inside a function).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ((REPO / "lib", "dlcourse"), (REPO, "autograder"))


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package's __init__) for both packages."""
    modules = {}
    for root, package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _imports(name: str, path: Path, is_package: bool) -> set[str]:
    """Every module named by an import in the file, with the parents an import loads."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name if is_package else name.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    with_parents = set(found)
    for imported in found:
        parts = imported.split(".")
        with_parents.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return with_parents


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            other
            for other in _imports(name, path, is_package)
            # A package's own __init__ is loaded before its modules: not an edge back.
            if other in modules and other != name and not name.startswith(other + ".")
        }
        for name, (path, is_package) in modules.items()
    }


def test_the_library_never_imports_the_grader():
    graph = _graph()
    offenders = sorted(
        f"{name} -> {other}"
        for name, others in graph.items()
        if name.split(".")[0] == "dlcourse"
        for other in others
        if other.split(".")[0] == "autograder"
    )
    assert offenders == []


def test_no_module_imports_itself_through_others():
    graph = _graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                cycles.append(" -> ".join([*path[path.index(other) :], other]))
            elif other not in state:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
