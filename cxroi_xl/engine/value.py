"""Customer value: lifetime value, acquisition cost, churn, retention,
cohort retention and Kaplan-Meier survival.

Conventions shared by every function here:

* Rates are fractions per period (0.05 = 5 %); churn and retention are
  shares of the customers at the start of a period.
* Counts, amounts and durations must not be negative.
* Per-period functions (:func:`churn_rate`, :func:`retention_rate`) broadcast
  like numpy and answer NaN for a period that starts with no customers; a
  single period without customers raises instead.

Input the functions cannot answer raises a subclass of ``ValueError`` from
``cxroi_xl.errors``. The predictive models (BG/NBD, Gamma-Gamma) live in
:mod:`cxroi_xl.engine.btyd`.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from dataclasses import dataclass

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from .finance import same_shape_or_single
from .tracker import TrackerInput

__all__ = [
    "cltv",
    "cac",
    "ltv_cac",
    "cac_payback",
    "CustomerValueInput",
    "churn_rate",
    "retention_rate",
    "cohort_counts",
    "cohort_retention",
    "kaplan_meier",
    "survival_at",
    "PERIODS",
]


def _finite(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} must be finite numbers")
    return array


def _not_negative(values, name: str) -> np.ndarray:
    array = _finite(values, name)
    if np.any(array < 0):
        raise InvalidInputError(f"{name} must not be negative")
    return array


def _scalar_or_array(result: np.ndarray):
    return float(result) if np.ndim(result) == 0 else result


# --------------------------------------------------------------------------
# Closed forms


def cltv(arpu, gross_margin, churn_rate, discount_rate=0.0, periods=None):
    r"""Customer lifetime value with constant churn (retention-margin model).

    With margin :math:`m = ARPU \times g`, retention :math:`r = 1 - c` and
    discount rate :math:`d` per period, over ``N`` periods (the first margin
    earned now, undiscounted)

    .. math:: CLTV_N = \sum_{t=0}^{N-1} m \left(\frac{r}{1+d}\right)^t
              = m \frac{1+d}{d+c}\left(1 - \left(\frac{1-c}{1+d}\right)^N\right)

    and with no horizon the infinite sum :math:`m (1+d) / (d+c)`, which with
    ``d = 0`` is the familiar ARPU x margin / churn.

    Parameters
    ----------
    arpu : array_like
        Average revenue per customer per period, currency, >= 0.
    gross_margin : array_like
        Gross margin on that revenue, a fraction 0..1.
    churn_rate : array_like
        Share of customers lost per period, 0..1.
    discount_rate : array_like, default 0
        Discount rate per period, a fraction > -1.
    periods : int, optional
        Horizon ``N`` in periods (>= 0); omitted for the infinite sum.

    Returns
    -------
    float, or ndarray for array arguments (they broadcast).

    Raises
    ------
    OutOfDomainError
        Churn or margin outside 0..1, a rate at or below -100 %, or an
        infinite sum that diverges (discount rate + churn < 0).
    ZeroDenominatorError
        No horizon with zero churn and zero discount: the value is infinite.

    References
    ----------
    Gupta, S. and Lehmann, D. R. (2003), "Customers as assets", Journal of
    Interactive Marketing 17(1), 9-24: the margin multiple (1+i)/(1+i-r).

    Examples
    --------
    ARPU 50 a month at 70 % margin with 5 % monthly churn:

    >>> cltv(50, 0.7, 0.05)
    700.0
    >>> round(cltv(50, 0.7, 0.05, 0.01, periods=24), 2)
    453.68
    """
    arpu = _not_negative(arpu, "ARPU")
    margin_share = _finite(gross_margin, "gross margin")
    churn = _finite(churn_rate, "churn rate")
    rate = _finite(discount_rate, "discount rate")
    if np.any((churn < 0) | (churn > 1)):
        raise OutOfDomainError("churn rate must lie between 0 and 1")
    if np.any((margin_share < 0) | (margin_share > 1)):
        raise OutOfDomainError("gross margin must lie between 0 and 1")
    if np.any(rate <= -1):
        raise OutOfDomainError("discount rate must be greater than -100%")
    margin = arpu * margin_share
    # d + c is the exact form of 1 - r/(1+d) times (1+d): no cancellation.
    decay = rate + churn
    if periods is None:
        if np.any(decay == 0):
            raise ZeroDenominatorError("zero churn and zero discount rate: the lifetime value is infinite")
        if np.any(decay < 0):
            raise OutOfDomainError("discount rate + churn rate is negative: the lifetime value diverges")
        return _scalar_or_array(margin * (1 + rate) / decay)
    horizon = np.asarray(periods, dtype=float)
    if np.any(horizon < 0) or not np.all(np.mod(horizon, 1) == 0):
        raise OutOfDomainError("periods must be a whole number >= 0")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # 1 - q^N with q = (1-c)/(1+d), through log1p/expm1 so that q near 1 keeps its digits
        remaining = -np.expm1(horizon * np.log1p(-decay / (1 + rate)))
        total = np.where(decay == 0, margin * horizon, margin * (1 + rate) / np.where(decay == 0, 1, decay) * remaining)
    return _scalar_or_array(np.where(horizon == 0, 0.0, total))


def cac(spend, new_customers) -> float:
    r"""Customer acquisition cost: :math:`CAC = spend / new\ customers`.

    Parameters
    ----------
    spend : float
        Sales and marketing spend of the period, currency, >= 0.
    new_customers : float
        Customers acquired in the same period, > 0.

    Raises
    ------
    ZeroDenominatorError
        No new customers.

    Examples
    --------
    >>> cac(12000, 80)
    150.0
    """
    spend = _not_negative(spend, "spend")
    new = _not_negative(new_customers, "new customers")
    if np.any(new == 0):
        raise ZeroDenominatorError("no new customers to share the spend")
    return _scalar_or_array(spend / new)


def ltv_cac(cltv_value, cac_value) -> float:
    r"""The LTV:CAC ratio, :math:`CLTV / CAC` (3 or more is the usual target).

    Examples
    --------
    >>> ltv_cac(700, 150)
    4.666666666666667
    """
    lifetime = _not_negative(cltv_value, "lifetime value")
    cost = _not_negative(cac_value, "acquisition cost")
    if np.any(cost == 0):
        raise ZeroDenominatorError("the acquisition cost is zero")
    return _scalar_or_array(lifetime / cost)


def cac_payback(cac_value, monthly_margin, churn_rate, discount_rate=0.0) -> float:
    r"""Months until a customer's discounted margin earns back what winning
    her cost.

    The cumulative discounted margin after ``n`` months is
    :func:`cltv` over ``n`` periods,
    :math:`m \frac{1+d}{d+c}\left(1 - q^n\right)` with :math:`q = (1-c)/(1+d)`;
    setting it equal to the CAC and solving for ``n``:

    .. math:: n = \frac{\ln\left(1 - CAC \frac{d+c}{m (1+d)}\right)}{\ln q}

    (:math:`n = CAC / m` when :math:`d + c = 0`). ``n`` is not rounded: the
    CAC is earned back in the month after ``floor(n)`` months.

    Parameters
    ----------
    cac_value : float
        Acquisition cost per customer, currency, >= 0.
    monthly_margin : float
        Margin per customer per month (ARPU x gross margin), currency.
    churn_rate : float
        Share of customers lost per month, 0..1.
    discount_rate : float, default 0
        Discount rate per month, a fraction > -1.

    Returns
    -------
    float
        ``n``; 0 when there is nothing to earn back (CAC 0); ``inf`` when it
        is never earned back: no positive margin, or a whole lifetime's
        discounted margin :math:`m (1+d)/(d+c)` at or below the CAC.

    Raises
    ------
    InvalidInputError
        A negative CAC, or a value that is not a finite number.
    OutOfDomainError
        Churn outside 0..1, a rate at or below -100 %, or churn of 100 % with
        a CAC below the one month's margin: ``q`` is 0 and the logarithm has
        no value (the workbook's formula shows #NUM! there too).

    References
    ----------
    Skok, D. (2013), "SaaS Metrics 2.0", forEntrepreneurs: months to recover
    CAC = CAC / (monthly revenue per customer x gross margin), the
    undiscounted, churn-free case (d = c = 0) here. Gupta, S. and
    Lehmann, D. R. (2003), "Customers as assets", Journal of Interactive
    Marketing 17(1), 9-24: the discounted margin with retention.

    Examples
    --------
    A margin of 100 a month, 5 % monthly churn, 1 % monthly discount rate,
    a CAC of 500: earned back during the sixth month.

    >>> round(cac_payback(500, 100, 0.05, 0.01), 4)
    5.7547
    >>> cac_payback(500, 100, 0.0, 0.0)
    5.0
    >>> cac_payback(2000, 100, 0.05, 0.01)  # a lifetime is worth 100 x 1.01 / 0.06 = 1683
    inf
    """
    cost = float(_not_negative(cac_value, "acquisition cost"))
    margin = float(_finite(monthly_margin, "monthly margin"))
    churn = float(_finite(churn_rate, "churn rate"))
    rate = float(_finite(discount_rate, "discount rate"))
    if not 0 <= churn <= 1:
        raise OutOfDomainError("churn rate must lie between 0 and 1")
    if rate <= -1:
        raise OutOfDomainError("discount rate must be greater than -100%")
    # the tests in the order of the workbook's formula (CLTV sheet), so both give the same answer
    if cost == 0:
        return 0.0
    if margin <= 0:
        return float("inf")
    decay = rate + churn
    if decay == 0:
        return cost / margin
    remaining = 1 - cost * decay / (margin * (1 + rate))
    if remaining <= 0:
        return float("inf")
    if churn == 1:
        raise OutOfDomainError("with every customer lost after one month the months to earn back the CAC have no value (ln 0)")
    return float(np.log(remaining) / np.log((1 - churn) / (1 + rate)))


@dataclass(frozen=True)
class CustomerValueInput(TrackerInput):
    """A client's data (:class:`~cxroi_xl.engine.tracker.TrackerInput`) with
    what the customer-value figures need besides it.

    ``acquisition_spend``: the total sales and marketing spend over the
    window of the client's ``transactions`` (first to last order), in the
    client's currency, or None when not given. The CAC is this spend over
    the customers whose first order falls in that window (:func:`cac`).
    """

    acquisition_spend: float | None = None


# --------------------------------------------------------------------------
# Churn and retention per period


def _counts(*columns, names: tuple[str, ...]) -> list[np.ndarray]:
    return same_shape_or_single(*(_not_negative(c, n) for c, n in zip(columns, names)))


def _share_of_start(part: np.ndarray, start: np.ndarray):
    """part / start per period, NaN where a period starts with no customers."""
    if part.ndim == 0 and start == 0:
        raise ZeroDenominatorError("no customers at the start of the period")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(start > 0, part / np.where(start > 0, start, 1), np.nan)
    return _scalar_or_array(share)


def churn_rate(start_customers, lost_customers):
    r"""Churn per period: :math:`c = lost / start`.

    Parameters
    ----------
    start_customers : array_like
        Customers at the start of each period (count, >= 0).
    lost_customers : array_like
        Of those, how many left during the period (count, 0..start).

    Returns
    -------
    float, or ndarray in the broadcast shape with NaN for periods that start
    with no customers.

    Raises
    ------
    OutOfDomainError
        More customers lost than there were at the start.
    ZeroDenominatorError
        A single period with no customers at its start.

    Examples
    --------
    >>> churn_rate([200, 190, 0], [10, 19, 0]).tolist()
    [0.05, 0.1, nan]
    """
    start, lost = _counts(start_customers, lost_customers, names=("start customers", "lost customers"))
    if np.any(lost > start):
        raise OutOfDomainError("more customers lost than there were at the start of the period")
    return _share_of_start(lost, start)


def retention_rate(start_customers, end_customers, new_customers):
    r"""Retention per period: :math:`R = (end - new) / start`.

    The customers at the end who were not acquired during the period, as a
    share of those at the start.

    Parameters
    ----------
    start_customers, end_customers, new_customers : array_like
        Counts per period (>= 0); they broadcast.

    Returns
    -------
    float, or ndarray with NaN for periods that start with no customers.

    Raises
    ------
    OutOfDomainError
        More new customers than customers at the end, or more customers kept
        than there were at the start.

    References
    ----------
    Reichheld, F. F. (1996), *The Loyalty Effect*, Harvard Business School
    Press: customer retention rate = (E - N) / S.

    Examples
    --------
    >>> retention_rate(200, 210, 30)
    0.9
    """
    start, end, new = _counts(start_customers, end_customers, new_customers, names=("start customers", "end customers", "new customers"))
    kept = end - new
    if np.any(kept < 0):
        raise OutOfDomainError("more new customers than customers at the end of the period")
    if np.any(kept > start):
        raise OutOfDomainError("more customers kept than there were at the start (count them as new)")
    return _share_of_start(kept, start)


# --------------------------------------------------------------------------
# Cohorts

#: Period codes understood by the cohort functions, with their long names.
PERIODS = {"M": "month", "W": "week", "Q": "quarter"}
_PERIOD_ALIASES = {**{code: code for code in PERIODS}, **{name.upper(): code for code, name in PERIODS.items()}}
_EPOCH = np.datetime64("1970-01-01", "D")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday: Monday = 0, as in ISO weeks
_MAX_COHORT_CELLS = 20_000_000  # ~160 MB of float64; beyond it a stray date, not data, is the likely cause


def _period_code(period: str) -> str:
    code = _PERIOD_ALIASES.get(str(period).strip().upper())
    if code is None:
        raise InvalidInputError(f"period must be one of M, W, Q (month, week, quarter), not {period!r}")
    return code


def _period_numbers(days: np.ndarray, code: str) -> np.ndarray:
    """Consecutive integers per calendar month, ISO week or quarter."""
    if code == "W":
        return ((days - _EPOCH).astype(np.int64) + _EPOCH_WEEKDAY) // 7
    months = days.astype("datetime64[M]").astype(np.int64)
    return months // 3 if code == "Q" else months


def _period_label(number: int, code: str) -> str:
    """``1997-01``, ``1997-W03`` (ISO year and week) or ``1997-Q1``."""
    if code == "W":
        monday = (_EPOCH + np.timedelta64(int(number) * 7 - _EPOCH_WEEKDAY, "D")).astype(dt.date)
        year, week, _ = monday.isocalendar()
        return f"{year}-W{week:02d}"
    month = int(number) * 3 if code == "Q" else int(number)
    year, month_of_year = 1970 + month // 12, month % 12
    return f"{year}-Q{month_of_year // 3 + 1}" if code == "Q" else f"{year}-{month_of_year + 1:02d}"


def _distinct(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct integers; a plain sort is many times faster here
    than ``np.unique``, whose hash-based path is slow on a million keys."""
    ordered = np.sort(keys)
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def cohort_counts(customer_ids, order_dates, period: str = "M") -> pd.DataFrame:
    r"""Active customers per acquisition cohort and period since acquisition.

    A customer's cohort is the period of their first order; they are active
    in period ``k`` (0 = the cohort's own period) when they ordered at least
    once in it. Periods after the last order in the data have not happened
    yet and are NaN.

    Parameters
    ----------
    customer_ids : array_like, shape (n,)
        One customer identifier per order (any hashable values).
    order_dates : array_like, shape (n,)
        The order dates (anything ``numpy.datetime64`` accepts; the time of
        day is ignored).
    period : {"M", "W", "Q"}, default "M"
        Calendar months, ISO weeks (Monday to Sunday) or quarters.

    Returns
    -------
    DataFrame indexed by cohort label (``1997-01``, ``1997-W03``,
    ``1997-Q1``), one column per period since acquisition ``0 .. K-1``.

    Raises
    ------
    OutOfDomainError
        The matrix would exceed 20 million cells (cohorts x periods).

    Examples
    --------
    >>> cohort_counts(["a", "b", "a", "c"], ["2024-01-05", "2024-01-20", "2024-02-01", "2024-02-03"])
             0    1
    Cohort
    2024-01  2.0  1.0
    2024-02  1.0  NaN
    """
    code = _period_code(period)
    ids = np.asarray(customer_ids, dtype=object).ravel()
    days = np.asarray(order_dates, dtype="datetime64[D]").ravel()
    if ids.size != days.size:
        raise InvalidInputError(f"need one order date per customer id ({ids.size} ids, {days.size} dates)")
    if ids.size == 0:
        raise ZeroDenominatorError("no orders, so no customers")
    if np.isnat(days).any():
        raise InvalidInputError("every order needs a date")
    customer, _ = pd.factorize(ids, use_na_sentinel=True)
    if np.any(customer < 0):
        raise InvalidInputError("every order needs a customer id")
    order_period = _period_numbers(days, code)
    first = np.full(customer.max() + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, customer, order_period)
    cohorts = _distinct(first)
    cohort_of_customer = np.searchsorted(cohorts, first)
    last = int(order_period.max())
    width = last - int(cohorts[0]) + 1
    if cohorts.size * width > _MAX_COHORT_CELLS:
        raise OutOfDomainError(f"{cohorts.size} cohorts over {width} periods is too large a matrix; use a longer period")
    # each (customer, period since acquisition) pair counts once
    active = _distinct(customer.astype(np.int64) * width + (order_period - first[customer]))
    active_customer, since = np.divmod(active, width)
    counts = np.bincount(cohort_of_customer[active_customer] * width + since, minlength=cohorts.size * width)
    counts = counts.reshape(cohorts.size, width).astype(float)
    not_yet = cohorts[:, None] + np.arange(width)[None, :] > last
    counts[not_yet] = np.nan
    index = pd.Index([_period_label(c, code) for c in cohorts], name="Cohort")
    return pd.DataFrame(counts, index=index, columns=pd.RangeIndex(width))


def cohort_retention(customer_ids, order_dates, period: str = "M") -> pd.DataFrame:
    r"""Cohort retention matrix: share of each cohort active per period.

    .. math:: R_{c,k} = \frac{|\{i \in c : i \text{ orders in period } c+k\}|}{|c|}

    Column 0 is therefore 1 for every cohort. See :func:`cohort_counts` for
    the parameters and the layout; periods that have not happened yet are
    NaN.

    Examples
    --------
    >>> cohort_retention(["a", "b", "a", "c"], ["2024-01-05", "2024-01-20", "2024-02-01", "2024-02-03"])
             0    1
    Cohort
    2024-01  1.0  0.5
    2024-02  1.0  NaN
    """
    counts = cohort_counts(customer_ids, order_dates, period)
    return counts.div(counts[0], axis=0)


# --------------------------------------------------------------------------
# Kaplan-Meier


def _survival_data(durations, churned) -> tuple[np.ndarray, np.ndarray]:
    time = _not_negative(durations, "durations").ravel()
    observed = _finite(churned, "churned").ravel()
    if time.size != observed.size:
        raise InvalidInputError(f"need one churned flag per duration ({time.size} durations, {observed.size} flags)")
    if time.size == 0:
        raise ZeroDenominatorError("no customers")
    if not np.all((observed == 0) | (observed == 1)):
        raise InvalidInputError("churned must be 1 (churned) or 0 (still active)")
    return time, observed


def kaplan_meier(durations, churned) -> pd.DataFrame:
    r"""Kaplan-Meier estimate of the share of customers still active.

    At each distinct churn time :math:`t_j` with :math:`n_j` customers at risk
    (duration >= :math:`t_j`) and :math:`d_j` churns,

    .. math:: \hat S(t) = \prod_{t_j \le t} \left(1 - \frac{d_j}{n_j}\right)

    Customers still active (``churned = 0``) are censored at their duration:
    they count as at risk up to and including it.

    Parameters
    ----------
    durations : array_like, shape (n,)
        Time from acquisition to churn, or to today for active customers
        (any time unit, >= 0).
    churned : array_like, shape (n,)
        1 for an observed churn, 0 for a customer still active.

    Returns
    -------
    DataFrame with columns ``Time``, ``At risk``, ``Events``, ``Survival``,
    one row per churn time (no rows when nobody churned).

    Raises
    ------
    ZeroDenominatorError
        No customers.

    References
    ----------
    Kaplan, E. L. and Meier, P. (1958), "Nonparametric estimation from
    incomplete observations", JASA 53(282), 457-481.

    Examples
    --------
    >>> kaplan_meier([2, 3, 3, 5, 8], [1, 1, 0, 1, 0])
       Time  At risk  Events  Survival
    0   2.0        5       1       0.8
    1   3.0        4       1       0.6
    2   5.0        2       1       0.3
    """
    time, observed = _survival_data(durations, churned)
    distinct, at_time = np.unique(time, return_inverse=True)
    leaving = np.bincount(at_time, minlength=distinct.size)
    events = np.bincount(at_time[observed == 1], minlength=distinct.size)
    at_risk = time.size - np.concatenate(([0], np.cumsum(leaving)[:-1]))
    churn_times = events > 0
    survival = np.cumprod(1.0 - events[churn_times] / at_risk[churn_times])
    return pd.DataFrame(
        {
            "Time": distinct[churn_times],
            "At risk": at_risk[churn_times],
            "Events": events[churn_times],
            "Survival": survival,
        }
    )


def survival_at(durations, churned, times) -> np.ndarray:
    r"""Kaplan-Meier survival :math:`\hat S(t)` at the given times.

    :math:`\hat S` is a right-continuous step function: 1 before the first
    churn, and at a churn time it already includes that time's churns. Beyond
    the longest duration it stays at its last value.

    Parameters
    ----------
    durations, churned : array_like, shape (n,)
        As :func:`kaplan_meier`.
    times : array_like
        Times at which to read the curve (>= 0); NaN gives NaN.

    Returns
    -------
    ndarray of the shape of ``times``.

    Examples
    --------
    >>> survival_at([2, 3, 3, 5, 8], [1, 1, 0, 1, 0], [0, 2, 4, 10]).round(6).tolist()
    [1.0, 0.8, 0.6, 0.3]
    """
    table = kaplan_meier(durations, churned)
    at = np.asarray(times, dtype=float)
    if np.any(np.isinf(at)) or np.any(at < 0):
        raise InvalidInputError("times must be finite and not negative")
    steps = np.concatenate(([1.0], table["Survival"].to_numpy()))
    position = np.searchsorted(table["Time"].to_numpy(), np.nan_to_num(at, nan=0.0), side="right")
    return np.where(np.isnan(at), np.nan, steps[position])
