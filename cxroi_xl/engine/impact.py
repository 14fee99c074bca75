"""Impact: did a metric move after go-live, or is it noise?

* :func:`uplift` compares a metric before and after go-live (Welch's
  unequal-variance t interval and test).
* :func:`did` subtracts the change a control group saw over the same
  period (difference-in-differences), which removes seasonality and market
  trends that hit both groups alike.
* :func:`verdict` turns a confidence interval of a change into the words a
  report uses.

Samples are array-likes or pandas Series of per-answer (or per-period)
values; missing values (NaN, ``None``) are ignored. Each group needs at
least two values for its variance (:class:`~cxroi_xl.errors.ZeroDenominatorError`
otherwise). Statistics that would divide by zero, such as the p-value when
no group varies at all, are returned as ``None``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import InvalidInputError, ZeroDenominatorError
from .survey import answered, check_confidence

__all__ = ["UpliftResult", "DiDResult", "uplift", "did", "verdict"]


def _group(values, what: str) -> tuple[float, float, int]:
    """Mean, variance of the mean (s^2/n, ddof=1) and size of one sample."""
    sample = answered(values, what)
    if sample.size < 2:
        raise ZeroDenominatorError(f"{what} needs at least two values to estimate its spread, got {sample.size}")
    return float(np.mean(sample)), float(np.var(sample, ddof=1) / sample.size), int(sample.size)


def _welch_inference(
    estimate: float, mean_variances: list[float], sizes: list[int], confidence: float
) -> tuple[float, float | None, float | None, float | None]:
    r"""Standard error, interval and two-sided p-value of a +/-1 contrast of
    independent group means, with Welch-Satterthwaite degrees of freedom:

    .. math:: SE^2 = \sum_g v_g, \quad \nu = \frac{(\sum_g v_g)^2}{\sum_g v_g^2 / (n_g - 1)}

    where :math:`v_g = s_g^2 / n_g`. With no spread in any group (SE = 0) the
    interval and p-value are undefined: ``None``.
    """
    # Student's t through scipy.special (what scipy.stats.t evaluates:
    # ppf = stdtrit, sf(x) = stdtr(df, -x)), without importing scipy.stats
    from scipy.special import stdtr, stdtrit

    confidence = check_confidence(confidence)
    v = np.asarray(mean_variances)
    total = float(v.sum())
    standard_error = math.sqrt(total)
    if total == 0.0:
        return standard_error, None, None, None
    dof = total**2 / float(np.sum(v**2 / (np.asarray(sizes) - 1.0)))
    quantile = float(stdtrit(dof, 0.5 + confidence / 2.0))
    p_value = float(2.0 * stdtr(dof, -abs(estimate) / standard_error))
    return standard_error, estimate - quantile * standard_error, estimate + quantile * standard_error, p_value


@dataclass(frozen=True)
class UpliftResult:
    """Before/after comparison of a metric's mean (see :func:`uplift`).

    ``change_pct`` is ``None`` when the baseline mean is zero; ``ci_lower``,
    ``ci_upper`` and ``p_value`` are ``None`` when neither sample varies.
    """

    baseline_mean: float
    post_mean: float
    change: float
    change_pct: float | None
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    n_baseline: int
    n_post: int
    confidence: float

    def rows(self) -> list[tuple[str, float | int | None]]:
        """The figures as ``(label, value)`` pairs, in report order."""
        return [
            ("Baseline mean", self.baseline_mean),
            ("Post mean", self.post_mean),
            ("Change", self.change),
            ("Change %", self.change_pct),
            ("CI lower", self.ci_lower),
            ("CI upper", self.ci_upper),
            ("p-value", self.p_value),
            ("N baseline", self.n_baseline),
            ("N post", self.n_post),
        ]


def uplift(baseline, post, confidence: float = 0.95) -> UpliftResult:
    r"""Change of a metric's mean after go-live, with Welch's t interval.

    .. math::

        \Delta = \bar y_{post} - \bar y_{base}, \qquad
        SE = \sqrt{\frac{s_{base}^2}{n_{base}} + \frac{s_{post}^2}{n_{post}}}

    The interval is :math:`\Delta \pm t_{\nu} SE` and the p-value that of
    Welch's two-sided t-test, with the Welch-Satterthwaite degrees of freedom

    .. math:: \nu = \frac{SE^4}{\frac{(s_{base}^2/n_{base})^2}{n_{base}-1} + \frac{(s_{post}^2/n_{post})^2}{n_{post}-1}}

    so the two periods may differ in size and spread. The answers are taken
    as independent; a before/after comparison alone cannot separate the
    automation's effect from anything else that changed at the same time
    (use :func:`did` with a control group for that).

    Parameters
    ----------
    baseline, post : array_like or pandas.Series
        The metric per answer (or per period) before and after go-live, in
        the metric's unit; at least two values each.
    confidence : float, default 0.95
        Two-sided coverage of the interval, strictly between 0 and 1.

    Returns
    -------
    UpliftResult
        Means, ``change`` (post - baseline), ``change_pct``
        (change / |baseline|, a fraction), the interval of the change, the
        p-value and both sample sizes.

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when
    several different population variances are involved. Biometrika, 34,
    28-35. Satterthwaite, F. E. (1946). An approximate distribution of
    estimates of variance components. Biometrics Bulletin, 2(6), 110-114.

    Examples
    --------
    Both samples have variance 1, so SE = sqrt(1/3 + 1/3) and the degrees
    of freedom are 4 (t = 2.7764):

    >>> r = uplift([3, 4, 5], [5, 6, 7])
    >>> r.change, r.change_pct, round(r.ci_lower, 3), round(r.ci_upper, 3), round(r.p_value, 4)
    (2.0, 0.5, -0.267, 4.267, 0.0705)
    """
    baseline_mean, baseline_var, n_baseline = _group(baseline, "baseline")
    post_mean, post_var, n_post = _group(post, "post")
    change = post_mean - baseline_mean
    _, lower, upper, p_value = _welch_inference(change, [baseline_var, post_var], [n_baseline, n_post], confidence)
    # relative to the baseline's size, so a rise from -10 to -5 is +50 %
    change_pct = change / abs(baseline_mean) if baseline_mean != 0 else None
    return UpliftResult(baseline_mean, post_mean, change, change_pct, lower, upper, p_value, n_baseline, n_post, confidence)


@dataclass(frozen=True)
class DiDResult:
    """Difference-in-differences of means (see :func:`did`).

    ``ci_lower``, ``ci_upper`` and ``p_value`` are ``None`` when no group
    varies.
    """

    estimate: float
    std_error: float
    ci_lower: float | None
    ci_upper: float | None
    p_value: float | None
    treated_change: float
    control_change: float
    confidence: float

    def rows(self) -> list[tuple[str, float | None]]:
        """The figures as ``(label, value)`` pairs, in report order."""
        return [
            ("Estimate", self.estimate),
            ("Std error", self.std_error),
            ("CI lower", self.ci_lower),
            ("CI upper", self.ci_upper),
            ("p-value", self.p_value),
        ]


def did(treated_before, treated_after, control_before, control_after, confidence: float = 0.95) -> DiDResult:
    r"""Difference-in-differences of means: the automation's effect net of
    the change a comparable untreated group saw over the same time.

    .. math::

        \hat\delta = (\bar y_{TA} - \bar y_{TB}) - (\bar y_{CA} - \bar y_{CB}), \qquad
        SE = \sqrt{\sum_{g \in \{TB, TA, CB, CA\}} \frac{s_g^2}{n_g}}

    with sample variances :math:`s_g^2` (ddof = 1) of four independent
    groups. This is the interaction coefficient of the OLS regression
    ``y ~ treated * after`` and its HC2 heteroskedasticity-robust standard
    error. The interval :math:`\hat\delta \pm t_\nu SE` and the two-sided
    p-value use Welch-Satterthwaite degrees of freedom
    :math:`\nu = SE^4 / \sum_g (s_g^2/n_g)^2/(n_g-1)`, as :func:`uplift` does.

    Use it when something besides the automation may have moved the metric
    between the two periods (season, prices, a product change): a control
    group (customers, channels or stores without the automation) measured
    over the same two periods absorbs that shared change. The estimate is
    valid under the parallel-trends assumption: without the automation the
    treated group would have changed as much as the control group did.

    Parameters
    ----------
    treated_before, treated_after, control_before, control_after : array_like or pandas.Series
        The metric per answer (or per period) in each group and period, at
        least two values each, in the metric's unit.
    confidence : float, default 0.95
        Two-sided coverage, strictly between 0 and 1.

    References
    ----------
    Angrist, J. D. and Pischke, J.-S. (2009). Mostly Harmless Econometrics,
    section 5.2. MacKinnon, J. G. and White, H. (1985). Some
    heteroskedasticity-consistent covariance matrix estimators with improved
    finite sample properties. Journal of Econometrics, 29, 305-325 (HC2).

    Examples
    --------
    The treated group rose by 3, the control group by 1: an effect of 2.

    >>> r = did([1, 3], [4, 6], [1, 3], [2, 4])
    >>> r.estimate, r.std_error, r.treated_change, r.control_change
    (2.0, 2.0, 3.0, 1.0)
    """
    treated_before_mean, *tb = _group(treated_before, "treated_before")
    treated_after_mean, *ta = _group(treated_after, "treated_after")
    control_before_mean, *cb = _group(control_before, "control_before")
    control_after_mean, *ca = _group(control_after, "control_after")
    treated_change = treated_after_mean - treated_before_mean
    control_change = control_after_mean - control_before_mean
    estimate = treated_change - control_change
    mean_variances, sizes = zip(tb, ta, cb, ca)
    standard_error, lower, upper, p_value = _welch_inference(estimate, list(mean_variances), list(sizes), confidence)
    return DiDResult(estimate, standard_error, lower, upper, p_value, treated_change, control_change, confidence)


Verdict = Literal["improved", "no clear change", "worse"]


def verdict(ci_lower: float, ci_upper: float, higher_is_better: bool = True) -> Verdict:
    """The words for a change whose confidence interval is ``ci_lower..ci_upper``.

    ``"improved"`` when the whole interval lies on the good side of zero,
    ``"worse"`` when it lies wholly on the bad side, ``"no clear change"``
    when it contains (or touches) zero: the data cannot tell the change from
    noise at the interval's confidence.

    Parameters
    ----------
    ci_lower, ci_upper : float
        Bounds of the interval of a change (e.g. ``UpliftResult.ci_lower``
        and ``ci_upper``), ``ci_lower <= ci_upper``.
    higher_is_better : bool, default True
        False for metrics where a fall is good: handling time, effort on the
        1..5 effort scale, cost per contact.

    Raises
    ------
    InvalidInputError
        A missing or non-finite bound, or ``ci_lower > ci_upper``.

    Examples
    --------
    >>> verdict(0.4, 2.1)
    'improved'
    >>> verdict(-3.0, -0.5, higher_is_better=False)
    'improved'
    >>> verdict(-0.2, 1.5)
    'no clear change'
    """
    if ci_lower is None or ci_upper is None or not (math.isfinite(ci_lower) and math.isfinite(ci_upper)):
        raise InvalidInputError("the interval's bounds must be finite numbers")
    if ci_lower > ci_upper:
        raise InvalidInputError(f"the lower bound ({ci_lower:g}) exceeds the upper bound ({ci_upper:g})")
    if ci_lower > 0:
        return "improved" if higher_is_better else "worse"
    if ci_upper < 0:
        return "worse" if higher_is_better else "improved"
    return "no clear change"
