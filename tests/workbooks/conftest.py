"""Fixtures the workbook tests share."""
from __future__ import annotations

import pytest

from cxroi_xl.workbooks import frames, roi_template


@pytest.fixture
def whole_builds(monkeypatch):
    """Counts the clients whose shared sheets openpyxl built (their shapes),
    every frame forgotten before and after."""
    count = []
    original = roi_template.build_shared_sheets

    def counting(wb, shape):
        count.append(shape)
        return original(wb, shape)

    monkeypatch.setattr(roi_template, "build_shared_sheets", counting)
    frames.clear()
    yield count
    frames.clear()
