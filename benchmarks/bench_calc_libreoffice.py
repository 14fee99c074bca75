"""`cxroi-xl calc` against LibreOffice's full recalculation of the same
workbook: the processor time a user waits for, start-up included.

For each book (by default the three shipped templates), in interleaved
rounds:
* ``cxroi-xl calc BOOK -o OUT`` as a child process: interpreter start,
  imports, reading, evaluating every formula and writing OUT;
* LibreOffice opening BOOK headless, recalculating every formula and saving
  it as .xlsx, through :func:`cxroi_xl.workbooks.libreoffice.recalculate`
  (``soffice`` start-up and its own fresh profile included).
Processor time is user + system of the finished child processes
(``RUSAGE_CHILDREN``, taken before and after each run); wall time is
printed beside it. The medians are compared as LibreOffice / calc: at
least 1 means calc costs no more than LibreOffice, the stretch target is 3.

    python benchmarks/bench_calc_libreoffice.py [--rounds 5] [BOOK ...]

Needs LibreOffice (``soffice``); without it the script says so and stops.
POSIX only (``resource``).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cxroi_xl.workbooks.libreoffice import LibreOfficeError, recalculate, soffice

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [ROOT / "workbook_templates" / f"{name}.xlsx" for name in ("cx_automation_roi", "customer_value", "attribution")]
# The console script's entry point, as `cxroi-xl calc BOOK -o OUT` runs it.
CALC = "import sys; from cxroi_xl.command import main; sys.argv[0] = 'cxroi-xl'; main()"


def children_time(run) -> tuple[float, float]:
    """Processor time (user + system) of the child processes ``run`` starts
    and waits for, and its wall time, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def run_calc(book: Path, out: Path) -> None:
    out.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, "-c", CALC, "calc", str(book), "-o", str(out)], capture_output=True, text=True)
    if done.returncode not in (0, 1) or not out.is_file():  # 1: some cells end in an error, the book is still written
        raise SystemExit(f"cxroi-xl calc {book.name} exited {done.returncode}:\n{done.stderr[-2000:]}")


def run_libreoffice(book: Path, out_dir: Path) -> None:
    recalculate(book, out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("books", nargs="*", type=Path, default=TEMPLATES, help="workbooks (default: the shipped templates)")
    args = parser.parse_args()
    try:
        soffice()
    except LibreOfficeError as exc:
        print(f"skipped: {exc}")
        return
    print(f"processor time (user + system of the child processes), median of {args.rounds} interleaved rounds; wall time beside it")
    print(f"  {'book':24} {'calc':>14} {'LibreOffice':>14}   LibreOffice / calc")
    ratios = []
    with tempfile.TemporaryDirectory() as scratch:
        for book in args.books:
            book = book.resolve()
            times: dict[str, list[tuple[float, float]]] = {"calc": [], "libreoffice": []}
            for round_ in range(args.rounds):  # interleaved, so both see the same machine load
                out = Path(scratch) / f"{round_}-{book.name}"
                times["calc"].append(children_time(lambda: run_calc(book, out.with_suffix(".xlsx"))))
                times["libreoffice"].append(children_time(lambda: run_libreoffice(book, out.with_suffix(""))))
            cpu = {name: statistics.median(t[0] for t in runs) for name, runs in times.items()}
            wall = {name: statistics.median(t[1] for t in runs) for name, runs in times.items()}
            ratio = cpu["libreoffice"] / cpu["calc"]
            ratios.append(ratio)
            print(
                f"  {book.name:24} {cpu['calc']:6.3f} s ({wall['calc']:5.2f}) {cpu['libreoffice']:6.3f} s ({wall['libreoffice']:5.2f})"
                f"   {ratio:.2f}x (wall {wall['libreoffice'] / wall['calc']:.2f}x)"
            )
    worst = min(ratios)
    verdict = "stretch met" if worst >= 3 else "met" if worst >= 1 else "not met"
    print(f"  target: LibreOffice / calc >= 1 for every book (stretch 3) -> lowest {worst:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
