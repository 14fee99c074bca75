"""ROI family against published examples and hand-derived cases.

Oracles:
* Microsoft Excel documentation examples for NPV, IRR, XNPV and XIRR (inputs
  and published results quoted beside each test).
* numpy-financial (an independent implementation) on random cash flows.
* Hand-derived TEI, ROI and payback cases written out below.
"""
from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest

from cxroi_xl.engine import finance
from cxroi_xl.errors import InvalidInputError, NotReachedError, OutOfDomainError, ZeroDenominatorError

MS_XDATES = ["2008-01-01", "2008-03-01", "2008-10-30", "2009-02-15", "2009-04-01"]
MS_XFLOWS = [-10000, 2750, 4250, 3250, 2750]


# Microsoft, "NPV function", example 1: =NPV(10%, -10000, 3000, 4200, 6800)
# = 1,188.44. Excel discounts the first value, so ours needs a 0 at period 0.
def test_npv_microsoft_example_1():
    assert finance.npv(0.10, [0, -10000, 3000, 4200, 6800]) == pytest.approx(1188.44, abs=0.005)


# Microsoft, "NPV function", example 2: =NPV(8%, B5:B9)+B4 = 1,922.06 and
# =NPV(8%, B5:B9, -9000)+B4 = -3,749.47.
def test_npv_microsoft_example_2():
    flows = [-40000, 8000, 9200, 10000, 12000, 14500]
    assert finance.npv(0.08, flows) == pytest.approx(1922.06, abs=0.005)
    assert finance.npv(0.08, flows + [-9000]) == pytest.approx(-3749.47, abs=0.005)


# Microsoft, "IRR function": after four years -2.1%, after five 8.7%,
# after two years with guess -10%: -44.4%.
def test_irr_microsoft_examples():
    flows = [-70000, 12000, 15000, 18000, 21000, 26000]
    assert finance.irr(flows[:5]) == pytest.approx(-0.021, abs=5e-4)
    assert finance.irr(flows) == pytest.approx(0.087, abs=5e-4)
    assert finance.irr(flows[:3], guess=-0.10) == pytest.approx(-0.444, abs=5e-4)


# Microsoft, "XNPV function": 9%, result 2,086.65 (2086.647602 to 6 dp).
def test_xnpv_microsoft_example():
    assert finance.xnpv(0.09, MS_XFLOWS, MS_XDATES) == pytest.approx(2086.647602, abs=5e-7)
    assert finance.npv(0.09, MS_XFLOWS, MS_XDATES) == pytest.approx(2086.647602, abs=5e-7)


# Microsoft, "XIRR function": 0.373362535 (37.34%). Excel iterates only
# until the result is accurate to 0.000001 %, so its ninth digit is not
# exact; the exact root is 0.37336253352, hence the 2e-9 tolerance.
def test_xirr_microsoft_example():
    rate = finance.xirr(MS_XFLOWS, MS_XDATES)
    assert rate == pytest.approx(0.373362535, abs=2e-9)
    assert finance.xnpv(rate, MS_XFLOWS, MS_XDATES) == pytest.approx(0, abs=1e-8)


def test_npv_and_irr_agree_with_numpy_financial():
    rng = np.random.default_rng(7)
    flows = rng.normal(300, 400, size=(200, 24))
    flows[:, 0] = -5000
    rates = rng.uniform(0, 0.2, size=200)
    ours = finance.npv(rates, flows)
    # numpy-financial's npv also leaves period 0 undiscounted
    theirs = np.array([npf.npv(r, f) for r, f in zip(rates, flows)])
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    ours_irr = finance.irr(flows)
    theirs_irr = np.array([npf.irr(f) for f in flows])
    both = np.isfinite(theirs_irr)
    assert both.sum() > 150
    np.testing.assert_allclose(ours_irr[both], theirs_irr[both], rtol=1e-9, atol=1e-12)


def test_irr_is_root_of_npv_even_far_from_guess():
    flows = [-100, 0, 0, 0, 0, 0, 0, 0, 0, 1e6]  # IRR about 167%
    rate = finance.irr(flows)
    assert finance.npv(rate, flows) == pytest.approx(0, abs=1e-6)
    assert rate == pytest.approx((1e6 / 100) ** (1 / 9) - 1, rel=1e-12)


def test_irr_without_sign_change_is_out_of_domain():
    with pytest.raises(OutOfDomainError):
        finance.irr([100, 200])


# Hand-derived: cumulative -100, -70, -30, 20 crosses zero 30/50 into period 3.
def test_payback_interpolates():
    assert finance.payback([-100, 30, 40, 50]) == pytest.approx(2.6, abs=1e-15)
    assert finance.payback([10, -5]) == 0.0
    with pytest.raises(NotReachedError):
        finance.payback([-100, 10, 10])


# Hand-derived discounted payback at 10%: discounted flows -100, 54.5454...,
# 49.5867...; cumulative after period 1 is -45.4545..., so payback is
# 1 + 45.4545/49.5867 = 1.91666...
def test_discounted_payback():
    expected = 1 + (100 - 60 / 1.1) / (60 / 1.1**2)
    assert finance.payback([-100, 60, 60], 0.10) == pytest.approx(expected, rel=1e-12)


# Hand-derived TEI: benefits 0, 600, 600; costs 500, 100, 100; rate 10%,
# benefit risk 10%, cost risk 5%.
#   adjusted benefits 0, 540, 540 -> PV = 540/1.1 + 540/1.21 = 937.19008...
#   adjusted costs 525, 105, 105 -> PV = 525 + 105/1.1 + 105/1.21 = 707.23140...
#   NPV = 229.95868..., ROI = 0.32515...
#   net -525, 435, 435 -> discounted -525, 395.4545, 359.5041; payback
#   = 1 + 129.5454/359.5041 = 1.36034...
def test_tei_hand_derived():
    result = finance.tei([0, 600, 600], [500, 100, 100], 0.10, 0.10, 0.05)
    pv_b = 540 / 1.1 + 540 / 1.21
    pv_c = 525 + 105 / 1.1 + 105 / 1.21
    assert result.pv_benefits == pytest.approx(pv_b, rel=1e-12)
    assert result.pv_costs == pytest.approx(pv_c, rel=1e-12)
    assert result.npv == pytest.approx(pv_b - pv_c, rel=1e-12)
    assert result.roi == pytest.approx((pv_b - pv_c) / pv_c, rel=1e-12)
    assert result.payback == pytest.approx(1 + (525 - 435 / 1.1) / (435 / 1.21), rel=1e-12)
    assert finance.roi([0, 600, 600], [500, 100, 100], 0.10, 0.10, 0.05) == pytest.approx(result.roi, rel=1e-15)


def test_roi_errors():
    with pytest.raises(ZeroDenominatorError):
        finance.roi([1, 2], [0, 0])
    with pytest.raises(InvalidInputError):
        finance.roi([1, 2], [1])
    with pytest.raises(OutOfDomainError):
        finance.roi([1, 2], [1, 1], discount_rate=-1)


def test_savings_broadcasts():
    # 1000 x 0.3 x (5 - 0.5) = 1350; 1200 x 0.3 x 4.5 = 1620
    assert finance.savings([1000, 1200], 0.3, 5.0, 0.5).tolist() == [1350.0, 1620.0]
    with pytest.raises(OutOfDomainError):
        finance.savings([10], 1.5, 1)


def test_monthly_rate():
    assert (1 + finance.monthly_rate(0.10)) ** 12 == pytest.approx(1.10, rel=1e-14)


# Hand-derived: cumulative 0, -100, -50, 10 -> crosses zero 50/60 into
# period 3; the blank period 0 is not a payback.
def test_payback_ignores_leading_zero_periods():
    assert finance.payback([0, -100, 50, 60]) == pytest.approx(2 + 50 / 60, rel=1e-15)
    # TEI: benefits 0, 0, 80, 80 against 100 in period 1: net 0, -100, 80, 80,
    # cumulative 0, -100, -20, 60 -> 2 + 20/80 = 2.25
    assert finance.tei([0, 0, 80, 80], [0, 100, 0, 0], 0).payback == pytest.approx(2.25, rel=1e-15)
    with pytest.raises(NotReachedError):
        finance.payback([0, 0])
    assert finance.payback([5, 0, 1]) == 0.0  # never below zero


def test_negative_costs_are_refused_not_misread():
    with pytest.raises(InvalidInputError, match="positive amounts"):
        finance.roi([0, 60, 60], [-100, 0, 0])


def test_a_row_against_a_column_is_refused():
    with pytest.raises(InvalidInputError):
        finance.savings([[100], [200], [300]], [[0.1, 0.2, 0.3]], 5)


# Hand-derived roots: -100 + 0.01/(1+r) = 0 -> r = -0.9999;
# -1 + 1000/(1+r) = 0 -> r = 999.
def test_irr_at_the_edges_of_the_search():
    assert finance.irr([-100, 0.01]) == pytest.approx(-0.9999, rel=1e-9)
    assert finance.irr([-1, 1000]) == pytest.approx(999, rel=1e-9)
