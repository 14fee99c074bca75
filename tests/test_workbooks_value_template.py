"""The customer-value workbook: structure, determinism, formulas the add-in
and LibreOffice accept, and its numbers recalculated by LibreOffice.

Oracles (tolerance 1e-9 relative, LibreOffice stores 15 significant digits):
* CLTV, CAC, LTV:CAC: the closed forms written out below (Gupta & Lehmann
  2003: m (1+d)/(d+c) and its N-period partial sum) on ARPU and churn summed
  from the example's monthly table with pandas.
* Churn and retention: lost / start and (start + new - lost - new) / start
  from the same table.
* Cohort matrix: derived independently with pandas (first-order month, then
  distinct customer-months).
* Survival: the engine (cxroi_xl.value.kaplan_meier, checked against a
  published table and lifelines in test_value.py) on the Customers sheet's
  durations.
* Predicted CLV: the engine (cxroi_xl.btyd) called directly on the same
  customers; its fit is checked against the CDNOW publication in test_btyd.py.
* The per-customer summary: a hand-derived case (same-day orders, the
  90-day churn boundary, a month boundary of tenure).
"""
from __future__ import annotations

import dataclasses
import io
import math

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.worksheet.formula import ArrayFormula

from cxroi_xl import btyd, registry
from cxroi_xl.errors import InvalidInputError
from cxroi_xl.excel import ExcelError
from cxroi_xl.sample_data import synthetic_transactions
from cxroi_xl.value import kaplan_meier, survival_at
from cxroi_xl.workbooks import build, common, libreoffice, value_template
from cxroi_xl.workbooks.formula import NATIVE_FUNCTIONS, Evaluator

RELATIVE = 1e-9
EXAMPLE_MARGIN = 0.6  # the Inputs sheet's example gross margin


# --------------------------------------------------------------------------
# Helpers shared with test_workbooks_attribution_template.py


def formula_text(value) -> str | None:
    if isinstance(value, ArrayFormula):
        return value.text
    if isinstance(value, str) and value.startswith("="):
        return value
    return None


def function_calls(formula: str) -> list[tuple[str, int]]:
    """(NAME, number of arguments) of every function call in a formula."""
    calls, open_calls = [], []  # open_calls: [name, commas, has an argument] or None for an array constant
    for token in Tokenizer(formula).items:
        if token.type == Token.WSPACE:
            continue
        if open_calls and open_calls[-1] is not None and not (token.type == Token.FUNC and token.subtype == Token.CLOSE):
            open_calls[-1][2] = True
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            open_calls.append([token.value[:-1].upper(), 0, False])
        elif token.type == Token.FUNC and token.subtype == Token.CLOSE:
            name, commas, has_argument = open_calls.pop()
            calls.append((name, commas + 1 if has_argument or commas else 0))
        elif token.type == Token.ARRAY:
            if token.subtype == Token.OPEN:
                open_calls.append(None)
            else:
                open_calls.pop()
        elif token.type == Token.SEP and token.subtype == Token.ARG and open_calls and open_calls[-1] is not None:
            open_calls[-1][1] += 1
    return calls


def test_function_calls_counts_arguments():
    assert function_calls('=IFERROR(CXSURVIVAL(T[a],T[b],{3;6;12}),"n/a")') == [("CXSURVIVAL", 3), ("IFERROR", 2)]
    assert function_calls("=ROWS(A1:A3)+NA()") == [("ROWS", 1), ("NA", 0)]


def check_formulas(book: openpyxl.Workbook) -> set[str]:
    """Every formula calls registered add-in functions with a valid number of
    arguments and only native functions that LibreOffice 7.4 and the
    headless evaluator both know; structured references are written in full.
    Returns the add-in functions used."""
    addins = registry.functions()
    used = set()
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                text = formula_text(cell.value)
                if text is None:
                    continue
                assert "[@" not in text, f"{ws.title}!{cell.coordinate}: structured references must be written in full"
                for name, count in function_calls(text):
                    where = f"{ws.title}!{cell.coordinate} {text}"
                    if name in addins:
                        fn = addins[name]
                        assert fn.min_args <= count <= fn.max_args, f"{where}: {name} takes {fn.min_args}..{fn.max_args} arguments, got {count}"
                        used.add(name)
                    else:
                        assert not name.startswith("CX"), f"{where}: {name} is not a registered function"
                        assert name in NATIVE_FUNCTIONS or name in ("IF", "IFERROR"), f"{where}: {name} is not a function the evaluator knows"
    return used


def check_array_sizes(book: openpyxl.Workbook) -> int:
    """Every array formula's range is exactly the size of its result, or
    its result is the one "n/a" of IFERROR, which fills the range."""
    evaluator = Evaluator(book)
    count = 0
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, ArrayFormula):
                    block = evaluator.spill(ws.title, cell.coordinate)
                    fixed = evaluator.fixed_range(ws.title, cell.coordinate)
                    assert (len(block), len(block[0])) == (fixed.rows, fixed.cols) or block == [["n/a"]], f"{ws.title}!{cell.coordinate}"
                    count += 1
    return count


def error_cells(values: dict) -> list:
    """Cells showing an error value or our "n/a" fallback."""
    return [(sheet, cell, value) for sheet, cells in values.items() for cell, value in cells.items() if isinstance(value, ExcelError) or value == "n/a"]


def find(cells: dict, text: str, which: int | None = None) -> tuple[int, int]:
    """(row, column) of the one cell holding ``text``, or of the
    ``which``-th of several in reading order."""
    found = []
    for coordinate, value in cells.items():
        if value == text:
            letter, row = openpyxl.utils.cell.coordinate_from_string(coordinate)
            found.append((row, openpyxl.utils.cell.column_index_from_string(letter)))
    assert found and (which is not None or len(found) == 1), f"{text!r} found {len(found)} times"
    return sorted(found)[which or 0]


def at(cells: dict, row: int, col: int):
    return cells.get(f"{openpyxl.utils.get_column_letter(col)}{row}")


def beside(cells: dict, label: str, offset: int = 1):
    row, col = find(cells, label)
    return at(cells, row, col + offset)


def column_below(cells: dict, header: str, n: int, offset: int = 0, which: int | None = None) -> list:
    row, col = find(cells, header, which)
    return [at(cells, row + 1 + i, col + offset) for i in range(n)]


# --------------------------------------------------------------------------
# Structure


@pytest.fixture(scope="module")
def example():
    return value_template.example_input_with_orders()


@pytest.fixture(scope="module")
def live(example):
    return value_template.build()


def test_registered_as_a_template():
    assert build.BUILDERS[value_template.TEMPLATE_NAME] is value_template.build


def test_build_is_byte_identical_run_to_run(live):
    assert common.workbook_bytes(live) == common.workbook_bytes(value_template.build())


def test_shipped_template_is_a_fresh_build():
    shipped = (build.TEMPLATE_DIR / "customer_value.xlsx").read_bytes()
    assert shipped == build.template_bytes("customer_value"), "run `cxroi-xl templates build`"


def test_sheets_tables_names_and_layout(live):
    assert live.sheetnames == [name for name, _ in value_template.SHEET_PURPOSES]
    assert {name for ws in live for name in ws.tables} == {"Transactions", "Customers", "CustomerMonths"}
    assert {"ARPU", "GrossMargin", "MonthlyChurn", "DiscountRate", "MonthlyRate", "AcquisitionSpend", "NewCustomers", "PredictionMonths", "PredictionWeeks"} <= set(live.defined_names)
    for ws in live:
        assert ws.sheet_properties.pageSetUpPr.fitToPage and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # orientation: tests/test_workbooks_layout.py
        if ws.title != "Start here":
            assert ws.freeze_panes, ws.title
    assert len(live["CLTV"]._charts) == len(live["Churn"]._charts) == len(live["Survival"]._charts) == 1
    assert live["Inputs"].data_validations.dataValidation


def test_formulas_name_registered_functions_with_valid_arguments(live):
    used = check_formulas(live)
    assert used == {"CXCLTV", "CXCAC", "CXLTVCAC", "CXCHURN", "CXRETENTION", "CXCOHORT", "CXSURVIVAL", "CXBGNBDFIT", "CXGGFIT", "CXBGNBD", "CXPALIVE", "CXCLV"}


def test_array_formulas_are_the_size_of_their_results(live):
    assert check_array_sizes(live) >= 9


def test_without_transactions_the_build_says_so(example):
    with pytest.raises(InvalidInputError, match="no transactions"):
        value_template.build(dataclasses.replace(example, transactions=None))


def test_client_text_is_written_as_text(example):
    orders = synthetic_transactions(seed=5, n_customers=40)
    orders.loc[orders["customer_id"] == "C0001", "customer_id"] = "=1+1"
    orders.loc[orders["customer_id"] == "C0002", "customer_id"] = '@SUM(A1)'
    client = dataclasses.replace(example, transactions=orders, client_name="=HYPERLINK(\"http://x\")", currency="EUR")
    book = openpyxl.load_workbook(io.BytesIO(common.workbook_bytes(value_template.build(client))))
    ids = {c.value: c.data_type for row in book["Transactions"].iter_rows(min_row=5, max_col=1) for c in row}
    assert ids["=1+1"] == "s" and ids["@SUM(A1)"] == "s"
    customers = [c.value for row in book["Customers"].iter_rows(min_row=6, max_col=1) for c in row]
    assert "=1+1" in customers and book["Customers"]["A6"].data_type == "s"
    assert book["Inputs"]["B4"].value == '=HYPERLINK("http://x")' and book["Inputs"]["B4"].data_type == "s"
    assert book["Start here"]["A2"].data_type == "s"
    # the injected ids are ordinary customers to the add-in
    cohorts = Evaluator(book).spill("Cohorts", "B5")
    assert cohorts[0][0] == "Cohort" and len(cohorts) > 1


def test_a_client_too_small_for_the_models_gets_n_a_not_errors(example):
    # Three customers, one repeat purchase: BG/NBD and Gamma-Gamma cannot be
    # fitted, so their cells show "n/a"; nothing shows an error value.
    orders = pd.DataFrame({"customer_id": ["x", "y", "y", "z"], "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-01", "2024-03-02"]), "amount": [20.0, 30.0, 25.0, 12.5]})
    book = value_template.build(dataclasses.replace(example, transactions=orders))
    evaluator = Evaluator(book)
    shown = {(ws.title, c.coordinate): evaluator.value(ws.title, c.coordinate) for ws in book for row in ws.iter_rows() for c in row}
    assert [key for key, value in shown.items() if isinstance(value, ExcelError)] == []
    assert shown[("Predictive CLV", "B5")] == "n/a"
    assert check_array_sizes(book) >= 9


def test_customer_summary_hand_case():
    # End of observation 2024-06-30 (the last order).
    # a: two orders on 2024-01-01 (one purchase day, worth 15) and one of 40
    #    on 2024-03-31: frequency 1, monetary 40; last order 91 days before
    #    the end: churned; tenure 90 days / 30.4375 = 2.96 -> 2 months;
    #    recency 90/7 weeks, T 181/7 weeks.
    # b: one order on 2024-04-01, 90 days before the end: not churned
    #    (churned means more than 90); tenure to the end 90 days -> 2 months;
    #    no repeat purchase: monetary 0.
    # c: one order on 2024-06-30: T 0, tenure 0.
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-31", "2024-04-01", "2024-06-30"]),
            "amount": [10.0, 5.0, 40.0, 7.0, 3.0],
        }
    )
    summary = value_template.customer_summary(orders).set_index("customer_id")
    assert summary.loc["a", ["orders", "frequency", "total_spend", "monetary_value"]].tolist() == [3, 1, 55.0, 40.0]
    assert summary.loc["a", "recency"] == pytest.approx(90 / 7, rel=1e-15) and summary.loc["a", "T"] == pytest.approx(181 / 7, rel=1e-15)
    assert summary.loc["a", ["days_since_last", "churned", "tenure_months"]].tolist() == [91, 1, 2]
    assert summary.loc["b", ["frequency", "monetary_value", "days_since_last", "churned", "tenure_months"]].tolist() == [0, 0.0, 90, 0, 2]
    assert summary.loc["c", ["T", "churned", "tenure_months"]].tolist() == [0.0, 0, 0]


# --------------------------------------------------------------------------
# Recalculated by LibreOffice


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("customer_value")
    path = folder / "customer_value.xlsx"
    path.write_bytes(build.template_bytes(value_template.TEMPLATE_NAME, "values"))
    return libreoffice.read_values(libreoffice.recalculate(path, folder / "out"))


@pytest.fixture(scope="module")
def months(example):
    return example.kpis.assign(month=pd.to_datetime(example.kpis["month"])).sort_values("month")


def test_no_cell_shows_an_error(recalculated):
    assert error_cells(recalculated) == []


def test_lifetime_value_and_acquisition_cost(recalculated, months):
    arpu = months["revenue"].sum() / months["active_customers"].sum()
    churn = months["churned_customers"].sum() / months["active_customers"].sum()
    monthly_rate = 1.1 ** (1 / 12) - 1  # the example's 10% a year
    margin = arpu * EXAMPLE_MARGIN
    retained = (1 - churn) / (1 + monthly_rate)
    cltv = recalculated["CLTV"]
    assert beside(cltv, "Simple CLTV: margin / churn (CXCLTV)") == pytest.approx(margin / churn, rel=RELATIVE)
    discounted = margin * (1 + monthly_rate) / (monthly_rate + churn)
    assert beside(cltv, "Discounted CLTV, whole lifetime (CXCLTV)") == pytest.approx(discounted, rel=RELATIVE)
    assert beside(cltv, "Discounted CLTV over the horizon (CXCLTV)") == pytest.approx(discounted * (1 - retained**36), rel=RELATIVE)
    spend, new = recalculated["Inputs"]["B11"], months["new_customers"].sum()
    assert spend > 0 and recalculated["Inputs"]["B12"] == new
    assert beside(cltv, "Acquisition cost per customer (CXCAC)") == pytest.approx(spend / new, rel=RELATIVE)
    assert beside(cltv, "LTV:CAC, discounted CLTV / CAC (CXLTVCAC)") == pytest.approx(discounted / (spend / new), rel=RELATIVE)
    assert beside(cltv, "Check: simple CLTV from native formulas") == pytest.approx(margin / churn, rel=RELATIVE)
    curve = column_below(cltv, "Months as a customer", value_template.VALUE_CURVE_MONTHS, offset=1)
    expected = [margin * sum(retained**t for t in range(k)) for k in range(1, value_template.VALUE_CURVE_MONTHS + 1)]
    assert curve == pytest.approx(expected, rel=RELATIVE)


def test_churn_and_retention_by_month(recalculated, months):
    churn = recalculated["Churn"]
    start, lost = months["active_customers"].to_numpy(float), months["churned_customers"].to_numpy(float)
    assert column_below(churn, "churn_rate", len(months)) == pytest.approx(lost / start, rel=RELATIVE)
    end = start + months["new_customers"].to_numpy(float) - lost
    assert column_below(churn, "retention_rate", len(months)) == pytest.approx((end - months["new_customers"].to_numpy(float)) / start, rel=RELATIVE)


def test_cohort_matrix(recalculated, example):
    orders = example.transactions.assign(month=pd.to_datetime(example.transactions["date"]).dt.to_period("M"))
    first = orders.groupby("customer_id")["month"].min().rename("cohort")
    active = orders.join(first, on="customer_id").drop_duplicates(["customer_id", "month"])
    active["since"] = (active["month"] - active["cohort"]).map(lambda offset: offset.n)
    counts = active.pivot_table(index="cohort", columns="since", values="customer_id", aggfunc="count", fill_value=0)
    counts = counts.reindex(columns=range(int(active["since"].max()) + 1), fill_value=0)
    shares = counts.div(counts[0], axis=0)
    cells = recalculated["Cohorts"]
    top, left = find(cells, "Cohort")
    last_month = orders["month"].max()
    for i, (cohort, row) in enumerate(shares.iterrows(), start=1):
        assert at(cells, top + i, left) == str(cohort)
        for k, share in row.items():
            shown = at(cells, top + i, left + 1 + k)
            if cohort + k > last_month:
                assert shown in (None, "")  # not happened yet
            else:
                assert shown == pytest.approx(share, rel=RELATIVE, abs=1e-15)


def test_survival_equals_the_engine(recalculated, example):
    # value.kaplan_meier is checked against the published 6-MP table and
    # lifelines' recorded answers in test_value.py
    summary = value_template.customer_summary(value_template._orders(example.transactions))
    durations, churned = summary["tenure_months"].to_numpy(float), summary["churned"].to_numpy(float)
    survival = recalculated["Survival"]
    times = list(value_template.SURVIVAL_TIMES)
    assert column_below(survival, "Share still active", len(times)) == pytest.approx(survival_at(durations, churned, times).tolist(), rel=RELATIVE)
    table = kaplan_meier(durations, churned)
    shown = column_below(survival, "Survival", len(table))
    assert shown == pytest.approx(table["Survival"].tolist(), rel=RELATIVE)


def test_predicted_value_equals_the_engine(recalculated, example):
    summary = value_template.customer_summary(value_template._orders(example.transactions))
    columns = [summary[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    purchases = btyd.BetaGeo().fit(*columns)
    spend = btyd.GammaGamma().fit(columns[0], summary["monetary_value"].to_numpy(float))
    monthly_rate = 1.1 ** (1 / 12) - 1
    clv = btyd.customer_lifetime_value(purchases, spend, *columns, summary["monetary_value"].to_numpy(float), 12, monthly_rate, 7.0)
    weeks = 12 * 365.25 / 12 / 7
    cells = recalculated["Predictive CLV"]
    n = len(summary)
    assert column_below(cells, "customer_id", n) == summary["customer_id"].tolist()
    assert column_below(cells, "Predicted value (CXCLV)", n) == pytest.approx(clv.tolist(), rel=RELATIVE)
    assert column_below(cells, "Expected orders (CXBGNBD)", n) == pytest.approx(purchases.conditional_expected_purchases(weeks, *columns).tolist(), rel=RELATIVE)
    assert column_below(cells, "P(alive) (CXPALIVE)", n) == pytest.approx(purchases.probability_alive(*columns).tolist(), rel=RELATIVE)
    fitted = dict(zip(column_below(cells, "Parameter", 4, which=0), column_below(cells, "Parameter", 4, offset=1, which=0)))
    assert fitted == pytest.approx(purchases.params_.to_dict(), rel=RELATIVE)
    assert math.isclose(beside(cells, "Predicted value over the horizon, all customers", 4), float(np.sum(clv)), rel_tol=RELATIVE)
