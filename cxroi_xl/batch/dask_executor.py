"""Per-client builds on a Dask cluster (``dask.distributed``), input read by the workers.

The coordinating process (the one the user started) never holds a data
table: it reads the ``client_id`` column of ``clients``, cuts the ids into
partitions of a few clients (:func:`cxroi_xl.batch.parquet.partition_clients`)
and submits one task per partition. Each task, on a worker, reads its own
clients' rows from the Parquet location (:func:`~cxroi_xl.batch.parquet.read_clients`),
validates them with the CSV rules, builds each valid client's workbook,
writes it atomically to the output and sends back only what the summary
needs: one summary row per built client and the problems of the others.

Output
    A local folder (every worker must see it: the same machine, or a shared
    mount), kept exactly as the local executor keeps it
    (:mod:`cxroi_xl.batch.run`): the lock, the run's private folder the workers
    write into, ``manifest.json`` with each workbook's input fingerprint
    (computed on the worker from the client's validated rows, the same
    fingerprint the local reader computes), rebuilding only what changed
    (``force`` rebuilds all), summary rows of up-to-date clients from the
    manifest, old workbooks of clients that now fail or left moved to
    ``stale/``. Or an fsspec URL
    (``s3://bucket/prefix``, ``gcs://...``, ``abfs://...``; the matching
    fsspec package, e.g. ``s3fs``, on the workers): the workbook is built in
    the worker's temporary folder, uploaded to a temporary key
    ``.NAME.xlsx.tmp`` beside the final one and then moved onto
    ``NAME.xlsx``. On object stores a PUT is atomic (an object appears whole
    or not at all) and ``mv`` is a server-side copy then a delete, so a
    reader never sees a partial workbook and a run killed mid-upload leaves
    at most a ``.tmp`` key, removed by the next run; on POSIX file systems
    ``mv`` is a rename. A URL output has no manifest: an object store has no
    lock and no rename of a folder, and its objects' times are the
    upload's, so every client is rebuilt on every run and nothing is moved
    to ``stale/``.

Failures
    A client whose rows break a rule, or whose build raises, is reported
    and skipped as by the local executor; the other clients go on. A worker
    that dies (killed, out of memory) costs only the partitions it was
    running: the scheduler runs them again on another worker once
    (``distributed.scheduler.allowed-failures`` = 1, set here for the
    LocalCluster; on an existing cluster set it where the scheduler starts,
    e.g. ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``, or it retries
    up to Dask's default 3 times; ``...__WORKER_SATURATION=1.0`` keeps
    queued tasks off a worker that may die) and, if that dies too, its clients are
    reported as failed. Ctrl-C cancels every pending task and closes the
    cluster this module started before the interrupt propagates.

Needs the ``cxroi-xl[dask]`` extra (dask, distributed, pyarrow).
"""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .run import BatchResult
from .tables import Problem
from .parquet import ParquetLocation, client_ids, id_problems, open_location, partition_clients, read_clients, scan_client_ids, table_files
from ..engine.tracker import TrackerInput
from ..workbooks.summary_columns import ROI_TEMPLATE, SPECS, summary_spec

__all__ = ["TemplateBuild", "ClusterRun", "ManifestPlan", "run_partition", "run_on_dask", "generate_on_dask", "cluster_client", "is_url"]

# Clients per task: small enough that a dead worker costs few clients and
# the progress bar moves; large enough that the scheduler's per-task cost
# (about a millisecond) stays far below the builds' (0.1-0.3 s a workbook).
DEFAULT_PARTITION_SIZE = 16
_TMP_SUFFIX = ".tmp"

BuildFunction = Callable[[TrackerInput, Path], dict]


@dataclass(frozen=True)
class TemplateBuild:
    """The real per-client build: the template's workbook written to a
    path, the client's summary row returned (``batch._build_client``)."""

    template: str = "cx_automation_roi"
    mode: str = "values"

    def __call__(self, data: TrackerInput, out_path: Path) -> dict:
        from .run import _build_client

        return _build_client(data, self.template, self.mode, out_path)


@dataclass
class ClusterRun(BatchResult):
    """What the coordinating process gathers: the local run's result (built,
    up to date or dry run, failed, stale, problems) plus the summary rows."""

    rows: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class ManifestPlan:
    """What a task needs to decide, on its worker, which of its clients are
    up to date: the output folder (the workbooks' stamps), the settings in
    the fingerprint, ``force``, and ``dry_run`` (validate only)."""

    out_dir: str
    template: str
    mode: str
    force: bool = False
    dry_run: bool = False


def is_url(output: str | os.PathLike) -> bool:
    """An fsspec URL (``s3://...``, ``file://...``) rather than a local path."""
    return "://" in os.fspath(output)


def _publish(local_file: Path, output: str, name: str) -> None:
    """Upload a finished file to ``output/name`` through a temporary key."""
    import fsspec

    fs, root = fsspec.core.url_to_fs(output)
    root = root.rstrip("/")
    temporary, final = f"{root}/.{name}{_TMP_SUFFIX}", f"{root}/{name}"
    fs.makedirs(root, exist_ok=True)
    try:
        fs.put_file(str(local_file), temporary)
        fs.mv(temporary, final)
    except BaseException:
        try:
            fs.rm(temporary)
        except (OSError, FileNotFoundError):
            pass
        raise


def _build_to_output(build: BuildFunction, data: TrackerInput, output: str) -> dict:
    name = f"{data.client_id}.xlsx"
    if not is_url(output):
        return build(data, Path(output) / name)  # written to a temporary file beside it, then renamed
    with tempfile.TemporaryDirectory(prefix="cxroi-xl-") as scratch:
        row = build(data, Path(scratch) / name)
        _publish(Path(scratch) / name, output, name)
    return row


def _failure(client_id: str, location: ParquetLocation, row: int | None, exc: BaseException | str) -> Problem:
    message = exc if isinstance(exc, str) else (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return Problem(client_id, location.shown("clients"), row, "", message)


def run_partition(location: ParquetLocation, ids: list[str], build: BuildFunction, output: str, plan: ManifestPlan | None = None, entries: dict | None = None) -> dict:
    """One task, on a worker: read these clients' input, build each valid
    client, return their summary rows and every problem (small, picklable).

    With a ``plan``, a client whose fingerprint and workbook match its
    manifest entry (``entries``) is not rebuilt (``skipped``), and each
    built client's fingerprint is returned for the manifest."""
    from .manifest import _stamp, fingerprint

    batch = read_clients(location, ids)
    try:
        result = {"ids": list(ids), "rows": {}, "built": [], "skipped": [], "prints": {}, "problems": list(batch.problems), "failed": sorted(batch.failed), "rows_of": {}}
        for client_id in batch.valid_client_ids():
            result["rows_of"][client_id] = batch.client_rows.get(client_id)
            if plan is not None:
                print_ = result["prints"][client_id] = fingerprint(batch.client_digest(client_id), plan.template, plan.mode)
                entry = (entries or {}).get(client_id)
                current = entry is not None and entry.get("fingerprint") == print_ and _stamp(Path(plan.out_dir) / f"{client_id}.xlsx") == entry.get("workbook")
                if plan.dry_run or (current and not plan.force):
                    result["skipped"].append(client_id)
                    continue
            try:
                result["rows"][client_id] = _build_to_output(build, batch.tracker_input(client_id), output)
                result["built"].append(client_id)
            except Exception as exc:  # one client's failure never costs the others
                result["problems"].append(_failure(client_id, location, batch.client_rows.get(client_id), exc))
                result["failed"].append(client_id)
        return result
    finally:
        batch.close()


DEFAULT_CONNECT_TIMEOUT = 30.0


def connect(address: str, timeout: float = DEFAULT_CONNECT_TIMEOUT):
    """A ``distributed.Client`` of the scheduler at ``address`` (``host:port``
    means ``tcp://host:port``), or :class:`~cxroi_xl.batch.tables.InputError`
    within about ``timeout`` seconds: nothing listening, a port that never
    answers, or a service that is not a Dask scheduler (an HTTP server's
    answer read as a message header once asked for exabytes)."""
    import asyncio

    from distributed import Client

    from .tables import InputError

    shown = address if "://" in address else f"tcp://{address}"
    if shown.startswith("tcp://"):
        _probe(shown, timeout)
    try:
        return Client(shown, timeout=f"{timeout}s")
    except MemoryError:
        raise InputError("--scheduler", f"{shown} answered, but not as a Dask scheduler does (a web server or another service?); give the scheduler's address, e.g. tcp://host:8786") from None
    except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if len(reason) > 200:
            reason = reason[:197] + "..."
        raise InputError("--scheduler", f"no Dask scheduler answered at {shown} within {timeout:g} s ({reason}); check the address and that the scheduler runs") from None
    except Exception as exc:  # a malformed address, a protocol error: said plainly
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError("--scheduler", f"cannot use {shown} as a Dask scheduler: {type(exc).__name__}: {reason[:200]}") from None


def _probe(address: str, timeout: float) -> None:
    """Before handing ``tcp://host:port`` to distributed (whose handshake
    waits without end on a port that accepts and never answers): a
    scheduler greets a new connection at once with a message whose first 8
    bytes count its frames (a small number). Nothing within ``timeout``, or
    other bytes, is refused as an :class:`InputError`."""
    import socket
    import struct
    import time
    from urllib.parse import urlsplit

    from .tables import InputError

    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise InputError("--scheduler", f"{address} is not an address: {exc}") from None
    if not host or not port:
        raise InputError("--scheduler", f"{address} has no host and port; give it as tcp://host:8786")
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            head = b""
            while len(head) < 8:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                data = sock.recv(8 - len(head))
                if not data:
                    raise InputError("--scheduler", f"{address} closed the connection without answering as a Dask scheduler does; give the scheduler's address, e.g. tcp://host:8786")
                head += data
    except socket.timeout:
        raise InputError("--scheduler", f"{address} accepted the connection but sent nothing within {timeout:g} s: no Dask scheduler answers there (a firewall, or another service waiting for its own protocol?)") from None
    except OSError as exc:
        raise InputError("--scheduler", f"cannot connect to {address}: {exc.strerror or exc}; check the address and that the scheduler runs") from None
    (frames,) = struct.unpack("<Q", head)
    if not 0 < frames < 1024:
        raise InputError("--scheduler", f"{address} answered, but not as a Dask scheduler does (a web server or another service?); give the scheduler's address, e.g. tcp://host:8786")


class cluster_client:
    """``with cluster_client(address) as client``: a ``distributed.Client``
    connected to ``address``, or to a LocalCluster started here (and closed
    on exit) when there is no address. The LocalCluster's scheduler retries
    a task whose worker died once, and queues tasks on itself rather than on
    the workers."""

    def __init__(self, address: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1, memory_limit: str = "auto", connect_timeout: float = DEFAULT_CONNECT_TIMEOUT):
        self.address, self.n_workers, self.threads, self.memory_limit = address, n_workers, threads_per_worker, memory_limit
        self.connect_timeout = connect_timeout
        self._cluster = self._client = None

    def __enter__(self):
        import dask
        from distributed import Client, LocalCluster

        if self.address:
            self._client = connect(self.address, self.connect_timeout)
            return self._client
        # worker-saturation 1.0: a worker holds only the tasks it runs, so one
        # that dies takes no queued neighbour partition down with it
        with dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}):
            self._cluster = LocalCluster(
                n_workers=self.n_workers or os.cpu_count() or 1,
                threads_per_worker=self.threads,
                processes=True,
                memory_limit=self.memory_limit,
                dashboard_address=None,
            )
        self._client = Client(self._cluster)
        return self._client

    def __exit__(self, *exc_info):
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        return False


def run_on_dask(
    client,
    location: ParquetLocation,
    partitions: Iterable[list[str]],
    build: BuildFunction,
    output: str | os.PathLike,
    on_progress: Callable[[str, str], None] | None = None,
    plan: ManifestPlan | None = None,
    entries: dict[str, dict] | None = None,
    settle: Callable[[dict], None] | None = None,
    stop=None,
) -> ClusterRun:
    """Run every partition's builds on ``client``'s cluster.

    ``on_progress(client_id, status)`` is called in this process for each
    client as its partition completes, status ``built``, ``skipped`` or
    ``failed`` (feed a rich progress bar with it); ``settle(part)`` before
    that (the manifest route publishes and records the part's workbooks
    there, so a killed run keeps what it finished). With ``stop`` (the
    run's signal guard) SIGINT or SIGTERM cancels the pending tasks and
    returns what finished, ``interrupted`` set and the rest in ``left``,
    instead of raising. Returns the gathered
    summary rows and problems, in partition order whatever order the tasks
    finished in; a partition whose workers died twice reports each of its
    clients as failed.
    """
    from distributed import as_completed

    started = time.perf_counter()
    output = os.fspath(output)
    run = ClusterRun()
    partitions = [list(p) for p in partitions if p]
    entries = entries or {}
    run_id = uuid.uuid4().hex[:12]  # keys unique per run: two runs never share a result
    futures = {
        client.submit(run_partition, location, ids, build, output, plan, {c: entries[c] for c in ids if c in entries}, key=f"cxroi-clients-{run_id}-{n}"): (n, ids)
        for n, ids in enumerate(partitions)
    }
    parts: dict[int, dict] = {}
    interrupted = None
    try:
        for future in as_completed(futures):
            n, ids = futures.pop(future)
            try:
                part = future.result()
            except Exception as exc:  # KilledWorker after the retry, or a reader failure on the worker
                reason = "a worker died while building this client, twice; rerun to build it" if type(exc).__name__ == "KilledWorker" else exc
                part = {"rows": {}, "built": [], "skipped": [], "prints": {}, "rows_of": {}, "failed": list(ids), "problems": [_failure(cid, location, None, reason) for cid in ids]}
            finally:
                future.release()
            parts[n] = part
            if settle:
                settle(part)
            if stop is not None and stop.received:
                raise KeyboardInterrupt(stop.received)
            if on_progress:
                for status in ("built", "skipped", "failed"):
                    for client_id in part[status]:
                        on_progress(client_id, status)
    except KeyboardInterrupt as exc:  # Ctrl-C: nothing keeps running on the cluster
        client.cancel([f for f in futures], force=True)
        if stop is None:
            raise
        interrupted = stop.received or str(exc) or "SIGINT"
    except BaseException:
        client.cancel([f for f in futures], force=True)
        raise
    for n in sorted(parts):
        part = parts[n]
        run.rows.update(part["rows"])
        run.built.extend(part["built"])
        run.skipped.extend(part["skipped"])
        run.failed.extend(part["failed"])
        run.problems.extend(part["problems"])
    run.failed = sorted(set(run.failed))
    run.interrupted = interrupted
    if interrupted:
        run.left = [cid for n, ids in futures.values() for cid in ids]
    run.seconds = time.perf_counter() - started
    return run


def generate_on_dask(
    data: str | os.PathLike,
    output: str | os.PathLike,
    build: BuildFunction | None = None,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    memory_limit: str = "auto",
    on_progress: Callable[[str, str], None] | None = None,
    client=None,
    force: bool = False,
    dry_run: bool = False,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> tuple[ClusterRun, list[str]]:
    """``generate --executor dask``: every client built on the cluster,
    then ``summary.csv`` (rows in input order), ``errors.csv`` and
    ``portfolio.xlsx`` written, and for a local output folder
    ``manifest.json`` kept as the local executor keeps it. Returns the run
    and the clients in input order.

    Rows of unknown clients and padded ids are found first, by one task per
    file reading only its client_id column; a client they flag is skipped,
    as the local reader skips it. ``dry_run`` validates on the workers and
    writes nothing. Raises :class:`~cxroi_xl.batch.tables.InputError` for
    whole-input problems before anything is built.
    """
    from .run import check_out_dir

    location = open_location(data)
    ids = client_ids(location)
    if not ids:
        from .tables import InputError

        raise InputError(location.shown("clients"), "holds no clients")
    build = build or TemplateBuild()
    local_out = not is_url(output)
    if local_out and not is_url(data):
        check_out_dir(_Tables({name: Path(location.url) / table for name, table in location.tables.items()}), Path(output))

    def on(client_):
        [known] = client_.scatter([set(ids)], broadcast=True, hash=False)  # sent to each worker once, not with every task; a key of its own, never one a previous run is releasing
        scans = {(name, file): client_.submit(scan_client_ids, location, name, file, known, pure=False) for name in location.tables for file in table_files(location, name)}
        flagged = []
        for name in location.tables:
            flagged += id_problems(name, [(file, scans[name, file].result()) for (table, file) in scans if table == name])
        skipped = {p.client_id for p in flagged}
        partitions = partition_clients([i for i in ids if i not in skipped], partition_size)
        settings = dict(template=getattr(build, "template", type(build).__name__), mode=getattr(build, "mode", ""))
        if dry_run:
            run = run_on_dask(client_, location, partitions, build, os.fspath(output), on_progress, ManifestPlan("", **settings, dry_run=True))
        elif local_out:
            out_dir = Path(os.fspath(output)).absolute()  # the workers' working folder may be another
            run = _into_folder(client_, location, ids, flagged, partitions, build, out_dir, ManifestPlan(str(out_dir), **settings, force=force), on_progress)
        else:
            run = run_on_dask(client_, location, partitions, build, os.fspath(output), on_progress)
        run.problems = flagged + run.problems
        run.failed = sorted(set(run.failed) | skipped)
        if not dry_run and not local_out:
            write_outputs(run, ids, output, _template_of(build))
        return run

    if client is not None:
        return on(client), ids
    with cluster_client(scheduler, n_workers=n_workers, memory_limit=memory_limit, connect_timeout=connect_timeout) as client_:
        return on(client_), ids


@dataclass
class _Tables:
    """The input tables' paths, as ``batch.check_out_dir`` reads them."""

    files: dict[str, Path]


def _into_folder(client_, location: ParquetLocation, ids: list[str], flagged: list[Problem], partitions: list[list[str]], build: BuildFunction, out_dir: Path, plan: ManifestPlan, on_progress) -> ClusterRun:
    """The manifest route (a local output folder): the workers build into
    the run's private folder; this process publishes each workbook, records
    it in the manifest, moves old workbooks of failed or departed clients to
    ``stale/`` and writes the summary, errors and portfolio."""
    from .run import _OutputFolder, _StopSignals

    with _StopSignals() as stop:
        return _into_open_folder(client_, location, ids, flagged, partitions, build, out_dir, plan, on_progress, stop, _OutputFolder(out_dir))


def _into_open_folder(client_, location, ids, flagged, partitions, build, out_dir, plan, on_progress, stop, folder) -> ClusterRun:
    from .run import ERROR_COLUMNS, csv_bytes
    from ..workbooks.portfolio import write_portfolio

    template = _template_of(build)
    columns = summary_spec(template).names

    manifest = folder.manifest
    label = location.shown("clients")
    notes: list[Problem] = []
    stale: list[str] = []

    def retire(client_id: str, reason: str, row: int | None = None, report: bool = True) -> None:
        moved_to = folder.move_to_stale(client_id, reason)
        if moved_to:
            stale.append(client_id)
        if moved_to and report:
            notes.append(Problem(client_id, label, row, "", f"previous workbook moved to {moved_to}: {reason}"))
        else:
            manifest.forget(client_id)

    def reason_of(problems: list[Problem]) -> dict[str, str]:
        first: dict[str, str] = {}
        for problem in problems:
            first.setdefault(problem.client_id, f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "") + f": {problem.message}")
        return first

    def settle(part: dict) -> None:
        with stop.critical():  # a part's workbooks published and recorded together
            for client_id in part["built"]:
                path = folder.publish(f"{client_id}.xlsx")
                part["rows"][client_id] = manifest.record(client_id, part["prints"][client_id], path, part["rows"][client_id])
            for client_id in part["skipped"]:
                part["rows"][client_id] = manifest.clients[client_id]["summary"]
            reasons = reason_of(part["problems"])
            for client_id in sorted(set(part["failed"])):
                retire(client_id, "this client now fails: " + reasons[client_id], part["rows_of"].get(client_id))

    try:
        with stop.critical():
            reasons = reason_of(flagged)
            for client_id in sorted(reasons):
                retire(client_id, "this client now fails: " + reasons[client_id])
            for client_id in [cid for cid in list(manifest.clients) if cid not in ids]:
                retire(client_id, f"no longer in {label}", report=False)
        # an entry is offered to the workers only when its summary row is whole
        entries = {cid: entry for cid, entry in manifest.clients.items() if all(column in (entry.get("summary") or {}) for column in columns)}
        stop.building = True
        try:
            run = run_on_dask(client_, location, partitions, build, folder.run_dir, on_progress, plan, entries, settle, stop)
        finally:
            stop.building = False
        run.problems += notes
        run.stale = stale
        with stop.critical():
            # exactly the workbooks in OUT, also when the run was stopped
            ordered = folder.rows(ids, columns)
            folder.publish("summary.csv", csv_bytes(columns, ordered))
            if run.problems or flagged:
                folder.publish("errors.csv", csv_bytes(ERROR_COLUMNS, (p.as_row() for p in flagged + run.problems)))
            elif manifest.wrote("errors.csv", out_dir / "errors.csv"):
                (out_dir / "errors.csv").unlink(missing_ok=True)
                manifest.forget_output("errors.csv")
            write_portfolio(ordered, folder.run_dir / "portfolio.xlsx", template=template)
            folder.publish("portfolio.xlsx")
    finally:
        with stop.critical():
            folder.close()
    run.set_aside = folder.set_aside
    run.interrupted = run.interrupted or stop.received
    return run


def _template_of(build) -> str:
    """The template a build function fills (the ROI template's summary for
    one that does not say)."""
    template = getattr(build, "template", ROI_TEMPLATE)
    return template if template in SPECS else ROI_TEMPLATE


def write_outputs(run: ClusterRun, order: list[str], output: str | os.PathLike, template: str = ROI_TEMPLATE) -> None:
    """``summary.csv`` (rows in input order), ``errors.csv`` (when anything
    failed) and ``portfolio.xlsx`` of ``template`` for a URL output (no
    manifest there), each through a temporary key."""
    from .run import ERROR_COLUMNS, write_csv
    from ..workbooks.portfolio import write_portfolio

    output = os.fspath(output)
    ordered = [run.rows[c] for c in order if c in run.rows]
    with tempfile.TemporaryDirectory(prefix="cxroi-xl-") as scratch:
        folder = Path(scratch)
        written = [write_csv(folder / "summary.csv", summary_spec(template).names, ordered)]
        if run.problems:
            written.append(write_csv(folder / "errors.csv", ERROR_COLUMNS, (p.as_row() for p in run.problems)))
        written.append(write_portfolio(ordered, folder / "portfolio.xlsx", template=template))
        for path in written:
            _publish(path, output, path.name)


def run_command(data: str, out: str, template: str, mode: str, scheduler: str | None, console, err_console, force: bool = False, dry_run: bool = False, connect_timeout: float = DEFAULT_CONNECT_TIMEOUT) -> int:
    """``cxroi-xl generate DATA --out OUT --executor dask [--scheduler ADDRESS]``:
    build on the cluster, showing progress per client, write the summary, errors,
    portfolio (and manifest), print one line; the exit code of ``generate``."""
    from rich.markup import escape

    from .run import TABLE_REQUIRED_BY_TEMPLATE, ClientProgress
    from .tables import InputError
    from ..workbooks.build import BUILDERS

    if template not in BUILDERS:
        raise InputError("--template", f"unknown template {template}; choose from {', '.join(BUILDERS)}")
    if mode not in ("values", "live"):
        raise InputError("--mode", "must be values or live")
    location = open_location(data)
    needed = TABLE_REQUIRED_BY_TEMPLATE.get(template)
    if needed and needed not in location.tables:
        raise InputError(f"{needed}.parquet", f"required by --template {template} ({needed}.parquet or a folder {needed}/ in {data})")
    started = time.perf_counter()
    # the same progress as the local executor's: a bar on a terminal, a line
    # per finished client when piped (the count of clients is not read ahead)
    with ClientProgress(None, console=console) as progress:
        run, order = generate_on_dask(data, out, TemplateBuild(template, mode), scheduler=scheduler, on_progress=progress, force=force, dry_run=dry_run, connect_timeout=connect_timeout)
    for problem in run.problems:
        where = f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "")
        err_console.print(f"[yellow]skipped[/yellow] {escape(problem.client_id)}: {escape(where)}: {escape(problem.message)}", highlight=False)
    for move in run.set_aside:
        err_console.print(f"[yellow]kept[/yellow] {escape(move)} in {escape(str(out))}: generate replaces only files it wrote", highlight=False)
    if run.interrupted:
        err_console.print(
            f"[yellow]stopped[/yellow] by {escape(run.interrupted)}: {len(run.built)} built, {len(run.skipped)} up to date, {len(run.failed)} failed, "
            f"{len(run.left)} not built yet (their previous workbooks, if any, are kept); summary.csv, portfolio.xlsx and manifest.json "
            f"describe exactly the workbooks in {escape(str(out))}; rerun to continue",
            highlight=False,
        )
        return 130
    if dry_run:
        console.print(f"dry run: {len(run.skipped)} clients valid, {len(run.failed)} with problems; nothing written", highlight=False, markup=False)
    else:
        console.print(
            f"{len(run.built)} built, {len(run.skipped)} up to date, {len(run.failed)} failed in {time.perf_counter() - started:.1f} s on the cluster -> {out}" + (" (see errors.csv)" if run.failed else ""),
            highlight=False,
            markup=False,
        )
    return 1 if run.failed else 0
