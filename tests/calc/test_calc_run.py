"""What a ``cxroi-xl calc`` run leaves in its process.

* It imports only what the workbook's formulas use: each case runs the
  console script's entry point in a fresh child interpreter
  (:func:`tests.test_startup.loaded_by`) and reports which heavy libraries
  it loaded.
* The garbage collector: :func:`calc_file` keeps what lives to the end
  apart from the collector's passes while it runs, and hands everything
  back to it when it returns or fails.

Not timed: benchmarks/bench_calc_libreoffice.py measures the processor time.
"""
from __future__ import annotations

import gc

import pytest

from cxroi_xl.calc.safety import WorkbookError
from cxroi_xl.calc.workbook import calc_file
from tests.conftest import ROOT
from tests.test_startup import loaded_by

# statsmodels only for the structural time-series model, Dask only for
# --executor dask, xlwings only inside Excel: none is calc's
NEVER_FOR_CALC = ("statsmodels", "dask", "distributed", "xlwings")


@pytest.mark.parametrize("template", ["cx_automation_roi", "attribution"])
def test_calc_of_a_template_loads_no_library_it_does_not_use(tmp_path, template):
    arguments = ["calc", str(ROOT / "workbook_templates" / f"{template}.xlsx"), "-o", str(tmp_path / "out.xlsx")]
    assert loaded_by(tmp_path, arguments, NEVER_FOR_CALC) == []
    assert (tmp_path / "out.xlsx").is_file()


def test_calc_file_hands_every_object_back_to_the_collector(tmp_path):
    calc_file(ROOT / "workbook_templates" / "attribution.xlsx", tmp_path / "out.xlsx")
    assert gc.get_freeze_count() == 0
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(WorkbookError):
        calc_file(tmp_path / "bad.xlsx", tmp_path / "out2.xlsx")
    assert gc.get_freeze_count() == 0
