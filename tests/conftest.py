"""Shared test fixtures.

xlwings' server-side dispatcher runs the real argument conversion and
decorator checks on the JSON payload Excel (Office.js) sends; it is switched
on by environment variables that must be set before xlwings is imported.
The ``noncommercial`` key is for this test suite only.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["XLWINGS_ON_SERVER"] = "true"
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "cxroi_xl" / "excel" / "classic_udfs"))  # what xlwings' PYTHONPATH names

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI replays the same examples every run, so a red build is reproducible;
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from tests.excel_dispatch import ExcelDispatcher  # noqa: E402


@pytest.fixture(scope="session")
def excel() -> ExcelDispatcher:
    """Call Excel functions the way Excel does, through xlwings' dispatcher."""
    return ExcelDispatcher()
