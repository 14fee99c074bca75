"""cxroi-xl's Excel functions, for xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or an
Excel error value.
"""
import xlwings as xw

from cxroi_xl.excel import call

__all__ = ['CXROI', 'CXNPV', 'CXIRR', 'CXPAYBACK', 'CXTEI', 'CXSAVINGS']


@xw.func(category='CX ROI')
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 = undiscounted. [fraction per period] Optional, default 0.0.')
@xw.arg('benefit_risk', ndim=2, err_to_str=True, doc='Share by which benefits are reduced for risk, e.g. 0.1. [fraction 0..1] Optional, default 0.0.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are inflated for risk, e.g. 0.05. [fraction >= 0] Optional, default 0.0.')
def CXROI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):
    """Risk-adjusted return on investment: (PV benefits - PV costs) / PV costs.

    Benefits x (1 - benefit_risk) and costs x (1 + cost_risk), each discounted with PV(x) = sum x_t/(1+r)^t, period 0 undiscounted (Forrester TEI style). #DIV/0! when the costs' present value is zero.

    Returns: ROI as a fraction (0.25 = 25%).

    Example: =CXROI(B2:B14, C2:C14, 0.008, 0.1, 0.05)
    """
    return call('CXROI', benefits, costs, discount_rate, benefit_risk, cost_risk)


@xw.func(category='CX ROI')
@xw.arg('rate', ndim=2, err_to_str=True, doc='Discount rate per period (per year with dates). [fraction]')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('dates', ndim=2, err_to_str=True, doc="One date per cash flow; switches to Excel's XNPV/XIRR day count (days/365). Optional, default none.")
def CXNPV(rate, cashflows, dates=None):
    """Net present value with period 0 undiscounted; with dates, Excel's XNPV.

    sum cf_t/(1+rate)^t from t=0. Unlike Excel's NPV, the first value is NOT discounted: CXNPV(r, A1:A6) = NPV(r, A2:A6) + A1. With dates the exponent is (d_i - d_0)/365, as XNPV.

    Returns: Net present value in the cash flows' currency.

    Example: =CXNPV(0.08, B2:B7)
    """
    return call('CXNPV', rate, cashflows, dates)


@xw.func(category='CX ROI')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('dates', ndim=2, err_to_str=True, doc="One date per cash flow; switches to Excel's XNPV/XIRR day count (days/365). Optional, default none.")
@xw.arg('guess', ndim=2, err_to_str=True, doc='Rate near which to look when there are several roots. [fraction] Optional, default 0.1.')
def CXIRR(cashflows, dates=None, guess=None):
    """Internal rate of return (IRR), or XIRR when dates are given.

    Found by bracketing a sign change of the NPV and narrowing it, so it converges whenever a root exists. #NUM! when the flows have no sign change.

    Returns: The rate per period (per year with dates) at which the NPV is zero.

    Example: =CXIRR(B2:B7)
    """
    return call('CXIRR', cashflows, dates, guess)


@xw.func(category='CX ROI')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 gives the simple payback. [fraction per period] Optional, default 0.0.')
def CXPAYBACK(cashflows, discount_rate=None):
    """Periods until the cumulative (discounted) cash flow first reaches zero.

    Example: -100, 30, 40, 50 pays back after 2.6 periods.

    Returns: Payback in periods, interpolated linearly inside the period where it crosses zero; #N/A if never reached.

    Example: =CXPAYBACK(B2:B14)
    """
    return call('CXPAYBACK', cashflows, discount_rate)


@xw.func(category='CX ROI')
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period. [fraction per period] Optional, default 0.1.')
@xw.arg('benefit_risk', ndim=2, err_to_str=True, doc='Share by which benefits are reduced for risk, e.g. 0.1. [fraction 0..1] Optional, default 0.0.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are inflated for risk, e.g. 0.05. [fraction >= 0] Optional, default 0.0.')
def CXTEI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):
    """Total Economic Impact summary: PV benefits, PV costs, NPV, ROI, payback.

    Risk-adjusted as CXROI; payback of the risk-adjusted net flows at the same rate. Use INDEX(CXTEI(...), 5, 2) for the ROI.

    Returns: A 6x2 table (Metric | Value) with rows PV benefits, PV costs, NPV, ROI, Payback (periods).

    Example: =CXTEI(B2:B14, C2:C14, 0.008, 0.1, 0.05)
    """
    return call('CXTEI', benefits, costs, discount_rate, benefit_risk, cost_risk)


@xw.func(category='CX ROI')
@xw.arg('contacts', ndim=2, err_to_str=True, doc='Contacts per period (a cell or a range). [count]')
@xw.arg('automation_rate', ndim=2, err_to_str=True, doc='Share of contacts handled by automation (a cell or a range). [fraction 0..1]')
@xw.arg('cost_per_contact', ndim=2, err_to_str=True, doc='Cost of a contact handled by an agent. [currency]')
@xw.arg('automated_cost_per_contact', ndim=2, err_to_str=True, doc='Cost of a contact handled by automation. [currency] Optional, default 0.0.')
def CXSAVINGS(contacts, automation_rate, cost_per_contact, automated_cost_per_contact=None):
    """Deflection savings: contacts x automation rate x (cost per contact - automated cost).

    Returns: Savings, spilled in the shape of the larger range (ranges broadcast element-wise).

    Example: =CXSAVINGS(B2:B13, 0.35, 6.20, 0.40)
    """
    return call('CXSAVINGS', contacts, automation_rate, cost_per_contact, automated_cost_per_contact)
