"""The package's layers: who may import whom (declared in tests/layers.py), no import circles
(imports inside functions and under TYPE_CHECKING count too), no private name imported from
another module, and Airflow's private names in `compat` only."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from layers import AIRFLOW_FREE, ALLOWED, NAME, SANDBOX, SANDBOX_ALLOWED

import airflow_provider_sms

PACKAGE = Path(airflow_provider_sms.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` but those under ``if TYPE_CHECKING:`` (names for annotations
    only, never imported when the code runs)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            yield from (n for branch in node.orelse for n in (branch, *_runtime_nodes(branch)))
            continue
        yield node
        yield from _runtime_nodes(node)


def _imports(module: str) -> set[str]:
    """Modules of the package that `module` imports, anywhere in its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one.
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        else:
            continue
        found.update(n for n in names if n in MODULES and n != module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
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
                result.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return result


def test_the_graph_sees_imports_inside_functions_not_those_for_annotations():
    assert f"{NAME}.outbound.result" in GRAPH[f"{NAME}.operators.send"]
    assert f"{NAME}.bird.fanout" in GRAPH[f"{NAME}.hooks.bird"]
    # Named under TYPE_CHECKING only: never imported when the code runs.
    assert f"{NAME}.hooks.bird" not in GRAPH[f"{NAME}.outbound.engine"]


def test_no_two_modules_import_each_other_directly_or_in_a_loop():
    assert _cycles() == []


def _layer(module: str) -> str:
    return module.removeprefix(NAME + ".").split(".")[0] if module != NAME else "__init__"


def _allowed(source: str, target: str) -> bool:
    layer, inner = _layer(source), target.removeprefix(NAME + ".")
    if target == NAME:
        inner = "__init__"
    return _layer(target) == layer or any(
        inner == part or inner.startswith(part + ".") for part in ALLOWED[layer]
    )


def test_the_layers_name_parts_of_the_package():
    parts = {module.removeprefix(NAME + ".") for module in MODULES} | {"__init__"}
    named = set(ALLOWED) | {part for allowed in ALLOWED.values() for part in allowed}
    assert sorted(named - parts) == []


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layers_import_only_what_is_below_them(layer):
    wrong = [
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        if _layer(source) == layer
        for target in targets
        if not _allowed(source, target)
    ]
    assert wrong == []


@pytest.mark.parametrize("part", AIRFLOW_FREE)
def test_the_airflow_free_parts_never_import_airflow(part):
    modules = {
        module: path
        for module, path in MODULES.items()
        if (inner := module.removeprefix(NAME + ".")) == part or inner.startswith(part + ".")
    }
    assert modules, f"no module {part}"
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] == "airflow"], module


def _private_imports(module: str) -> list[str]:
    """Private names (or private modules) of the package that `module` imports: a private
    name stays in its module, its siblings included."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    wrong = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [(base, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [(alias.name, "") for alias in node.names]
        else:
            continue
        for target, name in targets:
            if not target.startswith(NAME):
                continue
            private_part = any(p.startswith("_") for p in target.split(".")[1:])
            if private_part or (name.startswith("_") and name != "__version__"):
                wrong.append(f"{module} imports {target}{'.' + name if name else ''}")
    return wrong


def test_no_module_imports_a_private_name_of_another():
    assert [line for module in sorted(MODULES) for line in _private_imports(module)] == []


# The sandbox, another distribution ----------------------------------------------------------

SANDBOX_PACKAGE = Path(importlib.util.find_spec(SANDBOX).origin).parent


def _imported(path: Path, package: str) -> set[str]:
    """Every module name the file imports (``from a import b``: ``a.b`` too), relative imports
    resolved against ``package``."""
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            anchor = parts[: len(parts) - node.level + 1] if node.level else []
            base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_no_module_of_the_package_imports_the_sandbox():
    wrong = []
    for module, path in MODULES.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        wrong += [name for name in _imported(path, package) if name.split(".")[0] == SANDBOX]
    assert wrong == []


def _sandbox_may_import(name: str) -> bool:
    """Of the package: a module of SANDBOX_ALLOWED (or a name in it), or a package above one."""
    modules = {f"{NAME}.{part}" for part in SANDBOX_ALLOWED}
    parents = {m.rsplit(".", i)[0] for m in modules for i in range(1, m.count(".") + 1)}
    return name in parents or any(name == m or name.startswith(m + ".") for m in modules)


def test_the_sandbox_imports_of_the_package_only_what_it_may_and_never_airflow():
    modules = sorted(SANDBOX_PACKAGE.rglob("*.py"))
    assert len(modules) > 20
    wrong = []
    for path in modules:
        parts = path.relative_to(SANDBOX_PACKAGE.parent).with_suffix("").parts
        for name in _imported(path, ".".join(parts[:-1])):
            top = name.split(".")[0]
            if top == "airflow" or (top == NAME and not _sandbox_may_import(name)):
                wrong.append(f"{'.'.join(parts)} -> {name}")
    assert wrong == []


def test_importing_every_sandbox_module_loads_no_airflow():
    code = (
        "import importlib, pkgutil, sys, bird_sandbox as s;"
        "[importlib.import_module(m.name)"
        " for m in pkgutil.walk_packages(s.__path__, s.__name__ + '.')];"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', {NAME!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = {NAME, f"{NAME}.bird", *(f"{NAME}.{part}" for part in SANDBOX_ALLOWED)}
    assert result.stdout.strip() == str(sorted(loaded))


# Private attributes of Airflow's objects the provider relies on (asset state stores, HITLTrigger):
# reached through `compat` only, as attributes or as names given to getattr().
AIRFLOW_PRIVATE_ATTRIBUTES = {"_by_name", "_by_uri", "_handle_response", "_handle_timeout"}
COMPAT = f"{NAME}.compat"


def _airflow_private_uses(module: str) -> list[str]:
    """Private names of Airflow that `module` imports (a `_`-name, or a name from a
    `_`-module, under `airflow.*`), and the private attributes of Airflow's it reaches."""
    wrong = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr in AIRFLOW_PRIVATE_ATTRIBUTES:
            wrong.append(f"{module}:{node.lineno} reaches .{node.attr}")
            continue
        elif isinstance(node, ast.Constant) and node.value in AIRFLOW_PRIVATE_ATTRIBUTES:
            wrong.append(f"{module}:{node.lineno} names {node.value!r}")
            continue
        else:
            continue
        for target in targets:
            parts = target.split(".")
            if parts[0] == "airflow" and any(p.startswith("_") for p in parts[1:]):
                wrong.append(f"{module}:{node.lineno} imports {target}")
    return wrong


def test_only_compat_uses_airflows_private_names():
    assert _airflow_private_uses(COMPAT), "compat no longer reaches them: update this test"
    others = sorted(set(MODULES) - {COMPAT})
    assert [line for module in others for line in _airflow_private_uses(module)] == []


def _airflow_imports(module: str) -> list[str]:
    """Airflow modules that `module` imports outside a TYPE_CHECKING block (a type hint
    loads nothing)."""
    tree = ast.parse(MODULES[module].read_text())
    hinted = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in hinted:
            continue
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [f"{module}:{node.lineno} {n}" for n in names if n.split(".")[0] == "airflow"]
    return found


def test_only_compat_imports_airflow_so_the_rest_reads_as_for_one_version():
    assert _airflow_imports(COMPAT), "compat no longer imports Airflow: update this test"
    # The provider info is read by Airflow itself (no import of Airflow there).
    others = sorted(set(MODULES) - {COMPAT})
    assert [line for module in others for line in _airflow_imports(module)] == []
