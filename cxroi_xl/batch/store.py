"""Validated batch tables kept on disk, column by column, read back one
client at a time.

``generate`` must not hold every client's rows in memory: a portfolio of
10,000 clients with 40 survey answers a month is ten million rows. Each
table is therefore appended, chunk by chunk as it is validated, to one
binary file per column (float64, datetime64 as int64, text as UTF-8 bytes
plus end offsets) in a private temporary folder, with a client code and the
spreadsheet row of every row. :meth:`ClientColumns.finish` then indexes the
rows by client: when each client's rows are contiguous (the usual export)
a start and stop per client suffice; otherwise a stable permutation sorted
by client is written beside the columns. Reading a client touches only its
rows, so memory stays flat however large the batch.

Every row also gets a 64-bit hash of its validated values
(:func:`pandas.util.hash_pandas_object`), so a client's input fingerprint is
a hash of its rows' hashes, in file order, computed without re-reading them.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["ClientColumns", "Kind"]

Kind = Literal["f8", "M8", "str"]
_INTERNAL = {"_code": np.dtype("<i4"), "_row": np.dtype("<i4"), "_hash": np.dtype("<u8")}


class ClientColumns:
    """One table's validated rows on disk, indexed by client code (the
    client's position in ``clients``; -1 for rows of unknown clients)."""

    def __init__(self, folder: Path, name: str, kinds: dict[str, Kind]):
        self.folder = Path(folder)
        self.name = name
        self.kinds = dict(kinds)
        self.length = 0
        self._text_bytes: dict[str, int] = {c: 0 for c, k in kinds.items() if k == "str"}
        self._handles = {key: open(self._path(key), "wb") for key in self._files()}
        self._starts: np.ndarray | None = None
        self._stops: np.ndarray | None = None
        self._permuted = False

    def _files(self) -> list[str]:
        keys = list(_INTERNAL)
        for column, kind in self.kinds.items():
            keys += [column, column + ".ends"] if kind == "str" else [column]
        return keys

    def _path(self, key: str) -> Path:
        return self.folder / f"{self.name}.{key}.bin"

    # -- writing -------------------------------------------------------------
    def append(self, frame: pd.DataFrame, codes: np.ndarray, rows: np.ndarray) -> None:
        """Add validated rows: ``frame`` holds the columns with their parsed
        values (NaN / NaT / None where invalid or blank)."""
        n = len(frame)
        if n == 0:
            return
        # the stored types, so a row hashes the same whatever else its chunk held
        canonical = {}
        for column, kind in self.kinds.items():
            values = frame[column]
            if kind == "f8":
                canonical[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype="<f8", na_value=np.nan)
            elif kind == "M8":
                canonical[column] = pd.to_datetime(values).to_numpy(dtype="datetime64[ns]")
            else:
                canonical[column] = pd.Series(values.to_numpy(dtype=object), dtype=object)
        frame = pd.DataFrame(canonical)
        hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype="<u8")
        for key, values in (("_code", codes), ("_row", rows), ("_hash", hashes)):
            np.asarray(values, dtype=_INTERNAL[key]).tofile(self._handles[key])
        for column, kind in self.kinds.items():
            values = frame[column]
            if kind == "f8":
                values.to_numpy().tofile(self._handles[column])
            elif kind == "M8":
                values.to_numpy().view("<i8").tofile(self._handles[column])
            else:
                data, lengths = _utf8(values.to_numpy(dtype=object))
                ends = np.cumsum(lengths) + self._text_bytes[column]
                self._handles[column].write(data)
                ends.tofile(self._handles[column + ".ends"])
                self._text_bytes[column] = int(ends[-1])
        self.length += n

    def finish(self, n_clients: int) -> None:
        """Close the files and index the rows by client."""
        for handle in self._handles.values():
            handle.close()
        codes = self.internal("_code")
        self._starts = np.zeros(n_clients, dtype=np.int64)
        self._stops = np.zeros(n_clients, dtype=np.int64)
        if len(codes) == 0:
            return
        boundaries = np.flatnonzero(np.diff(codes)) + 1
        run_starts = np.concatenate([[0], boundaries])
        run_stops = np.concatenate([boundaries, [len(codes)]])
        run_codes = codes[run_starts]
        known = run_codes >= 0
        if len(np.unique(run_codes[known])) == known.sum():
            # each client's rows are one contiguous block: no permutation
            self._starts[run_codes[known]] = run_starts[known]
            self._stops[run_codes[known]] = run_stops[known]
            return
        order = np.argsort(codes, kind="stable")
        sorted_codes = codes[order]
        self._starts = np.searchsorted(sorted_codes, np.arange(n_clients), side="left").astype(np.int64)
        self._stops = np.searchsorted(sorted_codes, np.arange(n_clients), side="right").astype(np.int64)
        order.astype("<i8").tofile(self._path("_order"))
        self._permuted = True

    # -- reading -------------------------------------------------------------
    def internal(self, key: str) -> np.ndarray:
        """A whole internal column (``_code``, ``_row``, ``_hash``)."""
        return np.fromfile(self._path(key), dtype=_INTERNAL[key])

    def column(self, name: str) -> np.ndarray:
        """A whole numeric or date column, in file order (for checks that
        run over every client at once)."""
        kind = self.kinds[name]
        values = np.fromfile(self._path(name), dtype="<f8" if kind == "f8" else "<i8")
        return values.view("datetime64[ns]") if kind == "M8" else values

    def _positions(self, code: int) -> slice | np.ndarray:
        start, stop = int(self._starts[code]), int(self._stops[code])
        if not self._permuted:
            return slice(start, stop)
        return np.fromfile(self._path("_order"), dtype="<i8", count=stop - start, offset=start * 8)

    def count(self, code: int) -> int:
        return int(self._stops[code] - self._starts[code])

    def _read(self, key: str, dtype: np.dtype, where: slice | np.ndarray) -> np.ndarray:
        dtype = np.dtype(dtype)
        if isinstance(where, slice):
            return np.fromfile(self._path(key), dtype=dtype, count=where.stop - where.start, offset=where.start * dtype.itemsize)
        if len(where) == 0:
            return np.empty(0, dtype=dtype)
        mapped = np.memmap(self._path(key), dtype=dtype, mode="r")
        try:
            return np.array(mapped[where])
        finally:
            del mapped

    def _read_text(self, column: str, where: slice | np.ndarray) -> list[str]:
        ends_key, data_path = column + ".ends", self._path(column)
        if isinstance(where, slice):
            if where.stop == where.start:
                return []
            first = where.start - 1
            ends = self._read(ends_key, "<i8", slice(max(first, 0), where.stop))
            begin = 0 if first < 0 else int(ends[0])
            ends = ends if first < 0 else ends[1:]
            with open(data_path, "rb") as handle:
                handle.seek(begin)
                data = handle.read(int(ends[-1]) - begin)
            bounds = np.concatenate([[0], ends - begin])
            return [data[a:b].decode("utf-8") for a, b in zip(bounds[:-1], bounds[1:])]
        if len(where) == 0:
            return []
        all_ends = np.memmap(self._path(ends_key), dtype="<i8", mode="r")
        data = np.memmap(data_path, dtype=np.uint8, mode="r") if self._text_bytes[column] else np.empty(0, np.uint8)
        try:
            out = []
            for p in where:
                end = int(all_ends[p])
                begin = int(all_ends[p - 1]) if p > 0 else 0
                out.append(bytes(data[begin:end]).decode("utf-8"))
            return out
        finally:
            del all_ends, data

    def client_frame(self, code: int) -> pd.DataFrame:
        """The client's rows, in file order, with the columns' parsed types."""
        where = self._positions(code)
        data = {}
        for column, kind in self.kinds.items():
            if kind == "f8":
                data[column] = self._read(column, "<f8", where)
            elif kind == "M8":
                data[column] = self._read(column, "<i8", where).view("datetime64[ns]")
            else:
                data[column] = pd.Series(self._read_text(column, where), dtype=object)
        return pd.DataFrame(data)

    def client_rows(self, code: int) -> np.ndarray:
        return self._read("_row", _INTERNAL["_row"], self._positions(code))

    def client_digest(self, code: int) -> bytes:
        """A fingerprint of exactly the client's validated rows, in order."""
        hashes = self._read("_hash", _INTERNAL["_hash"], self._positions(code))
        return hashlib.blake2b(hashes.tobytes(), digest_size=16, person=self.name.encode()[:16]).digest()


def _utf8(cells: np.ndarray) -> tuple[bytes, np.ndarray]:
    """The cells' UTF-8 bytes end to end and each cell's length in bytes (a
    cell that is not text is empty). ASCII text, the usual kind, is joined
    and measured in one pass each, without encoding cell by cell.

    >>> data, lengths = _utf8(np.array(["ab", None, "é"], dtype=object))
    >>> data, lengths.tolist()
    (b'ab\\xc3\\xa9', [2, 0, 2])
    """
    texts = pd.Series(cells, dtype=object)
    if pd.api.types.infer_dtype(texts, skipna=True) in ("string", "empty"):
        filled = texts.where(texts.notna(), "")
        joined = "".join(filled.tolist())
        if joined.isascii():
            return joined.encode("ascii"), filled.str.len().to_numpy(dtype="<i8")
    encoded = [v.encode("utf-8") if isinstance(v, str) else b"" for v in cells]
    return b"".join(encoded), np.fromiter(map(len, encoded), dtype="<i8", count=len(encoded))
