"""``cxroi-xl excel install``: the classic Excel add-in on Windows.

xlwings' custom add-in route: a copy of xlwings' ``quickstart_addin.xlam``
in Excel's XLSTART folder, its config sheet pointing at the folder of the
generated module (:data:`cxroi_xl.excel.udf_module.UDF_DIR`) and this
Python, and the functions imported into the add-in's own VBA project (what
its ``ImportPythonUDFsToAddin`` macro does, here through xlwings'
``import_udfs``). Every workbook then finds ``CXROI`` and the others in the
add-in, so templates and generated live workbooks need no VBA of their own.

**Error values.** A function returns Excel's error literals as text
(``"#N/A"``), as every xlwings integration expects. Classic xlwings hands
that text to COM unchanged, so Excel would show the text ``#N/A``, which
``ISNA`` does not recognise. A COM error variant returned from Python does
not help either: pywin32 turns a ``VARIANT`` of type ``VT_ERROR`` into
``DISP_E_PARAMNOTFOUND`` whatever its code (``com/win32com/src/oleargs.cpp``,
``PythonOleArgHelper::MakeObjToVariant``, ``case VT_ERROR``), i.e. VBA's
"Missing". The conversion therefore happens in VBA:
:func:`convert_errors_in_vba` rewrites the text xlwings'
``generate_vba_wrapper`` writes so that every ``F = XLPy.CallUDF(...)``
becomes ``F = CxErr(XLPy.CallUDF(...))``, and appends ``CxErr`` (see
:data:`CXERR_VBA`) to that same text, since xlwings deletes and re-imports
its VBA module on every import. The generated xlwings module installs this
rewrite into xlwings itself when classic xlwings imports it, so every route
that imports the functions (``cxroi-xl excel install``, the add-in's
``ImportPythonUDFsToAddin`` macro, the xlwings ribbon's *Import Functions*)
writes the converting wrappers.

Needs Windows, Excel, pywin32 and, in Excel's Trust Center, "Trust access to
the VBA project object model". Elsewhere :func:`install` raises
:class:`UnsupportedPlatform`; the command line reports it with exit code 2.
"""
from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from . import udf_module

ADDIN_NAME = "cxroi.xlam"
# The quickstart add-in's VBA reads its settings from the sheet
# PROJECT_NAME & ".conf" (PROJECT_NAME = "myaddin"); "_myaddin.conf" is off.
_CONF_SHEET = "myaddin.conf"

# Excel's XlCVError enumeration (Excel VBA reference, "XlCVError
# enumeration"): the code CVErr takes for each classic error literal.
XL_CV_ERRORS: dict[str, int] = {"#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029, "#NUM!": 2036, "#N/A": 2042}

_ONE_CASES = "\n".join(
    f'    {"If" if i == 0 else "ElseIf"} StrComp(cell, "{literal}", vbBinaryCompare) = 0 Then\n        CxErrOne = CVErr({code})'
    for i, (literal, code) in enumerate(XL_CV_ERRORS.items())
)

#: The VBA appended to xlwings' generated wrappers. Exact, case-sensitive
#: whole-string comparison (StrComp with vbBinaryCompare, whatever the
#: module's Option Compare). xlwings' COM server hands a result over as a
#: scalar, a 1-D array (a one-row table: ``XLPython.CallUDF`` unwraps it) or
#: a 2-D array; pywin32 makes a SAFEARRAY of a list.
CXERR_VBA = f"""
' cxroi-xl: a result that is exactly one of Excel's error literals
' ("#N/A", ...) becomes that error value, alone or inside a spilled array;
' every other value (numbers, "#N/A shop", "#n/a") passes unchanged.
Private Function CxErr(ByVal result As Variant) As Variant
    Dim i As Long
    Dim j As Long
    If Not IsArray(result) Then
        CxErr = CxErrOne(result)
        Exit Function
    End If
    If CxErrRank(result) = 2 Then
        For i = LBound(result, 1) To UBound(result, 1)
            For j = LBound(result, 2) To UBound(result, 2)
                result(i, j) = CxErrOne(result(i, j))
            Next j
        Next i
    Else
        For i = LBound(result, 1) To UBound(result, 1)
            result(i) = CxErrOne(result(i))
        Next i
    End If
    CxErr = result
End Function

Private Function CxErrRank(ByVal values As Variant) As Long
    Dim upper As Long
    CxErrRank = 1
    On Error Resume Next
    upper = UBound(values, 2)
    If Err.Number = 0 Then CxErrRank = 2
    Err.Clear
End Function

Private Function CxErrOne(ByVal cell As Variant) As Variant
    CxErrOne = cell
    If VarType(cell) <> vbString Then Exit Function
{_ONE_CASES}
    End If
End Function
"""

_CALL = re.compile(r"^(?P<indent>\s*)(?P<name>\w+) = (?P<call>XLPy\.CallUDF\(.*\))$")
_SPLIT = " _\n"  # VBA's line continuation as xlwings' VBAWriter writes it
_MAX_LINE = 1023  # VBA's longest physical line


class UnsupportedPlatform(RuntimeError):
    """Classic xlwings add-ins need Windows with Excel and pywin32."""


class VbaNotConverted(RuntimeError):
    """xlwings wrote VBA this module does not recognise: refuse rather than
    import functions whose errors would arrive as text."""


def _physical(line: str) -> list[str]:
    """``line`` cut at spaces into VBA lines of at most 1023 characters."""
    parts = []
    while len(line) > _MAX_LINE:
        cut = line.rfind(" ", 1, _MAX_LINE - 2)
        cut = cut if cut > 0 else _MAX_LINE - 2
        parts.append(line[:cut] + " _")
        line = line[cut:]
    return parts + [line]


def convert_errors_in_vba(vba: str) -> tuple[str, int]:
    """The VBA xlwings generated, with every ``F = XLPy.CallUDF(...)``
    wrapped as ``F = CxErr(XLPy.CallUDF(...))`` and ``CxErr`` appended;
    also the number of calls wrapped."""
    out: list[str] = []
    wrapped = 0
    logical: list[str] = []
    for line in vba.splitlines():
        logical.append(line)
        if line.endswith(" _"):
            continue  # continued on the next line
        whole = "".join(part[:-2] if part.endswith(" _") else part for part in logical)
        found = _CALL.match(whole)
        if found:
            out.extend(_physical(f"{found['indent']}{found['name']} = CxErr({found['call']})"))
            wrapped += 1
        else:
            out.extend(logical)
        logical = []
    out.extend(logical)
    return "\n".join(out) + "\n" + CXERR_VBA, wrapped


_MARK = "_cxroi_converts_errors"


def patch_classic_xlwings(udfs: Any) -> None:
    """Make classic xlwings' ``generate_vba_wrapper`` (module ``udfs`` is
    ``xlwings.udfs``) write the converting wrappers for our module.

    Other UDF modules keep xlwings' own wrappers. Idempotent: the generated
    module calls it on every import and reload.
    """
    original = udfs.generate_vba_wrapper
    if getattr(original, _MARK, False):
        return

    def generate_vba_wrapper(module_name, module, f, xl_workbook):
        if not getattr(module, "__cxroi_udfs__", False):
            return original(module_name, module, f, xl_workbook)
        buffer = io.StringIO()
        original(module_name, module, buffer, xl_workbook)
        vba, wrapped = convert_errors_in_vba(buffer.getvalue())
        expected = 2 * sum(1 for name in dir(module) if hasattr(getattr(module, name), "__xlfunc__"))
        if wrapped != expected:
            raise VbaNotConverted(
                f"xlwings {getattr(sys.modules.get('xlwings'), '__version__', '?')} wrote {wrapped} XLPy.CallUDF "
                f"calls where {expected} were expected; the error conversion cannot be added"
            )
        f.write(vba)

    setattr(generate_vba_wrapper, _MARK, True)
    generate_vba_wrapper.__wrapped__ = original
    udfs.generate_vba_wrapper = generate_vba_wrapper


def check_platform() -> None:
    if not sys.platform.startswith("win"):
        raise UnsupportedPlatform(
            "the classic Excel add-in needs Windows with Excel and pywin32; on macOS and Excel on the web "
            "use xlwings Lite (`cxroi-xl lite`, see the README)"
        )
    try:
        import pywintypes  # noqa: F401
    except ImportError:
        raise UnsupportedPlatform("pywin32 is missing: pip install pywin32 (xlwings installs it on Windows)") from None


def install(global_location: bool = False) -> Path:
    """Install ``cxroi.xlam`` into Excel's startup folder; returns its path.

    Rerun after upgrading cxroi-xl: it re-imports the VBA wrappers. Not
    verified on this project's Linux machines: only on Windows.
    """
    check_platform()
    import xlwings as xw
    import xlwings.udfs

    template = Path(xw.__file__).parent / "quickstart_addin.xlam"
    app = xw.apps.active if xw.apps else xw.App(visible=False)
    startup = Path(app.path) / "XLSTART" if global_location else Path(app.startup_path)
    startup.mkdir(parents=True, exist_ok=True)
    target = startup / ADDIN_NAME
    for book in app.books:  # an open copy would keep the file locked
        if book.name.lower() == ADDIN_NAME:
            book.close()
    shutil.copyfile(template, target)
    book = app.books.open(str(target))
    try:
        sheet = book.sheets["_myaddin.conf"]
        sheet.name = _CONF_SHEET
        settings = {"PYTHONPATH": str(udf_module.UDF_DIR), "UDF Modules": udf_module.UDF_PATH.stem, "Interpreter_Win": sys.executable}
        for row in range(1, 20):
            key = sheet.range((row, 1)).value
            if key in settings:
                sheet.range((row, 2)).value = settings[key]
        if str(udf_module.UDF_DIR) not in sys.path:
            sys.path.insert(0, str(udf_module.UDF_DIR))
        patch_classic_xlwings(xlwings.udfs)
        xlwings.udfs.import_udfs(udf_module.UDF_PATH.stem, book.api)
        code = book.api.VBProject.VBComponents("xlwings_udfs").CodeModule
        if "Function CxErr(" not in code.Lines(1, code.CountOfLines):
            raise VbaNotConverted("the imported VBA module has no CxErr: error values would reach Excel as text")
        book.save()
    finally:
        book.close()
    return target
