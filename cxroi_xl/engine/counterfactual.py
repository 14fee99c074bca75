r"""Counterfactual baselines: what a monthly driver would have done without
the automation.

A driver (churn, win rate, agent hours, active customers, revenue) is
tracked month by month. The months before go-live are the *baseline*; the
go-live month and those after it are the *post* months. Every fit here

1. builds one design matrix (:func:`design_matrix`) whose terms grow with
   the baseline: level and trend from 12 months, an annual season from 18,
   month-of-year effects from 36, plus any control series;
2. fits it to the baseline months only;
3. forecasts the post months out of sample: the *counterfactual*;
4. compares the forecast with what happened and summarises the effect over
   the post months (:class:`EffectSummary`): its average, a prediction
   interval of that average, a one-sided p-value and a verdict.

:func:`rate_counterfactual` (quasi-binomial logit GLM: churn, win rate) and
:func:`linear_counterfactual` (OLS: agent hours, active customers, revenue)
are plain numpy and cost well under a millisecond per business;
:func:`sts_counterfactual` is an opt-in structural time-series model
(statsmodels) for baselines of three years or more.

Data too short for a model is answered, not refused: the fit returns a
:class:`Counterfactual` with ``estimable`` False, NaN numbers and a one-line
``reason`` (:func:`sufficiency` prints the rule for a sheet). Malformed input
(negative counts, missing values, ranges of different lengths) raises a
subclass of ``ValueError`` from :mod:`cxroi_xl.errors`.

**Interval of the average effect.** With :math:`H` post months, the effect
of month :math:`t` is :math:`d_t = y_t - \hat\mu_t`, and

.. math::

    \bar d = \frac{1}{H}\sum_t d_t, \qquad
    \operatorname{Var}(\bar d) = \frac{1}{H^2}\,
        \mathbf 1'\left(J\Sigma J' + V - JC - C'J'\right)\mathbf 1

where :math:`J` is the Jacobian of the post-month expectations with
respect to the coefficients, :math:`\Sigma` their covariance, :math:`V` the
covariance of the months' own noise and :math:`C` the covariance of the
coefficients with that noise (zero unless the residuals are autocorrelated,
see below). The interval is :math:`\bar d \pm t_{\nu} \sqrt{\operatorname{Var}}`
with :math:`\nu = n_b - p` residual degrees of freedom; it is never the
average of the monthly bounds, which would ignore that every month shares
the same estimated coefficients.

**Autocorrelated residuals.** Monthly residuals are often positively
autocorrelated (a backlog carries over, a busy quarter). Taking them as
independent understates the uncertainty of a trend extrapolated a year
ahead several-fold, and noise passes for a demonstrated effect: with
AR(1) residuals of :math:`\rho = 0.5` one business in eight or nine
without any effect would be "demonstrated" instead of one in forty. The linear and rate fits
(``autocorrelation="ar1"``, the default) therefore allow for AR(1)
residuals, :math:`\operatorname{Corr}(\varepsilon_s, \varepsilon_t) =
\rho^{|s-t|}` across all months:

* given :math:`\rho`, the scale is the marginal variance
  :math:`RSS/\operatorname{tr}(MR_\rho)` (:math:`M` the baseline fit's
  residual maker; :math:`RSS/(n_b-p)` at :math:`\rho = 0`), :math:`\Sigma`
  the sandwich :math:`s^2 (X'X)^{-1}X'R_\rho X(X'X)^{-1}`, :math:`V =
  s^2 R_\rho` over the post months and :math:`C` the covariance of the
  coefficients with the post months' noise (weighted by
  :math:`W^{1/2}` for a rate);
* :math:`\rho` itself is not plugged in: 12 to 36 residuals say too little
  about it, and the variance grows so steeply with :math:`\rho` that an
  estimate which is low half of the time lets too much noise through.
  Instead :math:`\Sigma`, :math:`C` and :math:`V` are averaged over the
  posterior of :math:`\rho` on a grid over [-0.9, 0.9] (uniform prior,
  restricted likelihood of the residuals with the coefficients and scale
  integrated out). The likelihood uses the post months too, with their
  own level and slope free, so a go-live effect is not mistaken for
  autocorrelation; the coefficients are still fitted on the baseline
  months only.

``Counterfactual.rho`` is the posterior mean of :math:`\rho`.
``autocorrelation="none"`` gives the textbook independent-errors formulas
(those of statsmodels' OLS and GLM).

References
----------
Brodersen, K. H., Gallusser, F., Koehler, J., Remy, N. and Scott, S. L.
(2015). Inferring causal impact using Bayesian structural time-series
models. Annals of Applied Statistics, 9(1), 247-274.
McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models, 2nd ed.,
Chapman & Hall: sections 2.5 (IRLS) and 4.5 (overdispersion, quasi-likelihood).
Hyndman, R. J. and Athanasopoulos, G. (2021). Forecasting: Principles and
Practice, 3rd ed., OTexts: chapter 7 (regression forecasts and prediction
intervals).
Prais, S. J. and Winsten, C. B. (1954). Trend estimators and serial
correlation. Cowles Commission Discussion Paper 383. Harville, D. A.
(1974). Bayesian inference for variance components using only error
contrasts. Biometrika, 61(2), 383-385 (the restricted likelihood).
Wagner, A. K., Soumerai, S. B., Zhang, F. and Ross-Degnan, D. (2002).
Segmented regression analysis of interrupted time series studies.
Journal of Clinical Pharmacy and Therapeutics, 27, 299-309.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

# scipy.special and scipy.stats are imported by the functions that use them:
# a command that fits no model (``generate`` until it reads its input,
# ``eval`` of a finance function) does not pay their start-up.

__all__ = [
    "Counterfactual",
    "EffectSummary",
    "Sufficiency",
    "design_matrix",
    "rate_counterfactual",
    "linear_counterfactual",
    "sts_counterfactual",
    "logit_irls_step",
    "sufficiency",
    "MIN_BASELINE_MONTHS",
    "ANNUAL_SEASON_MONTHS",
    "MONTH_EFFECTS_MONTHS",
    "MIN_RESIDUAL_DOF",
    "MIN_PROJECTION_MONTHS",
    "STS_MIN_BASELINE_MONTHS",
]

Good = Literal["down", "up"]
Verdict = Literal["demonstrated", "adverse", "not demonstrated", "not estimable"]

MIN_BASELINE_MONTHS = 12  # level and trend: a trend from fewer months is a guess
ANNUAL_SEASON_MONTHS = 18  # one sine/cosine pair: needs a season and a half
MONTH_EFFECTS_MONTHS = 36  # 11 month dummies: three of each month
MIN_RESIDUAL_DOF = 3  # below this the t quantile (12.7 at 1 dof) makes any interval useless
MIN_PROJECTION_MONTHS = 6  # post months before anything is projected past them
STS_MIN_BASELINE_MONTHS = 36
IRLS_MAX_ITERATIONS = 50
RHO_MAX = 0.9  # the grid's edge: on 12-36 months a larger rho cannot be told from a random walk
_RHO_GRID = np.linspace(-RHO_MAX, RHO_MAX, 37)  # steps of 0.05; includes 0
_SEPARATION = 1e-10  # a fitted baseline rate this close to 0 or 1 means a term separates the data


# ---- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffectSummary:
    """The effect over the post months of a :class:`Counterfactual`.

    Attributes
    ----------
    average : float
        Mean over the post months of actual - expected, in the driver's unit
        (a rate as a fraction for :func:`rate_counterfactual`).
    cumulative : float
        Sum over the post months of actual - expected (``average * horizon``).
    relative : float
        ``average`` / mean expected post value, a fraction (NaN if that mean is 0).
    std_error : float
        Standard error of ``average`` (square root of the variance in the
        module docstring).
    lower, upper : float
        Prediction interval of ``average`` at ``confidence``.
    cumulative_lower, cumulative_upper : float
        The same interval for ``cumulative`` (``horizon`` times the bounds).
    p_value : float
        One-sided, in the direction of ``good``: the probability of an
        average effect at least this good if the automation had no effect.
    verdict : str
        ``"demonstrated"`` when the whole interval lies on the good side of
        zero, ``"adverse"`` when it lies wholly on the bad side, ``"not
        demonstrated"`` when it contains (or touches) zero, ``"not
        estimable"`` when the baseline cannot support a model.
    horizon : int
        Number of post months H.
    confidence : float
        Two-sided coverage of the intervals.
    good : str
        ``"down"`` (a fall is good: churn, hours) or ``"up"`` (win rate, revenue).
    """

    average: float
    cumulative: float
    relative: float
    std_error: float
    lower: float
    upper: float
    cumulative_lower: float
    cumulative_upper: float
    p_value: float
    verdict: Verdict
    horizon: int
    confidence: float
    good: Good

    def rows(self) -> list[tuple[str, float | int | str]]:
        """The figures as ``(label, value)`` pairs, in report order."""
        return [
            ("Average effect", self.average),
            ("Cumulative effect", self.cumulative),
            ("Relative effect", self.relative),
            ("Std error", self.std_error),
            ("CI lower", self.lower),
            ("CI upper", self.upper),
            ("p-value (one-sided)", self.p_value),
            ("Verdict", self.verdict),
            ("Post months", self.horizon),
        ]


@dataclass(frozen=True, eq=False)
class _Sampler:
    """What :meth:`Counterfactual.draws` needs: the post months' expectation,
    its Jacobian and the joint covariance of (coefficient error, month noise)."""

    expected_post: np.ndarray  # (H,)
    jac_post: np.ndarray  # (H, p); (H, 0) for a structural model
    joint_cov: np.ndarray  # (p + H, p + H): [[Sigma, C], [C', V]]
    dof: float

    def paths(self, n: int, rng: np.random.Generator) -> np.ndarray:
        p = self.jac_post.shape[1]
        values, vectors = np.linalg.eigh(self.joint_cov)
        # eigh rather than Cholesky: rounding can leave the joint matrix a
        # hair short of positive definite
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        z = rng.standard_normal((n, factor.shape[0])) @ factor.T
        if math.isfinite(self.dof):
            # one chi-square per path for coefficients and noise together: both
            # scale with the same estimated dispersion, so the average effect
            # is exactly Student-t with dof degrees of freedom
            z *= np.sqrt(self.dof / rng.chisquare(self.dof, size=n))[:, None]
        error_beta, noise = z[:, :p], z[:, p:]
        # the estimate errs by error_beta, so the unknown expectation is
        # expected - J error_beta (linear in the error: the delta method of the interval)
        return self.expected_post - error_beta @ self.jac_post.T + noise


@dataclass(frozen=True, eq=False)
class Counterfactual:
    """A counterfactual baseline fitted on the baseline months and
    forecast over the post months (see :func:`rate_counterfactual`,
    :func:`linear_counterfactual`, :func:`sts_counterfactual`).

    Arrays cover all ``n_total`` months, baseline first. When ``estimable``
    is False every number is NaN (``actual`` excepted), ``beta`` and ``cov``
    are empty and ``reason`` says why.

    Attributes
    ----------
    kind : str
        ``"rate"``, ``"linear"`` or ``"sts"``.
    expected : ndarray, shape (n_total,)
        Fitted values on the baseline months, out-of-sample forecast on the
        post months (a rate as a fraction for ``kind="rate"``).
    lower, upper : ndarray, shape (n_total,)
        Per-month prediction interval at ``confidence``: coefficient
        uncertainty plus the month's own noise (rates clipped to 0..1).
    actual : ndarray, shape (n_total,)
        The observed value (events / exposure for a rate).
    exposure : ndarray or None
        The denominators of a rate, None otherwise.
    n_baseline : int
        Number of baseline months n_b.
    terms : tuple of str
        Names of the design matrix's columns (``beta`` in the same order);
        for ``kind="sts"`` the names of the estimated variances.
    beta : ndarray, shape (p,)
        Fitted coefficients (logit scale for a rate).
    cov : ndarray, shape (p, p)
        Their covariance Sigma (with ``autocorrelation="ar1"``, averaged over
        the AR(1) posterior: see the module docstring).
    scale : float
        Dispersion phi of a rate (floored at 1), the residual variance s^2
        of a linear fit (with ``"ar1"``: the posterior mean of the marginal
        variance), the irregular
        variance of a structural model.
    dof : float
        Residual degrees of freedom n_b - p of the t quantiles (``inf`` for
        a structural model: normal quantiles).
    rho : float
        Lag-1 autocorrelation used for the residuals (0 when none was found
        or ``autocorrelation="none"``; NaN for a structural model, whose
        states carry the dynamics).
    good : str
        ``"down"`` or ``"up"``: which direction of the effect is good.
    confidence : float
        Two-sided coverage of every interval.
    estimable : bool
        False when the baseline cannot support the model.
    reason : str
        Why not estimable (one line); empty when estimable.
    effect : EffectSummary
        The effect over the post months.
    """

    kind: str
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    actual: np.ndarray
    exposure: np.ndarray | None
    n_baseline: int
    terms: tuple[str, ...]
    beta: np.ndarray
    cov: np.ndarray
    scale: float
    dof: float
    rho: float
    good: Good
    confidence: float
    estimable: bool
    reason: str
    effect: EffectSummary
    _sampler: _Sampler | None = field(default=None, repr=False)

    @property
    def n_total(self) -> int:
        """Number of months, baseline and post."""
        return int(self.actual.size)

    @property
    def horizon(self) -> int:
        """Number of post months H."""
        return self.n_total - self.n_baseline

    @property
    def monthly_effect(self) -> np.ndarray:
        """actual - expected over the post months, shape (H,)."""
        return self.actual[self.n_baseline :] - self.expected[self.n_baseline :]

    def draws(self, n: int, rng=None) -> np.ndarray:
        r"""Simulated counterfactual post-month paths, shape (n, H).

        Each path draws the coefficients from their multivariate t
        (``dof``, ``cov``) together with the months' noise (normal with the
        residual or binomial variance, AR(1)-correlated with ``"ar1"``),
        scaled by one common :math:`\sqrt{\nu/\chi^2_\nu}` per path: the
        correlations between months are kept, and
        ``actual[post] - draws`` are draws of the monthly effects whose
        average has the Student-t distribution behind
        :attr:`EffectSummary.lower` and ``upper`` (variance
        ``std_error**2 * dof / (dof - 2)``). A path is linear in the
        coefficients' error, :math:`\hat\mu_{post} - J(\beta^* - \hat\beta)`
        plus noise, as the interval is: for a rate this is the delta method
        on the rate scale (drawing :math:`\operatorname{expit}(X\beta^*)`
        instead would skew the draws away from the interval by the logit's
        curvature, a few % of its width on a few thousand customers).
        A structural model's paths are normal with the joint forecast
        covariance. NaN when not estimable.

        Parameters
        ----------
        n : int
            Number of paths.
        rng : numpy.random.Generator, int or None
            Generator or seed (``numpy.random.default_rng`` accepts either).

        Returns
        -------
        ndarray, shape (n, H)
            In the unit of ``expected`` (a rate as a fraction).

        Examples
        --------
        >>> t = np.arange(18)
        >>> hours = 500 + 2 * t + np.resize([4.0, -4.0, 2.0, -2.0], 18)
        >>> cf = linear_counterfactual(hours, 12, month_of_year=1)
        >>> cf.draws(4000, rng=1).shape
        (4000, 6)
        >>> d = cf.effect_draws(100_000, rng=1)   # Student-t around the average effect
        >>> bool(abs(np.quantile(d, 0.975) - cf.effect.upper) < 0.03 * (cf.effect.upper - cf.effect.lower))
        True
        """
        n = _count(n, "n")
        if self._sampler is None:
            return np.full((n, self.horizon), np.nan)
        return self._sampler.paths(n, np.random.default_rng(rng))

    def effect_draws(self, n: int, rng=None) -> np.ndarray:
        """Draws of the average effect, shape (n,): the mean over the post
        months of ``actual - draws(n, rng)`` (same ``rng``, same paths); their
        2.5% and 97.5% quantiles are ``effect.lower`` and ``effect.upper``
        at 95%. See :meth:`draws`."""
        paths = self.draws(n, rng)
        return np.mean(self.actual[self.n_baseline :] - paths, axis=1)

    def rows(self) -> list[tuple[str, float | int | str]]:
        """The effect's figures as ``(label, value)`` pairs, in report order."""
        return self.effect.rows()


@dataclass(frozen=True)
class Sufficiency:
    """What a baseline of given length supports (see :func:`sufficiency`).

    Attributes
    ----------
    estimable : bool
        An effect can be estimated.
    projectable : bool
        Enough post months to project the effect past the tracked months.
    model : str
        The terms the fit would use, in words.
    rule : str
        The rule, as a sheet prints it.
    """

    estimable: bool
    projectable: bool
    model: str
    rule: str


# ---- input checks ---------------------------------------------------------------------------


def _count(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InvalidInputError(f"{what} must be a whole number, got {value!r}")
    if value < 0:
        raise InvalidInputError(f"{what} must not be negative, got {value}")
    return int(value)


def _confidence(confidence) -> float:
    try:
        confidence = float(confidence)
    except (TypeError, ValueError):
        raise InvalidInputError(f"confidence must be a number, got {confidence!r}") from None
    if not 0.0 < confidence < 1.0:
        raise OutOfDomainError(f"confidence must lie strictly between 0 and 1, got {confidence:g}")
    return confidence


def _good(good) -> Good:
    if good not in ("down", "up"):
        raise InvalidInputError(f'good must be "down" (a fall is good) or "up", got {good!r}')
    return good


def _series(values, what: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be numbers, one per month") from None
    if array.ndim != 1:
        raise InvalidInputError(f"{what} must be one value per month (a single series), got shape {array.shape}")
    if array.size == 0:
        raise InvalidInputError(f"{what} has no months")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise InvalidInputError(f"{what} has a missing or non-finite value in month {bad[0] + 1}")
    return array


def _n_baseline(n_baseline, n_total: int) -> int:
    n_b = _count(n_baseline, "n_baseline")
    if n_b >= n_total:
        raise InvalidInputError(
            f"no post months: n_baseline ({n_b}) must be less than the number of months ({n_total}); "
            "the go-live month is the first post month"
        )
    return n_b


def _months(month_of_year, n_total: int) -> np.ndarray:
    """Calendar month (1..12) of every month; a single number is the first month's."""
    try:
        months = np.asarray(month_of_year, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError("month_of_year must be calendar months 1..12") from None
    if months.ndim == 0:
        if not (np.isfinite(months) and 1 <= months <= 12 and months == np.floor(months)):
            raise InvalidInputError(f"month_of_year must be a whole calendar month 1..12, got {month_of_year!r}")
        months = (months - 1 + np.arange(n_total)) % 12 + 1
    if months.ndim != 1 or months.size != n_total:
        raise InvalidInputError(f"month_of_year needs one month per value ({n_total} values, {months.size} months)")
    if not np.all(np.isfinite(months)) or np.any((months < 1) | (months > 12) | (months != np.floor(months))):
        raise InvalidInputError("month_of_year must be whole calendar months 1..12")
    months = months.astype(int)
    gaps = np.flatnonzero(months[1:] != months[:-1] % 12 + 1)
    if gaps.size:
        i = gaps[0]
        # the trend counts months, so a skipped or repeated month would shift it
        raise InvalidInputError(
            f"months must be consecutive: month {i + 2} is {months[i + 1]} after {months[i]}"
        )
    return months


def _columns(values, n_total: int, what: str) -> tuple[np.ndarray | None, list[str]]:
    """A (n_total, k) block of extra regressors and their names."""
    if values is None:
        return None, []
    names = None
    if hasattr(values, "columns"):  # pandas DataFrame: keep the user's names
        names = [str(c) for c in values.columns]
    elif getattr(values, "name", None) is not None and np.ndim(values) == 1:  # named Series
        names = [str(values.name)]
    try:
        block = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be numbers") from None
    if block.ndim == 1:
        block = block[:, None]
    if block.ndim != 2 or block.shape[0] != n_total:
        raise InvalidInputError(f"{what} needs one row per month ({n_total} months, shape {block.shape})")
    if block.shape[1] == 0:
        return None, []
    bad = np.argwhere(~np.isfinite(block))
    if bad.size:
        raise InvalidInputError(f"{what} has a missing or non-finite value in month {bad[0, 0] + 1}")
    if names is None:
        singular = what[:-1] if what.endswith("s") else what
        names = [f"{singular}_{j + 1}" for j in range(block.shape[1])]
    return block, names


# ---- design matrix --------------------------------------------------------------------------


def _terms(n_b: int, n_total: int, months: np.ndarray, controls, control_names, regressors, regressor_names):
    """Design matrix, term names and the reason it is not estimable ('' if it is)."""
    has_controls = controls is not None
    if n_b == 0:
        return None, [], "no baseline months before go-live"
    if n_b < MIN_BASELINE_MONTHS and not has_controls:
        return None, [], (
            f"{n_b} baseline months: at least {MIN_BASELINE_MONTHS} are needed (or a control series)"
        )
    columns, names = [np.ones(n_total)], ["intercept"]
    if n_b >= MIN_BASELINE_MONTHS:
        # centred on the baseline's middle month: intercept = baseline level, and
        # the intercept and slope estimates are uncorrelated (better conditioned)
        columns.append(np.arange(n_total) - (n_b - 1) / 2.0)
        names.append("trend")
        if n_b >= MONTH_EFFECTS_MONTHS:
            for m in range(2, 13):  # January is the reference month
                columns.append((months == m).astype(float))
                names.append(f"month_{m}")
        elif n_b >= ANNUAL_SEASON_MONTHS:
            angle = 2.0 * np.pi * months / 12.0
            columns += [np.sin(angle), np.cos(angle)]
            names += ["annual_sin", "annual_cos"]
    for block, block_names in ((regressors, regressor_names), (controls, control_names)):
        if block is not None:
            columns += list(block.T)
            names += block_names
    x = np.column_stack(columns)
    p = x.shape[1]
    if n_b - p < MIN_RESIDUAL_DOF:
        return x, names, (
            f"{n_b} baseline months leave {n_b - p} residual degrees of freedom for {p} terms; "
            f"at least {MIN_RESIDUAL_DOF} are needed"
        )
    return x, names, ""


def design_matrix(n_baseline: int, n_total: int, month_of_year, controls=None, regressors=None):
    r"""The design matrix every counterfactual fit uses, and its term names.

    Rows are all ``n_total`` months, the ``n_baseline`` baseline months
    first. With :math:`t = 0, \dots, n_{total}-1` centred on the baseline,
    :math:`\tau_t = t - (n_b - 1)/2`, and :math:`m_t` the calendar month,
    the terms grow with the baseline length :math:`n_b`:

    ==============  ===========================================================
    :math:`n_b`     terms
    ==============  ===========================================================
    < 12            none (not estimable) unless there are controls: then
                    intercept + controls, no trend
    12 .. 17        intercept, trend :math:`\tau_t`
    18 .. 35        + :math:`\sin(2\pi m_t/12)`, :math:`\cos(2\pi m_t/12)`
    >= 36           + 11 month-of-year dummies (months 2..12; January is the
                    reference) instead of the sine/cosine pair
    ==============  ===========================================================

    followed by the ``regressors`` (drivers such as the month's contacts,
    at any length) and the ``controls`` (series untouched by the
    automation, e.g. an untreated region's churn). The model is not
    estimable either when :math:`n_b - p < 3` for :math:`p` columns.

    Parameters
    ----------
    n_baseline : int
        Months before go-live.
    n_total : int
        All months, baseline and post.
    month_of_year : int or array_like of int
        Calendar month (1..12) of each month, consecutive; a single number is
        the first month's.
    controls, regressors : array_like, shape (n_total,) or (n_total, k), optional
        Extra columns; a pandas DataFrame or named Series names them.

    Returns
    -------
    X : ndarray, shape (n_total, p)
    term_names : list of str

    Raises
    ------
    OutOfDomainError
        The baseline cannot support the model (the fits return a not
        estimable result instead).
    InvalidInputError
        Malformed months, controls or counts.

    Examples
    --------
    Fourteen baseline months starting in November, two post months:

    >>> X, names = design_matrix(14, 16, month_of_year=11)
    >>> names
    ['intercept', 'trend']
    >>> X[[0, 13, 15]]
    array([[ 1. , -6.5],
           [ 1. ,  6.5],
           [ 1. ,  8.5]])
    >>> design_matrix(24, 30, 1)[1]
    ['intercept', 'trend', 'annual_sin', 'annual_cos']
    >>> len(design_matrix(36, 40, 1)[1])
    13
    """
    n_total = _count(n_total, "n_total")
    n_b = _n_baseline(n_baseline, n_total)
    months = _months(month_of_year, n_total)
    controls, control_names = _columns(controls, n_total, "controls")
    regressors, regressor_names = _columns(regressors, n_total, "regressors")
    x, names, reason = _terms(n_b, n_total, months, controls, control_names, regressors, regressor_names)
    if reason:
        raise OutOfDomainError(f"not estimable: {reason}")
    return x, names


# ---- numerical core -------------------------------------------------------------------------


def _least_squares(xw: np.ndarray, z: np.ndarray):
    """Coefficients of z on the columns of xw and (xw'xw)^-1, or None when
    the columns are collinear.

    Columns are scaled to unit length first so that the rank test does not
    depend on units (contacts in thousands next to an intercept of 1)."""
    norms = np.sqrt(np.einsum("ij,ij->j", xw, xw))
    if np.any(norms == 0.0):
        return None
    u, s, vt = np.linalg.svd(xw / norms, full_matrices=False)
    if s[-1] <= s[0] * 1e-10:
        return None
    coef = (vt.T @ ((u.T @ z) / s)) / norms
    inverse = ((vt.T / s**2) @ vt) / np.outer(norms, norms)
    return coef, inverse


def logit_irls_step(X, events, exposure, beta) -> np.ndarray:
    r"""One iteratively reweighted least-squares (Newton) step of a binomial
    logit GLM.

    With :math:`\eta = X\beta`, :math:`\mu = \operatorname{expit}(\eta)`,
    weights :math:`w = n\,\mu(1-\mu)` and working response
    :math:`z = \eta + (y - n\mu)/w`,

    .. math:: \beta_{new} = (X'WX)^{-1} X'Wz

    Parameters
    ----------
    X : array_like, shape (n, p)
        Design matrix.
    events, exposure : array_like, shape (n,)
        Event counts y (e.g. customers who churned) and their denominators
        n (customers active at the month's start).
    beta : array_like, shape (p,)
        Current coefficients (logit scale).

    Returns
    -------
    ndarray, shape (p,)

    Raises
    ------
    OutOfDomainError
        Collinear columns or zero weights: no unique step.

    References
    ----------
    McCullagh, P. and Nelder, J. A. (1989). Generalized Linear Models,
    section 2.5.

    Examples
    --------
    From the pooled rate 10/100 an intercept-only model is already at its
    maximum, so the step stays put:

    >>> float(logit_irls_step([[1.0], [1.0]], [4, 6], [50, 50], [np.log(0.1 / 0.9)])[0])
    -2.1972245...
    """
    from scipy import special

    X = np.asarray(X, dtype=float)
    events = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    beta = np.asarray(beta, dtype=float)
    eta = X @ beta
    mu = special.expit(eta)
    w = exposure * mu * (1.0 - mu)
    if np.any(w <= 0.0):
        raise OutOfDomainError("a month has zero weight (no exposure, or a fitted rate of 0 or 1)")
    z = eta + (events - exposure * mu) / w
    sw = np.sqrt(w)
    solved = _least_squares(X * sw[:, None], sw * z)
    if solved is None:
        raise OutOfDomainError("the design's columns are collinear: no unique IRLS step")
    return solved[0]


def _irls(x: np.ndarray, y: np.ndarray, n: np.ndarray):
    """Converged logit coefficients (intercept first), or (None, reason)."""
    from scipy import special

    collinear = "the baseline cannot separate the model's terms (collinear columns)"
    norms = np.sqrt(np.einsum("ij,ij->j", x, x))
    if np.any(norms == 0.0):
        return None, collinear
    xs = x / norms  # unit columns: the normal equations stay well conditioned whatever the units
    beta = np.zeros(x.shape[1])
    beta[0] = special.logit(y.sum() / n.sum()) * norms[0]  # the pooled rate: the optimum of a flat series
    eta = xs @ beta
    for _ in range(IRLS_MAX_ITERATIONS):
        mu = special.expit(eta)
        w = n * mu * (1.0 - mu)
        if np.any(w <= 0.0):
            break
        z = eta + (y - n * mu) / w
        xw = xs * w[:, None]
        try:
            beta = np.linalg.solve(xw.T @ xs, xw.T @ z)
        except np.linalg.LinAlgError:
            return None, collinear
        eta_new = xs @ beta
        if not np.all(np.isfinite(eta_new)):
            return None, collinear
        # Newton converges quadratically: a linear predictor that moves by
        # less than 1e-10 has converged to machine precision
        change = float(np.max(np.abs(eta_new - eta)))
        eta = eta_new
        if change < 1e-10:
            break
    else:
        mu = special.expit(eta)
        if not (np.any(mu < _SEPARATION) or np.any(mu > 1.0 - _SEPARATION)):
            return None, f"the fit did not converge in {IRLS_MAX_ITERATIONS} iterations"
    mu = special.expit(eta)
    if np.any(mu < _SEPARATION) or np.any(mu > 1.0 - _SEPARATION):
        return None, "a term separates the baseline months (fitted rates of 0 or 1, e.g. a month with no events)"
    return beta / norms, ""


@lru_cache(maxsize=16)
def _lags(n: int) -> np.ndarray:
    """|s - t| for s, t < n, read-only (cached: a batch has few lengths)."""
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    lags.setflags(write=False)
    return lags


@lru_cache(maxsize=16)
def _ar1_correlations(n: int) -> np.ndarray:
    """rho^|s-t| over n months for every rho of the grid, flattened to
    shape (grid, n * n), read-only."""
    stack = (_RHO_GRID[:, None] ** np.arange(n))[:, _lags(n).ravel()]
    stack.setflags(write=False)
    return stack


def _rho_weights(x: np.ndarray, resid: np.ndarray) -> np.ndarray:
    r"""Posterior weights of the AR(1) coefficients of the grid.

    The restricted (REML) likelihood of :math:`\rho` for residuals
    :math:`r` of the design :math:`X`, the coefficients and the scale
    integrated out (flat and :math:`1/\sigma^2` priors), times a uniform
    prior on the grid:

    .. math:: L(\rho) \propto |R_\rho|^{-1/2}\,|X'R_\rho^{-1}X|^{-1/2}\,Q_\rho^{-(n-p)/2}

    with :math:`Q_\rho` the GLS residual sum of squares, computed through
    the Prais-Winsten transform (one batch over the grid)."""
    n, p = x.shape
    rho = _RHO_GRID
    first = np.sqrt(1.0 - rho**2)
    xt = np.empty((rho.size, n, p))
    xt[:, 0] = first[:, None] * x[0]
    xt[:, 1:] = x[1:] - rho[:, None, None] * x[:-1]
    rt = np.empty((rho.size, n, 1))
    rt[:, 0, 0] = first * resid[0]
    rt[:, 1:, 0] = resid[1:] - rho[:, None] * resid[:-1]
    xtt = xt.transpose(0, 2, 1)
    xtx = xtt @ xt
    xtr = xtt @ rt
    sign, logdet = np.linalg.slogdet(xtx)
    try:
        fitted = (xtr.transpose(0, 2, 1) @ np.linalg.solve(xtx, xtr))[:, 0, 0]
    except np.linalg.LinAlgError:
        fitted = np.full(rho.size, np.nan)
    q = (rt.transpose(0, 2, 1) @ rt)[:, 0, 0] - fitted
    # |R| = (1-rho^2)^(n-1), X'R^-1 X = xtx/(1-rho^2), Q = q/(1-rho^2): the
    # powers of (1-rho^2) collect to (1-rho^2)^(+1/2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lik = -0.5 * (-np.log(1.0 - rho**2) + logdet + (n - p) * np.log(q))
    log_lik = np.where(np.isfinite(log_lik) & (sign > 0) & (q > 0), log_lik, -np.inf)
    if not np.isfinite(log_lik.max()):
        return (rho == 0.0).astype(float)  # nothing to learn (an exact fit): independence
    weights = np.exp(log_lik - log_lik.max())
    return weights / weights.sum()


@dataclass(frozen=True)
class _Inference:
    rho: float
    scale: float
    sigma: np.ndarray  # (p, p)
    cross: np.ndarray  # (p, H): Cov(coefficient error, post noise)
    noise: np.ndarray  # (H, H)


def _inference(xw_b, resid, inverse, xw_p, resid_p, post_sd, floor: float, autocorrelation: str) -> _Inference:
    """Scale, coefficient covariance and post-month noise covariance.

    ``xw_b``, ``xw_p``: the (weighted) design of the baseline and post
    months; ``resid``, ``resid_p``: their standardised (Pearson) residuals
    from the baseline fit, whose variance is the scale; ``post_sd``: the
    post months' noise standard deviation per unit scale."""
    n_b, p = xw_b.shape
    h = post_sd.size
    rss = float(resid @ resid)
    if autocorrelation == "none":
        scale = max(rss / (n_b - p), floor)
        return _Inference(0.0, scale, scale * inverse, np.zeros((p, h)), np.diag(scale * post_sd**2))
    # The post months double what the data say about rho (the baseline alone
    # is 12 months at worst). Their own level and slope enter the likelihood
    # as free terms, so a go-live effect, immediate or ramping up, is not
    # taken for autocorrelation; a curved effect reads as some, which only
    # widens the interval.
    step = np.ones(h) / post_sd
    segment = np.column_stack([step, (np.arange(h) - (h - 1) / 2.0) * step]) if h >= 3 else step[:, None]
    design = np.block([[xw_b, np.zeros((n_b, segment.shape[1]))], [xw_p, segment]])
    weights = _rho_weights(design, np.concatenate([resid, resid_p]))
    maker = np.eye(n_b) - xw_b @ inverse @ xw_b.T
    # tr(M R_rho) = sum over lags k of rho^k * (sum of M's entries at lag k)
    maker_by_lag = np.bincount(_lags(n_b).ravel(), weights=maker.ravel(), minlength=n_b)
    trace = (_RHO_GRID[:, None] ** np.arange(n_b)) @ maker_by_lag
    # E[RSS] = scale * tr(M R_rho): the marginal variance; RSS/(n-p) would
    # underestimate it when the trend has absorbed part of the wandering
    scales = np.maximum(rss / trace, floor)
    mix = weights * scales
    # every covariance below is linear in R_rho: average R over the posterior first, project once
    n = n_b + h
    corr = (mix @ _ar1_correlations(n)).reshape(n, n)
    projector = inverse @ xw_b.T  # beta_hat - beta = projector @ errors
    sigma = projector @ corr[:n_b, :n_b] @ projector.T
    cross = (projector @ corr[:n_b, n_b:]) * post_sd[None, :]
    noise = corr[n_b:, n_b:] * np.outer(post_sd, post_sd)
    return _Inference(float(weights @ _RHO_GRID), float(weights @ scales), sigma, cross, noise)


def _verdict(lower: float, upper: float, good: Good) -> Verdict:
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return "not estimable"
    good_side, bad_side = (upper < 0.0, lower > 0.0) if good == "down" else (lower > 0.0, upper < 0.0)
    if good_side:
        return "demonstrated"
    if bad_side:
        return "adverse"
    return "not demonstrated"


def _summary(actual_post, expected_post, variance: float, dof: float, good: Good, confidence: float) -> EffectSummary:
    from scipy import special

    h = actual_post.size
    diff = actual_post - expected_post
    average = float(np.mean(diff))
    mean_expected = float(np.mean(expected_post))
    relative = average / mean_expected if mean_expected != 0.0 else math.nan
    std_error = math.sqrt(max(variance, 0.0))
    q = float(special.stdtrit(dof, 0.5 + confidence / 2.0))
    lower, upper = average - q * std_error, average + q * std_error
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.float64(average) / np.float64(std_error)
    # one-sided towards "good": small when the effect is clearly good
    p_value = float(special.stdtr(dof, statistic) if good == "down" else special.stdtr(dof, -statistic))
    return EffectSummary(
        average, average * h, relative, std_error, lower, upper, lower * h, upper * h,
        p_value, _verdict(lower, upper, good), h, confidence, good,
    )


def _not_estimable(kind, actual, exposure, n_b, terms, good, confidence, reason) -> Counterfactual:
    nan = np.full(actual.size, np.nan)
    h = actual.size - n_b
    effect = EffectSummary(
        math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan,
        math.nan, "not estimable", h, confidence, good,
    )
    return Counterfactual(
        kind, nan, nan.copy(), nan.copy(), actual, exposure, n_b, tuple(terms), np.empty(0), np.empty((0, 0)),
        math.nan, math.nan, math.nan, good, confidence, False, reason, effect, None,
    )


def _finish(kind, *, link, beta, mean, jac, unit_sd, actual, exposure, n_b, names, inference,
            good, confidence) -> Counterfactual:
    """Bands, effect summary and sampler of a linear or rate fit."""
    from scipy import special

    p = beta.size
    dof = float(n_b - p)
    post = slice(n_b, None)
    sigma = inference.sigma
    param_var = np.einsum("ij,jk,ik->i", jac, sigma, jac)
    # baseline months: a new month at the same x (statsmodels' obs interval);
    # post months: the realised month's noise and its covariance with the fit
    month_var = param_var + inference.scale * unit_sd**2
    month_var[post] -= 2.0 * np.einsum("ij,ji->i", jac[post], inference.cross)
    q = float(special.stdtrit(dof, 0.5 + confidence / 2.0))
    half = q * np.sqrt(np.maximum(month_var, 0.0))
    lower, upper = mean - half, mean + half
    if link == "logit":
        lower, upper = np.clip(lower, 0.0, 1.0), np.clip(upper, 0.0, 1.0)
    j_sum = jac[post].sum(axis=0)
    h = actual.size - n_b
    variance = (
        j_sum @ sigma @ j_sum + inference.noise.sum() - 2.0 * j_sum @ inference.cross.sum(axis=1)
    ) / h**2
    effect = _summary(actual[post], mean[post], float(variance), dof, good, confidence)
    joint = np.block([[sigma, inference.cross], [inference.cross.T, inference.noise]])
    sampler = _Sampler(mean[post], jac[post], joint, dof)
    return Counterfactual(
        kind, mean, lower, upper, actual, exposure, n_b, tuple(names), beta, sigma, inference.scale, dof,
        inference.rho, good, confidence, True, "", effect, sampler,
    )


def _autocorrelation(value) -> str:
    if value not in ("ar1", "none"):
        raise InvalidInputError(f'autocorrelation must be "ar1" or "none", got {value!r}')
    return value


# ---- fits -----------------------------------------------------------------------------------


def rate_counterfactual(
    events,
    exposure,
    n_baseline: int,
    month_of_year,
    controls=None,
    good: Good = "down",
    confidence: float = 0.95,
    autocorrelation: str = "ar1",
) -> Counterfactual:
    r"""Counterfactual of a monthly rate (churn, win rate) from a
    quasi-binomial logit GLM fitted on the baseline months.

    Events :math:`y_t` out of exposure :math:`n_t` (customers who churned
    out of those active at the month's start; deals won out of leads):

    .. math::

        E[y_t] = n_t \mu_t, \quad \operatorname{logit}\mu_t = x_t'\beta, \quad
        \operatorname{Var}(y_t) = \phi\, n_t \mu_t (1-\mu_t)

    with :math:`x_t` the row of :func:`design_matrix`. :math:`\beta` is
    fitted by IRLS (:func:`logit_irls_step`, at most 50 iterations) on the
    baseline months; the dispersion is the Pearson estimate

    .. math:: \hat\phi = \max\left(1,\ \frac{1}{n_b - p}\sum_{t<n_b}
              \frac{(y_t - n_t\hat\mu_t)^2}{n_t\hat\mu_t(1-\hat\mu_t)}\right)

    and :math:`\Sigma = \hat\phi\,(X'WX)^{-1}`, :math:`W = \operatorname{diag}(n_t\hat\mu_t(1-\hat\mu_t))`.
    The post months' counterfactual rate is :math:`\hat\mu_t =
    \operatorname{expit}(x_t'\hat\beta)`; the effect is on the rate scale,
    with :math:`J = \operatorname{diag}(\hat\mu_t(1-\hat\mu_t)) X_{post}` and
    :math:`V = \operatorname{diag}(\hat\phi\,\hat\mu_t(1-\hat\mu_t)/n_t)` in
    the module's variance formula. These are the formulas with
    ``autocorrelation="none"``; the default averages them over AR(1)
    correlated residuals (module docstring).

    The floor at 1 keeps a short baseline that happens to look less
    variable than binomial from narrowing the interval below what binomial
    sampling alone implies; monthly counts of customers are rarely
    underdispersed, so a Pearson estimate below 1 is almost always noise.

    Parameters
    ----------
    events, exposure : array_like, shape (n_total,)
        Event counts and their denominators per month, baseline first;
        non-negative, ``events <= exposure``, exposure > 0 (counts may be
        fractional, e.g. an average of active customers).
    n_baseline : int
        Months before go-live (go-live is the first post month).
    month_of_year : int or array_like of int
        Calendar month 1..12 of each month, or of the first month.
    controls : array_like, shape (n_total,) or (n_total, k), optional
        Control series (logit-scale regressors), e.g. an untreated segment's
        churn; with controls a baseline under 12 months is estimable.
    good : {"down", "up"}, default "down"
        Which direction is good: "down" for churn, "up" for a win rate.
    confidence : float, default 0.95
        Two-sided coverage of the intervals.
    autocorrelation : {"ar1", "none"}, default "ar1"
        Allow for lag-1 autocorrelation of the residuals (module docstring).

    Returns
    -------
    Counterfactual
        ``kind="rate"``; ``expected``, ``actual`` and the effect are rates
        (fractions), so an average effect of -0.01 is one percentage point.

    Raises
    ------
    InvalidInputError
        Missing values, negative counts, events above exposure, series of
        different lengths, no post month.
    ZeroDenominatorError
        A month with zero exposure.

    References
    ----------
    McCullagh and Nelder (1989), sections 2.5 and 4.5; Wedderburn, R. W. M.
    (1974). Quasi-likelihood functions, generalized linear models, and the
    Gauss-Newton method. Biometrika, 61(3), 439-447.

    Examples
    --------
    Churn of about 3% of 2,000 customers for 12 months, then about 2% in
    the four months from go-live:

    >>> churned = [52, 63, 71, 53, 59, 62, 59, 62, 66, 74, 52, 52] + [36, 36, 33, 28]
    >>> cf = rate_counterfactual(churned, [2000] * 16, n_baseline=12, month_of_year=1)
    >>> cf.terms, cf.dof, round(float(cf.expected[-1]), 4)
    (('intercept', 'trend'), 10.0, 0.0301)
    >>> e = cf.effect
    >>> round(e.average, 4), round(e.lower, 4), round(e.upper, 4), e.verdict
    (-0.0135, -0.0245, -0.0025, 'demonstrated')

    The effect is 1.35 percentage points of churn a month, somewhere between
    0.25 and 2.45 points (95%).

    Eleven baseline months and no control series are too few:

    >>> cf = rate_counterfactual([3] * 14, [100] * 14, 11, month_of_year=1)
    >>> cf.estimable, cf.effect.verdict, cf.reason
    (False, 'not estimable', '11 baseline months: at least 12 are needed (or a control series)')
    """
    from scipy import special

    y = _series(events, "events")
    n = _series(exposure, "exposure")
    if y.size != n.size:
        raise InvalidInputError(f"events and exposure differ in length ({y.size} and {n.size} months)")
    if np.any(y < 0):
        raise InvalidInputError(f"events must not be negative (month {np.flatnonzero(y < 0)[0] + 1})")
    if np.any(n < 0):
        raise InvalidInputError(f"exposure must not be negative (month {np.flatnonzero(n < 0)[0] + 1})")
    if np.any(n == 0):
        raise ZeroDenominatorError(f"month {np.flatnonzero(n == 0)[0] + 1} has zero exposure: its rate is 0/0")
    if np.any(y > n):
        i = np.flatnonzero(y > n)[0]
        raise InvalidInputError(f"month {i + 1} has more events ({y[i]:g}) than exposure ({n[i]:g})")
    n_total = y.size
    n_b = _n_baseline(n_baseline, n_total)
    good, confidence = _good(good), _confidence(confidence)
    autocorrelation = _autocorrelation(autocorrelation)
    months = _months(month_of_year, n_total)
    controls, control_names = _columns(controls, n_total, "controls")
    actual = y / n
    x, names, reason = _terms(n_b, n_total, months, controls, control_names, None, [])
    if not reason and y[:n_b].sum() == 0:
        reason = "no events in the baseline months"
    if not reason and np.all(y[:n_b] == n[:n_b]):
        reason = "every unit had the event in every baseline month"
    if reason:
        return _not_estimable("rate", actual, n, n_b, names, good, confidence, reason)
    xb, yb, nb = x[:n_b], y[:n_b], n[:n_b]
    beta, reason = _irls(xb, yb, nb)
    if beta is None:
        return _not_estimable("rate", actual, n, n_b, names, good, confidence, reason)
    mu = special.expit(x @ beta)
    var_unit = mu * (1.0 - mu)  # rate-scale variance per unit of dispersion, times n
    w_b = nb * var_unit[:n_b]
    xw_b = xb * np.sqrt(w_b)[:, None]
    solved = _least_squares(xw_b, np.zeros(n_b))
    if solved is None:
        return _not_estimable("rate", actual, n, n_b, names, good, confidence,
                              "the baseline cannot separate the model's terms (collinear columns)")
    inverse = solved[1]
    pearson = (yb - nb * mu[:n_b]) / np.sqrt(w_b)
    unit_sd = np.sqrt(var_unit / n)
    w_p = n[n_b:] * var_unit[n_b:]
    inference = _inference(
        xw_b, pearson, inverse, x[n_b:] * np.sqrt(w_p)[:, None], (y[n_b:] - n[n_b:] * mu[n_b:]) / np.sqrt(w_p),
        unit_sd[n_b:], 1.0, autocorrelation,
    )
    jac = x * var_unit[:, None]  # d expit(x'b)/db = mu(1-mu) x
    return _finish(
        "rate", link="logit", beta=beta, mean=mu, jac=jac, unit_sd=unit_sd, actual=actual, exposure=n,
        n_b=n_b, names=names, inference=inference, good=good, confidence=confidence,
    )


def linear_counterfactual(
    y,
    n_baseline: int,
    month_of_year,
    regressors=None,
    controls=None,
    good: Good = "down",
    confidence: float = 0.95,
    autocorrelation: str = "ar1",
) -> Counterfactual:
    r"""Counterfactual of a monthly amount (agent hours, active customers,
    revenue) from an OLS regression fitted on the baseline months.

    .. math::

        y_t = x_t'\beta + \varepsilon_t, \qquad
        \hat\beta = (X_b'X_b)^{-1}X_b'y_b, \qquad
        s^2 = \frac{RSS}{n_b - p}, \qquad \Sigma = s^2 (X_b'X_b)^{-1}

    with :math:`x_t` the row of :func:`design_matrix` (trend and season by
    baseline length, then ``regressors``, then ``controls``). The post
    months' counterfactual is :math:`x_t'\hat\beta`, and its per-month
    prediction interval :math:`x_t'\hat\beta \pm t_{n_b-p}\sqrt{s^2 +
    x_t'\Sigma x_t}`. In the module's effect variance :math:`J = X_{post}`
    and :math:`V = s^2 I`. These are the formulas with
    ``autocorrelation="none"``; the default averages them over AR(1)
    correlated residuals (module docstring).

    A regressor must be something the automation does not change: total
    contacts (bot and agents together) for agent hours, not the contacts
    agents still handle, or the deflection itself would be explained away.

    Parameters
    ----------
    y : array_like, shape (n_total,)
        The amount per month, baseline first, in its unit (hours, customers,
        currency).
    n_baseline : int
        Months before go-live.
    month_of_year : int or array_like of int
        Calendar month 1..12 of each month, or of the first month.
    regressors : array_like, shape (n_total,) or (n_total, k), optional
        Drivers known for every month, e.g. the month's contacts for agent
        hours.
    controls : array_like, shape (n_total,) or (n_total, k), optional
        Control series untouched by the automation; with controls a baseline
        under 12 months is estimable (intercept + regressors + controls).
    good : {"down", "up"}, default "down"
        "down" for hours and costs, "up" for customers and revenue.
    confidence : float, default 0.95
        Two-sided coverage of the intervals.
    autocorrelation : {"ar1", "none"}, default "ar1"
        Allow for lag-1 autocorrelation of the residuals (module docstring).

    Returns
    -------
    Counterfactual
        ``kind="linear"``, in the unit of ``y``.

    Raises
    ------
    InvalidInputError
        Missing values, series of different lengths, no post month.

    References
    ----------
    Hyndman and Athanasopoulos (2021), section 7.6 (forecasting with
    regression; prediction intervals).

    Examples
    --------
    Agent hours of 500 + 2 a month plus a repeating wiggle for 12 months,
    then 15% fewer for three months. With independent errors the numbers
    are the textbook ones: the intercept is the baseline mean (the trend is
    centred), the slope :math:`\sum(t-5.5)y_t/143`:

    >>> t = np.arange(15)
    >>> hours = 500 + 2 * t + np.resize([4.0, -4.0, 2.0, -2.0], 15)
    >>> hours[12:] *= 0.85
    >>> cf = linear_counterfactual(hours, 12, month_of_year=1, autocorrelation="none")
    >>> np.round(cf.beta, 3), round(cf.scale, 3)
    (array([511.   ,   1.874]), 11.773)
    >>> np.round(cf.expected[12:], 2)
    array([523.18, 525.06, 526.93])
    >>> e = cf.effect
    >>> round(e.average, 2), round(e.lower, 2), round(e.upper, 2), e.verdict
    (-77.39, -84.27, -70.51, 'demonstrated')
    """
    values = _series(y, "y")
    n_total = values.size
    n_b = _n_baseline(n_baseline, n_total)
    good, confidence = _good(good), _confidence(confidence)
    autocorrelation = _autocorrelation(autocorrelation)
    months = _months(month_of_year, n_total)
    regressors, regressor_names = _columns(regressors, n_total, "regressors")
    controls, control_names = _columns(controls, n_total, "controls")
    x, names, reason = _terms(n_b, n_total, months, controls, control_names, regressors, regressor_names)
    if reason:
        return _not_estimable("linear", values, None, n_b, names, good, confidence, reason)
    xb, yb = x[:n_b], values[:n_b]
    solved = _least_squares(xb, yb)
    if solved is None:
        return _not_estimable(
            "linear", values, None, n_b, names, good, confidence,
            "the baseline cannot separate the model's terms (collinear columns, e.g. a constant regressor)",
        )
    beta, inverse = solved
    mean = x @ beta
    resid = yb - mean[:n_b]
    if float(resid @ resid) <= (1e-12 * float(np.max(np.abs(yb)))) ** 2 * n_b:
        return _not_estimable(
            "linear", values, None, n_b, names, good, confidence,
            "the model fits the baseline months exactly, so their noise cannot be estimated",
        )
    inference = _inference(
        xb, resid, inverse, x[n_b:], values[n_b:] - mean[n_b:], np.ones(n_total - n_b), 0.0, autocorrelation
    )
    return _finish(
        "linear", link="identity", beta=beta, mean=mean, jac=x, unit_sd=np.ones(n_total), actual=values,
        exposure=None, n_b=n_b, names=names, inference=inference, good=good, confidence=confidence,
    )


def _forecast_covariance(results, horizon: int) -> np.ndarray:
    r"""Joint covariance of the 1..H step forecast errors of a fitted
    time-invariant state-space model.

    From the predicted state :math:`a_{n+1}` with covariance :math:`P_1`:
    :math:`P_{h+1} = TP_hT' + RQR'` and, for :math:`h \le k`,
    :math:`\operatorname{Cov}(e_h, e_k) = Z P_h (T')^{k-h} Z' + H\,[h=k]`."""
    fr = results.filter_results
    nobs = int(results.nobs)
    z = fr.design[:, :, 0]
    t = fr.transition[:, :, 0]
    rqr = fr.selection[:, :, 0] @ fr.state_cov[:, :, 0] @ fr.selection[:, :, 0].T
    obs = float(fr.obs_cov[0, 0, 0])
    p_h = fr.predicted_state_cov[:, :, nobs]
    out = np.empty((horizon, horizon))
    for h in range(horizon):
        ahead = p_h
        for k in range(h, horizon):
            out[h, k] = out[k, h] = (z @ ahead @ z.T).item()
            ahead = ahead @ t.T
        out[h, h] += obs
        p_h = t @ p_h @ t.T + rqr
    return out


def sts_counterfactual(
    y,
    n_baseline: int,
    month_of_year,
    good: Good = "down",
    confidence: float = 0.95,
    season: str = "harmonic",
) -> Counterfactual:
    r"""Counterfactual from a structural time-series model (opt-in; at
    least 36 baseline months), in the manner of CausalImpact.

    A local linear trend plus an annual season, fitted by maximum
    likelihood (statsmodels ``UnobservedComponents``) on the baseline months:

    .. math::

        y_t = \mu_t + \gamma_t + \varepsilon_t, \quad
        \mu_{t+1} = \mu_t + \nu_t + \xi_t, \quad \nu_{t+1} = \nu_t + \zeta_t

    with :math:`\gamma_t` one stochastic harmonic of period 12
    (``season="harmonic"``, ``freq_seasonal=[{"period": 12, "harmonics": 1}]``)
    or 11 stochastic month effects (``season="monthly"``, ``seasonal=12``).
    The post months are the Kalman forecast ``get_forecast(H)``; the
    per-month interval is the forecast mean :math:`\pm z\sqrt{\text{var\_pred\_mean}}`
    (that variance already holds the state and irregular noise, so nothing
    is added; normal quantiles, ``dof = inf``). Baseline months show the
    smoothed in-sample prediction.

    The average effect's variance is :math:`\mathbf 1'F\mathbf 1/H^2` with
    :math:`F` the joint covariance of the H forecast errors, propagated from
    the filtered state through the transition matrix (statsmodels reports
    only its diagonal, which ``F`` reproduces); summing the monthly
    variances instead would ignore that a level or trend error persists
    across every post month. :meth:`Counterfactual.draws` are normal with
    covariance ``F``, so they match the interval exactly; unlike
    CausalImpact's Bayesian fit, the variances are plugged in at their
    maximum-likelihood values (no parameter uncertainty), which narrows
    intervals on short baselines.

    Parameters
    ----------
    y : array_like, shape (n_total,)
        The amount per month, baseline first.
    n_baseline : int
        Months before go-live; fewer than 36 is not estimable.
    month_of_year : int or array_like of int
        Calendar month 1..12 of each month, or of the first month (checked
        for consecutiveness; the season follows position).
    good : {"down", "up"}, default "down"
    confidence : float, default 0.95
    season : {"harmonic", "monthly"}, default "harmonic"

    Returns
    -------
    Counterfactual
        ``kind="sts"``; ``terms`` and ``beta`` are the estimated variances,
        ``cov`` their covariance, ``scale`` the irregular variance.

    References
    ----------
    Brodersen et al. (2015); Harvey, A. C. (1989). Forecasting, Structural
    Time Series Models and the Kalman Filter. Cambridge University Press.

    Examples
    --------
    >>> cf = sts_counterfactual(np.arange(40.0), 30, month_of_year=1)
    >>> cf.estimable, cf.reason
    (False, 'the structural time-series model needs at least 36 baseline months, got 30')
    """
    from scipy import stats

    values = _series(y, "y")
    n_total = values.size
    n_b = _n_baseline(n_baseline, n_total)
    good, confidence = _good(good), _confidence(confidence)
    _months(month_of_year, n_total)
    if season not in ("harmonic", "monthly"):
        raise InvalidInputError(f'season must be "harmonic" or "monthly", got {season!r}')
    if n_b < STS_MIN_BASELINE_MONTHS:
        return _not_estimable(
            "sts", values, None, n_b, [], good, confidence,
            f"the structural time-series model needs at least {STS_MIN_BASELINE_MONTHS} baseline months, got {n_b}",
        )
    # imported here: statsmodels is heavy and only this opt-in model needs it
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    seasonal = {"freq_seasonal": [{"period": 12, "harmonics": 1}]} if season == "harmonic" else {"seasonal": 12}
    model = UnobservedComponents(values[:n_b], level="local linear trend", **seasonal)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence is checked below, not warned about
        results = model.fit(disp=False, maxiter=1000)
    names = list(model.param_names)
    if not results.mle_retvals.get("converged", True):
        return _not_estimable("sts", values, None, n_b, names, good, confidence,
                              "the structural model's likelihood did not converge")
    h = n_total - n_b
    forecast = results.get_forecast(h)
    in_sample = results.get_prediction(information_set="smoothed")
    mean = np.concatenate([np.asarray(in_sample.predicted_mean), np.asarray(forecast.predicted_mean)])
    var = np.concatenate([np.asarray(in_sample.var_pred_mean), np.asarray(forecast.var_pred_mean)])
    q = float(stats.norm.ppf(0.5 + confidence / 2.0))
    half = q * np.sqrt(var)
    joint = _forecast_covariance(results, h)
    effect = _summary(values[n_b:], mean[n_b:], float(joint.sum()) / h**2, math.inf, good, confidence)
    params = np.asarray(results.params, dtype=float)
    sampler = _Sampler(mean[n_b:], np.empty((h, 0)), joint, math.inf)
    return Counterfactual(
        "sts", mean, mean - half, mean + half, values, None, n_b, tuple(names), params,
        np.asarray(results.cov_params(), dtype=float), float(params[0]), math.inf, math.nan, good,
        confidence, True, "", effect, sampler,
    )


# ---- data sufficiency -----------------------------------------------------------------------

SUFFICIENCY_RULE = (
    f"Effects are estimated from a baseline of at least {MIN_BASELINE_MONTHS} months (level and trend; "
    f"an annual season from {ANNUAL_SEASON_MONTHS}, month-of-year effects from {MONTH_EFFECTS_MONTHS}) "
    f"or with a control series; nothing is projected past the tracked months when fewer than "
    f"{MIN_PROJECTION_MONTHS} months are tracked."
)


def sufficiency(n_baseline: int, n_post: int, has_controls=False) -> Sufficiency:
    """Whether a baseline of ``n_baseline`` months and ``n_post`` tracked
    months support an effect estimate and a projection, and the rule in words.

    Estimable: at least 12 baseline months, or a control series with at
    least k + 4 baseline months for k control series (intercept, controls
    and 3 residual degrees of freedom, :func:`design_matrix`). Projectable:
    at least 6 post months.

    Parameters
    ----------
    n_baseline, n_post : int
        Months before go-live, and from go-live on.
    has_controls : bool or int, default False
        Whether there are control series (an int: how many).

    Returns
    -------
    Sufficiency

    Examples
    --------
    >>> s = sufficiency(18, 4, has_controls=False)
    >>> s.estimable, s.projectable, s.model
    (True, False, 'level, trend and an annual season')
    >>> sufficiency(8, 12, has_controls=True).model
    'level and controls'
    >>> print(s.rule)
    Effects are estimated from a baseline of at least 12 months (level and trend; an annual season from 18,
    month-of-year effects from 36) or with a control series; nothing is projected past the tracked
    months when fewer than 6 months are tracked.
    """
    n_b = _count(n_baseline, "n_baseline")
    n_post = _count(n_post, "n_post")
    k = int(has_controls) if not isinstance(has_controls, (bool, np.bool_)) else int(bool(has_controls))
    if k < 0:
        raise InvalidInputError(f"has_controls must be a boolean or a count of control series, got {has_controls!r}")
    if n_b >= MONTH_EFFECTS_MONTHS:
        model = "level, trend and month-of-year effects"
    elif n_b >= ANNUAL_SEASON_MONTHS:
        model = "level, trend and an annual season"
    elif n_b >= MIN_BASELINE_MONTHS:
        model = "level and trend"
    elif k and n_b >= k + 1 + MIN_RESIDUAL_DOF:
        model = "level and controls"
    else:
        model = "none"
    if model != "none" and k and n_b >= MIN_BASELINE_MONTHS:
        model += " with controls"
    return Sufficiency(model != "none", n_post >= MIN_PROJECTION_MONTHS, model, SUFFICIENCY_RULE)
