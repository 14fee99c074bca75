"""Batch input as Parquet: a file or a dataset folder per table, read per client.

A data location (a local folder or an fsspec URL such as ``s3://bucket/data``)
holds each table of ``cxroi-xl generate`` as ``NAME.parquet`` or as a folder
``NAME/`` of Parquet files, hive-partitioned (``kpis/region=eu/part-0.parquet``)
or not. A Parquet table is just another source of text chunks for the batch
reader (:class:`ParquetTable`, beside :class:`~cxroi_xl.batch.files.TableFile`):
each cell is turned into the text a CSV would hold (numbers as written, dates
as YYYY-MM-DD, blanks and NaN as blank), and :func:`cxroi_xl.batch.tables.read_tables`
validates it with the very rules, messages, reserved-id checks, month,
journey, leads/won and proxies checks, on-disk store and fingerprints of the
CSV input. A problem names the Parquet file (relative to the location) and
the 1-based record number within that file. ``read_batch`` on a local folder
of Parquet tables takes this route.

Reading is by client, so a worker of a cluster reads only its own clients:
:func:`read_clients` reads only the needed columns, skips files whose hive
partition or row-group statistics exclude the wanted ``client_id`` values,
and filters the rest row group by row group. Data sorted by ``client_id``
(as a database export usually is) lets the statistics skip nearly all row
groups. Whole-input problems (a required table or column missing, an
unreadable file) are found by :func:`open_location` from the files' schemas
alone and raise :class:`~cxroi_xl.batch.tables.InputError`, as for CSV.

Checks that need every row of a table rather than one client's (rows whose
``client_id`` is not in ``clients``; ids written with spaces around them,
which a by-client read cannot match) are :func:`scan_client_ids`, one file
at a time. Needs the ``cxroi-xl[dask]`` extra (pyarrow, fsspec).
"""
from __future__ import annotations

import os
import re
import time
import weakref
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from .tables import (
    OPTIONAL_FILES,
    REQUIRED_FILES,
    TABLES,
    BatchInput,
    InputError,
    Problem,
    _new_store_folder,
    _remove_store,
    read_tables,
)
from .files import CHUNK_ROWS, CONTROL_CHARACTERS

__all__ = ["ParquetLocation", "ParquetTable", "open_location", "client_ids", "partition_clients", "read_clients", "read_parquet_batch", "unknown_client_problems", "scan_client_ids", "id_problems", "table_files"]

CLIENT_COLUMNS = ("client_id", "client_name", "go_live", "currency", "discount_rate", "benefit_risk", "cost_risk", "retention_risk", "uplift_risk", "gross_margin", "value_per_win", "horizon_months", "method", "half_life_service", "half_life_retention", "half_life_uplift", "ramp_months")


@dataclass(frozen=True)
class ParquetLocation:
    """Where each table of a batch lies: ``tables[name]`` is the path of
    ``NAME.parquet`` or of the folder ``NAME/``, relative to ``root``."""

    url: str
    tables: dict[str, str]
    opened: float = 0.0  # when the location was opened: keys the per-process cache of datasets

    def filesystem(self):
        return _filesystem(self.url)

    def shown(self, name: str) -> str:
        """The table as problems name it when no single file is meant."""
        return self.tables[name] + ("" if self.tables[name].endswith(".parquet") else "/")


@lru_cache(maxsize=8)
def _filesystem(url: str):
    import fsspec

    return fsspec.core.url_to_fs(url)


def _root(url: str) -> str:
    return _filesystem(url)[1].rstrip("/")


def open_location(url: str | os.PathLike) -> ParquetLocation:
    """Find the tables and check their columns from the schemas alone.

    Raises :class:`InputError` for a missing location, a missing required
    table, a table present both as file and folder, a missing column or a
    file Parquet cannot read.
    """
    url = os.fspath(url)
    if "://" not in url:
        url = os.path.abspath(url)  # a worker's working folder may be another
    fs, root = _filesystem(url)
    root = root.rstrip("/")
    if not fs.isdir(root):
        raise InputError(url, "not a folder")
    tables: dict[str, str] = {}
    for name in REQUIRED_FILES + OPTIONAL_FILES:
        found = [candidate for candidate in (f"{name}.parquet", name) if fs.exists(f"{root}/{candidate}")]
        if len(found) > 1:
            raise InputError(found[0], f"both {name}.parquet and the folder {name}/ exist; keep one")
        if found:
            tables[name] = found[0]
        elif name in REQUIRED_FILES:
            raise InputError(f"{name}.parquet", f"required table missing in {url} ({name}.parquet or a folder {name}/ of Parquet files)")
    location = ParquetLocation(url, tables, time.time())
    for name in tables:
        schema = _dataset(url, tables[name], location.opened).schema
        rules = TABLES.get(name, {})
        if name == "clients":
            required = ["client_id", "client_name", "go_live"]
        else:
            required = ["client_id"] + [c for c, rule in rules.items() if rule.required or name == "surveys"]
        missing = [c for c in required if c not in schema.names]
        if missing:
            raise InputError(location.shown(name), "missing column(s) " + ", ".join(missing))
        wanted = CLIENT_COLUMNS if name == "clients" else ("client_id", *rules)
        for column in [c for c in wanted if c in schema.names]:
            kind = schema.field(column).type
            if _nested(kind):
                raise InputError(location.shown(name), f"column {column} holds {kind} values (lists or records); give it as plain numbers, text or dates")
    return location


def _nested(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_nested(kind) or pa.types.is_union(kind) if hasattr(pa.types, "is_union") else pa.types.is_nested(kind)


@lru_cache(maxsize=32)
def _dataset(url: str, table: str, opened: float):
    """The table as a pyarrow dataset, cached per process and per opening of
    the location: a worker lists the files and reads their footers once per
    run, however many partitions it reads, and sees new files on the next
    run."""
    import pyarrow.dataset as ds

    fs, root = _filesystem(url)
    path = f"{root.rstrip('/')}/{table}"
    try:
        if not fs.isdir(path):
            return ds.dataset(path, filesystem=fs, format="parquet")
        import pyarrow as pa

        keys: dict[str, None] = {}
        for file in fs.find(path):
            for segment in PurePosixPath(file).relative_to(path).parent.parts:
                if "=" in segment:
                    keys.setdefault(segment.split("=", 1)[0])
        # hive partition values are text, as a CSV cell would be ("007" stays "007")
        partitioning = ds.partitioning(pa.schema([(key, pa.string()) for key in keys]), flavor="hive") if keys else None
        found = ds.dataset(path, filesystem=fs, format="parquet", partitioning=partitioning)
    except Exception as exc:  # a reader failure is a whole-input problem
        raise InputError(table, f"cannot be read as Parquet: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return found


def _relative(location: ParquetLocation, fragment_path: str) -> str:
    root = _root(location.url)
    return str(PurePosixPath(fragment_path).relative_to(root)) if fragment_path.startswith(root + "/") else fragment_path


def _as_text(column) -> pd.Series:
    """A pyarrow column as the cells a CSV would hold: numbers as written,
    dates as YYYY-MM-DD, blank (None) for nulls, NaN and empty text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column, kind = column.cast(kind.value_type), kind.value_type
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        text = pc.strftime(column, "%Y-%m-%d")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column
    elif _nested(kind):
        raise ValueError(f"holds {kind} values (lists or records); give it as plain numbers, text or dates")
    else:
        try:
            text = pc.cast(column, pa.string())
        except pa.ArrowInvalid as exc:  # bytes that are not UTF-8 text
            raise ValueError(f"holds bytes that are not UTF-8 text ({str(exc).splitlines()[0][:120]})") from None
    series = pd.Series(text.to_pylist(), dtype=object)
    return series.where(series != "", None)


def _pieces(location: ParquetLocation, name: str, columns: Iterable[str], wanted: set[str] | None, only_file: str | None = None, rows: int = CHUNK_ROWS) -> Iterator[tuple[str, np.ndarray, pd.DataFrame]]:
    """``(file, record numbers, text frame)`` per row group read (in slices
    of at most ``rows``): the rows whose stripped client_id is in ``wanted``
    (all rows when None), only ``columns``, files in name order.

    Files whose hive keys or row-group statistics exclude the wanted ids are
    not read at all.
    """
    import pyarrow as pa
    import pyarrow.dataset as ds

    dataset = _dataset(location.url, location.tables[name], location.opened)
    present = [c for c in columns if c in dataset.schema.names]
    id_type = dataset.schema.field("client_id").type
    # Pushed down only for text ids: the filter compares exact text (ids
    # written with spaces around them are found by scan_client_ids instead).
    pushdown = ds.field("client_id").isin(sorted(wanted)) if wanted is not None and (pa.types.is_string(id_type) or pa.types.is_large_string(id_type)) else None
    wanted_ids = pa.array(sorted(wanted), pa.string()) if wanted is not None else None
    for fragment in sorted(dataset.get_fragments(filter=pushdown), key=lambda f: f.path):
        file = _relative(location, fragment.path)
        if only_file is not None and file != only_file:
            continue
        try:
            yield from _fragment_pieces(fragment, file, dataset, present, pushdown, wanted_ids, rows)
        except InputError:
            raise
        except (pa.ArrowException, OSError, ValueError) as exc:  # a broken file among good ones, a column not as text
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(file, reason if reason.startswith("column ") else f"cannot be read as Parquet: {reason[:300]}") from None


# Row groups read in one call, up to this many rows (a group larger is read alone)
_GROUP_ROWS = CHUNK_ROWS


def _read_row_groups(fragment, ids: list[int], columns: list[str], schema):
    """The given row groups of one file, read in one call."""
    return fragment.subset(row_group_ids=ids).to_table(columns=columns, schema=schema)


def _fragment_pieces(fragment, file: str, dataset, present: list[str], pushdown, wanted_ids, rows: int):
    """One file's part of :func:`_pieces`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    partition_keys = ds.get_partition_keys(fragment.partition_expression) or {}
    file_columns = [c for c in present if c not in partition_keys]
    metadata = fragment.metadata
    starts = np.concatenate([[0], np.cumsum([metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)])])
    if pushdown is not None:
        ids = [group.row_groups[0].id for group in fragment.split_by_row_group(filter=pushdown, schema=dataset.schema)]
    else:
        ids = list(range(metadata.num_row_groups))
    # consecutive batches of row groups, one read each (a call per
    # group cost some 20 ms: 4,000 one-row groups took 92 s)
    batches, current, size = [], [], 0
    for group_id in ids:
        current.append(group_id)
        size += metadata.row_group(group_id).num_rows
        if size >= _GROUP_ROWS:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    for batch in batches:
        table = _read_row_groups(fragment, batch, file_columns, dataset.schema)
        for key, value in partition_keys.items():
            if key in present:
                table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
        if wanted_ids is None:
            keep = np.arange(table.num_rows)
        else:
            found = pc.utf8_trim_whitespace(pc.cast(table["client_id"], pa.string()))
            keep = np.flatnonzero(pc.is_in(found, value_set=wanted_ids).to_numpy(zero_copy_only=False))
            table = table.take(pa.array(keep))
        if keep.size == 0:
            continue
        numbers = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in batch]) if batch else np.arange(0)
        records = numbers[keep] + 1
        for offset in range(0, table.num_rows, rows):
            part = table.slice(offset, rows)
            cells = {}
            for c in present:
                try:
                    cells[c] = _as_text(part[c])
                except ValueError as exc:
                    raise InputError(file, f"column {c} {exc}") from None
            yield file, records[offset : offset + rows], pd.DataFrame(cells, columns=present)


class ParquetTable:
    """One Parquet table (a file or a dataset folder) as the batch reader
    reads a :class:`~cxroi_xl.batch.files.TableFile`: chunks of text cells.

    The chunks are indexed by a running number over the rows read (from 1),
    which the store keeps as the row; :meth:`finish` then puts every
    problem found on this table at its file and record number.
    """

    decimal_comma = False  # Parquet numbers are typed: no decimal comma to read

    def __init__(self, location: ParquetLocation, name: str, wanted: set[str] | None = None):
        self.location, self.name, self.wanted = location, name, wanted
        self.label = location.shown(name)
        self.path = Path(location.url) / location.tables[name]  # its suffix: ".parquet" or none
        self.saw_control = False
        self._starts: list[int] = []  # running number of each piece's first row
        self._places: list[tuple[str, np.ndarray]] = []  # (file, record numbers) per piece
        self._padded: list[tuple[str, dict]] = []

    def _columns(self) -> list[str]:
        if self.name == "clients":
            return list(CLIENT_COLUMNS)
        return ["client_id", *TABLES[self.name]]

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
        dataset = _dataset(self.location.url, self.location.tables[self.name], self.location.opened)
        present = [c for c in self._columns() if c in dataset.schema.names]
        self._starts, self._places, self._padded = [], [], []
        number = 1
        for file, records, frame in _pieces(self.location, self.name, present, self.wanted, rows=rows):
            frame.index = pd.RangeIndex(number, number + len(frame))
            self._starts.append(number)
            # consecutive records (a whole read) are kept as their first only
            self._places.append((file, int(records[0]) if records[-1] - records[0] + 1 == len(records) else records))
            number += len(frame)
            if not self.saw_control:
                self.saw_control = any(_has_control_character(frame[c]) for c in frame.columns)
            if self.wanted is None:
                self._padded.append((file, _padded_ids(frame, records)))
            yield frame
        if number == 1:
            yield pd.DataFrame({c: pd.Series([], dtype=object) for c in present}, index=pd.RangeIndex(1, 1))

    def read(self) -> pd.DataFrame:
        parts = list(self.chunks())
        return pd.concat(parts) if len(parts) > 1 else parts[0]

    def place(self, row: int) -> tuple[str, int]:
        """The file and record number of a running row number."""
        piece = bisect_right(self._starts, row) - 1
        file, records = self._places[piece]
        offset = row - self._starts[piece]
        return file, records + offset if isinstance(records, int) else int(records[offset])

    def finish(self, batch: BatchInput) -> None:
        """Problems on this table named by file and record; ids written
        with spaces around them named too (a by-client read, as on a
        cluster, could not match them, so both routes refuse them alike)."""
        placed = []
        for problem in batch.problems:
            if problem.file == self.label and problem.row is not None and self._starts:
                file, record = self.place(problem.row)
                message = problem.message
                other = _OTHER_ROW.search(message)  # a duplicate id names the row it clashes with
                if other:
                    other_file, other_record = self.place(int(other.group(1)))
                    where = f"row {other_record}" if other_file == file else f"{other_file} record {other_record}"
                    message = message[: other.start()] + f"also on {where}" + message[other.end() :]
                problem = Problem(problem.client_id, file, record, problem.column, message)
            placed.append(problem)
        batch.problems[:] = placed
        if self.name == "clients":
            batch.client_rows = {cid: self.place(row)[1] for cid, row in batch.client_rows.items()}
        if self._padded:
            batch.problems.extend(id_problems(self.name, [(file, {"padded": found, "unknown": {}}) for file, found in self._padded]))


_OTHER_ROW = re.compile(r"also on row (\d+)")


def _has_control_character(cells: pd.Series) -> bool:
    """Whether a text cell of a chunk's column (text or None, :func:`_as_text`)
    holds a control character: one search over the column's text joined by
    line feeds (not a control character the check looks for)."""
    return CONTROL_CHARACTERS.search("\n".join(cells.dropna().tolist())) is not None


def _stripped(cells: pd.Series) -> pd.Series:
    """Each id without surrounding spaces; "" for a blank."""
    return cells.str.strip().fillna("")


def _padded_ids(frame: pd.DataFrame, records: np.ndarray) -> dict[str, tuple[int, int]]:
    raw = frame["client_id"]
    stripped = _stripped(raw)
    padded = (raw.notna() & (raw != stripped)).to_numpy()
    found: dict[str, tuple[int, int]] = {}
    for client_id, where in pd.Series(records[padded]).groupby(stripped[padded].to_numpy(), sort=False):
        found[client_id] = (int(where.iat[0]), len(where))
    return found


def open_location_table(path: Path, name: str) -> ParquetTable:
    """A table of a local data folder given as ``NAME.parquet`` or ``NAME/``."""
    path = Path(path)
    return ParquetTable(ParquetLocation(str(path.parent), {name: path.name}, time.time()), name)


def client_ids(location: ParquetLocation) -> list[str]:
    """Every distinct client_id of ``clients`` in file order (stripped), read
    from that one column: what the coordinating process needs to partition."""
    ids: dict[str, None] = {}
    for _, _, frame in _pieces(location, "clients", ["client_id"], None):
        for value in frame["client_id"]:
            if isinstance(value, str) and value.strip():
                ids.setdefault(value.strip())
    return list(ids)


def partition_clients(ids: Iterable[str], size: int) -> list[list[str]]:
    """Consecutive groups of about ``size`` client ids; ids that differ only
    in case share a group, so the duplicate check sees them together."""
    if size < 1:
        raise ValueError("partition size must be at least 1")
    by_key: dict[str, list[str]] = {}
    for client_id in ids:
        by_key.setdefault(client_id.casefold(), []).append(client_id)
    partitions: list[list[str]] = [[]]
    for variants in by_key.values():
        if len(partitions[-1]) >= size:
            partitions.append([])
        partitions[-1].extend(variants)
    return [p for p in partitions if p]


def read_clients(location: ParquetLocation | str, ids: Iterable[str] | None) -> BatchInput:
    """The validated input of the given clients (all when ``ids`` is None),
    and only theirs: :func:`cxroi_xl.batch.tables.read_tables` over
    :class:`ParquetTable` sources read for these ids alone (columns and row
    groups pruned). Every problem in their rows is in ``problems`` exactly
    as the CSV input reports it, at the Parquet file and record. Rows of
    clients not in ``clients`` and padded ids are not seen by a by-client
    read: see :func:`scan_client_ids`. Close the result (or drop it) to
    remove its on-disk store.
    """
    if not isinstance(location, ParquetLocation):
        location = open_location(location)
    wanted = None if ids is None else set(ids)
    folder, lock = _new_store_folder()
    batch = BatchInput(data_dir=Path(location.url), clients={}, files={name: Path(location.url) / table for name, table in location.tables.items()}, folder=folder)
    batch._finalizer = weakref.finalize(batch, _remove_store, folder, lock)
    try:
        read_tables(batch, {name: ParquetTable(location, name, wanted) for name in location.tables})
    except BaseException:
        batch.close()
        raise
    return batch


def table_files(location: ParquetLocation, table: str) -> list[str]:
    """The table's Parquet files (relative to the location) in reading order."""
    dataset = _dataset(location.url, location.tables[table], location.opened)
    return sorted(_relative(location, f.path) for f in dataset.get_fragments())


def scan_client_ids(location: ParquetLocation, table: str, file: str, known: set[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """One file's ids that no by-client read would pick up: ``{"unknown": {id:
    (first record, rows)}, "padded": {...}}``. Reads the client_id column of
    that one file only, so a cluster can scan a huge table file by file."""
    found: dict[str, dict[str, tuple[int, int]]] = {"unknown": {}, "padded": {}}
    for _, records, frame in _pieces(location, table, ["client_id"], None, only_file=file):
        for client_id, (row, count) in _padded_ids(frame, records).items():
            first = found["padded"].get(client_id, (row, 0))
            found["padded"][client_id] = (first[0], first[1] + count)
        if table == "clients":
            continue
        stripped = _stripped(frame["client_id"])
        unknown = ~stripped.isin(known).to_numpy()
        for client_id, where in pd.Series(records[unknown]).groupby(stripped[unknown].to_numpy(), sort=False):
            first = found["unknown"].get(client_id, (int(where.iat[0]), 0))
            found["unknown"][client_id] = (first[0], first[1] + len(where))
    return found


def id_problems(table: str, scans: list[tuple[str, dict]]) -> list[Problem]:
    """Per-file scans (in file order) merged into problems worded as the CSV
    input words them: one per id, at its first row, counting the others."""
    problems = []
    for kind in ("padded", "unknown"):
        first: dict[str, tuple[str, int]] = {}
        total: dict[str, int] = {}
        for file, scan in scans:
            for client_id, (row, count) in scan[kind].items():
                first.setdefault(client_id, (file, row))
                total[client_id] = total.get(client_id, 0) + count
        for client_id, (file, row) in first.items():
            if kind == "padded":
                message = "client_id has spaces around it; write it without them in Parquet"
            else:
                more = f" (and {total[client_id] - 1} more rows)" if total[client_id] > 1 else ""
                message = f"client_id not in clients{more}"
            problems.append(Problem(client_id or "(blank)", file, row, "client_id", message))
    return problems


def unknown_client_problems(location: ParquetLocation | str, known: set[str], table: str) -> list[Problem]:
    """Rows of ``table`` whose client_id is not in ``clients``, and ids
    written with spaces around them: one problem per id with its first row,
    read from the client_id column file by file (:func:`scan_client_ids`,
    which a cluster runs one task per file)."""
    if not isinstance(location, ParquetLocation):
        location = open_location(location)
    if table not in location.tables:
        return []
    return id_problems(table, [(file, scan_client_ids(location, table, file, known)) for file in table_files(location, table)])


def read_parquet_batch(url: str | os.PathLike) -> BatchInput:
    """The whole batch in this process (what ``read_batch`` does for a local
    folder of Parquet tables), from a folder or an fsspec URL."""
    return read_clients(open_location(url), None)
