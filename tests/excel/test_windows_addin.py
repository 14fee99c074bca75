"""Classic xlwings on Windows, through xlwings' own code with pywin32 stubbed.

``tests/classic_excel.py`` makes xlwings take its Windows import branch in a
fresh interpreter (only pywin32 and ctypes' DLL loaders are stand-ins) and
runs ``xlwings.udfs.call_udf`` (what the COM server does for each cell) and
``import_udfs`` (the "Import Python UDFs" button). What these tests check is
what xlwings hands to COM and to ``MacroOptions``.
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
    n_a_cell = com_error("#N/A")["value"]  # how COM delivers an #N/A cell in an argument
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
    ]
    return _run("calls", json.dumps(calls))


def test_error_results_reach_com_as_error_variants(classic_calls):
    payback, roi, tei, propagated, value, div0, num, churn, savings = classic_calls
    assert payback == [[com_error("#N/A")]]
    assert propagated == [[com_error("#N/A")]]
    assert value == [[com_error("#VALUE!")]]
    assert div0 == [[com_error("#DIV/0!")]]
    assert num == [[com_error("#NUM!")]]
    assert tei[5] == ["Payback (periods)", com_error("#N/A")]
    assert churn == [[pytest.approx(0.1, abs=1e-15)], [com_error("#DIV/0!")]]


def test_numbers_and_labels_are_untouched(classic_calls):
    _, roi, tei, *_, savings = classic_calls
    assert roi == [[pytest.approx(0.2, abs=1e-15)]]
    assert [row[0] for row in tei] == ["Metric", "PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)"]
    assert tei[2][1] == 100.0  # PV of costs 100, 0 (hand-derived)
    assert savings == [[1350.0], [1620.0]]  # the values test_udfs.test_cxsavings_broadcasts_and_spills expects


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
        # an add-in's wrappers call into the workbook that uses them
        assert f'XLPy.CallUDF("cxroi_udfs", "{name}", Array(' in body and "ActiveWorkbook" in body


def test_data_sized_functions_stay_out_of_the_wizard():
    heavy = {"CXBGNBDFIT", "CXBGNBD", "CXPALIVE", "CXGGFIT", "CXCLV", "CXATTRIBUTION", "CXSURVIVAL", "CXCOHORT"}
    assert {name for name, fn in registry.functions().items() if not fn.call_in_wizard} == heavy


def test_excel_install_elsewhere_names_the_alternative_and_exits_2():
    from typer.testing import CliRunner

    from cxroi_xl.cli import app

    result = CliRunner().invoke(app, ["excel", "install"])  # the test machines run Linux
    assert result.exit_code == 2
    assert "Windows" in result.output and "cxroi-xl lite" in result.output
