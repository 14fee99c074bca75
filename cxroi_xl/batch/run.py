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
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .read import read_batch
from .tables import BatchInput, InputError, Problem, reserved_id_reason
from .locking import FolderBusy, OutLock, owner_alive, write_owner
from .manifest import MANIFEST_NAME, Manifest, fingerprint
from ..workbooks.summary_columns import SUMMARY_COLUMNS, summary_spec
from .summary import read_fx, summary_row
from ..engine.tracker import TrackerInput

__all__ = ["SUMMARY_COLUMNS", "ERROR_COLUMNS", "BatchResult", "ClientProgress", "generate", "summary_row"]

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
    # files in OUT the run had not written (or that changed since), moved to stale/: "name -> stale/..."
    set_aside: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the run ("SIGINT", "SIGTERM")
    left: list[str] = field(default_factory=list)  # clients not built because the run was stopped

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        return 1 if self.failed else 0


class _StopSignals:
    """SIGINT and SIGTERM while a run writes to OUT: outside a critical
    section they raise KeyboardInterrupt at once (the builds stop); inside
    one (a workbook being published and recorded, the summary, portfolio
    and manifest being written) they are only noted, so OUT is never left
    between two consistent states. Installed only in the main thread."""

    def __init__(self) -> None:
        self.received: str | None = None
        self.building = False  # only the builds are stopped by raising
        self._raised = False
        self._depth = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.check()

    def check(self) -> None:
        """Raise KeyboardInterrupt (once) for a signal received while building."""
        if self.received and self.building and self._depth == 0 and not self._raised:
            self._raised = True
            raise KeyboardInterrupt(self.received)

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def critical(self) -> "_Critical":
        return _Critical(self)


class _Critical:
    def __init__(self, stop: _StopSignals):
        self.stop = stop

    def __enter__(self) -> None:
        self.stop._depth += 1

    def __exit__(self, *exc_info) -> None:
        self.stop._depth -= 1
        if exc_info[0] is None:
            self.stop.check()


def _exchange_rates(batch: BatchInput, report_currency: str) -> dict[str, float] | None:
    """fx.csv's rates, checked to cover every client's currency."""
    rates = read_fx(batch.data_dir, report_currency)
    if rates is not None:
        client_ids = batch.valid_client_ids()
        for client_id, currency in zip(client_ids, batch.client_values("currency", client_ids)):
            if currency not in rates:
                raise InputError("fx.csv", f"no rate for {currency} (client {client_id}); add a row {currency},<units of {report_currency} per {currency}>")
    return rates


def _build_client(data: TrackerInput, template: str, mode: str, out_path: Path) -> dict:
    """Worker: build, save atomically, return the summary row."""
    from ..calc.workbook import complete_values
    from ..workbooks.build import build_client_workbook

    model = data.model()  # the service-only model, once, for the workbook
    # the template's own summary line; what it computes is kept for the
    # workbook (the measured model: engine.defaults; customer value: value_template)
    row = summary_row(data, template=template)
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

    # Ctrl-C reaches the whole process group: the parent decides what stops
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
        self.set_aside: list[str] = []  # "name -> stale/...": files in OUT the run did not write
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = self._lock(out_dir)
        except OSError as exc:
            raise InputError(str(out_dir), f"cannot be used as the output folder ({exc.strerror or exc})") from None
        stale = out_dir / STALE_DIR
        if (stale.exists() or stale.is_symlink()) and not stale.is_dir():
            self._unlock()
            raise InputError(str(stale), "is not a folder: generate keeps old and replaced workbooks there; rename or move that file")
        try:
            self.manifest = Manifest(out_dir)
        except OSError as exc:
            self._unlock()
            raise InputError(str(out_dir / MANIFEST_NAME), f"cannot be read or set aside ({exc.strerror or exc})") from None
        if self.manifest.set_aside:
            moved, why = self.manifest.set_aside
            self.set_aside.append(f"{MANIFEST_NAME} -> {moved} ({why}); every workbook is rebuilt")
        self._remove_dead_runs()
        self.run_dir = out_dir / f"{RUN_PREFIX}{os.getpid()}-{secrets.token_hex(8)}"
        self.run_dir.mkdir()
        write_owner(self.run_dir)  # process id and start time: a reused id is not this run
        self.manifest.open_journal(self.run_dir / "journal.jsonl")

    @staticmethod
    def _lock(out_dir: Path) -> OutLock | None:
        """OUT's lock, on every platform (None only where the file system
        cannot lock files: runs are then told apart by their owner records)."""
        lock = OutLock(out_dir)
        try:
            held = lock.acquire()
        except FolderBusy:
            raise InputError(str(out_dir), "another cxroi-xl generate is writing to this folder; wait for it or choose another") from None
        return lock if held else None

    def _remove_dead_runs(self) -> None:
        """Folders of runs that were killed: their finished workbooks are
        taken into the manifest, the rest (temporary files) removed. Only
        our own folders are touched; with the lock held no other run is live."""
        for entry in self.out_dir.iterdir():
            found = _RUN_FOLDER.match(entry.name)
            if not found or not entry.is_dir():
                continue
            if self._lock_fd is None and owner_alive(entry, int(found.group(1))):
                continue
            self.manifest.replay(entry / "journal.jsonl")
            shutil.rmtree(entry, ignore_errors=True)

    def workbook(self, client_id: str) -> Path:
        return self.out_dir / f"{client_id}.xlsx"

    def publish(self, name: str, data: bytes | None = None) -> Path:
        """Rename a file written in the run folder into OUT (writing it
        first when ``data`` is given). A file of that name the manifest
        does not record this run's predecessors writing, byte for byte (a
        user's own file, or a workbook edited since), is moved to stale/
        first: never replaced."""
        staged = self.run_dir / name
        if data is not None:
            with open(staged, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        target = self.out_dir / name
        self.make_room(name)
        os.replace(staged, target)
        if not (name.endswith(".xlsx") and name[:-5] in self.manifest.clients) and name != MANIFEST_NAME:
            self.manifest.wrote_output(name, target)
        return target

    def make_room(self, name: str) -> None:
        """Set aside ``OUT/name`` unless a run recorded writing exactly it."""
        target = self.out_dir / name
        if not (target.exists() or target.is_symlink()):
            return
        if target.is_dir() and not target.is_symlink():
            raise InputError(str(target), "is a folder where generate writes a file; rename or move it")
        if name == MANIFEST_NAME or self.manifest.wrote(name, target):
            return
        moved = self._to_stale(target)
        why = "not written by cxroi-xl" if not (name.endswith(".xlsx") and name[:-5] in self.manifest.clients) else "changed since cxroi-xl wrote it"
        self.set_aside.append(f"{name} -> {moved} ({why})")

    def _to_stale(self, source: Path, stamped: bool = True) -> str:
        """Move a file of OUT into stale/, with a time stamp in its name
        (``stamped``) or when a file of its name is there already; never
        over another file. Returns its new place, relative to OUT."""
        stale = self.out_dir / STALE_DIR
        stale.mkdir(exist_ok=True)
        target = stale / source.name
        if stamped or target.exists() or target.is_symlink():
            stamp = time.strftime("%Y%m%d-%H%M%S")
            stem, suffix = os.path.splitext(source.name)
            target = next(
                candidate
                for i in range(100_000)
                if not ((candidate := stale / f"{stem}.{stamp}{'' if i == 0 else f'-{i}'}{suffix}").exists() or candidate.is_symlink())
            )
        os.replace(source, target)
        return f"{STALE_DIR}/{target.name}"

    def move_to_stale(self, client_id: str, reason: str) -> str | None:
        """Move the client's old workbook out of OUT's top level, keeping
        every earlier stale copy. Returns where it went, or None."""
        if not _SAFE_ID.match(client_id) or reserved_id_reason(client_id):
            return None
        source = self.workbook(client_id)
        if not source.is_file():
            return None
        moved_to = self._to_stale(source, stamped=False)
        self.manifest.moved_to_stale(client_id, moved_to, reason)
        return moved_to

    def rows(self, order: list[str], columns: Iterable[str] = SUMMARY_COLUMNS) -> list[dict]:
        """The summary rows of exactly the workbooks in OUT's top level that
        the manifest records as written (in ``order``, then the rest), each
        with every one of the template's ``columns``: what summary.csv and
        portfolio.xlsx describe, also after a stopped run."""
        from .manifest import _stamp

        known = [cid for cid in order if cid in self.manifest.clients] + sorted(set(self.manifest.clients) - set(order))
        found = []
        for client_id in known:
            entry = self.manifest.clients[client_id]
            if _stamp(self.workbook(client_id)) == entry.get("workbook") and all(column in entry["summary"] for column in columns):
                found.append(entry["summary"])
        return found

    def close(self) -> None:
        self.manifest.close_journal()
        self.publish(MANIFEST_NAME, self.manifest.content())
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            self._lock_fd.release()
            self._lock_fd = None


# -- progress ------------------------------------------------------------------
_STATUS_WORDS = {"built": "built", "failed": "failed", "skipped": "up to date"}


def _duration(seconds: float) -> str:
    """An estimate in whole units: ``12 s``, ``3 min 5 s``, ``1 h 4 min``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class ClientProgress:
    """An ``on_progress`` for :func:`generate` (and the Dask executor) that a
    person can follow. On a terminal: a rich bar with the count and the time
    left. Elsewhere (a pipe, a log file, CI): one plain line per finished
    client, flushed at once, so a long run piped into ``tee`` is never
    silent::

        c001 built (3/25, eta 12 s)

    The estimate appears with the first client built or failed: clients up
    to date take no time and would make it too hopeful. It is the time per
    such client so far (all workers busy at once) times the clients left.
    Early on it runs high, since the first clients also paid for starting
    the workers, and it settles as clients finish. Use it as a context
    manager around the run.
    """

    def __init__(self, total: int | None, *, terminal: bool | None = None, console=None, stream=None, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.console = console
        self.stream = stream  # None: whatever sys.stdout is when a line is written
        self.clock = clock
        self.done = 0  # finished in any way
        self.worked = 0  # built or failed: the ones that took time
        self.started = clock()
        self._bar = None
        self._task = None

    def __enter__(self) -> "ClientProgress":
        self.started = self.clock()
        if self.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
            from rich.text import Text

            clock = self.clock

            class Remaining(ProgressColumn):
                """Counts down to the estimated end between two finished clients."""

                def render(self, task) -> Text:
                    finish = task.fields.get("finish")
                    return Text("" if finish is None else f"eta {_duration(finish - clock())}")

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Remaining(), console=self.console, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("workbooks", total=self.total, finish=None)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def eta(self) -> float | None:
        """Seconds left, or None before the first client built or failed
        (and when the number of clients is not known, or none are left)."""
        if not self.worked or self.total is None or self.done >= self.total:
            return None
        return (self.clock() - self.started) / self.worked * (self.total - self.done)

    def __call__(self, client_id: str, status: str) -> None:
        self.done += 1
        if status != "skipped":
            self.worked += 1
        eta = self.eta()
        if self._bar is not None:
            self._bar.update(self._task, advance=1, finish=None if eta is None else self.clock() + eta)
            return
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        later = "" if eta is None else f", eta {_duration(eta)}"
        print(f"{client_id} {_STATUS_WORDS.get(status, status)} ({count}{later})", file=self.stream or sys.stdout, flush=True)


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
    with _StopSignals() as stop:
        folder = _OutputFolder(out_dir)
        try:
            _generate_into(folder, batch, client_ids, template, mode, jobs, force, on_progress, result, fx, report_currency, stop)
        finally:
            with stop.critical():
                folder.close()
        result.set_aside = folder.set_aside
        result.interrupted = stop.received
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
    stop: _StopSignals | None = None,
) -> None:
    stop = stop or _StopSignals()
    try:
        stop.building = True
        stop.check()
        _build_all(folder, batch, client_ids, template, mode, jobs, force, on_progress, result, stop)
    except KeyboardInterrupt:
        stop.received = stop.received or "SIGINT"
    finally:
        stop.building = False
    finished = set(result.built) | set(result.skipped) | set(result.failed)
    result.left = [cid for cid in client_ids if cid not in finished]
    # summary.csv and portfolio.xlsx describe exactly the workbooks in OUT
    # the manifest records, finished or stopped: a client not rebuilt yet
    # keeps its old workbook and its old line (its old fingerprint makes
    # the next run build it)
    columns = summary_spec(template).names  # each template sums its own workbooks up
    with stop.critical():
        ordered = folder.rows(client_ids, columns)
        folder.publish("summary.csv", csv_bytes(columns, ordered))
        if result.problems:
            folder.publish("errors.csv", csv_bytes(ERROR_COLUMNS, (p.as_row() for p in result.problems)))
        elif folder.manifest.wrote("errors.csv", folder.out_dir / "errors.csv"):
            (folder.out_dir / "errors.csv").unlink(missing_ok=True)
            folder.manifest.forget_output("errors.csv")
        from ..workbooks.portfolio import write_portfolio

        write_portfolio(ordered, folder.run_dir / "portfolio.xlsx", fx=fx, report_currency=report_currency, template=template)
        folder.publish("portfolio.xlsx")


def _build_all(
    folder: _OutputFolder,
    batch: BatchInput,
    client_ids: list[str],
    template: str,
    mode: str,
    jobs: int | None,
    force: bool,
    on_progress: Callable[[str, str], None] | None,
    result: BatchResult,
    stop: _StopSignals,
) -> None:
    manifest = folder.manifest
    clients_label = batch.labels.get("clients", "clients.csv")

    def retire(client_id: str, reason: str, report: bool = True) -> None:
        with stop.critical():
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
        if stored is not None and all(column in stored for column in summary_spec(template).names):
            rows[client_id] = stored
            result.skipped.append(client_id)
            if on_progress:
                on_progress(client_id, "skipped")
        else:
            todo.append(client_id)

    from ..workbooks.roi_template import TEMPLATE_NAME as MAIN_TEMPLATE  # loaded already, by the builders

    if template == MAIN_TEMPLATE:
        todo = batch.in_shape_order(todo)  # clients of one shape share their frame

    def record_failure(client_id: str, exc: BaseException) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        result.problems.append(Problem(client_id, clients_label, batch.client_rows.get(client_id), "", message))
        result.failed.append(client_id)
        retire(client_id, f"this client now fails: {message}")

    def record_success(client_id: str, row: dict) -> None:
        with stop.critical():  # published and recorded together, or neither
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
                    data = batch.tracker_input(client_id)
                    try:
                        # submitted and tracked as one step: a stop waits for
                        # every build a worker may be running, and none writes
                        # into the run's folder once it is gone
                        with stop.critical():
                            future = pool.submit(_build_client, data, template, mode, folder.run_dir / f"{client_id}.xlsx")
                            pending[future] = client_id
                    except BrokenProcessPool as exc:
                        # a worker died (killed, out of memory): the clients it
                        # cannot take are reported, the others are kept
                        record_failure(client_id, RuntimeError(f"a worker process died ({exc}); rerun to build this client"))
                        if on_progress:
                            on_progress(client_id, "failed")
                        continue
                    return True
                return False

            def settle(future: Future) -> None:
                client_id = pending.pop(future)
                try:
                    record_success(client_id, future.result())
                    status = "built"
                except Exception as exc:
                    record_failure(client_id, exc)
                    status = "failed"
                if on_progress:
                    on_progress(client_id, status)

            try:
                for _ in range(jobs * 4):
                    if not submit_next():
                        break
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        settle(future)
                        submit_next()
            except KeyboardInterrupt:
                # stopped: nothing new starts; the builds already running
                # finish and are kept (a second signal abandons them)
                for future in list(pending):
                    if future.cancel():
                        pending.pop(future)
                try:
                    while pending:
                        done, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            settle(future)
                except KeyboardInterrupt:
                    pass
                pool.shutdown(wait=False, cancel_futures=True)
                raise
