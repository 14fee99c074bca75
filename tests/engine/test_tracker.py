"""The tracker's building blocks: the risk adjustment every stream takes,
and the before/after stream functions CXRETAINEDMARGIN and CXREVENUEUPLIFT
(derived by hand below, each figure written out with its arithmetic). The
measured model is tested in test_streams.py.
"""
from __future__ import annotations

import pytest

from cxroi_xl.errors import OutOfDomainError
from cxroi_xl.engine.tracker import risk_adjusted
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_clients"


def test_risk_adjustment_makes_every_sign_worse():
    # x (1 - 0.25) for a benefit, x (1 + 0.25) for a dis-benefit
    assert risk_adjusted([80.0, 0.0, -40.0], 0.25).tolist() == [60.0, 0.0, -50.0]
    with pytest.raises(OutOfDomainError):
        risk_adjusted([1.0], 1.5)


# ---- independent loop over the sample clients ------------------------------


# ---- the stream functions in cells, through xlwings' dispatcher -------------


def test_cxretainedmargin_by_hand_through_dispatch(excel):
    # the three-month case above: 0, 40, 71.5; then R_prev x 10 = 34.7125, 46.3446875
    args = ([200, 200], [4, 6], [4000, 4000], [200, 210, 220], [1, 2, 9])
    assert excel("CXRETAINEDMARGIN", *args) == [[0.0], [40.0], [71.5]]
    spilled = excel("CXRETAINEDMARGIN", *args, 0.5, 5)
    assert [row[0] for row in spilled] == pytest.approx([0, 40, 71.5, 34.7125, 46.3446875], rel=1e-14)
    # rows work as well as columns
    assert excel("CXRETAINEDMARGIN", [[200, 200]], [[4, 6]], [[4000, 4000]], [[200, 210, 220]], [[1, 2, 9]]) == [[0.0], [40.0], [71.5]]


def test_cxrevenueuplift_by_hand_through_dispatch(excel):
    # extra wins 5, 0, -2 (then their mean, 1) x 400
    result = excel("CXREVENUEUPLIFT", [100, 100], [20, 30], [100, 120, 80], [30, 30, 18], 400, 4)
    assert [row[0] for row in result] == pytest.approx([2000, 0, -800, 400], abs=1e-10)


@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, None, 220], [1, 2, 9]), "#VALUE!"),  # a blank month
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2, 9]), "#VALUE!"),  # lengths differ
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000], [200, 210], [1, 2]), "#VALUE!"),
        ("CXRETAINEDMARGIN", ([0, 0], [0, 0], [0, 0], [200, 210], [1, 2]), "#DIV/0!"),  # no baseline customers
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2], 1.5), "#NUM!"),
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, -2]), "#VALUE!"),
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2], 0.5, 0), "#VALUE!"),
        ("CXREVENUEUPLIFT", ([0, 0], [0, 0], [100], [30], 400), "#DIV/0!"),  # no baseline leads
        ("CXREVENUEUPLIFT", ([100], [20], [100, "x"], [30, 30], 400), "#VALUE!"),
        ("CXREVENUEUPLIFT", ([100], [20], [100], [30], "lots"), "#VALUE!"),
    ],
)
def test_stream_functions_bad_input_gives_an_excel_error(excel, name, args, expected):
    assert excel(name, *args) == expected
