"""The automation tracker's ROI model: monthly KPIs before and after go-live
-> monthly benefits and costs -> TEI figures.

This is the model the main template (``cx_automation_roi.xlsx``) writes as
native Excel formulas and the batch generator's summary uses; both must give
the same numbers, and the tests hold them to it.

The model
---------
* Baseline months are those before the go-live month; post months are the
  go-live month and later. Period 0 is the go-live month.
* Baseline cost per contact
  :math:`c_0 = \\sum_{baseline} hours \\times hourly\\_cost / \\sum_{baseline} contacts`.
* Benefit in post month m: :math:`contacts_m c_0 - hours_m hourly\\_cost_m`,
  what the month's contacts would have cost at the baseline rate minus what
  agents cost now.
* Cost in post month m: ``automation_cost`` of the month plus the one-off
  costs dated in that month; one-off costs dated before go-live count in
  period 0. One-off costs dated after the last tracked month are not counted.
* Monthly discount rate :math:`(1 + annual)^{1/12} - 1`; benefits are reduced
  by the benefit risk, costs inflated by the cost risk; PV benefits, PV
  costs, NPV, ROI and payback then follow :func:`cxroi_xl.engine.finance.tei`.

This before/after model is what ``CXROI`` over the service columns gives
and what the service-only figures report; it compares with the baseline's
flat average, so a trend that began before go-live counts as a benefit.
The headline of the workbooks and the batch summary is the measured model
of :mod:`cxroi_xl.engine.streams`, which compares every driver with its
counterfactual. This module also holds the inputs both share
(:class:`TrackerInput`, :func:`split_phases`) and the stream building blocks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import finance
from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

__all__ = ["KPI_COLUMNS", "ROIModel", "TrackerInput", "monthly_roi", "split_phases", "month_start"]

KPI_COLUMNS = (
    "contacts",
    "automated_contacts",
    "agent_hours",
    "hourly_cost",
    "first_contact_resolutions",
    "active_customers",
    "new_customers",
    "churned_customers",
    "revenue",
    "automation_cost",
)

# Default risk factor of each benefit stream (the holistic model below).
DEFAULT_RISKS = {"service": 0.10, "retention": 0.25, "uplift": 0.25}


def month_start(values) -> pd.Series:
    """Dates (or YYYY-MM text) as the first day of their month."""
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    # dates already (a batch's months are parsed once, when read)
    dates = series if pd.api.types.is_datetime64_dtype(series.dtype) else pd.to_datetime(series)
    # numpy's month unit truncates without pandas' slower Period round trip
    return pd.Series(dates.to_numpy().astype("datetime64[M]").astype("datetime64[ns]"), index=dates.index)


def split_phases(kpis: pd.DataFrame, go_live) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline rows (before the go-live month) and post rows, each by month."""
    months = month_start(kpis["month"]).to_numpy()
    start = month_start([go_live]).to_numpy()[0]
    order = np.argsort(months, kind="stable")  # as sort_values: stable, a missing month last
    ordered = kpis.iloc[order].assign(month=months[order])
    sorted_months = months[order]
    # a missing month is in neither phase (NaT compares false both ways)
    return (
        ordered.iloc[np.flatnonzero(sorted_months < start)].reset_index(drop=True),
        ordered.iloc[np.flatnonzero(sorted_months >= start)].reset_index(drop=True),
    )


@dataclass(frozen=True)
class ROIModel:
    """Monthly benefits and costs of the post months and their TEI figures."""

    monthly: pd.DataFrame  # month, period, benefit, cost, net (risk-adjusted), discounted_net, cumulative_net
    baseline_cost_per_contact: float
    monthly_rate: float
    tei: finance.TEIResult


def monthly_roi(
    kpis: pd.DataFrame,
    go_live,
    one_off_costs: pd.DataFrame | None = None,
    annual_discount_rate: float = 0.10,
    benefit_risk: float = 0.10,
    cost_risk: float = 0.05,
) -> ROIModel:
    """Apply the tracker's ROI model (module docstring) to monthly KPIs.

    Parameters
    ----------
    kpis : DataFrame
        One row per month: ``month`` (a date or YYYY-MM) and the
        :data:`KPI_COLUMNS`, amounts in the client's currency.
    go_live : date-like
        Any day of the go-live month.
    one_off_costs : DataFrame, optional
        ``date`` and ``amount`` of one-off costs.
    annual_discount_rate, benefit_risk, cost_risk : float
        Fractions.

    Examples
    --------
    Two baseline months at 5.00 per contact, then two months where agents
    cost 3,000 for 1,000 contacts (benefit 2,000 each) and automation 500:

    >>> kpis = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03", "2024-04"],
    ...     "contacts": [1000] * 4, "agent_hours": [200, 200, 120, 120],
    ...     "hourly_cost": [25.0] * 4, "automation_cost": [0, 0, 500, 500]})
    >>> m = monthly_roi(kpis, "2024-03-01", annual_discount_rate=0, benefit_risk=0, cost_risk=0)
    >>> m.baseline_cost_per_contact, m.monthly["benefit"].tolist(), m.tei.roi
    (5.0, [2000.0, 2000.0], 3.0)
    """
    baseline, post = split_phases(kpis, go_live)
    if baseline.empty:
        raise InvalidInputError("no baseline months before go-live")
    if post.empty:
        raise InvalidInputError("no months from go-live on")
    baseline_contacts = float(baseline["contacts"].sum())
    if baseline_contacts == 0:
        raise ZeroDenominatorError("baseline months have no contacts")
    cost_per_contact = float((baseline["agent_hours"] * baseline["hourly_cost"]).sum()) / baseline_contacts

    go_live_month = month_start([go_live]).iloc[0]
    months = pd.DatetimeIndex(post["month"])
    period = (months.year - go_live_month.year) * 12 + (months.month - go_live_month.month)
    benefit = post["contacts"].to_numpy(float) * cost_per_contact - (post["agent_hours"] * post["hourly_cost"]).to_numpy(float)
    cost = post["automation_cost"].to_numpy(float).copy()
    if one_off_costs is not None and len(one_off_costs):
        cost_month = month_start(one_off_costs["date"]).to_numpy()
        amount = one_off_costs["amount"].to_numpy(float)
        in_month = cost_month[None, :] == months.to_numpy()[:, None]
        cost += in_month @ amount
        cost[np.asarray(period) == 0] += amount[cost_month < go_live_month.to_datetime64()].sum()

    rate = finance.monthly_rate(annual_discount_rate)
    # A month missing from the post rows would shift every later period: the
    # periods come from the calendar, so the flows are laid out by period.
    n_periods = int(np.max(period)) + 1
    benefits = np.zeros(n_periods)
    costs = np.zeros(n_periods)
    np.add.at(benefits, np.asarray(period), benefit)
    np.add.at(costs, np.asarray(period), cost)
    tei = finance.tei(benefits, costs, rate, benefit_risk, cost_risk)

    net = benefit * (1 - benefit_risk) - cost * (1 + cost_risk)
    discounted = net / (1 + rate) ** np.asarray(period, dtype=float)
    monthly = pd.DataFrame(
        {
            "month": months,
            "period": np.asarray(period, dtype=int),
            "benefit": benefit,
            "cost": cost,
            "net": net,
            "discounted_net": discounted,
            "cumulative_net": np.cumsum(discounted),
        }
    )
    return ROIModel(monthly, cost_per_contact, rate, tei)


@dataclass(frozen=True)
class TrackerInput:
    """Everything the automation tracker needs about one client.

    ``kpis``: ``month`` + :data:`KPI_COLUMNS`, one row per month (baseline and
    post together); ``costs``: ``date, category, amount``; ``surveys``:
    ``date, nps, csat, ces`` with NaN for unanswered questions.
    """

    client_id: str
    client_name: str
    go_live: pd.Timestamp
    kpis: pd.DataFrame
    costs: pd.DataFrame
    surveys: pd.DataFrame
    currency: str = "USD"
    discount_rate: float = 0.10
    benefit_risk: float = 0.10
    cost_risk: float = 0.05
    # For the customer-value and attribution templates: ``customer_id, date,
    # amount`` orders and ``path, conversions, value, nulls`` journeys.
    transactions: pd.DataFrame | None = None
    journeys: pd.DataFrame | None = None
    # The measured model (cxroi_xl.engine.streams): ``name, monthly_value,
    # first_month, last_month, confidence`` proxies for intangibles, the
    # other streams' risks (service savings use benefit_risk), the gross
    # margin, the horizon in months from go-live, the counterfactual method
    # ("glm" or "sts"), ``month, name, value`` control series, the
    # projected effects' half-lives and ramp-up.
    proxies: pd.DataFrame | None = None
    retention_risk: float = DEFAULT_RISKS["retention"]
    uplift_risk: float = DEFAULT_RISKS["uplift"]
    gross_margin: float = 0.5
    horizon_months: int = 36
    method: str = "glm"
    controls: pd.DataFrame | None = None
    half_lives: dict | None = None
    ramp_months: int = 0

    def model(self) -> ROIModel:
        return monthly_roi(self.kpis, self.go_live, self.costs, self.discount_rate, self.benefit_risk, self.cost_risk)


# --------------------------------------------------------------------------
# Building blocks of the benefit streams (the measured model itself is
# cxroi_xl.engine.streams), and the before/after stream functions behind
# CXRETAINEDMARGIN and CXREVENUEUPLIFT.

PROXY_COLUMNS = ("name", "monthly_value", "first_month", "last_month", "confidence")
PROJECTION_MONTHS = 3  # drivers are averaged over the last three tracked months

__all__ += ["PROXY_COLUMNS", "DEFAULT_RISKS", "risk_adjusted", "retained_margin", "revenue_uplift", "proxy_flows"]


def risk_adjusted(amounts, risk: float) -> np.ndarray:
    r"""Amounts made worse by a risk factor, whatever their sign.

    .. math:: x' = \begin{cases} x (1 - \rho) & x \ge 0 \\ x (1 + \rho) & x < 0 \end{cases}

    A benefit shrinks and a dis-benefit (a negative benefit, e.g. churn that
    rose) grows, as costs do in Forrester's TEI method.

    Parameters
    ----------
    amounts : array_like
        Benefits per period, currency units, any sign.
    risk : float
        Risk factor, a fraction 0..1 (0.25 = 25 %).

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology": risk
    adjustment of each benefit and cost.

    Examples
    --------
    >>> risk_adjusted([100.0, -100.0], 0.25).tolist()
    [75.0, -125.0]
    """
    x = np.asarray(amounts, dtype=float)
    if not 0 <= risk <= 1:
        raise OutOfDomainError("a benefit's risk factor must lie between 0 and 1")
    return np.where(x >= 0, x * (1.0 - risk), x * (1.0 + risk))




def _last_mean(values: np.ndarray) -> float:
    """The driver a projection carries forward: mean of the last
    :data:`PROJECTION_MONTHS` tracked values (fewer if fewer exist)."""
    return float(np.mean(values[-PROJECTION_MONTHS:]))


def _projected(tracked: np.ndarray, months: int) -> np.ndarray:
    """Tracked values, then the driver's recent average up to ``months``."""
    return np.concatenate([tracked, np.full(months - tracked.size, _last_mean(tracked))])


def _retained(saved: np.ndarray, churn0: float, margin_per_customer: float) -> tuple[np.ndarray, np.ndarray]:
    """Kept stock R and the month's retained margin R_(m-1) x margin."""
    # R_m = (1 - c0) R_(m-1) + s_m (a few dozen months: a loop)
    kept = np.empty_like(saved)
    previous = 0.0
    for m, inflow in enumerate(saved):
        previous = previous * (1.0 - churn0) + inflow
        kept[m] = previous
    return kept, np.concatenate([[0.0], kept[:-1]]) * margin_per_customer


def _counts(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.size == 0:
        raise InvalidInputError(f"{name}: no months given")
    if np.isnan(array).any():
        raise InvalidInputError(f"{name}: a month is blank")
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise InvalidInputError(f"{name}: expected counts or amounts >= 0")
    return array


def _pairs(first, second, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    a, b = _counts(first, names[0]), _counts(second, names[1])
    if a.size != b.size:
        raise InvalidInputError(f"{names[0]} and {names[1]} must cover the same months ({a.size} and {b.size})")
    return a, b


def _horizon(months, tracked: int) -> int:
    if months is None:
        return tracked
    if int(months) != months or months < 1:
        raise InvalidInputError("months must be a whole number of at least 1")
    return max(int(months), tracked)


def retained_margin(baseline_active, baseline_churned, baseline_revenue, active, churned, gross_margin: float = 0.5, months: int | None = None) -> np.ndarray:
    r"""Margin kept each month from customers who would have churned at the
    baseline rate.

    With baseline churn :math:`c_0 = \sum churned / \sum active` and revenue
    per customer :math:`arpu_0 = \sum revenue / \sum active` over the
    baseline months, customers saved in post month m
    :math:`s_m = c_0 active_m - churned_m` (negative when churn rose), kept
    stock :math:`R_m = R_{m-1}(1 - c_0) + s_m`, :math:`R_{-1} = 0`; the
    month's benefit is :math:`R_{m-1} \, arpu_0 \, g` (0 in period 0: a
    customer saved in month m earns from the next month). Beyond the given
    months, s is carried at its average over the last three given months
    and the recurrence keeps running.

    Parameters
    ----------
    baseline_active, baseline_churned, baseline_revenue : array_like
        Per baseline month: active customers (count), customers lost
        (count), revenue (currency).
    active, churned : array_like
        Per post month from go-live on: active customers and customers lost.
    gross_margin : float
        g, fraction 0..1 of revenue.
    months : int, optional
        Months to report from go-live (at least the post months given).

    Returns
    -------
    ndarray
        Retained margin per month, currency, before risk adjustment.

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology":
    benefits from improved customer retention.

    Examples
    --------
    c0 = 10/400 = 0.025 and arpu0 = 8,000/400 = 20; s = 4, 3.25, -3.5, so
    R = 4, 7.15, 3.47125 and the benefit R_(m-1) x 20 x 0.5:

    >>> retained_margin([200, 200], [4, 6], [4000, 4000], [200, 210, 220], [1, 2, 9]).tolist()
    [0.0, 40.0, 71.5]
    """
    base_active, base_churned = _pairs(baseline_active, baseline_churned, ("baseline_active", "baseline_churned"))
    base_revenue, _ = _pairs(baseline_revenue, base_active, ("baseline_revenue", "baseline_active"))
    post_active, post_churned = _pairs(active, churned, ("active", "churned"))
    if not 0 <= gross_margin <= 1:
        raise OutOfDomainError("gross margin must lie between 0 and 1")
    if base_active.sum() == 0:
        raise ZeroDenominatorError("baseline months have no active customers, so baseline churn is undefined")
    churn0 = base_churned.sum() / base_active.sum()
    arpu0 = base_revenue.sum() / base_active.sum()
    saved = _projected(churn0 * post_active - post_churned, _horizon(months, post_active.size))
    return _retained(saved, churn0, arpu0 * gross_margin)[1]


def revenue_uplift(baseline_leads, baseline_won, leads, won, value_per_win: float, months: int | None = None) -> np.ndarray:
    r"""Value of the customers won each month beyond the baseline win rate.

    Baseline win rate :math:`p_0 = \sum won / \sum leads` over the
    baseline months; extra customers won in post month m
    :math:`won_m - leads_m p_0`, each worth ``value_per_win``, booked in the
    month it is won. Beyond the given months the extra wins are carried at
    their average over the last three given months.

    Parameters
    ----------
    baseline_leads, baseline_won : array_like
        Per baseline month: leads (count) and customers won from them.
    leads, won : array_like
        The same per post month from go-live on.
    value_per_win : float
        Currency per extra customer, e.g. the simple lifetime margin of a
        baseline customer :math:`arpu_0 g / c_0`.
    months : int, optional
        Months to report from go-live (at least the post months given).

    Returns
    -------
    ndarray
        Uplift per month, currency, before risk adjustment (negative when
        fewer were won than the baseline rate predicts).

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology": revenue
    benefits counted at their margin contribution.

    Examples
    --------
    p0 = 50/200 = 0.25; extra wins 30 - 25 = 5, 30 - 30 = 0, 18 - 20 = -2:

    >>> revenue_uplift([100, 100], [20, 30], [100, 120, 80], [30, 30, 18], 400).tolist()
    [2000.0, 0.0, -800.0]
    """
    base_leads, base_won = _pairs(baseline_leads, baseline_won, ("baseline_leads", "baseline_won"))
    post_leads, post_won = _pairs(leads, won, ("leads", "won"))
    if not np.isfinite(value_per_win):
        raise InvalidInputError("value_per_win must be a finite number")
    if base_leads.sum() == 0:
        raise ZeroDenominatorError("baseline months have no leads, so there is no baseline win rate")
    win_rate = base_won.sum() / base_leads.sum()
    return _projected(post_won - post_leads * win_rate, _horizon(months, post_leads.size)) * float(value_per_win)


def proxy_flows(proxies: pd.DataFrame | None, go_live_month: pd.Timestamp, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw and confidence-adjusted proxy amounts per period, summed over proxies."""
    raw = np.zeros(horizon)
    adjusted = np.zeros(horizon)
    if proxies is None or len(proxies) == 0:
        return raw, adjusted
    missing = [c for c in ("monthly_value", "first_month", "confidence") if c not in proxies.columns]
    if missing:
        raise InvalidInputError("proxies need the column(s) " + ", ".join(missing))
    value = pd.to_numeric(proxies["monthly_value"], errors="coerce").to_numpy(float)
    confidence = pd.to_numeric(proxies["confidence"], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(value)) or not np.all(np.isfinite(confidence)):
        raise InvalidInputError("every proxy needs a monthly_value and a confidence")
    if np.any((confidence < 0) | (confidence > 1)):
        raise OutOfDomainError("a proxy's confidence must lie between 0 and 1")
    first = month_start(proxies["first_month"]).to_numpy()
    last_given = proxies["last_month"] if "last_month" in proxies.columns else pd.Series([None] * len(proxies))
    open_ended = last_given.isna().to_numpy()
    last = month_start(last_given.where(~open_ended, first)).to_numpy()
    if np.any(pd.isna(first)):
        raise InvalidInputError("every proxy needs a first_month")
    if np.any(~open_ended & (last < first)):
        raise InvalidInputError("a proxy's last_month is before its first_month")

    def period_of(months: np.ndarray) -> np.ndarray:
        index = pd.DatetimeIndex(months)
        return (index.year - go_live_month.year) * 12 + (index.month - go_live_month.month)

    start = np.asarray(period_of(first))
    end = np.where(open_ended, horizon - 1, np.asarray(period_of(last)))
    t = np.arange(horizon)[:, None]
    covered = ((t >= start[None, :]) & (t <= end[None, :])).astype(float)
    # A proxy's confidence is its risk adjustment: value x confidence, and a
    # negative value (an intangible cost) made worse, x (2 - confidence).
    proxy_adjusted = np.where(value >= 0, value * confidence, value * (2.0 - confidence))
    return covered @ value, covered @ proxy_adjusted


