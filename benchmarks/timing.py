"""Shared timing helper of the benchmark scripts (run them as scripts:
``python benchmarks/bench_<topic>.py``)."""
from __future__ import annotations

import time
from typing import Any, Callable


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, in seconds, and the last result:
    the minimum is the least disturbed by other work on the machine."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result
