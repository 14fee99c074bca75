"""Frames: the sheets a batch's clients share, built once per process.

The ROI, Scenarios and CX metrics sheets of the main tracker, with their
charts, notes and print settings, depend on a client only through the values
of their cells and a few shape figures (currency, months tracked, horizon:
:class:`~cxroi_xl.workbooks.roi_template.SharedShape`). The first client of
a process is built whole and its package kept as a frame. For every later
client openpyxl builds only the client's own sheets (inputs and data
tables); the shared sheets are the frame's XML with the client's values
rendered into their cells, and every other part of the package (styles,
charts, workbook) is the frame's. A client of another number of months or
horizon gets the frame reshaped to its shape (:mod:`.reshape`), kept for
the next clients of that shape.

The result is the file building the client whole gives, byte for byte (a
test compares the two for every sample client in both modes). In the values
form the notes of the shared sheets follow the values (an error's reason,
"not reached"): their two parts (comments and VML drawing) are made per
client, by openpyxl's own writer. A client the frame does not fit (its own sheets
register other styles or write other parts) is built whole.

Which cells of a shared sheet carry the client: every formula (its cached
value), every cell of an add-in result the values form replaces and every
cell a live spill covers (their values), and the inputs the engine supplies
(:meth:`~cxroi_xl.workbooks.cache.FormulaValues.set_input`). Everything else
the shared sheets' builders write comes from the shape alone, by
construction: :func:`~cxroi_xl.workbooks.roi_template.build_shared_sheets`
is given nothing but the shape.

One frame serves every currency. It is built in a placeholder currency
(:data:`PLACEHOLDER_CURRENCY`): the frame-owned parts of two clients in
different currencies differ only in the currency's code (a chart's axis
title, "NPV up to (EUR)") and its number formats (in the styles part), so a
client's parts are the frame's with those swapped. The frame of a
shape's first client is its own build with its currency swapped back to
the placeholder when its code is known to be no word of the sheets' own
text (:data:`_REVERSIBLE`), else a second build in the placeholder
currency; every client of that shape after it, in any currency, reuses it.

A frame holds plain data only (bytes, strings, tuples; its style tables
frozen into tuples), never an openpyxl object, so no client's workbook
outlives its build; the frames of a process hold at most
:data:`MAX_FRAME_BYTES` together, the oldest forgotten first.
"""
from __future__ import annotations

import io
import math
import posixpath
import re
import sys
from array import array
from dataclasses import dataclass, replace
from typing import Any
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments.comment_sheet import CommentRecord
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.formula import ArrayFormula

from ..excel.dispatch import ExcelError
from . import roi_template
from .cache import FormulaValues, MissingValueError, formula_cell_xml
from .common import CELL_ELEMENT, CURRENCY_SYMBOLS, RowStream, _FastWorksheetWriter, currency_format, note_parts, workbook_parts, zip_parts
from .reshape import ROI_SHEET, CannotReshape, RowMap, can_reshape_from, reshape_chart, reshape_formula, reshape_formulas, reshape_print_area, reshape_roi_sheet
from .values import COMMENT_AUTHOR, _formula_of, _note, _write, addin_cells, finish, note_size

__all__ = ["roi_workbook_bytes", "clear"]

_FORMULA_CONTENT = re.compile(r'(<f[^>]*>[^<]*</f>|<f[^>]*/>)(?:<v\s*/>|<v>\s*</v>)?')
_STYLE = re.compile(r' s="\d+"')
_TARGET = re.compile(r'<Relationship\b[^>]*?\bTarget="([^"]*)"([^>]*)')

MAX_FRAMES = 16  # shapes kept per process: a batch's clients mostly share a few
# What the frames of a process may hold together, as :func:`frames_nbytes`
# counts it (about 1 MiB a frame of a 36 to 60 month horizon, 0.6 to 0.8 MiB
# of it really held): memory stays flat however many shapes a batch has, the
# oldest frame making room for the newest. Reached before MAX_FRAMES, so that
# the frames' memory varies by at most one frame once a mixed batch has
# filled it.
MAX_FRAME_BYTES = 12 * 2**20


# The currency a frame is built in: ISO 4217's code reserved for testing,
# so never a word of the builders' own text, which a swap must not touch.
PLACEHOLDER_CURRENCY = "XTS"
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")  # what a batch accepts as a currency
_CURRENCY_DECIMALS = (0, 1, 2)  # the decimals of the currency formats the sheets may use


class _CurrencySwap:
    """The placeholder currency's code and number formats, as the XML of a
    part writes them, replaced by a client's currency's."""

    def __init__(self, currency: str):
        self.currency = currency
        # formats first: they hold the code (no symbol for the placeholder)
        self.pairs = [(_xml_attribute(currency_format(PLACEHOLDER_CURRENCY, d)), _xml_attribute(currency_format(currency, d))) for d in _CURRENCY_DECIMALS]
        self.pairs.append((PLACEHOLDER_CURRENCY, escape(currency)))
        self.formats = {currency_format(currency, d): currency_format(PLACEHOLDER_CURRENCY, d) for d in _CURRENCY_DECIMALS}

    def text(self, xml: str) -> str:
        for placeholder, shown in self.pairs:
            xml = xml.replace(placeholder, shown)
        return xml

    def part(self, data: bytes) -> bytes:
        return self.text(data.decode("utf-8")).encode("utf-8") if PLACEHOLDER_CURRENCY.encode() in data else data

    def reverse_text(self, xml: str) -> str:
        """``xml`` of a build in this currency as the placeholder's build
        writes it (only for :data:`_REVERSIBLE` currencies)."""
        for placeholder, shown in self.pairs:
            xml = xml.replace(shown, placeholder)
        return xml

    def reverse_part(self, data: bytes) -> bytes:
        return self.reverse_text(data.decode("utf-8")).encode("utf-8")

    def placeheld(self, value: Any) -> Any:
        """Frozen style tables (:func:`_style_tables`) with the currency's
        number formats written as the placeholder's."""
        if isinstance(value, str):
            return self.formats.get(value, value)
        if isinstance(value, tuple):
            return tuple(self.placeheld(item) for item in value)
        return value


# Currencies whose code and formats are no text of the sheets' own (a test
# builds a first client of a shape in each and compares every later client,
# in other currencies, with its whole build): the frame of a shape's first
# client in one of them is its own build with the currency swapped back to
# the placeholder. For any other code the frame is built anew in the
# placeholder currency ("IRR" is a currency and a word of the ROI sheet).
_REVERSIBLE = frozenset(CURRENCY_SYMBOLS)


def _xml_attribute(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _swap_for(currency: str) -> _CurrencySwap | None:
    """The swap from the placeholder to ``currency``, None when ``currency``
    is not a three-letter code (its frames are its own) or is the placeholder."""
    if currency == PLACEHOLDER_CURRENCY or not _CURRENCY_CODE.fullmatch(currency):
        return None
    return _CurrencySwap(currency)


class _DoesNotFit(Exception):
    """The frame cannot give this client's workbook: build it whole."""


@dataclass(frozen=True)
class _AddinBlock:
    """An add-in formula of a shared sheet and the block its result fills."""

    sheet: str
    top: int
    left: int
    bottom: int
    right: int
    formula: str  # as a user types it, for the values form's note
    spilled: bool  # an array formula (a dynamic array in the live form)


class _Frame:
    """A whole build's package, kept to give later clients of its shape theirs."""

    def __init__(self, mode: str, parts: dict[str, bytes], client_parts: frozenset[str], sheets: dict[str, tuple[str, list]], styles: tuple, registered: tuple, nbytes: int, notes: dict[str, tuple[int, str, str]], shape, blocks: tuple[_AddinBlock, ...], noted: tuple, source: dict[str, tuple[str, str]] | None = None):
        self.mode = mode
        self.parts = parts  # every part, in archive order (None: made per client, the client's and the shared sheets)
        self.client_parts = client_parts
        self.sheets = sheets  # part name -> (sheet title, compiled XML)
        # the style tables after the client's sheets were built, and the
        # cell and differential styles their writing registered: a cell's
        # style is an index into them, the frame's shared sheets and styles
        # part hold the frame client's indices
        self.styles = styles
        self.registered = registered
        self.nbytes = nbytes  # what it holds, about (see _keep)
        # sheet title -> (its number among the sheets with notes, its
        # comments part, its VML part): made per client from its notes
        self.notes = notes
        self.shape, self.blocks, self.noted = shape, blocks, noted
        # part name -> (sheet title, XML with the client's cells blank) of
        # the shared sheets, which frames of other shapes are made from
        # (reshape.py); None for a frame itself made so
        self.source = source

    def workbook_bytes(self, wb: Workbook, stream: RowStream, notes: tuple = (), swap: _CurrencySwap | None = None) -> bytes:
        """The package of ``wb`` (its client sheets built, the shared ones
        empty) with the frame's shared sheets, in ``swap``'s currency when
        the frame is in the placeholder's; :class:`_DoesNotFit` when the
        frame cannot give it."""

        values: FormulaValues = wb.formula_values
        styles = _style_tables(wb)
        if (styles if swap is None else swap.placeheld(styles)) != self.styles:
            raise _DoesNotFit("the client's sheets use other styles")
        finish(wb, self.mode)
        made = workbook_parts(wb, stream, values, sheets_only=True)  # the rest is the frame's
        if _owned_parts(made.parts, _client_sheet_parts(wb)) != self.client_parts:
            raise _DoesNotFit("the client's sheets write other parts")
        if _registered(wb) != self.registered:
            raise _DoesNotFit("the client's sheets registered other cell styles")
        parts = {}
        for sheet, (sheet_id, comments, drawing) in self.notes.items():
            parts[comments], parts[drawing] = note_parts(sheet_id, _note_records(notes, sheet))
        for name, data in self.parts.items():
            if name in parts:
                parts[name] = parts.pop(name)  # in the archive's order
            elif name in self.client_parts:
                parts[name] = made.parts[name]
            elif name in self.sheets:
                title, pieces = self.sheets[name]
                parts[name] = _render(pieces, values, title, swap).encode("utf-8")
            else:
                parts[name] = data if swap is None else swap.part(data)
        return zip_parts(parts)


# (mode, shape, shared sheets with notes) -> frame, None when the shape's sheets cannot be
# compiled, oldest first, and the bytes each holds; (mode, shape) -> the
# add-in formulas of its shared sheets
_FRAMES: dict[tuple, _Frame | None] = {}
_SIZES: dict[tuple, int] = {}
# (mode, currency) -> the key of the latest frame built whole that frames of
# other shapes can be made from: kept while frames come and go
_SOURCES: dict[tuple, tuple] = {}
_BLOCKS: dict[tuple, tuple[_AddinBlock, ...]] = {}


def clear() -> None:
    """Forget every frame of this process."""
    _FRAMES.clear()
    _SIZES.clear()
    _SOURCES.clear()
    _BLOCKS.clear()


def roi_workbook_bytes(data, mode: str, model, label) -> bytes:
    """The main tracker's workbook for ``data`` (whose ROI ``model`` the
    engine gave), through the frame of its shape when there is one.
    ``label(wb)`` marks a workbook with how it was made."""

    stream = RowStream()
    wb, shape = roi_template.build_client_sheets(data, stream, model=model)
    label(wb)
    swap = _swap_for(shape.currency)
    frame_shape = shape if swap is None else replace(shape, currency=PLACEHOLDER_CURRENCY)
    blocks = _BLOCKS.get((mode, frame_shape))
    if blocks is None and _reshaped(mode, frame_shape, wb.formula_values):
        blocks = _BLOCKS[(mode, frame_shape)]
    # a values form notes each add-in result, its reason when it is an
    # error or "not reached": made per client, they do not split frames
    notes = () if blocks is None else _notes(blocks, wb.formula_values, mode)
    key = None if blocks is None else (mode, frame_shape, _noted(notes))
    frame = _FRAMES.get(key) if key is not None else None
    if swap is not None and frame is None and (key is None or key not in _FRAMES):
        # the shape's first client: the frame is its own build in the
        # placeholder currency (the notes follow the values, the same in any
        # currency), swapped back or built anew
        if shape.currency in _REVERSIBLE:
            return _whole_build(wb, stream, shape, mode, capture=True, frame_shape=frame_shape, unswap=swap)[0]
        placeheld = RowStream()
        frame_book, _ = roi_template.build_client_sheets(data, placeheld, model=model, currency=PLACEHOLDER_CURRENCY, computed=wb.formula_values)
        label(frame_book)
        frame = _whole_build(frame_book, placeheld, frame_shape, mode, capture=True)[1]
        del frame_book
        notes = _notes(_BLOCKS[(mode, frame_shape)], wb.formula_values, mode)
    if frame is not None:
        try:
            return frame.workbook_bytes(wb, stream, notes, swap)
        except (_DoesNotFit, MissingValueError):  # built whole, from the start: the frame may have changed wb
            stream = RowStream()
            wb, shape = roi_template.build_client_sheets(data, stream, model=model)
            label(wb)
            return _whole_build(wb, stream, shape, mode, capture=False)[0]
    # a currency with frames of its own, or a shape whose frame could not be compiled
    return _whole_build(wb, stream, shape, mode, capture=swap is None)[0]


def _whole_build(wb: Workbook, stream: RowStream, shape, mode: str, capture: bool, frame_shape=None, unswap: _CurrencySwap | None = None) -> tuple[bytes, _Frame | None]:
    """The package of ``wb`` (its client sheets built) with its shared
    sheets, of ``shape``, built by openpyxl; with ``capture``, kept as the
    frame of ``frame_shape`` (default ``shape``) unless there is one, its
    currency written as the placeholder's with ``unswap``, and returned too
    (None when the sheets cannot be compiled)."""
    frame_shape = frame_shape or shape
    styles = _style_tables(wb)
    roi_template.build_shared_sheets(wb, shape)
    blocks = _addin_blocks(wb)
    finish(wb, mode)
    values: FormulaValues = wb.formula_values
    made = workbook_parts(wb, stream, values, unfilled=roi_template.SHARED_SHEETS)
    frame = None
    if capture:
        if len(_BLOCKS) >= 4 * MAX_FRAMES:
            del _BLOCKS[next(iter(_BLOCKS))]
        _BLOCKS.setdefault((mode, frame_shape), blocks)
        notes = _notes(blocks, values, mode)
        key = (mode, frame_shape, _noted(notes))
        if key not in _FRAMES:
            _keep(key, _capture(wb, mode, made, values, styles, blocks, notes, frame_shape, unswap))
        frame = _FRAMES.get(key)
    return zip_parts(made.parts), frame


def _reshaped(mode: str, shape, values: FormulaValues) -> bool:
    """Make the frame of ``shape`` from the latest frame of another shape
    (same mode and currency) built whole, and keep it; False when there is
    none or it cannot be reshaped to ``shape`` (reshape.py)."""
    source = _FRAMES.get(_SOURCES.get((mode, shape.currency)))
    if source is None:
        return False
    try:
        blocks = tuple(_reshaped_block(block, source.shape, shape) for block in source.blocks)
        noted = _noted(_notes(blocks, values, mode))
        if noted != source.noted:
            return False
        sheets, nbytes = {}, 0
        for name, (title, xml) in source.source.items():
            xml = reshape_roi_sheet(xml, source.shape, shape) if title == ROI_SHEET else reshape_formulas(xml, RowMap(source.shape, shape), own_sheet=False)
            dynamic = {(block.top, block.left): "" for block in blocks if block.sheet == title} if mode == "live" else {}
            sheets[name] = (title, _compile(xml, _slots(title, blocks, values, mode), dynamic))
            nbytes += sys.getsizeof(xml) + _PIECE_BYTES * len(sheets[name][1])
        parts = dict(source.parts)
        roi_part = next(name for name, (title, _) in source.source.items() if title == ROI_SHEET)
        for name in _owned_parts(source.parts, [roi_part]):
            if _CHART_PART.fullmatch(name):
                parts[name] = reshape_chart(parts[name].decode("utf-8"), source.shape, shape).encode("utf-8")
        parts[_WORKBOOK_PART] = reshape_print_area(parts[_WORKBOOK_PART].decode("utf-8"), source.shape, shape).encode("utf-8")
    except (CannotReshape, _DoesNotFit):
        return False
    nbytes += _footprint((parts, blocks))  # most of the parts' bytes are the source's: counted again, to be safe
    frame = _Frame(mode, parts, source.client_parts, sheets, source.styles, source.registered, nbytes, source.notes, shape, blocks, noted)
    if len(_BLOCKS) >= 4 * MAX_FRAMES:
        del _BLOCKS[next(iter(_BLOCKS))]
    _BLOCKS[(mode, shape)] = blocks
    _keep((mode, shape, noted), frame)
    return True


_CHART_PART = re.compile(r"xl/charts/chart\d+\.xml")
_WORKBOOK_PART = "xl/workbook.xml"


def _reshaped_block(block: _AddinBlock, before, after) -> _AddinBlock:
    """An add-in formula of a shared sheet of shape ``before`` in shape
    ``after``'s: on the ROI sheet, below the months, it moves with the
    horizon table; its formula's references into that table follow it."""
    rows = RowMap(before, after)
    formula = reshape_formula(block.formula, rows, own_sheet=block.sheet == ROI_SHEET)
    if block.sheet != ROI_SHEET:
        return replace(block, formula=formula)
    return replace(block, top=rows(block.top), bottom=rows(block.bottom), formula=formula)


def _keep(key: tuple, frame: _Frame | None) -> None:
    """Keep ``frame`` under ``key``, the oldest frames forgotten to stay
    within :data:`MAX_FRAMES` and :data:`MAX_FRAME_BYTES`."""
    size = _footprint(key) + (frame.nbytes if frame is not None else 0)
    if size > MAX_FRAME_BYTES:
        return
    while _FRAMES and (len(_FRAMES) >= MAX_FRAMES or size + frames_nbytes() > MAX_FRAME_BYTES):
        sources = set(_SOURCES.values())
        oldest = next((k for k in _FRAMES if k not in sources), next(iter(_FRAMES)))
        del _FRAMES[oldest]
        _SIZES.pop(oldest, None)
        for which in [which for which, k in _SOURCES.items() if k == oldest]:
            del _SOURCES[which]
    _FRAMES[key] = frame
    _SIZES[key] = size
    if frame is not None and frame.source is not None and can_reshape_from(frame.shape):
        _SOURCES[(frame.mode, frame.shape.currency)] = key


def frames_nbytes() -> int:
    """About how many bytes this process's frames hold (never less than
    they do: a test weighs them with tracemalloc)."""
    return sum(_SIZES.get(key, 0) for key in _FRAMES)


# What a piece of a compiled sheet holds beside its text, at most: a
# string's header, or a cell's tuple, position and strings' headers (about
# 120 bytes measured).
_PIECE_BYTES = 200


def _footprint(value: Any) -> int:
    """Bytes ``value`` holds, with everything it contains (strings, bytes,
    tuples, lists, dicts of them; an object of another kind counts by its
    own size)."""
    size = sys.getsizeof(value)
    if isinstance(value, (tuple, list, frozenset, set)):
        size += sum(_footprint(item) for item in value)
    elif isinstance(value, dict):
        size += sum(_footprint(k) + _footprint(v) for k, v in value.items())
    return size


def _capture(wb: Workbook, mode: str, made, values: FormulaValues, styles: tuple, blocks: tuple[_AddinBlock, ...], notes: tuple, shape, unswap: _CurrencySwap | None = None) -> _Frame | None:
    """The frame of a whole build, or None when its shared sheets cannot be
    compiled (a cell to render is missing from the XML, their notes are not
    all the values form's); in the placeholder currency with ``unswap``,
    the build's currency's swap."""
    client_parts = _owned_parts(made.parts, _client_sheet_parts(wb))
    note_parts_of = _shared_note_parts(wb, made.parts)
    for sheet, (sheet_id, comments, drawing) in note_parts_of.items():
        # the parts made from the notes alone must be the build's own
        if note_parts(sheet_id, _note_records(notes, sheet)) != (made.parts[comments], made.parts[drawing]):
            return None
    sheets = {}
    nbytes = 0
    positions = {ws.title: i for i, ws in enumerate(wb.worksheets, 1)}
    if sorted(positions[t] for t in roi_template.SHARED_SHEETS) != list(range(len(positions) - len(roi_template.SHARED_SHEETS) + 1, len(positions) + 1)):
        return None  # the client's sheets register their styles first: the shared ones must come last
    cells, differential = made.registered_before[roi_template.SHARED_SHEETS[0]]
    registered = _registered(wb, cells, differential)
    source = {}
    try:
        for title in roi_template.SHARED_SHEETS:
            name = f"xl/worksheets/sheet{positions[title]}.xml"
            xml = made.unfilled[name] if unswap is None else unswap.reverse_text(made.unfilled[name])
            slots = _slots(title, blocks, values, mode)
            source[name] = (title, _blank(xml, slots))
            sheets[name] = (title, _compile(source[name][1], slots, values.dynamic.get(title, {})))
            # the pieces' text is part of the sheet's XML, and so is the
            # source; counting them one by one would cost a tenth of the build
            nbytes += 2 * sys.getsizeof(xml) + _PIECE_BYTES * len(sheets[name][1])
    except _DoesNotFit:
        return None
    # the client's parts and the shared sheets are made per client: only their names are kept
    made_per_client = client_parts | set(sheets) | {name for _, *names in note_parts_of.values() for name in names}
    parts = {name: (None if name in made_per_client else data if unswap is None else unswap.reverse_part(data)) for name, data in made.parts.items()}
    styles = styles if unswap is None else unswap.placeheld(styles)
    nbytes += _footprint((parts, client_parts, styles, registered, note_parts_of, blocks))
    return _Frame(mode, parts, client_parts, sheets, styles, registered, nbytes, note_parts_of, shape, blocks, _noted(notes), source)


# ---- what a frame compares -------------------------------------------------


def _style_tables(wb: Workbook) -> tuple:
    """The workbook's style tables (a cell's style is an index into them),
    frozen: a frame keeps them and must not keep the workbook."""
    return _frozen((
        wb._fonts, wb._fills, wb._borders, wb._number_formats, wb._alignments,
        wb._protections, wb._cell_styles, wb._named_styles, wb._differential_styles.styles,
    ))


def _registered(wb: Workbook, cells: int | None = None, differential: int | None = None) -> tuple:
    """The cell styles and differential styles registered so far (the
    first ``cells`` and ``differential`` of them), frozen."""
    return _frozen((list(wb._cell_styles)[:cells], list(wb._differential_styles.styles)[:differential]))


_PLAIN = (str, int, float, bool, type(None))


def _frozen(value: Any) -> Any:
    """``value`` as nested tuples of plain values, equal where the openpyxl
    objects hold equal values (every field compared, so never equal where
    openpyxl's own comparison would differ).

    A frame keeps its style tables to compare later clients' with them; the
    objects themselves would keep whole workbooks alive: a named style
    points at the workbook it is bound to, and through it at every cell."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (list, tuple, array)):  # a style array is an array
        return tuple(_frozen(item) for item in value)
    fields = getattr(value, "__dict__", None)  # openpyxl's descriptors keep their values here
    if fields is None:
        return (type(value).__name__, repr(value))
    return (type(value).__name__, *((name, _frozen(field)) for name, field in sorted(fields.items()) if name != "_wb"))


def _addin_blocks(wb: Workbook) -> tuple[_AddinBlock, ...]:
    from openpyxl.utils.cell import range_boundaries


    blocks = []
    for sheet, cell in addin_cells(wb):
        if sheet.title not in roi_template.SHARED_SHEETS:
            continue
        spilled = isinstance(cell.value, ArrayFormula)
        if spilled:
            left, top, right, bottom = range_boundaries(cell.value.ref)
        else:
            top, left, bottom, right = cell.row, cell.column, cell.row, cell.column
        blocks.append(_AddinBlock(sheet.title, top, left, bottom, right, _formula_of(cell.value), spilled))
    return tuple(blocks)


def _notes(blocks: tuple[_AddinBlock, ...], values: FormulaValues, mode: str) -> tuple:
    """The notes the values form puts on the shared sheets (see
    :func:`~cxroi_xl.workbooks.values.values_from_cache`): they follow the
    values when a result is an error or explained text."""

    if mode != "values":
        return ()
    notes = []
    for block in blocks:
        anchor = f"{get_column_letter(block.left)}{block.top}"
        for row in range(block.top, block.bottom + 1):
            for col in range(block.left, block.right + 1):
                value = values.get(block.sheet, row, col)
                if (row, col) == (block.top, block.left):
                    notes.append((block.sheet, row, col, _note(block.formula, value)))
                elif isinstance(value, ExcelError):
                    notes.append((block.sheet, row, col, _note(f"{block.formula} (in {anchor})", value)))
    return tuple(notes)


def _noted(notes: tuple) -> tuple:
    """The shared sheets :func:`_notes` puts notes on: what a frame's parts
    depend on besides the notes' own two parts (a sheet with notes refers
    to them). Which of their cells have notes does not matter: a cell's XML
    is the same with or without one, and the cells that could be blank
    (the results' anchors) always have one (:func:`_slots`)."""
    return tuple(sorted({note[0] for note in notes}))


def _note_records(notes: tuple, sheet: str) -> list[CommentRecord]:
    """The notes of ``sheet`` as openpyxl's writer collects a sheet's notes:
    in the order of their cells, row by row."""
    records = []
    for _, row, col, text in sorted(note for note in notes if note[0] == sheet):
        record = CommentRecord(ref=f"{get_column_letter(col)}{row}", author=COMMENT_AUTHOR)
        record.text.t = text
        record.width, record.height = note_size(text)
        records.append(record)
    return records


_COMMENTS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/comments"
_VML_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/vmlDrawing"
_COMMENT_PART = re.compile(r"xl/comments/comment(\d+)\.xml")


def _shared_note_parts(wb: Workbook, parts: dict[str, bytes]) -> dict[str, tuple[int, str, str]]:
    """Sheet title -> (its number among the sheets with notes, its comments
    part, its VML part) for every shared sheet with notes."""
    found = {}
    for i, ws in enumerate(wb.worksheets, 1):
        rels = parts.get(f"xl/worksheets/_rels/sheet{i}.xml.rels")
        if ws.title not in roi_template.SHARED_SHEETS or rels is None:
            continue
        targets = {}
        for relationship in re.findall(r"<Relationship\b[^>]*>", rels.decode("utf-8")):
            kind, target = re.search(r'Type="([^"]*)"', relationship), re.search(r'Target="([^"]*)"', relationship)
            if kind and target:
                targets[kind.group(1)] = target.group(1).lstrip("/")
        if _COMMENTS_TYPE in targets and _VML_TYPE in targets:
            number = _COMMENT_PART.fullmatch(targets[_COMMENTS_TYPE])
            if number is not None:
                found[ws.title] = (int(number.group(1)), targets[_COMMENTS_TYPE], targets[_VML_TYPE])
    return found


def _client_sheet_parts(wb: Workbook) -> list[str]:
    return [f"xl/worksheets/sheet{i}.xml" for i, ws in enumerate(wb.worksheets, 1) if ws.title not in roi_template.SHARED_SHEETS]


def _owned_parts(parts: dict[str, bytes], roots: list[str]) -> frozenset[str]:
    """``roots`` and every part their relationships reach (tables, notes,
    drawings and the charts of those)."""
    owned, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in owned or name not in parts:
            continue
        owned.add(name)
        folder, base = posixpath.split(name)
        rels = posixpath.join(folder, "_rels", base + ".rels")
        if rels in parts:
            owned.add(rels)
            for target, rest in _TARGET.findall(parts[rels].decode("utf-8")):
                if 'TargetMode="External"' in rest:
                    continue
                todo.append(target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target)))
    return frozenset(owned)


# ---- compiling and rendering a shared sheet ---------------------------------


def _slots(title: str, blocks: tuple[_AddinBlock, ...], values: FormulaValues, mode: str) -> dict[tuple[int, int], tuple[str, bool]]:
    """(row, column) -> (kind, noted) of the plain cells of a shared sheet
    that carry the client: ``"v"`` a value of an add-in result, ``"i"`` an
    input the engine supplies; ``noted``: the cell has a note."""
    slots = {key: ("i", False) for key in values.inputs.get(title, {})}
    for block in blocks:
        if block.sheet != title or (mode == "live" and not block.spilled):
            continue
        for row in range(block.top, block.bottom + 1):
            for col in range(block.left, block.right + 1):
                anchor = (row, col) == (block.top, block.left)
                if mode == "values" or not anchor:  # the live anchor is a formula
                    slots[(row, col)] = ("v", mode == "values" and anchor)
    return slots


def _blank(xml: str, slots: dict[tuple[int, int], tuple[str, bool]]) -> str:
    """The sheet's XML with the cells of ``slots`` (the client's) blank but
    for their style: the same for every client of the shape."""

    def blank(match: re.Match) -> str:
        letters, row, attrs, _ = match.groups()
        if (int(row), column_index_from_string(letters)) not in slots:
            return match.group(0)
        style = _STYLE.search(attrs)
        return f'<c r="{letters}{row}"{style.group(0) if style else ""}/>'

    return CELL_ELEMENT.sub(blank, xml)


def _compile(xml: str, slots: dict[tuple[int, int], tuple[str, bool]], dynamic: dict) -> list:
    """The sheet's XML as text pieces and the cells to render per client:
    ``("f", key, coordinate, attributes, formula XML, dynamic)`` for a
    formula, ``(kind, key, coordinate, style attribute, noted)`` for a slot."""
    pieces: list = []
    found = set()
    position = 0
    for match in CELL_ELEMENT.finditer(xml):
        letters, row, attrs, content = match.groups()
        key = (int(row), column_index_from_string(letters))
        coordinate = f"{letters}{row}"
        if key in slots:
            kind, noted = slots[key]
            style = _STYLE.search(attrs)
            piece = (kind, key, coordinate, style.group(0) if style else "", noted)
            found.add(key)
        elif content is not None and content.startswith("<f"):
            formula = _FORMULA_CONTENT.fullmatch(content)
            if formula is None:
                raise _DoesNotFit(f"cell {coordinate}: a formula cell of an unknown form")
            piece = ("f", key, coordinate, attrs, formula.group(1), key in dynamic)
        else:
            continue
        pieces.append(xml[position : match.start()])
        pieces.append(piece)
        position = match.end()
    pieces.append(xml[position:])
    if found != set(slots):
        raise _DoesNotFit("a cell to render is not in the sheet")
    return pieces


class _Scratch:
    """A cell outside any client's workbook, rendered by the fast writer
    exactly as the same value in a sheet's cell."""

    def __init__(self) -> None:
        self.sheet = Workbook().active
        self.writer = _FastWorksheetWriter(self.sheet, out=io.BytesIO())

    def cell_xml(self, coordinate: str, style: str, value: Any, as_input: bool, noted: bool) -> str:
        kind = value.__class__
        if kind is int or (kind is float and math.isfinite(value)):
            # most of a spill: a number, as the fast writer writes one
            return f'<c r="{coordinate}"{style} t="n"><v>{"%.16g" % value}</v></c>'
        cell = Cell(self.sheet, row=1, column=1)
        if as_input:
            cell.value = value  # written as the builder writes an input
        else:
            _write(cell, value)  # as the values form and a live spill write a result
        if cell._value is None and not style and not noted:
            return ""  # a blank without style or note is not written
        text = self.writer.cell_xml(cell)[len(_SCRATCH_HEAD):]
        if style and text.startswith(' s="'):
            # a date set the scratch cell's own format; the sheet's cell has
            # its style already (a month format: openpyxl leaves it alone there)
            text = text[text.index('"', 4) + 1 :]
        return f'<c r="{coordinate}"{style}{text}'


_SCRATCH_HEAD = '<c r="A1"'
_scratch: _Scratch | None = None


def _render(pieces: list, values: FormulaValues, sheet: str, swap: _CurrencySwap | None = None) -> str:
    global _scratch
    _scratch = _scratch or _Scratch()
    inputs = values.inputs.get(sheet, {})
    out = []
    for piece in pieces:
        if piece.__class__ is str:
            # the builders' text only: a client's values are never swapped
            out.append(piece if swap is None or PLACEHOLDER_CURRENCY not in piece else swap.text(piece))
            continue
        kind, key, coordinate = piece[0], piece[1], piece[2]
        if kind == "f":
            if not values.has(sheet, *key):
                raise MissingValueError(f"sheet '{sheet}': no cached value for the formula in {coordinate}")
            out.append(formula_cell_xml(coordinate, piece[3], piece[4], values.get(sheet, *key), piece[5]))
        elif kind == "i":
            if key not in inputs:
                raise MissingValueError(f"sheet '{sheet}': no value for the input in {coordinate}")
            out.append(_scratch.cell_xml(coordinate, piece[3], inputs[key], True, piece[4]))
        else:
            out.append(_scratch.cell_xml(coordinate, piece[3], values.get(sheet, *key), False, piece[4]))
    return "".join(out)
