"""The main template's structure, and the batch's fast route against the
all-openpyxl route."""
from __future__ import annotations

import io

import openpyxl
import pytest
from openpyxl.worksheet.formula import ArrayFormula

from cxroi_xl.batch.read import read_batch
from cxroi_xl.workbooks import build, common, roi_template
from tests.workbooks.package_compare import assert_same_build
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def client():
    return read_batch(ROOT / "examples" / "sample_clients").tracker_input("northwind-shop")


def _cells(book: openpyxl.Workbook) -> dict:
    out = {}
    for ws in book:
        for row in ws.iter_rows():
            for c in row:
                if c.value is not None or c.has_style:
                    value = (c.value.ref, c.value.text) if isinstance(c.value, ArrayFormula) else c.value
                    out[(ws.title, c.coordinate)] = (value, c.number_format, c.fill.fgColor.rgb, c.data_type, c.font.b)
        out[(ws.title, "tables")] = sorted((name, ws.tables[name].ref) for name in ws.tables)
        out[(ws.title, "validations")] = sorted(str(v.sqref) for v in ws.data_validations.dataValidation)
    return out


def test_fast_route_gives_the_same_content(client):
    """RowStream writes the table rows as XML text; opened by openpyxl the
    file must hold exactly the cells, formats and tables of the slow route."""
    slow = common.workbook_bytes(roi_template.build(client))
    stream = common.RowStream()
    fast = common.workbook_bytes(roi_template.build(client, stream), stream)
    assert fast != slow  # really the other route
    a = _cells(openpyxl.load_workbook(io.BytesIO(slow)))
    b = _cells(openpyxl.load_workbook(io.BytesIO(fast)))
    assert a.keys() == b.keys()
    differing = [key for key in a if a[key] != b[key]]
    assert not differing, [(k, a[k], b[k]) for k in differing[:5]]
    surveys = openpyxl.load_workbook(io.BytesIO(fast))["Surveys"]
    assert surveys.max_row == 4 + len(client.surveys)
    # the cached values too: the stream renders the engine's column vectors
    slow_book = roi_template.build(client)
    slow = common.workbook_bytes(slow_book, values=slow_book.formula_values)
    fast_book = roi_template.build(client, stream)
    fast = common.workbook_bytes(fast_book, stream, fast_book.formula_values)
    for ws_slow, ws_fast in zip(openpyxl.load_workbook(io.BytesIO(slow), data_only=True), openpyxl.load_workbook(io.BytesIO(fast), data_only=True)):
        assert [[c.value for c in r] for r in ws_slow.iter_rows()] == [[c.value for c in r] for r in ws_fast.iter_rows()], ws_slow.title


def test_shipped_template_is_a_fresh_build():
    shipped = (build.TEMPLATE_DIR / "cx_automation_roi.xlsx").read_bytes()
    assert_same_build(shipped, build.template_bytes("cx_automation_roi"))


def test_build_is_byte_identical_run_to_run(client):
    assert common.workbook_bytes(roi_template.build(client)) == common.workbook_bytes(roi_template.build(client))


def test_named_ranges_tables_and_layout():
    book = roi_template.build()
    assert {"ClientName", "GoLive", "Currency", "DiscountRate", "BenefitRisk", "CostRisk", "MonthlyRate", "BaselineCostPerContact"} <= set(book.defined_names)
    assert {"GrossMargin", "RetentionRisk", "UpliftRisk", "HorizonMonths", "Method", "HalfLifeService", "HalfLifeRetention", "HalfLifeUplift", "RampMonths", "BaselineMonths", "TrackedMonths", "HorizonRows", "ServiceCounted", "RetentionCounted", "UpliftCounted", "SummaryLabels", "SummaryValues"} <= set(book.defined_names)
    assert book.sheetnames == ["Start here", "Summary", "Inputs", "Baseline", "Post-automation", "Costs", "Surveys", "Proxies", "Controls", "ROI", "Scenarios", "CX metrics"]
    tables = {name for ws in book for name in ws.tables}
    assert tables == {"Baseline", "PostAutomation", "OneOffCosts", "Surveys", "Proxies", "Controls"}
    for ws in book:
        # fitted to pages, or (ROI, Scenarios) fixed pages between manual breaks; orientation and scale: test_layout.py
        assert (ws.sheet_properties.pageSetUpPr.fitToPage or ws.col_breaks.brk) and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("="):
                    assert "[@" not in c.value, "structured references must be written in full"
                    for banned in ("XLOOKUP(", "LET(", "FILTER(", "_xlfn."):
                        assert banned not in c.value
    assert len(book["ROI"]._charts) == 4 and len(book["Scenarios"]._charts) == 2 and len(book["CX metrics"]._charts) == 1


def test_start_here_text_is_shared_with_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert roi_template.start_here_markdown().replace("## ", "### ").strip() in readme, "run `make readme`"
