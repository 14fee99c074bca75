"""The add-in for xlwings Lite: ``main.py``, ``requirements.txt`` and our wheel.

xlwings Lite runs Python inside Excel (Windows, macOS, Excel on the web) on
Pyodide. A Lite workbook holds its code in one ``main.py`` and its packages
in ``requirements.txt``; Pyodide installs pure-Python wheels from PyPI or
from a URL, and numpy, pandas and scipy from its own repository (unpinned:
their versions come with Pyodide). Followed: the xlwings Lite documentation
(lite.xlwings.org: "Python Dependencies", "Custom Functions", "Custom
Scripts") and xlwings 0.37.8's ``xlwings/pro/udfs_officejs.py``.

``cxroi-xl lite`` writes:

* ``main.py``: every CX function, generated from the registry like
  ``udfs/cxroi_udfs.py`` (same names, arguments, help and error values) but
  with Lite's ``from xlwings import func, arg, script`` decorators, plus the
  script :func:`bind_cx_formulas` that re-enters a workbook's CX formulas so
  that a template or generated live workbook binds to these functions;
* ``requirements.txt``: xlwings (the version tested here), numpy, pandas,
  scipy and the URL of our wheel;
* the wheel itself (pure Python, ``py3-none-any``), to host at that URL.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import registry
from .udf_module import render_function

__all__ = ["render_main", "render_requirements", "build_wheel", "write", "PLACEHOLDER_HOST"]

SOURCE_ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER_HOST = "https://YOUR-HOST/"

_HEADER = '''"""cxroi-xl's Excel functions for xlwings Lite (paste as main.py).

GENERATED from the function registry by `cxroi-xl lite`; do not edit.
Every function hands its cells to cxroi_xl.excel.call (from the cxroi-xl
wheel named in requirements.txt), which converts them as the registry
declares, runs the engine and returns a value or an Excel error value that
xlwings turns into a real #VALUE!, #NUM!, #DIV/0! or #N/A. The full help of
each function is in the cxroi-xl README's function reference.

Run the script bind_cx_formulas once in a workbook made from a cxroi-xl
template (or generated with --mode live): it re-enters the CX formulas so
Excel binds them to these functions.
"""
import re

import xlwings as xw
from xlwings import arg, func, script

from cxroi_xl.excel import call

'''

_SCRIPT = '''

# Excel keeps a custom function that was not loaded when the workbook was
# saved as _xldudf_NAME (or shows #NAME?) and does not rebind it by itself.
_CX_NAMES = {names}
_CX_CALL = re.compile(r"(?<![A-Za-z0-9_.])(?:_xldudf_)?(CX[A-Za-z]+)(?=\\s*\\()", re.IGNORECASE)


def rebind_formula(formula):
    """The formula with every CX function call spelled as these functions are
    registered; ``None`` if it calls none of them."""
    if not isinstance(formula, str) or not formula.startswith("="):
        return None
    found = False

    def plain(match):
        nonlocal found
        name = match.group(1).upper()
        if name not in _CX_NAMES:
            return match.group(0)
        found = True
        return name

    rebound = _CX_CALL.sub(plain, formula)
    return rebound if found else None


@script
async def bind_cx_formulas(book: xw.Book):
    """Re-enter every CX formula of this workbook so that Excel binds it to the functions of main.py."""
    count = 0
    for sheet in book.sheets:
        used = sheet.used_range
        formulas = await used.options(ndim=2).get_formula()
        for i, row in enumerate(formulas):
            for j, formula in enumerate(row):
                rebound = rebind_formula(formula)
                if rebound is not None:
                    sheet.range((used.row + i, used.column + j)).formula = rebound
                    count += 1
    print(f"cxroi-xl: re-entered {{count}} CX formula(s)")
'''


def render_main(help_url: str | None = None) -> str:
    """Source of Lite's ``main.py``.

    ``help_url``, if given, is shown as "more help" in Excel's function
    dialog; ``{name}`` in it is replaced by the function's name.
    """
    functions = registry.functions()
    blocks = []
    for fn in functions.values():
        options = f"help_url={help_url.replace('{name}', fn.name)!r}" if help_url else ""
        blocks.append(render_function(fn, prefix="", func_options=options, result=""))
    return _HEADER + "\n\n".join(blocks) + _SCRIPT.format(names=repr(sorted(functions)))


def _xlwings_version() -> str:
    try:
        from importlib.metadata import version

        return version("xlwings")
    except Exception:  # noqa: BLE001 - no xlwings here: Lite brings its own
        return ""


def render_requirements(wheel_url: str) -> str:
    """``requirements.txt`` for Lite: numpy, pandas and scipy come from
    Pyodide (never pinned), xlwings at the version tested here, then our wheel."""
    xlwings = _xlwings_version()
    lines = [f"xlwings=={xlwings}" if xlwings else "xlwings", "numpy", "pandas", "scipy", wheel_url]
    return "\n".join(lines) + "\n"


def _can_build_offline() -> bool:
    """setuptools here can build a wheel without downloading anything (its
    own bdist_wheel from 70.1 on, before that with the wheel package)."""
    try:
        from importlib.metadata import version

        major, minor = (int(part) for part in version("setuptools").split(".")[:2])
    except Exception:  # noqa: BLE001 - no setuptools: let pip fetch one
        return False
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def build_wheel(out: Path, source: Path = SOURCE_ROOT) -> Path:
    """Build cxroi-xl's wheel (pure Python, ``py3-none-any``) into ``out`` with pip.

    Built from a copy of the sources, so the checkout gets no build folders.
    """
    if not (source / "pyproject.toml").exists():
        raise FileNotFoundError(f"no pyproject.toml in {source}: the wheel is built from a cxroi-xl source checkout")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "src"
        tree.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(source / name, tree / name)
        for package in ("cxroi_xl", "udfs"):
            shutil.copytree(source / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        wheels = Path(scratch) / "wheels"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(tree)]
        if _can_build_offline():
            command.insert(4, "--no-build-isolation")
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            errors = [line.strip() for line in done.stderr.splitlines() if "error" in line.lower()]
            raise RuntimeError("building the wheel failed: " + (errors[0] if errors else f"pip exited with {done.returncode}"))
        built = sorted(wheels.glob("cxroi_xl-*.whl"))
        if len(built) != 1 or not built[0].name.endswith("-py3-none-any.whl"):
            raise RuntimeError(f"expected one py3-none-any wheel, got {[p.name for p in built]}")
        target = out / built[0].name
        shutil.copyfile(built[0], target)
    return target


def _write_text(path: Path, text: str) -> Path:
    """Whole file or nothing: a temporary file renamed into place."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.chmod(temp, 0o644)  # mkstemp's files are private; these are to share
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def write(out: Path, wheel_url: str | None = None, help_url: str | None = None, source: Path = SOURCE_ROOT) -> dict[str, Path]:
    """Write ``main.py``, ``requirements.txt`` and the wheel into ``out``.

    ``wheel_url`` is where the user will host the wheel; without it the file
    names it under :data:`PLACEHOLDER_HOST`, to be replaced.
    """
    out.mkdir(parents=True, exist_ok=True)
    wheel = build_wheel(out, source)
    url = wheel_url if wheel_url else PLACEHOLDER_HOST + wheel.name
    if url.endswith("/"):
        url += wheel.name
    return {
        "main": _write_text(out / "main.py", render_main(help_url)),
        "requirements": _write_text(out / "requirements.txt", render_requirements(url)),
        "wheel": wheel,
    }

