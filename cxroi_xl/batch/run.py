"""Batch generation: one finished workbook per client, a summary, a portfolio.

``generate`` validates the data folder (:mod:`cxroi_xl.batch.tables`), then
builds each valid client's workbook in a pool of worker processes. One
client's failure never costs the others.

What it promises about the output folder OUT:

* Outputs never touch inputs: OUT may not be the data folder or hold any
  input table, and client ids may not be named like a file the run reads or
  writes, nor like a Windows device (see :func:`cxroi_xl.batch.tables.reserved_id_reason`).
* Nothing stale: ``OUT/manifest.json`` (:mod:`cxroi_xl.batch.manifest`) records
  a fingerprint of the input and settings behind every workbook; a rerun
  rebuilds exactly the clients whose fingerprint changed. A client that now
  fails, or left the clients table, has its old workbook moved to
  ``OUT/stale/`` (never deleted), so ``summary.csv`` and ``portfolio.xlsx``
  describe exactly the workbooks in OUT's top level.
* Nothing half-written: every file is first written into the run's own
  hidden folder ``OUT/.cxroi-run-<pid>-<random>`` and renamed into place.
  The run holds a lock on OUT; folders of runs that no longer hold it are
  removed by the next run, and no other file is ever deleted.
* Workers end with their parent, even when it is killed.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import secrets
import shutil
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .read import read_batch
from .tables import BatchInput, InputError, Problem, reserved_id_reason
from .manifest import MANIFEST_NAME, Manifest, fingerprint, process_alive
from ..workbooks.summary_columns import SUMMARY_COLUMNS
from .summary import read_fx, summary_row
from ..engine.tracker import TrackerInput

__all__ = ["SUMMARY_COLUMNS", "ERROR_COLUMNS", "BatchResult", "generate", "summary_row"]

ERROR_COLUMNS = ("client_id", "file", "row", "column", "message")
# Input tables a template cannot do without, beyond clients and kpis.
TABLE_REQUIRED_BY_TEMPLATE = {"customer_value": "transactions", "attribution": "journeys"}
RUN_PREFIX = ".cxroi-run-"
_RUN_FOLDER = re.compile(r"^\.cxroi-run-(\d+)-[0-9a-f]{16}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STALE_DIR = "stale"


@dataclass
class BatchResult:
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # up to date, not rebuilt
    failed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # old workbooks moved to OUT/stale/
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
    from ..calc.workbook import complete_values
    from ..workbooks.build import build_client_workbook

    model = data.model()  # once, for the summary line and the workbook
    row = summary_row(data, model)
    # a client whose data the engine refuses gets its values from the evaluator
    build_client_workbook(data, template, mode, out_path, model, interpret=complete_values)
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


def csv_bytes(columns: Iterable[str], rows: Iterable[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(columns)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_text(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def write_csv(path: Path, columns: Iterable[str], rows: Iterable[dict]) -> Path:
    from ..workbooks.common import write_atomic

    return write_atomic(path, csv_bytes(columns, rows))




# -- the worker side ------------------------------------------------------------
def _watch_parent(parent_pid: int, every: float = 0.5) -> None:
    """Pool initializer: end this worker as soon as its parent is gone (a
    killed parent cannot shut its pool down). The worker's parent changes
    to another process when it dies, which a daemon thread checks."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(every)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _pool(jobs: int) -> ProcessPoolExecutor:
    import multiprocessing

    # spawn: workers start clean instead of inheriting the parent's memory
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_watch_parent, initargs=(os.getpid(),))


# -- the output folder ------------------------------------------------------------
def check_out_dir(batch: BatchInput, out_dir: Path) -> None:
    """Refuse an output folder that is, or holds, any input table."""
    out = Path(out_dir).resolve()
    for name, path in batch.files.items():
        source = path.resolve()
        if source.parent == out or out in source.parents:
            raise InputError(
                str(out_dir),
                f"holds the input table {path.name}; choose an output folder outside the data folder, so no workbook, summary or stale copy can overwrite your input",
            )


class _OutputFolder:
    """OUT while a run writes to it: the lock, the run's private folder, the
    manifest, and moves to stale/."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = self._lock(out_dir)
        except OSError as exc:
            raise InputError(str(out_dir), f"cannot be used as the output folder ({exc.strerror or exc})") from None
        self.manifest = Manifest(out_dir)
        self._remove_dead_runs()
        self.run_dir = out_dir / f"{RUN_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        self.run_dir.mkdir()
        self.manifest.open_journal(self.run_dir / "journal.jsonl")

    @staticmethod
    def _lock(out_dir: Path) -> int | None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: liveness by pid only
            return None
        fd = os.open(out_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError(str(out_dir), "another cxroi-xl generate is writing to this folder; wait for it or choose another") from None
        return fd

    def _remove_dead_runs(self) -> None:
        """Folders of runs that were killed: their finished workbooks are
        taken into the manifest, the rest (temporary files) removed. Only
        our own folders are touched; with the lock held no other run is live."""
        for entry in self.out_dir.iterdir():
            found = _RUN_FOLDER.match(entry.name)
            if not found or not entry.is_dir():
                continue
            if self._lock_fd is None and process_alive(int(found.group(1))):
                continue
            self.manifest.replay(entry / "journal.jsonl")
            shutil.rmtree(entry, ignore_errors=True)

    def workbook(self, client_id: str) -> Path:
        return self.out_dir / f"{client_id}.xlsx"

    def publish(self, name: str, data: bytes | None = None) -> Path:
        """Rename a file written in the run folder into OUT (writing it
        first when ``data`` is given)."""
        staged = self.run_dir / name
        if data is not None:
            with open(staged, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staged, self.out_dir / name)
        return self.out_dir / name

    def move_to_stale(self, client_id: str, reason: str) -> str | None:
        """Move the client's old workbook out of OUT's top level, keeping
        every earlier stale copy. Returns where it went, or None."""
        if not _SAFE_ID.match(client_id) or reserved_id_reason(client_id):
            return None
        source = self.workbook(client_id)
        if not source.is_file():
            return None
        stale = self.out_dir / STALE_DIR
        stale.mkdir(exist_ok=True)
        target = stale / source.name
        if target.exists():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            target = next(stale / f"{client_id}.{stamp}{'' if i == 0 else f'-{i}'}.xlsx" for i in range(10_000) if not (stale / f"{client_id}.{stamp}{'' if i == 0 else f'-{i}'}.xlsx").exists())
        os.replace(source, target)
        moved_to = f"{STALE_DIR}/{target.name}"
        self.manifest.moved_to_stale(client_id, moved_to, reason)
        return moved_to

    def close(self) -> None:
        self.manifest.close_journal()
        self.publish(MANIFEST_NAME, self.manifest.content())
        shutil.rmtree(self.run_dir, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


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

    Raises :class:`cxroi_xl.batch.tables.InputError` for whole-input
    problems (and an unusable output folder) before anything is written.
    """
    started = time.perf_counter()
    from ..workbooks.build import BUILDERS

    if template not in BUILDERS:
        raise ValueError(f"unknown template {template!r}; choose from {', '.join(BUILDERS)}")
    if mode not in ("values", "live"):
        raise ValueError("mode must be 'values' or 'live'")
    batch = batch or read_batch(Path(data_dir))
    needed = TABLE_REQUIRED_BY_TEMPLATE.get(template)
    if needed and needed not in batch.files:
        raise InputError(f"{needed}.csv", f"required by --template {template} ({needed}.csv or {needed}.xlsx in {batch.data_dir})")
    fx = _exchange_rates(batch, report_currency)
    out_dir = Path(out_dir)
    check_out_dir(batch, out_dir)
    result = BatchResult(problems=list(batch.problems))
    result.failed = sorted(batch.failed)
    client_ids = batch.valid_client_ids()
    if dry_run:
        result.skipped = client_ids
        result.seconds = time.perf_counter() - started
        return result
    folder = _OutputFolder(out_dir)
    try:
        _generate_into(folder, batch, client_ids, template, mode, jobs, force, on_progress, result, fx, report_currency)
    finally:
        folder.close()
    result.failed = sorted(set(result.failed))
    result.seconds = time.perf_counter() - started
    return result


def _generate_into(
    folder: _OutputFolder,
    batch: BatchInput,
    client_ids: list[str],
    template: str,
    mode: str,
    jobs: int | None,
    force: bool,
    on_progress: Callable[[str, str], None] | None,
    result: BatchResult,
    fx: dict[str, float] | None = None,
    report_currency: str = "USD",
) -> None:
    manifest = folder.manifest
    clients_label = batch.labels.get("clients", "clients.csv")

    def retire(client_id: str, reason: str, report: bool = True) -> None:
        moved_to = folder.move_to_stale(client_id, reason)
        if moved_to:
            result.stale.append(client_id)
        if moved_to and report:
            result.problems.append(Problem(client_id, clients_label, batch.client_rows.get(client_id), "", f"previous workbook moved to {moved_to}: {reason}"))
        else:
            manifest.forget(client_id)

    # Clients that now fail validation, or left the clients table, lose
    # their old workbook from OUT's top level.
    first_reason: dict[str, str] = {}
    for problem in batch.problems:
        first_reason.setdefault(problem.client_id, f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "") + f": {problem.message}")
    for client_id in sorted(batch.failed):
        retire(client_id, "this client now fails: " + first_reason[client_id])
    for client_id in [cid for cid in list(manifest.clients) if cid not in batch.clients]:
        retire(client_id, f"no longer in {clients_label}", report=False)

    rows: dict[str, dict] = {}
    prints: dict[str, str] = {}
    todo: list[str] = []
    for client_id in client_ids:
        prints[client_id] = fingerprint(batch.client_digest(client_id), template, mode)
        stored = None if force else manifest.up_to_date(client_id, prints[client_id], folder.workbook(client_id))
        if stored is not None and all(column in stored for column in SUMMARY_COLUMNS):
            rows[client_id] = stored
            result.skipped.append(client_id)
            if on_progress:
                on_progress(client_id, "skipped")
        else:
            todo.append(client_id)

    def record_failure(client_id: str, exc: BaseException) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        result.problems.append(Problem(client_id, clients_label, batch.client_rows.get(client_id), "", message))
        result.failed.append(client_id)
        retire(client_id, f"this client now fails: {message}")

    def record_success(client_id: str, row: dict) -> None:
        path = folder.publish(f"{client_id}.xlsx")
        rows[client_id] = manifest.record(client_id, prints[client_id], path, row)
        result.built.append(client_id)

    jobs = max(1, jobs or os.cpu_count() or 1)
    if jobs == 1 or len(todo) <= 1:
        for client_id in todo:
            try:
                record_success(client_id, _build_client(batch.tracker_input(client_id), template, mode, folder.run_dir / f"{client_id}.xlsx"))
                status = "built"
            except Exception as exc:  # one client's failure never costs the others
                record_failure(client_id, exc)
                status = "failed"
            if on_progress:
                on_progress(client_id, status)
    else:
        # A bounded number of clients in flight, each materialised from the
        # store only when submitted: memory stays flat however many clients.
        with _pool(jobs) as pool:
            pending: dict[Future, str] = {}
            queue = iter(todo)

            def submit_next() -> bool:
                for client_id in queue:
                    try:
                        future = pool.submit(_build_client, batch.tracker_input(client_id), template, mode, folder.run_dir / f"{client_id}.xlsx")
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
                        record_success(client_id, future.result())
                        status = "built"
                    except Exception as exc:
                        record_failure(client_id, exc)
                        status = "failed"
                    if on_progress:
                        on_progress(client_id, status)
                    submit_next()

    ordered = [rows[cid] for cid in client_ids if cid in rows]
    folder.publish("summary.csv", csv_bytes(SUMMARY_COLUMNS, ordered))
    if result.problems:
        folder.publish("errors.csv", csv_bytes(ERROR_COLUMNS, (p.as_row() for p in result.problems)))
    else:
        (folder.out_dir / "errors.csv").unlink(missing_ok=True)
    from ..workbooks.portfolio import write_portfolio

    write_portfolio(ordered, folder.run_dir / "portfolio.xlsx", fx=fx, report_currency=report_currency)
    folder.publish("portfolio.xlsx")
