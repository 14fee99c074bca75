"""The xlwings Lite add-in: main.py, requirements.txt and the wheel.

Lite runs ``main.py`` with xlwings' Office.js dispatcher (the one
``xlwings.server`` exposes), so the generated module is driven through
``xlwings.server.custom_functions_call`` here, as in ``test_udfs``, and must
answer exactly as the classic module (``cxroi_udfs``) does. By default
``main.py`` carries the engine itself; a test runs it with no cxroi_xl on
the path. The slow test builds a fresh virtual environment holding only
numpy, pandas, scipy and xlwings, as Lite would, runs that ``main.py``, then
adds our wheel (``--no-deps``) for the hosted route, and compares again.
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
    shaped = [(name, [None if a is None else as_range(a) for a in args]) for name, args in calls]
    return shaped + _measured_calls()


def _measured_calls() -> list[tuple[str, list]]:
    """The measured functions, on the tables tests/excel/test_measured_functions.py
    builds (already shaped as Office.js sends them)."""
    from tests.excel import test_measured_functions as m

    hours = [[v] for v in m._hours(-60.0).tolist()]
    kpis = m._kpis(leads=True)
    tables = dict(
        baseline=m._table(kpis.iloc[: m.M_NB]), post=m._table(kpis.iloc[m.M_NB :]), costs=m._table(m.COSTS), proxies=m._table(m.PROXIES),
        go_live=[[m._serial(m.GO_LIVE)]], **{k: [[v]] for k, v in m.SETTINGS.items()},
    )
    calls = [("CXCOUNTERFACTUAL", [hours, [[m.NB]], [[m.FIRST_MONTH]]]), ("CXEFFECT", [hours, [[m.NB]], [[m.FIRST_MONTH]]])]
    calls += [(name, m._ordered(name, **tables)) for name in ("CXMEASURED", "CXMEASUREDMONTHS")]
    return calls


def declared_core() -> list[str]:
    """The names pyproject.toml's [project] dependencies declare, in order,
    xlwings first (read as text: Python 3.10 has no tomllib)."""
    import re

    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    block = re.search(r"(?ms)^dependencies = \[(.*?)^\]", text).group(1)
    names = [re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0] for r in re.findall(r'"([^"]+)"', block)]
    assert names and names[0] == "xlwings"
    return names


def _payload(name: str, args: list) -> dict:
    return ExcelDispatcher.payload(None, name, args)


def answer(module, calls) -> list:
    """Each call's answer as xlwings' dispatcher sends it back to Excel (JSON)."""
    return [json.loads(json.dumps(asyncio.run(xlwings.server.custom_functions_call(_payload(n, a), module)))) for n, a in calls]


def _lite(*args: str):
    from typer.testing import CliRunner

    from cxroi_xl.cli import app

    return CliRunner().invoke(app, ["lite", *args])


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """What `cxroi-xl lite --wheel-url` writes (the hosted-wheel route)."""
    out = tmp_path_factory.mktemp("lite") / "cxroi_lite"
    result = _lite("--out", str(out), "--wheel-url", "https://example.com/wheels/", "--help-url", "https://example.com/cxroi#{name}")
    assert result.exit_code == 0, result.output
    wheels = list(out.glob("*.whl"))
    assert sorted(p.name for p in out.iterdir()) == sorted(["main.py", "requirements.txt", "README-lite.md", ".cxroi-lite.json", wheels[0].name])
    return {"main": out / "main.py", "requirements": out / "requirements.txt", "wheel": wheels[0], "readme": out / "README-lite.md"}


@pytest.fixture(scope="module", autouse=True)
def _sys_path_restored():
    """The embedded main.py puts its engine's zip first on sys.path when it
    answers a call; the tests after these must import the package itself
    (worker processes inherit the path), so the path is put back."""
    saved = list(sys.path)
    yield
    sys.path[:] = saved


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """What `cxroi-xl lite` writes by default: the engine inside main.py."""
    out = tmp_path_factory.mktemp("lite") / "embedded"
    result = _lite("--out", str(out), "--help-url", "https://example.com/cxroi#{name}")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(["main.py", "requirements.txt", "README-lite.md", ".cxroi-lite.json"])
    return {"main": out / "main.py", "requirements": out / "requirements.txt", "readme": out / "README-lite.md"}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lite_main(written):
    return _load(written["main"], "cxroi_lite_main")


@pytest.fixture(scope="module")
def embedded_main(embedded):
    return _load(embedded["main"], "cxroi_lite_embedded")


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


def test_embedded_main_py_declares_and_answers_like_the_classic_module(embedded_main, lite_main, excel):
    meta = xlwings.server.custom_functions_meta(embedded_main)
    assert meta == xlwings.server.custom_functions_meta(lite_main)
    assert answer(embedded_main, sample_calls()) == answer(excel.module, sample_calls())


def test_requirements_and_wheel(written):
    wheel = written["wheel"]
    assert wheel.name.endswith("-py3-none-any.whl")
    lines = written["requirements"].read_text().splitlines()
    assert lines == [f"xlwings=={version('xlwings')}", *declared_core()[1:], f"https://example.com/wheels/{wheel.name}"]
    with zipfile.ZipFile(wheel) as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        metadata = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "cxroi_xl/excel/dispatch.py" in names and "cxroi_xl/excel/catalogue/finance.py" in names and "cxroi_xl/engine/finance.py" in names
    assert "cxroi_xl/excel/classic_udfs/cxroi_udfs.py" in names  # the classic module travels inside the package
    assert not any(n.startswith("udfs/") for n in names)  # no top-level module but cxroi_xl
    required = sorted(
        line.split(":", 1)[1].split(";")[0].strip().split(">")[0].split("=")[0].split("<")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    )
    assert required == sorted(declared_core())
    assert {"numpy", "pandas", "scipy", "xlwings"} <= set(required)


def test_embedded_requirements_name_no_wheel(embedded):
    assert embedded["requirements"].read_text().splitlines() == [f"xlwings=={version('xlwings')}", *declared_core()[1:]]


def test_readme_lite_gives_the_steps_for_that_folder(written, embedded):
    hosted = written["readme"].read_text()
    wheel = written["wheel"].name
    for needed in ("Home > Add-ins", "requirements.txt", "main.py", "bind_cx_formulas", "Access-Control-Allow-Origin", "HTTPS",
                   f"`https://example.com/wheels/{wheel}`", f"`{wheel}`", "Restart", "ISNA"):
        assert needed in hosted, needed
    inside = embedded["readme"].read_text()
    assert "bind_cx_formulas" in inside and "carries the cxroi-xl engine" in inside
    assert "Access-Control" not in inside and ".whl" not in inside and "YOUR-HOST" not in inside + hosted


_ISOLATED = r"""
import asyncio, importlib.util, json, sys
# no cxroi_xl on the path: neither the checkout nor the editable install's finder
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower() and "editable" not in getattr(f, "__name__", "").lower()]
sys.path[:] = [p for p in sys.path if p not in ("", sys.argv[3]) and "__editable__" not in p]
assert importlib.util.find_spec("cxroi_xl") is None, "cxroi_xl is importable"
import xlwings.server
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
main = importlib.util.module_from_spec(spec)
spec.loader.exec_module(main)
calls = json.load(open(sys.argv[2]))
out = [asyncio.run(xlwings.server.custom_functions_call(payload, main)) for payload in calls]
import cxroi_xl
assert cxroi_xl.__file__.endswith(".zip/cxroi_xl/__init__.py") or ".zip" in cxroi_xl.__file__, cxroi_xl.__file__
print("@@RESULT@@" + json.dumps(out))
"""


def test_embedded_main_py_needs_no_installed_cxroi(embedded, embedded_main, tmp_path):
    """The engine travels inside main.py: with cxroi_xl nowhere on the path
    (as in a workbook whose requirements.txt names no wheel), main.py still
    answers every sample exactly as in the full install."""
    calls = sample_calls()
    (tmp_path / "calls.json").write_text(json.dumps([_payload(n, a) for n, a in calls]))
    (tmp_path / "isolated.py").write_text(_ISOLATED)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(XLWINGS_ON_SERVER="true", XLWINGS_LICENSE_KEY="noncommercial", TMPDIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "isolated.py"), str(embedded["main"]), str(tmp_path / "calls.json"), str(ROOT)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.split("@@RESULT@@", 1)[1]) == answer(embedded_main, calls)


def test_a_damaged_engine_is_refused(embedded, tmp_path):
    text = embedded["main"].read_text()
    start = text.index("_CXROI_ENGINE = (") + 30
    damaged = tmp_path / "main.py"
    damaged.write_text(text[:start] + ("B" if text[start] != "B" else "C") + text[start + 1 :])
    module = _load(damaged, "cxroi_damaged")
    with pytest.raises(RuntimeError, match="damaged"):
        module.call("CXROI", [[1]], [[1]])


def test_the_engine_zip_is_deterministic_and_holds_only_the_lower_layers():
    from cxroi_xl.excel import lite

    data = lite.engine_zip()
    assert data == lite.engine_zip()
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        tops = {n.split("/")[1] for n in zf.namelist()}
    assert tops <= {"__init__.py", "errors.py", "py.typed", "engine", "excel"}
    assert {"engine", "excel", "errors.py"} <= tops


# ---- the output folder -----------------------------------------------------


def test_lite_refuses_a_folder_it_did_not_write(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "budget.xlsx").write_text("precious")
    result = _lite("--out", str(out))
    assert result.exit_code == 2 and "budget.xlsx" in result.output and "--force" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["budget.xlsx"]
    forced = _lite("--out", str(out), "--force")
    assert forced.exit_code == 0, forced.output
    assert (out / "budget.xlsx").read_text() == "precious" and (out / "main.py").is_file()


def test_lite_rewrites_its_own_folder_and_drops_its_old_wheel(tmp_path):
    out = tmp_path / "lite"
    assert _lite("--out", str(out), "--wheel-url", "https://example.com/w/").exit_code == 0
    assert list(out.glob("*.whl"))
    again = _lite("--out", str(out))  # now with the engine inside main.py
    assert again.exit_code == 0, again.output
    assert not list(out.glob("*.whl")) and "cxroi_xl" not in (out / "requirements.txt").read_text()


def test_lite_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    out = tmp_path / "lite"
    out.mkdir()
    outside = tmp_path / "outside.py"
    outside.write_text("not to be touched")
    (out / "main.py").symlink_to(outside)
    refused = _lite("--out", str(out))
    assert refused.exit_code == 2 and "main.py" in refused.output
    assert _lite("--out", str(out), "--force").exit_code == 0
    assert outside.read_text() == "not to be touched"
    assert not (out / "main.py").is_symlink() and "bind_cx_formulas" in (out / "main.py").read_text()
    # a symlink left in a folder we wrote is not ours either
    (out / "requirements.txt").unlink()
    (out / "requirements.txt").symlink_to(outside)
    assert _lite("--out", str(out)).exit_code == 2
    assert outside.read_text() == "not to be touched"


@pytest.mark.parametrize("case", ["file", "http"])
def test_lite_exits_2_when_it_cannot(tmp_path, case):
    if case == "file":
        target = tmp_path / "a-file"
        target.write_text("x")
        result = _lite("--out", str(target))
    else:
        result = _lite("--out", str(tmp_path / "new"), "--wheel-url", "http://example.com/w/")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


_FROM_WHEEL = r"""
import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__.lower() and "editable" not in getattr(f, "__name__", "").lower()]
sys.path[:] = [sys.argv[1]] + [p for p in sys.path if p not in ("", sys.argv[3]) and "__editable__" not in p]
import cxroi_xl
assert cxroi_xl.__file__.startswith(sys.argv[1]), cxroi_xl.__file__
from typer.testing import CliRunner
from cxroi_xl.cli import app
for extra in ([], ["--wheel-url", "https://example.com/w/"]):
    result = CliRunner().invoke(app, ["lite", "--out", sys.argv[2], *extra])
    assert result.exit_code == 0, result.output
print("@@OK@@")
"""


def test_lite_works_from_a_non_editable_install(written, tmp_path):
    """`pip install .` copies the package into site-packages without the
    source tree: lite must build everything from the installed files."""
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(target), str(written["wheel"])],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (tmp_path / "from_wheel.py").write_text(_FROM_WHEEL)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(tmp_path / "from_wheel.py"), str(target), str(out), str(ROOT)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert done.returncode == 0 and "@@OK@@" in done.stdout, done.stderr[-3000:]
    rebuilt = next(out.glob("*.whl"))
    with zipfile.ZipFile(rebuilt) as a, zipfile.ZipFile(written["wheel"]) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        code = lambda zf: {n: zf.read(n) for n in zf.namelist() if n.endswith(".py")}  # noqa: E731
        assert code(a) == code(b)


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
wheel_installed = importlib.util.find_spec("cxroi_xl") is not None
assert wheel_installed == (sys.argv[3] == "hosted")
import xlwings.server
if wheel_installed:
    import cxroi_xl.excel.classic_udfs.cxroi_udfs  # the classic module imports too

spec = importlib.util.spec_from_file_location("main", sys.argv[1])
main = importlib.util.module_from_spec(spec)
spec.loader.exec_module(main)
calls = json.load(open(sys.argv[2]))
out = [asyncio.run(xlwings.server.custom_functions_call(payload, main)) for payload in calls]
assert {f["name"] for f in xlwings.server.custom_functions_meta(main)["functions"]} >= {p["func_name"] for p in calls}
print("@@RESULT@@" + json.dumps(out))
"""


@pytest.mark.slow
def test_fresh_environment_with_only_lites_packages_answers_like_the_full_install(written, embedded, lite_main, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pins = [f"{name}=={version(name)}" for name in ("numpy", "pandas", "scipy", "xlwings")]  # as the full install: the pip cache serves them
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    calls = sample_calls()
    expected = answer(lite_main, calls)
    (tmp_path / "calls.json").write_text(json.dumps([_payload(n, a) for n, a in calls]))
    (tmp_path / "fresh.py").write_text(_FRESH_SCRIPT)
    run_env = {**clean, "XLWINGS_ON_SERVER": "true", "XLWINGS_LICENSE_KEY": "noncommercial"}

    def run(main: Path, route: str) -> list:
        done = subprocess.run(
            [str(python), str(tmp_path / "fresh.py"), str(main), str(tmp_path / "calls.json"), route],
            capture_output=True, text=True, env=run_env, cwd=tmp_path, timeout=900,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.split("@@RESULT@@", 1)[1])

    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins], capture_output=True, text=True, env=clean, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert run(embedded["main"], "embedded") == expected  # the engine inside main.py, no wheel anywhere
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(written["wheel"])], capture_output=True, text=True, env=clean, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert run(written["main"], "hosted") == expected
    # the command line is the [cli] extra: without it the command says so
    command = env_dir / ("Scripts/cxroi-xl.exe" if os.name == "nt" else "bin/cxroi-xl")
    done = subprocess.run([str(command), "functions"], capture_output=True, text=True, env=clean, timeout=300)
    assert done.returncode == 1 and 'pip install "cxroi-xl[cli]"' in done.stderr and "Traceback" not in done.stderr
