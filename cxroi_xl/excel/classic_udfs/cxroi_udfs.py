"""cxroi-xl's Excel functions, for classic xlwings (UDF_MODULES=cxroi_udfs).

GENERATED from the function registry by `cxroi-xl udfs generate`; do not edit.
Each function only hands its cells to cxroi_xl.excel.call, which converts
them as the registry declares, runs the engine and returns a value or one
of Excel's error literals ("#N/A", ...). Docstrings are the one-line
descriptions Excel's function wizard shows; the full help is in the README's
function reference.
"""
import sys

import xlwings as xw

from cxroi_xl.excel.dispatch import call
from cxroi_xl.excel.windows_addin import patch_classic_xlwings

# Classic xlwings hands a returned "#N/A" to Excel as text: the VBA wrappers
# it generates for this module turn the error literals into error values
# (CxErr; see cxroi_xl.excel.windows_addin), whichever route imports them.
__cxroi_udfs__ = True
if "xlwings.udfs" in sys.modules:
    patch_classic_xlwings(sys.modules["xlwings.udfs"])

__all__ = ['CXROI', 'CXNPV', 'CXIRR', 'CXPAYBACK', 'CXTEI', 'CXSAVINGS', 'CXNPS', 'CXNPSCI', 'CXCSAT', 'CXCES', 'CXRATE', 'CXUPLIFT', 'CXDID', 'CXCLTV', 'CXCAC', 'CXLTVCAC', 'CXCHURN', 'CXRETENTION', 'CXCOHORT', 'CXSURVIVAL', 'CXBGNBDFIT', 'CXBGNBD', 'CXPALIVE', 'CXGGFIT', 'CXCLV', 'CXATTRIBUTION', 'CXCOUNTERFACTUAL', 'CXEFFECT', 'CXMEASURED', 'CXMEASUREDMONTHS', 'CXMONTECARLO', 'CXTORNADO', 'CXRETAINEDMARGIN', 'CXREVENUEUPLIFT']


@xw.func(category='CX ROI')
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0); a single number is a benefit at period 0. [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0); a single number is a cost at period 0, e.g. a one-off set-up cost. [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 = undiscounted. [fraction per period] Optional, default 0.')
@xw.arg('benefit_risk', ndim=2, err_to_str=True, doc='Share by which benefits are reduced for risk, e.g. 0.1. [fraction 0..1] Optional, default 0.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are inflated for risk, e.g. 0.05. [fraction >= 0] Optional, default 0.')
def CXROI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):
    'Risk-adjusted return on investment: (PV benefits - PV costs) / PV costs.'
    return call('CXROI', benefits, costs, discount_rate, benefit_risk, cost_risk)


@xw.func(category='CX ROI')
@xw.arg('rate', ndim=2, err_to_str=True, doc='Discount rate per period (per year with dates). [fraction]')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('dates', ndim=2, err_to_str=True, doc="One date per cash flow; switches to Excel's XNPV/XIRR day count (days/365). Blank: equal periods, as NPV and IRR. Optional.")
def CXNPV(rate, cashflows, dates=None):
    "Net present value with period 0 undiscounted; with dates, Excel's XNPV."
    return call('CXNPV', rate, cashflows, dates)


@xw.func(category='CX ROI')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('dates', ndim=2, err_to_str=True, doc="One date per cash flow; switches to Excel's XNPV/XIRR day count (days/365). Blank: equal periods, as NPV and IRR. Optional.")
@xw.arg('guess', ndim=2, err_to_str=True, doc='Rate near which to look when there are several roots. [fraction] Optional, default 0.1.')
def CXIRR(cashflows, dates=None, guess=None):
    'Internal rate of return (IRR), or XIRR when dates are given.'
    return call('CXIRR', cashflows, dates, guess)


@xw.func(category='CX ROI')
@xw.arg('cashflows', ndim=2, err_to_str=True, doc='Cash flows per period, period 0 first (row or column; blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 gives the simple payback. [fraction per period] Optional, default 0.')
def CXPAYBACK(cashflows, discount_rate=None):
    'Periods until the cumulative (discounted) cash flow first reaches zero.'
    return call('CXPAYBACK', cashflows, discount_rate)


@xw.func(category='CX ROI')
@xw.arg('benefits', ndim=2, err_to_str=True, doc='Benefits per period, period 0 first (row or column; blanks count as 0); a single number is a benefit at period 0. [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period, period 0 first, same length as benefits (blanks count as 0); a single number is a cost at period 0, e.g. a one-off set-up cost. [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period. [fraction per period] Optional, default 0.1.')
@xw.arg('benefit_risk', ndim=2, err_to_str=True, doc='Share by which benefits are reduced for risk, e.g. 0.1. [fraction 0..1] Optional, default 0.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are inflated for risk, e.g. 0.05. [fraction >= 0] Optional, default 0.')
def CXTEI(benefits, costs, discount_rate=None, benefit_risk=None, cost_risk=None):
    'Total Economic Impact summary: PV benefits, PV costs, NPV, ROI, payback.'
    return call('CXTEI', benefits, costs, discount_rate, benefit_risk, cost_risk)


@xw.func(category='CX ROI')
@xw.arg('contacts', ndim=2, err_to_str=True, doc='Contacts per period (a cell or a range). [count]')
@xw.arg('automation_rate', ndim=2, err_to_str=True, doc='Share of contacts handled by automation (a cell or a range). [fraction 0..1]')
@xw.arg('cost_per_contact', ndim=2, err_to_str=True, doc='Cost of a contact handled by an agent. [currency]')
@xw.arg('automated_cost_per_contact', ndim=2, err_to_str=True, doc='Cost of a contact handled by automation. [currency] Optional, default 0.')
def CXSAVINGS(contacts, automation_rate, cost_per_contact, automated_cost_per_contact=None):
    'Deflection savings: contacts x automation rate x (cost per contact - automated cost).'
    return call('CXSAVINGS', contacts, automation_rate, cost_per_contact, automated_cost_per_contact)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc="Answers to 'how likely are you to recommend us?', whole numbers 0-10 (row or column; blanks are ignored). [points 0..10]")
def CXNPS(scores):
    'Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of the answers.'
    return call('CXNPS', scores)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc="Answers to 'how likely are you to recommend us?', whole numbers 0-10 (row or column; blanks are ignored). [points 0..10]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXNPSCI(scores, confidence=None):
    'Confidence interval of the Net Promoter Score, spilled as one row: lower | upper.'
    return call('CXNPSCI', scores, confidence)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc='Satisfaction answers, whole numbers 1 to scale (row or column; blanks are ignored). [points]')
@xw.arg('scale', ndim=2, err_to_str=True, doc='Top of the answer scale: 5 for 1-5, 10 for 1-10. [points] Optional, default 5.')
@xw.arg('threshold', ndim=2, err_to_str=True, doc='Lowest answer counted as satisfied; default scale - 1 (top-2-box). [points] Optional.')
def CXCSAT(scores, scale=None, threshold=None):
    'Customer satisfaction: share of answers at or above a threshold (top-2-box by default).'
    return call('CXCSAT', scores, scale, threshold)


@xw.func(category='CX survey')
@xw.arg('scores', ndim=2, err_to_str=True, doc='Effort answers, whole numbers 1-7 (CES 2.0) or 1-5 (row or column; blanks are ignored). [points]')
def CXCES(scores):
    'Customer Effort Score: the mean of the answers.'
    return call('CXCES', scores)


@xw.func(category='CX survey')
@xw.arg('successes', ndim=2, err_to_str=True, doc='Count of successes, e.g. contacts resolved at first contact. [count]')
@xw.arg('trials', ndim=2, err_to_str=True, doc='Count of trials, e.g. all contacts; at least successes. [count]')
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXRATE(successes, trials, confidence=None):
    'A success rate with its Wilson score interval: first-contact resolution, deflection, conversion.'
    return call('CXRATE', successes, trials, confidence)


@xw.func(category='CX impact')
@xw.arg('baseline', ndim=2, err_to_str=True, doc="The metric per answer or per period before go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('post', ndim=2, err_to_str=True, doc="The metric per answer or per period after go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXUPLIFT(baseline, post, confidence=None):
    "Before/after change of a metric's mean with Welch's confidence interval and p-value."
    return call('CXUPLIFT', baseline, post, confidence)


@xw.func(category='CX impact')
@xw.arg('treated_before', ndim=2, err_to_str=True, doc="The metric in the group that got the automation, before go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('treated_after', ndim=2, err_to_str=True, doc="The metric in the group that got the automation, after go-live (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('control_before', ndim=2, err_to_str=True, doc="The metric in a comparable group without it, over the same before period (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('control_after', ndim=2, err_to_str=True, doc="The metric in the group without it, over the same after period (row or column; blanks are ignored); at least two values. [metric's unit]")
@xw.arg('confidence', ndim=2, err_to_str=True, doc='Two-sided confidence level of the interval, e.g. 0.9 for 90%. [fraction, between 0 and 1] Optional, default 0.95.')
def CXDID(treated_before, treated_after, control_before, control_after, confidence=None):
    'Difference-in-differences of means: the change in the treated group minus the change in a control group.'
    return call('CXDID', treated_before, treated_after, control_before, control_after, confidence)


@xw.func(category='CX customer value')
@xw.arg('arpu', ndim=2, err_to_str=True, doc='Average revenue per customer per period. [currency]')
@xw.arg('gross_margin', ndim=2, err_to_str=True, doc='Gross margin on that revenue, e.g. 0.7. [fraction 0..1]')
@xw.arg('churn_rate', ndim=2, err_to_str=True, doc='Share of customers lost per period, e.g. 0.05. [fraction 0..1]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; 0 = undiscounted. [fraction per period] Optional, default 0.')
@xw.arg('periods', ndim=2, err_to_str=True, doc="Horizon in periods; omit for a customer's whole expected lifetime. [periods] Optional.")
def CXCLTV(arpu, gross_margin, churn_rate, discount_rate=None, periods=None):
    'Customer lifetime value: margin per period kept while the customer stays, discounted.'
    return call('CXCLTV', arpu, gross_margin, churn_rate, discount_rate, periods)


@xw.func(category='CX customer value')
@xw.arg('spend', ndim=2, err_to_str=True, doc='Sales and marketing spend of the period. [currency]')
@xw.arg('new_customers', ndim=2, err_to_str=True, doc='Customers acquired in the same period. [count]')
def CXCAC(spend, new_customers):
    'Customer acquisition cost: sales and marketing spend / new customers.'
    return call('CXCAC', spend, new_customers)


@xw.func(category='CX customer value')
@xw.arg('cltv', ndim=2, err_to_str=True, doc='Lifetime value per customer, e.g. from CXCLTV. [currency]')
@xw.arg('cac', ndim=2, err_to_str=True, doc='Acquisition cost per customer, e.g. from CXCAC. [currency]')
def CXLTVCAC(cltv, cac):
    'LTV:CAC ratio: customer lifetime value / acquisition cost (3 or more is the usual target).'
    return call('CXLTVCAC', cltv, cac)


@xw.func(category='CX customer value')
@xw.arg('start_customers', ndim=2, err_to_str=True, doc='Customers at the start of each period (a cell or a range; blanks count as 0). [count]')
@xw.arg('lost_customers', ndim=2, err_to_str=True, doc='Of those, how many left during each period (blanks count as 0). [count]')
def CXCHURN(start_customers, lost_customers):
    'Churn rate per period: customers lost / customers at the start.'
    return call('CXCHURN', start_customers, lost_customers)


@xw.func(category='CX customer value')
@xw.arg('start_customers', ndim=2, err_to_str=True, doc='Customers at the start of each period (a cell or a range; blanks count as 0). [count]')
@xw.arg('end_customers', ndim=2, err_to_str=True, doc='Customers at the end of each period (blanks count as 0). [count]')
@xw.arg('new_customers', ndim=2, err_to_str=True, doc='Customers acquired during each period (blanks count as 0). [count]')
def CXRETENTION(start_customers, end_customers, new_customers):
    'Customer retention rate per period: (customers at the end - new customers) / customers at the start.'
    return call('CXRETENTION', start_customers, end_customers, new_customers)


@xw.func(category='CX customer value', call_in_wizard=False)
@xw.arg('customer_ids', ndim=2, err_to_str=True, doc='One customer id per order (text or numbers).')
@xw.arg('order_dates', ndim=2, err_to_str=True, doc='The date of each order, same length as customer_ids.')
@xw.arg('period', ndim=2, err_to_str=True, doc='Cohort period: "M" months, "W" ISO weeks, "Q" quarters. Optional, default "M".')
def CXCOHORT(customer_ids, order_dates, period=None):
    'Cohort retention matrix: share of each acquisition cohort that orders in each later period.'
    return call('CXCOHORT', customer_ids, order_dates, period)


@xw.func(category='CX customer value', call_in_wizard=False)
@xw.arg('durations', ndim=2, err_to_str=True, doc='Per customer: time from acquisition to churn, or to today if still active. [periods, >= 0]')
@xw.arg('churned', ndim=2, err_to_str=True, doc='Per customer: 1 if churned, 0 if still active (censored). [0 or 1]')
@xw.arg('times', ndim=2, err_to_str=True, doc='Times at which to read the curve; omit for the full table. [periods, >= 0] Optional.')
def CXSURVIVAL(durations, churned, times=None):
    'Kaplan-Meier customer survival: share of customers still active after a time.'
    return call('CXSURVIVAL', durations, churned, times)


@xw.func(category='CX predictive CLV', call_in_wizard=False)
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
def CXBGNBDFIT(frequency, recency, T):
    'Fits the BG/NBD purchase model (Fader, Hardie & Lee 2005) by maximum likelihood.'
    return call('CXBGNBDFIT', frequency, recency, T)


@xw.func(category='CX predictive CLV', call_in_wizard=False)
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
@xw.arg('horizon', ndim=2, err_to_str=True, doc='How far ahead to count purchases, in the time unit of recency and T. [time unit] Optional, default 1.')
def CXBGNBD(frequency, recency, T, horizon=None):
    'Expected purchases of each customer in the next horizon time units (BG/NBD).'
    return call('CXBGNBD', frequency, recency, T, horizon)


@xw.func(category='CX predictive CLV', call_in_wizard=False)
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
def CXPALIVE(frequency, recency, T):
    'Probability that each customer is still active (BG/NBD P(alive)).'
    return call('CXPALIVE', frequency, recency, T)


@xw.func(category='CX predictive CLV', call_in_wizard=False)
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('monetary_value', ndim=2, err_to_str=True, doc="Mean value of each customer's repeat purchases; ignored where frequency is 0 (blank there counts as 0). [currency]")
def CXGGFIT(frequency, monetary_value):
    'Fits the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, RFM and CLV) by maximum likelihood.'
    return call('CXGGFIT', frequency, monetary_value)


@xw.func(category='CX predictive CLV', call_in_wizard=False)
@xw.arg('frequency', ndim=2, err_to_str=True, doc='Repeat purchases per customer: purchases after the first, same-day purchases counted once. One row per customer. [count]')
@xw.arg('recency', ndim=2, err_to_str=True, doc="Time from each customer's first to last purchase; 0 when frequency is 0. [time unit, e.g. weeks]")
@xw.arg('T', ndim=2, err_to_str=True, doc="Time from each customer's first purchase to the end of observation (>= recency). [time unit, e.g. weeks]")
@xw.arg('monetary_value', ndim=2, err_to_str=True, doc="Mean value of each customer's repeat purchases; ignored where frequency is 0 (blank there counts as 0). [currency]")
@xw.arg('months', ndim=2, err_to_str=True, doc='Horizon in months. [months] Optional, default 12.')
@xw.arg('monthly_discount_rate', ndim=2, err_to_str=True, doc="Discount rate per month; a month's purchases are discounted from its end. [fraction per month] Optional, default 0.01.")
@xw.arg('days_per_time_unit', ndim=2, err_to_str=True, doc='Days in the time unit of recency and T: 7 for weeks, 1 for days. [days] Optional, default 7.')
def CXCLV(frequency, recency, T, monetary_value, months=None, monthly_discount_rate=None, days_per_time_unit=None):
    'Predicted lifetime value of each customer over the next months: BG/NBD purchases x Gamma-Gamma spend, discounted monthly.'
    return call('CXCLV', frequency, recency, T, monetary_value, months, monthly_discount_rate, days_per_time_unit)


@xw.func(category='CX attribution', call_in_wizard=False)
@xw.arg('paths', ndim=2, err_to_str=True, doc='One journey path per row, touches in order, e.g. "search > email > chat".')
@xw.arg('conversions', ndim=2, err_to_str=True, doc='Converting journeys with that path, one per row (blank = 0). [count >= 0]')
@xw.arg('model', ndim=2, err_to_str=True, doc='first, last, linear, position (40/20/40), time_decay, markov or shapley. Optional, default "linear".')
@xw.arg('values', ndim=2, err_to_str=True, doc="Total conversion value of each row's journeys (blank = 0). [currency] Optional.")
@xw.arg('nulls', ndim=2, err_to_str=True, doc='Journeys with that path that did not convert; the markov model needs them (blank = 0). [count >= 0] Optional.')
@xw.arg('half_life', ndim=2, err_to_str=True, doc='Half-life of the time_decay model: weight halves every half_life touches before the last. [touches > 0] Optional, default 1.')
def CXATTRIBUTION(paths, conversions, model=None, values=None, nulls=None, half_life=None):
    'Multi-touch attribution: conversions and value credited to each channel of the customer journeys.'
    return call('CXATTRIBUTION', paths, conversions, model, values, nulls, half_life)


@xw.func(category='CX ROI', call_in_wizard=False)
@xw.arg('values', ndim=2, err_to_str=True, doc='The driver, one per month, baseline months first: event counts with exposure (churned customers), else amounts (agent hours). [count or amount]')
@xw.arg('baseline_months', ndim=2, err_to_str=True, doc='How many of the months come before go-live; the fit uses only these. [months]')
@xw.arg('first_month', ndim=2, err_to_str=True, doc='Calendar month (1-12) of the first value: places the season. [month 1..12]')
@xw.arg('exposure', ndim=2, err_to_str=True, doc="For a rate: the denominators, one per month (customers at the month's start, leads). Blank: values are amounts. [count] Optional.")
@xw.arg('regressor', ndim=2, err_to_str=True, doc='For an amount: a driver it follows, one per month (e.g. contacts for agent hours). Blank: no driver. [count] Optional.')
@xw.arg('good', ndim=2, err_to_str=True, doc='Which direction is good: "down" (churn, hours) or "up" (a win rate). Optional, default "down".')
def CXCOUNTERFACTUAL(values, baseline_months, first_month, exposure=None, regressor=None, good=None):
    "What a monthly driver would have done without the automation: the baseline's fit and forecast with a 95% prediction interval."
    return call('CXCOUNTERFACTUAL', values, baseline_months, first_month, exposure, regressor, good)


@xw.func(category='CX ROI', call_in_wizard=False)
@xw.arg('values', ndim=2, err_to_str=True, doc='The driver, one per month, baseline months first: event counts with exposure (churned customers), else amounts (agent hours). [count or amount]')
@xw.arg('baseline_months', ndim=2, err_to_str=True, doc='How many of the months come before go-live; the fit uses only these. [months]')
@xw.arg('first_month', ndim=2, err_to_str=True, doc='Calendar month (1-12) of the first value: places the season. [month 1..12]')
@xw.arg('exposure', ndim=2, err_to_str=True, doc="For a rate: the denominators, one per month (customers at the month's start, leads). Blank: values are amounts. [count] Optional.")
@xw.arg('regressor', ndim=2, err_to_str=True, doc='For an amount: a driver it follows, one per month (e.g. contacts for agent hours). Blank: no driver. [count] Optional.')
@xw.arg('good', ndim=2, err_to_str=True, doc='Which direction is good: "down" (churn, hours) or "up" (a win rate). Optional, default "down".')
def CXEFFECT(values, baseline_months, first_month, exposure=None, regressor=None, good=None):
    "The automation's effect on a monthly driver against its counterfactual: average, interval, p-value and a verdict."
    return call('CXEFFECT', values, baseline_months, first_month, exposure, regressor, good)


@xw.func(category='CX ROI', call_in_wizard=False)
@xw.arg('baseline', ndim=2, err_to_str=True, doc="The months before go-live: month and the tracker's KPI columns, leads and won optional, with its header row (a whole Excel Table: Name[#All]). [table]")
@xw.arg('post', ndim=2, err_to_str=True, doc='The months from go-live on, same columns, with its header row (a whole Excel Table: Name[#All]). [table]')
@xw.arg('go_live', ndim=2, err_to_str=True, doc='Any day of the go-live month (a date cell). [date]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='One-off costs: date and amount, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.')
@xw.arg('proxies', ndim=2, err_to_str=True, doc='Proxies: monthly_value, first_month, last_month, confidence, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Annual discount rate, e.g. 0.1. [fraction per year] Optional, default 0.1.')
@xw.arg('service_risk', ndim=2, err_to_str=True, doc='Risk factor of the service savings. [fraction 0..1] Optional, default 0.1.')
@xw.arg('retention_risk', ndim=2, err_to_str=True, doc='Risk factor of the retained margin. [fraction 0..1] Optional, default 0.25.')
@xw.arg('uplift_risk', ndim=2, err_to_str=True, doc='Risk factor of the revenue uplift. [fraction 0..1] Optional, default 0.25.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are raised. [fraction >= 0] Optional, default 0.05.')
@xw.arg('gross_margin', ndim=2, err_to_str=True, doc='Gross margin on revenue. [fraction 0..1] Optional, default 0.5.')
@xw.arg('horizon_months', ndim=2, err_to_str=True, doc='Months from go-live of the horizon scenario. [months] Optional, default 36.')
@xw.arg('method', ndim=2, err_to_str=True, doc='"glm" (regression) or "sts" (structural time series, 36 baseline months or more). Optional, default "glm".')
@xw.arg('half_life_service', ndim=2, err_to_str=True, doc='Half-life of the projected service savings; 0 or blank: no decay. [months] Optional.')
@xw.arg('half_life_retention', ndim=2, err_to_str=True, doc='Half-life of the projected customers saved; 0: no decay. [months] Optional, default 24.')
@xw.arg('half_life_uplift', ndim=2, err_to_str=True, doc='Half-life of the projected extra wins; 0: no decay. [months] Optional, default 24.')
@xw.arg('ramp_months', ndim=2, err_to_str=True, doc='Months from go-live until a projected effect has its full size. [months] Optional, default 0.')
@xw.arg('controls', ndim=2, err_to_str=True, doc="Series the automation does not touch (an untreated region's churn): month, name, value, in every month, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.")
def CXMEASURED(baseline, post, go_live, costs=None, proxies=None, discount_rate=None, service_risk=None, retention_risk=None, uplift_risk=None, cost_risk=None, gross_margin=None, horizon_months=None, method=None, half_life_service=None, half_life_retention=None, half_life_uplift=None, ramp_months=None, controls=None):
    "The measured ROI: NPV and ROI to date from demonstrated effects with intervals, each stream's verdict, the horizon scenario and P(NPV > 0)."
    return call('CXMEASURED', baseline, post, go_live, costs, proxies, discount_rate, service_risk, retention_risk, uplift_risk, cost_risk, gross_margin, horizon_months, method, half_life_service, half_life_retention, half_life_uplift, ramp_months, controls)


@xw.func(category='CX ROI', call_in_wizard=False)
@xw.arg('baseline', ndim=2, err_to_str=True, doc="The months before go-live: month and the tracker's KPI columns, leads and won optional, with its header row (a whole Excel Table: Name[#All]). [table]")
@xw.arg('post', ndim=2, err_to_str=True, doc='The months from go-live on, same columns, with its header row (a whole Excel Table: Name[#All]). [table]')
@xw.arg('go_live', ndim=2, err_to_str=True, doc='Any day of the go-live month (a date cell). [date]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='One-off costs: date and amount, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.')
@xw.arg('proxies', ndim=2, err_to_str=True, doc='Proxies: monthly_value, first_month, last_month, confidence, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Annual discount rate, e.g. 0.1. [fraction per year] Optional, default 0.1.')
@xw.arg('service_risk', ndim=2, err_to_str=True, doc='Risk factor of the service savings. [fraction 0..1] Optional, default 0.1.')
@xw.arg('retention_risk', ndim=2, err_to_str=True, doc='Risk factor of the retained margin. [fraction 0..1] Optional, default 0.25.')
@xw.arg('uplift_risk', ndim=2, err_to_str=True, doc='Risk factor of the revenue uplift. [fraction 0..1] Optional, default 0.25.')
@xw.arg('cost_risk', ndim=2, err_to_str=True, doc='Share by which costs are raised. [fraction >= 0] Optional, default 0.05.')
@xw.arg('gross_margin', ndim=2, err_to_str=True, doc='Gross margin on revenue. [fraction 0..1] Optional, default 0.5.')
@xw.arg('horizon_months', ndim=2, err_to_str=True, doc='Months from go-live of the horizon scenario. [months] Optional, default 36.')
@xw.arg('method', ndim=2, err_to_str=True, doc='"glm" (regression) or "sts" (structural time series, 36 baseline months or more). Optional, default "glm".')
@xw.arg('half_life_service', ndim=2, err_to_str=True, doc='Half-life of the projected service savings; 0 or blank: no decay. [months] Optional.')
@xw.arg('half_life_retention', ndim=2, err_to_str=True, doc='Half-life of the projected customers saved; 0: no decay. [months] Optional, default 24.')
@xw.arg('half_life_uplift', ndim=2, err_to_str=True, doc='Half-life of the projected extra wins; 0: no decay. [months] Optional, default 24.')
@xw.arg('ramp_months', ndim=2, err_to_str=True, doc='Months from go-live until a projected effect has its full size. [months] Optional, default 0.')
@xw.arg('controls', ndim=2, err_to_str=True, doc="Series the automation does not touch (an untreated region's churn): month, name, value, in every month, with its header row (a whole Excel Table: Name[#All]). Blank: none. [table] Optional.")
def CXMEASUREDMONTHS(baseline, post, go_live, costs=None, proxies=None, discount_rate=None, service_risk=None, retention_risk=None, uplift_risk=None, cost_risk=None, gross_margin=None, horizon_months=None, method=None, half_life_service=None, half_life_retention=None, half_life_uplift=None, ramp_months=None, controls=None):
    "The measured ROI month by month over the horizon: each driver's counterfactual, customers saved and kept, every stream and the cost."
    return call('CXMEASUREDMONTHS', baseline, post, go_live, costs, proxies, discount_rate, service_risk, retention_risk, uplift_risk, cost_risk, gross_margin, horizon_months, method, half_life_service, half_life_retention, half_life_uplift, ramp_months, controls)


@xw.func(category='CX risk')
@xw.arg('benefit_streams', ndim=2, err_to_str=True, doc='Benefits per period BEFORE risk adjustment, period 0 first: one column per stream (service, retention, ...), one row per period (blanks count as 0). [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period before risk adjustment, one per row of benefit_streams (blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; for monthly flows (1+annual)^(1/12)-1. [fraction per period]')
@xw.arg('low', ndim=2, err_to_str=True, doc="Each stream's low multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 0.7 = 30% below expected. [multiple, 0..1]")
@xw.arg('high', ndim=2, err_to_str=True, doc="Each stream's high multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 1.2. [multiple, >= 1]")
@xw.arg('cost_low', ndim=2, err_to_str=True, doc="The costs' low multiplier. [multiple, 0..1] Optional, default 1.")
@xw.arg('cost_high', ndim=2, err_to_str=True, doc="The costs' high multiplier, e.g. 1.3 = up to 30% over budget. [multiple, >= 1] Optional, default 1.")
@xw.arg('trials', ndim=2, err_to_str=True, doc='Number of trials, 1 to 1,000,000. [count] Optional, default 10000.')
@xw.arg('seed', ndim=2, err_to_str=True, doc='Seed of the random generator (>= 0); the same seed gives the same table. Optional, default 1.')
@xw.arg('bins', ndim=2, err_to_str=True, doc='Number of histogram bins, 1 to 200. [count] Optional, default 20.')
def CXMONTECARLO(benefit_streams, costs, discount_rate, low, high, cost_low=None, cost_high=None, trials=None, seed=None, bins=None):
    'Monte Carlo risk: NPV and ROI percentiles, mean NPV, probability that NPV > 0 and an NPV histogram.'
    return call('CXMONTECARLO', benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, trials, seed, bins)


@xw.func(category='CX risk')
@xw.arg('benefit_streams', ndim=2, err_to_str=True, doc='Benefits per period BEFORE risk adjustment, period 0 first: one column per stream (service, retention, ...), one row per period (blanks count as 0). [currency]')
@xw.arg('costs', ndim=2, err_to_str=True, doc='Costs per period before risk adjustment, one per row of benefit_streams (blanks count as 0). [currency]')
@xw.arg('discount_rate', ndim=2, err_to_str=True, doc='Discount rate per period; for monthly flows (1+annual)^(1/12)-1. [fraction per period]')
@xw.arg('low', ndim=2, err_to_str=True, doc="Each stream's low multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 0.7 = 30% below expected. [multiple, 0..1]")
@xw.arg('high', ndim=2, err_to_str=True, doc="Each stream's high multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 1.2. [multiple, >= 1]")
@xw.arg('cost_low', ndim=2, err_to_str=True, doc="The costs' low multiplier. [multiple, 0..1] Optional, default 1.")
@xw.arg('cost_high', ndim=2, err_to_str=True, doc="The costs' high multiplier, e.g. 1.3 = up to 30% over budget. [multiple, >= 1] Optional, default 1.")
@xw.arg('names', ndim=2, err_to_str=True, doc='One name per stream, in the order of the columns; default Stream 1, Stream 2, ... Optional.')
def CXTORNADO(benefit_streams, costs, discount_rate, low, high, cost_low=None, cost_high=None, names=None):
    'Tornado of the drivers: NPV with each stream (and the costs) at its low and its high multiplier, the others at 1.'
    return call('CXTORNADO', benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, names)


@xw.func(category='CX ROI')
@xw.arg('baseline_active', ndim=2, err_to_str=True, doc='Active customers in each baseline month (before go-live), one per month (row or column; no blanks). [count]')
@xw.arg('baseline_churned', ndim=2, err_to_str=True, doc='Customers lost in each baseline month, one per month (row or column; no blanks). [count]')
@xw.arg('baseline_revenue', ndim=2, err_to_str=True, doc='Revenue of each baseline month, one per month (row or column; no blanks). [currency]')
@xw.arg('active', ndim=2, err_to_str=True, doc='Active customers in each month from go-live on, one per month (row or column; no blanks). [count]')
@xw.arg('churned', ndim=2, err_to_str=True, doc='Customers lost in each month from go-live on, one per month (row or column; no blanks). [count]')
@xw.arg('gross_margin', ndim=2, err_to_str=True, doc='Gross margin on revenue, e.g. 0.5. [fraction 0..1] Optional, default 0.5.')
@xw.arg('months', ndim=2, err_to_str=True, doc='Months to report from go-live; months beyond the data are projected from the last three. Default: the months given. [months] Optional.')
def CXRETAINEDMARGIN(baseline_active, baseline_churned, baseline_revenue, active, churned, gross_margin=None, months=None):
    'Retained margin from lower churn: the margin each month of customers who would have left at the baseline churn rate.'
    return call('CXRETAINEDMARGIN', baseline_active, baseline_churned, baseline_revenue, active, churned, gross_margin, months)


@xw.func(category='CX ROI')
@xw.arg('baseline_leads', ndim=2, err_to_str=True, doc='Leads in each baseline month (before go-live), one per month (row or column; no blanks). [count]')
@xw.arg('baseline_won', ndim=2, err_to_str=True, doc='Customers won from them in each baseline month, one per month (row or column; no blanks). [count]')
@xw.arg('leads', ndim=2, err_to_str=True, doc='Leads in each month from go-live on, one per month (row or column; no blanks). [count]')
@xw.arg('won', ndim=2, err_to_str=True, doc='Customers won in each month from go-live on, one per month (row or column; no blanks). [count]')
@xw.arg('value_per_win', ndim=2, err_to_str=True, doc='Value of one extra customer, e.g. the lifetime margin arpu0 x margin / churn0. [currency]')
@xw.arg('months', ndim=2, err_to_str=True, doc='Months to report from go-live; months beyond the data are projected from the last three. Default: the months given. [months] Optional.')
def CXREVENUEUPLIFT(baseline_leads, baseline_won, leads, won, value_per_win, months=None):
    'Revenue uplift: the value of the customers won each month beyond the baseline win rate.'
    return call('CXREVENUEUPLIFT', baseline_leads, baseline_won, leads, won, value_per_win, months)
