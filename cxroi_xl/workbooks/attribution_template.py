"""The attribution workbook, ``attribution.xlsx``: customer journeys ->
conversions and value credited to each channel by seven models side by side.

Each model is one ``CXATTRIBUTION`` call over the Journeys table, written as
a legacy array formula exactly as large as the engine's table for the data
written (header + one row per channel); a summary table lines the models up
channel by channel with native INDEX/MATCH, and a clustered bar chart shows
it.

No IFERROR: a model the engine refuses (no conversions, text in a number
column) shows its error value, with the reason in the note of the values
form, and the summary shows the error it meets.
"""
from __future__ import annotations

import dataclasses

import pandas as pd
from openpyxl import Workbook
from openpyxl.worksheet.pagebreak import Break
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..engine.attribution import MODELS
from ..errors import InvalidInputError
from .sample_data import synthetic_journeys
from ..engine.tracker import TrackerInput
from .common import (
    BOX,
    FORMATS,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LABEL_FONT,
    NOTE_FONT,
    TableSpec,
    currency_format,
    define_name,
    set_widths,
    title,
)
from .attribution_values import attribution_figures, fill_attribution_values
from .cache import FormulaValues
from .common import array_formula, manual_pages, readable_axes, fit_column, fit_headers, header_cells, print_layout, validation
from .roi_template import example_input
from .common import BOLD_FONT, SECTION_FONT
from .value_template import cell_value, spill_shape, write_guide

__all__ = ["TEMPLATE_NAME", "MODEL_LABELS", "HALF_LIFE", "build", "figures", "example_input_with_journeys"]

TEMPLATE_NAME = "attribution"
JOURNEYS = "Journeys"
HEADER_ROW = 4
BLOCK_WIDTH = 4  # Channel | Conversions | Value | Share; the models' tables touch
MODELS_PER_PAGE = 3  # the models' tables printed side by side on a landscape page
BLOCK_WIDTHS = (13, 12, 13, 9)  # wide enough for the summary table below them too
# the share padded on its right (_) leaves the width of a bracket), so that it
# never reads as one word with the next model's channel name beside it
SHARE_FORMAT = "0.0%_)_)"
SUMMARY_CHART_ROWS = 17  # rows the summary's chart covers (8 cm at the default row height)
HALF_LIFE = 1.0  # the time-decay half-life a workbook is built with (touches)

MODEL_LABELS = {
    "first": "First touch",
    "last": "Last touch",
    "linear": "Linear",
    "position": "Position (40/20/40)",
    "time_decay": "Time decay",
    "markov": "Markov (removal effect)",
    "shapley": "Shapley value",
}
assert tuple(MODEL_LABELS) == MODELS, "one label per engine model, in the engine's order"

SHEET_PURPOSES = [
    ("Start here", "this page."),
    ("Journeys", "one row per distinct customer journey: the channels touched in order, how many converted, their value, how many did not convert."),
    ("Attribution", "the conversions and value each channel earns under seven attribution models, side by side, a summary by channel and a chart."),
]


def example_input_with_journeys() -> TrackerInput:
    """The main template's example client, with example journeys."""
    return dataclasses.replace(example_input(), journeys=synthetic_journeys(seed=2024))


def _journeys(journeys: pd.DataFrame | None) -> pd.DataFrame:
    if journeys is None or len(journeys) == 0:
        raise InvalidInputError("no journeys for this client: the attribution workbook needs them (path, conversions, value, nulls)")
    frame = pd.DataFrame({"path": journeys["path"].astype(str).to_numpy(), "conversions": journeys["conversions"].astype(float).to_numpy()})
    for column in ("value", "nulls"):
        frame[column] = journeys[column].astype(float).to_numpy() if column in journeys else float("nan")
    return frame


def _cell_columns(journeys: pd.DataFrame) -> tuple[list[list], ...]:
    """The Journeys table's columns as the models' formulas pass them."""
    return tuple([[cell_value(v)] for v in journeys[c]] for c in ("path", "conversions", "value", "nulls"))


def figures(data: TrackerInput) -> dict:
    """Conversions, conversion value and each model's top channel of the
    workbook ``build(data)`` writes, from the same model tables
    (:func:`~cxroi_xl.workbooks.attribution_values.attribution_figures`):
    what the batch summary reports for the client. Raises
    :class:`~cxroi_xl.errors.InvalidInputError` without journeys."""
    return attribution_figures((*_cell_columns(_journeys(data.journeys)), HALF_LIFE))


def _write_start_here(ws: Worksheet, client_name: str) -> None:
    write_guide(
        ws,
        "Channel attribution workbook",
        client_name,
        [
            (
                "What this workbook does",
                [
                    "Customers meet several channels before they buy: a search ad, a social post, an email, the chatbot. Attribution shares each conversion, and its value, among the channels of the journey. Different models share differently, so the workbook shows seven side by side: where they agree, the answer does not depend on the model.",
                ],
            ),
            (
                "How to fill it in",
                [
                    '1. Journeys: one row per distinct path, e.g. "search > email > chatbot" (channels in the order they were met, separated by >), with the number of journeys on that path that converted, their total value and the number that did not convert (the Markov model needs those).',
                    "2. Attribution: the time-decay half-life is the only setting. The models' tables are sized to the channels the workbook was built with; rebuild it with cxroi-xl after adding a channel.",
                ],
            ),
            ("What each sheet shows", [f"{sheet}: {purpose}" for sheet, purpose in SHEET_PURPOSES[1:]]),
            (
                "The models",
                [
                    "First touch and last touch: all the credit to the first or the last channel of the journey.",
                    "Linear: equal credit to every touch. Position: 40% to the first touch, 40% to the last, 20% shared by the touches between.",
                    "Time decay: a touch's weight halves for every half-life of touches before the last one.",
                    "Markov: how many conversions would be lost if a channel were removed from the journeys (its removal effect), computed exactly from the chain of channel-to-channel steps (Anderl et al. 2016).",
                    "Shapley: each journey's conversions shared equally among the distinct channels it met, the Shapley value of the journeys as a game (Zhao et al. 2018).",
                ],
            ),
            (
                "Printing",
                [
                    "Printed (or exported to PDF), each sheet fits its pages and every page's footer names its sheet. Journeys prints its totals beside the first journeys; Attribution prints the summary and its chart on one page, then the seven models' tables, three to a page. To print every journey, select the sheet and choose Page Layout > Print Area > Clear Print Area.",
                ],
            ),
            (
                "Two forms of this workbook",
                [
                    "live: cells hold cxroi-xl formulas such as =CXATTRIBUTION(...); they recalculate in Excel on Windows with the cxroi-xl add-in.",
                    "values: every cxroi-xl formula is replaced by its value (the formula is kept in the cell's note), so the file works anywhere. cxroi-xl calc turns a live workbook into this form.",
                ],
            ),
        ],
    )


def _write_journeys(ws: Worksheet, journeys: pd.DataFrame, currency: str) -> int:
    title(ws, "Customer journeys", "One row per distinct path. Channels in the order met, separated by >. Add rows by typing below the table.")
    money2 = currency_format(currency, 2)
    table = TableSpec(JOURNEYS, [("path", FORMATS["text"], None), ("conversions", FORMATS["int"], None), ("value", money2, None), ("nulls", FORMATS["int"], None)], HEADER_ROW)
    rows = [[cell_value(v) for v in row] for row in journeys[["path", "conversions", "value", "nulls"]].itertuples(index=False, name=None)]
    n = table.write(ws, rows, text_columns=("path",))
    ws.add_data_validation(validation("decimal", operator="greaterThanOrEqual", formula1="0", cells=" ".join(table.data_range(c, n + 500) for c in ("conversions", "value", "nulls")), prompt="A number, 0 or more, or blank"))

    ws.cell(HEADER_ROW, 7, "Totals").font = SECTION_FONT
    totals = [
        ("Journeys", f"=SUM({JOURNEYS}[conversions])+SUM({JOURNEYS}[nulls])", FORMATS["int"]),
        ("Converted", f"=SUM({JOURNEYS}[conversions])", FORMATS["int"]),
        ("Conversion rate", "=H6/H5", FORMATS["pct2"]),  # #DIV/0! without journeys
        ("Conversion value", f"=SUM({JOURNEYS}[value])", currency_format(currency)),
        ("Value per conversion", "=H8/H6", money2),  # #DIV/0! without conversions
    ]
    for i, (label, formula, fmt) in enumerate(totals, start=HEADER_ROW + 1):
        ws.cell(i, 7, label).font = LABEL_FONT
        ws.cell(i, 8, formula).number_format = fmt
    set_widths(ws, {"A": 40, "B": 13, "C": 13, "D": 11, "E": 3, "F": 3, "G": 20, "H": 14})
    fit_column(ws, "A", [str(p) for p in journeys["path"]], maximum=60)
    fit_column(ws, "G", [label for label, _, _ in totals], bold=True)
    fit_headers(ws, [HEADER_ROW])
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    print_layout(ws, title_rows=f"{HEADER_ROW}:{HEADER_ROW}", last_col=4)
    # printed: the totals beside the first journeys, one page; every row
    # prints once the print area is cleared
    note_row = HEADER_ROW + len(totals) + 2
    ws.cell(note_row, 7, "Printed: these totals and the first journeys.").font = NOTE_FONT
    ws.cell(note_row + 1, 7, "Clear Print Area prints them all.").font = NOTE_FONT
    ws.print_area = f"A1:H{note_row + 1}"
    ws.page_setup.fitToHeight = 1
    return n


def _model_formula(model: str) -> str:
    columns = ",".join(f"{JOURNEYS}[{c}]" for c in ("path", "conversions"))
    return f'=CXATTRIBUTION({columns},"{model}",{JOURNEYS}[value],{JOURNEYS}[nulls],HalfLife)'


def _model_anchor(k: int, blocks_top: int) -> str:
    """The top-left cell of the ``k``-th model's table (absolute)."""
    return f"${get_column_letter(2 + k * BLOCK_WIDTH)}${blocks_top}"


def _write_attribution(ws: Worksheet, journeys: pd.DataFrame, currency: str, half_life: float) -> dict:
    title(ws, "Attribution: seven models side by side", "Conversions and value credited to each channel. Share = the channel's conversions / all conversions.")
    money0 = currency_format(currency)
    ws.cell(HEADER_ROW, 2, "Time-decay half-life (touches)").font = LABEL_FONT
    setting = ws.cell(HEADER_ROW, 5, half_life)
    setting.fill, setting.border, setting.number_format = INPUT_FILL, BOX, FORMATS["dec1"]
    define_name(ws.parent, "HalfLife", ws.title, f"E{HEADER_ROW}")
    ws.add_data_validation(validation("decimal", operator="greaterThan", formula1="0", cells=f"E{HEADER_ROW}", prompt="Touches, more than 0: the weight halves every half-life touches before the last"))
    note = ws.cell(HEADER_ROW, 6, "A touch's weight halves every half-life touches before the last one.")
    note.font, note.alignment = NOTE_FONT, Alignment(horizontal="left", indent=1)  # clear of the number beside it

    paths, conversions, values, nulls = _cell_columns(journeys)
    shapes = {model: spill_shape("CXATTRIBUTION", paths, conversions, model, values, nulls, half_life) for model in MODELS}
    channels = shapes[MODELS[0]][0] - 1

    # Summary first, so that the answer is what a reader sees: conversions by
    # channel (rows) and model (columns), found by name in each model's table
    # below: a model missing a channel shows #N/A, a model that answered
    # with an error (a one-cell table) that error.
    top = HEADER_ROW + 3
    total = top + 1 + channels
    chart_top = total + 3  # below the summary, on its page
    blocks_top = chart_top + SUMMARY_CHART_ROWS + 3
    ws.cell(top - 1, 2, "Conversions credited to each channel").font = SECTION_FONT
    header_cells(ws, top, 2, ["Channel"] + [MODEL_LABELS[m] for m in MODELS])
    for i in range(channels):
        r = top + 1 + i
        ws.cell(r, 2, f"=B{blocks_top + 1 + i}").font = LABEL_FONT
        for k, model in enumerate(MODELS):
            left, last = 2 + k * BLOCK_WIDTH, blocks_top + shapes[model][0] - 1
            if shapes[model][0] < 2:
                formula = f"={_model_anchor(k, blocks_top)}"
            else:
                names = f"${get_column_letter(left)}${blocks_top + 1}:${get_column_letter(left)}${last}"
                credit = f"${get_column_letter(left + 1)}${blocks_top + 1}:${get_column_letter(left + 1)}${last}"
                formula = f"=INDEX({credit},MATCH($B{r},{names},0))"
            ws.cell(r, 3 + k, formula).number_format = FORMATS["dec1"]
    ws.cell(total, 2, "Total").font = BOLD_FONT
    for k in range(len(MODELS)):
        letter = get_column_letter(3 + k)
        # without a channel row there is nothing to add up: the total shows the
        # model's own answer (its error), not a SUM over its own cell
        formula = f"=SUM({letter}{top + 1}:{letter}{total - 1})" if channels else f"={_model_anchor(k, blocks_top)}"
        cell = ws.cell(total, 3 + k, formula)
        cell.number_format, cell.font = FORMATS["dec1"], BOLD_FONT
    ws.cell(total + 1, 2, "Every model hands out all the conversions: each total equals the conversions on the Journeys sheet.").font = NOTE_FONT

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.title = "Conversions credited by channel and model"
    chart.x_axis.title = None
    chart.y_axis.numFmt = "#,##0"
    chart.add_data(Reference(ws, min_col=3, max_col=2 + len(MODELS), min_row=top, max_row=top + max(channels, 1)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=2, min_row=top + 1, max_row=top + max(channels, 1)))
    chart.height, chart.width = 8, 20  # with the summary, one printed page
    readable_axes(chart)
    ws.add_chart(chart, f"B{chart_top}")

    ws.cell(blocks_top - 2, 2, "Each model's table (CXATTRIBUTION)").font = SECTION_FONT
    ws.row_breaks.append(Break(id=blocks_top - 3))  # the models' tables start a page
    for k, model in enumerate(MODELS):
        left = 2 + k * BLOCK_WIDTH
        rows, cols = shapes[model]
        ws.cell(blocks_top - 1, left, MODEL_LABELS[model]).font = LABEL_FONT
        array_formula(ws, f"{get_column_letter(left)}{blocks_top}:{get_column_letter(left + cols - 1)}{blocks_top + rows - 1}", _model_formula(model))
        for j in range(BLOCK_WIDTH):
            cell = ws.cell(blocks_top, left + j)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            cell.alignment = Alignment(horizontal="center")
        for r in range(blocks_top + 1, blocks_top + rows):
            for j, fmt in enumerate((FORMATS["general"], FORMATS["dec1"], money0, SHARE_FORMAT)):
                ws.cell(r, left + j).number_format = fmt
            ws.cell(r, left).alignment = Alignment(horizontal="left", indent=1)  # sets each model's table apart from its neighbour
        set_widths(ws, {get_column_letter(left + j): width for j, width in enumerate(BLOCK_WIDTHS)})
    ws.column_dimensions["A"].width = 2
    fit_headers(ws, [top])
    ws.freeze_panes = "A5"
    # Printed: the summary and its chart on one page, then the models'
    # tables, three to a page, never cut; two print ranges, so no page is
    # left blank beside the summary
    last_col = 1 + len(MODELS) * BLOCK_WIDTH
    groups = [(1 if k == 0 else 2 + k * BLOCK_WIDTH, min(1 + (k + MODELS_PER_PAGE) * BLOCK_WIDTH, last_col)) for k in range(0, len(MODELS), MODELS_PER_PAGE)]
    last_row = blocks_top + max(rows for rows, _ in shapes.values()) - 1
    manual_pages(ws, groups, last_row, landscape=True)
    summary_cols = get_column_letter(2 + len(MODELS))
    ws.print_area = [f"A1:{summary_cols}{blocks_top - 3}", f"A{blocks_top - 2}:{get_column_letter(last_col)}{last_row}"]
    # where the formulas are, for their values (attribution_values)
    args = (paths, conversions, values, nulls, half_life)
    return {"sheet": ws.title, "args": args, "top": top, "blocks_top": blocks_top, "block_width": BLOCK_WIDTH, "shapes": shapes}


def build(data: TrackerInput | None = None) -> Workbook:
    """The live workbook (add-in formulas in the cells) for ``data``, or the
    shipped template with example journeys when ``data`` is None.

    Uses ``data.journeys`` (path, conversions, value, nulls), the client's
    name and currency. Raises :class:`~cxroi_xl.errors.InvalidInputError`
    without journeys.
    """
    data = data or example_input_with_journeys()
    journeys = _journeys(data.journeys)
    wb = Workbook()
    start = wb.active
    start.title = "Start here"
    sheets = {name: wb.create_sheet(name) for name, _ in SHEET_PURPOSES[1:]}
    _write_start_here(start, data.client_name)
    _write_journeys(sheets["Journeys"], journeys, data.currency)
    layout = _write_attribution(sheets["Attribution"], journeys, data.currency, half_life=HALF_LIFE)
    wb.active = sheets["Attribution"]
    wb.formula_values = FormulaValues()
    fill_attribution_values(wb.formula_values, journeys, layout.pop("args"), {**layout, "journeys_sheet": sheets["Journeys"].title, "totals_row": HEADER_ROW + 1, "totals_col": 8})
    return wb
