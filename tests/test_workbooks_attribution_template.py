"""The attribution workbook: structure, determinism, formulas the add-in and
LibreOffice accept, and its numbers.

Oracles:
* A two-path example worked out by hand for all seven models (below),
  evaluated headlessly; exact to 1e-12.
* The example journeys recalculated by LibreOffice: each model's table
  equals the engine (cxroi_xl.attribution.attribute, checked against
  ChannelAttribution and brute-force Shapley values in test_attribution.py)
  to 1e-9 relative, and the native summary table equals the tables.
"""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cxroi_xl import attribution
from cxroi_xl.errors import InvalidInputError
from cxroi_xl.tracker import TrackerInput
from cxroi_xl.workbooks import attribution_template, build, common, libreoffice
from cxroi_xl.workbooks.formula import Evaluator
from cxroi_xl.workbooks.values import to_values
from tests.test_workbooks_value_template import at, check_array_sizes, check_formulas, error_cells, find

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
    assert shipped == build.template_bytes("attribution"), "run `cxroi-xl templates build`"


def test_sheets_tables_and_layout(live):
    assert live.sheetnames == ["Start here", "Journeys", "Attribution"]
    assert {name for ws in live for name in ws.tables} == {"Journeys"}
    assert "HalfLife" in live.defined_names
    chart = live["Attribution"]._charts[0]
    assert chart.type == "bar" and chart.grouping == "clustered" and len(chart.series) == len(attribution.MODELS)
    for ws in live:
        assert ws.sheet_properties.pageSetUpPr.fitToPage and str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # orientation: tests/test_workbooks_layout.py
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
