"""``cxroi-xl migrate``: workbooks of release 0.1 into the current templates.

Oracles:
* The old workbooks themselves (``tests/data/v0_1_*.xlsx``, made by the 0.1
  code and edited as a user would; see tests/data/README.md): every input
  and every table cell of the migrated workbook is compared with the value
  read from the old file with plain openpyxl, not through migrate's readers.
* The user's edits as tests/data/README.md lists them (discount rate 9%,
  an extra month, ...), written out below.
* LibreOffice recalculating the migrated workbook; its native NPV check and
  the measured headline against a loop written out here over the old
  file's cells (the template's formulas, by hand), to 1e-9 relative.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.table import Table, TableColumn
from typer.testing import CliRunner

from cxroi_xl.cli import app
from cxroi_xl.calc.migrate import TEMPLATES, CannotMigrate, migrate_file, recognise
from cxroi_xl.calc.safety import WorkbookError, open_workbook
from cxroi_xl.excel.error_values import ExcelError
from cxroi_xl.workbooks import libreoffice
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data"
runner = CliRunner()

# file -> (template, release, layout), as tests/data/README.md records them
FIXTURES = {
    "v0_1_roi_template.xlsx": ("cx_automation_roi", "0.1", "measured model, before the Controls sheet"),
    "v0_1_roi_client.xlsx": ("cx_automation_roi", "0.1", "measured model, before the Controls sheet"),
    "v0_1_value_per_win.xlsx": ("cx_automation_roi", "0.1", "every benefit stream, with the value of an extra win"),
    "v0_1_first_layout.xlsx": ("cx_automation_roi", "0.1", "service savings only"),
    "v0_1_customer_value.xlsx": ("customer_value", "0.1 or 0.2", "unchanged since 0.1"),
    "v0_1_attribution.xlsx": ("attribution", "0.1 or 0.2", "unchanged since 0.1"),
}
DROPS = {"v0_1_value_per_win.xlsx": ["--drop", "ValuePerWin"]}


# ---- reading the old and the new workbook, independently of migrate --------


def _is_formula(cell) -> bool:
    return isinstance(cell.value, ArrayFormula) or cell.data_type == "f"


def _inputs(book) -> dict[str, object]:
    """Every workbook-level name that points to one cell: its cell."""
    found = {}
    for name, defined in book.defined_names.items():
        destinations = list(defined.destinations)
        if len(destinations) == 1 and ":" not in destinations[0][1]:
            sheet, ref = destinations[0]
            found[name] = book[sheet][ref.replace("$", "")]
    return found


def _table_cells(book) -> dict[str, tuple[list[str], list[list]]]:
    """Table -> (column names, data rows of cells)."""
    found = {}
    for ws in book.worksheets:
        for table in ws.tables.values():
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            rows = [[ws.cell(r, c) for c in range(min_col, max_col + 1)] for r in range(min_row + 1, max_row + 1)]
            found[table.displayName] = ([c.name for c in table.tableColumns], rows)
    return found


def _equal(new, old) -> bool:
    """The same value as the user typed it: numbers equal (1 and 1.0 alike),
    dates equal, text equal and still text."""
    if _is_formula(old):
        return _is_formula(new) and new.value == old.value
    a, b = new.value, old.value
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return isinstance(a, (int, float)) and not isinstance(a, bool) and a == b
    if isinstance(b, str):
        return a == b and new.data_type == old.data_type
    return a == b


def _blank(cell) -> bool:
    return cell.value is None or (isinstance(cell.value, str) and not cell.value.strip())


# ---- migrated once per module ----------------------------------------------


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """Every fixture through `cxroi-xl migrate` (live), once."""
    out = tmp_path_factory.mktemp("migrated")
    results = {}
    for name in FIXTURES:
        target = out / name.replace("v0_1_", "v0_2_")
        result = runner.invoke(app, ["migrate", str(DATA / name), "-o", str(target), *DROPS.get(name, [])])
        assert result.exit_code == 0, f"{name}\n{result.output}"
        results[name] = (target, result.output)
    return results


def test_the_fixtures_are_untouched_by_migration(migrated):
    # the old workbooks are read only: their bytes as checked in
    recorded = {
        "v0_1_attribution.xlsx": "2b44213dca7090b696c313cb76065f5f0f0bd84aee92b1901f651d8520e55ca1",
        "v0_1_customer_value.xlsx": "9dbd79bcec2f6dc68faefaa25a56ebbffa046bd5388f40630e5f76478770f4b2",
        "v0_1_first_layout.xlsx": "88380d3bce705d0ad3d368e615df07777282dbb5ddc4de63f674bfbca10f350d",
        "v0_1_roi_client.xlsx": "351b99fed6faf33e8122a4f4b4bd7449679c5df7dbe8cf205b387986d29fb03e",
        "v0_1_roi_template.xlsx": "290f4796055d4fe1b93df67f0352960419df027820481021775d352008b8ee8c",
        "v0_1_value_per_win.xlsx": "d8cc96db3708537e4ea98c0cce7899ea05c5bd4b7f360759c326d4f55c62b3ad",
    }
    assert {name: hashlib.sha256((DATA / name).read_bytes()).hexdigest() for name in FIXTURES} == recorded


@pytest.mark.parametrize("name", FIXTURES)
def test_the_template_and_layout_are_recognised(name):
    template, version, description = FIXTURES[name]
    spec, layout = recognise(open_workbook(DATA / name), DATA / name)
    assert (spec.name, layout.version, layout.description) == (template, version, description)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_input_and_every_table_cell_is_copied(migrated, name):
    old, new = load_workbook(DATA / name), load_workbook(migrated[name][0])
    old_inputs, new_inputs = _inputs(old), _inputs(new)
    compared_inputs = 0
    for input_name, cell in old_inputs.items():
        if _is_formula(cell) or input_name == "ValuePerWin":  # calculated (or gone, and dropped)
            continue
        assert input_name in new_inputs, input_name
        assert _equal(new_inputs[input_name], cell), (input_name, new_inputs[input_name].value, cell.value)
        compared_inputs += 1
    old_tables, new_tables = _table_cells(old), _table_cells(new)
    compared_cells = 0
    for table, (columns, rows) in old_tables.items():
        if table == "Customers":  # summarised from Transactions by the builder: rebuilt, checked below
            continue
        new_columns, new_rows = new_tables[table]
        data_rows = [row for row in rows if not all(_blank(c) or _is_formula(c) for c in row)]
        assert len(new_rows) == len(data_rows), table
        for j, column in enumerate(columns):
            if any(_is_formula(row[j]) for row in rows):  # a calculated column: the new template calculates it
                assert all(_is_formula(row[new_columns.index(column)]) for row in new_rows), (table, column)
                continue
            k = new_columns.index(column)
            for i, row in enumerate(data_rows):
                assert _equal(new_rows[i][k], row[j]), (table, column, i, new_rows[i][k].value, row[j].value)
                compared_cells += 1
    # the comparison covered the whole workbook (counted from the fixture's own tables)
    expected_cells = sum(len(r) * sum(1 for j in range(len(c)) if not any(_is_formula(row[j]) for row in r)) for t, (c, r) in old_tables.items() if t != "Customers")
    assert compared_cells == expected_cells > 0
    assert compared_inputs >= 1


def test_the_users_edits_arrive(migrated):
    """The edits tests/data/README.md lists, written out."""
    new = load_workbook(migrated["v0_1_roi_client.xlsx"][0])
    inputs = {name: cell.value for name, cell in _inputs(new).items()}
    assert inputs["DiscountRate"] == 0.09 and inputs["CostRisk"] == 0.08
    assert inputs["GrossMargin"] == 0.58 and inputs["HorizonMonths"] == 48
    assert inputs["HalfLifeService"] == 36 and inputs["RampMonths"] == 2
    assert inputs["ClientName"] == "Rose & Crumb Bakery" and inputs["Currency"] == "GBP"
    tables = _table_cells(new)
    columns, rows = tables["PostAutomation"]
    assert len(rows) == 13  # 12 tracked months and the one typed below the table
    assert rows[-1][columns.index("month")].value == dt.datetime(2026, 1, 1)
    columns, rows = tables["OneOffCosts"]
    assert [rows[-1][columns.index(c)].value for c in ("category", "amount")] == ["other", 320]
    columns, rows = tables["Surveys"]
    assert [rows[-1][columns.index(c)].value for c in ("nps", "csat", "ces")] == [9, 4, 2]
    columns, rows = tables["Proxies"]
    assert rows[0][columns.index("confidence")].value == 0.6
    # the new sheet, empty: Controls' one data row is blank
    columns, rows = tables["Controls"]
    assert all(_blank(c) for row in rows for c in row)
    assert new.sheetnames.index("Summary") == 1 and "Controls" in new.sheetnames


def test_new_inputs_and_columns_keep_the_templates_defaults(migrated):
    from cxroi_xl.engine.streams import DEFAULT_HALF_LIVES
    from cxroi_xl.engine.tracker import TrackerInput

    new = load_workbook(migrated["v0_1_first_layout.xlsx"][0])
    inputs = {name: cell.value for name, cell in _inputs(new).items()}
    defaults = {f: TrackerInput.__dataclass_fields__[f].default for f in ("gross_margin", "retention_risk", "uplift_risk", "horizon_months", "method", "ramp_months")}
    assert [inputs[n] for n in ("GrossMargin", "RetentionRisk", "UpliftRisk", "HorizonMonths", "Method", "RampMonths")] == list(defaults.values())
    assert [inputs[n] for n in ("HalfLifeService", "HalfLifeRetention", "HalfLifeUplift")] == [DEFAULT_HALF_LIVES[s] for s in ("service", "retention", "uplift")]
    tables = _table_cells(new)
    for table in ("Baseline", "PostAutomation"):
        columns, rows = tables[table]
        assert all(row[columns.index(c)].value is None for row in rows for c in ("leads", "won")), table
    for table in ("Proxies", "Controls"):
        assert all(_blank(c) for row in tables[table][1] for c in row), table
    output = migrated["v0_1_first_layout.xlsx"][1]
    assert "service savings only" in output and "GrossMargin" in output and "Baseline[leads, won]" in output


def test_customer_value_keeps_formula_inputs_and_typed_overrides(migrated):
    old, new = load_workbook(DATA / "v0_1_customer_value.xlsx"), load_workbook(migrated["v0_1_customer_value.xlsx"][0])
    inputs = _inputs(new)
    assert inputs["MonthlyChurn"].value == 0.021  # typed over its formula in the old workbook
    assert inputs["GrossMargin"].value == 0.55 and inputs["AcquisitionSpend"].value == 250000 and inputs["HorizonMonths"].value == 24
    assert _is_formula(inputs["ARPU"]) and _is_formula(inputs["NewCustomers"])  # still the template's
    # Customers is rebuilt from Transactions: one row per distinct customer id of the old orders
    columns, rows = _table_cells(old)["Transactions"]
    ids = {row[columns.index("customer_id")].value for row in rows}
    assert "C-9001" in ids
    assert len(_table_cells(new)["Customers"][1]) == len(ids)


def test_attribution_keeps_the_half_life_and_the_added_journey(migrated):
    new = load_workbook(migrated["v0_1_attribution.xlsx"][0])
    assert _inputs(new)["HalfLife"].value == 2
    columns, rows = _table_cells(new)["Journeys"]
    assert [c.value for c in rows[-1]] == ["social > chatbot > email > search", 7, 812.4, 95]


def test_the_migrated_workbook_says_what_made_it(migrated):
    from cxroi_xl import __version__

    new = load_workbook(migrated["v0_1_roi_client.xlsx"][0])
    props = {p.name: p.value for p in new.custom_doc_props.props}
    assert props == {"cxroi-xl template": "cx_automation_roi", "cxroi-xl mode": "live", "cxroi-xl version": __version__}


def test_a_migrated_workbook_is_recognised_as_current_and_migrates_unchanged(migrated, tmp_path):
    first = migrated["v0_1_roi_client.xlsx"][0]
    again = tmp_path / "again.xlsx"
    report = migrate_file(first, again)
    assert report.layout.startswith("0.2 (current")
    a, b = load_workbook(first), load_workbook(again)
    for name, cell in _inputs(a).items():
        assert _equal(_inputs(b)[name], cell), name
    for table, (columns, rows) in _table_cells(a).items():
        assert [[c.value for c in row] for row in _table_cells(b)[table][1]] == [[c.value for c in row] for row in rows], table


# ---- in LibreOffice ---------------------------------------------------------


def _hand_npv(path: Path) -> tuple[float, int]:
    """The main template's measured-before/after NPV, by hand from the old
    workbook's cells: baseline cost per contact = sum(hours x hourly cost) /
    sum(contacts); per post month benefit = contacts x that - hours x hourly
    cost, cost = automation cost + the one-off costs dated in the month (in
    period 0 also those before go-live), net = benefit (1 - benefit risk) -
    cost (1 + cost risk), discounted at (1 + annual rate)^(1/12) - 1 per
    period from the go-live month."""
    book = load_workbook(path)
    inputs = {name: cell.value for name, cell in _inputs(book).items()}
    tables = {name: [dict(zip(columns, [c.value for c in row])) for row in rows] for name, (columns, rows) in _table_cells(book).items()}
    baseline = tables["Baseline"]
    per_contact = sum(r["agent_hours"] * r["hourly_cost"] for r in baseline) / sum(r["contacts"] for r in baseline)
    go_live = inputs["GoLive"]
    start = dt.datetime(go_live.year, go_live.month, 1)
    monthly = (1 + inputs["DiscountRate"]) ** (1 / 12) - 1
    costs = tables["OneOffCosts"]
    npv = 0.0
    for row in tables["PostAutomation"]:
        month = dt.datetime(row["month"].year, row["month"].month, 1)
        after = dt.datetime(month.year + month.month // 12, month.month % 12 + 1, 1)
        period = (month.year - start.year) * 12 + month.month - start.month
        one_offs = sum(c["amount"] for c in costs if month <= c["date"] < after) + (sum(c["amount"] for c in costs if c["date"] < start) if period == 0 else 0)
        benefit = row["contacts"] * per_contact - row["agent_hours"] * row["hourly_cost"]
        cost = row["automation_cost"] + one_offs
        npv += (benefit * (1 - inputs["BenefitRisk"]) - cost * (1 + inputs["CostRisk"])) / (1 + monthly) ** period
    return npv, len(tables["PostAutomation"])


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    """The 0.1 client workbook migrated to the values form, recalculated by LibreOffice."""
    out = tmp_path_factory.mktemp("lo")
    target = out / "client.xlsx"
    result = runner.invoke(app, ["migrate", str(DATA / "v0_1_roi_client.xlsx"), "-o", str(target), "--mode", "values"])
    assert result.exit_code == 0, result.output
    return libreoffice.read_values(libreoffice.recalculate(target, out / "recalculated"))


def test_migrated_workbook_recalculates_in_libreoffice_without_error_values(recalculated):
    errors = [(sheet, cell, v) for sheet, cells in recalculated.items() for cell, v in cells.items() if isinstance(v, ExcelError) or (isinstance(v, str) and v.startswith("#"))]
    assert errors == []
    roi, summary = recalculated["ROI"], recalculated["Summary"]
    headline = [roi[f"{col}{row}"] for col in "CDE" for row in range(6, 11)]
    headline += [summary[f"C{row}"] for row in range(6, 62) if summary.get(f"B{row}")]
    assert len(headline) == 15 + 56
    for value in headline:
        assert isinstance(value, str) or math.isfinite(value), value


def test_migrated_numbers_follow_the_old_workbooks_data(recalculated):
    npv, months = _hand_npv(DATA / "v0_1_roi_client.xlsx")
    roi = recalculated["ROI"]
    assert roi["B17"].startswith("Check: NPV")
    assert roi["C17"] == pytest.approx(npv, rel=1e-9)  # LibreOffice's own SUM over the migrated table
    assert roi["C8"] == pytest.approx(npv, rel=1e-9)  # the engine's CXTEI, cached by migrate
    assert recalculated["Inputs"]["B13"] == pytest.approx(1.09 ** (1 / 12) - 1, rel=1e-12)  # the edited rate
    summary = {v: recalculated["Summary"].get(f"C{row}") for row in range(6, 62) if (v := recalculated["Summary"].get(f"B{row}"))}
    # the measured model sees the migrated inputs and months (tests/data/README.md)
    assert summary["Gross margin"] == pytest.approx(0.58) and summary["Cost risk"] == pytest.approx(0.08)
    assert summary["Half-life, service savings (months)"] == 36 and summary["Ramp-up (months)"] == 2
    assert summary["Horizon months"] == 48 and summary["Tracked months"] == months == 13 and summary["Baseline months"] == 18


# ---- refusals ---------------------------------------------------------------


def _copy(tmp_path: Path, name: str, edit=None) -> Path:
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    if edit is not None:
        book = load_workbook(path)
        edit(book)
        book.save(path)
    return path


def _refused(tmp_path: Path, old: Path, *args: str) -> str:
    """Run migrate expecting exit 2 and nothing written (an existing NEW kept)."""
    target = tmp_path / "new.xlsx"
    target.write_bytes(b"an earlier result")
    before = old.read_bytes() if old.exists() else None
    result = runner.invoke(app, ["migrate", str(old), "-o", str(target), *args])
    assert result.exit_code == 2, result.output
    assert target.read_bytes() == b"an earlier result"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial file
    if before is not None:
        assert old.read_bytes() == before
    return " ".join(result.output.split())


def _cell(book, table: str, column: str, index: int):
    for ws in book.worksheets:
        if table in ws.tables:
            t = ws.tables[table]
            min_col, min_row, _, _ = range_boundaries(t.ref)
            j = [c.name for c in t.tableColumns].index(column)
            return ws.cell(min_row + 1 + index, min_col + j)
    raise KeyError(table)


def test_an_unknown_workbook_is_refused(tmp_path):
    book = Workbook()
    ws = book.active
    ws.title = "Sales"
    ws.append(["month", "revenue"])
    ws.append([dt.datetime(2025, 1, 1), 100])
    ws.add_table(Table(displayName="Sales", ref="A1:B2"))
    old = tmp_path / "sales.xlsx"
    book.save(old)
    output = _refused(tmp_path, old)
    assert "sales.xlsx" in output and "not a workbook of a cxroi-xl template" in output


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path):
    old = tmp_path / "old.xlsx"
    old.write_text("month,revenue\n2025-01,100\n")
    assert "not an .xlsx workbook" in _refused(tmp_path, old)


def test_a_half_template_is_refused(tmp_path):
    def drop_post(book):
        del book["Post-automation"]

    output = _refused(tmp_path, _copy(tmp_path, "v0_1_roi_client.xlsx", drop_post))
    assert "it has Baseline but not the rest" in output


def test_a_workbook_of_a_newer_release_is_refused(migrated, tmp_path):
    from openpyxl.packaging.custom import StringProperty

    old = tmp_path / "newer.xlsx"
    book = load_workbook(migrated["v0_1_attribution.xlsx"][0])
    book.custom_doc_props.props = [p for p in book.custom_doc_props.props if p.name != "cxroi-xl version"]
    book.custom_doc_props.append(StringProperty(name="cxroi-xl version", value="10.1.0"))
    book.save(old)
    output = _refused(tmp_path, old)
    assert "made by cxroi-xl 10.1.0, newer than" in output


def test_new_may_not_be_old(tmp_path):
    old = _copy(tmp_path, "v0_1_roi_client.xlsx")
    before = old.read_bytes()
    for target in (old, tmp_path / "link.xlsx"):
        if target.name == "link.xlsx":
            target.symlink_to(old)
        result = runner.invoke(app, ["migrate", str(old), "-o", str(target)])
        assert result.exit_code == 2, result.output
        assert "never writes over" in result.output
        assert old.read_bytes() == before


def test_new_must_be_an_xlsx(tmp_path):
    old = _copy(tmp_path, "v0_1_roi_client.xlsx")
    result = runner.invoke(app, ["migrate", str(old), "-o", str(tmp_path / "new.xlsm")])
    assert result.exit_code == 2 and ".xlsx" in result.output
    assert not (tmp_path / "new.xlsm").exists()


def test_the_value_of_an_extra_win_is_refused_with_what_replaces_it(tmp_path):
    old = _copy(tmp_path, "v0_1_value_per_win.xlsx")
    output = _refused(tmp_path, old)
    assert "Inputs!B20 ValuePerWin = 1500" in output and "gone" in output
    assert "GrossMargin" in output and "HalfLifeUplift" in output  # what values an extra customer now
    assert "--drop ValuePerWin" in output
    result = runner.invoke(app, ["migrate", str(old), "-o", str(tmp_path / "new.xlsx"), "--drop", "ValuePerWin"])
    assert result.exit_code == 0, result.output
    assert "dropped: ValuePerWin: 1500 not carried over" in " ".join(result.output.split())


def test_a_blank_value_of_an_extra_win_needs_no_drop(tmp_path):
    def clear(book):
        book["Inputs"]["B20"] = None

    report = migrate_file(_copy(tmp_path, "v0_1_value_per_win.xlsx", clear), tmp_path / "new.xlsx")
    assert report.dropped == [] and any("ValuePerWin" in note for note in report.notes)


def test_a_column_of_the_users_own_is_refused_until_dropped(tmp_path):
    def add_column(book):
        ws = book["Baseline"]
        table = ws.tables["Baseline"]
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        ws.cell(min_row, max_col + 1, "notes")
        ws.cell(min_row + 1, max_col + 1, "strike in March")
        table.tableColumns.append(TableColumn(id=max_col - min_col + 2, name="notes"))
        table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col + 1)}{max_row}"

    old = _copy(tmp_path, "v0_1_roi_client.xlsx", add_column)
    output = _refused(tmp_path, old)
    assert "Baseline[notes]" in output and "no column of that name" in output
    report = migrate_file(old, tmp_path / "new.xlsx", drop=["Baseline[notes]"])
    assert report.dropped == ["Baseline[notes]: column not carried over"]


def test_a_header_typed_in_another_case_is_the_same_column(tmp_path):
    # Excel's structured references ignore case: "Revenue" is the column revenue
    def capitalise(book):
        ws = book["Baseline"]
        table = ws.tables["Baseline"]
        j = [c.name for c in table.tableColumns].index("revenue")
        table.tableColumns[j].name = "Revenue"
        ws.cell(range_boundaries(table.ref)[1], range_boundaries(table.ref)[0] + j).value = "Revenue"

    old = _copy(tmp_path, "v0_1_roi_client.xlsx", capitalise)
    migrate_file(old, tmp_path / "new.xlsx")
    expected = [row[0].value for row in load_workbook(old)["Baseline"].iter_rows(min_row=5, max_row=22, min_col=10, max_col=10)]
    got = [_cell(load_workbook(tmp_path / "new.xlsx"), "Baseline", "revenue", i).value for i in range(18)]
    assert got == expected and len(set(expected)) == 18


def test_a_sheet_and_a_name_of_the_users_own_are_refused(tmp_path):
    def add(book):
        book.create_sheet("My notes")["A1"] = "call the bakery in May"
        from openpyxl.workbook.defined_name import DefinedName

        book.defined_names["Target"] = DefinedName("Target", attr_text="'Inputs'!$D$7")

    output = _refused(tmp_path, _copy(tmp_path, "v0_1_roi_client.xlsx", add))
    assert "sheet 'My notes'" in output and '--drop "sheet:My notes"' in output
    assert "defined name Target" in output and "--drop name:Target" in output


def test_typed_values_over_calculated_cells_are_refused(tmp_path):
    def type_over(book):
        _cell(book, "PostAutomation", "benefit", 2).value = 1234
        book["Inputs"]["B14"] = 4.2  # BaselineCostPerContact

    output = _refused(tmp_path, _copy(tmp_path, "v0_1_roi_client.xlsx", type_over))
    assert "PostAutomation[benefit]" in output and "a calculated column" in output
    assert "Inputs!B14 BaselineCostPerContact = 4.2" in output


def test_a_month_on_the_wrong_side_of_go_live_is_refused_without_a_drop(tmp_path):
    def misplace(book):
        _cell(book, "Baseline", "month", 17).value = dt.datetime(2025, 2, 1)  # go-live is 2025-01

    output = _refused(tmp_path, _copy(tmp_path, "v0_1_roi_client.xlsx", misplace))
    assert "Baseline row 22 (month 2025-02)" in output and "on or after the go-live month 2025-01" in output
    assert "--drop" not in output


def test_a_formula_that_refers_to_cells_is_refused_one_that_does_not_is_copied(tmp_path):
    def refer(book):
        _cell(book, "Baseline", "revenue", 0).value = "=Inputs!B7*1000"

    output = _refused(tmp_path, _copy(tmp_path, "v0_1_roi_client.xlsx", refer))
    assert "=Inputs!B7*1000" in output and "refers to cells" in output

    def constant(book):
        _cell(book, "Baseline", "revenue", 0).value = "=37000+510.46"

    report = migrate_file(_copy(tmp_path, "v0_1_roi_client.xlsx", constant), tmp_path / "new.xlsx")
    assert report.recalculated  # the builder wrote a blank there: the engine's values no longer hold
    assert _cell(load_workbook(tmp_path / "new.xlsx"), "Baseline", "revenue", 0).value == "=37000+510.46"


def test_text_in_a_number_column_is_copied_as_text(tmp_path):
    def text(book):
        _cell(book, "PostAutomation", "revenue", 3).value = "n/a"

    report = migrate_file(_copy(tmp_path, "v0_1_roi_client.xlsx", text), tmp_path / "new.xlsx", mode="values")
    assert report.recalculated
    cell = _cell(load_workbook(tmp_path / "new.xlsx"), "PostAutomation", "revenue", 3)
    assert cell.value == "n/a" and cell.data_type == "s"


def test_nothing_is_written_when_writing_fails(tmp_path, monkeypatch):
    old = _copy(tmp_path, "v0_1_attribution.xlsx")
    target = tmp_path / "new.xlsx"
    target.write_bytes(b"an earlier result")

    def broken_sync(fd):  # half a workbook is in the temporary file when the disk fills
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_sync)
    result = runner.invoke(app, ["migrate", str(old), "-o", str(target)])
    assert result.exit_code == 1 and "disk full" in result.output
    monkeypatch.undo()
    assert target.read_bytes() == b"an earlier result"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_refusals_are_raised_as_one_list_from_python(tmp_path):
    with pytest.raises(CannotMigrate) as caught:
        migrate_file(DATA / "v0_1_value_per_win.xlsx", tmp_path / "new.xlsx")
    assert [p.key for p in caught.value.problems] == ["ValuePerWin"]
    with pytest.raises(WorkbookError, match="no such file"):
        migrate_file(tmp_path / "missing.xlsx", tmp_path / "new.xlsx")


# ---- what migrate knows of the templates matches the builders ----------------


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_current_layout_is_what_the_builder_writes(name):
    """migrate's declared current layout (sheets, tables and their typed
    columns, named inputs and calculated names) against a fresh build: a
    template change must be taught to migrate."""
    from cxroi_xl.workbooks.build import BUILDERS

    spec = TEMPLATES[name]
    book = BUILDERS[name]()
    assert tuple(book.sheetnames) == spec.current.sheets
    assert set(book.defined_names.keys()) == set(spec.current.inputs) | set(spec.current.calculated)
    built = {t.displayName: t for ws in book.worksheets for t in ws.tables.values()}
    assert set(built) == {role.name for role in spec.tables} == set(spec.current.tables)
    for role in spec.tables:
        typed = tuple(c.name for c in built[role.name].tableColumns if c.calculatedColumnFormula is None)
        if not role.derived:
            assert typed == role.inputs, role.name
    inputs = _inputs(book)
    for input_name, formulas in spec.formula_defaults.items():
        assert inputs[input_name].value.replace(" ", "") in formulas, input_name
