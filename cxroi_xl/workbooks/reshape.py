"""The shared sheets of one shape made from those of another.

The ROI sheet of the main tracker has two blocks of rows whose size is the
client's: the tracked months (rows 23 on, one per month) and, below them,
the horizon table (a title, a note, a header, one row per month of the
horizon; its header row moves down when the months need the room). Every
other shape figure follows from those two: the Scenarios sheet's ranges into
the horizon table, the ROI charts' ranges and lighter (projected) points,
the print area and its scale. So the frame of one shape
(:mod:`~cxroi_xl.workbooks.frames`) gives any other's: each block's rows
are its template rows repeated (the numbers that step by one from its
first row to its second step on, references move with the block), the
rows below the months move with the horizon table, and references into the
horizon table (``$Z$41:$Z$76``) follow it.

Everything here is text in, text out, and refuses (:class:`CannotReshape`)
whatever it does not recognise, so that the caller builds the client whole
instead: a frame of fewer than two months or two horizon rows (no second
row to learn the step from), rows or attributes where the layout has none.
A test compares the reshaped frames with whole builds, byte for byte, over
every number of months and horizon a batch meets.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from openpyxl.utils import column_index_from_string

from .common import CELL_ELEMENT, page_scale
from .roi_template import MONTHS_COLUMNS, MONTHS_HEADER_ROW, ROI_PAGES, SharedShape, roi_printed_rows

__all__ = ["CannotReshape", "RowMap", "can_reshape_from", "reshape_roi_sheet", "reshape_formulas", "reshape_chart", "reshape_print_area", "reshape_formula"]

ROI_SHEET = "ROI"
_ROI_PREFIX = "'ROI'!"


class CannotReshape(Exception):
    """The frame's sheets are not of the layout this module knows."""


@dataclass(frozen=True)
class RowMap:
    """Where a row of the ROI sheet of shape ``before`` is in shape
    ``after``'s, for a reference to it: the horizon table and everything
    below its title move together, its last row to the new last row; with
    ``months``, the last tracked month's row to the new last one (a chart's
    range; the sheet's own formulas never end there)."""

    before: SharedShape
    after: SharedShape
    months: bool = False

    def __call__(self, row: int) -> int:
        before, after = self.before.horizon, self.after.horizon
        if row >= before.header_row - 2:
            return after.last if row == before.last else row + after.header_row - before.header_row
        if self.months and row == MONTHS_HEADER_ROW + max(self.before.post_rows, 1):
            return MONTHS_HEADER_ROW + max(self.after.post_rows, 1)
        return row


def can_reshape_from(shape: SharedShape) -> bool:
    """Whether a frame of ``shape`` can be reshaped: each block has two rows
    (the step from the first to the second) and one projected month (a
    template point)."""
    return shape.post_rows >= 2 and shape.horizon.rows >= 2 and shape.tracked < shape.horizon.rows


def check_shapes(before: SharedShape, after: SharedShape) -> None:
    """Refuse the shapes reshaping cannot go between: see
    :func:`can_reshape_from`; and a block of the other shape needs two rows
    too (ranges over it, not single cells)."""
    if not can_reshape_from(before):
        raise CannotReshape("the frame's blocks are too small to repeat")
    if after.post_rows < 2 or after.horizon.rows < 2:
        raise CannotReshape("a block of one row: its ranges are single cells")


# ---- references --------------------------------------------------------------

# A cell reference, or a range of two, with the sheet that qualifies it (a
# quoted or plain name and "!"), never part of a name (LOG10, Table1) or a
# function call.
_REFERENCE = re.compile(
    r"(?<![A-Za-z0-9_.$'\]])((?:'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.]*)!)?"
    r"(\$?[A-Z]{1,3}\$?)(\d+)(?::(\$?[A-Z]{1,3}\$?)(\d+))?(?![\d(A-Za-z_\[])"
)


def reshape_formula(text: str, rows: Callable[[int], int], own_sheet: bool) -> str:
    """``text`` (a formula, or the XML of one) with the row of each
    reference into the ROI sheet mapped by ``rows``: references qualified
    with the ROI sheet, and unqualified ones when the formula is on it."""

    def moved(match: re.Match) -> str:
        sheet, column, row, column2, row2 = match.groups()
        if not (sheet == _ROI_PREFIX or (sheet is None and own_sheet)):
            return match.group(0)
        text = f"{sheet or ''}{column}{rows(int(row))}"
        return text if column2 is None else f"{text}:{column2}{rows(int(row2))}"

    return _REFERENCE.sub(moved, text)


_FORMULA_XML = re.compile(r"(<f\b[^>]*>)(.*?)(</f>)|(<f\b[^>]*/>)", re.S)


def reshape_formulas(xml: str, rows: Callable[[int], int], own_sheet: bool) -> str:
    """The formulas of a sheet's or a chart's XML (their text and their
    ``ref`` attributes) reshaped by :func:`reshape_formula`."""

    def moved(match: re.Match) -> str:
        if match.group(4) is not None:
            return reshape_formula(match.group(4), rows, own_sheet)
        return reshape_formula(match.group(1), rows, own_sheet) + reshape_formula(match.group(2), rows, own_sheet) + match.group(3)

    return _FORMULA_XML.sub(moved, xml)


# ---- the ROI sheet ---------------------------------------------------------------

_ROW = re.compile(r'<row r="(\d+)"([^>]*)>(.*?)</row>', re.S)
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+\d+):([A-Z]+)(\d+)"/>')
_HEIGHT = re.compile(r' ht="([^"]+)"')
_COLUMN = re.compile(r'<col\b[^>]*/>')
_SCALE = re.compile(r'(<pageSetup\b[^>]*? scale=")(\d+)(")')


@dataclass
class _Row:
    number: int
    attributes: str
    cells: list[tuple[int, str]]  # (column, the cell's XML)


def _split_sheet(xml: str) -> tuple[str, list[_Row], str]:
    start, end = xml.find("<sheetData>"), xml.find("</sheetData>")
    if start < 0 or end < 0:
        raise CannotReshape("a sheet without rows")
    body = xml[start + len("<sheetData>") : end]
    rows, position = [], 0
    for match in _ROW.finditer(body):
        if match.start() != position:
            raise CannotReshape("a sheet's rows are not all plain rows")
        position = match.end()
        cells, inner = [], 0
        for cell in CELL_ELEMENT.finditer(match.group(3)):
            if cell.start() != inner or int(cell.group(2)) != int(match.group(1)):
                raise CannotReshape(f"row {match.group(1)}: cells not of the row")
            inner = cell.end()
            cells.append((column_index_from_string(cell.group(1)), cell.group(0)))
        if inner != len(match.group(3)):
            raise CannotReshape(f"row {match.group(1)}: content other than cells")
        rows.append(_Row(int(match.group(1)), match.group(2), cells))
    if position != len(body):
        raise CannotReshape("a sheet's rows are not all plain rows")
    return xml[: start + len("<sheetData>")], rows, xml[end:]


_NUMBER = re.compile(r"(\d+)")
# the text before a number that makes it the row of a cell reference
_REFERENCE_HEAD = re.compile(r"(?:^|[^A-Za-z0-9_.$])\$?[A-Z]{1,3}\$?$")


def _series(first: str, second: str, rows: Callable[[int], int]) -> Callable[[int], str]:
    """A cell of a block's first row (``first``) and the same cell of its
    second: the cell of the block's k-th row (k = 0, 1, ...) of the other
    shape. A number one more in the second is the row's (a reference's row
    maps to the other shape, then steps), an equal one a constant (a
    reference's row maps); any other difference refuses."""
    a, b = _NUMBER.split(first), _NUMBER.split(second)
    if len(a) != len(b) or a[0::2] != b[0::2]:
        raise CannotReshape("a block's rows differ in more than their numbers")
    parts: list = []
    for i, (x, y) in enumerate(zip(a, b)):
        if i % 2 == 0:
            parts.append(x)
            continue
        is_reference = bool(_REFERENCE_HEAD.search(a[i - 1])) and not a[i + 1].startswith("(")
        start = rows(int(x)) if is_reference else int(x)
        if int(y) == int(x) + 1:
            parts.append((start, 1))
        elif y == x:
            parts.append((start, 0))
        else:
            raise CannotReshape("a block's rows differ in a number that does not step by one")
    return lambda k: "".join(part if part.__class__ is str else str(part[0] + part[1] * k) for part in parts)


def _move(cell: str, row: int, rows: Callable[[int], int]) -> str:
    """A cell moved to ``row``, the references of its formula mapped."""
    cell = re.sub(r'^<c r="([A-Z]+)\d+"', lambda m: f'<c r="{m.group(1)}{row}"', cell, count=1)
    return reshape_formulas(cell, rows, own_sheet=True)


def reshape_roi_sheet(xml: str, before: SharedShape, after: SharedShape) -> str:
    """The ROI sheet's XML of shape ``before`` (as the frame's build wrote
    it, the client's cells blank but for their style), made the XML of
    shape ``after``."""
    check_shapes(before, after)
    head, rows, tail = _split_sheet(xml)
    first, (left, right) = MONTHS_HEADER_ROW, MONTHS_COLUMNS
    top_before, top_after = before.horizon.header_row - 2, after.horizon.header_row - 2
    rows_map = RowMap(before, after)
    by_number = {row.number: row for row in rows}
    present = {row.number for row in rows}
    # the rows the builder writes: those with cells, every printed one
    expected = set(range(1, roi_printed_rows(before.post_rows) + 1)) | set(range(top_before, before.horizon.last + 1))
    if present != expected | {row.number for row in rows if row.cells and row.number < top_before}:
        raise CannotReshape("the ROI sheet has rows where its layout has none")
    if any(row.attributes for row in rows if first < row.number < top_before):
        raise CannotReshape("a row between the months and the horizon has attributes")

    def months(cells: list[tuple[int, str]], number: int) -> tuple[list, list]:
        inside = first < number <= first + before.post_rows
        block = [(c, x) for c, x in cells if inside and left <= c <= right]
        return block, [(c, x) for c, x in cells if not (inside and left <= c <= right)]

    # the months' block: rows first+1 and first+2 are its template
    template_a, _ = months(by_number[first + 1].cells, first + 1)
    template_b, _ = months(by_number[first + 2].cells, first + 2)
    if [c for c, _ in template_a] != [c for c, _ in template_b] or not template_a:
        raise CannotReshape("the months' rows are not alike")
    month_cells = [(c, _series(x, y, lambda r: r)) for (c, x), (_, y) in zip(template_a, template_b)]

    out: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for row in rows:
        if row.number >= top_before:
            continue
        _, static = months(row.cells, row.number)
        if static or row.number <= first:  # the others are the months' and the printed rows'
            out[row.number] = (row.attributes if row.number <= first else "", [(c, reshape_formulas(x, rows_map, own_sheet=True)) for c, x in static])
    for number in range(1, roi_printed_rows(after.post_rows) + 1):
        out.setdefault(number, ("", []))
    for k in range(after.post_rows):
        number = first + 1 + k
        attributes, cells = out.setdefault(number, ("", []))
        out[number] = (attributes, sorted([(c, make(k)) for c, make in month_cells] + cells))
    for number in list(out):
        if number >= top_after:
            raise CannotReshape("the months reach the horizon table")
    # the horizon table: its title rows and header move, its rows repeat
    data_first = before.horizon.header_row + 1
    for number in range(top_before, data_first):
        row = by_number[number]
        out[rows_map(number)] = (row.attributes, [(c, _move(x, rows_map(number), rows_map)) for c, x in row.cells])
    row_a, row_b = by_number[data_first], by_number[data_first + 1]
    if [c for c, _ in row_a.cells] != [c for c, _ in row_b.cells] or row_a.attributes != row_b.attributes:
        raise CannotReshape("the horizon's rows are not alike")
    horizon_cells = [(c, _series(x, y, rows_map)) for (c, x), (_, y) in zip(row_a.cells, row_b.cells)]
    for k in range(after.horizon.rows):
        out[after.horizon.header_row + 1 + k] = (row_a.attributes, [(c, make(k)) for c, make in horizon_cells])

    body = "".join(f'<row r="{number}"{attributes}>{"".join(x for _, x in cells)}</row>' for number, (attributes, cells) in sorted(out.items()))
    head = _reshape_dimension(head, max(row.number for row in rows if row.cells), max(number for number, (_, cells) in out.items() if cells))
    tail = _reshape_scale(tail, head, by_number, before, {number: attributes for number, (attributes, _) in out.items()}, after)
    return head + body + tail


def _reshape_dimension(head: str, last_before: int, last_after: int) -> str:
    found = _DIMENSION.search(head)
    if found is None or int(found.group(3)) != last_before:
        raise CannotReshape("the sheet's dimension is not its last row")
    return head[: found.start()] + f'<dimension ref="{found.group(1)}:{found.group(2)}{last_after}"/>' + head[found.end() :]


def _reshape_scale(tail: str, head: str, rows_before: dict[int, _Row], before: SharedShape, attributes_after: dict[int, str], after: SharedShape) -> str:
    """The print scale of the other shape's printed rows (manual_pages')."""
    widths: dict[int, float] = {}
    for column in _COLUMN.findall(head):
        low, high, width = (re.search(rf' {name}="([^"]+)"', column) for name in ("min", "max", "width"))
        if low and high and width:
            for c in range(int(low.group(1)), int(high.group(1)) + 1):
                widths[c] = float(width.group(1))
    groups = [[widths.get(c) for c in range(first, last + 1)] for first, last in ROI_PAGES]

    def scale(attributes_of: Callable[[int], str], last_row: int) -> int:
        heights = []
        for number in range(1, last_row + 1):
            found = _HEIGHT.search(attributes_of(number))
            heights.append(float(found.group(1)) if found else None)
        return int(page_scale(heights, groups, landscape=True) * 100)

    found = _SCALE.search(tail)
    if found is None or int(found.group(2)) != scale(lambda r: rows_before[r].attributes, roi_printed_rows(before.post_rows)):
        raise CannotReshape("the sheet's print scale is not the one its rows give")
    shown = scale(lambda r: attributes_after.get(r, ""), roi_printed_rows(after.post_rows))
    return tail[: found.start()] + f"{found.group(1)}{shown}{found.group(3)}" + tail[found.end() :]


# ---- charts and the workbook's print areas -----------------------------------------

_POINT = re.compile(r'<dPt><idx val="(\d+)"/>(.*?)</dPt>', re.S)


def reshape_chart(xml: str, before: SharedShape, after: SharedShape) -> str:
    """A chart of the ROI sheet: its ranges follow the rows (months and
    horizon), and each run of lighter points (projected months: from the
    tracked months to the horizon's end) is the other shape's."""
    xml = reshape_formulas(xml, RowMap(before, after, months=True), own_sheet=False)
    out, position, run = [], 0, []
    for match in list(_POINT.finditer(xml)) + [None]:
        if run and (match is None or match.start() != run[-1].end()):
            if [int(m.group(1)) for m in run] != list(range(before.tracked, before.horizon.rows)) or len({m.group(2) for m in run}) != 1:
                raise CannotReshape("a chart's points are not the projected months")
            out.append(xml[position : run[0].start()])
            out.append("".join(f'<dPt><idx val="{i}"/>{run[0].group(2)}</dPt>' for i in range(after.tracked, after.horizon.rows)))
            position, run = run[-1].end(), []
        if match is not None:
            run.append(match)
    out.append(xml[position:])
    return "".join(out)


def reshape_print_area(xml: str, before: SharedShape, after: SharedShape) -> str:
    """The workbook part: the ROI sheet's print area ends at the other
    shape's last printed row."""
    pattern = re.compile(r"(<definedName name=\"_xlnm.Print_Area\"[^>]*>'ROI'!\$A\$1:\$[A-Z]+\$)(\d+)(</definedName>)")
    found = [m for m in pattern.finditer(xml)]
    if len(found) != 1 or int(found[0].group(2)) != roi_printed_rows(before.post_rows):
        raise CannotReshape("the ROI sheet's print area is not its printed rows")
    match = found[0]
    return xml[: match.start()] + f"{match.group(1)}{roi_printed_rows(after.post_rows)}{match.group(3)}" + xml[match.end() :]
