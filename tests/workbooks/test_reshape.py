"""Frames of one shape made from another's (cxroi_xl/workbooks/reshape.py).

The oracle is the whole build: openpyxl building the client's workbook from
scratch. A client whose shape (months tracked, horizon) no frame has yet is
given the frame reshaped from the last one built whole; its workbook must be
that whole build, byte for byte, over the numbers of months and horizons a
batch meets: months that overlap the data check's working rows (up to 8),
that push the horizon table down (15 on) and the print scale with it
(16 on), horizons shorter than the months (no projected month), and the
smallest blocks reshaping refuses (one month: built whole).
"""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from benchmarks.mixed_portfolio import mixed_client
from cxroi_xl.workbooks import frames, roi_template
from cxroi_xl.workbooks.reshape import CannotReshape, RowMap, reshape_formula, reshape_roi_sheet
from tests.workbooks.test_frames import differing_parts, through_frames, whole


@pytest.fixture(scope="module")
def long_client():
    """A client with 36 tracked months, cut to any fewer."""
    return next(c for c in (mixed_client(i, seed=5) for i in range(100)) if c.tracked_months >= 36).tracker_input()


def with_shape(data, months: int, horizon: int):
    """``data`` with its first ``months`` months after go-live and a horizon
    of ``horizon`` months (the horizon table has max(horizon, months) rows
    from 6 months on, else the months)."""
    end = data.go_live + pd.DateOffset(months=months)
    kpis = data.kpis[pd.to_datetime(data.kpis["month"]) < end].reset_index(drop=True)
    return dataclasses.replace(data, client_id=f"m{months}h{horizon}", kpis=kpis, horizon_months=horizon)


SHAPES = [(2, 6), (5, 36), (8, 36), (9, 60), (14, 12), (15, 6), (16, 48), (24, 36), (36, 60), (36, 36), (1, 36)]


@pytest.mark.parametrize("mode", ["live", "values"])
@pytest.mark.parametrize("first", [(8, 12), (20, 36)])
def test_a_reshaped_frame_is_the_whole_build_byte_for_byte(long_client, whole_builds, tmp_path, mode, first):
    for months, horizon in [first, *SHAPES]:
        data = with_shape(long_client, months, horizon)
        built = len(whole_builds)
        made = through_frames(data, mode, tmp_path)
        by_openpyxl = len(whole_builds) - built
        expected = whole(data, mode)
        del whole_builds[built:]
        assert made == expected, f"{months} months, horizon {horizon}, from {first}: {differing_parts(made, expected)}"
        # only the first and the one-month client are built whole (a block
        # of one row has ranges that are single cells: not reshaped)
        assert by_openpyxl == (1 if (months, horizon) in (first, (1, 36)) else 0), (months, horizon)


def test_frames_too_small_to_repeat_are_not_reshaped_from(long_client, whole_builds, tmp_path):
    # two months: the horizon table has 2 rows, both tracked, so no
    # projected point to repeat; the next shape is built whole too
    for months, horizon in [(2, 6), (9, 36), (10, 36)]:
        through_frames(with_shape(long_client, months, horizon), "live", tmp_path)
    assert [shape.post_rows for shape in whole_builds] == [2, 9]


def test_reshaping_refuses_a_sheet_not_of_its_layout(long_client, tmp_path):
    through_frames(with_shape(long_client, 12, 36), "live", tmp_path)
    source = frames._FRAMES[frames._SOURCES[("live", "XTS")]]
    (xml,) = [xml for title, xml in source.source.values() if title == "ROI"]
    after = dataclasses.replace(source.shape, post_rows=20, tracked=20, horizon=roi_template.horizon_layout(20, 36))
    reshape_roi_sheet(xml, source.shape, after)  # as built: fine
    # a cell where the layout has no row (between the months and the horizon table)
    odd = xml.replace('<row r="38">', '<row r="37"><c r="A37" t="inlineStr"><is><t>odd</t></is></c></row><row r="38">', 1) if '<row r="37">' not in xml else xml.replace('<row r="37"></row>', '<row r="37" ht="40" customHeight="1"></row>', 1)
    assert odd != xml
    with pytest.raises(CannotReshape):
        reshape_roi_sheet(odd, source.shape, after)


def shape(months: int, horizon: int) -> roi_template.SharedShape:
    return roi_template.SharedShape("XTS", months, roi_template.horizon_layout(months, horizon), months)


def test_references_follow_the_horizon_table():
    # 9 months: horizon header at row 40, its rows 41-76 (36); 20 months:
    # header at 46 (22 + 20 + 4), rows 47-106 (60)
    rows = RowMap(shape(9, 36), shape(20, 60))
    assert rows(41) == 47 and rows(76) == 106 and rows(40) == 46 and rows(38) == 44 and rows(30) == 30
    # the sheet's own formulas: unqualified and ROI-qualified references move;
    # other sheets', names with digits and structured references do not
    assert reshape_formula("SUM($X$41:X45)+X76", rows, own_sheet=True) == "SUM($X$47:X51)+X106"
    assert reshape_formula("INDEX(CXTEI($Z$41:$Z$76,$AA$41:$AA$76,MonthlyRate,0,CostRisk),2,2)", rows, own_sheet=True) == "INDEX(CXTEI($Z$47:$Z$106,$AA$47:$AA$106,MonthlyRate,0,CostRisk),2,2)"
    assert reshape_formula("'Inputs'!B41+LOG10(C2)+Table1[x]+AD23", rows, own_sheet=True) == "'Inputs'!B41+LOG10(C2)+Table1[x]+AD23"
    # on another sheet only references to the ROI sheet move
    assert reshape_formula("SUMPRODUCT('ROI'!$L$41:$L$76/(1+MonthlyRate)^'ROI'!$C$41:$C$76)+C41", rows, own_sheet=False) == "SUMPRODUCT('ROI'!$L$47:$L$106/(1+MonthlyRate)^'ROI'!$C$47:$C$106)+C41"
    # a chart's month range ends at the last tracked month's row (22 + months)
    assert RowMap(shape(9, 36), shape(20, 60), months=True)(31) == 42
