"""cxroi-xl's Excel functions, for xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or an
Excel error value.
"""
import xlwings as xw

from cxroi_xl.excel import call

__all__ = ['CXROI', 'CXNPV', 'CXIRR', 'CXPAYBACK', 'CXTEI', 'CXSAVINGS', 'CXNPS', 'CXNPSCI', 'CXCSAT', 'CXCES', 'CXRATE', 'CXUPLIFT', 'CXDID', 'CXCLTV', 'CXCAC', 'CXLTVCAC', 'CXCHURN', 'CXRETENTION', 'CXCOHORT', 'CXSURVIVAL', 'CXBGNBDFIT', 'CXBGNBD', 'CXPALIVE', 'CXGGFIT', 'CXCLV', 'CXATTRIBUTION']


@xw.func(category='CX ROI')
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0); a single number is a benefit at period 0. [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0); a single number is a cost at period 0, e.g. a one-off set-up cost. [currency]')
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

    sum cf_t/(1+rate)^t from t=0. Unlike Excel's NPV, the first value is NOT discounted, and blank cells count as zero-amount periods (Excel's NPV skips them): without blanks, CXNPV(r, A1:A6) = NPV(r, A2:A6) + A1. With dates the exponent is (d_i - d_0)/365, as XNPV.

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

    Found by bracketing a sign change of the NPV between -99.9999% and 1,000,000% per period and narrowing it, so it converges whenever a root lies in that range. #NUM! when the flows have no sign change.

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
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0); a single number is a benefit at period 0. [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0); a single number is a cost at period 0, e.g. a one-off set-up cost. [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period. [fraction per period] Optional, default 0.1.')
@xw.arg('benefit_risk', ndim=2, err_to_str=True, doc='Share by which benefits are reduced for risk, e.g. 0.1. [fraction 0..1] Optional, default 0.0.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are inflated for risk, e.g. 0.05. [fraction >= 0] Optional, default 0.0.')
def CXTEI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):
    """Total Economic Impact summary: PV benefits, PV costs, NPV, ROI, payback.

    Risk-adjusted as CXROI; payback of the risk-adjusted net flows at the same rate. The rate is per period: for monthly amounts use a monthly rate, (1+annual)^(1/12)-1. Use INDEX(CXTEI(...), 5, 2) for the ROI.

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


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc="Answers to 'how likely are you to recommend us?', whole numbers 0-10 (row or column; blanks are ignored). [points 0..10]")
def CXNPS(scores):
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of the answers.

    Blank cells are ignored; passives (7-8) count only in the total. #VALUE! for an answer outside 0-10 or not whole, #DIV/0! when there are no answers.

    Returns: NPS in points, -100 to 100.

    Example: =CXNPS(B2:B500)
    """
    return call('CXNPS', scores)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc="Answers to 'how likely are you to recommend us?', whole numbers 0-10 (row or column; blanks are ignored). [points 0..10]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXNPSCI(scores, confidence=None):
    """Confidence interval of the Net Promoter Score, spilled as one row: lower | upper.

    The score interval of Rocks (2016, The American Statistician 70(4)): every NPS d whose score test n (NPS/100 - d)^2 / (pP~ + pD~ - d^2) <= z^2 is not rejected, with pP~, pD~ the most likely shares given d. Always within -100..100, and not a single point when every answer is a promoter; a 95% interval covered the true NPS at least 94% of the time with 20 or 200 answers on a grid of true shares. #DIV/0! without answers.

    Returns: One row: lower | upper, in NPS points.

    Example: =CXNPSCI(B2:B500, 0.95)
    """
    return call('CXNPSCI', scores, confidence)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc='Satisfaction answers, whole numbers 1 to scale (row or column; blanks are ignored). [points]')
@xw.arg('scale', ndim=2, err_to_str=True, doc='Top of the answer scale: 5 for 1-5, 10 for 1-10. [points] Optional, default 5.')
@xw.arg('threshold', ndim=2, err_to_str=True, doc='Lowest answer counted as satisfied; default scale - 1 (top-2-box). [points] Optional, default none.')
def CXCSAT(scores, scale=None, threshold=None):
    """Customer satisfaction: share of answers at or above a threshold (top-2-box by default).

    #VALUE! for an answer outside 1..scale or not whole, #NUM! for a scale below 2 or a threshold outside 1..scale, #DIV/0! when there are no answers.

    Returns: The satisfied share as a fraction (0.8 = 80%).

    Example: =CXCSAT(C2:C500, 5, 4)
    """
    return call('CXCSAT', scores, scale, threshold)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc='Effort answers, whole numbers 1-7 (CES 2.0) or 1-5 (row or column; blanks are ignored). [points]')
def CXCES(scores):
    """Customer Effort Score: the mean of the answers.

    On the 1-7 CES 2.0 agreement scale higher is better (less effort); on the older 1-5 effort scale lower is better. #VALUE! for an answer outside 1-7 or not whole, #DIV/0! when there are no answers.

    Returns: Mean answer in scale points.

    Example: =CXCES(D2:D500)
    """
    return call('CXCES', scores)


@xw.func(category='CX survey')
@xw.arg('successes', ndim=2, err_to_str=True, doc='Count of successes, e.g. contacts resolved at first contact. [count]')
@xw.arg('trials', ndim=2, err_to_str=True, doc='Count of trials, e.g. all contacts; at least successes. [count]')
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXRATE(successes, trials, confidence=None):
    """A success rate with its Wilson score interval: first-contact resolution, deflection, conversion.

    The Wilson (1927) score interval stays within 0..1 and keeps its coverage for small counts and rates near 0% or 100%. #VALUE! for negative or fractional counts or successes above trials, #DIV/0! for zero trials.

    Returns: One row: rate | lower | upper, as fractions.

    Example: =CXRATE(SUM(E2:E13), SUM(F2:F13))
    """
    return call('CXRATE', successes, trials, confidence)


@xw.func(category='CX impact')
@xw.arg('baseline', ndim=2, err_to_str=True, doc="The metric per answer or per period before go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('post', ndim=2, err_to_str=True, doc="The metric per answer or per period after go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXUPLIFT(baseline, post, confidence=None):
    """Before/after change of a metric's mean with Welch's confidence interval and p-value.

    Change = post mean - baseline mean; Change % = change / |baseline mean|, so a rise from -10 to -5 is +50%. Welch-Satterthwaite t interval and two-sided Welch t-test, so the periods may differ in size and spread. A before/after comparison cannot separate the automation from anything else that changed meanwhile; use CXDID with a control group for that. #DIV/0! when a period has fewer than two values; Change % shows #DIV/0! for a zero baseline.

    Returns: A 10x2 table (Metric | Value): Baseline mean, Post mean, Change, Change %, CI lower, CI upper, p-value, N baseline, N post.

    Example: =CXUPLIFT(B2:B200, C2:C200)
    """
    return call('CXUPLIFT', baseline, post, confidence)


@xw.func(category='CX impact')
@xw.arg('treated_before', ndim=2, err_to_str=True, doc="The metric in the group that got the automation, before go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('treated_after', ndim=2, err_to_str=True, doc="The metric in the group that got the automation, after go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('control_before', ndim=2, err_to_str=True, doc="The metric in a comparable group without it, over the same before period (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('control_after', ndim=2, err_to_str=True, doc="The metric in the group without it, over the same after period (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXDID(treated_before, treated_after, control_before, control_after, confidence=None):
    """Difference-in-differences of means: the change in the treated group minus the change in a control group.

    Needed when something besides the automation may have moved the metric between the periods (season, prices, a product change): a control group without the automation absorbs that shared change. Estimate = (TA - TB) - (CA - CB), the effect of the automation if, without it, both groups would have changed alike. Std error = sqrt(sum of var/n of the four groups); t interval and p-value with Welch-Satterthwaite degrees of freedom. #DIV/0! when a group has fewer than two values.

    Returns: A 6x2 table (Metric | Value): Estimate, Std error, CI lower, CI upper, p-value.

    Example: =CXDID(B2:B100, C2:C100, D2:D100, E2:E100)
    """
    return call('CXDID', treated_before, treated_after, control_before, control_after, confidence)


@xw.func(category='CX customer value')
@xw.arg('arpu', ndim=2, err_to_str=True, doc='Average revenue per customer per period. [currency]')
@xw.arg('gross_margin', ndim=2, err_to_str=True, doc='Gross margin on that revenue, e.g. 0.7. [fraction 0..1]')
@xw.arg('churn_rate', ndim=2, err_to_str=True, doc='Share of customers lost per period, e.g. 0.05. [fraction 0..1]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 = undiscounted. [fraction per period] Optional, default 0.0.')
@xw.arg('periods', ndim=2, err_to_str=True, doc="Horizon in periods; omit for a customer's whole expected lifetime. [periods] Optional, default none.")
def CXCLTV(arpu, gross_margin, churn_rate, discount_rate=None, periods=None):
    """Customer lifetime value: margin per period kept while the customer stays, discounted.

    m = arpu x gross_margin, r = 1 - churn_rate: sum_{t=0}^{N-1} m (r/(1+d))^t, the first margin undiscounted. Without periods the infinite sum m (1+d)/(d+churn_rate), i.e. ARPU x margin / churn when d = 0. #DIV/0! when churn and discount rate are both 0 without periods; #NUM! for churn or margin outside 0..1.

    Returns: Lifetime value per customer in the ARPU's currency.

    Example: =CXCLTV(50, 0.7, 0.05, 0.01, 36)
    """
    return call('CXCLTV', arpu, gross_margin, churn_rate, discount_rate, periods)


@xw.func(category='CX customer value')
@xw.arg('spend', ndim=2, err_to_str=True, doc='Sales and marketing spend of the period. [currency]')
@xw.arg('new_customers', ndim=2, err_to_str=True, doc='Customers acquired in the same period. [count]')
def CXCAC(spend, new_customers):
    """Customer acquisition cost: sales and marketing spend / new customers.

    Returns: Cost per new customer; #DIV/0! with no new customers.

    Example: =CXCAC(12000, 80)
    """
    return call('CXCAC', spend, new_customers)


@xw.func(category='CX customer value')
@xw.arg('cltv', ndim=2, err_to_str=True, doc='Lifetime value per customer, e.g. from CXCLTV. [currency]')
@xw.arg('cac', ndim=2, err_to_str=True, doc='Acquisition cost per customer, e.g. from CXCAC. [currency]')
def CXLTVCAC(cltv, cac):
    """LTV:CAC ratio: customer lifetime value / acquisition cost (3 or more is the usual target).

    Returns: The ratio; #DIV/0! when the acquisition cost is 0.

    Example: =CXLTVCAC(B2, B3)
    """
    return call('CXLTVCAC', cltv, cac)


@xw.func(category='CX customer value')
@xw.arg('start_customers', ndim=2, err_to_str=True, doc='Customers at the start of each period (a cell or a range; blanks count as 0). [count]')
@xw.arg('lost_customers', ndim=2, err_to_str=True, doc='Of those, how many left during each period (blanks count as 0). [count]')
def CXCHURN(start_customers, lost_customers):
    """Churn rate per period: customers lost / customers at the start.

    Ranges broadcast element-wise, so one start count with a range of losses also works. #NUM! when more customers are lost than there were.

    Returns: One rate per period, spilled in the shape of the input; #DIV/0! for a period that starts with no customers.

    Example: =CXCHURN(B2:B13, C2:C13)
    """
    return call('CXCHURN', start_customers, lost_customers)


@xw.func(category='CX customer value')
@xw.arg('start_customers', ndim=2, err_to_str=True, doc='Customers at the start of each period (a cell or a range; blanks count as 0). [count]')
@xw.arg('end_customers', ndim=2, err_to_str=True, doc='Customers at the end of each period (blanks count as 0). [count]')
@xw.arg('new_customers', ndim=2, err_to_str=True, doc='Customers acquired during each period (blanks count as 0). [count]')
def CXRETENTION(start_customers, end_customers, new_customers):
    """Customer retention rate per period: (customers at the end - new customers) / customers at the start.

    Reichheld's (E - N) / S. #NUM! when there are more new customers than customers at the end, or more kept than there were at the start.

    Returns: One rate per period, spilled in the shape of the input; #DIV/0! for a period that starts with no customers.

    Example: =CXRETENTION(B2:B13, C2:C13, D2:D13)
    """
    return call('CXRETENTION', start_customers, end_customers, new_customers)


@xw.func(category='CX customer value')
@xw.arg('customer_ids', ndim=2, err_to_str=True, doc='One customer id per order (text or numbers).')
@xw.arg('order_dates', ndim=2, err_to_str=True, doc='The date of each order, same length as customer_ids.')
@xw.arg('period', ndim=2, err_to_str=True, doc='Cohort period: "M" months, "W" ISO weeks, "Q" quarters. Optional, default "M".')
def CXCOHORT(customer_ids, order_dates, period=None):
    """Cohort retention matrix: share of each acquisition cohort that orders in each later period.

    A customer's cohort is the period of their first order; they are active in a period when they order at least once in it, so column 0 is 1. Rows blank in both ranges are ignored.

    Returns: A table Cohort | 0 | 1 | ...: one row per cohort (1997-01, 1997-W03 or 1997-Q1), the share active k periods after acquisition; blank where that period has not happened yet.

    Example: =CXCOHORT(A2:A5000, B2:B5000, "M")
    """
    return call('CXCOHORT', customer_ids, order_dates, period)


@xw.func(category='CX customer value')
@xw.arg('durations', ndim=2, err_to_str=True, doc='Per customer: time from acquisition to churn, or to today if still active. [periods, >= 0]')
@xw.arg('churned', ndim=2, err_to_str=True, doc='Per customer: 1 if churned, 0 if still active (censored). [0 or 1]')
@xw.arg('times', ndim=2, err_to_str=True, doc='Times at which to read the curve; omit for the full table. [periods, >= 0] Optional, default none.')
def CXSURVIVAL(durations, churned, times=None):
    """Kaplan-Meier customer survival: share of customers still active after a time.

    S(t) = product over churn times t_j <= t of (1 - d_j/n_j), with n_j customers whose duration is >= t_j; active customers are censored at their duration (Kaplan & Meier 1958). #DIV/0! with no customers.

    Returns: With times, a column of S(t); without, a table Time | At risk | Events | Survival at each churn time.

    Example: =CXSURVIVAL(B2:B500, C2:C500, {3;6;12})
    """
    return call('CXSURVIVAL', durations, churned, times)


@xw.func(category='CX predictive CLV')
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
def CXBGNBDFIT(frequency, recency, T):
    """Fits the BG/NBD purchase model (Fader, Hardie & Lee 2005) by maximum likelihood.

    While alive a customer buys at rate lambda ~ Gamma(r, alpha) per time unit; after each purchase she drops out with probability p ~ Beta(a, b). alpha is in the time unit of recency and T. Recency > T, negative values, frequency 0 with recency > 0, text, or a row blank in only some ranges give #VALUE!; rows blank in all of them are skipped (blank result); no customers #DIV/0!; data that do not determine the model (e.g. nobody bought twice) #NUM!.

    Returns: A 6x2 table (Parameter | Value) with rows r, alpha, a, b, Log-likelihood.

    Example: =CXBGNBDFIT(B2:B2358, C2:C2358, D2:D2358)
    """
    return call('CXBGNBDFIT', frequency, recency, T)


@xw.func(category='CX predictive CLV')
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
@xw.arg('horizon', ndim=2, err_to_str=True, doc='How far ahead to count purchases, in the time unit of recency and T. [time unit] Optional, default 1.0.')
def CXBGNBD(frequency, recency, T, horizon=None):
    """Expected purchases of each customer in the next horizon time units (BG/NBD).

    Fits BG/NBD as CXBGNBDFIT, then E[Y(t) | x, t_x, T] = (a+b+x-1)/(a-1) x [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] / [1 + (x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)] (Fader, Hardie & Lee 2005, eq. 10). Recency > T, negative values, frequency 0 with recency > 0, text, or a row blank in only some ranges give #VALUE!; rows blank in all of them are skipped (blank result); no customers #DIV/0!; data that do not determine the model (e.g. nobody bought twice) #NUM!.

    Returns: One expected number of purchases per customer, spilled down a column.

    Example: =CXBGNBD(B2:B2358, C2:C2358, D2:D2358, 39)
    """
    return call('CXBGNBD', frequency, recency, T, horizon)


@xw.func(category='CX predictive CLV')
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
def CXPALIVE(frequency, recency, T):
    """Probability that each customer is still active (BG/NBD P(alive)).

    Fits BG/NBD as CXBGNBDFIT, then P(alive) = 1 / [1 + (x>0) a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)]; a customer without repeat purchases is alive with probability 1. Recency > T, negative values, frequency 0 with recency > 0, text, or a row blank in only some ranges give #VALUE!; rows blank in all of them are skipped (blank result); no customers #DIV/0!; data that do not determine the model (e.g. nobody bought twice) #NUM!.

    Returns: One probability (0..1) per customer, spilled down a column.

    Example: =CXPALIVE(B2:B2358, C2:C2358, D2:D2358)
    """
    return call('CXPALIVE', frequency, recency, T)


@xw.func(category='CX predictive CLV')
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('monetary_value', ndim=2, err_to_str=True, doc="Mean value of each customer's repeat purchases; ignored where frequency is 0 (blank there counts as 0). [currency]")
def CXGGFIT(frequency, monetary_value):
    """Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, RFM and CLV) by maximum likelihood.

    Fitted on the customers with frequency > 0: each purchase is worth z ~ Gamma(p, nu), nu ~ Gamma(q, gamma) across customers; a customer's expected value per purchase is p(gamma + x m)/(p x + q - 1). monetary_value must be positive where frequency > 0; no customer with repeat purchases gives #DIV/0!.

    Returns: A 4x2 table (Parameter | Value) with rows p, q, gamma.

    Example: =CXGGFIT(B2:B2358, E2:E2358)
    """
    return call('CXGGFIT', frequency, monetary_value)


@xw.func(category='CX predictive CLV')
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
@xw.arg('monetary_value', ndim=2, err_to_str=True, doc="Mean value of each customer's repeat purchases; ignored where frequency is 0 (blank there counts as 0). [currency]")
@xw.arg('months', ndim=2, err_to_str=True, doc='Horizon in months. [months] Optional, default 12.')
@xw.arg('monthly_discount_rate', ndim=2, err_to_str=True, doc="Discount rate per month; a month's purchases are discounted from its end. [fraction per month] Optional, default 0.01.")
@xw.arg('days_per_time_unit', ndim=2, err_to_str=True, doc='Days in the time unit of recency and T: 7 for weeks, 1 for days. [days] Optional, default 7.0.')
def CXCLV(frequency, recency, T, monetary_value, months=None, monthly_discount_rate=None, days_per_time_unit=None):
    """Predicted lifetime value of each customer over the next months: BG/NBD purchases x Gamma-Gamma spend, discounted monthly.

    CLV = z* x sum_{k=1..months} (E[Y(k tau)] - E[Y((k-1) tau)]) / (1 + monthly_discount_rate)^k, with tau = (365.25/12)/days_per_time_unit (an average month in the data's time unit), E[Y(t)] the BG/NBD expectation of CXBGNBD and z* = p(gamma + x m)/(p x + q - 1) the Gamma-Gamma expected value per purchase of CXGGFIT, both models fitted on the given customers. Recency > T, negative values, frequency 0 with recency > 0, text, or a row blank in only some ranges give #VALUE!; rows blank in all of them are skipped (blank result); no customers #DIV/0!; data that do not determine the model (e.g. nobody bought twice) #NUM!.

    Returns: One discounted value per customer in the currency of monetary_value, spilled down a column.

    Example: =CXCLV(B2:B2358, C2:C2358, D2:D2358, E2:E2358, 12, 0.01, 7)
    """
    return call('CXCLV', frequency, recency, T, monetary_value, months, monthly_discount_rate, days_per_time_unit)


@xw.func(category='CX attribution')
@xw.arg('paths', ndim=2, err_to_str=True, doc='One journey path per row, touches in order, e.g. "search > email > chat".')
@xw.arg('conversions', ndim=2, err_to_str=True, doc='Converting journeys with that path, one per row (blank = 0). [count >= 0]')
@xw.arg('model', ndim=2, err_to_str=True, doc='first, last, linear, position (40/20/40), time_decay, markov or shapley. Optional, default "linear".')
@xw.arg('values', ndim=2, err_to_str=True, doc="Total conversion value of each row's journeys (blank = 0). [currency] Optional, default none.")
@xw.arg('nulls', ndim=2, err_to_str=True, doc='Journeys with that path that did not convert; the markov model needs them (blank = 0). [count >= 0] Optional, default none.')
@xw.arg('half_life', ndim=2, err_to_str=True, doc='Half-life of the time_decay model: weight halves every half_life touches before the last. [touches > 0] Optional, default 1.0.')
def CXATTRIBUTION(paths, conversions, model=None, values=None, nulls=None, half_life=None):
    """Multi-touch attribution: conversions and value credited to each channel of the customer journeys.

    Data as in ChannelAttribution: paths separated by '>', spaces around channel names ignored, case kept; rows blank in every range are ignored. first/last: all credit to the first/last touch. linear: equal credit per touch. position: 40% first, 40% last, 20% shared by the middle touches. time_decay: touch i of n weighted 2^(-(n-1-i)/half_life). markov: removal effects of the first-order Markov chain, solved as a linear system (not simulated). shapley: Shapley values (Zhao et al. 2018). Value is shared by the same rule. #VALUE! for ranges of different lengths, negative counts, an unknown model or an empty path; #DIV/0! when nothing converted.

    Returns: A table Channel | Conversions | Value | Share, one row per channel sorted by name; Share = channel conversions / total conversions.

    Example: =CXATTRIBUTION(A2:A500, B2:B500, "markov", C2:C500, D2:D500)
    """
    return call('CXATTRIBUTION', paths, conversions, model, values, nulls, half_life)
