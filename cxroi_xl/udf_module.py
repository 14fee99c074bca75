"""Writes ``udfs/cxroi_udfs.py``, the module xlwings imports, from the registry.

The module is generated rather than built at import time so that it reads
like any hand-written xlwings module (one decorated function per Excel
function, named as the user types it, with its help text) and so that
``xlwings`` finds plain functions when it imports UDFs. ``cxroi-xl udfs
generate`` rewrites it; a test fails when it is stale.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

from . import registry

UDF_DIR = Path(__file__).resolve().parent.parent / "udfs"
UDF_PATH = UDF_DIR / "cxroi_udfs.py"

# Excel's function wizard truncates argument help at 255 characters.
_WIZARD_LIMIT = 255

_HEADER = '''"""cxroi-xl's Excel functions, for xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or an
Excel error value.
"""
import xlwings as xw

from cxroi_xl.excel import call

'''


def _wizard_text(text: str) -> str:
    return text if len(text) <= _WIZARD_LIMIT else text[: _WIZARD_LIMIT - 3] + "..."


def render_function(fn: registry.ExcelFunction) -> str:
    """Source of one xlwings function."""
    lines = [f"@xw.func(category={fn.category!r})"]
    for arg in fn.args:
        # ndim=2: every argument arrives as a 2-D list whatever its shape;
        # err_to_str: error cells arrive as "#N/A" etc. (not as blanks) so
        # they propagate instead of being read as zero.
        lines.append(f"@xw.arg({arg.name!r}, ndim=2, err_to_str=True, doc={_wizard_text(arg.describe())!r})")
    params = ", ".join(a.name if not a.optional else f"{a.name}=None" for a in fn.args)
    names = ", ".join(a.name for a in fn.args)
    doc = textwrap.indent(fn.docstring(), "    ").strip()
    lines.append(f"def {fn.name}({params}):")
    lines.append(f'    """{doc}\n    """')
    lines.append(f"    return call({fn.name!r}, {names})")
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
