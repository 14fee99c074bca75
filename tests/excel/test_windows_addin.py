"""Classic xlwings on Windows, through xlwings' own code with pywin32 stubbed.

``tests/classic_excel.py`` makes xlwings take its Windows import branch in a
fresh interpreter (only pywin32 and ctypes' DLL loaders are stand-ins) and
runs xlwings' COM server's ``CallUDF`` (what the VBA wrapper's
``XLPy.CallUDF`` reaches for each cell, ranges arriving as Range objects)
and ``import_udfs`` (the "Import Python UDFs" macro and the ribbon's
"Import Functions"). The VBA that import writes is then run, as far as the
error conversion goes, by a small VBA interpreter (``vba_subset``) on what
the COM server returned: that is what Excel receives. Not run here: COM's
own marshalling (pywin32 turning lists into SAFEARRAYs) and Excel.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cxroi_xl.excel import registry
from tests.excel import vba_subset

ROOT = Path(__file__).resolve().parents[2]
VT_ERROR = 10  # VARENUM.VT_ERROR in the Windows SDK (oaidl.h)

# Microsoft's XlCVError enumeration (Excel VBA reference: "XlCVError
# enumeration"); COM carries CVErr(n) as the HRESULT 0x800A0000 + n.
_XL_CV_ERROR = {"#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029, "#NUM!": 2036, "#N/A": 2042}


def com_error(code: str) -> dict:
    hresult = 0x800A0000 + _XL_CV_ERROR[code]
    return {"variant": VT_ERROR, "value": hresult - 2**32}  # as a signed 32-bit SCODE


def _run(scenario: str, stdin: str = "") -> object:
    env = {k: v for k, v in os.environ.items() if k not in ("XLWINGS_ON_SERVER", "XLWINGS_LICENSE_KEY")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "classic_excel.py"), scenario],
        input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.split("@@RESULT@@", 1)[1])


def test_the_codes_are_excels():
    from cxroi_xl.excel.dispatch import COM_ERROR_CODES

    assert {code: com_error(code)["value"] for code in _XL_CV_ERROR} == COM_ERROR_CODES
    # the values the issue quotes for #N/A and #NULL!
    assert COM_ERROR_CODES["#N/A"] == -2146826246 and COM_ERROR_CODES["#NULL!"] == -2146826288


@pytest.fixture(scope="module")
def classic_calls():
    n_a_cell = com_error("#N/A")["value"]  # how COM delivers an #N/A cell inside a range
    calls = [
        ("CXPAYBACK", [[[-100], [10], [10]]]),  # never pays back: #N/A
        ("CXROI", [[[120]], [[100]]]),  # (120 - 100) / 100
        ("CXTEI", [[[0], [1]], [[100], [0]]]),  # table whose payback row is #N/A
        ("CXNPV", [[[0.1]], [[1], [n_a_cell]]]),  # an #N/A cell propagates
        ("CXNPV", [[["ten"]], [[1], [2]]]),  # text for a rate: #VALUE!
        ("CXROI", [[[1], [2]], [[0], [0]]]),  # no costs: #DIV/0!
        ("CXIRR", [[[1], [2], [3]]]),  # no sign change: #NUM!
        ("CXCHURN", [[[10], [0]], [[1], [0]]]),  # spilled column: 0.1, then #DIV/0!
        ("CXSAVINGS", [[[1000], [1200]], [[0.3]], [[5]], [[0.5]]]),  # numbers only: unchanged
        ("CXCHURN", [[[10, 0]], [[1, 0]]]),  # a row: 0.1, #DIV/0! (the COM server sends a 1-D array)
    ]
    return _run("calls", json.dumps(calls))


def test_results_leave_python_as_xlwings_error_strings(classic_calls):
    """What XLPy.CallUDF hands back to VBA: the error literals as text (no
    COM error variant: pywin32 would send any VT_ERROR as "Missing")."""
    payback, roi, tei, propagated, value, div0, num, churn, savings, churn_row = classic_calls
    assert payback == "#N/A"
    assert propagated == "#N/A"  # the #N/A cell read through the Range object's Value
    assert value == "#VALUE!"
    assert div0 == "#DIV/0!"
    assert num == "#NUM!"
    assert tei[5] == ["Payback (periods)", "#N/A"]
    assert churn == [[pytest.approx(0.1, abs=1e-15)], ["#DIV/0!"]]
    assert churn_row == [pytest.approx(0.1, abs=1e-15), "#DIV/0!"]


def test_numbers_and_labels_are_untouched(classic_calls):
    _, roi, tei, *_, savings, _ = classic_calls
    assert roi == pytest.approx(0.2, abs=1e-15)
    assert [row[0] for row in tei] == ["Metric", "PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)"]
    assert tei[2][1] == 100.0  # PV of costs 100, 0 (hand-derived)
    assert savings == [[1350.0], [1620.0]]  # the values test_udfs.test_cxsavings_broadcasts_and_spills expects


def _excel_sees(value):
    """A VBA function's result as Excel shows it: CVErr(n) as the error of
    that XlCVError code, anything else as itself."""
    if isinstance(value, vba_subset.ErrorValue):
        return ("error", {code: name for name, code in _XL_CV_ERROR.items()}[value.code])
    if isinstance(value, vba_subset.VbaArray):
        return [_excel_sees(v) for v in value.tolist()] if value.rank == 1 else [[_excel_sees(v) for v in row] for row in value.tolist()]
    if isinstance(value, list):
        return [_excel_sees(v) for v in value]
    return value


@pytest.fixture(scope="module")
def cxerr(imported):
    vba = imported["vba"]
    return vba_subset.transpile(vba[vba.index("Private Function CxErr("):])["CxErr"]


def test_excel_sees_error_values_after_the_wrapper(classic_calls, cxerr):
    """The whole classic route: Python's answer through xlwings' COM server,
    then the CxErr the imported VBA applies, as Excel receives it."""
    seen = [_excel_sees(cxerr(vba_subset.from_python(result))) for result in classic_calls]
    payback, roi, tei, propagated, value, div0, num, churn, savings, churn_row = seen
    assert payback == ("error", "#N/A") and propagated == ("error", "#N/A")
    assert (value, div0, num) == (("error", "#VALUE!"), ("error", "#DIV/0!"), ("error", "#NUM!"))
    assert tei[5] == ["Payback (periods)", ("error", "#N/A")] and tei[0] == ["Metric", "Value"]
    assert churn == [[pytest.approx(0.1, abs=1e-15)], [("error", "#DIV/0!")]]
    assert churn_row == [pytest.approx(0.1, abs=1e-15), ("error", "#DIV/0!")]
    assert roi == pytest.approx(0.2, abs=1e-15) and savings == [[1350.0], [1620.0]]


@pytest.mark.parametrize("literal", sorted(_XL_CV_ERROR))
def test_cxerr_turns_every_classic_literal_into_its_error(cxerr, literal):
    error = vba_subset.ErrorValue(_XL_CV_ERROR[literal])
    assert cxerr(literal) == error
    assert cxerr(vba_subset.from_python([literal, 1.0])).tolist() == [error, 1.0]  # a row
    assert cxerr(vba_subset.from_python([[1.0, "x"], ["y", literal]])).tolist() == [[1.0, "x"], ["y", error]]  # a table


@pytest.mark.parametrize(
    "text",
    ["#N/A shop", "#n/a", " #N/A", "#N/A ", "#NA", "#SPILL!", "#CALC!", "#GETTING_DATA", "", "N/A", "#DIV/0", "ROI"],
)
def test_cxerr_leaves_other_text_alone(cxerr, text):
    assert cxerr(text) == text
    assert cxerr(vba_subset.from_python([[text, 2.0], [3.0, text]])).tolist() == [[text, 2.0], [3.0, text]]


def test_cxerr_leaves_numbers_blanks_and_existing_errors_alone(cxerr):
    assert cxerr(2042.0) == 2042.0 and cxerr(-2146826246) == -2146826246
    assert cxerr(True) is True and cxerr(None) is None and cxerr(vba_subset.EMPTY) is vba_subset.EMPTY
    assert cxerr(vba_subset.ErrorValue(2042)) == vba_subset.ErrorValue(2042)
    single = vba_subset.from_python([[5.0]])
    assert cxerr(single).tolist() == [[5.0]] and single.tolist() == [[5.0]]  # ByVal: the caller's array is not changed


def test_the_interpreter_knows_vba_semantics():
    """The interpreter itself, on VBA whose answers the VBA reference gives."""
    fns = vba_subset.transpile(
        "Function Rank(ByVal a As Variant) As Long\n"
        "    Dim u As Long\n"
        "    Rank = 1\n"
        "    On Error Resume Next\n"
        "    u = UBound(a, 2)\n"
        "    If Err.Number = 0 Then Rank = 2\n"
        "End Function\n"
        "Function Same(ByVal a As Variant, ByVal b As Variant) As Variant\n"
        "    Same = StrComp(a, b, vbBinaryCompare) = 0\n"
        "End Function\n"
    )
    assert fns["Rank"](vba_subset.from_python([1, 2])) == 1 and fns["Rank"](vba_subset.from_python([[1], [2]])) == 2
    assert fns["Same"]("#N/A", "#N/A") is True and fns["Same"]("#N/A", "#n/a") is False
    with pytest.raises(vba_subset.Unsupported):
        vba_subset.transpile("Function F()\n    F = \"a\" & \"b\"\nEnd Function\n")


@pytest.fixture(scope="module")
def imported():
    return _run("import")


def test_import_python_udfs_registers_every_function_with_full_help(imported):
    options = {entry["macro"].split("!", 1)[1]: entry for entry in imported["macro_options"]}
    assert set(options) == set(registry.functions())
    for name, fn in registry.functions().items():
        entry = options[name]
        # what MacroOptions receives is the whole one-line summary, not a cut docstring
        assert entry["Description"] == fn.summary
        assert len(entry["Description"]) <= 255 and "\n" not in entry["Description"]
        assert entry["Category"] == fn.category
        assert entry["ArgumentDescriptions"] == [a.describe() for a in fn.args]
        assert all(len(d) <= 255 and "\n" not in d for d in entry["ArgumentDescriptions"])


def test_vba_wrappers_fit_excels_limits(imported):
    vba = imported["vba"]
    physical = vba.split("\n")
    # VBA: at most 1023 characters per line and 24 line continuations per statement
    assert max(len(line) for line in physical) <= 1023
    continued = 0
    for line in physical:
        continued = continued + 1 if line.endswith(" _") else 0
        assert continued <= 24
    for name, fn in registry.functions().items():
        block = re.search(rf"^Function {name}\((.*?)\)\n(.*?)^End Function", vba, re.S | re.M)
        assert block, f"no VBA wrapper for {name}"
        params, body = block.group(1), block.group(2)
        assert params.split(", ") == [("Optional " if a.optional else "") + a.name for a in fn.args]
        guard = 'If (Not Application.CommandBars("Standard").Controls(1).Enabled) Then Exit Function'
        assert (guard in body) == (not fn.call_in_wizard), name
        # an add-in's wrappers call into the workbook that uses them, and
        # both #If branches hand the result through CxErr
        assert f'XLPy.CallUDF("cxroi_udfs", "{name}", Array(' in body and "ActiveWorkbook" in body
        assigned = re.findall(rf"^\s*{name} = (.*)$", body, re.M)
        calls = [a for a in assigned if "XLPy.CallUDF" in a]
        assert len(calls) == 2 and all(a.startswith("CxErr(XLPy.CallUDF(") and a.endswith("))") for a in calls), calls
        assert f"{name} = Err.Description" in body  # xlwings' own error branch is kept


def test_cxerr_is_in_the_imported_module_once(imported):
    """xlwings deletes and re-imports its VBA module on every import: CxErr
    travels inside that text, as private helpers (not worksheet functions)."""
    vba = imported["vba"]
    assert vba.startswith('Attribute VB_Name = "xlwings_udfs"')
    assert vba.count("Private Function CxErr(") == 1 and vba.count("Private Function CxErrOne(") == 1
    assert "Function CxErr" not in vba.replace("Private Function CxErr", "")


def test_the_rewrite_keeps_long_lines_within_vba_limits():
    from cxroi_xl.excel.windows_addin import convert_errors_in_vba

    args = ", ".join(f"argument_{i:03d}" for i in range(120))
    call = f'    F = XLPy.CallUDF("cxroi_udfs", "F", Array({args}), ActiveWorkbook, Application.Caller)'
    # as xlwings' VBAWriter cuts it: at a space, with " _" at the end
    cut = call.rfind(" ", 0, 1021)
    written = call[:cut] + " _\n" + call[cut:] + "\n"
    vba, wrapped = convert_errors_in_vba(written)
    assert wrapped == 1
    lines = vba.split("\n")
    assert all(len(line) <= 1023 for line in lines)
    logical = "".join(line[:-2] if line.endswith(" _") else line for line in lines[: lines.index("") if "" in lines else 2][:2])
    assert logical == call.replace("F = XLPy.CallUDF(", "F = CxErr(XLPy.CallUDF(") + ")"


def test_data_sized_functions_stay_out_of_the_wizard():
    heavy = {"CXBGNBDFIT", "CXBGNBD", "CXPALIVE", "CXGGFIT", "CXCLV", "CXATTRIBUTION", "CXSURVIVAL", "CXCOHORT"}
    heavy |= {"CXCOUNTERFACTUAL", "CXEFFECT", "CXMEASURED", "CXMEASUREDMONTHS"}  # counterfactual fits over the client's months
    assert {name for name, fn in registry.functions().items() if not fn.call_in_wizard} == heavy


def test_excel_install_elsewhere_names_the_alternative_and_exits_2():
    from typer.testing import CliRunner

    from cxroi_xl.cli import app

    result = CliRunner().invoke(app, ["excel", "install"])  # the test machines run Linux
    assert result.exit_code == 2
    assert "Windows" in result.output and "cxroi-xl lite" in result.output
