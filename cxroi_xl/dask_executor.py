"""Per-client builds on a Dask cluster (``dask.distributed``), input read by the workers.

The coordinating process (the one the user started) never holds a data
table: it reads the ``client_id`` column of ``clients``, cuts the ids into
partitions of a few clients (:func:`cxroi_xl.parquet_input.partition_clients`)
and submits one task per partition. Each task, on a worker, reads its own
clients' rows from the Parquet location (:func:`~cxroi_xl.parquet_input.read_clients`),
validates them with the CSV rules, builds each valid client's workbook,
writes it atomically to the output and sends back only what the summary
needs: one summary row per built client and the problems of the others.

Output
    A local folder (every worker must see it: the same machine, or a shared
    mount): each workbook is written to a temporary file in that folder and
    renamed, as the local executor does. Or an fsspec URL
    (``s3://bucket/prefix``, ``gcs://...``, ``abfs://...``; the matching
    fsspec package, e.g. ``s3fs``, on the workers): the workbook is built in
    the worker's temporary folder, uploaded to a temporary key
    ``.NAME.xlsx.tmp`` beside the final one and then moved onto
    ``NAME.xlsx``. On object stores a PUT is atomic (an object appears whole
    or not at all) and ``mv`` is a server-side copy then a delete, so a
    reader never sees a partial workbook and a run killed mid-upload leaves
    at most a ``.tmp`` key, removed by the next run; on POSIX file systems
    ``mv`` is a rename.

Failures
    A client whose rows break a rule, or whose build raises, is reported
    and skipped as by the local executor; the other clients go on. A worker
    that dies (killed, out of memory) costs only the partitions it was
    running: the scheduler runs them again on another worker once
    (``distributed.scheduler.allowed-failures`` = 1, set here for the
    LocalCluster; on an existing cluster set it where the scheduler starts,
    e.g. ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``, or it retries
    up to Dask's default 3 times) and, if that dies too, its clients are
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

from .batch_input import Problem
from .parquet_input import ParquetLocation, client_ids, id_problems, open_location, partition_clients, read_clients, scan_client_ids, table_files
from .tracker import TrackerInput

__all__ = ["TemplateBuild", "ClusterRun", "run_partition", "run_on_dask", "generate_on_dask", "cluster_client", "is_url"]

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
        from .batch import _build_client

        return _build_client(data, self.template, self.mode, out_path)


@dataclass
class ClusterRun:
    """What the coordinating process gathers: summary rows and problems only."""

    rows: dict[str, dict] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0


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
    return Problem(client_id, location.tables["clients"], row, "", message)


def run_partition(location: ParquetLocation, ids: list[str], build: BuildFunction, output: str) -> dict:
    """One task, on a worker: read these clients' input, build each valid
    client, return their summary rows and every problem (small, picklable)."""
    batch = read_clients(location, ids)
    result = {"ids": list(ids), "rows": {}, "built": [], "problems": list(batch.problems), "failed": sorted(batch.failed)}
    for client_id in batch.valid_client_ids():
        try:
            result["rows"][client_id] = _build_to_output(build, batch.tracker_input(client_id), output)
            result["built"].append(client_id)
        except Exception as exc:  # one client's failure never costs the others
            result["problems"].append(_failure(client_id, location, batch.client_rows.get(client_id), exc))
            result["failed"].append(client_id)
    return result


class cluster_client:
    """``with cluster_client(address) as client``: a ``distributed.Client``
    connected to ``address``, or to a LocalCluster started here (and closed
    on exit) when there is no address. The LocalCluster's scheduler retries
    a task whose worker died once."""

    def __init__(self, address: str | None = None, n_workers: int | None = None, threads_per_worker: int = 1, memory_limit: str = "auto"):
        self.address, self.n_workers, self.threads, self.memory_limit = address, n_workers, threads_per_worker, memory_limit
        self._cluster = self._client = None

    def __enter__(self):
        import dask
        from distributed import Client, LocalCluster

        if self.address:
            self._client = Client(self.address)
            return self._client
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
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
) -> ClusterRun:
    """Run every partition's builds on ``client``'s cluster.

    ``on_progress(client_id, status)`` is called in this process for each
    client as its partition completes, status ``built`` or ``failed`` (feed
    a rich progress bar with it). Returns the gathered summary rows and
    problems; a partition whose workers died twice reports each of its
    clients as failed.
    """
    from distributed import as_completed

    started = time.perf_counter()
    output = os.fspath(output)
    run = ClusterRun()
    partitions = [list(p) for p in partitions if p]
    run_id = uuid.uuid4().hex[:12]  # keys unique per run: two runs never share a result
    futures = {client.submit(run_partition, location, ids, build, output, key=f"cxroi-clients-{run_id}-{n}"): ids for n, ids in enumerate(partitions)}
    try:
        for future in as_completed(futures):
            ids = futures.pop(future)
            try:
                part = future.result()
            except Exception as exc:  # KilledWorker after the retry, or a reader failure on the worker
                reason = "a worker died while building this client, twice; rerun to build it" if type(exc).__name__ == "KilledWorker" else exc
                part = {"rows": {}, "built": [], "failed": list(ids), "problems": [_failure(cid, location, None, reason) for cid in ids]}
            finally:
                future.release()
            run.rows.update(part["rows"])
            run.built.extend(part["built"])
            run.failed.extend(part["failed"])
            run.problems.extend(part["problems"])
            if on_progress:
                for client_id in part["built"]:
                    on_progress(client_id, "built")
                for client_id in part["failed"]:
                    on_progress(client_id, "failed")
    except BaseException:  # Ctrl-C included: nothing keeps running on the cluster
        client.cancel(list(futures), force=True)
        raise
    run.failed = sorted(set(run.failed))
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
) -> tuple[ClusterRun, list[str]]:
    """Everything ``generate --executor dask`` needs from the cluster: the
    summary rows, the problems (including rows of unknown clients, found
    first by one task per file reading only its client_id column) and the clients
    in input order (the order of ``summary.csv``). Writing the summary,
    errors and portfolio stays with the caller, as for the local executor.
    Raises :class:`~cxroi_xl.batch_input.InputError` for whole-input
    problems before anything is built.
    """
    location = open_location(data)
    ids = client_ids(location)
    if not ids:
        from .batch_input import InputError

        raise InputError(location.shown("clients"), "holds no clients")
    build = build or TemplateBuild()
    if not is_url(output):
        Path(output).mkdir(parents=True, exist_ok=True)

    def on(client_):
        # Whole-table checks first (one client_id column each, on the
        # workers): a client they flag is skipped, as the local reader skips it.
        [known] = client_.scatter([set(ids)], broadcast=True)  # sent to each worker once, not with every task
        scans = {(name, file): client_.submit(scan_client_ids, location, name, file, known, pure=False) for name in location.tables for file in table_files(location, name)}
        flagged = []
        for name in location.tables:
            flagged += id_problems(name, [(file, scans[name, file].result()) for (table, file) in scans if table == name])
        skipped = {p.client_id for p in flagged}
        run = run_on_dask(client_, location, partition_clients([i for i in ids if i not in skipped], partition_size), build, output, on_progress)
        run.problems = flagged + run.problems
        run.failed = sorted(set(run.failed) | skipped)
        return run

    if client is not None:
        return on(client), ids
    with cluster_client(scheduler, n_workers=n_workers, memory_limit=memory_limit) as client_:
        return on(client_), ids


def write_outputs(run: ClusterRun, order: list[str], output: str | os.PathLike) -> None:
    """``summary.csv`` (rows in input order), ``errors.csv`` (when anything
    failed) and ``portfolio.xlsx``, as the local executor writes them, to a
    local folder or through a temporary key at a URL."""
    from .batch import ERROR_COLUMNS, SUMMARY_COLUMNS, write_csv
    from .workbooks.portfolio import write_portfolio

    output = os.fspath(output)
    ordered = [run.rows[c] for c in order if c in run.rows]
    with tempfile.TemporaryDirectory(prefix="cxroi-xl-") as scratch:
        folder = Path(scratch) if is_url(output) else Path(output)
        written = [write_csv(folder / "summary.csv", SUMMARY_COLUMNS, ordered)]
        if run.problems:
            written.append(write_csv(folder / "errors.csv", ERROR_COLUMNS, (p.as_row() for p in run.problems)))
        elif not is_url(output):
            (folder / "errors.csv").unlink(missing_ok=True)
        written.append(write_portfolio(ordered, folder / "portfolio.xlsx"))
        if is_url(output):
            for path in written:
                _publish(path, output, path.name)


def run_command(data: str, out: str, template: str, mode: str, scheduler: str | None, console, err_console) -> int:
    """``cxroi-xl generate DATA --out OUT --executor dask [--scheduler ADDRESS]``:
    build on the cluster with a rich progress bar, write the summary, errors
    and portfolio, print one line; the exit code of ``generate``."""
    import sys

    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .batch import TABLE_REQUIRED_BY_TEMPLATE
    from .batch_input import InputError
    from .workbooks.build import BUILDERS

    if template not in BUILDERS:
        raise InputError("--template", f"unknown template {template}; choose from {', '.join(BUILDERS)}")
    if mode not in ("values", "live"):
        raise InputError("--mode", "must be values or live")
    location = open_location(data)
    needed = TABLE_REQUIRED_BY_TEMPLATE.get(template)
    if needed and needed not in location.tables:
        raise InputError(f"{needed}.parquet", f"required by --template {template} ({needed}.parquet or a folder {needed}/ in {data})")
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console, disable=not sys.stderr.isatty(), transient=True) as progress:
        task = progress.add_task("workbooks", total=None)

        def advance(client_id: str, status: str) -> None:
            progress.advance(task)

        run, order = generate_on_dask(data, out, TemplateBuild(template, mode), scheduler=scheduler, on_progress=advance)
    write_outputs(run, order, out)
    for problem in run.problems:
        where = f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "")
        err_console.print(f"[yellow]skipped[/yellow] {escape(problem.client_id)}: {escape(where)}: {escape(problem.message)}", highlight=False)
    console.print(f"{len(run.built)} built, {len(run.failed)} failed in {time.perf_counter() - started:.1f} s on the cluster -> {out}" + (" (see errors.csv)" if run.failed else ""), highlight=False, markup=False)
    return 1 if run.failed else 0
