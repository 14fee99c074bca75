"""Survey metrics: NPS, CSAT, CES and success rates such as FCR, with
confidence intervals.

Conventions shared by every function here:

* Answers come as any array-like or a pandas Series. Missing answers (NaN,
  ``None``, ``pd.NA``) are ignored, as Excel's AVERAGE ignores blank cells;
  all remaining answers are pooled whatever the input's shape.
* Every answer must be a whole number on the stated scale; anything else
  raises :class:`~cxroi_xl.errors.InvalidInputError`. No answers at all
  raise :class:`~cxroi_xl.errors.ZeroDenominatorError`.
* Shares are fractions (0.8 = 80 %); NPS is in points from -100 to 100.
* ``confidence`` is the two-sided coverage, strictly between 0 and 1
  (0.95 for a 95 % interval); anything else raises
  :class:`~cxroi_xl.errors.OutOfDomainError`.

:func:`fcr` is :func:`rate` under the name CX teams use for first-contact
resolution; deflection and conversion rates are computed the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

__all__ = [
    "Interval",
    "answered",
    "check_confidence",
    "nps",
    "nps_interval",
    "nps_score_bounds",
    "csat",
    "ces",
    "rate",
    "fcr",
    "NPS_SCALE",
    "CES_SCALE",
]

NPS_SCALE = (0, 10)  # "How likely are you to recommend us?" 0..10
PROMOTER_MIN = 9  # 9-10 promote
DETRACTOR_MAX = 6  # 0-6 detract, 7-8 are passive
CES_SCALE = (1, 7)  # Gartner's CES 2.0 agreement scale; a 1..5 scale fits inside it


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval.

    ``n`` is the number of answers (or trials) behind the estimate and
    ``confidence`` the interval's coverage (0.95 = 95 %).
    """

    estimate: float
    lower: float
    upper: float
    n: int
    confidence: float


def answered(values, what: str = "scores") -> np.ndarray:
    """The non-missing values of ``values`` as a flat float array.

    ``what`` names the input in error messages.

    Examples
    --------
    >>> answered([9, None, 7.0, float("nan")]).tolist()
    [9.0, 7.0]
    """
    try:
        if hasattr(values, "to_numpy"):  # pandas, including nullable dtypes with pd.NA
            array = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{what} must be numbers") from exc
    array = array.ravel()
    array = array[~np.isnan(array)]
    if np.isinf(array).any():
        raise InvalidInputError(f"{what} must be finite numbers")
    return array


def check_confidence(confidence: float) -> float:
    """``confidence`` as a float, refused unless strictly between 0 and 1.

    >>> check_confidence(0.9)
    0.9
    """
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise OutOfDomainError(f"confidence must lie strictly between 0 and 1, got {confidence:g}")
    return confidence


def _normal_quantile(confidence: float) -> float:
    """z with P(-z < Z < z) = confidence for a standard normal Z."""
    # scipy.special's ndtri is what scipy.stats.norm.ppf evaluates, without
    # importing scipy.stats (half a second of every process's start-up)
    from scipy.special import ndtri

    return float(ndtri(0.5 + check_confidence(confidence) / 2.0))


def _scored(scores, low: float, high: float, what: str = "scores") -> np.ndarray:
    """The answered scores, checked to be whole numbers in ``low..high``."""
    values = answered(scores, what)
    if values.size == 0:
        raise ZeroDenominatorError(f"no {what} to count")
    off_scale = (values < low) | (values > high) | (values != np.floor(values))
    if off_scale.any():
        bad = values[off_scale][0]
        raise InvalidInputError(f"{what} must be whole numbers from {low:g} to {high:g}; got {bad:g}")
    return values


def _promoter_detractor_shares(scores) -> tuple[float, float, int]:
    values = _scored(scores, *NPS_SCALE)
    n = values.size
    return float(np.count_nonzero(values >= PROMOTER_MIN) / n), float(np.count_nonzero(values <= DETRACTOR_MAX) / n), n


def nps(scores) -> float:
    r"""Net Promoter Score in points, -100..100.

    .. math:: NPS = 100\,(p_P - p_D)

    with :math:`p_P` the share of promoters (9-10) and :math:`p_D` the share
    of detractors (0-6) among the answers; passives (7-8) count only in the
    denominator.

    Parameters
    ----------
    scores : array_like or pandas.Series
        Answers to "how likely are you to recommend us?", whole numbers
        0..10; missing answers are ignored.

    Raises
    ------
    InvalidInputError
        An answer outside 0..10 or not a whole number.
    ZeroDenominatorError
        No answers.

    References
    ----------
    Reichheld, F. F. (2003). The one number you need to grow. Harvard
    Business Review, 81(12), 46-54.

    Examples
    --------
    4 promoters, 3 passives and 3 detractors among 10 answers: 40 % - 30 %.

    >>> round(nps([10, 9, 9, 10, 8, 7, 7, 6, 0, 3]), 12)
    10.0
    """
    promoters, detractors, _ = _promoter_detractor_shares(scores)
    return 100.0 * (promoters - detractors)


def nps_interval(scores, confidence: float = 0.95) -> Interval:
    r"""NPS with its score confidence interval, in points; always within -100..100.

    Each answer is a draw from a trinomial: promoter, passive or detractor
    with probabilities :math:`(p_P, p_N, p_D)`, and NPS/100 is
    :math:`\delta = p_P - p_D`. The interval holds every :math:`\delta_0` that
    a score test does not reject (Rocks 2016's "iterative score" interval):

    .. math:: \frac{n\,(\hat\delta - \delta_0)^2}{\tilde p_P + \tilde p_D - \delta_0^2} \le z^2

    where :math:`\tilde p_P = \tilde p_D + \delta_0` and :math:`\tilde p_D`
    are the maximum-likelihood shares under :math:`\delta = \delta_0`, the
    root in :math:`[\max(0, -\delta_0), (1 - \delta_0)/2]` of

    .. math:: 2n\,q^2 - \left[n_P(1-\delta_0) + n_D(1-3\delta_0) - 2n_N\delta_0\right] q - n_D\,\delta_0(1-\delta_0) = 0

    (the closed form Tango 1998 gives for the same difference of two cells
    of a multinomial), and :math:`z` the standard normal quantile for
    ``confidence``. Unlike the Wald interval :math:`\hat\delta \pm z\,SE`,
    it never leaves -100..100 and keeps a width when every answer falls in one
    group (3 promoters of 3: about -12 to 100). The ends are found by
    bisection to about 1e-12 points.

    Coverage (exact, by enumerating every sample; ``tests/engine/test_survey.py``):
    at least 94 % for n = 20 and n = 200 on the grid of true shares
    :math:`p_P, p_D \in \{0.05, 0.10, \dots, 0.90\}`, :math:`p_P + p_D \le 0.95`;
    at n = 5, where NPS takes only 21 values, it dips to about 92 %.

    Parameters
    ----------
    scores : array_like or pandas.Series
        Whole numbers 0..10; missing answers are ignored.
    confidence : float, default 0.95
        Two-sided coverage, strictly between 0 and 1.

    References
    ----------
    Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The
    American Statistician, 70(4), 365-372 (section 3.3, the score interval).
    Tango, T. (1998). Equivalence test and confidence interval for the
    difference in proportions for the paired-sample design. Statistics in
    Medicine, 17(8), 891-908 (the restricted maximum-likelihood shares).

    Examples
    --------
    >>> ci = nps_interval([10, 9, 9, 10, 8, 7, 7, 6, 0, 3])
    >>> round(ci.estimate, 6), round(ci.lower, 2), round(ci.upper, 2), ci.n
    (10.0, -38.79, 54.02, 10)
    >>> ci = nps_interval([10, 9, 9])
    >>> round(ci.lower, 2), ci.upper
    (-12.3, 100.0)
    """
    z = _normal_quantile(confidence)
    values = _scored(scores, *NPS_SCALE)
    n = values.size
    promoters, detractors = np.count_nonzero(values >= PROMOTER_MIN), np.count_nonzero(values <= DETRACTOR_MAX)
    lower, upper = nps_score_bounds(promoters, detractors, n, z)
    return Interval(100.0 * float(promoters - detractors) / n, float(lower), float(upper), n, confidence)


def nps_score_bounds(promoters, detractors, n, z: float) -> tuple[np.ndarray, np.ndarray]:
    """The score interval of :func:`nps_interval` for counts, element-wise.

    ``promoters``, ``detractors`` and ``n`` (answers in all) broadcast
    against each other; ``z`` is the normal quantile (1.96 for 95 %).
    Returns (lower, upper) in NPS points, vectorised so that coverage can be
    checked over every possible sample at once.

    >>> lower, upper = nps_score_bounds([3, 0], [0, 0], 3, 1.959963984540054)
    >>> lower.round(2).tolist(), upper.round(2).tolist()
    ([-12.3, -56.15], [100.0, 56.15])
    """
    promoters, detractors, n = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (promoters, detractors, n)))
    passives = n - promoters - detractors
    estimate = (promoters - detractors) / n

    def excess(delta: np.ndarray) -> np.ndarray:
        """n (estimate - delta)^2 - z^2 Var(delta): > 0 where delta is rejected."""
        b = promoters * (1 - delta) + detractors * (1 - 3 * delta) - 2 * passives * delta
        c = detractors * delta * (1 - delta)
        q = (b + np.sqrt(np.maximum(b * b + 8 * n * c, 0.0))) / (4 * n)
        q = np.clip(q, np.maximum(0.0, -delta), (1 - delta) / 2)  # rounding only: the root lies in this range
        variance = np.maximum(2 * q + delta - delta * delta, 0.0)
        return n * (estimate - delta) ** 2 - z * z * variance

    ends = []
    for edge in (-1.0, 1.0):  # the statistic grows from 0 at the estimate to infinity at -1 and 1
        inside, outside = estimate.copy(), np.full_like(estimate, edge)
        with np.errstate(invalid="ignore", divide="ignore"):
            for _ in range(48):
                middle = (inside + outside) / 2
                rejected = excess(middle) > 0
                outside = np.where(rejected, middle, outside)
                inside = np.where(rejected, inside, middle)
        ends.append(100.0 * np.clip((inside + outside) / 2, -1.0, 1.0))
    return ends[0], ends[1]


def csat(scores, scale: int = 5, threshold: float | None = None) -> float:
    r"""Customer satisfaction: the share of answers at or above ``threshold``.

    .. math:: CSAT = \frac{\#\{s_i \ge threshold\}}{n}

    With the defaults this is the "top-2-box" share of a 1..5 scale (4 or 5).

    Parameters
    ----------
    scores : array_like or pandas.Series
        Whole numbers 1..``scale``; missing answers are ignored.
    scale : int, default 5
        Highest point of the scale (5 for 1..5, 10 for 1..10); at least 2.
    threshold : float, optional
        Lowest satisfied answer, 1..``scale``; default ``scale - 1``.

    Returns
    -------
    float
        A fraction 0..1 (0.8 = 80 % satisfied).

    Raises
    ------
    InvalidInputError
        An answer off the 1..scale scale.
    OutOfDomainError
        ``scale`` below 2 or not whole, or ``threshold`` outside 1..scale.
    ZeroDenominatorError
        No answers.

    References
    ----------
    American Customer Satisfaction Index; "top-2-box" scoring as in Farris
    et al., Marketing Metrics, 2nd ed. (2010), section 2.7.

    Examples
    --------
    >>> csat([5, 4, 4, 3, 1])
    0.6
    >>> csat([10, 8, 7, 9], scale=10, threshold=8)
    0.75
    """
    if scale != int(scale) or scale < 2:
        raise OutOfDomainError(f"scale must be a whole number of at least 2, got {scale:g}")
    threshold = scale - 1 if threshold is None else threshold
    if not 1 <= threshold <= scale:
        raise OutOfDomainError(f"threshold must lie between 1 and the scale's top {scale:g}, got {threshold:g}")
    values = _scored(scores, 1, scale)
    return float(np.count_nonzero(values >= threshold) / values.size)


def ces(scores, scale: int = CES_SCALE[1]) -> float:
    r"""Customer Effort Score: the mean answer.

    .. math:: CES = \frac{1}{n}\sum_i s_i

    On Gartner's CES 2.0 scale (1 = strongly disagree .. 7 = strongly agree
    that "the company made it easy to handle my issue") higher is better;
    on the older 1..5 effort scale lower is better, so say which one a report
    uses.

    Parameters
    ----------
    scores : array_like or pandas.Series
        Whole numbers 1..``scale``; missing answers are ignored.
    scale : int, default 7
        Highest point of the scale; 1..5 answers also fit the default.

    Raises
    ------
    InvalidInputError
        An answer off the scale.
    ZeroDenominatorError
        No answers.

    References
    ----------
    Dixon, M., Freeman, K. and Toman, N. (2010). Stop trying to delight your
    customers. Harvard Business Review, 88(7/8), 116-122.

    Examples
    --------
    >>> ces([7, 6, None, 5, 2])
    5.0
    """
    return float(np.mean(_scored(scores, 1, scale)))


def rate(successes, trials, confidence: float = 0.95) -> Interval:
    r"""A success rate with its Wilson score interval.

    For first-contact resolution (resolved on first contact / contacts),
    deflection (handled by automation / contacts) or conversion. With
    :math:`\hat p = s/n` and :math:`z` the normal quantile:

    .. math::

        \frac{\hat p + \frac{z^2}{2n}}{1 + \frac{z^2}{n}} \pm
        \frac{z}{1 + \frac{z^2}{n}}\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}

    Unlike the textbook Wald interval it stays inside 0..1 and keeps its
    coverage near 0 % or 100 % and for small ``n``.

    Parameters
    ----------
    successes : int
        Count of successes, 0..``trials``.
    trials : int
        Count of trials (contacts, sessions), > 0.
    confidence : float, default 0.95
        Two-sided coverage, strictly between 0 and 1.

    Raises
    ------
    InvalidInputError
        Counts that are negative, not whole, or successes above trials.
    ZeroDenominatorError
        No trials.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. JASA, 22(158), 209-212. Newcombe, R. G. (1998).
    Two-sided confidence intervals for the single proportion: comparison of
    seven methods. Statistics in Medicine, 17(8), 857-872 (method 3).

    Examples
    --------
    Newcombe's example: 81 of 263, 95 % interval 0.2553 to 0.3662.

    >>> r = rate(81, 263)
    >>> round(r.estimate, 4), round(r.lower, 4), round(r.upper, 4)
    (0.308, 0.2553, 0.3662)
    """
    z = _normal_quantile(confidence)
    s, n = float(successes), float(trials)
    if not (math.isfinite(s) and math.isfinite(n)) or not (s.is_integer() and n.is_integer()) or s < 0 or n < 0:
        raise InvalidInputError("successes and trials must be whole numbers of at least 0")
    if s > n:
        raise InvalidInputError(f"successes ({s:g}) cannot exceed trials ({n:g})")
    if n == 0:
        raise ZeroDenominatorError("no trials")
    p = s / n
    shrink = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / shrink
    half_width = z / shrink * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    # the clip only removes rounding error at p = 0 or 1, where the interval touches the bound
    return Interval(p, max(centre - half_width, 0.0), min(centre + half_width, 1.0), int(n), confidence)


fcr = rate  # first-contact resolution: resolved on first contact out of contacts
