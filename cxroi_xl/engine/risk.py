"""Risk as a range: Monte Carlo NPV and ROI, and the tornado of drivers.

Instead of one fixed risk factor per benefit stream (Forrester's TEI risk
adjustment), each stream and the costs get a triangular distribution of
multipliers with mode 1, from a low to a high multiplier; one draw per
trial is applied to every period of its stream. The flows given here are
therefore the *unadjusted* ones, so risk is not counted twice.

Because a multiplier scales a whole stream, the NPV of a trial is linear in
the multipliers: with :math:`PV_s` the present value of stream s and
:math:`PV_c` of the costs,

.. math:: NPV = \\sum_s m_s PV_s - m_c PV_c, \\qquad ROI = NPV / (m_c PV_c)

so each stream is discounted once and the trials are one matrix product.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import finance
from ..errors import InvalidInputError, OutOfDomainError

__all__ = ["MonteCarloResult", "monte_carlo_npv", "summarise_trials", "sorted_percentiles", "tornado", "triangular_multipliers", "MAX_TRIALS", "MAX_BINS"]

MAX_TRIALS = 1_000_000
MAX_BINS = 200
_CHUNK = 100_000  # trials per block, so memory stays bounded whatever the count


@dataclass(frozen=True)
class MonteCarloResult:
    """Summary of a Monte Carlo run; ``npv`` and ``roi`` hold every trial.

    ``roi`` percentiles are ``None`` when the costs' present value is zero.
    ``bin_edges`` has one more entry than ``bin_counts``.
    """

    npv: np.ndarray
    roi: np.ndarray | None
    npv_p10: float
    npv_p50: float
    npv_p90: float
    npv_mean: float
    probability_positive: float
    roi_p10: float | None
    roi_p50: float | None
    roi_p90: float | None
    bin_edges: np.ndarray
    bin_counts: np.ndarray

    def rows(self) -> list[tuple[str, float | None]]:
        """The summary figures as ``(label, value)`` pairs, in report order."""
        return [
            ("NPV P10", self.npv_p10),
            ("NPV P50", self.npv_p50),
            ("NPV P90", self.npv_p90),
            ("Mean NPV", self.npv_mean),
            ("P(NPV > 0)", self.probability_positive),
            ("ROI P10", self.roi_p10),
            ("ROI P50", self.roi_p50),
            ("ROI P90", self.roi_p90),
        ]


def _spreads(low, high, n: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    low = np.asarray(low, dtype=float).ravel()
    high = np.asarray(high, dtype=float).ravel()
    if low.size == 1:
        low = np.repeat(low, n)
    if high.size == 1:
        high = np.repeat(high, n)
    if low.size != n or high.size != n:
        raise InvalidInputError(f"{what}: need one low and one high multiplier per stream ({n} streams, {low.size} lows, {high.size} highs)")
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise InvalidInputError(f"{what}: every low and high multiplier must be a number")
    if np.any(low < 0) or np.any(low > 1) or np.any(high < 1):
        raise OutOfDomainError(f"{what}: multipliers must satisfy 0 <= low <= 1 <= high")
    return low, high


def triangular_multipliers(uniforms, low, high) -> np.ndarray:
    r"""Triangular multipliers with mode 1 from uniform draws (inverse CDF).

    With :math:`a` = low, :math:`b` = high, mode 1 and :math:`F_1 = (1-a)/(b-a)`:

    .. math::
        x = \begin{cases} a + \sqrt{u (b-a)(1-a)} & u < F_1 \\
                          b - \sqrt{(1-u)(b-a)(b-1)} & u \ge F_1 \end{cases}

    and :math:`x = 1` when :math:`a = b = 1` (no uncertainty).

    Parameters
    ----------
    uniforms : array_like, shape (..., k)
        Draws in [0, 1).
    low, high : array_like, shape (k,)
        Multipliers, 0 <= low <= 1 <= high (fractions of the expected amount).

    References
    ----------
    S. Kotz and J. R. van Dorp, *Beyond Beta* (2004), ch. 1: the triangular
    distribution and its quantile function; Forrester Research, "Total
    Economic Impact (TEI) methodology": triangular ranges for risk analysis.

    Examples
    --------
    >>> triangular_multipliers([[0.0, 0.5, 0.5]], [0.5, 0.5, 1.0], [1.5, 1.5, 1.0]).tolist()
    [[0.5, 1.0, 1.0]]
    """
    u = np.asarray(uniforms, dtype=float)
    a = np.asarray(low, dtype=float)
    b = np.asarray(high, dtype=float)
    if a.ndim == 0 and b.ndim == 0:
        with np.errstate(invalid="ignore"):
            return _triangular(u, float(a), float(b))
    if u.ndim >= 2 and a.ndim <= 1 and b.ndim <= 1:
        # one multiplier pair per column: each column on its own, contiguous
        # and with scalar bounds, takes half the time of broadcasting the pairs
        k = u.shape[-1]
        lows, highs = np.broadcast_to(a, (k,)).tolist(), np.broadcast_to(b, (k,)).tolist()
        columns = np.moveaxis(u, -1, 0)
        out = np.empty(columns.shape)
        with np.errstate(invalid="ignore"):  # bounds outside 0 <= low <= 1 <= high give NaN, not a warning
            for j in range(k):
                out[j] = _triangular(np.ascontiguousarray(columns[j]), lows[j], highs[j])
        return np.moveaxis(out, 0, -1)
    width = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        mode_share = np.where(width > 0, (1.0 - a) / width, 0.0)
        rising = a + np.sqrt(u * width * (1.0 - a))
        falling = b - np.sqrt((1.0 - u) * width * (b - 1.0))
    return np.where(width > 0, np.where(u < mode_share, rising, falling), 1.0)


def _triangular(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """:func:`triangular_multipliers` of one low/high pair (the same
    arithmetic, so the same numbers)."""
    width = b - a
    if not width > 0:
        return np.ones(u.shape)
    return np.where(u < (1.0 - a) / width, a + np.sqrt(u * width * (1.0 - a)), b - np.sqrt((1.0 - u) * width * (b - 1.0)))


def _as_streams(streams, costs) -> tuple[np.ndarray, np.ndarray]:
    block = np.asarray(streams, dtype=float)
    if block.ndim == 1:
        block = block[:, None]
    if block.ndim != 2 or block.size == 0:
        raise InvalidInputError("benefit streams: expected a block, one column per stream")
    c = np.asarray(costs, dtype=float).ravel()
    if c.size != block.shape[0]:
        raise InvalidInputError(f"costs must have one value per period ({block.shape[0]} periods, {c.size} costs)")
    if not (np.all(np.isfinite(block)) and np.all(np.isfinite(c))):
        raise InvalidInputError("benefits and costs must be finite numbers")
    if np.any(c < 0):
        raise InvalidInputError("costs must be entered as positive amounts")
    return block, c


def monte_carlo_npv(
    streams,
    costs,
    discount_rate: float,
    low,
    high,
    cost_low: float = 1.0,
    cost_high: float = 1.0,
    trials: int = 10_000,
    seed: int = 1,
    bins: int = 20,
) -> MonteCarloResult:
    r"""Distribution of NPV and ROI when each stream's size is uncertain.

    Each trial draws one multiplier per benefit stream,
    :math:`m_s \sim Tri(low_s, 1, high_s)`, and one for the costs,
    :math:`m_c \sim Tri(cost\_low, 1, cost\_high)`, and values

    .. math::
        NPV = \sum_s m_s PV_s - m_c PV_c, \quad ROI = NPV / (m_c PV_c),
        \quad PV_x = \sum_{t=0}^{n-1} x_t (1+r)^{-t}

    Reported: the 10th, 50th and 90th percentiles of NPV and ROI (linear
    interpolation, numpy's default), the mean NPV, the share of trials with
    NPV > 0 and a histogram of the NPVs (``bins`` equal bins from the lowest
    to the highest NPV). The exact mean is
    :math:`\sum_s PV_s (low_s + 1 + high_s)/3 - PV_c (cost\_low + 1 + cost\_high)/3`.

    Parameters
    ----------
    streams : array_like, shape (n_periods, n_streams)
        Benefits per period **before** risk adjustment, period 0 first, one
        column per stream, currency units (a 1-D array is one stream).
    costs : array_like, shape (n_periods,)
        Costs per period before risk adjustment, >= 0, currency units.
    discount_rate : float
        Per period, a fraction > -1.
    low, high : float or array_like of shape (n_streams,)
        Each stream's low and high multiplier, 0 <= low <= 1 <= high
        (0.7 = 30 % below the expected amount); low = high = 1 means no
        uncertainty.
    cost_low, cost_high : float
        The costs' multipliers, 0 <= cost_low <= 1 <= cost_high.
    trials : int
        1..:data:`MAX_TRIALS`.
    seed : int
        Seed of numpy's default generator (PCG64); the same seed gives the
        same result.
    bins : int
        Histogram bins, 1..:data:`MAX_BINS`.

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology": risk as
    a range of outcomes (triangular distributions, Monte Carlo) instead of
    a fixed adjustment.

    Examples
    --------
    Without uncertainty every trial is the deterministic NPV:

    >>> r = monte_carlo_npv([[0], [60], [60]], [100, 0, 0], 0.0, 1, 1, trials=100)
    >>> r.npv_p10, r.npv_mean, r.probability_positive, r.roi_p50
    (20.0, 20.0, 1.0, 0.2)
    """
    block, c = _as_streams(streams, costs)
    n_streams = block.shape[1]
    low, high = _spreads(low, high, n_streams, "benefit streams")
    cost_range = _spreads(cost_low, cost_high, 1, "costs")
    if int(trials) != trials or not 1 <= trials <= MAX_TRIALS:
        raise OutOfDomainError(f"trials must be a whole number from 1 to {MAX_TRIALS:,}")
    if int(bins) != bins or not 1 <= bins <= MAX_BINS:
        raise OutOfDomainError(f"bins must be a whole number from 1 to {MAX_BINS}")
    if int(seed) != seed or seed < 0:
        raise OutOfDomainError("seed must be a whole number >= 0")
    pv_streams = np.atleast_1d(finance.present_value(block.T, discount_rate))
    pv_costs = float(finance.present_value(c, discount_rate))

    rng = np.random.default_rng(int(seed))
    all_low = np.append(low, cost_range[0])
    all_high = np.append(high, cost_range[1])
    weights = np.append(pv_streams, -pv_costs)
    npv = np.empty(int(trials))
    cost_multiplier = np.empty(int(trials))
    for start in range(0, int(trials), _CHUNK):
        stop = min(start + _CHUNK, int(trials))
        multipliers = triangular_multipliers(rng.random((stop - start, n_streams + 1)), all_low, all_high)
        npv[start:stop] = multipliers @ weights
        cost_multiplier[start:stop] = multipliers[:, -1]
    return summarise_trials(npv, cost_multiplier * pv_costs, bins)


def summarise_trials(npv: np.ndarray, costs: np.ndarray, bins: int = 20) -> MonteCarloResult:
    """The :class:`MonteCarloResult` of trials: each trial's NPV and PV of
    the costs (ROI = NPV / PV costs; None when the costs are zero).

    Percentiles are numpy's default (linear interpolation, as
    ``np.percentile``) and the histogram is ``np.histogram``'s (equal bins
    from the lowest to the highest NPV, the last one closed), both read
    from one sort of the trials instead of a selection per statistic.
    """
    if int(bins) != bins or not 1 <= bins <= MAX_BINS:
        raise OutOfDomainError(f"bins must be a whole number from 1 to {MAX_BINS}")
    npv = np.asarray(npv, dtype=float)
    costs = np.asarray(costs, dtype=float)
    if np.all(costs == 0):
        roi = None
        roi_p = (None, None, None)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = npv / costs
        roi_p = tuple(float(v) for v in sorted_percentiles(np.sort(roi), _PERCENTS))
    ordered = np.sort(npv)
    npv_p = sorted_percentiles(ordered, _PERCENTS)
    # the edges depend on the lowest and highest NPV alone; a trial counts in
    # bin i when edge_i <= npv < edge_(i+1), the last bin closed (np.histogram's rule)
    edges = np.histogram_bin_edges(ordered[[0, -1]], bins=int(bins))
    below = np.empty(edges.size, dtype=np.intp)  # trials below each edge, the last edge counting all
    below[0], below[-1] = 0, ordered.size
    below[1:-1] = np.searchsorted(ordered, edges[1:-1], side="left")
    counts = below[1:] - below[:-1]
    return MonteCarloResult(
        npv=npv,
        roi=roi,
        npv_p10=float(npv_p[0]),
        npv_p50=float(npv_p[1]),
        npv_p90=float(npv_p[2]),
        npv_mean=float(np.mean(npv)),
        probability_positive=float(np.mean(npv > 0)),
        roi_p10=roi_p[0],
        roi_p50=roi_p[1],
        roi_p90=roi_p[2],
        bin_edges=edges,
        bin_counts=counts,
    )


_PERCENTS = (10.0, 50.0, 90.0)


def sorted_percentiles(ordered: np.ndarray, percents) -> np.ndarray:
    r"""Percentiles of values already sorted ascending, by numpy's default
    (linear) method, without selecting again.

    With :math:`n` values :math:`x_{(0)} \le \dots \le x_{(n-1)}`, the
    percentile p sits at :math:`h = (n - 1) p / 100`, between
    :math:`x_{(\lfloor h \rfloor)}` and the next value, at the fraction
    :math:`g = h - \lfloor h \rfloor`:

    .. math:: x_{(\lfloor h \rfloor)} + g\,(x_{(\lfloor h \rfloor + 1)} - x_{(\lfloor h \rfloor)})

    computed from the upper value when :math:`g \ge 0.5`, as
    ``np.percentile`` does, so the two agree to the last bit. NaN among the
    values (sorted last) gives NaN.

    Parameters
    ----------
    ordered : ndarray, shape (n,)
        Values sorted ascending (``np.sort``), n >= 1.
    percents : array_like
        Percentiles, 0..100.

    References
    ----------
    R. J. Hyndman and Y. Fan (1996), Sample quantiles in statistical
    packages, The American Statistician 50(4), definition 7 (numpy's
    ``method="linear"``).

    Examples
    --------
    >>> sorted_percentiles(np.array([1.0, 2.0, 4.0, 8.0]), [0, 50, 90, 100]).tolist()
    [1.0, 3.0, 6.800000000000001, 8.0]
    """
    n = ordered.size
    at = (n - 1) * np.true_divide(np.asarray(percents, dtype=float), 100)
    below = np.minimum(np.floor(at), n - 1).astype(np.intp)
    above = np.minimum(below + 1, n - 1)
    fraction = at - below
    low, high = ordered[below], ordered[above]
    step = high - low
    values = np.where(fraction >= 0.5, high - step * (1 - fraction), low + step * fraction)
    if np.isnan(ordered[-1]):
        values[:] = np.nan
    return values


def tornado(streams, costs, discount_rate: float, low, high, cost_low: float = 1.0, cost_high: float = 1.0, names=None) -> pd.DataFrame:
    r"""NPV with each driver at its low and at its high multiplier, the others
    at 1, sorted by swing (largest first): the data of a tornado chart.

    .. math::
        NPV_{d}(m) = NPV_1 + (m - 1) PV_d, \quad
        NPV_1 = \sum_s PV_s - PV_c, \quad swing_d = |NPV_d(high_d) - NPV_d(low_d)|

    with :math:`PV_d = -PV_c` for the costs.

    Parameters
    ----------
    streams, costs, discount_rate, low, high, cost_low, cost_high
        As :func:`monte_carlo_npv`.
    names : sequence of str, optional
        One name per stream; default "Stream 1", "Stream 2", ...; the costs
        are "Costs".

    Returns
    -------
    DataFrame
        ``driver, npv_low, npv_high, swing`` (currency; ``npv_low`` is the
        NPV with the driver at its low multiplier), one row per stream and
        one for the costs; ties keep the input order.

    References
    ----------
    Forrester Research, "Total Economic Impact (TEI) methodology":
    sensitivity of the NPV to each benefit and cost driver.

    Examples
    --------
    >>> tornado([[0, 0], [60, 10], [60, 10]], [100, 0, 0], 0.0, [0.5, 0.9], [1.2, 1.1], 0.9, 1.3, ["Service", "Uplift"])
        driver  npv_low  npv_high  swing
    0  Service    -20.0      64.0   84.0
    1    Costs     50.0      10.0   40.0
    2   Uplift     38.0      42.0    4.0
    """
    block, c = _as_streams(streams, costs)
    n_streams = block.shape[1]
    low, high = _spreads(low, high, n_streams, "benefit streams")
    cost_range = _spreads(cost_low, cost_high, 1, "costs")
    if names is None:
        names = [f"Stream {i + 1}" for i in range(n_streams)]
    names = [str(n) for n in names]
    if len(names) != n_streams:
        raise InvalidInputError(f"need one name per stream ({n_streams} streams, {len(names)} names)")
    pv = np.append(np.atleast_1d(finance.present_value(block.T, discount_rate)), -float(finance.present_value(c, discount_rate)))
    base = float(pv.sum())
    lows = np.append(low, cost_range[0])
    highs = np.append(high, cost_range[1])
    npv_low = base + (lows - 1.0) * pv
    npv_high = base + (highs - 1.0) * pv
    table = pd.DataFrame({"driver": names + ["Costs"], "npv_low": npv_low, "npv_high": npv_high, "swing": np.abs(npv_high - npv_low)})
    return table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
