"""Writes ``udfs/cxroi_udfs.py``, the module xlwings imports, from the registry.

The module is generated rather than built at import time so that it reads
like any hand-written xlwings module (one decorated function per Excel
function, named as the user types it, with its help text) and so that
``xlwings`` finds plain functions when it imports UDFs. ``cxroi-xl udfs
generate`` rewrites it; a test fails when it is stale.
"""
from __future__ import annotations

from pathlib import Path

from . import registry

UDF_DIR = Path(__file__).resolve().parents[2] / "udfs"
UDF_PATH = UDF_DIR / "cxroi_udfs.py"

_HEADER = '''"""cxroi-xl's Excel functions, for xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or an
Excel error value. Docstrings are the one-line descriptions Excel's function
wizard shows; the full help is in the README's function reference.
"""
import xlwings as xw

from cxroi_xl.excel.dispatch import call, xlwings_results

# Error values leave as COM error variants under classic xlwings on Windows,
# as "#N/A"-style strings (which xlwings converts) everywhere else.
_cells = xlwings_results()

'''


def render_function(fn: registry.ExcelFunction, *, prefix: str = "xw.", func_options: str | None = None, result: str = "_cells") -> str:
    """Source of one xlwings function.

    The classic module (``xw.func(category=..., call_in_wizard=...)``) and
    xlwings Lite's ``main.py`` (``func(help_url=...)``, see
    :mod:`cxroi_xl.excel.lite`) differ only in the decorator options and in how the
    result leaves (``result`` wraps the call, none for Lite).
    """
    if func_options is None:
        func_options = f"category={fn.category!r}" + ("" if fn.call_in_wizard else ", call_in_wizard=False")
    lines = [f"@{prefix}func({func_options})" if func_options else f"@{prefix}func"]
    for arg in fn.args:
        # ndim=2: every argument arrives as a 2-D list whatever its shape;
        # err_to_str: error cells arrive as "#N/A" etc. (not as blanks) so
        # they propagate instead of being read as zero.
        lines.append(f"@{prefix}arg({arg.name!r}, ndim=2, err_to_str=True, doc={arg.describe()!r})")
    params = ", ".join(a.name if not a.optional else f"{a.name}=None" for a in fn.args)
    names = ", ".join(a.name for a in fn.args)
    returned = f"call({fn.name!r}, {names})"
    lines.append(f"def {fn.name}({params}):")
    lines.append(f"    {fn.summary!r}")
    lines.append(f"    return {result}({returned})" if result else f"    return {returned}")
    return "\n".join(lines) + "\n"


def render() -> str:
    """Source of the whole UDF module."""
    body = "\n\n".join(render_function(fn) for fn in registry.functions().values())
    names = ", ".join(repr(n) for n in registry.functions())
    return _HEADER + f"__all__ = [{names}]\n\n\n" + body


def write(path: Path = UDF_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path
