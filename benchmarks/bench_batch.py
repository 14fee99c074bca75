"""Batch generation speed: clients x 24 months into the main template.

Measured in the same run, interleaved round by round (medians reported):
* naive: openpyxl loads the shipped template, fills the client's rows into
  Baseline, Post-automation, Costs and Surveys, saves: one process;
* cxroi-xl: `generate --mode values|live --jobs 1|2` (built from code, every
  formula's cached value from the engine, no template re-parsing), called
  in this process with the command's settings.

Targets: values --jobs 1 at least 5x naive (stretch 10x); live --jobs 1 at
least the same. Prints workbooks per second, the ratios and peak memory;
beside them the processor time per workbook (all processes of the run,
workers included) and its ratio, which other work on a shared machine
disturbs far less than the elapsed time.

    python benchmarks/bench_batch.py [--clients 1000] [--naive-sample 100] [--rounds 3]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import cxroi_xl.cli  # noqa: F401  (first: the command's settings, one BLAS thread a process, before numpy loads)
import openpyxl
import pandas as pd

from cxroi_xl.batch.run import generate
from cxroi_xl.batch.read import read_batch
from cxroi_xl.workbooks.sample_data import SAMPLE_PROFILES, synthetic_client
from cxroi_xl.engine.tracker import KPI_COLUMNS, split_phases
from cxroi_xl.workbooks.build import TEMPLATE_DIR

TEMPLATE = TEMPLATE_DIR / "cx_automation_roi.xlsx"


def write_clients(folder: Path, n: int) -> Path:
    profiles = list(SAMPLE_PROFILES)
    clients, kpis, costs, surveys = [], [], [], []
    for i in range(n):
        client = synthetic_client(seed=i, profile=profiles[i % len(profiles)], client_id=f"c{i:05d}", client_name=f"Client {i}")
        clients.append({"client_id": client.client_id, "client_name": client.client_name, "go_live": client.go_live.strftime("%Y-%m-%d")})
        kpis.append(client.kpis.assign(client_id=client.client_id))
        costs.append(client.costs.assign(client_id=client.client_id))
        surveys.append(client.surveys.assign(client_id=client.client_id))
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(clients).to_csv(folder / "clients.csv", index=False)
    pd.concat(kpis).to_csv(folder / "kpis.csv", index=False)
    pd.concat(costs).to_csv(folder / "costs.csv", index=False)
    pd.concat(surveys).to_csv(folder / "surveys.csv", index=False)
    return folder


def _fill_table(ws, table_name: str, rows: list[list]) -> None:
    """Write rows into an existing table and stretch it, copying the first
    data row's formulas and styles: what a careful openpyxl script does."""
    table = ws.tables[table_name]
    first, last = table.ref.split(":")
    header_row = int("".join(c for c in first if c.isdigit()))
    width = len(table.tableColumns)
    template_cells = [ws.cell(header_row + 1, j + 1) for j in range(width)]
    formulas = [c.value if isinstance(c.value, str) and c.value.startswith("=") else None for c in template_cells]
    styles = [c._style for c in template_cells]
    old_last = int("".join(c for c in last if c.isdigit()))
    for r in range(header_row + 1, old_last + 1):
        for j in range(width):
            ws.cell(r, j + 1).value = None
    for i, row in enumerate(rows):
        r = header_row + 1 + i
        values = iter(row)
        for j in range(width):
            cell = ws.cell(r, j + 1)
            cell.value = formulas[j] if formulas[j] else next(values, None)
            cell._style = styles[j]
    last_letter = "".join(c for c in last if c.isalpha())
    table.ref = f"{first}:{last_letter}{header_row + max(len(rows), 1)}"


def naive_build(data, out: Path) -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    inputs = wb["Inputs"]
    inputs["B4"] = data.client_name
    inputs["B5"] = data.go_live.to_pydatetime()
    baseline, post = split_phases(data.kpis, data.go_live)
    for sheet, table, frame in (("Baseline", "Baseline", baseline), ("Post-automation", "PostAutomation", post)):
        rows = [[m.to_pydatetime()] + list(r) for m, r in zip(pd.to_datetime(frame["month"]), frame[list(KPI_COLUMNS)].itertuples(index=False))]
        _fill_table(wb[sheet], table, rows)
    _fill_table(wb["Costs"], "OneOffCosts", data.costs[["date", "category", "amount"]].values.tolist())
    _fill_table(wb["Surveys"], "Surveys", data.surveys[["date", "nps", "csat", "ces"]].values.tolist())
    wb.save(out)


def cpu_seconds() -> float:
    """Processor time of this process and of its finished children (pool
    workers are counted once their pool has shut down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--naive-sample", type=int, default=100, help="clients timed for the naive loop per round (its rate is per workbook)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cxroi-bench-"))
    try:
        data_dir = write_clients(work / "data", args.clients)
        batch = read_batch(data_dir)
        n = len(batch.valid_client_ids())
        print(f"{n} clients x 24 months, template {TEMPLATE.stat().st_size / 1024:.0f} KiB, {args.rounds} interleaved rounds")
        sample = batch.valid_client_ids()[: args.naive_sample]
        runs = [("values", 1), ("live", 1), ("values", 2), ("live", 2)]
        rates: dict[str, list[float]] = {"naive": [], **{f"{m} --jobs {j}": [] for m, j in runs}}
        cpu: dict[str, list[float]] = {label: [] for label in rates}  # processor ms per workbook
        for round_ in range(args.rounds):
            (work / "naive").mkdir(exist_ok=True)
            start, start_cpu = time.perf_counter(), cpu_seconds()
            for client_id in sample:
                naive_build(batch.tracker_input(client_id), work / "naive" / f"{client_id}.xlsx")
            rates["naive"].append(len(sample) / (time.perf_counter() - start))
            cpu["naive"].append(1000 * (cpu_seconds() - start_cpu) / len(sample))
            for mode, jobs in runs:
                label = f"{mode} --jobs {jobs}"
                start, start_cpu = time.perf_counter(), cpu_seconds()
                result = generate(data_dir, work / f"out-{mode}-{jobs}", mode=mode, jobs=jobs, force=True, batch=batch)
                assert not result.failed, result.problems[:3]
                rates[label].append(n / (time.perf_counter() - start))
                cpu[label].append(1000 * (cpu_seconds() - start_cpu) / n)
        naive, naive_cpu = statistics.median(rates["naive"]), statistics.median(cpu["naive"])
        print(f"naive openpyxl loop (1 process)  {naive:8.1f} workbooks/s  {naive_cpu:6.1f} ms CPU/workbook  (timed on {len(sample)} clients a round)")
        for label, values in rates.items():
            if label == "naive":
                continue
            rate, ms = statistics.median(values), statistics.median(cpu[label])
            print(f"generate --mode {label:<14} {rate:8.1f} workbooks/s  = {rate / naive:5.2f}x naive   {ms:6.1f} ms CPU/workbook = {naive_cpu / ms:5.2f}x naive")
        print(f"peak memory (largest process): {peak_mb():.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
