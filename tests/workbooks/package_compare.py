"""Comparing a shipped workbook with a fresh build of it.

The build is deterministic on one machine, but the last digit of a cached
float may differ between machines: numpy's sums and products take a
different path on a processor with other vector instructions, and that
difference grows through a fitted model (the customer-value template's
BG/NBD) or an interval found by iteration (the Summary's, a few 1e-9 apart
measured). So a shipped template "is a fresh build" when every part holds
the same text, each cached number (``<v>``) equal to the rebuilt one
within a relative 1e-7 or an absolute 1e-6 (a tornado's zero computed as
-5e-10): far below any digit a sheet shows, far above what the machine
changes.
"""
from __future__ import annotations

import io
import math
import re
import zipfile

_CACHED_VALUE = re.compile(r"<v>([^<]*)</v>")
RELATIVE_TOLERANCE, ABSOLUTE_TOLERANCE = 1e-7, 1e-6


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def assert_same_build(shipped: bytes, built: bytes, hint: str = "run `cxroi-xl templates build`") -> None:
    """``shipped`` and ``built`` hold the same parts, in the same order, with
    the same text but for cached numbers within :data:`RELATIVE_TOLERANCE` or
    :data:`ABSOLUTE_TOLERANCE`."""
    if shipped == built:
        return
    with zipfile.ZipFile(io.BytesIO(shipped)) as a, zipfile.ZipFile(io.BytesIO(built)) as b:
        assert a.namelist() == b.namelist(), f"other parts: {hint}"
        for name in a.namelist():
            left, right = a.read(name), b.read(name)
            if left == right:
                continue
            left_pieces = _CACHED_VALUE.split(left.decode("utf-8"))
            right_pieces = _CACHED_VALUE.split(right.decode("utf-8"))
            assert len(left_pieces) == len(right_pieces), f"{name}: other cells: {hint}"
            for k, (x, y) in enumerate(zip(left_pieces, right_pieces)):
                if x == y:
                    continue
                # odd pieces are the <v> texts, even ones everything between
                nx, ny = (_number(x), _number(y)) if k % 2 else (None, None)
                assert nx is not None and ny is not None and math.isclose(nx, ny, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE), (
                    f"{name}: {x[:80]!r} against {y[:80]!r}: {hint}"
                )
