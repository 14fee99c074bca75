"""The headless evaluator against a real spreadsheet application.

Oracles:
* Native formulas: LibreOffice. One workbook holds a formula for every
  supported feature (operators, references, names, structured references,
  each native function); LibreOffice recalculates it headlessly and every
  formula cell must equal the evaluator's value to 1e-12 relative (LibreOffice
  stores 15 significant digits, so agreement is limited to ~5e-16).
* Add-in formulas: direct calls of the engine (cxroi_xl.engine.finance) on the same
  numbers, to 1e-12 relative; the engine itself is checked against published
  examples in test_finance.py.
"""
from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table

from cxroi_xl.engine import finance
from cxroi_xl.excel import ExcelError
from cxroi_xl.workbooks import libreoffice
from cxroi_xl.calc.functions import NATIVE_FUNCTIONS
from cxroi_xl.calc.evaluator import Evaluator
from cxroi_xl.calc.parser import function_names
from cxroi_xl.calc.operands import to_serial

RELATIVE = 1e-12

# Every formula below sits in column B of the "Calc" sheet; LibreOffice is the oracle.
NATIVE_FORMULAS = [
    # literals and operators
    "=1.5",
    '="say ""hi"""',
    "=TRUE",
    "=#N/A",
    "=1+2*3-4/8",
    "=2^3^2",
    "=-2^2",
    "=2^-1",
    "=50%",
    "=-(3)+ +4",
    '="a"&1.5&"b"',
    "=1/3",
    '=""&(1/3)',
    "=1=1",
    '="A"="a"',
    "=1<>2",
    "=2<10",
    '="b">"a"',
    '=1<"1"',
    "=TRUE=TRUE",
    "=Inputs!B9+1",
    '=Inputs!B9=""',
    "=Inputs!B9=0",
    # errors propagate
    "=1/0",
    "=(1/0)+#N/A",
    "=#N/A*2",
    '="x"+1',
    "=NOPE(1)",
    # references, ranges, sheets, names
    "=$C$1+C2",
    "='Post-automation'!B3",
    "=SUM('Post-automation'!B:B)",
    "=COUNT(Inputs!B:B)",
    "=SUM(Inputs!2:2)",
    "=SUM('Post-automation'!B2:'Post-automation'!C3)",
    "=DiscountRate*2",
    "=YEAR(GoLive)",
    '=Label&"!"',
    "=SUM({1,2;3,4})",
    "=INDEX({1,2;3,4},2,1)",
    # structured references
    "=SUM(Post[contacts])",
    "=ROWS(Post[[#Data]])",
    "=SUM(Post[[contacts]:[agent_hours]])",
    "=COLUMNS(Post[[contacts]:[hourly_cost]])",
    "=SUMPRODUCT(TRANSPOSE(Post[[#Data],[contacts]])*TRANSPOSE(Post[[#Data],[hourly_cost]]))",
    "=COLUMNS(TRANSPOSE(Post[[#Data],[contacts]]))",
    "=COUNTA(Post[[#Headers]])",
    "=ROWS(Post[[#All]])",
    "=SUM(Post[[#Data],[contacts]:[agent_hours]])",
    "=ROWS(Post[[#All],[contacts]])",
    "=SUM(Post[cost])",
    # aggregates
    "=SUM(C1:C6, 10, TRUE)",
    "=SUM(C1:C6)",
    "=SUMPRODUCT(Post[contacts], Post[hourly_cost])",
    "=SUMPRODUCT((Post[contacts]>100)*Post[agent_hours])",
    '=SUMIF(Post[contacts], ">100", Post[agent_hours])',
    '=SUMIF(Post[note], "a*", Post[contacts])',
    "=SUMIF(Post[contacts], 120)",
    '=SUMIFS(Post[agent_hours], Post[contacts], ">=100", Post[note], "<>x")',
    "=COUNT(C1:C6)",
    "=COUNTA(C1:C6)",
    "=COUNTBLANK(Post[note])",
    '=COUNTIF(Post[note], "")',
    '=COUNTIF(Post[note], "<>")',
    '=COUNTIF(Post[contacts], ">=120")',
    '=COUNTIF(Post[note], "ALPHA")',
    '=COUNTIF(Post[note], "a?pha")',
    '=COUNTIFS(Post[contacts], ">100", Post[hourly_cost], "<31")',
    "=AVERAGE(Post[contacts])",
    "=AVERAGE(C1:C6)",
    '=AVERAGEIF(Post[contacts], "<150")',
    '=AVERAGEIF(Post[note], "x", Post[agent_hours])',
    '=AVERAGEIFS(Post[agent_hours], Post[contacts], ">90", Post[contacts], "<200")',
    "=MIN(Post[contacts])",
    "=MAX(Post[contacts], 500)",
    "=MIN(Inputs!B9:B10)",
    "=NPV(DiscountRate, Post[contacts])",
    "=NPV(0.08, 8000, 9200, 10000, 12000, 14500)+-40000",
    # logic
    "=IF(C2>1, \"big\", \"small\")",
    "=IF(FALSE, 1)",
    "=IF(TRUE, 1/0, 2)",
    "=IF(FALSE, 1/0, 2)",
    "=IFERROR(1/0, -1)",
    "=IFERROR(7, -1)",
    "=_xlfn.IFNA(#N/A, \"none\")",
    "=IFNA(1/0, \"none\")",
    "=ISERROR(1/0)",
    "=ISERROR(C2)",
    "=ISNUMBER(C2)",
    "=ISNUMBER(Inputs!B3)",
    "=ISNUMBER(\"1\")",
    "=ISNA(#N/A)",
    "=ISTEXT(C5)",
    "=ISBLANK(Inputs!B9)",
    "=AND(TRUE, 1, C2>0)",
    "=AND(C1:C6)",
    "=OR(FALSE, 0)",
    "=NOT(0)",
    # maths
    "=ROUND(2.675, 2)",
    "=ROUND(-2.5, 0)",
    "=ROUND(1234.5678, -2)",
    "=ROUNDUP(1.231, 2)",
    "=ROUNDDOWN(-1.239, 2)",
    "=INT(-2.5)",
    "=MOD(-7, 3)",
    "=ABS(-4.25)",
    "=SQRT(2)",
    "=POWER(1.008, 12)-1",
    "=(1+DiscountRate)^(1/12)-1",
    "=EXP(1)",
    "=LN(10)",
    "=CHOOSE(2, \"a\", \"b\", \"c\")",
    # lookup
    "=INDEX(Post[[contacts]:[hourly_cost]], 3, 2)",
    "=INDEX(C1:C6, 2)",
    "=INDEX(Inputs!A2:D2, 2)",
    "=SUM(INDEX(Post[[contacts]:[hourly_cost]], 0, 2))",
    "=MATCH(120, Post[contacts], 0)",
    '=MATCH("b*", Post[note], 0)',
    "=MATCH(155, Post[contacts], 1)",
    "=MATCH(7, Post[contacts], 0)",
    "=ROWS(C1:C6)",
    "=COLUMNS(A1:D1)",
    "=ROW()",
    "=COLUMN(D7)",
    # dates
    "=DATE(2024, 2, 29)",
    "=DATE(2024, 14, 1)",
    "=DATE(2023, 1, 0)",
    "=YEAR(Inputs!B3)",
    "=MONTH(Inputs!B3)",
    "=DAY(Inputs!B3)",
    "=EOMONTH(Inputs!B3, 1)",
    "=EOMONTH(DATE(2024, 1, 31), -11)",
    "=EDATE(DATE(2024, 1, 31), 1)",
    "=EDATE(GoLive, 12)-GoLive",
    # text
    '=TEXT(1234.567, "#,##0.00")',
    '=TEXT(1234.567, "0")',
    '=TEXT(0.125, "0%")',
    '=TEXT(0.1234, "0.0%")',
    '=TEXT(-1234.5, "$#,##0.00")',
    '=TEXT(GoLive, "yyyy-mm-dd")',
    '=TEXT(GoLive, "mmm yyyy")',
    '=TEXT(GoLive, "dd/mm/yyyy")',
    '=TEXT(GoLive, "mmmm d, yyyy")',
    '=TEXT(2.5, "General")',
    '=TEXT("abc", "0.00")',
    '=CONCATENATE("ROI ", TEXT(0.25, "0%"), " in ", 12, " months")',
    "=CONCATENATE(Label, 1/4)",
    "=LEN(Label)",
    "=LEN(1/3)",
    "=N(C2)",
    "=N(\"7\")",
    "=N(TRUE)",
]


def native_workbook() -> Workbook:
    book = Workbook()
    inputs = book.active
    inputs.title = "Inputs"
    inputs.append(["setting", "value"])
    inputs.append(["discount rate", 0.1, 3, "text"])
    inputs.append(["go-live", dt.datetime(2024, 3, 1)])
    inputs.append(["client", "Acme Ltd"])
    book.defined_names["DiscountRate"] = DefinedName("DiscountRate", attr_text="Inputs!$B$2")
    book.defined_names["GoLive"] = DefinedName("GoLive", attr_text="Inputs!$B$3")
    book.defined_names["Label"] = DefinedName("Label", attr_text="Inputs!$B$4")

    post = book.create_sheet("Post-automation")
    post.append(["month", "contacts", "agent_hours", "hourly_cost", "note", "cost"])
    rows = [
        (dt.datetime(2024, 3, 1), 90, 40.5, 30, "alpha"),
        (dt.datetime(2024, 4, 1), 120, 35, 30, None),
        (dt.datetime(2024, 5, 1), 150, 30.25, 32, "beta"),
        (dt.datetime(2024, 6, 1), 200, 28, 32, "x"),
        (dt.datetime(2024, 7, 1), 120, None, 31, "x"),
    ]
    for r, row in enumerate(rows, start=2):
        post.append(list(row) + ["=Post[[#This Row],[agent_hours]]*Post[[#This Row],[hourly_cost]]"])
    post.add_table(Table(displayName="Post", ref=f"A1:F{len(rows) + 1}"))

    calc = book.create_sheet("Calc")
    for value in (5, 2.5, None, -1, "text", 0):  # C1:C6: numbers, a blank, text
        calc.append([None, None, value])
    for row, formula in enumerate(NATIVE_FORMULAS, start=1):
        calc.cell(row, 2, formula)
    return book


@pytest.fixture(scope="module")
def libreoffice_values(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native")
    path = folder / "native.xlsx"
    native_workbook().save(path)
    recalculated = libreoffice.recalculate(path, folder / "out")
    return libreoffice.read_values(recalculated)


def _comparable(value):
    """Both sides in one form: dates as serials, blanks as ""."""
    if isinstance(value, ExcelError):
        return ("error", str(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return to_serial(value)
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _same(ours, theirs) -> bool:
    ours, theirs = _comparable(ours), _comparable(theirs)
    if isinstance(ours, float) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=RELATIVE, abs_tol=1e-300)
    return type(ours) is type(theirs) and ours == theirs


def test_every_native_formula_equals_libreoffice(libreoffice_values):
    book = native_workbook()
    evaluator = Evaluator(book)
    mismatches = []
    checked = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                    continue
                ours = evaluator.value(sheet.title, cell.coordinate)
                theirs = libreoffice_values[sheet.title].get(cell.coordinate)
                checked += 1
                if not _same(ours, theirs):
                    mismatches.append(f"{sheet.title}!{cell.coordinate} {cell.value}: ours {ours!r}, LibreOffice {theirs!r}")
    assert checked == len(NATIVE_FORMULAS) + 5
    assert not mismatches, "\n".join(mismatches)


def test_the_oracle_workbook_uses_every_native_function():
    used = set().union(*(function_names(f) for f in NATIVE_FORMULAS))
    assert set(NATIVE_FUNCTIONS) <= used | {"TRUE", "FALSE", "NA"}


# Where LibreOffice departs from Excel, Microsoft's function reference is the
# oracle (support.microsoft.com, the page of each function named below).
EXCEL_DOCUMENTED = [
    ('="a"&TRUE', "aTRUE"),  # "Combine text and numbers": logicals join as TRUE/FALSE (LibreOffice: 1)
    ("=TRUE>1", True),  # "Sort data": numbers < text < logicals (LibreOffice: TRUE is 1)
    ("=SUM(A1:A3)", 2.0),  # SUM: "logical values and text in the reference are ignored" (A1 is TRUE)
    ("=SUM(A1:A3, TRUE)", 3.0),  # SUM: a logical typed as an argument counts
    ("=COUNT(A1:A3)", 1.0),  # COUNT: logicals in a reference are not counted
    ("=SQRT(-1)", ExcelError("#NUM!")),  # SQRT: "If number is negative, SQRT returns the #NUM! error value"
    ("=INDEX(A1:A3, 9)", ExcelError("#REF!")),  # INDEX: outside the array gives #REF!
    ("=0^0", ExcelError("#NUM!")),  # POWER/^: 0^0 is #NUM!
    ("=ROWS(T[#Data])", 2.0),  # structured references: [#Data] with single brackets (LibreOffice 7.4: #NAME?)
    ("=ROWS(T[#All])", 3.0),
    ("=ROWS(T)", 2.0),  # a bare table name means its data rows
    ("=SUM(T[@b])", ExcelError("#VALUE!")),  # [@col] is [#This Row]; this cell is outside the table
]


@pytest.mark.parametrize("formula, expected", EXCEL_DOCUMENTED)
def test_excel_semantics_where_libreoffice_differs(formula, expected):
    book = Workbook()
    sheet = book.active
    for row, value in enumerate([True, 2, "x"], start=1):
        sheet.cell(row, 1, value)
    sheet["D1"], sheet["E1"], sheet["D2"], sheet["E2"], sheet["D3"], sheet["E3"] = "a", "b", 1, 2, 3, 4
    sheet.add_table(Table(displayName="T", ref="D1:E3"))
    sheet["G1"] = formula
    result = Evaluator(book).value("Sheet", "G1")
    assert result == expected and type(result) is type(expected)


def test_this_row_inside_the_table():
    book = Workbook()
    sheet = book.active
    sheet.append(["a", "b", "twice"])
    for a in (1, 2, 3):
        sheet.append([a, 10 * a, "=T[@a]*2+T[[#This Row],[b]]"])
    sheet.add_table(Table(displayName="T", ref="A1:C4"))
    evaluator = Evaluator(book)
    assert [evaluator.value("Sheet", f"C{r}") for r in (2, 3, 4)] == [12.0, 24.0, 36.0]


def test_logical_functions_and_na():
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "=AND(TRUE(), NOT(FALSE()))"
    sheet["A2"] = "=ISNA(NA())"
    evaluator = Evaluator(book)
    assert evaluator.value("Sheet", "A1") is True and evaluator.value("Sheet", "A2") is True


# ---- add-in functions: the engine is the oracle ---------------------------

BENEFITS = [0, 600, 600, 650, 700]
COSTS = [500, 100, 100, 100, 120]


def addin_workbook() -> Workbook:
    book = Workbook()
    data = book.active
    data.title = "Post-automation"
    data.append(["month", "benefit", "cost"])
    for month, (benefit, cost) in enumerate(zip(BENEFITS, COSTS)):
        data.append([dt.datetime(2024, 1 + month, 1), benefit, cost])
    data.add_table(Table(displayName="Flows", ref=f"A1:C{len(BENEFITS) + 1}"))
    inputs = book.create_sheet("Inputs")
    inputs["B1"] = 0.1
    inputs["B2"] = "=(1+B1)^(1/12)-1"
    book.defined_names["MonthlyRate"] = DefinedName("MonthlyRate", attr_text="Inputs!$B$2")
    roi = book.create_sheet("ROI")
    roi["B2"] = "=CXTEI(Flows[benefit], Flows[cost], MonthlyRate, 0.1, 0.05)"  # spills B2:C7
    roi["E2"] = "=INDEX(CXTEI(Flows[benefit], Flows[cost], MonthlyRate, 0.1, 0.05), 5, 2)"
    roi["E3"] = "=C6*100"  # refers into the spill: C6 is the ROI
    roi["E4"] = "=_xlfn.CXROI('Post-automation'!B2:B6, 'Post-automation'!C2:C6, MonthlyRate, 0.1, 0.05)"
    roi["E5"] = "=CXNPV(MonthlyRate, 'Post-automation'!B2:B6)"
    roi["E6"] = "=CXPAYBACK({-100,30,40,50})"
    roi["E7"] = "=CXNPV(0.1, 'Post-automation'!B2:B6, 'Post-automation'!A2:A6)"
    roi["E8"] = "=CXROI(Flows[benefit], Flows[month])"  # dates where numbers belong
    roi["E9"] = "=CXNPV(#DIV/0!, 1)"
    roi["E10"] = "=SUM(C3:C4)"
    roi["E11"] = "=CXPAYBACK(-100, 1)"
    roi["G2"] = ArrayFormula("G2:H9", "=_xlfn.CXTEI(Flows[benefit], Flows[cost])")
    roi["H4"] = 123456  # a value Excel cached in the old spill range: the formula decides
    roi["G8"] = "stale"
    return book


def _engine_tei(rate=(1.1 ** (1 / 12) - 1), benefit_risk=0.1, cost_risk=0.05):
    return finance.tei(BENEFITS, COSTS, rate, benefit_risk, cost_risk)


def test_addin_formulas_equal_the_engine():
    book = addin_workbook()
    evaluator = Evaluator(book)
    tei = _engine_tei()
    monthly = 1.1 ** (1 / 12) - 1
    value = lambda cell: evaluator.value("ROI", cell)  # noqa: E731
    spill = evaluator.spill("ROI", "B2")
    assert [row[0] for row in spill] == ["Metric", "PV benefits", "PV costs", "NPV", "ROI", "Payback (periods)"]
    assert spill[4][1] == pytest.approx(tei.roi, rel=RELATIVE)
    assert value("C3") == pytest.approx(tei.pv_benefits, rel=RELATIVE)
    assert value("E2") == pytest.approx(tei.roi, rel=RELATIVE)
    assert value("E3") == pytest.approx(100 * tei.roi, rel=RELATIVE)
    assert value("E4") == pytest.approx(finance.roi(BENEFITS, COSTS, monthly, 0.1, 0.05), rel=RELATIVE)
    assert value("E5") == pytest.approx(finance.npv(monthly, BENEFITS), rel=RELATIVE)
    assert value("E6") == pytest.approx(2.6, rel=RELATIVE)  # the registry's own example: -100, 30, 40, 50
    dates = [f"2024-{m:02d}-01" for m in range(1, 6)]
    assert value("E7") == pytest.approx(finance.xnpv(0.1, BENEFITS, dates), rel=RELATIVE)
    assert value("E8") == "#VALUE!" and "date" in value("E8").reason
    assert value("E9") == "#DIV/0!"
    assert value("E10") == pytest.approx(tei.pv_benefits + tei.pv_costs, rel=RELATIVE)
    assert value("E11") == "#N/A"
    assert evaluator.spill_range("ROI", "B2").address() == "ROI!B2:C7"


def test_array_formula_cells_take_the_fresh_result():
    evaluator = Evaluator(addin_workbook())
    tei = finance.tei(BENEFITS, COSTS, 0.1)
    assert evaluator.value("ROI", "H4") == pytest.approx(tei.pv_costs, rel=RELATIVE)
    assert evaluator.value("ROI", "G8") is None  # inside the saved range, beyond the 6-row result
    assert evaluator.fixed_range("ROI", "G2").address() == "ROI!G2:H9"


def test_a_spill_onto_filled_cells_is_blocked():
    book = addin_workbook()
    book["ROI"]["C6"] = "typed over"
    evaluator = Evaluator(book)
    assert evaluator.value("ROI", "B2") == "#SPILL!"
    assert evaluator.value("ROI", "C6") == "typed over"
    assert evaluator.value("ROI", "E3") == "#VALUE!"  # "typed over" * 100
    assert evaluator.value("ROI", "C5") is None  # the anchor shows #SPILL!, nothing spills


def test_circular_references_end_in_ref_error():
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "=B1+1"
    sheet["B1"] = "=A1*2"
    sheet["C1"] = "=CXNPV(0.1, A1:B1)"
    sheet["D1"] = "=D1"
    evaluator = Evaluator(book)
    assert evaluator.value("Sheet", "A1") == "#REF!" and "circular" in evaluator.value("Sheet", "A1").reason
    assert evaluator.value("Sheet", "C1") == "#REF!"
    assert evaluator.value("Sheet", "D1") == "#REF!"


def test_long_formula_chains_evaluate():
    book = Workbook()
    sheet = book.active
    sheet["A1"] = 1
    for row in range(2, 3001):
        sheet[f"A{row}"] = f"=A{row - 1}+1"
    assert Evaluator(book).value("Sheet", "A3000") == 3000


def test_openpyxl_loaded_formulas_and_prefixes(tmp_path):
    path = tmp_path / "roundtrip.xlsx"
    addin_workbook().save(path)
    evaluator = Evaluator(load_workbook(path))
    assert evaluator.value("ROI", "E2") == pytest.approx(_engine_tei().roi, rel=RELATIVE)
    assert evaluator.value("ROI", "H4") == pytest.approx(finance.tei(BENEFITS, COSTS, 0.1).pv_costs, rel=RELATIVE)


def test_unreadable_formula_and_unknown_names_give_errors():
    book = Workbook()
    sheet = book.active
    sheet["A1"] = "=SUM(1,"
    sheet["A2"] = "=NoSuchName+1"
    sheet["A3"] = "=NoTable[col]"
    sheet["A4"] = "=[1]Sheet1!A1"
    sheet["A5"] = "=Missing!A1"
    evaluator = Evaluator(book)
    assert [evaluator.value("Sheet", f"A{r}") for r in range(1, 6)] == ["#NAME?", "#NAME?", "#REF!", "#REF!", "#REF!"]


# ---- junk formulas: a value or an Excel error, never an exception ----------

_LEAVES = st.sampled_from(
    ["1", "0", "-2.5", '"x"', '""', "TRUE", "#N/A", "#DIV/0!", "A1", "B2:C3", "C:C", "2:2", "$A$1", "Data!A1:A3",
     "'Odd sheet'!B1", "T[a]", "T[[#This Row],[b]]", "T[#Data]", "T[[a]:[b]]", "T[#Totals]", "T[zz]", "Nope[a]",
     "Rate", "Unknown", "{1,2;3,4}", "Z99", "[1]Sheet1!A1", "Gone!A1"]
)
_FUNCTIONS = sorted(NATIVE_FUNCTIONS) + ["IF", "IFERROR", "IFNA", "CXNPV", "CXTEI", "CXPAYBACK", "CXSAVINGS", "NOSUCH"]


def _expressions():
    def extend(inner):
        call = st.builds(lambda f, args: f"{f}({','.join(args)})", st.sampled_from(_FUNCTIONS), st.lists(inner | st.just(""), max_size=4))
        binary = st.builds(lambda a, op, b: f"{a}{op}{b}", inner, st.sampled_from(["+", "-", "*", "/", "^", "&", "=", "<>", "<", ">=", ":"]), inner)
        unary = st.builds(lambda a, op: f"{op}({a})" if op == "-" else f"({a}){op}", inner, st.sampled_from(["-", "%"]))
        return call | binary | unary

    return st.recursive(_LEAVES, extend, max_leaves=8)


def _junk_book(formula: str) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["a", "b"])
    sheet.append([1, "two"])
    sheet.append([dt.datetime(2024, 1, 31), None])
    sheet.add_table(Table(displayName="T", ref="A1:B3"))
    book.create_sheet("Odd sheet")["B1"] = "=B1+1"
    book.defined_names["Rate"] = DefinedName("Rate", attr_text="Data!$A$2")
    sheet["B2"] = "=" + formula if not formula.startswith("=") else formula
    sheet["D1"] = formula if formula.startswith("=") else "=" + formula
    return book


def _is_shown_value(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, dt.datetime, dt.date))


@settings(max_examples=300, deadline=None)
@given(formula=_expressions() | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30).map(lambda t: "=" + t))
def test_junk_formulas_give_a_value_or_an_error(formula):
    book = _junk_book(formula)
    evaluator = Evaluator(book)
    for cell in ("D1", "B2", "B3", "A2"):
        assert _is_shown_value(evaluator.value("Data", cell)), formula
    assert isinstance(evaluator.spill("Data", "D1"), list)


def test_huge_ranges_are_read_as_far_as_the_sheet_is_used():
    # A whole row of 16,384 cells and the whole sheet: a few kilobytes of file
    # must not make the evaluator build billions of blank cells.
    wb = Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["C1"] = -100, 60, 60
    ws["A3"] = "=CXNPV(0.1,A1:XFD1)"
    ws["A4"] = "=CXNPV(0.1,A1:XFD1048576)"
    ev = Evaluator(wb)
    assert ev.value(ws.title, "A3") == pytest.approx(-100 + 60 / 1.1 + 60 / 1.21, rel=1e-12)
    assert ev.value(ws.title, "A4") == "#VALUE!"  # trimmed to A1:C4, a block, not a row


def test_transpose_turns_a_column_into_a_row():
    # =TRANSPOSE(A1:A3) is {1,2,3} across; times a row it multiplies element by element
    from openpyxl import Workbook
    from openpyxl.worksheet.formula import ArrayFormula

    from cxroi_xl.calc.evaluator import Evaluator

    book = Workbook()
    sheet = book.active
    for r, v in enumerate((1, 2, 3), start=1):
        sheet.cell(r, 1, v)
        sheet.cell(5, r, 10 * v)
    sheet["B1"] = ArrayFormula("B1:D1", "=TRANSPOSE(A1:A3)")
    sheet["B2"] = "=SUMPRODUCT(TRANSPOSE(A1:A3)*A5:C5)"
    evaluator = Evaluator(book)
    assert evaluator.spill("Sheet", "B1") == [[1, 2, 3]]
    assert evaluator.value("Sheet", "B2") == 1 * 10 + 2 * 20 + 3 * 30
