"""The package's folders are its layers, and its imports keep to them.

Every ``import`` in ``cxroi_xl`` is read from the source (lazy imports inside
functions included; imports under ``if TYPE_CHECKING:`` are type hints, not
dependencies). Each module may import only modules of its own layer or of a
layer below it, and no chain of imports may come back to where it started.
The built wheel must hold every subpackage: a test installs it apart from
the editable checkout and imports every module from it.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "cxroi_xl"

# Bottom to top: a module may import its own layer and those before it.
LAYERS = ("errors", "engine", "excel", "workbooks", "calc", "batch", "cli")
# Modules on top of every layer, beside the command line.
TOP = {"cxroi_xl.cli", "cxroi_xl.command", "cxroi_xl.dask_executor"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``name`` imports (a ``from X import y`` counts as
    X.y when that is a module, else X)."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names if alias.name.split(".")[0] == "cxroi_xl")
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = here.split(".")
                    base = base[: len(base) - (child.level - 1)] if child.level > 1 else base
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] != "cxroi_xl":
                    continue
                for alias in child.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    # a module's own package is imported before it by Python, not by it
    found.discard(name)
    return {module for module in found if module in known}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _layer(module: str) -> int:
    if module in TOP:
        return len(LAYERS) - 1
    parts = module.split(".")
    if len(parts) == 1:  # cxroi_xl itself: the version
        return 0
    return LAYERS.index(parts[1])


def test_every_module_belongs_to_a_layer():
    strays = [m for m in _modules() if m not in TOP and m != "cxroi_xl" and m.split(".")[1] not in LAYERS]
    assert strays == [], f"modules outside the layers {LAYERS}: {strays}"


def test_no_import_runs_upward():
    upward = [
        f"{module} ({LAYERS[_layer(module)]}) imports {target} ({LAYERS[_layer(target)]})"
        for module, targets in _graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    ]
    assert upward == [], "\n".join(upward)


def test_the_engine_imports_no_excel_library():
    # dask: only inside attribution.journeys_from_touches, for a touchpoint
    # log given as a Dask DataFrame or a Parquet path (the [dask] extra)
    allowed = {"numpy", "pandas", "scipy", "statsmodels", "dask", "__future__"}
    for name, path in _modules().items():
        if not name.startswith("cxroi_xl.engine"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level:
                roots = {(node.module or "").split(".")[0]}
            else:
                continue
            outside = {root for root in roots if root not in allowed and root not in sys.stdlib_module_names and root != "cxroi_xl"}
            assert not outside, f"{name} imports {outside}: the engine stands on numpy, pandas, scipy and statsmodels only"


def test_no_import_circle():
    graph = _graph()
    # Tarjan's strongly connected components: any with two or more modules is a circle
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def connect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
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
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    assert circles == [], f"import circles: {circles}"


def test_the_layer_check_sees_a_planted_circle_and_an_upward_import(tmp_path, monkeypatch):
    # the checks above must fail on what they forbid: plant both in a copy
    fake = tmp_path / "cxroi_xl"
    (fake / "engine").mkdir(parents=True)
    (fake / "batch").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "engine" / "__init__.py").write_text("")
    (fake / "batch" / "__init__.py").write_text("")
    (fake / "engine" / "a.py").write_text("from ..batch import b\n")
    (fake / "batch" / "b.py").write_text("def f():\n    from ..engine import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match="import circles"):
        test_no_import_circle()
    with pytest.raises(AssertionError, match="cxroi_xl.engine.a \\(engine\\) imports cxroi_xl.batch.b \\(batch\\)"):
        test_no_import_runs_upward()


_IMPORT_ALL = """
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import cxroi_xl
assert cxroi_xl.__file__.startswith(sys.argv[1]), cxroi_xl.__file__
names = sorted(m.name for m in pkgutil.walk_packages(cxroi_xl.__path__, "cxroi_xl."))
for name in names:
    importlib.import_module(name)
from cxroi_xl.excel import call
from cxroi_xl.dask_executor import TemplateBuild, generate_on_dask
import importlib.resources as resources
assert resources.files("cxroi_xl.workbooks").joinpath("start_here.md.j2").is_file()
print(" ".join(names))
"""


@pytest.mark.slow
def test_the_built_wheel_holds_every_subpackage(tmp_path):
    # An editable install would hide a subpackage the wheel leaves out: the
    # wheel is installed into a folder of its own, which comes first on the
    # path, and every module is imported from there.
    from cxroi_xl.excel import lite

    wheel = lite.build_wheel(tmp_path / "dist")
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run([sys.executable, "-s", "-c", _IMPORT_ALL, str(target)], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = set(done.stdout.split())
    expected = {name for name in _modules() if name != "cxroi_xl"}
    assert expected <= imported, f"missing from the wheel: {sorted(expected - imported)}"
