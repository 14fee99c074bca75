"""Run classic (Windows, COM) xlwings' own code on Linux, pywin32 stubbed.

Classic xlwings only loads on Windows with pywin32. This script, run in a
fresh interpreter by ``tests/excel/test_windows_addin.py``, puts stand-ins for the
pywin32 modules (and ctypes' Windows DLL loaders) into ``sys.modules``, lets
xlwings take its Windows import branch, and then calls xlwings' own
functions: ``xlwings.udfs.call_udf`` (what the COM server runs for each cell,
argument conversion through ``_xlwindows`` included, ranges arriving as
Range objects with ``Value`` and ``Address`` as Excel passes them),
``generate_vba_wrapper`` and ``import_udfs`` (what "Import Python UDFs" and
the ribbon's "Import Functions" run). Nothing of xlwings is replaced: only
what the operating system lacks (COM objects, pywin32's modules, DLLs).

Usage: ``python tests/classic_excel.py SCENARIO`` with SCENARIO ``calls``
(reads JSON calls on stdin) or ``import``; prints one JSON document.
"""
from __future__ import annotations

import ctypes
import json
import os
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VT_ERROR = 10  # pythoncom.VT_ERROR, from the VARENUM of the Windows SDK


class _Anything:
    """What an unused pywin32 attribute looks like at import time."""

    def __init__(self, name: str = "stub"):
        self._name = name

    def __call__(self, *args, **kwargs):
        return _Anything(self._name + "()")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(f"{self._name}.{name}")

    def __getitem__(self, key):
        return _Anything(f"{self._name}[...]")


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Anything(f"{self.__name__}.{name}")


class VARIANT:
    """pywin32's win32com.client.VARIANT. No result may take this route any
    more: pywin32 sends a VT_ERROR variant to COM as DISP_E_PARAMNOTFOUND
    ("Missing") whatever its code (oleargs.cpp), so building one fails here."""

    def __init__(self, vt, value):
        raise AssertionError(f"a VARIANT({vt}, {value!r}) was built for COM")


# The interface id pywin32 reports for an Excel Range object (Excel's type
# library: Range is {00020846-0000-0000-C000-000000000046}).
RANGE_IID = "{00020846-0000-0000-C000-000000000046}"


def _iid(text: str) -> str:
    """pywintypes.IID: a GUID from its text (compared by value)."""
    return text.upper()


class _TypeInfo:
    def __init__(self, iid):
        self.iid = iid

    def GetTypeInfo(self):  # noqa: N802 - COM name
        return self

    def GetTypeAttr(self):  # noqa: N802 - COM name
        return self


class ComRange:
    """What COM hands the add-in's VBA wrapper for a range argument: a Range
    dispatch whose ``Value`` is a scalar for one cell, else a tuple of row
    tuples (error cells as their COM error codes, blanks as None)."""

    def __init__(self, rows, address="$A$1"):
        self._rows = rows
        self.Address = address
        self.Row, self.Column = 1, 1
        self._oleobj_ = _TypeInfo(_iid(RANGE_IID))
        # the chain xlwings' conversion walks to find the engine: sheet, book, app
        application = types.SimpleNamespace(Hwnd=1, Name="Microsoft Excel")
        self.Worksheet = types.SimpleNamespace(Name="Sheet1", Parent=types.SimpleNamespace(Name="Book1.xlsx", Application=application))

    @property
    def Value(self):  # noqa: N802 - COM name
        if len(self._rows) == 1 and len(self._rows[0]) == 1:
            return self._rows[0][0]
        return tuple(tuple(row) for row in self._rows)

    @property
    def Rows(self):  # noqa: N802 - COM name
        return types.SimpleNamespace(Count=len(self._rows))

    @property
    def Columns(self):  # noqa: N802 - COM name
        return types.SimpleNamespace(Count=len(self._rows[0]))

    @property
    def Count(self):  # noqa: N802 - COM name
        return len(self._rows) * len(self._rows[0])


class com_error(Exception):
    pass


class TimeType:  # pywintypes.TimeType: never produced here
    pass


class _Base:  # classes xlwings subclasses or names in isinstance checks
    pass


_MODULES = [
    "pywintypes", "win32api", "win32con", "pythoncom", "win32com", "win32com.client", "win32com.client.gencache",
    "win32com.server", "win32com.server.dispatcher", "win32com.server.policy", "win32com.server.util",
    "win32event", "win32gui", "win32process", "win32timezone",
]


def install_stubs() -> None:
    for name in _MODULES:
        sys.modules[name] = _StubModule(name)
    sys.modules["pywintypes"].com_error = com_error
    sys.modules["pywintypes"].TimeType = TimeType
    sys.modules["pywintypes"].IID = _iid
    sys.modules["pythoncom"].VT_ERROR = VT_ERROR
    sys.modules["pythoncom"].__file__ = "pythoncom311.dll"
    client = sys.modules["win32com.client"]
    client.VARIANT = VARIANT
    client.Dispatch = lambda obj, *args, **kwargs: obj  # our stand-in COM objects are already "dispatched"
    for cls in ("CDispatch", "CoClassBaseClass", "DispatchBaseClass"):
        setattr(client, cls, type(cls, (_Base,), {}))
    client.gencache = sys.modules["win32com.client.gencache"]

    def unwrap(obj):  # pythoncom.UnwrapObject refuses what Python did not wrap
        raise ValueError("argument is not a COM object")

    sys.modules["win32com.server.util"].unwrap = unwrap
    for sub in ("dispatcher", "policy", "util"):  # as `import win32com.server.util` would bind them
        setattr(sys.modules["win32com.server"], sub, sys.modules[f"win32com.server.{sub}"])
    sys.modules["win32com"].client = client
    sys.modules["win32com"].server = sys.modules["win32com.server"]
    for dll in ("windll", "oledll"):
        if not hasattr(ctypes, dll):
            setattr(ctypes, dll, _Anything(f"ctypes.{dll}"))


def import_classic_xlwings():
    """xlwings as it imports on Windows: classic decorators and COM engine."""
    for key in ("XLWINGS_ON_SERVER", "XLWINGS_LICENSE_KEY"):
        os.environ.pop(key, None)
    install_stubs()
    # the standard library and numerics pick their platform branch first, on
    # the real platform: only xlwings sees Windows
    import asyncio  # noqa: F401
    import concurrent.futures  # noqa: F401
    import subprocess  # noqa: F401
    import tempfile  # noqa: F401

    import numpy  # noqa: F401
    import pandas  # noqa: F401

    # xlwings loads pythoncom's DLL with ctypes.PyDLL at import: that loader,
    # too, is Windows-only, so it is stubbed for the import and restored.
    real_platform, real_pydll = sys.platform, ctypes.PyDLL
    sys.platform, ctypes.PyDLL = "win32", _Anything("ctypes.PyDLL")
    try:
        import xlwings
        import xlwings.udfs
    finally:
        sys.platform, ctypes.PyDLL = real_platform, real_pydll
    assert xlwings.func is xlwings.udfs.xlfunc, "xlwings did not take its classic Windows branch"
    from cxroi_xl.excel import udf_module

    sys.path.insert(0, str(udf_module.UDF_DIR))
    return xlwings


def _encode(value):
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _com_argument(value, position):
    """An argument as COM delivers it to ``Py.CallUDF`` from the VBA
    wrapper's ``Array(...)``: a range as the Range object itself (the branch
    real Excel takes), an omitted optional as DISP_E_PARAMNOTFOUND, a typed
    constant as itself."""
    if value is None:
        return -2147352572
    if isinstance(value, list):
        return ComRange([row if isinstance(row, list) else [row] for row in value], address=f"$A${position + 1}")
    return value


def run_calls(calls: list) -> list:
    xlwings = import_classic_xlwings()
    out = []
    module = xlwings.udfs.get_udf_module("cxroi_udfs", None)
    import xlwings.com_server

    server = xlwings.com_server.XLPython()
    for name, args in calls:
        # the VBA wrapper always passes every argument, Array(a, b, c), the
        # omitted ones as "missing"
        args = list(args) + [None] * (len(getattr(module, name).__xlfunc__["args"]) - len(args))
        # what the VBA wrapper's XLPy.CallUDF reaches: the COM server's
        # CallUDF (it unwraps a 1x1 result to a scalar, a one-row one to a row)
        result = server.CallUDF("cxroi_udfs", name, tuple(_com_argument(a, i) for i, a in enumerate(args)))
        out.append(_encode(result))
    return out


class _Recorder:
    def __init__(self):
        self.macro_options = []
        self.vba = ""


class _Components:
    def __init__(self, recorder):
        self._recorder = recorder

    def __call__(self, name):
        raise com_error("no such component")

    def Remove(self, component):  # noqa: N802 - COM name
        pass

    def Import(self, path):  # noqa: N802 - COM name
        self._recorder.vba = Path(path).read_text()


class _Application:
    Version = "16.0"

    def __init__(self, recorder):
        self._recorder = recorder

    def MacroOptions(self, macro, **kwargs):  # noqa: N802 - COM name
        self._recorder.macro_options.append({"macro": macro, **{k: kwargs[k] for k in ("Description", "Category", "ArgumentDescriptions")}})


class Workbook:
    """The COM workbook import_udfs talks to (the custom add-in)."""

    Name = "cxroi.xlam"
    Worksheets = [types.SimpleNamespace(Name="_xlwings.conf")]  # an add-in's one sheet; no embedded code

    def __init__(self, recorder):
        self.Application = _Application(recorder)
        self.VBProject = types.SimpleNamespace(VBComponents=_Components(recorder))


def run_import() -> dict:
    xlwings = import_classic_xlwings()
    recorder = _Recorder()
    xlwings.udfs.import_udfs("cxroi_udfs", Workbook(recorder))
    return {"vba": recorder.vba, "macro_options": [{**m, "ArgumentDescriptions": list(m["ArgumentDescriptions"] or [])} for m in recorder.macro_options]}


if __name__ == "__main__":
    scenario = sys.argv[1]
    if scenario == "calls":
        result = run_calls(json.load(sys.stdin))
    elif scenario == "import":
        result = run_import()
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    sys.stdout.write("\n@@RESULT@@" + json.dumps(result))
