"""Writes ``cxroi_udfs.py``, the module classic xlwings imports, from the registry.

The module is generated rather than built at import time so that it reads
like any hand-written xlwings module (one decorated function per Excel
function, named as the user types it, with its help text) and so that
``xlwings`` finds plain functions when it imports UDFs. ``cxroi-xl udfs
generate`` rewrites it; a test fails when it is stale.

It lives in the folder :data:`UDF_DIR` inside the package (installed with
it), which is what xlwings' PYTHONPATH setting names (``cxroi-xl udfs
path``); nothing is installed as a top-level module but ``cxroi_xl``. The
folder is also a subpackage (``cxroi_xl.excel.classic_udfs``), so that the
wheel carries it like any other module.
"""
from __future__ import annotations

from pathlib import Path

from . import registry

UDF_DIR = Path(__file__).resolve().parent / "classic_udfs"
UDF_PATH = UDF_DIR / "cxroi_udfs.py"

_HEADER = '''"""cxroi-xl's Excel functions, for classic xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or one
of Excel's error literals ("#N/A", ...). Docstrings are the one-line
descriptions Excel's function wizard shows; the full help is in the README's
function reference.
"""
import sys

import xlwings as xw

from cxroi_xl.excel.dispatch import call
from cxroi_xl.excel.windows_addin import patch_classic_xlwings

# Classic xlwings hands a returned "#N/A" to Excel as text: the VBA wrappers
# it generates for this module turn the error literals into error values
# (CxErr; see cxroi_xl.excel.windows_addin), whichever route imports them.
__cxroi_udfs__ = True
if "xlwings.udfs" in sys.modules:
    patch_classic_xlwings(sys.modules["xlwings.udfs"])

'''


_INIT = '''"""The folder classic xlwings puts on its PYTHONPATH (``cxroi-xl udfs path``):
it holds the generated ``cxroi_udfs`` module, imported by xlwings as a
top-level module from here."""
'''


def render_function(fn: registry.ExcelFunction, *, prefix: str = "xw.", func_options: str | None = None) -> str:
    """Source of one xlwings function.

    The classic module (``xw.func(category=..., call_in_wizard=...)``) and
    xlwings Lite's ``main.py`` (``func(help_url=...)``, see
    :mod:`cxroi_xl.excel.lite`) differ only in the decorator options; both
    return xlwings' standard error strings.
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

    lines.append(f"def {fn.name}({params}):")
    lines.append(f"    {fn.summary!r}")
    lines.append(f"    return call({fn.name!r}, {names})")
    return "\n".join(lines) + "\n"


def render() -> str:
    """Source of the whole UDF module."""
    body = "\n\n".join(render_function(fn) for fn in registry.functions().values())
    names = ", ".join(repr(n) for n in registry.functions())
    return _HEADER + f"__all__ = [{names}]\n\n\n" + body


def write(path: Path = UDF_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    init = path.parent / "__init__.py"
    if not init.exists():
        init.write_text(_INIT, encoding="utf-8")
    path.write_text(render(), encoding="utf-8")
    return path
