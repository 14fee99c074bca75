"""A client's workbook printed as a report: LibreOffice's PDF export of every
sheet (as a user's "Export as PDF" or print), read back with poppler's
``pdftotext``. The oracle is what LibreOffice prints, page by page; each
page names its sheet in its footer."""
from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.print_settings import PrintArea

from cxroi_xl.engine.tracker import TrackerInput
from cxroi_xl.workbooks import build
from cxroi_xl.workbooks.holistic_sheets import EXPECTED_NPV_ROW, SPREAD_ROW, TABLE_ROW, TORNADO_DELTA_COL, TORNADO_ROWS
from cxroi_xl.workbooks.libreoffice import _convert, read_values, recalculate
from cxroi_xl.workbooks.sample_data import synthetic_client

# The report budget of a client with 12 baseline months, 12 post months and
# 300 survey answers, sheet by sheet. The Controls sheet (optional control
# series) came after the budget of 14 pages was set, and adds its one page.
PAGE_BUDGET = {
    "Start here": 2, "Summary": 1, "Inputs": 1, "Baseline": 1, "Post-automation": 1, "Costs": 1, "Surveys": 1,
    "Proxies": 1, "Controls": 1, "ROI": 2, "Scenarios": 2, "CX metrics": 1,
}
_FOOTER = re.compile(r"^\s*(\S.*?)\s{2,}page (\d+) of (\d+)\s*$")


def named_client() -> TrackerInput:
    sample = synthetic_client(seed=7, client_id="c7", client_name="Print Test Co", baseline_months=12, post_months=12, surveys_per_month=13, with_leads=True, with_proxies=True)
    return TrackerInput(sample.client_id, sample.client_name, sample.go_live, sample.kpis, sample.costs, sample.surveys.head(300), sample.currency, proxies=sample.proxies)


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _sheet_of(page: str) -> str:
    lines = [line for line in page.splitlines() if line.strip()]
    match = _FOOTER.match(lines[-1]) if lines else None
    assert match, f"a page without its footer: {page[:200]!r}"
    return match.group(1)


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("print")
    data = named_client()
    path = build.build_client_workbook(data, "cx_automation_roi", "values", folder / "client.xlsx")
    pdf = _convert([path], folder / "pdf", "pdf", 300)[0]
    return {"data": data, "path": path, "pages": _pages(pdf), "folder": folder}


def test_the_named_client_prints_within_its_page_budget(printed):
    pages = printed["pages"]
    counts = Counter(_sheet_of(page) for page in pages)
    assert set(counts) == set(PAGE_BUDGET), counts
    for sheet, budget in PAGE_BUDGET.items():
        assert counts[sheet] <= budget, f"{sheet}: {counts[sheet]} pages, budget {budget}"
    assert len(pages) <= sum(PAGE_BUDGET.values()) == 15


def test_no_page_is_blank_and_every_page_names_its_sheet_and_place(printed):
    pages = printed["pages"]
    for number, page in enumerate(pages, start=1):
        lines = [line for line in page.splitlines() if line.strip()]
        assert len(lines) >= 3, f"page {number} is blank but for its footer"
        match = _FOOTER.match(lines[-1])
        assert match and int(match.group(2)) == number and int(match.group(3)) == len(pages), lines[-1]


def test_raw_data_sheets_print_their_summary_with_the_data_s_own_counts(printed):
    """Hand-derived from the input itself: 300 answers, split at go-live;
    12 months each side."""
    data, pages = printed["data"], printed["pages"]
    by_sheet = {}
    for page in pages:
        by_sheet.setdefault(_sheet_of(page), []).append(page)
    surveys = by_sheet["Surveys"][0]
    dates = data.surveys["date"].astype("datetime64[ns]")
    before = int((dates < data.go_live.replace(day=1)).sum())
    assert re.search(r"Answers\s+300\b", surveys)
    assert re.search(rf"Answers before go-live\s+{before}\b", surveys)
    assert re.search(rf"Answers from go-live on\s+{300 - before}\b", surveys)
    assert "Clear Print Area" in surveys
    nps = data.surveys["nps"].dropna()
    assert re.search(rf"NPS answer, average\s+{nps.mean():.2f}\b", surveys)  # rounded as the cell's 0.00 shows it
    for sheet in ("Baseline", "Post-automation"):
        assert re.search(r"Months\s+12\b", by_sheet[sheet][0]), sheet
    assert re.search(r"Contacts\s+" + f"{int(data.kpis['contacts'].iloc[:12].sum()):,}", by_sheet["Baseline"][0])


def test_each_chart_prints_whole_on_one_page(printed):
    """Every chart's title, its axis title and its last category label on
    one page (a chart cut by a page break loses one of them)."""
    pages, wb = printed["pages"], load_workbook(printed["path"])
    checked = 0
    for sheet in ("ROI", "Scenarios"):
        sheet_pages = [page for page in pages if _sheet_of(page) == sheet]
        for chart in wb[sheet]._charts:
            words = " ".join(run.t for p in chart.title.tx.rich.p for run in (p.r or [])).split()
            holding = [page for page in sheet_pages if all(w in page.split() for w in words[-3:]) and words[0] in page]
            assert holding, f"{sheet}: chart {' '.join(words)!r} not printed"
            axis = chart.y_axis.title
            axis_words = " ".join(run.t for p in axis.tx.rich.p for run in (p.r or [])).split() if axis is not None else []
            assert any(all(w in page for w in axis_words) for page in holding), f"{sheet}: {' '.join(words)!r} without its axis title"
            checked += 1
    assert checked == 6  # the ROI sheet's four charts, the histogram and the tornado


def test_the_tornado_is_centred_on_the_expected_npv(printed, tmp_path):
    """Each driver's bars run from the expected NPV (every driver at 1) to
    its NPV at low and at high. Derived independently from the printed
    tornado table and the spreads: NPV_d(m) = NPV_1 + (m - 1) PV_d, so
    NPV_1 = NPV_d(low) - (low - 1)(NPV_d(high) - NPV_d(low)) / (high - low),
    the same for every driver (rel 1e-9), and equal to the sheet's expected
    NPV; the chart's two series are the changes from it (LibreOffice's
    recalculation, abs 1e-6)."""
    recalculated = recalculate(printed["path"], tmp_path)
    cells = read_values(recalculated)["Scenarios"]
    spreads = {cells[f"B{SPREAD_ROW + i}"]: (cells[f"C{SPREAD_ROW + i}"], cells[f"E{SPREAD_ROW + i}"]) for i in range(5)}
    expected = cells[f"I{EXPECTED_NPV_ROW}"]
    from openpyxl.utils import get_column_letter

    low_col, high_col = get_column_letter(TORNADO_DELTA_COL), get_column_letter(TORNADO_DELTA_COL + 1)
    drivers = 0
    for r in range(TABLE_ROW + 1, TABLE_ROW + TORNADO_ROWS):
        driver, npv_low, npv_high = cells[f"G{r}"], cells[f"H{r}"], cells[f"I{r}"]
        low, high = spreads[driver]
        if driver == "Costs":  # the costs enter with a minus sign; the same line through (low, high)
            pass
        slope = (npv_high - npv_low) / (high - low)
        assert npv_low - (low - 1) * slope == pytest.approx(expected, rel=1e-9), driver
        assert cells[f"{low_col}{r}"] == pytest.approx(npv_low - expected, abs=1e-6)
        assert cells[f"{high_col}{r}"] == pytest.approx(npv_high - expected, abs=1e-6)
        drivers += 1
    assert drivers == 5
    wb = load_workbook(printed["path"])
    tornado = next(c for c in wb["Scenarios"]._charts if c.type == "bar")
    refs = [s.val.numRef.f for s in tornado.series]
    assert refs == [f"'Scenarios'!${col}${TABLE_ROW + 1}:${col}${TABLE_ROW + TORNADO_ROWS - 1}" for col in (low_col, high_col)]
    assert tornado.grouping == "clustered" and tornado.overlap == 100  # both bars start at the axis: the expected NPV


def test_clearing_a_print_area_prints_the_whole_table(printed, tmp_path):
    """What Start here tells the user: Clear Print Area prints every row,
    its header row on every page, every header whole."""
    wb = load_workbook(printed["path"])
    ws = wb["Surveys"]
    ws._print_area = PrintArea()  # the user's Page Layout > Print Area > Clear Print Area
    for other in wb.sheetnames:
        if other != "Surveys":  # this sheet's pages alone
            wb.remove(wb[other])
    path = tmp_path / "surveys.xlsx"
    wb.save(path)
    pages = _pages(_convert([path], tmp_path / "pdf", "pdf", 300)[0])
    assert len(pages) > 1
    for page in pages:
        assert "nps_baseline" in page.split()  # the header row repeats, whole
    answers = sum(len(re.findall(r"^\s*\d{4}-\d{2}-\d{2}\s", page, re.M)) for page in pages)
    assert answers == 300


def _printed_pages(tmp_path, path: Path) -> list[str]:
    return _pages(_convert([path], tmp_path / "pdf", "pdf", 300)[0])


@pytest.mark.parametrize("template, budget", [
    # Start here 2, Inputs 1, Transactions 1, Customers 1, CLTV 1, Churn 2, Cohorts 1, Survival 1, Predictive CLV 2
    ("customer_value", {"Start here": 2, "Inputs": 1, "Transactions": 1, "Customers": 1, "CLTV": 1, "Churn": 2, "Cohorts": 1, "Survival": 1, "Predictive CLV": 2}),
    # the summary and its chart, then the seven models' tables three to a page
    ("attribution", {"Start here": 2, "Journeys": 1, "Attribution": 4}),
])
def test_the_other_templates_print_as_short_reports_without_blank_pages(tmp_path, template, budget):
    """Before: 67 pages for the customer-value example (Transactions 24,
    Customers 22, Predictive CLV 10) and 23 for attribution, 4 of them blank."""
    from cxroi_xl.workbooks import attribution_template, value_template

    data = value_template.example_input_with_orders() if template == "customer_value" else attribution_template.example_input_with_journeys()
    path = build.build_client_workbook(data, template, "values", tmp_path / f"{template}.xlsx")
    pages = _printed_pages(tmp_path, path)
    counts = Counter(_sheet_of(page) for page in pages)
    for sheet, pages_allowed in budget.items():
        assert counts[sheet] <= pages_allowed, (sheet, counts)
    assert set(counts) == set(budget)
    for number, page in enumerate(pages, start=1):
        assert len([line for line in page.splitlines() if line.strip()]) >= 3, f"{template} page {number} is blank"


def test_the_portfolio_prints_at_a_readable_scale_with_each_client_named_on_every_page(tmp_path):
    """Before: one page at about 40 %. Now as many pages wide as 70 % or more
    takes, the client's id and name repeated on each."""
    import re as _re
    from cxroi_xl.workbooks.portfolio import build_portfolio

    rows = [{"client_id": f"c{i:02d}", "client_name": f"Client {i}", "currency": "USD", "npv": 1000.0 * i, "roi": 0.1 * i} for i in range(1, 21)]
    wb = build_portfolio(rows)
    path = tmp_path / "portfolio.xlsx"
    wb.save(path)
    ws = wb["Portfolio"]
    assert ws.page_setup.fitToWidth > 1 and str(ws.print_title_cols).replace("$", "").endswith("A:B")
    pages = [page for page in _printed_pages(tmp_path, path) if _sheet_of(page) == "Portfolio"]
    assert len(pages) == ws.page_setup.fitToWidth
    for page in pages[:-1]:  # the last page holds the chart beside the names
        assert "c01" in page and "Client 20" in page
    xhtml = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "pdf" / "portfolio.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    heights = [float(b) - float(a) for a, b, word in _re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)<', xhtml) if len(word) > 1]
    assert min(heights) / 1.164 >= 6.5  # 10 pt notes at 70 % print at 7 pt
