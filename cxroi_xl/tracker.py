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
  costs, NPV, ROI and payback then follow :func:`cxroi_xl.finance.tei`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import finance
from .errors import InvalidInputError, ZeroDenominatorError

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


def month_start(values) -> pd.Series:
    """Dates (or YYYY-MM text) as the first day of their month."""
    dates = pd.to_datetime(pd.Series(values))
    # numpy's month unit truncates without pandas' slower Period round trip
    return pd.Series(dates.to_numpy().astype("datetime64[M]").astype("datetime64[ns]"), index=dates.index)


def split_phases(kpis: pd.DataFrame, go_live) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Baseline rows (before the go-live month) and post rows, each by month."""
    months = month_start(kpis["month"]).to_numpy()
    start = month_start([go_live]).iloc[0]
    ordered = kpis.assign(month=months).sort_values("month", kind="stable")
    return ordered[ordered["month"] < start].reset_index(drop=True), ordered[ordered["month"] >= start].reset_index(drop=True)


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

    def model(self) -> ROIModel:
        return monthly_roi(self.kpis, self.go_live, self.costs, self.discount_rate, self.benefit_risk, self.cost_risk)
