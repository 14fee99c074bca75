"""Batch input as Parquet: a file or a dataset folder per table, read per client.

A data location (a local folder or an fsspec URL such as ``s3://bucket/data``)
holds each table of ``cxroi-xl generate`` as ``NAME.parquet`` or as a folder
``NAME/`` of Parquet files, hive-partitioned (``kpis/region=eu/part-0.parquet``)
or not. The columns, the rules each cell must meet and the wording of every
problem are those of the CSV input (:mod:`cxroi_xl.batch_input`, imported,
not restated): each cell is turned into the text a CSV would hold (numbers
as written, dates as YYYY-MM-DD, blanks and NaN as blank) and validated by
the same vectorised rules. A problem names the Parquet file (relative to the
location) and the 1-based record number within that file.

Reading is by client, so a worker of a cluster reads only its own clients:
:func:`read_clients` reads only the needed columns, skips files whose hive
partition or row-group statistics exclude the wanted ``client_id`` values,
and filters the rest row group by row group. Data sorted by ``client_id``
(as a database export usually is) lets the statistics skip nearly all row
groups. Whole-input problems (a required table or column missing, an
unreadable file) are found by :func:`open_location` from the files' schemas
alone and raise :class:`~cxroi_xl.batch_input.InputError`, as for CSV.

Checks that need every row of a table rather than one client's (rows whose
``client_id`` is not in ``clients``) are :func:`unknown_client_problems`, one
file at a time. Needs the ``cxroi-xl[dask]`` extra (pyarrow, fsspec).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Iterable

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .batch_input import (
    OPTIONAL_FILES,
    REQUIRED_FILES,
    RESERVED_IDS,
    TABLES,
    BatchInput,
    ClientRecord,
    InputError,
    Problem,
    _check_journeys,
    _check_months,
    _shown,
    _validate_column,
)
from .tracker import KPI_COLUMNS

__all__ = ["ParquetLocation", "ParquetBatchInput", "open_location", "client_ids", "partition_clients", "read_clients", "read_parquet_batch", "unknown_client_problems", "scan_client_ids", "id_problems", "table_files"]

CLIENT_COLUMNS = ("client_id", "client_name", "go_live", "currency", "discount_rate", "benefit_risk", "cost_risk")
_FILE, _ROW = "__file", "__row"


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
    return location


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
    else:
        text = pc.cast(column, pa.string())
    series = pd.Series(text.to_pylist(), dtype=object)
    return series.where(series != "", None)


def _read_rows(location: ParquetLocation, name: str, columns: Iterable[str], wanted: set[str] | None, only_file: str | None = None) -> pd.DataFrame:
    """The table's rows whose stripped client_id is in ``wanted`` (all rows
    when None), as text, with the file and 1-based record number of each.

    Files whose hive keys or row-group statistics exclude the wanted ids are
    not read; only ``columns`` are read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    dataset = _dataset(location.url, location.tables[name], location.opened)
    present = [c for c in columns if c in dataset.schema.names]
    id_type = dataset.schema.field("client_id").type
    # Pushed down only for text ids written without padding: the filter
    # compares exact text, while the CSV rules strip spaces around an id.
    pushdown = ds.field("client_id").isin(sorted(wanted)) if wanted is not None and (pa.types.is_string(id_type) or pa.types.is_large_string(id_type)) else None
    pieces = []
    for fragment in sorted(dataset.get_fragments(filter=pushdown), key=lambda f: f.path):
        file = _relative(location, fragment.path)
        if only_file is not None and file != only_file:
            continue
        partition_keys = ds.get_partition_keys(fragment.partition_expression) or {}
        file_columns = [c for c in present if c not in partition_keys]
        metadata = fragment.metadata
        starts = np.concatenate([[0], np.cumsum([metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)])])
        groups = fragment.split_by_row_group(filter=pushdown, schema=dataset.schema) if pushdown is not None else fragment.split_by_row_group(schema=dataset.schema)
        for group in groups:
            table = group.to_table(columns=file_columns, schema=dataset.schema)
            for key, value in partition_keys.items():
                if key in present:
                    table = table.append_column(key, pa.array([value] * table.num_rows, pa.string()))
            ids = pc.utf8_trim_whitespace(pc.cast(table["client_id"], pa.string()))
            if wanted is None:
                keep = np.arange(table.num_rows)
            else:
                keep = np.flatnonzero(pc.is_in(ids, value_set=pa.array(sorted(wanted), pa.string())).to_numpy(zero_copy_only=False))
            if keep.size == 0:
                continue
            table = table.take(pa.array(keep))
            frame = pd.DataFrame({c: _as_text(table[c]) for c in present})
            frame[_FILE] = file
            frame[_ROW] = starts[group.row_groups[0].id] + keep + 1
            pieces.append(frame)
    if not pieces:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in [*present, _FILE]}).assign(**{_ROW: pd.Series([], dtype=np.int64)})
    return pd.concat(pieces, ignore_index=True)


def client_ids(location: ParquetLocation) -> list[str]:
    """Every distinct client_id of ``clients`` in file order (stripped), read
    from that one column: what the coordinating process needs to partition."""
    frame = _read_rows(location, "clients", ["client_id"], None)
    ids = frame["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    return list(dict.fromkeys(i for i in ids if i))


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


class ParquetBatchInput(BatchInput):
    """:class:`BatchInput` read from Parquet; the data's age is that of its
    newest file (a local location) or unknown (a URL: nothing counts as up
    to date)."""

    location: ParquetLocation | None = None

    def input_mtime(self) -> float:
        fs, root = _filesystem(self.location.url)
        protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
        if "file" not in protocols:
            return float("inf")
        newest = 0.0
        for table in self.location.tables.values():
            for path in fs.find(f"{root.rstrip('/')}/{table}") or [f"{root.rstrip('/')}/{table}"]:
                newest = max(newest, os.stat(path).st_mtime)
        return newest if newest else time.time()


def _validate_clients(frame: pd.DataFrame, batch: BatchInput, location: ParquetLocation) -> None:
    """``batch_input``'s clients rules, row by row in file order."""
    seen: dict[str, tuple[str, int]] = {}
    present = [c for c in CLIENT_COLUMNS if c in frame.columns]
    for row in frame[[*present, _FILE, _ROW]].to_dict("records"):
        file, number = row[_FILE], int(row[_ROW])
        values = {k: row[k] for k in present if row[k] is not None and str(row[k]).strip() != ""}
        client_id = str(values.get("client_id", "")).strip() or f"(row {number})"
        key = client_id.lower()
        if key in seen:
            where = f"row {seen[key][1]}" if seen[key][0] == file else f"{seen[key][0]} record {seen[key][1]}"
            batch.problems.append(Problem(client_id, file, number, "client_id", f"duplicate client_id (also on {where}; ids differing only in case would share a file name)"))
            continue
        seen[key] = (file, number)
        if key in RESERVED_IDS:
            batch.problems.append(Problem(client_id, file, number, "client_id", f"{client_id!r} is reserved for the batch's own files"))
            continue
        try:
            record = ClientRecord.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                column = str(error["loc"][0]) if error["loc"] else ""
                message = error["msg"]
                if error["type"] == "string_pattern_mismatch":
                    message = {"client_id": "expected letters, digits, - and _ only", "currency": "expected a three-letter ISO code"}.get(column, message)
                batch.problems.append(Problem(client_id, file, number, column, message))
            batch.clients.setdefault(client_id, None)
            continue
        batch.clients[client_id] = record
        batch.client_rows[client_id] = number


def _validate_table(name: str, frame: pd.DataFrame, batch: BatchInput) -> None:
    """``batch_input``'s column rules for one table's rows (of known clients)."""
    rules = TABLES[name]
    client_id = frame["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    parsed = {"client_id": client_id}
    for column, rule in rules.items():
        if column not in frame.columns:
            parsed[column] = pd.Series([None] * len(frame), dtype=object)
            continue
        values, bad = _validate_column(frame[column], rule)
        parsed[column] = values
        for index in np.flatnonzero(bad):
            batch.problems.append(Problem(client_id.iat[index] or "(blank)", frame[_FILE].iat[index], int(frame[_ROW].iat[index]), column, f"expected {rule.expected()}, got {_shown(frame[column].iat[index])}"))
    table = pd.DataFrame(parsed)
    # batch_input's later checks name a row by "_row" alone: a running number
    # here, mapped back to (file, record) by _place_rows
    table["_row"] = np.arange(len(frame)) + 1
    batch.tables[name] = {cid: group.drop(columns="client_id") for cid, group in table.groupby("client_id", sort=False)}


def _tidy(batch: BatchInput) -> None:
    """The per-client tables in the engine's shapes (as ``read_batch`` leaves them)."""
    for name, by_client in batch.tables.items():
        for client_id, frame in by_client.items():
            frame = frame.drop(columns="_row")
            if name == "kpis":
                frame[list(KPI_COLUMNS)] = frame[list(KPI_COLUMNS)].astype(float)
            elif name == "surveys":
                frame[["nps", "csat", "ces"]] = frame[["nps", "csat", "ces"]].astype(float)
            elif name in ("costs", "transactions"):
                frame["amount"] = frame["amount"].astype(float)
            elif name == "journeys":
                frame[["conversions", "value", "nulls"]] = frame[["conversions", "value", "nulls"]].astype(float)
            by_client[client_id] = frame.reset_index(drop=True)


def _place_rows(problem: Problem, places: dict[str, pd.DataFrame]) -> Problem:
    """A problem found on a table's running row number -> its file and record."""
    rows = places.get(problem.file)
    if rows is None or problem.row is None:
        return problem
    index = problem.row - 1
    return Problem(problem.client_id, rows[_FILE].iat[index], int(rows[_ROW].iat[index]), problem.column, problem.message)


def read_clients(location: ParquetLocation | str, ids: Iterable[str]) -> ParquetBatchInput:
    """The validated input of the given clients, and only theirs.

    Every table is read for these ids alone (columns and row groups pruned);
    each problem found in their rows is in ``problems`` exactly as the CSV
    input reports it, with the Parquet file and record number. Rows of
    clients not in ``clients`` are not seen here: see
    :func:`unknown_client_problems`.
    """
    if not isinstance(location, ParquetLocation):
        location = open_location(location)
    wanted = set(ids)
    batch = ParquetBatchInput(data_dir=Path(location.url), clients={})
    batch.location = location
    batch.files = {name: Path(location.url) / table for name, table in location.tables.items()}
    clients = _read_rows(location, "clients", CLIENT_COLUMNS, wanted)
    _validate_clients(clients, batch, location)
    known = set(batch.clients)
    read: dict[str, pd.DataFrame] = {}
    for name in ("kpis", "costs", "surveys", "transactions", "journeys"):
        if name in location.tables:
            rows = _read_rows(location, name, ["client_id", *TABLES[name]], known)
            _validate_table(name, rows, batch)
            read[name] = rows
    # month and journey checks name the table; a folder is shown as kpis/
    batch.files = {name: Path(location.url) / location.shown(name) for name in location.tables}
    checked_from = len(batch.problems)
    _check_months(batch, location.shown("kpis"))
    _check_journeys(batch)
    places = {location.shown(name): rows for name, rows in read.items()} | {Path(location.url, location.shown(name)).name: rows for name, rows in read.items()}
    batch.problems[checked_from:] = [_place_rows(p, places) for p in batch.problems[checked_from:]]
    batch.files = {name: Path(location.url) / table for name, table in location.tables.items()}
    _tidy(batch)
    return batch


def table_files(location: ParquetLocation, table: str) -> list[str]:
    """The table's Parquet files (relative to the location) in reading order."""
    dataset = _dataset(location.url, location.tables[table], location.opened)
    return sorted(_relative(location, f.path) for f in dataset.get_fragments())


def scan_client_ids(location: ParquetLocation, table: str, file: str, known: set[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """One file's ids that no by-client read would pick up: ``{"unknown": {id:
    (first record, rows)}, "padded": {...}}``. Reads the client_id column of
    that one file only, so a cluster can scan a huge table file by file."""
    ids = _read_rows(location, table, ["client_id"], None, only_file=file)
    stripped = ids["client_id"].map(lambda v: v.strip() if isinstance(v, str) else "")
    found: dict[str, dict[str, tuple[int, int]]] = {"unknown": {}, "padded": {}}
    padded = (ids["client_id"].notna() & (ids["client_id"] != stripped)).to_numpy()
    unknown = ~stripped.isin(known).to_numpy() if table != "clients" else np.zeros(len(ids), dtype=bool)
    for kind, mask in (("padded", padded), ("unknown", unknown)):
        for client_id, rows in ids[mask].groupby(stripped[mask].to_numpy(), sort=False):
            found[kind][client_id] = (int(rows[_ROW].iat[0]), len(rows))
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
    """Rows of ``table`` whose client_id is not in ``clients``: one problem per
    unknown id with its first row, as the CSV input reports them. Reads only
    the client_id column, file by file (:func:`scan_client_ids`, which a
    cluster runs one task per file).

    Also reported: ids written with spaces around them. The CSV input strips
    them, but here the by-client reads compare exact text, so such a row
    would not reach its client: it is named instead of lost.
    """
    if not isinstance(location, ParquetLocation):
        location = open_location(location)
    if table not in location.tables:
        return []
    return id_problems(table, [(file, scan_client_ids(location, table, file, known)) for file in table_files(location, table)])


def read_parquet_batch(url: str | os.PathLike) -> ParquetBatchInput:
    """The whole batch in this process (the local executor's Parquet route):
    every client, plus the rows of unknown clients."""
    location = open_location(url)
    batch = read_clients(location, client_ids(location))
    if not batch.clients:
        raise InputError(location.shown("clients"), "holds no clients")
    for name in location.tables:
        batch.problems.extend(unknown_client_problems(location, set(batch.clients), name))
    return batch
