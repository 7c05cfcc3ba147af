"""The layout rules of kzoo/, checked by parsing every import (top level and inside functions).

* No import cycle anywhere in ``kzoo/``.
* A room imports only rooms below or beside it (README, "How the code is laid
  out"): ``core`` imports nothing above it, ``metrics`` and ``layers`` only
  ``core``, models nothing from evaluation, analysis, callbacks, training or
  the command line.
"""

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "kzoo"

#: room -> the rooms it may import (besides itself).
ALLOWED = {
    "core": set(),
    "data": set(),
    "metrics": {"core"},
    "layers": {"core"},
    "models": {"core", "data", "layers", "metrics"},
    "evaluation": {"core", "data", "layers", "metrics", "models"},
    "analysis": {"core", "data", "layers", "metrics", "models", "evaluation"},
    "callbacks": {"core", "data", "layers", "metrics", "models", "evaluation"},
    "training": {"core", "data", "layers", "metrics", "models", "evaluation", "analysis", "callbacks"},
    "cli": {"core", "data", "layers", "metrics", "models", "evaluation", "analysis", "callbacks", "training",
            None},  # None: the package root (kzoo.load, kzoo.list_presets)
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE_ROOT.rglob("*.py")}


def resolve(name):
    """The most specific kzoo module a dotted name refers to (``kzoo.core.presets.load_preset`` -> the module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module):
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "kzoo":
                target = resolve(name)
                if target and target != module:
                    found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def room(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_room_is_listed():
    assert {room(m) for m in MODULES if room(m)} == set(ALLOWED)


def test_the_parser_sees_lazy_imports():
    assert "kzoo.core.presets" in GRAPH["kzoo.evaluation.compare"]  # imported inside a function


def test_no_import_cycle():
    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if room(m)))
def test_rooms_import_only_below_or_beside(module):
    source = room(module)
    bad = sorted(t for t in GRAPH[module] if room(t) not in ALLOWED[source] | {source})
    assert not bad, f"{module} ({source}) imports {bad}; {source} may import {sorted(ALLOWED[source])}"


def test_the_package_root_imports_only_the_core():
    assert {room(t) for t in GRAPH["kzoo"]} <= {"core"}
