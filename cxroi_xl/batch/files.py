"""Reading the tables of a batch's data folder as real exports produce them.

A table is ``NAME.csv`` or ``NAME.xlsx``. CSV files come out of Excel, Google
Sheets, accounting packages and scripts in several shapes, and each is read
as written rather than refused:

* encodings: UTF-8 with or without a byte-order mark, UTF-16 (with a BOM, or
  without one when charset-normalizer recognises it) and Windows-1252, the
  encoding of Excel's "CSV" on Western Windows. Anything else is refused with
  the file's name and the encoding charset-normalizer found;
* delimiters: comma, semicolon (Excel in locales with a decimal comma) and
  tab, sniffed from the header line. In a semicolon file a number may have a
  decimal comma (:func:`decimal_points`);
* fully empty rows (``,,,,``), which Excel exports leave at the end, are
  skipped; row numbers stay those of the file (header = row 1).

An ``.xlsx`` table is read from the sheet named like the table (``kpis``),
else from the first visible sheet, which is then named in every message
about it; formula cells give their saved (cached) values.

Tables are read in chunks of rows, so a large export never sits in memory
whole as text. Every cell arrives as text (``None`` for blanks), so the
validation in :mod:`cxroi_xl.batch.tables` sees what the user wrote.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

__all__ = ["InputError", "TableFile", "find_table", "strip_text", "CONTROL_CHARACTERS", "MAX_INPUT_BYTES", "CHUNK_ROWS"]

MAX_INPUT_BYTES = 512 * 1024 * 1024
CHUNK_ROWS = 100_000
# Characters XML 1.0, and so an .xlsx, cannot hold (tab, LF and CR excepted).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The C CSV parser ends a field at NUL; NUL is swapped for this Unicode
# noncharacter while parsing and swapped back, so it is reported, never
# silently cut off.
_NUL_STAND_IN = "\ufdd0"
_SAMPLE_BYTES = 1 << 20
_SCAN_BYTES = 4 << 20
# A run of NUL bytes this long is no text in any of the encodings read (a
# crashed export's zero-filled tail, or a preallocated file never written)
_NUL_RUN = b"\x00" * 64
_SUPPORTED = ["utf_8", "utf_16", "utf_16_le", "utf_16_be", "cp1252"]
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


class InputError(Exception):
    """The input as a whole cannot be used (exit code 2)."""

    def __init__(self, file: str, message: str):
        super().__init__(f"{file}: {message}")
        self.file = file
        self.message = message


def find_table(data_dir: Path, name: str) -> Path | None:
    """``name.csv``, ``name.xlsx``, ``name.parquet`` or a folder ``name/`` of
    Parquet files in the folder (more than one present is an error)."""
    found = [data_dir / f"{name}{ext}" for ext in (".csv", ".xlsx", ".parquet") if (data_dir / f"{name}{ext}").is_file()]
    if (data_dir / name).is_dir():
        found.append(data_dir / name)
    if len(found) > 1:
        shown = " and ".join(path.name + ("/" if path.is_dir() else "") for path in found)
        raise InputError(found[0].name, f"both {shown} exist; keep one")
    return found[0] if found else None


def detect_encoding(path: Path) -> str:
    """The codec to read a CSV file with; :class:`InputError` when it is none
    of UTF-8, UTF-16 or Windows-1252."""
    with open(path, "rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: the sample may end inside a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        if b"\x00" not in sample or sample.count(b"\x00") < len(sample) // 4:
            return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=_SUPPORTED).best()
    if best is not None:
        encoding = best.encoding
        # UTF-16 without a BOM: text of this kind is mostly ASCII, so about
        # every other byte is NUL; anything else was a poor guess.
        if not encoding.startswith("utf_16") or sample.count(b"\x00") >= len(sample) // 4:
            return encoding
    found = from_bytes(sample).best()
    named = f"looks like {found.encoding}" if found is not None else "is not text in any encoding recognised"
    raise InputError(path.name, f"cannot be read: the file {named}; save it as CSV UTF-8 (or UTF-16 / Windows-1252)")


class _CleanText(io.TextIOBase):
    """A text stream that swaps NUL for a stand-in and notes whether any
    control character went past, so cells need checking only then."""

    def __init__(self, raw: io.TextIOBase):
        self._raw = raw
        self.saw_control = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        text = self._raw.read(size)
        if not self.saw_control and CONTROL_CHARACTERS.search(text):
            self.saw_control = True
        return text.replace("\x00", _NUL_STAND_IN) if "\x00" in text else text

    def readline(self, size: int = -1) -> str:  # pragma: no cover - the C parser uses read()
        text = self._raw.readline(size)
        self.saw_control = self.saw_control or bool(CONTROL_CHARACTERS.search(text))
        return text.replace("\x00", _NUL_STAND_IN)


# A number as Excel writes it where the decimal separator is a comma (and the
# list separator, so the CSV delimiter, a semicolon): "47,2", "-1.234,56".
_DECIMAL_COMMA = r"[+-]?(?:\d+|\d{1,3}(?:\.\d{3})+),\d+"
# A number with a decimal point (or dots) and no comma: "1.5", "77.000"
_DECIMAL_POINT = r"[+-]?\d*\.\d+(?:\.\d+)*"
_THOUSANDS_DOTS = r"[+-]?\d{1,3}(?:\.\d{3})+"


def strip_text(values: pd.Series, other=None, keep_other: bool = False) -> pd.Series:
    """Text cells without the whitespace around them, as objects; blanks
    (None) and cells that are not text become ``other`` (None, or "" for
    ids), or stay as they are with ``keep_other``. Vectorised: one pass of
    pandas' string methods (no lambda per cell) when the cells are all
    text, as the readers give them.

    >>> strip_text(pd.Series([" a ", None, "b"]), other="").tolist()
    ['a', '', 'b']
    """
    cells = values.astype(object)
    if pd.api.types.infer_dtype(cells, skipna=True) in ("string", "empty"):
        return cells.str.strip().astype(object).where(cells.notna(), other)
    # numbers or dates among the text: cell by cell (no reader gives these)
    return pd.Series([v.strip() if isinstance(v, str) else (v if keep_other and v is not None else other) for v in cells], index=cells.index, dtype=object)


def _first_match(values: pd.Series, pattern: str) -> int | None:
    hit = strip_text(values).str.fullmatch(pattern).fillna(False).to_numpy(bool)
    return int(hit.argmax()) if hit.any() else None


def _point_readings(text: str) -> str:
    """What a number written with dots and no comma means in each style."""
    plain = text.strip()
    as_point = plain.lstrip("+")
    if re.fullmatch(_THOUSANDS_DOTS, plain):
        as_comma = plain.replace(".", "").lstrip("+")
        return f"{as_point} with a decimal point, {as_comma} with the thousands dots of the decimal-comma style"
    return f"{as_point} with a decimal point; in the decimal-comma style it is no number at all"


def decimal_points(values: pd.Series) -> pd.Series:
    """Text cells holding a number with a decimal comma (dots may group
    thousands) rewritten with a decimal point; every other cell as it is.

    A number without a comma keeps its decimal point ("1.234" is 1.234):
    only the comma makes a cell unambiguous, so nothing a file meant with a
    decimal point changes meaning.

    >>> decimal_points(pd.Series(["47,2", "-1.234,56", "1.234", "12", None, "a,b"], dtype=object)).tolist()
    ['47.2', '-1234.56', '1.234', '12', None, 'a,b']
    """
    text = values.astype(object)
    stripped = strip_text(text)
    comma = stripped.str.fullmatch(_DECIMAL_COMMA).fillna(False).to_numpy(bool)
    if not comma.any():
        return values
    cells = text.to_numpy(dtype=object, copy=True)
    cells[comma] = stripped[comma].str.replace(".", "", regex=False).str.replace(",", ".", regex=False).to_numpy(dtype=object)
    return pd.Series(cells, index=values.index, name=values.name, dtype=object)


def sniff_delimiter(header: str) -> str:
    """The delimiter giving the header most fields (comma on a tie)."""
    best, best_count = ",", 1
    for delimiter in _DELIMITERS:
        count = len(next(csv.reader([header], delimiter=delimiter), []))
        if count > best_count:
            best, best_count = delimiter, count
    return best


@dataclass
class TableFile:
    """One table of the data folder, read in chunks of text cells."""

    path: Path
    name: str
    label: str = ""  # the name messages use: "kpis.csv" or "kpis.xlsx, sheet 'Data'"
    encoding: str | None = None
    delimiter: str | None = None
    saw_control: bool = False

    def __post_init__(self) -> None:
        self.label = self.label or self.path.name
        # the first number cell written in each style: (row, column, text)
        self._styles: dict[str, tuple[int, str, str]] = {}
        if self.path.stat().st_size > MAX_INPUT_BYTES:
            kind = "CSV" if self.path.suffix.lower() == ".csv" else "table"
            raise InputError(self.path.name, f"is {self.path.stat().st_size / 2**20:,.0f} MB, over the {MAX_INPUT_BYTES // 2**20} MB limit of a {kind} file; give a table this large as Parquet ({self.name}.parquet, or a folder {self.name}/ of Parquet files), which is read in row groups")

    def note_number_style(self, column: str, cells: pd.Series) -> None:
        """One reading rule per file: in a semicolon-separated file the
        numbers are written either with a decimal comma ("1.250,50") or
        with a decimal point ("77.000"), never both, since "77.000" then
        means 77 in one style and 77000 in the other. Call it for every
        number column before :func:`decimal_points`; raises
        :class:`InputError` at the first cell that mixes the styles, naming
        both cells and the readings."""
        for style, pattern in (("comma", _DECIMAL_COMMA), ("point", _DECIMAL_POINT)):
            if style not in self._styles:
                found = _first_match(cells, pattern)
                if found is not None:
                    self._styles[style] = (int(cells.index[found]), column, str(cells.iat[found]).strip())
        if len(self._styles) == 2:
            point_row, point_column, point = self._styles["point"]
            comma_row, comma_column, comma = self._styles["comma"]
            raise InputError(
                self.label,
                f"row {point_row}, column {point_column}: {point!r} is written with a decimal point, but row {comma_row}, column {comma_column} "
                f"has a decimal comma ({comma!r}), so the file holds two styles of numbers: {point!r} reads as {_point_readings(point)}. "
                "Write every number of the file in one style (with a decimal comma and no thousands dots, or save it as CSV UTF-8 with decimal points)",
            )

    @property
    def decimal_comma(self) -> bool:
        """A semicolon-separated CSV (known once read): its numbers may have
        a decimal comma, as Excel writes them where the list separator is ;."""
        return self.delimiter == ";"

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        """Frames of text cells (None for blanks) indexed by the spreadsheet
        row number (header = 1), fully empty rows left out, column names
        stripped."""
        if self.path.suffix.lower() == ".csv":
            yield from self._csv_chunks(rows)
        else:
            yield from self._xlsx_chunks(rows)

    def read(self) -> pd.DataFrame:
        parts = list(self.chunks())
        return pd.concat(parts) if len(parts) > 1 else parts[0]

    # -- CSV ---------------------------------------------------------------
    def _scan(self) -> None:
        """The whole file, before any parsing, in blocks (bounded memory,
        about a second per 500 MB): a run of NUL bytes, or bytes that are no
        text in the file's encoding (a binary or truncated tail), are
        refused naming their byte offset, instead of being parsed as one
        enormous field."""
        decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        offset, tail = 0, b""
        with open(self.path, "rb") as handle:
            while block := handle.read(_SCAN_BYTES):
                window = tail + block
                found = window.find(_NUL_RUN)
                if found >= 0:
                    at = offset - len(tail) + found
                    raise InputError(self.path.name, f"from byte {at:,} on, the file holds NUL bytes where text belongs (a crashed export, or a copy that was never finished); export it again")
                pending = len(decoder.getstate()[0])
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    at = offset - pending + exc.start
                    raise InputError(self.path.name, f"from byte {at:,} on, the file is not text in {self.encoding} (binary data, or a file cut short?); save it as CSV UTF-8") from None
                tail = window[-len(_NUL_RUN):]
                offset += len(block)
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise InputError(self.path.name, f"ends inside a character (byte {offset:,}): the file was cut short; export it again") from None

    def _csv_chunks(self, rows: int) -> Iterator[pd.DataFrame]:
        self.encoding = self.encoding or detect_encoding(self.path)
        self._scan()
        try:
            with open(self.path, encoding=self.encoding, newline="") as raw:
                header = ""
                while not header.strip(" \r\n,;\t"):
                    line = raw.readline()
                    if not line:
                        break
                    header = line
                self.delimiter = sniff_delimiter(header.rstrip("\r\n"))
                _refuse_duplicate_columns(self.label, next(csv.reader([header.rstrip("\r\n")], delimiter=self.delimiter), []))
                raw.seek(0)
                clean = _CleanText(raw)
                reader = pd.read_csv(
                    clean,
                    sep=self.delimiter,
                    dtype=object,  # Python strings: no Arrow strings (and their 1 GB allocator) to convert back
                    keep_default_na=False,
                    na_values=[],
                    skip_blank_lines=False,
                    chunksize=rows,
                    engine="c",
                )
                first_row = 2
                for chunk in reader:
                    chunk.index = pd.RangeIndex(first_row, first_row + len(chunk))
                    first_row += len(chunk)
                    self._refuse_other_delimiter(chunk)
                    self.saw_control = self.saw_control or clean.saw_control
                    yield self._tidy(chunk, nul=clean.saw_control)
                if first_row == 2:
                    yield self._tidy(pd.DataFrame(columns=[c for c in next(csv.reader([header.rstrip("\r\n")], delimiter=self.delimiter), [])]), nul=False)
        except UnicodeDecodeError as exc:
            raise InputError(self.path.name, f"cannot be read as {self.encoding} (a byte at position {exc.start} of a later block does not fit); save it as CSV UTF-8") from None
        except pd.errors.EmptyDataError:
            raise InputError(self.path.name, "is empty") from None
        except pd.errors.ParserError as exc:
            raise InputError(self.path.name, f"cannot be read: {str(exc).splitlines()[0]}") from None

    def _refuse_other_delimiter(self, chunk: pd.DataFrame) -> None:
        """A row whose first field holds all its text (the other cells
        missing or empty) and contains another of the delimiters was written with another
        delimiter than the header: the whole file is refused rather than
        half-read (its cells would land in client_id)."""
        if len(chunk.columns) < 2:
            return
        rest = chunk.iloc[:, 1:]
        lone = (rest.isna() | rest.eq("")).to_numpy().all(axis=1) & chunk.iloc[:, 0].notna().to_numpy()
        if not lone.any():
            return
        others = "".join(d for d in _DELIMITERS if d != self.delimiter)
        first = chunk.iloc[:, 0][lone]
        mixed = first.str.contains(f"[{re.escape(others)}]", regex=True).fillna(False).to_numpy(bool)
        if mixed.any():
            row, text = int(first.index[mixed.argmax()]), str(first.iat[int(mixed.argmax())])
            used = next(d for d in _DELIMITERS if d in text and d != self.delimiter)
            shown = text if len(text) <= 40 else text[:37] + "..."
            raise InputError(
                self.label,
                f"the header is separated by {_DELIMITERS[self.delimiter]}s but row {row} by {_DELIMITERS[used]}s ({shown!r}); "
                "the file is not read (its rows would land in one column): save it with one delimiter throughout",
            )

    # -- XLSX --------------------------------------------------------------
    def _xlsx_chunks(self, rows: int) -> Iterator[pd.DataFrame]:
        from openpyxl import load_workbook

        from ..calc.safety import WorkbookError, check_archive, require_defusedxml

        require_defusedxml()
        try:
            check_archive(self.path)
            # data_only: a formula cell gives the value it was saved with
            book = load_workbook(self.path, read_only=True, data_only=True, keep_links=False)
        except WorkbookError as exc:
            raise InputError(self.path.name, exc.message) from None
        except Exception as exc:  # any parser failure on untrusted input means a bad file
            raise InputError(self.path.name, f"not a readable .xlsx workbook ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        try:
            sheet = next((ws for ws in book.worksheets if ws.title.strip().lower() == self.name), None)
            if sheet is None:
                sheet = next((ws for ws in book.worksheets if ws.sheet_state == "visible"), None)
                if sheet is None:
                    raise InputError(self.path.name, "has no visible sheet")
                self.label = f"{self.path.name}, sheet {sheet.title!r}"
            cells = sheet.iter_rows(values_only=True)
            header = next(cells, None)
            columns = ["" if h is None else str(h) for h in (header or ())]
            _refuse_duplicate_columns(self.label, columns)
            width = len(columns)
            batch: list[list] = []
            first_row = 2
            for row in cells:
                batch.append([_cell_text(v) for v in row[:width]] + [None] * (width - len(row)))
                if len(batch) == rows:
                    yield self._tidy(pd.DataFrame(batch, columns=columns, index=pd.RangeIndex(first_row, first_row + rows), dtype=object), nul=False)
                    first_row += rows
                    batch = []
            if batch or first_row == 2:
                yield self._tidy(pd.DataFrame(batch, columns=columns, index=pd.RangeIndex(first_row, first_row + len(batch)), dtype=object), nul=False)
        finally:
            book.close()

    def _tidy(self, frame: pd.DataFrame, nul: bool) -> pd.DataFrame:
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = frame.astype(object).where(frame.notna(), None)
        frame = frame.replace({"": None})
        if nul:
            for column in frame.columns:
                cells = frame[column]
                # kept as objects with None for blanks: a string dtype would
                # turn the blanks into NaN, which reads as a value
                frame[column] = cells.str.replace(_NUL_STAND_IN, "\x00", regex=False).astype(object).where(cells.notna(), None)
        if len(frame.columns):
            frame = frame[~_all_blank(frame).to_numpy()]
        return frame


def _refuse_duplicate_columns(label: str, names: list[str]) -> None:
    """A column named twice in the header: which one holds the data is
    anybody's guess, so the file is refused."""
    seen: dict[str, int] = {}
    for position, name in enumerate(names, 1):
        key = name.strip().lstrip("\ufeff")
        if not key:
            continue
        if key in seen:
            raise InputError(label, f"the column {key!r} appears twice in the header (columns {seen[key]} and {position}); keep one")
        seen[key] = position


def _all_blank(frame: pd.DataFrame) -> pd.Series:
    """Rows whose every cell is empty or spaces. Each column looks only at
    the rows still blank so far: after the first column, which is rarely
    empty, there is almost nothing left to look at."""
    blank = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        rows = np.flatnonzero(blank)
        if len(rows) == 0:
            break
        blank[rows] = strip_text(frame[column].iloc[rows], other="", keep_other=True).eq("").to_numpy(dtype=bool)
    return pd.Series(blank, index=frame.index)


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, str):
        return value if value.strip() else None
    return str(value)
