"""Cached values of formula cells, dynamic arrays and honest headline errors.

Oracles: the headless interpreter (an independent evaluation of the same
formulas, cell by cell), LibreOffice's full recalculation, and the XML
XlsxWriter writes for a dynamic-array formula (XlsxWriter's own tests compare
it with files Excel saved).
"""
from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from cxroi_xl.excel import ExcelError
from cxroi_xl.workbooks.sample_data import synthetic_client
from cxroi_xl.engine.tracker import TrackerInput
from cxroi_xl.workbooks import attribution_template, build, roi_template, value_template
from cxroi_xl.workbooks.cache import FormulaValues, MissingValueError, xml_value
from cxroi_xl.calc.evaluator import Evaluator

TEMPLATES = list(build.BUILDERS)
_CELL = re.compile(r"<c [^>]*?(?:/>|>.*?</c>)", re.S)


def client(seed: int, **changes) -> TrackerInput:
    sample = synthetic_client(seed=seed, profile="saas" if seed % 2 else "ecommerce", client_id=f"c{seed}", client_name=f"Client {seed}")
    data = TrackerInput(sample.client_id, sample.client_name, sample.go_live, sample.kpis, sample.costs, sample.surveys, sample.currency)
    return dataclasses.replace(data, **changes)


def formula_cells_without_value(xlsx: bytes) -> list[str]:
    """Formula cells saved without a ``<v>`` element (empty text counts as a value)."""
    missing = []
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        for name in archive.namelist():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            for cell in _CELL.findall(archive.read(name).decode("utf-8")):
                if "<f" in cell and not re.search(r"<v>[^<]*</v>", cell):
                    missing.append(f"{name}:{cell[:60]}")
    return missing


EXAMPLES = {
    "cx_automation_roi": roi_template.example_input,
    "customer_value": value_template.example_input_with_orders,
    "attribution": attribution_template.example_input_with_journeys,
}


def generated(tmp_path: Path, template: str, mode: str, data: TrackerInput | None = None) -> Path:
    data = data if data is not None else EXAMPLES[template]()
    return build.build_client_workbook(data, template, mode, tmp_path / f"{template}-{mode}.xlsx")


# ---- every formula has its value --------------------------------------------


@pytest.mark.parametrize("name", TEMPLATES)
def test_shipped_templates_carry_every_formula_value(name):
    assert formula_cells_without_value((build.TEMPLATE_DIR / f"{name}.xlsx").read_bytes()) == []
    assert formula_cells_without_value(build.template_bytes(name, "values")) == []


@pytest.mark.parametrize("mode", ["live", "values"])
def test_generated_main_workbooks_carry_every_formula_value(tmp_path, mode):
    path = generated(tmp_path, "cx_automation_roi", mode, client(7))
    assert formula_cells_without_value(path.read_bytes()) == []


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t != "cx_automation_roi"])
def test_generated_other_workbooks_carry_every_formula_value(tmp_path, template):
    for mode in ("live", "values"):
        path = generated(tmp_path, template, mode)
        assert formula_cells_without_value(path.read_bytes()) == []


def test_a_formula_without_value_fails_the_save():
    from openpyxl import Workbook

    from cxroi_xl.workbooks.common import workbook_bytes

    book = Workbook()
    book.active["A1"], book.active["A2"] = 2, "=A1*3"
    with pytest.raises(MissingValueError, match="A2"):
        workbook_bytes(book, values=FormulaValues())
    values = FormulaValues()
    values.set("Sheet", "A2", 6)
    assert "<v>6</v>" in zipfile.ZipFile(io.BytesIO(workbook_bytes(book, values=values))).read("xl/worksheets/sheet1.xml").decode()


def test_xml_value_types():
    # ECMA-376 part 1, 18.18.11 ST_CellType: b, e, n, str (formula text)
    assert xml_value(1.5) == ("", "1.5") and xml_value(3.0) == ("", "3") and xml_value(7) == ("", "7")
    assert xml_value("") == (' t="str"', "") and xml_value("a&b") == (' t="str"', "a&amp;b")
    assert xml_value(False) == (' t="b"', "0")
    assert xml_value(ExcelError("#DIV/0!", "x")) == (' t="e"', "#DIV/0!")
    assert xml_value(ExcelError("#SPILL!", "x")) == (' t="e"', "#N/A")  # a file cannot store #SPILL!
    assert xml_value(float("nan")) == (' t="e"', "#NUM!")


# ---- engine values against the interpreter -------------------------------------


def _serial(value):
    from openpyxl.utils.datetime import to_excel

    return float(to_excel(value)) if hasattr(value, "year") else value


def _same(a, b, rel=1e-9) -> bool:
    """Equal as a spreadsheet shows them: numbers to ``rel``, dates as serials, blank as empty text."""
    a, b = _serial(a), _serial(b)
    if isinstance(a, ExcelError) or isinstance(b, ExcelError):
        return str(a) == str(b)
    if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return b == pytest.approx(a, rel=rel, abs=1e-9)
    return (a if a is not None else "") == (b if b is not None else "")


FEW_ORDERS = pd.DataFrame({"customer_id": ["a", "a", "b"], "date": ["2024-01-01", "2024-03-01", "2024-06-30"], "amount": [10.0, 30.0, 5.0]})


def failing_clients() -> dict[str, TrackerInput]:
    """A client of each of the other templates whose data the add-in
    refuses: two customers (no BG/NBD or Gamma-Gamma fit, no acquisition
    spend entered), and journeys of which none converted."""
    from cxroi_xl.workbooks.sample_data import synthetic_journeys

    return {
        "customer_value": dataclasses.replace(value_template.example_input(), transactions=FEW_ORDERS),
        "attribution": dataclasses.replace(attribution_template.example_input(), journeys=synthetic_journeys(seed=6).assign(conversions=0.0)),
    }


@pytest.mark.parametrize("seed", [7, 12])
def test_engine_cached_values_agree_with_the_interpreter(tmp_path, seed):
    """Every formula of a generated live workbook: the value the engine put in
    the file equals what the headless interpreter computes from the
    formulas (add-in cells included: the interpreter calls the add-in)."""
    path = generated(tmp_path, "cx_automation_roi", "live", client(seed))
    cached = load_workbook(path, data_only=True)
    formulas = load_workbook(path)
    evaluator = Evaluator(formulas)
    checked = 0
    for sheet in formulas.worksheets:
        cells = [c for row in sheet.iter_rows() for c in row if c.data_type == "f" or type(c.value).__name__ == "ArrayFormula"]
        rng = np.random.default_rng(seed)
        sample = cells if len(cells) <= 60 else [cells[i] for i in sorted(rng.choice(len(cells), 60, replace=False))]
        for cell in sample:
            expected = evaluator.value(sheet.title, cell.coordinate)
            got = cached[sheet.title][cell.coordinate].value
            if cached[sheet.title][cell.coordinate].data_type == "e":
                got = ExcelError(got)
            assert _same(expected, got), (sheet.title, cell.coordinate, cell.value, expected, got)
            checked += 1
    assert checked > 200


def test_generate_does_not_interpret_formulas():
    wb = roi_template.build(client(7))
    build.finish(wb, "values")
    assert wb.interpreted_formulas == 0


# ---- dynamic arrays -----------------------------------------------------------


def _parts(xlsx: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def _metadata_structure(xml: str) -> list:
    from xml.etree import ElementTree

    root = ElementTree.fromstring(xml.encode("utf-8"))
    return [(element.tag, sorted(element.attrib.items())) for element in root.iter()]


def test_dynamic_array_xml_matches_xlsxwriter():
    import xlsxwriter  # the test extra installs it: missing fails, never skips
    from openpyxl import Workbook

    from cxroi_xl.workbooks.common import array_formula, workbook_bytes
    from cxroi_xl.workbooks.values import make_dynamic

    formula, ref, block = "=CXNPSCI(A1:A4)", "C1:D1", [[10.5, 42.25]]
    buffer = io.BytesIO()
    reference = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = reference.add_worksheet("Sheet")
    for i, v in enumerate([9, 10, 3, 8]):
        sheet.write(i, 0, v)
    sheet.write_dynamic_array_formula(ref, formula, None, block[0][0])
    sheet.write(0, 3, block[0][1])
    reference.close()
    theirs = _parts(buffer.getvalue())

    book = Workbook()
    ws = book.active
    ws.title = "Sheet"
    for i, v in enumerate([9, 10, 3, 8]):
        ws.cell(i + 1, 1, v)
    array_formula(ws, ref, formula)
    values = FormulaValues()
    values.set_block("Sheet", 1, 3, block)
    make_dynamic(book, values)
    ours = _parts(workbook_bytes(book, values=values))

    def anchor(xml):
        return re.search(r'<c r="C1"[^>]*>.*?</c>', xml).group(0)

    def attrs(cell):
        return dict(re.findall(r'(\w+)="([^"]*)"', cell.split(">")[0]))

    their_anchor, our_anchor = anchor(theirs["xl/worksheets/sheet1.xml"]), anchor(ours["xl/worksheets/sheet1.xml"])
    assert attrs(our_anchor)["cm"] == attrs(their_anchor)["cm"] == "1"
    assert re.search(r'<f t="array" ref="C1:D1">CXNPSCI\(A1:A4\)</f><v>10.5</v>', their_anchor)
    assert re.search(r'<f t="array" ref="C1:D1">CXNPSCI\(A1:A4\)</f><v>10.5</v>', our_anchor)
    for xml in (theirs["xl/worksheets/sheet1.xml"], ours["xl/worksheets/sheet1.xml"]):  # the rest of the spill: a plain value
        assert re.search(r'<c r="D1"[^>]*><v>42.25</v></c>', xml)
    assert _metadata_structure(ours["xl/metadata.xml"]) == _metadata_structure(theirs["xl/metadata.xml"])

    def override(types):
        return re.search(r'<Override[^>]*PartName="/xl/metadata.xml"[^>]*/>', types).group(0)

    assert re.search(r'ContentType="([^"]+)"', override(ours["[Content_Types].xml"])).group(1) == re.search(r'ContentType="([^"]+)"', override(theirs["[Content_Types].xml"])).group(1)

    def relationship(rels):
        found = [r for r in re.findall(r"<Relationship [^>]*/>", rels) if "metadata.xml" in r]
        assert len(found) == 1
        return re.search(r'Type="([^"]+)"', found[0]).group(1), re.search(r'Target="([^"]+)"', found[0]).group(1)

    assert relationship(ours["xl/_rels/workbook.xml.rels"]) == relationship(theirs["xl/_rels/workbook.xml.rels"])


def test_live_main_workbook_spills_are_dynamic_and_values_form_has_none():
    live = _parts(build.template_bytes("cx_automation_roi", "live"))
    assert "xl/metadata.xml" in live
    cx = next(xml for name, xml in live.items() if name.startswith("xl/worksheets/") and "CXNPSCI" in xml)
    assert re.search(r'<c r="K5"[^>]*cm="1"[^>]*><f t="array" ref="K5:L5">', cx)
    values = _parts(build.template_bytes("cx_automation_roi", "values"))
    assert "xl/metadata.xml" not in values and not any('cm="1"' in xml for xml in values.values())


def test_native_formulas_never_use_the_spill_operator():
    for name in TEMPLATES:
        for xml in _parts(build.template_bytes(name, "live")).values():
            for formula in re.findall(r"<f[^>]*>([^<]*)</f>", xml):
                assert "ANCHORARRAY" not in formula and not re.search(r"[A-Z]+\d+#", formula), formula


# ---- honest headline errors ----------------------------------------------------------


def _headline(path: Path) -> dict[str, object]:
    ws = load_workbook(path, data_only=True)["ROI"]
    return {c: (ExcelError(ws[c].value) if ws[c].data_type == "e" else ws[c].value) for c in ("C6", "C7", "C8", "C9", "C10", "C13", "C14", "C15", "C16")}


def test_text_in_a_post_automation_number_shows_an_error_not_not_reached(tmp_path):
    from cxroi_xl.calc.workbook import to_values

    live = generated(tmp_path, "cx_automation_roi", "live", client(7))
    book = load_workbook(live)
    book["Post-automation"]["B5"] = "n/a"  # contacts of the go-live month, typed as text
    to_values(book)
    book.save(tmp_path / "edited.xlsx")
    headline = _headline(tmp_path / "edited.xlsx")
    assert all(isinstance(v, ExcelError) for v in headline.values()), headline
    assert "not reached" not in headline.values()
    # in the values form the reason is in the note
    assert "Result #" in book["ROI"]["C6"].comment.text and "Result #" in book["ROI"]["C15"].comment.text


def test_a_client_that_never_pays_back_says_not_reached_in_the_payback_cells_only(tmp_path):
    data = client(7)
    kpis = data.kpis.copy()
    kpis["automation_cost"] = 1e7  # costs dwarf any saving
    path = generated(tmp_path, "cx_automation_roi", "values", dataclasses.replace(data, kpis=kpis))
    headline = _headline(path)
    assert headline["C10"] == headline["C15"] == "not reached"
    assert all(isinstance(headline[c], float) for c in ("C6", "C7", "C8", "C9", "C13", "C14"))
    book = load_workbook(path, data_only=True)
    said = [(ws.title, c.coordinate) for ws in book for row in ws.iter_rows() for c in row if c.value == "not reached"]
    # D, E: the measured headline and the horizon scenario; the Summary's payback (CXMEASURED)
    assert sorted(said) == [("ROI", "C10"), ("ROI", "C15"), ("ROI", "D10"), ("ROI", "E10"), ("Summary", "C10")]
    assert "never" in load_workbook(path)["ROI"]["C15"].comment.text


# ---- LibreOffice ------------------------------------------------------------------------


def test_native_cached_values_equal_libreoffice_recalculation(tmp_path):
    """Values form: every native formula's cached value equals LibreOffice's
    full recalculation of the same file (rel 1e-9; an error value by its
    code), for the three templates, two generated clients and a client of
    the customer-value and attribution templates whose data the add-in
    refuses (its errors reach native formulas: totals, averages, payback)."""
    from cxroi_xl.workbooks import libreoffice

    books = []
    for name in TEMPLATES:
        path = tmp_path / f"{name}.xlsx"
        path.write_bytes(build.template_bytes(name, "values"))
        books.append(path)
    for seed in (7, 12):
        books.append(generated(tmp_path, "cx_automation_roi", "values", client(seed)).rename(tmp_path / f"client{seed}.xlsx"))
    for template, data in failing_clients().items():
        books.append(generated(tmp_path, template, "values", data).rename(tmp_path / f"failing-{template}.xlsx"))
    native_errors = {}
    recalculated = libreoffice.recalculate_all(books, tmp_path / "lo")
    for source, recalc in zip(books, recalculated):
        ours = load_workbook(source, data_only=True)
        formulas = load_workbook(source)
        theirs = libreoffice.read_values(recalc)
        compared = 0
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type != "f":
                        continue
                    mine = ours[ws.title][cell.coordinate]
                    mine = ExcelError(mine.value) if mine.data_type == "e" else mine.value
                    lo = theirs.get(ws.title, {}).get(cell.coordinate)
                    assert _same(lo, mine), (source.name, ws.title, cell.coordinate, cell.value, mine, lo)
                    compared += 1
                    native_errors[source.name] = native_errors.get(source.name, 0) + isinstance(mine, ExcelError)
        assert compared > (10 if source.name.startswith("failing-") else 20), source.name  # no channel rows: 12 native formulas
    # the failing clients' errors did reach native formulas (the three prediction totals, the
    # payback asking for the acquisition spend in words; the seven models' totals and the value
    # per conversion), and LibreOffice agreed
    assert native_errors["failing-customer_value.xlsx"] >= 3 and native_errors["failing-attribution.xlsx"] >= 8, native_errors


def test_libreoffice_reads_the_dynamic_array_live_workbook(tmp_path):
    """LibreOffice 7 opens the live form with its dynamic arrays: it keeps
    each spill as an array formula over the same range, and the native
    formulas recalculate to the cached values (the add-in cells answer
    #NAME? there, as LibreOffice has no cxroi-xl add-in)."""
    from cxroi_xl.workbooks import libreoffice

    live = tmp_path / "live.xlsx"
    live.write_bytes(build.template_bytes("cx_automation_roi", "live"))
    recalculated = libreoffice.recalculate(live, tmp_path / "lo")
    cx = next(xml for name, xml in _parts(recalculated.read_bytes()).items() if name.startswith("xl/worksheets/") and "CXNPSCI" in xml.upper())
    assert re.search(r'<c r="K5"[^>]*><f[^>]*t="array"[^>]*ref="K5:L5"', cx) or re.search(r'<c r="K5"[^>]*><f[^>]*ref="K5:L5"[^>]*t="array"', cx)
    ours = load_workbook(live, data_only=True)
    theirs = libreoffice.read_values(recalculated)
    for sheet, cells in (("Inputs", ["B12", "B13", "B14"]), ("Post-automation", ["L5", "O5", "Q5", "R6", "S7", "U8"])):
        for coordinate in cells:
            assert _same(theirs[sheet][coordinate], ours[sheet][coordinate].value), (sheet, coordinate)


# ---- the attribution workbook's values from the engine ------------------------


def _journey_cases():
    from cxroi_xl.workbooks.sample_data import synthetic_journeys

    odd = synthetic_journeys(seed=5).copy()
    odd.loc[0, "path"] = "e*mail > search"  # MATCH reads * as a wildcard
    odd["value"] = float("nan")  # no values: blanks in the value column
    none_converted = synthetic_journeys(seed=6).copy()
    none_converted["conversions"] = 0.0  # every model refuses: each table is the engine's #DIV/0!
    return {"example": None, "seed 3": synthetic_journeys(seed=3), "wildcard, no values": odd, "nothing converted": none_converted}


@pytest.mark.parametrize("case", list(_journey_cases()))
def test_attribution_values_come_from_the_engine_and_agree_with_the_interpreter(case):
    """Every formula of the attribution workbook: the value the builder
    registers from the engine equals the headless interpreter's evaluation
    of the formula (rel 1e-12), and finishing the workbook interprets none."""
    from cxroi_xl.calc.workbook import complete_values

    journeys = _journey_cases()[case]
    data = attribution_template.example_input_with_journeys() if journeys is None else dataclasses.replace(attribution_template.example_input(), journeys=journeys)
    book = attribution_template.build(data)
    ours = book.formula_values
    book.formula_values = FormulaValues()
    assert complete_values(book, book.formula_values) > 0
    theirs = book.formula_values
    assert {s: set(c) for s, c in ours.cells.items()} == {s: set(c) for s, c in theirs.cells.items()}
    for sheet, cells in theirs.cells.items():
        for key, expected in cells.items():
            got = ours.cells[sheet][key]
            assert type(got) is type(expected) or (_same(expected, got, rel=1e-12) and not isinstance(expected, str)), (sheet, key, got, expected)
            assert _same(expected, got, rel=1e-12), (sheet, key, got, expected)
    finished = build.finish(attribution_template.build(data), "values")
    assert finished.interpreted_formulas == 0


# ---- the customer-value workbook's values from the engine ----------------------


def _order_cases():
    from cxroi_xl.workbooks.sample_data import synthetic_transactions

    return {"example": None, "seed 1": synthetic_transactions(seed=1), "seed 2": synthetic_transactions(seed=2), "two customers": FEW_ORDERS}


def _value_client(case: str):
    orders = _order_cases()[case]
    return value_template.example_input_with_orders() if orders is None else dataclasses.replace(value_template.example_input(), transactions=orders)


@pytest.mark.parametrize("case", list(_order_cases()))
def test_customer_value_values_come_from_the_engine_and_agree_with_the_interpreter(case):
    """Every formula of the customer-value workbook (about 900: CLTV, churn,
    cohorts, survival, BG/NBD and Gamma-Gamma per customer): the value the
    builder registers from the engine equals the headless interpreter's
    evaluation (rel 1e-12), and finishing the workbook interprets none."""
    from cxroi_xl.calc.workbook import complete_values

    book = value_template.build(_value_client(case))
    ours = book.formula_values
    theirs = FormulaValues()
    assert complete_values(book, theirs) > (100 if case == "two customers" else 800)
    compared = 0
    for sheet, cells in theirs.cells.items():
        for (row, col), expected in cells.items():
            assert ours.has(sheet, row, col), (sheet, row, col, expected)
            got = ours.get(sheet, row, col)
            assert isinstance(got, str) == isinstance(expected, str), (sheet, row, col, got, expected)
            assert _same(expected, got, rel=1e-12), (sheet, row, col, got, expected)
            compared += 1
    assert compared > (150 if case == "two customers" else 1500)
    finished = build.finish(value_template.build(_value_client(case)), "values")
    assert finished.interpreted_formulas == 0


def test_customer_value_model_that_cannot_fit_shows_its_error_once_per_column():
    """Two customers are too few for the BG/NBD fit: each per-customer
    column shows the engine's error (the add-in called directly) in its
    first cell, its array formula shrunk to that cell as a dynamic array
    shows a single value and as ``cxroi-xl calc`` resizes it; the cells
    below are blank, not copies of the error or "n/a"."""
    from cxroi_xl.excel import call

    book = value_template.build(failing_clients()["customer_value"])
    ws = book["Predictive CLV"]
    per_customer = ("CXBGNBD(", "CXPALIVE(", "CXCLV(")
    anchors = [c for c in ws._cells.values() if type(c.value).__name__ == "ArrayFormula" and any(f in c.value.text for f in per_customer)]
    assert len(anchors) == 3
    summary = value_template.customer_summary(value_template._orders(FEW_ORDERS))
    engine = call("CXPALIVE", *([[v] for v in summary[c]] for c in ("frequency", "recency", "T")))
    assert engine == "#NUM!"
    for cell in anchors:
        assert cell.value.ref == f"{cell.coordinate}:{cell.coordinate}"
        value = book.formula_values.get(ws.title, cell.row, cell.column)
        assert value == engine and value.reason == engine.reason, cell.coordinate
        below = ws.cell(cell.row + 1, cell.column)
        assert below.value is None and book.formula_values.get(ws.title, below.row, below.column) is None


def test_single_cell_add_in_formulas_are_one_cell_dynamic_arrays_as_xlsxwriter_writes_them():
    """Excel 365 shows a legacy formula whose function may return an array
    as ``=@CXROI(...)`` (implicit intersection). XlsxWriter's advice for such
    a formula is ``write_dynamic_array_formula`` over the one cell; our live
    form writes the same cell XML: ``cm="1"`` and ``<f t="array" ref="B1">``."""
    import xlsxwriter
    from openpyxl import Workbook

    from cxroi_xl.workbooks.common import workbook_bytes
    from cxroi_xl.workbooks.values import make_dynamic

    formula, value = "=CXROI(A1:A3,A4:A6)", 0.25
    buffer = io.BytesIO()
    reference = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = reference.add_worksheet("Sheet")
    for i, v in enumerate([10, 20, 30, 40, 5, 5]):
        sheet.write(i, 0, v)
    sheet.write_dynamic_array_formula("B1:B1", formula, None, value)
    reference.close()
    theirs = _parts(buffer.getvalue())

    book = Workbook()
    ws = book.active
    ws.title = "Sheet"
    for i, v in enumerate([10, 20, 30, 40, 5, 5]):
        ws.cell(i + 1, 1, v)
    ws["B1"] = formula
    values = FormulaValues()
    values.set("Sheet", "B1", value)
    make_dynamic(book, values)
    ours = _parts(workbook_bytes(book, values=values))

    def anchor(xml):
        cell = re.search(r'<c r="B1"[^>]*>.*?</c>', xml).group(0)
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', cell.split(">")[0]))
        return attrs.get("cm"), re.search(r"<f([^>]*)>([^<]*)</f>", cell).groups(), re.search(r"<v>([^<]*)</v>", cell).group(1)

    their_cm, (their_f_attrs, their_text), their_v = anchor(theirs["xl/worksheets/sheet1.xml"])
    our_cm, (our_f_attrs, our_text), our_v = anchor(ours["xl/worksheets/sheet1.xml"])
    assert our_cm == their_cm == "1"
    assert dict(re.findall(r'(\w+)="([^"]*)"', our_f_attrs)) == dict(re.findall(r'(\w+)="([^"]*)"', their_f_attrs)) == {"t": "array", "ref": "B1"}
    assert our_text == their_text == "CXROI(A1:A3,A4:A6)" and float(our_v) == float(their_v)
    assert _metadata_structure(ours["xl/metadata.xml"]) == _metadata_structure(theirs["xl/metadata.xml"])


def test_every_add_in_formula_of_the_live_templates_is_a_dynamic_array():
    """No add-in call is left as a legacy formula (which Excel 365 would show with @)."""
    for name in TEMPLATES:
        singles = 0
        for part, xml in _parts(build.template_bytes(name, "live")).items():
            if not part.startswith("xl/worksheets/sheet"):
                continue
            for cell in re.findall(r"<c [^>]*>(?:(?!</c>).)*<f[^>]*>[^<]*CX[A-Z]+\((?:(?!</c>).)*</c>", xml, re.S):
                formula = re.search(r"<f[^>]*>([^<]*)</f>", cell).group(1)
                if not re.search(r"\bCX[A-Z]+\(", formula):
                    continue
                assert 'cm="1"' in cell.split(">")[0] and 't="array"' in cell, f"{name} {part}: {cell[:120]}"
                singles += 'ref="' in cell and not re.search(r'ref="[A-Z]+\d+:', cell)
        assert singles >= {"cx_automation_roi": 20, "customer_value": 1, "attribution": 0}[name], (name, singles)  # attribution: spills only
