"""portfolio.xlsx: human headers and formats from the summary's one column
list, totals per currency, conversion with fx.csv, no formulas.

Oracles: totals and conversions worked out by hand below (exact to the
minor unit); totals of a real batch against the sum of its summary.csv
(exact to the minor unit, the sums being of the rounded figures shown).
"""
from __future__ import annotations

import csv

import openpyxl
import pytest
from typer.testing import CliRunner

from cxroi_xl.batch.tables import InputError
from cxroi_xl.cli import app
from cxroi_xl.workbooks.summary_columns import COLUMNS, convert_totals, currency_totals
from cxroi_xl.batch.summary import read_fx
from cxroi_xl.workbooks.portfolio import HEADER_ROW, build_portfolio
from tests.batch.test_run import subset

runner = CliRunner()


def _row(client_id, currency, pv_benefits, pv_costs, roi=None, **extra):
    row = {c.name: None for c in COLUMNS}
    row.update(client_id=client_id, client_name=extra.pop("client_name", client_id.title()), currency=currency, pv_benefits=pv_benefits, pv_costs=pv_costs,
               npv=None if pv_benefits is None else round(pv_benefits - pv_costs, 2 if currency != "JPY" else 0), roi=roi, **extra)
    return row


# Four clients in three currencies, figures already rounded as summary.csv has them.
ROWS = [
    _row("a", "USD", 1000.10, 400.05, 1.5, payback_months=4.5, nps_baseline=10.0, churn_baseline=0.03),
    _row("b", "EUR", 2000.50, 1000.25, 1.0),
    _row("c", "USD", 500.00, 800.00, -0.375, nps_baseline=-20.0, churn_baseline=0.05),
    _row("d", "JPY", 150000, 100000, 0.5),
]


def _sheet_rows(ws, first_row):
    """Rows below a header row as dicts keyed by header, until a blank row."""
    header = [c.value for c in ws[first_row]]
    rows = []
    for cells in ws.iter_rows(min_row=first_row + 1):
        if cells[0].value is None:
            break
        rows.append({h: c.value for h, c in zip(header, cells) if h is not None})
    return rows


def _find(ws, text):
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell.row
    raise AssertionError(text)


def test_totals_per_currency_by_hand():
    totals = currency_totals(ROWS).set_index("currency")
    assert totals.loc["USD", "clients"] == 2
    # USD: 1000.10 + 500.00, 400.05 + 800.00, NPV 600.05 + (-300.00); ROI 300.05 / 1200.05
    assert totals.loc["USD", "pv_benefits"] == 1500.10 and totals.loc["USD", "pv_costs"] == 1200.05
    assert totals.loc["USD", "npv"] == 300.05
    assert totals.loc["USD", "roi"] == round(300.05 / 1200.05, 4) == 0.25
    assert totals.loc["JPY", "npv"] == 50000 and totals.loc["JPY", "roi"] == 0.5
    assert totals.loc["EUR", "pv_benefits"] == 2000.50


def test_conversion_by_hand():
    rates = {"USD": 1.0, "EUR": 1.10, "JPY": 0.0067}
    converted, grand = convert_totals(currency_totals(ROWS), rates, "USD")
    converted = converted.set_index("currency")
    # EUR 2000.50 x 1.10 = 2200.55; 1000.25 x 1.10 = 1100.275 -> 1100.28 (or .27: binary); JPY 150000 x 0.0067 = 1005
    assert converted.loc["EUR", "pv_benefits"] == 2200.55
    assert converted.loc["EUR", "pv_costs"] == pytest.approx(1100.28, abs=0.011)
    assert converted.loc["JPY", "pv_benefits"] == 1005.00 and converted.loc["JPY", "pv_costs"] == 670.00 and converted.loc["JPY", "npv"] == 335.00
    # grand total: 1500.10 + 2200.55 + 1005.00 = 4705.65; NPV 300.05 + 1100.28 + 335.00 (EUR NPV 1000.25 x 1.1 = 1100.275)
    assert grand["pv_benefits"] == 4705.65
    assert grand["npv"] == pytest.approx(300.05 + 1100.275 + 335.00, abs=0.011)
    assert grand["roi"] == round(grand["npv"] / grand["pv_costs"], 4)
    assert grand["clients"] == 4 and grand["missing"] == []
    _, partial = convert_totals(currency_totals(ROWS), {"USD": 1.0, "EUR": 1.10}, "USD")
    assert partial["missing"] == ["JPY"] and partial["clients"] == 3


def test_portfolio_sheets_headers_formats_and_no_formulas():
    rows = ROWS + [_row("e", "USD", 10.0, 20.0, -0.5, client_name="=HYPERLINK(\"http://x\")")]
    wb = build_portfolio(rows, {"USD": 1.0, "EUR": 1.10, "JPY": 0.0067}, "USD")
    ws = wb["Portfolio"]
    headers = [c.value for c in ws[HEADER_ROW]][: len(COLUMNS)]
    assert headers == [c.label for c in COLUMNS]
    assert [tc.name for tc in ws.tables["Portfolio"].tableColumns] == headers
    by_id = {r["Client ID"]: r for r in _sheet_rows(ws, HEADER_ROW)}
    assert by_id["d"]["NPV (measured)"] == 50000 and by_id["a"]["ROI (measured)"] == 1.5
    assert by_id["b"]["Payback (months)"] == "not reached" and by_id["a"]["Payback (months)"] == 4.5
    # number formats from the column declarations, per the row's currency
    cells = {c.value: c for c in ws[HEADER_ROW]}
    npv_col = cells["NPV (measured)"].column
    formats = {ws.cell(r, 1).value: ws.cell(r, npv_col).number_format for r in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(rows))}
    assert formats["a"] == "#,##0.00" and formats["d"] == "#,##0"
    assert ws.cell(HEADER_ROW + 1, cells["ROI (measured)"].column).number_format == "0.00%"
    # client text is text, never a formula; nothing in the workbook is a formula
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    name_cell = ws.cell(HEADER_ROW + len(rows), 2)
    assert name_cell.value == '=HYPERLINK("http://x")' and name_cell.data_type == "s"
    totals = wb["Totals"]
    by_currency = {r["Currency"]: r for r in _sheet_rows(totals, _find(totals, "By currency") + 2)}
    assert by_currency["USD"]["PV benefits (measured)"] == 1510.10 and by_currency["USD"]["Clients"] == 3
    converted = {r["Currency"]: r for r in _sheet_rows(totals, _find(totals, "In USD") + 2)}
    assert converted["JPY"]["PV benefits (measured)"] == 1005.0 and converted["JPY"]["Rate (USD per unit)"] == 0.0067
    assert converted["All in USD"]["Clients"] == 5


def test_columns_are_wide_enough_for_headers_and_values():
    wb = build_portfolio(ROWS, {"USD": 1.0, "EUR": 1.10, "JPY": 0.0067}, "USD")
    ws = wb["Portfolio"]
    for cell in ws[HEADER_ROW][: len(COLUMNS)]:
        width = ws.column_dimensions[cell.column_letter].width
        # a header wraps at spaces onto two lines: its longest word, and half of it, fit
        assert max(len(w) for w in cell.value.split()) + 1 <= width, cell.value
        assert len(cell.value) / 2 <= width, cell.value
        for row in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(ROWS)):
            value = ws.cell(row, cell.column).value
            if isinstance(value, float) and cell.value in ("PV benefits (measured)", "PV costs", "NPV (measured)"):
                assert len(f"{value:,.2f}") + 1 <= width


@pytest.mark.parametrize(
    "text, message",
    [
        ("currency,rate\nEUR,1.1\nEUR,1.2\n", "row 3, column currency: EUR already has a rate (row 2)"),
        ("currency,rate\nEUR,abc\n", "row 2, column rate: expected a number"),
        ("currency,rate\nEUR,-1\n", "row 2, column rate: expected a positive number"),
        ("currency,rate\nEURO,1.1\n", "row 2, column currency: expected a three-letter ISO code"),
        ("currency,value\nEUR,1.1\n", "missing column(s) rate"),
        ("currency,rate\nUSD,1.2\n", "row 2, column rate: USD is the reporting currency"),
    ],
)
def test_fx_file_errors_name_file_row_and_column(tmp_path, text, message):
    (tmp_path / "fx.csv").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_fx(tmp_path, "USD")
    assert caught.value.file == "fx.csv" and message in str(caught.value)


# ---- the other templates' portfolios --------------------------------------------
# Oracle: titles and headers as declared; totals worked out by hand below.


@pytest.mark.parametrize(
    "template, heading",
    [
        ("cx_automation_roi", "Portfolio: CX automation returns by client"),
        ("customer_value", "Portfolio: customer value by client"),
        ("attribution", "Portfolio: channel attribution by client"),
    ],
)
def test_each_template_has_its_own_portfolio_title_and_headers(template, heading):
    from cxroi_xl.workbooks.summary_columns import summary_spec

    spec = summary_spec(template)
    ws = build_portfolio([], template=template)["Portfolio"]
    assert ws["A1"].value == heading and ws["A2"].value.startswith("0 clients.")
    headers = [c.value for c in ws[HEADER_ROW]][: len(spec.columns)]
    assert headers == [c.label for c in spec.columns]
    assert ws.cell(HEADER_ROW, len(spec.columns) + 1).value is None
    if template != "cx_automation_roi":
        assert not {"ROI (measured)", "NPV (measured)", "PV costs"} & set(headers)


def _value_row(client_id, currency, customers, predicted, **extra):
    from cxroi_xl.workbooks.summary_columns import CUSTOMER_VALUE_COLUMNS

    row = {c.name: None for c in CUSTOMER_VALUE_COLUMNS}
    row.update(client_id=client_id, client_name=client_id.title(), currency=currency, customers=customers, predicted_clv=predicted, **extra)
    return row


def test_customer_value_totals_by_hand():
    # USD: customers 100 + 50 = 150, predicted CLV 5000.00 + 2500.50 = 7500.50,
    # per customer 7500.50 / 150 = 50.0033 -> 50.00; EUR: 10, 1000.00, 100.00.
    # In USD at 1.10 per EUR: EUR 1100.00 for 10 customers, 110.00 each; all:
    # 160 customers, 8600.50, 8600.50 / 160 = 53.753125 -> 53.75.
    rows = [_value_row("a", "USD", 100, 5000.00, cac=150.0, ltv_cac=3.39, verdict="healthy: 3 or more"),
            _value_row("b", "USD", 50, 2500.50), _value_row("c", "EUR", 10, 1000.00)]
    totals = currency_totals(rows, "customer_value").set_index("currency")
    assert totals.loc["USD", "customers"] == 150 and totals.loc["USD", "predicted_clv"] == 7500.50
    assert totals.loc["USD", "predicted_clv_per_customer"] == 50.00 and totals.loc["EUR", "predicted_clv_per_customer"] == 100.00
    converted, grand = convert_totals(currency_totals(rows, "customer_value"), {"USD": 1.0, "EUR": 1.10}, "USD", "customer_value")
    converted = converted.set_index("currency")
    assert converted.loc["EUR", "predicted_clv"] == 1100.00 and converted.loc["EUR", "customers"] == 10
    assert converted.loc["EUR", "predicted_clv_per_customer"] == 110.00
    assert grand["customers"] == 160 and grand["predicted_clv"] == 8600.50 and grand["predicted_clv_per_customer"] == 53.75
    wb = build_portfolio(rows, {"USD": 1.0, "EUR": 1.10}, "USD", template="customer_value")
    by_id = {r["Client ID"]: r for r in _sheet_rows(wb["Portfolio"], HEADER_ROW)}
    assert by_id["a"]["CAC"] == 150.0 and by_id["a"]["LTV:CAC"] == 3.39 and by_id["a"]["Verdict"] == "healthy: 3 or more"
    totals_sheet = wb["Totals"]
    by_currency = {r["Currency"]: r for r in _sheet_rows(totals_sheet, _find(totals_sheet, "By currency") + 2)}
    assert by_currency["USD"]["Predicted CLV per customer"] == 50.00 and by_currency["USD"]["Customers"] == 150
    in_usd = {r["Currency"]: r for r in _sheet_rows(totals_sheet, _find(totals_sheet, "In USD") + 2)}
    assert in_usd["All in USD"]["Predicted CLV per customer"] == 53.75
    assert "predicted CLV per customer" in totals_sheet["A2"].value


def test_attribution_totals_by_hand():
    # USD: 4 conversions worth 330.00, 82.50 each. GBP: 10.5 conversions
    # worth 1000.00, 95.24 each; at 1.25 USD per GBP 1250.00, 1250 / 10.5 =
    # 119.0476 -> 119.05. All in USD: 14.5 conversions, 1580.00, 1580 / 14.5
    # = 108.9655 -> 108.97.
    from cxroi_xl.workbooks.summary_columns import ATTRIBUTION_COLUMNS

    def row(client_id, currency, conversions, value, top):
        base = {c.name: None for c in ATTRIBUTION_COLUMNS}
        base.update(client_id=client_id, client_name=client_id.title(), currency=currency, conversions=conversions, conversion_value=value, top_first=top)
        return base

    rows = [row("a", "USD", 4, 330.00, "search"), row("b", "GBP", 10.5, 1000.00, "=cmd|' /C calc'!A0")]
    totals = currency_totals(rows, "attribution").set_index("currency")
    assert totals.loc["USD", "value_per_conversion"] == 82.50 and totals.loc["GBP", "value_per_conversion"] == 95.24
    converted, grand = convert_totals(currency_totals(rows, "attribution"), {"USD": 1.0, "GBP": 1.25}, "USD", "attribution")
    converted = converted.set_index("currency")
    assert converted.loc["GBP", "conversion_value"] == 1250.00 and converted.loc["GBP", "conversions"] == 10.5
    assert converted.loc["GBP", "value_per_conversion"] == 119.05
    assert grand["conversions"] == 14.5 and grand["conversion_value"] == 1580.00 and grand["value_per_conversion"] == 108.97
    wb = build_portfolio(rows, {"USD": 1.0, "GBP": 1.25}, "USD", template="attribution")
    ws = wb["Portfolio"]
    by_id = {r["Client ID"]: r for r in _sheet_rows(ws, HEADER_ROW)}
    assert by_id["a"]["Top channel: first touch"] == "search" and by_id["a"]["Conversions"] == 4
    # a channel named like a formula stays text; a fractional count shows its decimals
    cells = {c.value: c.column for c in ws[HEADER_ROW]}
    assert ws.cell(HEADER_ROW + 2, cells["Top channel: first touch"]).data_type == "s"
    assert ws.cell(HEADER_ROW + 2, cells["Conversions"]).number_format == "#,##0.00"
    assert ws.cell(HEADER_ROW + 1, cells["Conversions"]).number_format == "#,##0"
    assert all(cell.data_type != "f" for sheet in wb.worksheets for line in sheet.iter_rows() for cell in line)


def test_fx_optional_and_report_currency_rate_is_one(tmp_path):
    assert read_fx(tmp_path) is None
    (tmp_path / "fx.csv").write_text("currency,rate\neur,0.9\n", encoding="utf-8")
    assert read_fx(tmp_path, "GBP") == {"EUR": 0.9, "GBP": 1.0}


def test_batch_totals_equal_the_sum_of_the_clients(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly", "harbor-hotel", "pixel-agency"])  # GBP, USD, USD, EUR
    (data / "fx.csv").write_text("currency,rate\nGBP,1.25\nEUR,1.1\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--mode", "live", "--report-currency", "usd"])
    assert result.exit_code == 0, result.output
    with open(out / "summary.csv", newline="", encoding="utf-8") as handle:
        summary = list(csv.DictReader(handle))
    totals = openpyxl.load_workbook(out / "portfolio.xlsx")["Totals"]
    by_currency = {r["Currency"]: r for r in _sheet_rows(totals, _find(totals, "By currency") + 2)}
    converted = {r["Currency"]: r for r in _sheet_rows(totals, _find(totals, "In USD") + 2)}
    rates = {"GBP": 1.25, "EUR": 1.1, "USD": 1.0}
    grand = {"PV benefits (measured)": 0.0, "PV costs": 0.0, "NPV (measured)": 0.0}
    for currency in ("GBP", "USD", "EUR"):
        mine = [r for r in summary if r["currency"] == currency]
        assert by_currency[currency]["Clients"] == len(mine)
        for column, label in (("pv_benefits", "PV benefits (measured)"), ("pv_costs", "PV costs"), ("npv", "NPV (measured)")):
            expected = sum(float(r[column]) for r in mine)
            assert by_currency[currency][label] == pytest.approx(expected, abs=1e-6)
            assert converted[currency][label] == pytest.approx(expected * rates[currency], abs=0.005 + 1e-9)
            grand[label] += converted[currency][label]
        costs, npv = by_currency[currency]["PV costs"], by_currency[currency]["NPV (measured)"]
        assert by_currency[currency]["ROI (NPV / PV costs)"] == pytest.approx(npv / costs, abs=5e-5)
    for label, value in grand.items():
        assert converted["All in USD"][label] == pytest.approx(value, abs=1e-6)


def test_missing_rate_is_a_whole_input_error(tmp_path):
    data = subset(tmp_path, ["rose-bakery", "ledgerly"])
    (data / "fx.csv").write_text("currency,rate\nEUR,1.1\n", encoding="utf-8")
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out)])
    assert result.exit_code == 2 and "fx.csv: no rate for GBP (client rose-bakery)" in result.output
    assert not out.exists()
