"""`cxroi-xl calc`'s evaluator: range reads shared between formulas, against
the same evaluator reading every range afresh, in the same run.

The workbook: 2,000 numbers in B and 300 add-in formulas, each counting
the numbers above its own row number over B1:B20000 (a range larger than the
used area, as users write them). Prints the median wall time of interleaved
runs of each and the speed-up ratio; also checks the answers agree.
"""
from __future__ import annotations

import statistics
import time

from openpyxl import Workbook

from cxroi_xl.calc.evaluator import Evaluator

ROWS, FORMULAS, RUNS = 2_000, 300, 5


class _NoSharing(dict):
    """A range cache that never keeps anything: every read is fresh."""

    def __setitem__(self, key, value) -> None:
        pass


def workbook() -> Workbook:
    book = Workbook()
    sheet = book.active
    for row in range(1, ROWS + 1):
        sheet.cell(row, 2, (row * 7919) % 1000)
    for row in range(1, FORMULAS + 1):
        sheet.cell(row, 4, f'=CXNPV(0, COUNTIF(B1:B20000, ">"&ROW()) + SUM(B1:B20000))')
    return book


def evaluate(book: Workbook, shared: bool) -> list:
    evaluator = Evaluator(book)
    if not shared:
        evaluator._grids = _NoSharing()
    return [evaluator.value("Sheet", f"D{row}") for row in range(1, FORMULAS + 1)]


def main() -> None:
    book = workbook()
    times: dict[bool, list[float]] = {True: [], False: []}
    answers = {}
    for _ in range(RUNS):  # interleaved, so both see the same machine load
        for shared in (True, False):
            start = time.perf_counter()
            answers[shared] = evaluate(book, shared)
            times[shared].append(time.perf_counter() - start)
    assert answers[True] == answers[False]
    shared, fresh = statistics.median(times[True]), statistics.median(times[False])
    print(f"{FORMULAS} formulas over B1:B20000 ({ROWS:,} used rows), median of {RUNS} interleaved runs")
    print(f"  ranges read afresh per formula: {fresh:.3f} s")
    print(f"  ranges read once and shared:    {shared:.3f} s")
    print(f"  ratio: {fresh / shared:.1f}x")


if __name__ == "__main__":
    main()
