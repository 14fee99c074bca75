"""Open workbooks from untrusted sources without trusting them.

A client's .xlsx is a zip of XML parts, so before openpyxl parses it we check
what a hostile or broken file could do to us:

* size: over :attr:`Limits.max_bytes` (50 MB by default) is refused unread;
* format: an OLE compound file (signature ``D0 CF 11 E0``) is either an
  encrypted (password-protected) workbook or a legacy .xls, and anything that
  is not a zip is not an .xlsx;
* zip bombs: the uncompressed total, each large part's compression ratio and
  the number of parts are capped (Python's zipfile never inflates a part past
  the size its header declares, so the declared sizes are real bounds);
* XML attacks (billion laughs, external entities): any part declaring a
  DOCTYPE is refused before parsing (whatever parser openpyxl picks), and
  openpyxl must be parsing with defusedxml, which it does whenever
  defusedxml is installed;
* tables whose range is malformed, which would otherwise surface as wrong
  numbers far from their cause.

Every refusal is a :class:`WorkbookError` naming the file and the problem.
"""
from __future__ import annotations

import codecs
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .evaluator import table_bounds

__all__ = ["Limits", "WorkbookError", "open_workbook", "check_archive", "check_tables", "require_defusedxml", "macro_parts", "check_macros_kept"]

OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # compound file: encrypted OOXML or legacy .xls
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What an input workbook may cost us. Defaults suit client workbooks:
    real ones are a few MB and compress 5-20 times."""

    max_bytes: int = 50 * MB
    max_uncompressed_bytes: int = 256 * MB
    max_ratio: float = 200.0  # checked for parts above ratio_floor_bytes uncompressed
    ratio_floor_bytes: int = 1 * MB
    max_entries: int = 10_000
    max_part_bytes: int = 128 * MB  # one part, uncompressed
    # Counted in the XML before parsing: each costs far more once parsed
    # (a shared string some 100 bytes, a style record some 1 KB). Excel
    # itself allows 64,000 cell formats; 1,000,000 distinct texts is many
    # times what a client workbook holds.
    max_shared_strings: int = 1_000_000
    max_style_records: int = 200_000


class WorkbookError(ValueError):
    """A workbook that cannot or must not be opened: ``str()`` names the file and the problem."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


def require_defusedxml() -> None:
    """Refuse to parse untrusted XML unless openpyxl is using defusedxml."""
    try:
        import defusedxml  # noqa: F401
    except ImportError:
        raise RuntimeError("refusing to open untrusted workbooks: defusedxml is not installed (pip install defusedxml)") from None
    import openpyxl

    if not getattr(openpyxl, "DEFUSEDXML", False):
        raise RuntimeError("refusing to open untrusted workbooks: openpyxl is not parsing XML with defusedxml")


def _size(bytes_: float) -> str:
    return f"{bytes_ / MB:.1f} MB" if bytes_ >= MB / 10 else f"{bytes_:.0f} bytes"


def check_archive(path: str | os.PathLike, limits: Limits = Limits(), deadline: float | None = None) -> None:
    """Check size, format and zip-bomb limits, and count the shared strings
    and style records, without parsing any XML; ``deadline``: a
    ``time.monotonic()`` past which it stops with a :class:`WorkbookError`."""
    path = Path(path)
    if not path.exists():
        raise WorkbookError(path, "no such file")
    if not path.is_file():
        raise WorkbookError(path, "is not a file")
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise WorkbookError(path, f"is {_size(size)}, over the {_size(limits.max_bytes)} size limit")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE_SIGNATURE:
        raise WorkbookError(path, "encrypted or not an .xlsx: it is an OLE compound file (a password-protected workbook or a legacy .xls); save it in Excel as an .xlsx without a password")
    if not head.startswith(ZIP_SIGNATURES):
        raise WorkbookError(path, "not an .xlsx workbook: the file is not a zip archive")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WorkbookError(path, f"not an .xlsx workbook: broken zip archive ({exc})") from None
    if len(entries) > limits.max_entries:
        raise WorkbookError(path, f"has {len(entries)} parts, over the limit of {limits.max_entries} (a zip bomb?)")
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookError(path, f"unpacks to {_size(total)}, over the {_size(limits.max_uncompressed_bytes)} limit (a zip bomb?)")
    for entry in entries:
        if entry.file_size > limits.max_part_bytes:
            raise WorkbookError(path, f"part {entry.filename} unpacks to {_size(entry.file_size)}, over the {_size(limits.max_part_bytes)} limit for one part")
        if entry.file_size > limits.ratio_floor_bytes and entry.file_size > limits.max_ratio * max(entry.compress_size, 1):
            ratio = entry.file_size / max(entry.compress_size, 1)
            raise WorkbookError(path, f"part {entry.filename} is compressed {ratio:.0f} times, over the limit of {limits.max_ratio:.0f} (a zip bomb?)")
    _refuse_document_types(path, entries, deadline)
    _count_records(path, entries, limits, deadline)


# What is counted before parsing: (part name ends with, element names, limit field, what)
_COUNTED = (
    ("sharedstrings.xml", (b"si",), "max_shared_strings", "shared strings"),
    ("styles.xml", (b"xf", b"font", b"fill", b"border", b"numFmt", b"dxf"), "max_style_records", "style records (cell formats, fonts, fills, borders)"),
)


def _count_records(path: Path, entries: list[zipfile.ZipInfo], limits: Limits, deadline: float | None) -> None:
    """Count the shared strings and the style records in their parts'
    XML, block by block, before any parser sees them."""
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            for suffix, names, field, what in _COUNTED:
                if not entry.filename.lower().endswith(suffix):
                    continue
                limit = getattr(limits, field)
                pattern = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:" + b"|".join(names) + rb")[\s/>]")
                count, tail = 0, b""
                with archive.open(entry) as part:
                    while block := part.read(1 << 20):
                        window = tail + block
                        # tags before the last "<" are whole; from it on, its name is kept for the next block
                        cut = window.rfind(b"<")
                        cut = len(window) if cut < 0 else cut
                        count += len(pattern.findall(window, 0, cut))
                        tail = window[cut : cut + 64]
                        if count > limit:
                            raise WorkbookError(path, f"part {entry.filename} holds more than {limit:,} {what}, over the limit (a workbook built to exhaust memory?)")
                        _check_deadline(path, deadline)
                count += len(pattern.findall(tail + b" "))
                if count > limit:
                    raise WorkbookError(path, f"part {entry.filename} holds {count:,} {what}, over the limit of {limit:,} (a workbook built to exhaust memory?)")


class LoadTimeout(BaseException):
    """The time limit ran out while the workbook was being read."""


def _check_deadline(path: Path, deadline: float | None) -> None:
    import time

    if deadline is not None and time.monotonic() > deadline:
        raise WorkbookError(path, "reading the workbook took longer than the time limit (--time-limit); nothing computed")


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
# How "<?" looks in the first bytes of a part without a byte-order mark (XML 1.0, appendix F)
_UNMARKED = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_DOCTYPE = "<!doctype"


def _part_encoding(head: bytes) -> str:
    """The encoding of an XML part, as an XML parser finds it: a byte-order
    mark, else the pattern of "<?" in the first bytes, else the declaration,
    else UTF-8."""
    for mark, name in _BOMS:
        if head.startswith(mark):
            return name
    for pattern, name in _UNMARKED:
        if head.startswith(pattern):
            return name
    declared = _DECLARED.match(head)
    return declared.group(1).decode("ascii").lower() if declared else "utf-8"


def _refuse_document_types(path: Path, entries: list[zipfile.ZipInfo], deadline: float | None = None) -> None:
    """No part of a genuine workbook declares a DTD. Refusing any DOCTYPE
    before parsing protects every XML parser openpyxl may use (it reads
    some parts with lxml when lxml is installed), not only defusedxml's:
    no entity expansion, no external entities.

    The check reads each part in its own encoding: "<!DOCTYPE" in UTF-16 is
    not the ASCII bytes, and a parser honours a byte-order mark or an
    encoding declaration. A part whose encoding Python does not know is
    refused, since no check could be made."""
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            if not entry.filename.lower().endswith((".xml", ".rels", ".vml")):
                continue
            with archive.open(entry) as part:
                head = part.read(256)
                encoding = _part_encoding(head)
                try:
                    decoder = codecs.getincrementaldecoder(encoding)("replace")
                except LookupError:
                    raise WorkbookError(path, f"part {entry.filename} declares the unknown encoding {encoding!r}") from None
                tail, raw_tail = "", b""
                chunk = head
                while chunk:
                    # both readings: the declared one, and the ASCII bytes a parser ignoring it would see
                    text = tail + decoder.decode(chunk).lower()
                    raw = raw_tail + chunk.lower()
                    if _DOCTYPE in text or _DOCTYPE.encode() in raw:
                        raise WorkbookError(path, f"part {entry.filename} declares a DOCTYPE, which no workbook needs (an XML entity attack?)")
                    tail, raw_tail = text[-len(_DOCTYPE):], raw[-len(_DOCTYPE):]
                    chunk = part.read(1 << 16)
                    _check_deadline(path, deadline)


def check_tables(workbook: Any, path: str | os.PathLike) -> None:
    """Every table's range must be a valid block matching its named columns."""
    seen: dict[str, str] = {}
    for sheet in workbook.worksheets:
        for table in sheet.tables.values():
            name = table.displayName or table.name
            where = f"sheet '{sheet.title}', table '{name}'"
            try:
                min_col, min_row, max_col, max_row = table_bounds(table.ref)
            except ValueError:
                raise WorkbookError(path, f"{where}: malformed range {table.ref!r}") from None
            if table.tableColumns and len(table.tableColumns) != max_col - min_col + 1:
                raise WorkbookError(path, f"{where}: range {table.ref} is {max_col - min_col + 1} columns wide but the table names {len(table.tableColumns)} columns")
            header_rows = 1 if table.headerRowCount is None else int(table.headerRowCount)
            if max_row - min_row + 1 < header_rows + int(table.totalsRowCount or 0):
                raise WorkbookError(path, f"{where}: range {table.ref} is too short for its header and totals rows")
            if str(name).lower() in seen:
                raise WorkbookError(path, f"{where}: the name is also used by a table on sheet '{seen[str(name).lower()]}'")
            seen[str(name).lower()] = sheet.title


def _root_cause(exc: BaseException) -> str:
    """The innermost error: openpyxl wraps the parser's own, more telling one."""
    while (exc.__cause__ or exc.__context__) is not None:
        exc = exc.__cause__ or exc.__context__
    detail = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


MACRO_WORKBOOK_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_MACRO_PART = re.compile(r"^(?:xl/vba|xl/activeX/|xl/ctrlProps/|customUI)", re.IGNORECASE)


def macro_parts(path: str | os.PathLike) -> list[str]:
    """The parts of a macro-enabled workbook that carry its macros (the VBA
    project, ActiveX controls, form controls, ribbon customisation), or []
    for a workbook without macros. A workbook whose content type says
    macro-enabled counts as one even without a VBA project (an empty .xlsm)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        found = [name for name in names if _MACRO_PART.match(name)]
        if not found and "[Content_Types].xml" in names:
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size < 4 * MB and MACRO_WORKBOOK_TYPE.encode() in archive.read(info):
                found = ["[Content_Types].xml"]
    return found


def check_macros_kept(path: str | os.PathLike, data: bytes, parts: list[str]) -> None:
    """The values workbook ``data`` made from the macro-enabled ``path``
    must still be one: every macro part there, byte for byte, the workbook's
    content type macro-enabled and the VBA project linked from it. Raises
    :class:`WorkbookError` naming what would be lost."""
    import io

    with zipfile.ZipFile(path) as source, zipfile.ZipFile(io.BytesIO(data)) as written:
        names = set(written.namelist())
        lost = [name for name in parts if name != "[Content_Types].xml" and (name not in names or written.read(name) != source.read(name))]
        if lost:
            raise WorkbookError(path, f"its macros would be lost ({', '.join(lost[:3])} not kept); nothing written")
        if MACRO_WORKBOOK_TYPE.encode() not in written.read("[Content_Types].xml"):
            raise WorkbookError(path, "its macros would be lost (the workbook would no longer be macro-enabled); nothing written")
        if "xl/vbaProject.bin" in names and b"vbaProject.bin" not in written.read("xl/_rels/workbook.xml.rels"):
            raise WorkbookError(path, "its macros would be lost (the VBA project would not be linked); nothing written")


class _alarm:
    """Interrupt the parse at ``deadline`` (SIGALRM; main thread on POSIX
    only, elsewhere the counted limits above still bound it)."""

    def __init__(self, deadline: float | None):
        self.deadline, self.previous = deadline, None

    def __enter__(self) -> None:
        import signal
        import threading
        import time

        if self.deadline is None or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
            self.deadline = None
            return

        def expire(signum, frame):
            raise LoadTimeout()

        self.previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline - time.monotonic(), 0.001))

    def __exit__(self, *exc_info) -> None:
        import signal

        if self.deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def open_workbook(path: str | os.PathLike, limits: Limits = Limits(), data_only: bool = False, keep_vba: bool = False, deadline: float | None = None) -> Any:
    """Load an untrusted .xlsx with its formulas (or, ``data_only``, the
    values it saved for them); ``keep_vba``: keep a macro-enabled
    workbook's macro parts for writing it back.

    Raises :class:`WorkbookError` for a file that is too large, not an .xlsx,
    encrypted, a zip bomb, unreadable, or has a malformed table.
    """
    from openpyxl import load_workbook

    require_defusedxml()
    check_archive(path, limits, deadline)
    try:
        with _alarm(deadline):
            workbook = load_workbook(path, data_only=data_only, keep_links=False, keep_vba=keep_vba)
    except LoadTimeout:
        _check_deadline(Path(path), -1.0)
        raise
    except Exception as exc:  # any parser failure on untrusted input means a bad file, said plainly
        raise WorkbookError(path, f"not a readable .xlsx workbook ({_root_cause(exc)})") from None
    check_tables(workbook, path)
    return workbook
