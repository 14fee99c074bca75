"""The attribution workbook: structure, determinism, formulas the add-in and
LibreOffice accept, and its numbers.

Oracles:
* A two-path example worked out by hand for all seven models (below),
  evaluated headlessly; exact to 1e-12.
* The example journeys recalculated by LibreOffice: each model's table
  equals the engine (cxroi_xl.engine.attribution.attribute, checked against
  ChannelAttribution and brute-force Shapley values in test_attribution.py)
  to 1e-9 relative, and the native summary table equals the tables.
* Errors (no IFERROR on any sheet): the error value and reason the engine
  gives when called directly (cxroi_xl.excel.call, the add-in's own code)
  on the same cell values; a division by zero where the Journeys totals
  divide by 0 (hand-derived).
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cxroi_xl.engine import attribution
from cxroi_xl.errors import InvalidInputError
from cxroi_xl.excel import ExcelError, call
from cxroi_xl.engine.tracker import TrackerInput
from cxroi_xl.workbooks import attribution_template, build, common, libreoffice
from cxroi_xl.calc.evaluator import Evaluator
from cxroi_xl.calc.workbook import to_values
from tests.workbooks.package_compare import assert_same_build
from tests.workbooks.test_value_template import at, check_array_sizes, check_formulas, error_cells, find, iferror_parts

RELATIVE = 1e-9

# "search > email" converted twice, "email" once; no values, no nulls.
# first: search 2, email 1. last: email 3. linear and position (two touches
# share 1/2 each): search 1, email 1 + 1 = 2. time_decay, half-life 1: the
# two touches weigh 2^-1 and 1, i.e. 1/3 and 2/3: search 2/3, email 4/3 + 1.
# shapley: each journey shared equally by its distinct channels: search 1,
# email 2. markov: every journey converts, P(conversion) = 1; without search
# the 2 of 3 starts that go to search are lost (removal effect 2/3), without
# email nothing converts (1); credit 3 x RE / (2/3 + 1): search 1.2, email 1.8.
HAND_CASE = pd.DataFrame({"path": ["search > email", "email"], "conversions": [2.0, 1.0], "value": [np.nan, np.nan], "nulls": [np.nan, np.nan]})
HAND_CREDIT = {  # model -> (email, search)
    "first": (1, 2),
    "last": (3, 0),
    "linear": (2, 1),
    "position": (2, 1),
    "time_decay": (7 / 3, 2 / 3),
    "markov": (1.8, 1.2),
    "shapley": (2, 1),
}


@pytest.fixture(scope="module")
def example():
    return attribution_template.example_input_with_journeys()


@pytest.fixture(scope="module")
def live():
    return attribution_template.build()


def _client(example, journeys: pd.DataFrame, **changes) -> TrackerInput:
    return dataclasses.replace(example, journeys=journeys, **changes)


def _shown(book: openpyxl.Workbook, sheet: str) -> dict:
    """What every cell of a sheet shows, evaluated headlessly."""
    evaluator = Evaluator(book)
    cells = {}
    for row in book[sheet].iter_rows():
        for cell in row:
            value = evaluator.value(sheet, cell.coordinate)
            if value is not None:
                cells[cell.coordinate] = value
    return cells


def _summary(cells: dict, channels: int) -> dict:
    """Summary table: {model label: {channel: conversions}}; the header row
    holds "Channel" first, above the models' own tables."""
    top, left = find(cells, "Channel", which=0)
    table = {}
    for k in range(len(attribution.MODELS)):
        label = at(cells, top, left + 1 + k)
        table[label] = {at(cells, top + 1 + i, left): at(cells, top + 1 + i, left + 1 + k) for i in range(channels)}
    return table


def _model_table(cells: dict, model: str, channels: int) -> pd.DataFrame:
    """One model's CXATTRIBUTION block, found below its label."""
    row, col = find(cells, attribution_template.MODEL_LABELS[model], which=1)
    rows = [[at(cells, row + 2 + i, col + j) for j in range(4)] for i in range(channels)]
    return pd.DataFrame(rows, columns=["channel", "conversions", "value", "share"])


def test_registered_as_a_template():
    assert build.BUILDERS[attribution_template.TEMPLATE_NAME] is attribution_template.build


def test_build_is_byte_identical_run_to_run(live):
    assert common.workbook_bytes(live) == common.workbook_bytes(attribution_template.build())


def test_shipped_template_is_a_fresh_build():
    shipped = (build.TEMPLATE_DIR / "attribution.xlsx").read_bytes()
    assert_same_build(shipped, build.template_bytes("attribution"))


def test_sheets_tables_and_layout(live):
    assert live.sheetnames == ["Start here", "Journeys", "Attribution"]
    assert {name for ws in live for name in ws.tables} == {"Journeys"}
    assert "HalfLife" in live.defined_names
    chart = live["Attribution"]._charts[0]
    assert chart.type == "bar" and chart.grouping == "clustered" and len(chart.series) == len(attribution.MODELS)
    for ws in live:
        # fitted to pages, or fixed pages at one scale (a print area); orientation and scale: test_layout.py
        assert (ws.sheet_properties.pageSetUpPr.fitToPage or ws.print_area) and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4
        if ws.title != "Start here":
            assert ws.freeze_panes


def test_formulas_name_registered_functions_with_valid_arguments(live):
    assert check_formulas(live) == {"CXATTRIBUTION"}
    assert check_array_sizes(live) == len(attribution.MODELS)


def test_without_journeys_the_build_says_so(example):
    with pytest.raises(InvalidInputError, match="no journeys"):
        attribution_template.build(_client(example, None))


def test_hand_case_for_every_model(example):
    book = attribution_template.build(_client(example, HAND_CASE))
    summary = _summary(_shown(book, "Attribution"), channels=2)
    for model, (email, search) in HAND_CREDIT.items():
        credit = summary[attribution_template.MODEL_LABELS[model]]
        assert credit == pytest.approx({"email": email, "search": search}, rel=1e-12, abs=1e-12), model


def test_paths_are_written_as_text(example):
    journeys = pd.DataFrame({"path": ['=HYPERLINK("http://x") > email', "@cmd"], "conversions": [2.0, 1.0], "value": [10.0, 5.0], "nulls": [1.0, 0.0]})
    book = attribution_template.build(_client(example, journeys))
    to_values(book)
    book = openpyxl.load_workbook(io.BytesIO(common.workbook_bytes(book)))
    paths = {c.value: c.data_type for row in book["Journeys"].iter_rows(min_row=5, max_row=6, max_col=1) for c in row}
    assert paths == {'=HYPERLINK("http://x") > email': "s", "@cmd": "s"}
    injected = {'=HYPERLINK("http://x")', "@cmd"}  # channel names, shown by each model's table
    shown = [c.data_type for row in book["Attribution"].iter_rows() for c in row if c.value in injected]
    assert shown == ["s"] * 2 * len(attribution.MODELS)


def _engine_answer(journeys: pd.DataFrame, model: str):
    """CXATTRIBUTION called directly on the Journeys sheet's cell values."""
    columns = ([[None if pd.isna(v) else v] for v in journeys[c]] for c in ("path", "conversions", "value", "nulls"))
    paths, conversions, values, nulls = columns
    return call("CXATTRIBUTION", paths, conversions, model, values, nulls, 1.0)


NOTHING_CONVERTED = pd.DataFrame({"path": ["search > email", "email", "chatbot > email"], "conversions": [0.0, 0.0, 0.0], "value": [0.0, 0.0, 0.0], "nulls": [4.0, 2.0, 1.0]})


def test_a_client_without_conversions_shows_the_engines_error(example):
    """No conversions: every model's table is the engine's error, and the
    summary's totals show it (no channel rows, no SUM over the total's own
    cell, which would be a circular reference); the Journeys totals: 7
    journeys, 0 converted, a conversion rate of 0 / 7 = 0 and a value per
    conversion of 0 / 0, #DIV/0!."""
    book = attribution_template.build(_client(example, NOTHING_CONVERTED))
    cells = _shown(book, "Attribution")
    for model in attribution.MODELS:
        engine = _engine_answer(NOTHING_CONVERTED, model)
        assert isinstance(engine, ExcelError) and engine == "#DIV/0!", model
        row, col = find(cells, attribution_template.MODEL_LABELS[model], which=1)
        shown = at(cells, row + 1, col)
        assert shown == engine and shown.reason == engine.reason, model
    total_row, total_col = find(cells, "Total")
    assert [at(cells, total_row, total_col + 1 + k) for k in range(len(attribution.MODELS))] == ["#DIV/0!"] * len(attribution.MODELS)
    ws = book["Attribution"]
    for k in range(len(attribution.MODELS)):
        formula = ws.cell(total_row, total_col + 1 + k).value
        assert f"{ws.cell(total_row, total_col + 1 + k).column_letter}{total_row}" not in formula, formula
    journeys = _shown(book, "Journeys")
    assert [journeys[f"H{r}"] for r in (5, 6, 7, 8)] == [7, 0, 0, 0]
    assert journeys["H9"] == "#DIV/0!"
    assert check_array_sizes(book) == len(attribution.MODELS)
    assert not any(v == "n/a" for sheet in book.sheetnames for v in _shown(book, sheet).values())


def test_no_journeys_at_all_divides_by_zero(example):
    # one path that nobody took: 0 journeys, so the conversion rate is 0 / 0
    book = attribution_template.build(_client(example, pd.DataFrame({"path": ["search"], "conversions": [0.0], "value": [0.0], "nulls": [0.0]})))
    journeys = _shown(book, "Journeys")
    assert journeys["H5"] == 0 and journeys["H7"] == "#DIV/0!" and journeys["H9"] == "#DIV/0!"
    assert book.formula_values.get("Journeys", 7, 8) == "#DIV/0!"


@pytest.mark.parametrize("mode", ["live", "values"])
def test_the_error_is_in_the_file_with_its_reason(tmp_path, example, mode):
    """The generated file itself: each model's cached value is the engine's
    error value; in the values form the cell's note gives its reason."""
    path = build.build_client_workbook(_client(example, NOTHING_CONVERTED), attribution_template.TEMPLATE_NAME, mode, tmp_path / f"none-{mode}.xlsx")
    assert iferror_parts(path.read_bytes()) == []
    cached = openpyxl.load_workbook(path, data_only=True)["Attribution"]
    formulas = openpyxl.load_workbook(path)["Attribution"]
    anchors = [c for row in formulas.iter_rows() for c in row if c.comment is not None or (c.data_type == "f" and "CXATTRIBUTION" in str(getattr(c.value, "text", c.value)))]
    assert len(anchors) == len(attribution.MODELS)
    for cell, model in zip(sorted(anchors, key=lambda c: c.column), attribution.MODELS):
        engine = _engine_answer(NOTHING_CONVERTED, model)
        assert (cached[cell.coordinate].data_type, cached[cell.coordinate].value) == ("e", str(engine))
        if mode == "values":
            assert f'"{model}"' in cell.comment.text and f"Result {engine}: {engine.reason}" in cell.comment.text
        else:
            assert cell.comment is None
    assert not any(c.value == "n/a" for row in cached.iter_rows() for c in row)


def test_text_in_a_number_column_shows_value_error_with_its_reason(example):
    """A user types text into the conversions column of a live workbook;
    ``cxroi-xl calc`` (values form) shows every model as #VALUE! with the
    reason naming the text, the summary as an error, never "n/a"."""
    book = attribution_template.build()
    book["Journeys"]["B6"] = "twelve"
    replaced = to_values(book)
    models = [item for item in replaced if item.sheet == "Attribution"]
    assert len(models) == len(attribution.MODELS)
    for item in models:
        assert item.value == "#VALUE!" and "'twelve'" in item.value.reason, item
        assert "'twelve'" in book["Attribution"][item.cell].comment.text
    cells = _shown(book, "Attribution")
    top, left = find(cells, "Channel", which=0)
    summary = [at(cells, top + 1, left + 1 + k) for k in range(len(attribution.MODELS))]
    assert all(isinstance(v, ExcelError) for v in summary), summary


def test_no_iferror_in_the_shipped_template_or_a_client_workbook(tmp_path, example):
    from cxroi_xl.workbooks.sample_data import synthetic_journeys

    assert iferror_parts((build.TEMPLATE_DIR / "attribution.xlsx").read_bytes()) == []
    assert iferror_parts(build.template_bytes(attribution_template.TEMPLATE_NAME, "values")) == []
    for mode in ("live", "values"):
        path = build.build_client_workbook(_client(example, synthetic_journeys(seed=3)), attribution_template.TEMPLATE_NAME, mode, tmp_path / f"client-{mode}.xlsx")
        assert iferror_parts(path.read_bytes()) == [], mode


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attribution")
    path = folder / "attribution.xlsx"
    path.write_bytes(build.template_bytes(attribution_template.TEMPLATE_NAME, "values"))
    return libreoffice.read_values(libreoffice.recalculate(path, folder / "out"))


def test_no_cell_shows_an_error(recalculated):
    assert error_cells(recalculated) == []


def test_every_model_equals_the_engine(recalculated, example):
    cells = recalculated["Attribution"]
    channels = len(attribution.attribute(example.journeys, "first"))
    summary = _summary(cells, channels)
    for model in attribution.MODELS:
        expected = attribution.attribute(example.journeys, model, value_col="value", null_col="nulls")
        shown = _model_table(cells, model, channels)
        assert shown["channel"].tolist() == expected["channel"].tolist()
        for column in ("conversions", "value", "share"):
            assert shown[column].tolist() == pytest.approx(expected[column].tolist(), rel=RELATIVE), (model, column)
        label = attribution_template.MODEL_LABELS[model]
        assert summary[label] == pytest.approx(dict(zip(expected["channel"], expected["conversions"])), rel=RELATIVE)
        total_row, total_col = find(cells, "Total")
        column = list(summary).index(label)
        assert at(cells, total_row, total_col + 1 + column) == pytest.approx(example.journeys["conversions"].sum(), rel=RELATIVE)
