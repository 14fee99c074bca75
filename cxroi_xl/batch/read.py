"""Reading a data folder: each table from its file (CSV, .xlsx, or Parquet
as a file or a folder of files), validated into a :class:`BatchInput`.
"""
from __future__ import annotations

import weakref
from pathlib import Path

from .files import InputError, TableFile, find_table
from .parquet import open_location_table
from .tables import OPTIONAL_FILES, REQUIRED_FILES, BatchInput, _new_store_folder, _remove_store, read_tables

__all__ = ["read_batch", "open_table"]


def open_table(path: Path, name: str):
    """The reader of one table: a :class:`TableFile` for CSV and .xlsx, a
    :class:`cxroi_xl.batch.parquet.ParquetTable` for Parquet."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return open_location_table(path, name)
    return TableFile(path, name)


def read_batch(data_dir: Path) -> BatchInput:
    """Read and validate a data folder. Raises :class:`InputError` for
    whole-input problems; everything else is in ``problems``. Call
    :meth:`BatchInput.close` (or drop the object) to remove its store."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(str(data_dir), "not a folder")
    for name in REQUIRED_FILES:
        if find_table(data_dir, name) is None:
            raise InputError(f"{name}.csv", f"required file missing in {data_dir} ({name}.csv or {name}.xlsx)")
    files = {name: path for name in REQUIRED_FILES + OPTIONAL_FILES if (path := find_table(data_dir, name)) is not None}
    folder, lock = _new_store_folder()
    batch = BatchInput(data_dir=data_dir, clients={}, files=files, folder=folder)
    batch._finalizer = weakref.finalize(batch, _remove_store, folder, lock)
    try:
        read_tables(batch, {name: open_table(path, name) for name, path in files.items()})
    except BaseException:
        batch.close()
        raise
    return batch
