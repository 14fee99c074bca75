"""ROI family: CXROI, CXNPV, CXIRR, CXPAYBACK, CXTEI, CXSAVINGS."""
from __future__ import annotations

from ...engine import finance
from ..declarations import Arg, ExcelFunction
from . import metric_table

CATEGORY = "CX ROI"

_BENEFITS = Arg("benefits", "numbers", "Benefits per period, period 0 first (row or column; blanks count as 0); a single number is a benefit at period 0.", "currency")
_COSTS = Arg("costs", "numbers", "Costs per period, period 0 first, same length as benefits (blanks count as 0); a single number is a cost at period 0, e.g. a one-off set-up cost.", "currency")
_CASHFLOWS = Arg("cashflows", "numbers", "Cash flows per period, period 0 first (row or column; blanks count as 0).", "currency")
_DATES = Arg("dates", "dates", "One date per cash flow; switches to Excel's XNPV/XIRR day count (days/365). Blank: equal periods, as NPV and IRR.", default=None)
_BENEFIT_RISK = Arg("benefit_risk", "number", "Share by which benefits are reduced for risk, e.g. 0.1.", "fraction 0..1", default=0.0)
_COST_RISK = Arg("cost_risk", "number", "Share by which costs are inflated for risk, e.g. 0.05.", "fraction >= 0", default=0.0)


def _irr(cashflows, dates, guess):
    return finance.irr(cashflows, guess) if dates is None else finance.xirr(cashflows, dates, guess)


def tei_table(benefits, costs, discount_rate, benefit_risk, cost_risk):
    """CXTEI's spilled table: header row, then one row per figure."""
    result = finance.tei(benefits, costs, discount_rate, benefit_risk, cost_risk)
    return metric_table(result.rows(), "#N/A", "never pays back")


FUNCTIONS = [
    ExcelFunction(
        name="CXROI",
        summary="Risk-adjusted return on investment: (PV benefits - PV costs) / PV costs.",
        args=(
            _BENEFITS,
            _COSTS,
            Arg("discount_rate", "number", "Discount rate per period; 0 = undiscounted.", "fraction per period", default=0.0),
            _BENEFIT_RISK,
            _COST_RISK,
        ),
        returns="scalar",
        engine=finance.roi,
        category=CATEGORY,
        result="ROI as a fraction (0.25 = 25%).",
        details="Benefits x (1 - benefit_risk) and costs x (1 + cost_risk), each discounted with PV(x) = sum x_t/(1+r)^t, period 0 undiscounted (Forrester TEI style). #DIV/0! when the costs' present value is zero.",
        example="=CXROI(B2:B14, C2:C14, 0.008, 0.1, 0.05)",
    ),
    ExcelFunction(
        name="CXNPV",
        summary="Net present value with period 0 undiscounted; with dates, Excel's XNPV.",
        args=(
            Arg("rate", "number", "Discount rate per period (per year with dates).", "fraction"),
            _CASHFLOWS,
            _DATES,
        ),
        returns="scalar",
        engine=finance.npv,
        category=CATEGORY,
        result="Net present value in the cash flows' currency.",
        details="sum cf_t/(1+rate)^t from t=0. Unlike Excel's NPV, the first value is NOT discounted, and blank cells count as zero-amount periods (Excel's NPV skips them): without blanks, CXNPV(r, A1:A6) = NPV(r, A2:A6) + A1. With dates the exponent is (d_i - d_0)/365, as XNPV.",
        example="=CXNPV(0.08, B2:B7)",
    ),
    ExcelFunction(
        name="CXIRR",
        summary="Internal rate of return (IRR), or XIRR when dates are given.",
        args=(
            _CASHFLOWS,
            _DATES,
            Arg("guess", "number", "Rate near which to look when there are several roots.", "fraction", default=0.1),
        ),
        returns="scalar",
        engine=_irr,
        category=CATEGORY,
        result="The rate per period (per year with dates) at which the NPV is zero.",
        details="Found by bracketing a sign change of the NPV between -99.9999% and 1,000,000% per period and narrowing it, so it converges whenever a root lies in that range. #NUM! when the flows have no sign change.",
        example="=CXIRR(B2:B7)",
    ),
    ExcelFunction(
        name="CXPAYBACK",
        summary="Periods until the cumulative (discounted) cash flow first reaches zero.",
        args=(
            _CASHFLOWS,
            Arg("discount_rate", "number", "Discount rate per period; 0 gives the simple payback.", "fraction per period", default=0.0),
        ),
        returns="scalar",
        engine=finance.payback,
        category=CATEGORY,
        result="Payback in periods, interpolated linearly inside the period where it crosses zero; #N/A if never reached.",
        details="Example: -100, 30, 40, 50 pays back after 2.6 periods.",
        example="=CXPAYBACK(B2:B14)",
    ),
    ExcelFunction(
        name="CXTEI",
        summary="Total Economic Impact summary: PV benefits, PV costs, NPV, ROI, payback.",
        args=(
            _BENEFITS,
            _COSTS,
            Arg("discount_rate", "number", "Discount rate per period.", "fraction per period", default=0.10),
            _BENEFIT_RISK,
            _COST_RISK,
        ),
        returns="table",
        engine=tei_table,
        category=CATEGORY,
        result="A 6x2 table (Metric | Value) with rows PV benefits, PV costs, NPV, ROI, Payback (periods).",
        details="Risk-adjusted as CXROI; payback of the risk-adjusted net flows at the same rate. The rate is per period: for monthly amounts use a monthly rate, (1+annual)^(1/12)-1. Use INDEX(CXTEI(...), 5, 2) for the ROI.",
        example="=CXTEI(B2:B14, C2:C14, 0.008, 0.1, 0.05)",
    ),
    ExcelFunction(
        name="CXSAVINGS",
        summary="Deflection savings: contacts x automation rate x (cost per contact - automated cost).",
        args=(
            Arg("contacts", "array", "Contacts per period (a cell or a range).", "count"),
            Arg("automation_rate", "array", "Share of contacts handled by automation (a cell or a range).", "fraction 0..1"),
            Arg("cost_per_contact", "array", "Cost of a contact handled by an agent.", "currency"),
            Arg("automated_cost_per_contact", "array", "Cost of a contact handled by automation.", "currency", default=0.0),
        ),
        returns="array",
        engine=finance.savings,
        category=CATEGORY,
        result="Savings, spilled in the shape of the larger range (ranges broadcast element-wise).",
        example="=CXSAVINGS(B2:B13, 0.35, 6.20, 0.40)",
    ),
]
