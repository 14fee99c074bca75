"""The xlwings Lite add-in: main.py, requirements.txt and the wheel.

Lite runs ``main.py`` with xlwings' Office.js dispatcher (the one
``xlwings.server`` exposes), so the generated module is driven through
``xlwings.server.custom_functions_call`` here, as in ``test_udfs``, and must
answer exactly as the classic module ``udfs/cxroi_udfs.py`` does. The slow
test builds a fresh virtual environment holding only numpy, pandas, scipy,
xlwings and our wheel (``--no-deps``), as Lite would, and compares again.
"""
from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import os
import subprocess
import sys
import venv
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
import xlwings as xw
import xlwings.server

from cxroi_xl.excel import registry
from tests.excel_dispatch import ExcelDispatcher, as_range

ROOT = Path(__file__).resolve().parents[2]
CDNOW = ROOT / "tests" / "data" / "cdnow_summary.csv"


def _cdnow(n: int = 300) -> dict[str, list[float]]:
    with CDNOW.open(newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    return {key: [float(r[key]) for r in rows] for key in ("frequency", "recency", "T", "monetary_value")}


def sample_calls() -> list[tuple[str, list]]:
    """At least one answerable call per function (plus bad input), as Excel sends them."""
    c = _cdnow()
    customers = [c["frequency"], c["recency"], c["T"]]
    calls = [
        ("CXROI", [[0, 60, 60], [100, 0, 0], 0.01, 0.1, 0.05]),
        ("CXROI", [[1, 2, 3], [1, 2]]),
        ("CXNPV", [0.08, [-40000, 8000, 9200, 10000, 12000, 14500]]),
        ("CXNPV", [0.09, [-10000, 2750, 4250], [39448.0, 39508.0, 39751.0]]),
        ("CXIRR", [[-70000, 12000, 15000, 18000, 21000, 26000]]),
        ("CXPAYBACK", [[-100, 10, 10]]),
        ("CXTEI", [[0, 600, 600], [500, 100, 100], 0.1, 0.1, 0.05]),
        ("CXSAVINGS", [[1000, 1200], 0.3, 5.0, 0.5]),
        ("CXNPS", [[10, 9, 8, 7, 6, 0, None, 10]]),
        ("CXNPSCI", [[10, 9, 8, 7, 6, 0, 10, 9], 0.9]),
        ("CXCSAT", [[5, 4, 3, 5, 1], 5]),
        ("CXCES", [[1, 2, 7, 5]]),
        ("CXRATE", [45, 60]),
        ("CXUPLIFT", [[3.1, 2.9, 3.4, 3.0], [3.8, 3.6, 4.0, 3.9]]),
        ("CXDID", [[3.1, 2.9, 3.4], [3.8, 3.6, 4.0], [3.0, 3.2, 3.1], [3.1, 3.3, 3.0]]),
        ("CXCLTV", [50, 0.7, 0.05, 0.01, 36]),
        ("CXCAC", [12000, 0]),
        ("CXLTVCAC", [2000, 150]),
        ("CXCHURN", [[100, 90], [10, 5]]),
        ("CXRETENTION", [[100, 90], [95, 100], [5, 15]]),
        ("CXCOHORT", [["a", "b", "a", "c", "b"], [35431.0, 35440.0, 35470.0, 35480.0, 35520.0], "M"]),
        ("CXSURVIVAL", [[1, 3, 3, 6, 8, 12], [1, 0, 1, 1, 0, 0], [3, 6]]),
        ("CXBGNBDFIT", customers),
        ("CXBGNBD", customers + [39]),
        ("CXPALIVE", customers),
        ("CXGGFIT", [c["frequency"], c["monetary_value"]]),
        ("CXCLV", customers + [c["monetary_value"], 12, 0.01, 7]),
        ("CXATTRIBUTION", [["search > email", "email > chat", "search"], [3, 2, 1], "markov", [30, 20, 10], [5, 4, 6]]),
        ("CXRETAINEDMARGIN", [[1000, 1010], [25, 24], [50000, 50500], [1020, 1030, 1040], [20, 18, 30], 0.5, 6]),
        ("CXREVENUEUPLIFT", [[200, 210], [40, 42], [220, 230], [50, 52], 900, 4]),
        ("CXMONTECARLO", [[[0, 0], [600, 300], [600, 300]], [500, 100, 100], 0.01, [[0.8, 0.7]], [[1.2, 1.1]], 0.9, 1.3, 2000, 7, 5]),
        ("CXTORNADO", [[[0, 0], [600, 300], [600, 300]], [500, 100, 100], 0.01, [[0.8, 0.7]], [[1.2, 1.1]], 0.9, 1.3, [["service", "retention"]]]),
        ("CXMONTECARLO", [[0, 600, 600], [500, 100, 100], 0.01, 0.8, 1.2]),
    ]
    return [(name, [None if a is None else as_range(a) for a in args]) for name, args in calls]


def _payload(name: str, args: list) -> dict:
    return ExcelDispatcher.payload(None, name, args)


def answer(module, calls) -> list:
    """Each call's answer as xlwings' dispatcher sends it back to Excel (JSON)."""
    return [json.loads(json.dumps(asyncio.run(xlwings.server.custom_functions_call(_payload(n, a), module)))) for n, a in calls]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """What `cxroi-xl lite` writes (built once for this module: building the wheel takes seconds)."""
    from typer.testing import CliRunner

    from cxroi_xl.cli import app

    out = tmp_path_factory.mktemp("lite") / "cxroi_lite"
    result = CliRunner().invoke(app, ["lite", "--out", str(out), "--wheel-url", "https://example.com/wheels/", "--help-url", "https://example.com/cxroi#{name}"])
    assert result.exit_code == 0, result.output
    wheels = list(out.glob("*.whl"))
    assert sorted(p.name for p in out.iterdir()) == sorted(["main.py", "requirements.txt", wheels[0].name])
    return {"main": out / "main.py", "requirements": out / "requirements.txt", "wheel": wheels[0]}


@pytest.fixture(scope="module")
def lite_main(written):
    spec = importlib.util.spec_from_file_location("cxroi_lite_main", written["main"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_call_has_a_sample():
    assert {name for name, _ in sample_calls()} == set(registry.functions())


def test_main_py_declares_every_function_like_the_classic_module(lite_main, excel):
    meta = xlwings.server.custom_functions_meta(lite_main)
    functions = {f["name"]: f for f in meta["functions"]}
    assert set(functions) == set(registry.functions())
    for name, fn in registry.functions().items():
        described = functions[name]
        assert described["description"] == fn.summary
        assert described["helpUrl"] == f"https://example.com/cxroi#{name}"
        assert [(p["name"], p["description"], p.get("optional", False)) for p in described["parameters"]] == [
            (a.name, a.describe(), a.optional) for a in fn.args
        ]
        classic = getattr(excel.module, name).__xlfunc__
        assert [a["options"] for a in getattr(lite_main, name).__xlfunc__["args"]] == [a["options"] for a in classic["args"]]


def test_main_py_answers_exactly_like_the_classic_module(lite_main, excel):
    calls = sample_calls()
    via_lite = answer(lite_main, calls)
    assert via_lite == answer(excel.module, calls)
    # and the answers are real: numbers, tables and Excel's own error objects
    errors = [r[0][0]["errorType"] for r in via_lite if isinstance(r[0][0], dict)]
    assert errors == ["Value", "NotAvailable", "Div0"]  # CXROI lengths, CXPAYBACK never, CXCAC no customers


def test_requirements_and_wheel(written):
    wheel = written["wheel"]
    assert wheel.name.endswith("-py3-none-any.whl")
    lines = written["requirements"].read_text().splitlines()
    assert lines == [f"xlwings=={version('xlwings')}", "numpy", "pandas", "scipy", f"https://example.com/wheels/{wheel.name}"]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "cxroi_xl/excel/dispatch.py" in names and "cxroi_xl/excel/catalogue/finance.py" in names and "cxroi_xl/engine/finance.py" in names
    required = sorted(
        line.split(":", 1)[1].split(";")[0].strip().split(">")[0].split("=")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )
    assert required == ["numpy", "pandas", "scipy", "xlwings"]


@pytest.mark.parametrize(
    "formula, rebound",
    [
        ("=CXROI(B2:B14,C2:C14)", "=CXROI(B2:B14,C2:C14)"),
        ("=_xldudf_CXROI(B2:B14,C2:C14)", "=CXROI(B2:B14,C2:C14)"),
        ("=IFERROR(_xldudf_cxpayback(ROI!B2:B14),\"not reached\")", "=IFERROR(CXPAYBACK(ROI!B2:B14),\"not reached\")"),
        ("=INDEX(cxtei(B2:B4,C2:C4),5,2)+CXNPV (0.1, D2:D4)", "=INDEX(CXTEI(B2:B4,C2:C4),5,2)+CXNPV (0.1, D2:D4)"),
        ("=SUM(A1:A3)", None),
        ("=CXFOO(A1)", None),  # not ours
        ("=MY.CXROI(A1)", None),  # another add-in's namespace
        ("CXROI(A1)", None),  # text, not a formula
        (42.0, None),
    ],
)
def test_rebind_formula(lite_main, formula, rebound):
    assert lite_main.rebind_formula(formula) == rebound


class _Range:
    def __init__(self, sheet, row, column, formulas=None):
        self.sheet, self.row, self.column, self._formulas = sheet, row, column, formulas

    def options(self, **options):
        assert options == {"ndim": 2}
        return self

    async def get_formula(self):
        return self._formulas

    @property
    def formula(self):
        raise AssertionError("Lite cannot read formulas synchronously")

    @formula.setter
    def formula(self, value):
        self.sheet.written[(self.row, self.column)] = value


class _Sheet:
    """What the script touches of a Lite sheet: used_range, range((r, c)).formula."""

    def __init__(self, top, left, formulas):
        self.used_range = _Range(self, top, left, formulas)
        self.written = {}

    def range(self, cell):
        return _Range(self, *cell)


def test_bind_script_reenters_cx_formulas_through_xlwings_script_call(lite_main):
    assert [s["function_name"] for s in xlwings.server.custom_scripts_meta(lite_main)] == ["bind_cx_formulas"]
    roi = _Sheet(2, 1, [["Metric", "=_xldudf_CXTEI(B2:B4,C2:C4)"], [5, "=SUM(A1:A2)"], ["ROI", "=cxroi(B2:B4,C2:C4)"]])
    notes = _Sheet(1, 1, [["plain text"]])
    book = type("Book", (), {"sheets": [roi, notes]})()
    asyncio.run(xlwings.server.custom_scripts_call(lite_main, "bind_cx_formulas", typehint_to_value={xw.Book: book}))
    assert roi.written == {(2, 2): "=CXTEI(B2:B4,C2:C4)", (4, 2): "=CXROI(B2:B4,C2:C4)"}
    assert notes.written == {}


# ---- a fresh environment with only what xlwings Lite has ------------------

_FRESH_SCRIPT = r"""
import asyncio, importlib, importlib.util, json, sys

# nothing of the command line may be needed: prove it is absent
for absent in ("typer", "rich", "pydantic", "openpyxl", "lxml", "jinja2", "defusedxml", "numpy_financial"):
    assert importlib.util.find_spec(absent) is None, f"{absent} is installed in the fresh environment"
import xlwings.server
import udfs.cxroi_udfs  # the classic module imports too

spec = importlib.util.spec_from_file_location("main", sys.argv[1])
main = importlib.util.module_from_spec(spec)
spec.loader.exec_module(main)
calls = json.load(open(sys.argv[2]))
out = [asyncio.run(xlwings.server.custom_functions_call(payload, main)) for payload in calls]
assert {f["name"] for f in xlwings.server.custom_functions_meta(main)["functions"]} >= {p["func_name"] for p in calls}
print("@@RESULT@@" + json.dumps(out))
"""


@pytest.mark.slow
def test_fresh_environment_with_only_lites_packages_answers_like_the_full_install(written, lite_main, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pins = [f"{name}=={version(name)}" for name in ("numpy", "pandas", "scipy", "xlwings")]  # as the full install: the pip cache serves them
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    for command in ([str(python), "-m", "pip", "install", "--quiet", *pins], [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(written["wheel"])]):
        done = subprocess.run(command, capture_output=True, text=True, env=clean, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
    calls = sample_calls()
    (tmp_path / "calls.json").write_text(json.dumps([_payload(n, a) for n, a in calls]))
    (tmp_path / "fresh.py").write_text(_FRESH_SCRIPT)
    run_env = {**clean, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}
    done = subprocess.run(
        [str(python), str(tmp_path / "fresh.py"), str(written["main"]), str(tmp_path / "calls.json")],
        capture_output=True, text=True, env=run_env, cwd=tmp_path, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fresh = json.loads(done.stdout.split("@@RESULT@@", 1)[1])
    assert fresh == answer(lite_main, calls)
    # the command line is the [cli] extra: without it the command says so
    command = env_dir / ("Scripts/cxroi-xl.exe" if os.name == "nt" else "bin/cxroi-xl")
    done = subprocess.run([str(command), "functions"], capture_output=True, text=True, env=clean, timeout=300)
    assert done.returncode == 1 and 'pip install "cxroi-xl[cli]"' in done.stderr and "Traceback" not in done.stderr
