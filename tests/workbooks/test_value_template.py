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
* Survival: the engine (cxroi_xl.engine.value.kaplan_meier, checked against a
  published table and lifelines in test_value.py) on the Customers sheet's
  durations.
* Predicted CLV: the engine (cxroi_xl.engine.btyd) called directly on the same
  customers; its fit is checked against the CDNOW publication in test_btyd.py.
* The per-customer summary: a hand-derived case (same-day orders, the
  90-day churn boundary, a month boundary of tenure).
* Errors (no IFERROR on any sheet): the error value and reason the engine
  gives when called directly (cxroi_xl.excel.call, the add-in's own code)
  on the same cell values; the months to earn back the CAC hand-derived
  from its closed form (the sheet's formula, its cached value and the
  engine's cxroi_xl.engine.value.cac_payback all three).
* Customers acquired (the CAC's denominator): the distinct customers of the
  example's orders, counted with pandas; every one first orders inside the
  orders' own window. Hand-derived CAC, LTV:CAC and payback for two batch
  clients: tests/batch/test_customer_value_batch.py.
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

from cxroi_xl.engine import btyd
from cxroi_xl.excel import registry
from cxroi_xl.errors import InvalidInputError
from cxroi_xl.excel import ExcelError
from cxroi_xl.workbooks.sample_data import synthetic_transactions
from cxroi_xl.engine.value import kaplan_meier, survival_at
from cxroi_xl.workbooks import build, common, libreoffice, value_template
from cxroi_xl.calc.functions import NATIVE_FUNCTIONS
from cxroi_xl.calc.evaluator import Evaluator
from tests.workbooks.package_compare import assert_same_build

RELATIVE = 1e-9
EXAMPLE_MARGIN = 0.6  # the Inputs sheet's example gross margin


# --------------------------------------------------------------------------
# Helpers shared with tests/workbooks/test_attribution_template.py


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
    assert function_calls('=INDEX(CXSURVIVAL(T[a],T[b],{3;6;12}),2,"x")') == [("CXSURVIVAL", 3), ("INDEX", 3)]
    assert function_calls("=ROWS(A1:A3)+NA()") == [("ROWS", 1), ("NA", 0)]


def check_formulas(book: openpyxl.Workbook) -> set[str]:
    """Every formula calls registered add-in functions with a valid number of
    arguments and only native functions that LibreOffice 7.4 and the
    headless evaluator both know; structured references are written in full;
    no IFERROR or IFNA hides an error. Returns the add-in functions used."""
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
                        assert name not in ("IFERROR", "IFNA"), f"{where}: an error must show as itself"
                        assert name in NATIVE_FUNCTIONS or name == "IF", f"{where}: {name} is not a function the evaluator knows"
    return used


def check_array_sizes(book: openpyxl.Workbook) -> int:
    """Every array formula's range is exactly the size of its result (one
    cell for a result that is a single error)."""
    evaluator = Evaluator(book)
    count = 0
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, ArrayFormula):
                    block = evaluator.spill(ws.title, cell.coordinate)
                    fixed = evaluator.fixed_range(ws.title, cell.coordinate)
                    assert (len(block), len(block[0])) == (fixed.rows, fixed.cols), f"{ws.title}!{cell.coordinate}"
                    count += 1
    return count


def error_cells(values: dict) -> list:
    """Cells showing an error value (or "n/a", the text IFERROR used to show)."""
    return [(sheet, cell, value) for sheet, cells in values.items() for cell, value in cells.items() if isinstance(value, ExcelError) or value == "n/a"]


def iferror_parts(xlsx: bytes) -> list[str]:
    """Parts of a saved workbook (sheets, notes, names) whose XML mentions
    IFERROR or IFNA."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return [name for name in archive.namelist() if name.endswith(".xml") and any(f in archive.read(name).upper() for f in (b"IFERROR", b"IFNA("))]


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
    assert_same_build(shipped, build.template_bytes("customer_value"))


def test_sheets_tables_names_and_layout(live):
    assert live.sheetnames == [name for name, _ in value_template.SHEET_PURPOSES]
    assert {name for ws in live for name in ws.tables} == {"Transactions", "Customers", "CustomerMonths"}
    assert {"ARPU", "GrossMargin", "MonthlyChurn", "DiscountRate", "MonthlyRate", "AcquisitionSpend", "NewCustomers", "PredictionMonths", "PredictionWeeks"} <= set(live.defined_names)
    for ws in live:
        # fitted to pages, or fixed pages at one scale (a print area); orientation and scale: test_layout.py
        assert (ws.sheet_properties.pageSetUpPr.fitToPage or ws.print_area) and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
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


THREE_CUSTOMERS = pd.DataFrame({"customer_id": ["x", "y", "y", "z"], "date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-03-01", "2024-03-02"]), "amount": [20.0, 30.0, 25.0, 12.5]})


def _engine_errors(summary: pd.DataFrame) -> dict[str, ExcelError]:
    """What the add-in answers, called directly, for the Predictive CLV
    sheet's fits on these customers."""
    from cxroi_xl.excel import call

    frequency, recency, age, monetary = ([[v] for v in summary[c].tolist()] for c in ("frequency", "recency", "T", "monetary_value"))
    return {"CXBGNBDFIT": call("CXBGNBDFIT", frequency, recency, age), "CXGGFIT": call("CXGGFIT", frequency, monetary)}


def test_a_client_too_small_for_the_models_shows_the_engines_errors(example):
    # Three customers, one repeat purchase: BG/NBD and Gamma-Gamma cannot be
    # fitted. The engine refuses (called directly), and the sheet shows that
    # refusal: the fits, every prediction column and the totals over them
    # are the error, never a number (the totals used to add up to 0).
    summary = value_template.customer_summary(value_template._orders(THREE_CUSTOMERS))
    columns = [summary[c].to_numpy(float) for c in ("frequency", "recency", "T")]
    with pytest.raises(Exception, match="did not converge"):
        btyd.BetaGeo().fit(*columns)
    engine = _engine_errors(summary)
    assert engine["CXBGNBDFIT"] == engine["CXGGFIT"] == "#NUM!"
    book = value_template.build(dataclasses.replace(example, transactions=THREE_CUSTOMERS))
    evaluator = Evaluator(book)
    cells = {c.coordinate: evaluator.value("Predictive CLV", c.coordinate) for row in book["Predictive CLV"].iter_rows() for c in row}
    cells = {k: v for k, v in cells.items() if v is not None}
    fit_row = find(cells, "BG/NBD purchase model (CXBGNBDFIT)")[0] + 1
    assert at(cells, fit_row, 2) == "#NUM!" and at(cells, fit_row, 2).reason == engine["CXBGNBDFIT"].reason
    assert at(cells, fit_row, 5) == "#NUM!" and at(cells, fit_row, 5).reason == engine["CXGGFIT"].reason
    for label in ("Expected orders over the horizon, all customers", "Predicted value over the horizon, all customers", "Average predicted value per customer"):
        assert isinstance(beside(cells, label, 4), ExcelError), label
    assert beside(cells, "Customers", 4) == 3
    for header in ("Expected orders (CXBGNBD)", "P(alive) (CXPALIVE)", "Predicted value (CXCLV)"):
        first, *rest = column_below(cells, header, 3)
        assert first == "#NUM!" and rest == [None, None], header  # the error once, at the top of the column
    assert check_array_sizes(book) >= 9
    # no cell anywhere says "n/a"
    assert [(ws.title, c.coordinate) for ws in book for row in ws.iter_rows() for c in row if evaluator.value(ws.title, c.coordinate) == "n/a"] == []


@pytest.mark.parametrize("mode", ["live", "values"])
def test_a_failing_client_shows_the_error_in_the_file_with_its_reason(tmp_path, example, mode):
    """The generated file itself: the cached value of every cell a failing
    fit reaches is the error value (what readers that do not recalculate
    show), and every cell a missing acquisition spend reaches says so in
    words; in the values form each add-in cell's note gives the reason."""
    from cxroi_xl.workbooks.value_values import NO_SPEND, NO_SPEND_REASON

    client = dataclasses.replace(example, transactions=THREE_CUSTOMERS, acquisition_spend=None)  # a client: no acquisition spend entered
    path = build.build_client_workbook(client, value_template.TEMPLATE_NAME, mode, tmp_path / f"small-{mode}.xlsx")
    xlsx = path.read_bytes()
    assert iferror_parts(xlsx) == []
    cached = openpyxl.load_workbook(path, data_only=True)
    formulas = openpyxl.load_workbook(path)

    def shown(sheet, coordinate):
        cell = cached[sheet][coordinate]
        return (cell.data_type, cell.value)

    engine = _engine_errors(value_template.customer_summary(value_template._orders(THREE_CUSTOMERS)))
    expected = {
        ("Predictive CLV", "B5"): engine["CXBGNBDFIT"],
        ("Predictive CLV", "E5"): engine["CXGGFIT"],
    }
    for (sheet, coordinate), error in expected.items():
        assert shown(sheet, coordinate) == ("e", str(error)), (sheet, coordinate)
        note = formulas[sheet][coordinate].comment
        if mode == "values":
            assert f"Result {error}: {error.reason}" in note.text, (sheet, coordinate, note.text)
        else:
            assert note is None and formulas[sheet][coordinate].data_type == "f"
    # no acquisition spend: the CAC, LTV:CAC and payback cells say so, never #VALUE!
    for coordinate in ("C11", "C12", "C13"):
        assert shown("CLTV", coordinate) == ("s", NO_SPEND), coordinate
    if mode == "values":
        assert NO_SPEND_REASON in formulas["CLTV"]["C11"].comment.text
    assert shown("CLTV", "C14") == ("s", "enter the acquisition spend on Inputs")
    totals = [r for r in range(1, 20) if cached["Predictive CLV"].cell(r, 2).value in ("Expected orders over the horizon, all customers", "Predicted value over the horizon, all customers", "Average predicted value per customer")]
    assert len(totals) == 3 and all(cached["Predictive CLV"].cell(r, 6).data_type == "e" for r in totals)
    assert not any(c.value == "n/a" for ws in cached for row in ws.iter_rows() for c in row)


def test_no_iferror_in_the_shipped_template_or_a_client_workbook(tmp_path, example):
    assert iferror_parts((build.TEMPLATE_DIR / "customer_value.xlsx").read_bytes()) == []
    assert iferror_parts(build.template_bytes(value_template.TEMPLATE_NAME, "values")) == []
    client = dataclasses.replace(example, transactions=synthetic_transactions(seed=3, n_customers=60))
    for mode in ("live", "values"):
        path = build.build_client_workbook(client, value_template.TEMPLATE_NAME, mode, tmp_path / f"client-{mode}.xlsx")
        assert iferror_parts(path.read_bytes()) == [], mode


def _payback_sheet(cac, margin, churn, rate) -> Evaluator:
    """CLTV!C13's formula on its own, with these inputs."""
    from openpyxl.workbook.defined_name import DefinedName

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "S"
    ws["C5"], ws["C11"], ws["B1"], ws["B2"] = margin, cac, rate, churn
    book.defined_names["MonthlyRate"] = DefinedName("MonthlyRate", attr_text="'S'!$B$1")
    book.defined_names["MonthlyChurn"] = DefinedName("MonthlyChurn", attr_text="'S'!$B$2")
    ws["C13"] = value_template.CAC_PAYBACK_FORMULA
    return Evaluator(book).value("S", "C13")


@pytest.mark.parametrize(
    "cac, margin, churn, rate, expected",
    [
        # hand-derived: m 100, CAC 500, c 5 %, d 1 %: ln(1 - 500 x 0.06 / 101) / ln(0.95 / 1.01)
        (500, 100, 0.05, 0.01, math.log(1 - 500 * 0.06 / 101) / math.log(0.95 / 1.01)),
        (0, 100, 0.05, 0.01, 0),  # nothing to earn back
        (500, 100, 0.0, 0.0, 5.0),  # no churn, no discounting: 500 / 100
        (500, 0, 0.05, 0.01, "not reached"),  # no margin: never earned back
        (500, -10, 0.05, 0.01, "not reached"),  # a loss every month: never
        (2000, 100, 0.05, 0.01, "not reached"),  # a lifetime is worth 100 x 1.01 / 0.06 = 1683 < 2000
        (ExcelError("#VALUE!", "spend is required"), 100, 0.05, 0.01, "#VALUE!"),  # no CAC: its error
        (500, ExcelError("#DIV/0!", "no customers"), 0.05, 0.01, "#DIV/0!"),  # no margin figure: its error
        (2000, 100, 1.0, 0.01, "not reached"),  # every customer gone after a month: worth 100 < 2000
        (50, 100, 1.0, 0.01, "#NUM!"),  # ... worth 100 > 50, but the formula's LN(0) has no answer
        ("needs the acquisition spend (Inputs)", 100, 0.05, 0.01, "needs the acquisition spend (Inputs)"),  # no spend: the CAC's words
    ],
)
def test_months_to_earn_back_the_cac(cac, margin, churn, rate, expected):
    """CLTV!C13: its cached value (value_values), its formula (headless) and
    the engine's cac_payback on numbers agree with the hand-derived answer;
    "not reached" (the engine: infinity) only where the CAC is never earned
    back, any error in its inputs shown as itself."""
    from cxroi_xl.engine.value import cac_payback
    from cxroi_xl.errors import OutOfDomainError
    from cxroi_xl.workbooks.value_values import _cac_payback_months

    answers = [_cac_payback_months(cac, margin, churn, rate)]
    if not isinstance(cac, ExcelError) and not isinstance(margin, ExcelError):  # errors cannot be typed into a cell
        answers.append(_payback_sheet(cac, margin, churn, rate))
    if not any(isinstance(v, str) for v in (cac, margin)):
        if expected == "#NUM!":
            with pytest.raises(OutOfDomainError):
                cac_payback(cac, margin, churn, rate)
        else:
            months = cac_payback(cac, margin, churn, rate)
            assert math.isinf(months) if expected == "not reached" else months == pytest.approx(expected, rel=1e-12)
    for answer in answers:
        if isinstance(expected, str):
            assert answer == expected and isinstance(answer, ExcelError) == expected.startswith("#"), answer
        else:
            assert answer == pytest.approx(expected, rel=1e-12)


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
    # the example's data are complete: every figure is a number
    assert error_cells(recalculated) == []


def test_lifetime_value_and_acquisition_cost(recalculated, months, example):
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
    # customers acquired: the distinct customers of the orders (each first orders inside their window)
    spend, new = recalculated["Inputs"]["B11"], example.transactions["customer_id"].nunique()
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
