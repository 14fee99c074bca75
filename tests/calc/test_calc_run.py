"""What a ``cxroi-xl calc`` run leaves in its process.

* It imports only what the workbook's formulas use: each case runs the
  console script's entry point in a fresh child interpreter (this test
  session has imported much already) and reports which heavy libraries it
  loaded.
* The garbage collector: :func:`calc_file` keeps what lives to the end
  apart from the collector's passes while it runs, and hands everything
  back to it when it returns or fails.

Not timed: benchmarks/bench_calc_libreoffice.py measures the processor time.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from cxroi_xl.calc.safety import WorkbookError
from cxroi_xl.calc.workbook import calc_file
from tests.conftest import ROOT

# statsmodels only for the structural time-series model, Dask only for
# --executor dask, xlwings only inside Excel: none is calc's
NEVER_FOR_CALC = ("statsmodels", "dask", "distributed", "xlwings")

CHILD = """
import json, sys
watched, arguments, report = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
from cxroi_xl.command import main
sys.argv = ["cxroi-xl", *arguments]
try:
    main()
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
with open(report, "w", encoding="utf-8") as handle:
    json.dump([name for name in watched if name in sys.modules], handle)
"""


@pytest.mark.parametrize("template", ["cx_automation_roi", "attribution"])
def test_calc_of_a_template_loads_no_library_it_does_not_use(tmp_path, template):
    report = tmp_path / "loaded.json"
    arguments = ["calc", str(ROOT / "workbook_templates" / f"{template}.xlsx"), "-o", str(tmp_path / "out.xlsx")]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(NEVER_FOR_CALC), json.dumps(arguments), str(report)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(report.read_text(encoding="utf-8")) == []
    assert (tmp_path / "out.xlsx").is_file()


def test_calc_file_hands_every_object_back_to_the_collector(tmp_path):
    calc_file(ROOT / "workbook_templates" / "attribution.xlsx", tmp_path / "out.xlsx")
    assert gc.get_freeze_count() == 0
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(WorkbookError):
        calc_file(tmp_path / "bad.xlsx", tmp_path / "out2.xlsx")
    assert gc.get_freeze_count() == 0
