"""Batch generation: one finished workbook per client, a summary, a portfolio.

``generate`` validates the data folder (:mod:`cxroi_xl.batch_input`), then
builds each valid client's workbook in a pool of worker processes, writing
every file atomically (temporary file in the same folder, then rename), so
an interrupted run never leaves a partial workbook and a rerun picks up
where it stopped. One client's failure never costs the others.
"""
from __future__ import annotations

import csv
import io
import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .batch_input import BatchInput, InputError, Problem, read_batch
from .errors import CXError
from .summary import SUMMARY_COLUMNS, read_fx, summary_row
from .tracker import TrackerInput

__all__ = ["SUMMARY_COLUMNS", "ERROR_COLUMNS", "BatchResult", "generate", "summary_row"]

ERROR_COLUMNS = ("client_id", "file", "row", "column", "message")
# Input tables a template cannot do without, beyond clients and kpis.
TABLE_REQUIRED_BY_TEMPLATE = {"customer_value": "transactions", "attribution": "journeys"}
_TMP_MARK = ".tmp"


@dataclass
class BatchResult:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # up to date, not rebuilt
    failed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _exchange_rates(batch: BatchInput, report_currency: str) -> dict[str, float] | None:
    """fx.csv's rates, checked to cover every client's currency."""
    rates = read_fx(batch.data_dir, report_currency)
    if rates is not None:
        for client_id in batch.valid_client_ids():
            currency = batch.clients[client_id].currency
            if currency not in rates:
                raise InputError("fx.csv", f"no rate for {currency} (client {client_id}); add a row {currency},<units of {report_currency} per {currency}>")
    return rates


def _build_client(data: TrackerInput, template: str, mode: str, out_path: Path) -> dict:
    """Worker: build, save atomically, return the summary row."""
    from .workbooks.build import build_client_workbook

    row = summary_row(data)
    build_client_workbook(data, template, mode, out_path)
    return row


def _csv_text(value) -> str:
    """A cell for a CSV that spreadsheets will open: text that would start a
    formula is prefixed with an apostrophe (OWASP's CSV-injection advice)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    if isinstance(value, str):
        return value
    return repr(float(value)) if isinstance(value, float) else str(value)


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict]) -> Path:
    from .workbooks.common import write_atomic

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(columns)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_text(row.get(c)) for c in columns])
    return write_atomic(path, buffer.getvalue().encode("utf-8"))


def built_as(path: Path) -> tuple[str, str] | None:
    """(template, mode) recorded in a generated workbook's properties, so a
    rerun with another template or mode rebuilds instead of skipping."""
    import re
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            custom = archive.read("docProps/custom.xml").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    found = dict(re.findall(r'name="cxroi-xl (template|mode)"[^>]*>\s*<vt:lpwstr[^>]*>([^<]*)</vt:lpwstr>', custom))
    return (found["template"], found["mode"]) if len(found) == 2 else None


def _remove_stale_temporaries(out_dir: Path) -> None:
    """Temporary files left by a run that was killed mid-write."""
    for leftover in out_dir.glob(f".*{_TMP_MARK}"):
        leftover.unlink(missing_ok=True)


def generate(
    data_dir: Path,
    out_dir: Path,
    template: str = "cx_automation_roi",
    mode: str = "values",
    jobs: int | None = None,
    force: bool = False,
    dry_run: bool = False,
    on_progress: Callable[[str, str], None] | None = None,
    batch: BatchInput | None = None,
    report_currency: str = "USD",
) -> BatchResult:
    """Generate every valid client's workbook plus summary, errors, portfolio.

    Raises :class:`cxroi_xl.batch_input.InputError` for whole-input
    problems before anything is written.
    """
    started = time.perf_counter()
    from .workbooks.build import BUILDERS

    if template not in BUILDERS:
        raise ValueError(f"unknown template {template!r}; choose from {', '.join(BUILDERS)}")
    if mode not in ("values", "live"):
        raise ValueError("mode must be 'values' or 'live'")
    batch = batch or read_batch(Path(data_dir))
    needed = TABLE_REQUIRED_BY_TEMPLATE.get(template)
    if needed and needed not in batch.files:
        raise InputError(f"{needed}.csv", f"required by --template {template} ({needed}.csv or {needed}.xlsx in {batch.data_dir})")
    fx = _exchange_rates(batch, report_currency)
    result = BatchResult(problems=list(batch.problems))
    result.failed = sorted(batch.failed)
    out_dir = Path(out_dir)
    client_ids = batch.valid_client_ids()
    if dry_run:
        result.skipped = client_ids
        result.seconds = time.perf_counter() - started
        return result
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(out_dir), f"cannot be used as the output folder ({exc.strerror or exc})") from None
    _remove_stale_temporaries(out_dir)
    input_mtime = batch.input_mtime()

    rows: dict[str, dict] = {}
    todo: list[str] = []
    for client_id in client_ids:
        path = out_dir / f"{client_id}.xlsx"
        if not force and path.exists() and path.stat().st_mtime > input_mtime and built_as(path) == (template, mode):
            try:
                rows[client_id] = summary_row(batch.tracker_input(client_id))
                result.skipped.append(client_id)
                if on_progress:
                    on_progress(client_id, "skipped")
                continue
            except CXError:
                pass  # let the build report it
        todo.append(client_id)

    def record_failure(client_id: str, exc: BaseException) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        result.problems.append(Problem(client_id, batch.files["clients"].name, batch.client_rows.get(client_id), "", message))
        result.failed.append(client_id)

    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or len(todo) <= 1:
        for client_id in todo:
            try:
                rows[client_id] = _build_client(batch.tracker_input(client_id), template, mode, out_dir / f"{client_id}.xlsx")
                result.built.append(client_id)
                status = "built"
            except Exception as exc:  # one client's failure never costs the others
                record_failure(client_id, exc)
                status = "failed"
            if on_progress:
                on_progress(client_id, status)
    else:
        # Keep a bounded number of clients in flight so memory stays flat
        # however many clients the batch has.
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            pending: dict[Future, str] = {}
            queue = iter(todo)

            def submit_next() -> bool:
                for client_id in queue:
                    try:
                        future = pool.submit(_build_client, batch.tracker_input(client_id), template, mode, out_dir / f"{client_id}.xlsx")
                    except BrokenProcessPool as exc:
                        # a worker died (killed, out of memory): the clients it
                        # cannot take are reported, the others are kept
                        record_failure(client_id, RuntimeError(f"a worker process died ({exc}); rerun to build this client"))
                        if on_progress:
                            on_progress(client_id, "failed")
                        continue
                    pending[future] = client_id
                    return True
                return False

            for _ in range(jobs * 4):
                if not submit_next():
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    client_id = pending.pop(future)
                    try:
                        rows[client_id] = future.result()
                        result.built.append(client_id)
                        status = "built"
                    except Exception as exc:
                        record_failure(client_id, exc)
                        status = "failed"
                    if on_progress:
                        on_progress(client_id, status)
                    submit_next()

    ordered = [rows[cid] for cid in client_ids if cid in rows]
    write_csv(out_dir / "summary.csv", SUMMARY_COLUMNS, ordered)
    errors_path = out_dir / "errors.csv"
    if result.problems:
        write_csv(errors_path, ERROR_COLUMNS, (p.as_row() for p in result.problems))
    else:
        errors_path.unlink(missing_ok=True)
    from .workbooks.portfolio import write_portfolio

    write_portfolio(ordered, out_dir / "portfolio.xlsx", fx=fx, report_currency=report_currency)
    result.failed = sorted(set(result.failed))
    result.seconds = time.perf_counter() - started
    return result
