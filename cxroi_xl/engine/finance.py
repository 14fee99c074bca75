"""Money: present value, NPV, IRR, payback, ROI and the Forrester TEI summary.

Conventions shared by every function here:

* Cash flows are per period, **period 0 first**: ``values[..., t]`` is the
  amount at the end of period ``t`` and is discounted by ``(1 + rate) ** t``.
  This differs from Excel's ``NPV``, which discounts its first value by one
  period (Excel's ``NPV(r, v1..vn)`` equals ``npv(r, [0, v1, ..., vn])``).
* Rates are fractions per period (0.1 = 10 %), as in Excel's NPV and RATE.
* Arrays of shape ``(..., n)`` are accepted wherever a single series is, and
  the calculation is vectorised over the leading axes: one call values ten
  thousand projects.

Input the functions cannot answer raises a subclass of ``ValueError`` from
``cxroi_xl.errors``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, NotReachedError, OutOfDomainError, ZeroDenominatorError

__all__ = [
    "present_value",
    "npv",
    "xnpv",
    "irr",
    "xirr",
    "payback",
    "roi",
    "tei",
    "TEIResult",
    "savings",
    "monthly_rate",
    "same_shape_or_single",
]

DAYS_PER_YEAR = 365.0  # Excel's XNPV/XIRR year, whatever the calendar says


def _as_flows(values) -> np.ndarray:
    flows = np.asarray(values, dtype=float)
    if flows.ndim == 0:
        flows = flows.reshape(1)
    if flows.shape[-1] == 0:
        raise InvalidInputError("no cash flows given")
    if not np.all(np.isfinite(flows)):
        raise InvalidInputError("cash flows must be finite numbers")
    return flows


def _check_rate(rate) -> np.ndarray:
    rate = np.asarray(rate, dtype=float)
    if not np.all(np.isfinite(rate)):
        raise InvalidInputError("rate must be a finite number")
    if np.any(rate <= -1.0):
        raise OutOfDomainError("rate must be greater than -100%")
    return rate


def _discount_factors(rate, exponents: np.ndarray) -> np.ndarray:
    rate = _check_rate(rate)
    with np.errstate(over="ignore", under="ignore"):
        return np.power(1.0 + rate[..., None], -exponents)


def present_value(values, rate=0.0) -> np.ndarray | float:
    r"""Present value of per-period amounts, period 0 undiscounted.

    .. math:: PV = \sum_{t=0}^{n-1} \frac{x_t}{(1+r)^t}

    Parameters
    ----------
    values : array_like, shape (..., n)
        Amounts per period, period 0 first, in currency units.
    rate : scalar or array_like of shape (...)
        Discount rate per period, a fraction (0.1 = 10 %); must exceed -1.

    Returns
    -------
    float or ndarray of shape (...)

    Examples
    --------
    >>> present_value([100, 110, 121], 0.10)
    300.0
    """
    flows = _as_flows(values)
    t = np.arange(flows.shape[-1], dtype=float)
    result = np.sum(flows * _discount_factors(rate, t), axis=-1)
    return float(result) if np.ndim(result) == 0 else result


def npv(rate, values, dates=None) -> np.ndarray | float:
    r"""Net present value, period 0 first; with dates, Excel's XNPV rule.

    Without dates

    .. math:: NPV = \sum_{t=0}^{n-1} \frac{cf_t}{(1+r)^t}

    which is Excel's ``NPV(r, cf_1..cf_{n-1}) + cf_0``: the first amount is
    *not* discounted. With dates ``d_i`` the exponent is the year fraction
    ``(d_i - d_0) / 365`` as in Excel's ``XNPV``.

    Parameters
    ----------
    rate : scalar or array_like
        Discount rate per period (per year with dates), a fraction > -1.
    values : array_like, shape (..., n)
        Cash flows, period 0 first.
    dates : array_like of datetime64[D], optional
        One date per cash flow; the first is the valuation date.

    References
    ----------
    Microsoft, "NPV function" and "XNPV function", Excel documentation.

    Examples
    --------
    Microsoft's NPV example 2: an investment of 40,000 today and five yearly
    returns at 8 %:

    >>> round(npv(0.08, [-40000, 8000, 9200, 10000, 12000, 14500]), 2)
    1922.06
    """
    if dates is None:
        return present_value(values, rate)
    return xnpv(rate, values, dates)


def _year_fractions(dates, n: int) -> np.ndarray:
    days = np.asarray(dates, dtype="datetime64[D]")
    if days.ndim != 1 or days.shape[0] != n:
        raise InvalidInputError(f"need one date per cash flow ({n} flows, {days.size} dates)")
    if np.isnat(days).any():
        raise InvalidInputError("every cash flow needs a date")
    offsets = (days - days[0]).astype(float)
    if np.any(offsets < 0):
        raise OutOfDomainError("no date may precede the first date")
    return offsets / DAYS_PER_YEAR


def xnpv(rate, values, dates) -> np.ndarray | float:
    r"""Net present value of cash flows on given dates (Excel's XNPV).

    .. math:: XNPV = \sum_i \frac{cf_i}{(1+r)^{(d_i-d_0)/365}}

    Parameters
    ----------
    rate : scalar
        Annual discount rate, a fraction > -1.
    values : array_like, shape (..., n)
        Cash flows.
    dates : array_like, shape (n,)
        Dates of the cash flows (anything ``numpy.datetime64`` accepts); none
        may precede the first.

    Examples
    --------
    Microsoft's XNPV example (9 %, five flows from 2008-01-01):

    >>> d = ["2008-01-01", "2008-03-01", "2008-10-30", "2009-02-15", "2009-04-01"]
    >>> round(xnpv(0.09, [-10000, 2750, 4250, 3250, 2750], d), 2)
    2086.65
    """
    flows = _as_flows(values)
    years = _year_fractions(dates, flows.shape[-1])
    result = np.sum(flows * _discount_factors(rate, years), axis=-1)
    return float(result) if np.ndim(result) == 0 else result


# Grid of candidate rates used to bracket IRR roots: dense near ordinary
# rates, sparse towards -99 % and +10,000 %. NPV is continuous on (-1, inf), so
# a sign change between neighbours brackets a root.
_IRR_GRID = np.unique(
    np.concatenate(
        [
            -1.0 + np.geomspace(1e-6, 0.5, 60),
            np.linspace(-0.5, 1.0, 151),
            np.geomspace(1.0, 1e4, 80),
        ]
    )
)


def _solve_rate(flows: np.ndarray, exponents: np.ndarray, guess: float) -> np.ndarray:
    """Root of ``sum flows * (1+r)^-exponents`` for every row of ``flows``.

    Brackets the root with a sign change on ``_IRR_GRID`` (-99.9999 % to
    1,000,000 %; the bracket nearest
    ``guess`` wins when there are several roots), then narrows every bracket
    at once with the Illinois variant of false position, which keeps the root
    bracketed and converges superlinearly. Rows without a sign change get NaN.
    """
    rows = flows.reshape(-1, flows.shape[-1])
    grid = _IRR_GRID
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        # Work with log(1+r) so the powers never leave float range badly.
        log_growth = np.log1p(grid)
        values = rows @ np.exp(-np.outer(exponents, log_growth))
    signs = np.sign(values)
    change = (signs[:, :-1] * signs[:, 1:] <= 0) & np.isfinite(values[:, :-1]) & np.isfinite(values[:, 1:])
    change &= ~((signs[:, :-1] == 0) & (signs[:, 1:] == 0))
    has_root = change.any(axis=1)
    # Pick the bracket whose midpoint is nearest the guess.
    midpoints = 0.5 * (grid[:-1] + grid[1:])
    distance = np.where(change, np.abs(midpoints - guess), np.inf)
    k = np.argmin(distance, axis=1)
    lo = grid[k].copy()
    hi = grid[k + 1].copy()
    row_index = np.arange(rows.shape[0])
    f_lo = values[row_index, k].copy()
    f_hi = values[row_index, k + 1].copy()

    def f(rate):
        return np.sum(rows * np.exp(-np.outer(np.log1p(rate), exponents)), axis=1)

    side = np.zeros(rows.shape[0], dtype=int)
    for _ in range(200):
        with np.errstate(invalid="ignore", divide="ignore"):
            x = hi - f_hi * (hi - lo) / (f_hi - f_lo)
        x = np.where(np.isfinite(x) & (x > np.minimum(lo, hi)) & (x < np.maximum(lo, hi)), x, 0.5 * (lo + hi))
        fx = f(x)
        exact = fx == 0
        left = (np.sign(fx) == np.sign(f_lo)) & ~exact
        # Illinois: halve the stale end's value when the same end is kept twice.
        f_hi = np.where(left & (side == -1), 0.5 * f_hi, f_hi)
        f_lo = np.where(~left & (side == 1), 0.5 * f_lo, f_lo)
        lo, f_lo = np.where(left, x, lo), np.where(left, fx, f_lo)
        hi, f_hi = np.where(left, hi, x), np.where(left, f_hi, fx)
        lo = np.where(exact, x, lo)
        hi = np.where(exact, x, hi)
        side = np.where(left, -1, 1)
        if np.all(np.abs(hi - lo) <= 1e-14 * np.maximum(1.0, np.abs(x)) + 1e-15):
            break
    root = np.where(np.abs(f_lo) <= np.abs(f_hi), lo, hi)
    root = np.where(has_root, root, np.nan)
    return root.reshape(flows.shape[:-1])


def _irr_result(root: np.ndarray):
    if np.ndim(root) == 0:
        if not np.isfinite(root):
            raise OutOfDomainError("no rate makes the net present value zero")
        return float(root)
    return root


def irr(values, guess: float = 0.1) -> np.ndarray | float:
    r"""Internal rate of return of per-period cash flows (Excel's IRR).

    The rate ``r`` with :math:`\sum_t cf_t (1+r)^{-t} = 0`. Found by bracketing
    (a sign change of NPV on a grid of rates from -99.9999 % to 1,000,000 %) and
    safeguarded false position, so it converges whenever a root exists. When
    the flows change sign more than once there may be several roots; the one
    bracketed nearest ``guess`` is returned, as Excel's IRR also starts from
    its guess.

    Parameters
    ----------
    values : array_like, shape (..., n)
        Cash flows, period 0 first; need at least one positive and one
        negative amount.
    guess : float, default 0.1
        Rate to start near, a fraction.

    Returns
    -------
    float, or ndarray of shape (...) with NaN for rows that have no IRR.

    Raises
    ------
    OutOfDomainError
        A single series without a sign change, or with no root.

    References
    ----------
    Microsoft, "IRR function", Excel documentation.

    Examples
    --------
    Microsoft's IRR example: a business costing 70,000 and five years of net
    income:

    >>> round(irr([-70000, 12000, 15000, 18000, 21000, 26000]), 4)
    0.0866
    """
    flows = _as_flows(values)
    if flows.ndim == 1 and not (np.any(flows > 0) and np.any(flows < 0)):
        raise OutOfDomainError("IRR needs at least one positive and one negative cash flow")
    t = np.arange(flows.shape[-1], dtype=float)
    return _irr_result(_solve_rate(flows, t, float(guess)))


def xirr(values, dates, guess: float = 0.1) -> np.ndarray | float:
    r"""Internal rate of return of cash flows on given dates (Excel's XIRR).

    The annual rate ``r`` with :math:`\sum_i cf_i (1+r)^{-(d_i-d_0)/365} = 0`,
    found as in :func:`irr`.

    Examples
    --------
    Microsoft's XIRR example:

    >>> d = ["2008-01-01", "2008-03-01", "2008-10-30", "2009-02-15", "2009-04-01"]
    >>> round(xirr([-10000, 2750, 4250, 3250, 2750], d), 6)
    0.373363
    """
    flows = _as_flows(values)
    if flows.ndim == 1 and not (np.any(flows > 0) and np.any(flows < 0)):
        raise OutOfDomainError("XIRR needs at least one positive and one negative cash flow")
    years = _year_fractions(dates, flows.shape[-1])
    return _irr_result(_solve_rate(flows, years, float(guess)))


def payback(values, rate=0.0) -> float:
    r"""Periods until the cumulative (discounted) cash flow first reaches zero.

    With :math:`C_k = \sum_{t\le k} cf_t (1+r)^{-t}` and ``k`` the first
    period with :math:`C_k \ge 0` after the cumulative flow first went below
    zero, the payback is interpolated linearly inside period ``k``:
    :math:`k - 1 + (-C_{k-1}) / (C_k - C_{k-1})`. It is 0 when the
    cumulative flow never goes below zero; leading zero periods (blank
    cells) do not count as paid back.

    Parameters
    ----------
    values : array_like, shape (n,)
        Net cash flows, period 0 first.
    rate : float, default 0
        Discount rate per period; 0 gives the simple payback.

    Raises
    ------
    NotReachedError
        The cumulative cash flow never reaches zero.

    Examples
    --------
    >>> payback([-100, 30, 40, 50])
    2.6
    """
    flows = _as_flows(values)
    if flows.ndim != 1:
        raise InvalidInputError("payback takes a single series of cash flows")
    t = np.arange(flows.size, dtype=float)
    cumulative = np.cumsum(flows * _discount_factors(rate, t))
    if not np.any(flows):
        raise NotReachedError("there is no cash flow to pay back")
    underwater = np.flatnonzero(cumulative < 0)
    if underwater.size == 0:
        return 0.0  # never below zero: nothing to pay back
    # Leading zero periods (blank cells) are not a payback: look from the
    # first period the cumulative flow goes below zero.
    reached = np.flatnonzero(cumulative[underwater[0]:] >= 0)
    if reached.size == 0:
        raise NotReachedError("the cumulative cash flow never reaches zero")
    k = int(underwater[0] + reached[0])
    before, after = cumulative[k - 1], cumulative[k]
    return float(k - 1 + (-before) / (after - before))


def _risk_adjusted(benefits, costs, benefit_risk, cost_risk):
    b = _as_flows(benefits)
    c = _as_flows(costs)
    if b.shape != c.shape:
        raise InvalidInputError(f"benefits and costs must have the same length ({b.shape[-1]} and {c.shape[-1]})")
    if np.any(c < 0):
        raise InvalidInputError("costs must be entered as positive amounts")
    if not 0 <= benefit_risk <= 1:
        raise OutOfDomainError("benefit risk must lie between 0 and 1")
    if not 0 <= cost_risk:
        raise OutOfDomainError("cost risk must not be negative")
    return b * (1.0 - benefit_risk), c * (1.0 + cost_risk)


def roi(benefits, costs, discount_rate=0.0, benefit_risk=0.0, cost_risk=0.0) -> float:
    r"""Risk-adjusted return on investment (Forrester TEI style).

    .. math:: ROI = \frac{PV(b(1-\rho_b)) - PV(c(1+\rho_c))}{PV(c(1+\rho_c))}

    Parameters
    ----------
    benefits, costs : array_like, shape (n,)
        Amounts per period, period 0 first, same length, currency units.
    discount_rate : float, default 0
        Per period, a fraction.
    benefit_risk : float, default 0
        Fraction by which benefits are reduced for risk, 0..1.
    cost_risk : float, default 0
        Fraction by which costs are inflated for risk, >= 0.

    Raises
    ------
    ZeroDenominatorError
        The present value of the costs is zero.

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology": benefits
    and costs risk-adjusted, discounted, ROI = net benefits / costs.

    Examples
    --------
    >>> roi([0, 60, 60], [100, 0, 0])
    0.2
    """
    b, c = _risk_adjusted(benefits, costs, benefit_risk, cost_risk)
    pv_costs = present_value(c, discount_rate)
    if pv_costs == 0:
        raise ZeroDenominatorError("the present value of the costs is zero")
    return float((present_value(b, discount_rate) - pv_costs) / pv_costs)


@dataclass(frozen=True)
class TEIResult:
    """Headline figures of a Total Economic Impact analysis.

    ``payback`` is in periods, or ``None`` when the risk-adjusted net cash
    flow never pays back.
    """

    pv_benefits: float
    pv_costs: float
    npv: float
    roi: float
    payback: float | None

    def rows(self) -> list[tuple[str, float | None]]:
        """The figures as ``(label, value)`` pairs, in report order."""
        return [
            ("PV benefits", self.pv_benefits),
            ("PV costs", self.pv_costs),
            ("NPV", self.npv),
            ("ROI", self.roi),
            ("Payback (periods)", self.payback),
        ]


def tei(benefits, costs, discount_rate=0.10, benefit_risk=0.0, cost_risk=0.0) -> TEIResult:
    r"""Forrester-style Total Economic Impact summary.

    Risk-adjusts benefits by :math:`(1-\rho_b)` and costs by
    :math:`(1+\rho_c)`, discounts both at ``discount_rate`` per period
    (period 0 undiscounted) and reports PV benefits, PV costs,
    NPV = PV benefits - PV costs, ROI = NPV / PV costs and the discounted
    payback of the risk-adjusted net flows (see :func:`payback`).

    Examples
    --------
    >>> r = tei([0, 60, 60], [100, 0, 0], discount_rate=0.0)
    >>> r.npv, r.roi, round(r.payback, 6)
    (20.0, 0.2, 1.666667)
    """
    b, c = _risk_adjusted(benefits, costs, benefit_risk, cost_risk)
    pv_b = float(present_value(b, discount_rate))
    pv_c = float(present_value(c, discount_rate))
    if pv_c == 0:
        raise ZeroDenominatorError("the present value of the costs is zero")
    try:
        payback_periods = payback(b - c, discount_rate)
    except NotReachedError:
        payback_periods = None
    return TEIResult(pv_b, pv_c, pv_b - pv_c, (pv_b - pv_c) / pv_c, payback_periods)


def savings(contacts, automation_rate, cost_per_contact, automated_cost_per_contact=0.0) -> np.ndarray:
    r"""Cost saved by deflecting contacts to automation.

    .. math:: S = contacts \times a \times (c_{agent} - c_{automated})

    Arguments broadcast element-wise (numpy rules), so a column of monthly
    contacts with one automation rate gives a column of monthly savings.

    Parameters
    ----------
    contacts : array_like
        Contacts per period (count, >= 0).
    automation_rate : array_like
        Share handled by automation, 0..1.
    cost_per_contact : array_like
        Fully loaded cost of a contact handled by an agent, currency.
    automated_cost_per_contact : array_like, default 0
        Cost of a contact handled by automation, currency.

    Examples
    --------
    >>> savings([1000, 1200], 0.3, 5.0, 0.5).tolist()
    [1350.0, 1620.0]
    """
    contacts, rate, cost, automated = same_shape_or_single(contacts, automation_rate, cost_per_contact, automated_cost_per_contact)
    if np.any(contacts < 0):
        raise OutOfDomainError("contacts must not be negative")
    if np.any((rate < 0) | (rate > 1)):
        raise OutOfDomainError("automation rate must lie between 0 and 1")
    return contacts * rate * (cost - automated)


def same_shape_or_single(*values) -> list[np.ndarray]:
    """Arrays of one common shape: every argument either has that shape or
    is a single value. A row against a column is refused rather than
    silently multiplied out into a grid, as numpy broadcasting would.

    >>> [a.tolist() for a in same_shape_or_single([1, 2], 3)]
    [[1.0, 2.0], [3.0, 3.0]]
    """
    arrays = [np.asarray(v, dtype=float) for v in values]
    shapes = {a.shape for a in arrays if a.size != 1}
    if len(shapes) > 1:
        raise InvalidInputError("ranges must have the same shape, or be single cells")
    shape = shapes.pop() if shapes else max((a.shape for a in arrays), key=len)
    return [np.broadcast_to(a.reshape(()) if a.size == 1 else a, shape).astype(float) for a in arrays]


def monthly_rate(annual_rate: float) -> float:
    r"""Monthly rate equivalent to an annual one: :math:`(1+r)^{1/12} - 1`.

    >>> round(monthly_rate(0.1), 6)
    0.007974
    """
    return float((1.0 + float(_check_rate(annual_rate))) ** (1.0 / 12.0) - 1.0)
