r"""Predictive customer lifetime value: BG/NBD purchases x Gamma-Gamma spend.

"Buy till you die" models for non-contractual customers, who may stop buying
at any time without telling anyone:

* :class:`BetaGeo`, the BG/NBD model of Fader, Hardie & Lee (2005a): while
  alive a customer buys as a Poisson process with rate
  :math:`\lambda \sim \Gamma(r, \alpha)`; after each purchase she drops out
  with probability :math:`p \sim \mathrm{Beta}(a, b)`. It predicts each
  customer's future purchases and the probability she is still alive.
* :class:`GammaGamma`, the spend model of Fader, Hardie & Lee (2005b): the
  values of a customer's purchases are :math:`\Gamma(p, \nu)` around her
  own mean, with :math:`\nu \sim \Gamma(q, \gamma)` across customers. It
  predicts each customer's expected value per purchase.
* :func:`customer_lifetime_value` combines the two into a discounted value
  per customer; :func:`rfm` builds their inputs from a transaction table.

Conventions shared by every function here:

* A customer is summarised by ``frequency`` (x, her number of *repeat*
  purchases: all purchases but the first, same-day purchases counted once),
  ``recency`` (t_x, the time from her first to her last purchase, 0 when
  x = 0) and ``T`` (the time from her first purchase to the end of
  observation). All three share one time unit (weeks in the CDNOW examples);
  the model parameter ``alpha`` and every prediction horizon are in that
  unit.
* ``monetary_value`` is the mean value of a customer's repeat purchases; it
  is ignored where frequency is 0.
* The fitters follow lifelines: ``fit`` returns the fitter, the estimates are
  in ``params_`` and ``log_likelihood_``, ``summary`` is a DataFrame with
  standard errors and 95 % intervals.

Parameters are estimated by maximum likelihood on the log scale with analytic
gradients (BFGS); a fit that does not reach an identified maximum (a
stationary point with a positive definite information matrix) raises
:class:`~cxroi_xl.errors.OutOfDomainError` rather than returning wrong
parameters. Input the models cannot take raises
the other errors of :mod:`cxroi_xl.errors`.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a), "Counting Your
Customers the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing
Science* 24(2), 275-284.

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", *Journal of Marketing
Research* 42(4), 415-430; and Fader, P. S. and Hardie, B. G. S. (2013), "The
Gamma-Gamma Model of Monetary Value", brucehardie.com note.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError

# scipy.optimize and scipy.special are imported by the functions that fit and
# predict: importing the engine (every Excel function's module) stays quick.

__all__ = [
    "BetaGeo",
    "GammaGamma",
    "customer_lifetime_value",
    "rfm",
    "DAYS_PER_MONTH",
    "TIME_UNITS",
]

DAYS_PER_MONTH = 365.25 / 12  # the average Gregorian month
MAX_CLV_MONTHS = 1200  # a horizon beyond a century is a typo, and would freeze the sheet
TIME_UNITS = {"D": 1.0, "W": 7.0, "M": DAYS_PER_MONTH}  # days per time unit

# How far (in log units) an estimate may lie from the data's scale (see
# _maximise): a search that runs further has no finite maximum to find.
_LOG_BOUND = 25.0
# Largest gradient of the mean log-likelihood (per unit weight, with respect
# to the log-parameters) accepted as a stationary point.
_GRADIENT_TOLERANCE = 1e-5
# An estimate whose log has a standard error above this (a 95 % interval
# wider than a factor of e^20) is not determined by the data.
_MAX_LOG_SE = 5.0
_Z95 = 1.959963984540054  # standard normal 97.5 % quantile


# --------------------------------------------------------------------------
# Input checks


def _vector(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be a single column of numbers")
    if np.isnan(array).any():
        raise InvalidInputError(f"{name}: blank or missing value")
    if np.isinf(array).any():
        raise InvalidInputError(f"{name}: numbers must be finite")
    if (array < 0).any():
        raise InvalidInputError(f"{name} must not be negative")
    return array


def _same_length(**arrays: np.ndarray) -> None:
    lengths = {len(a) for a in arrays.values()}
    if len(lengths) > 1:
        shown = ", ".join(f"{name} {len(a)}" for name, a in arrays.items())
        raise InvalidInputError(f"need one value per customer in every range ({shown})")
    if lengths == {0}:
        raise ZeroDenominatorError("no customers")


def _frequency(values) -> np.ndarray:
    x = _vector(values, "frequency")
    if (x != np.floor(x)).any():
        raise InvalidInputError("frequency counts repeat purchases and must be whole numbers")
    return x


def _customers(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked (x, t_x, T) arrays for the BG/NBD model."""
    x, t_x, age = _frequency(frequency), _vector(recency, "recency"), _vector(T, "T")
    _same_length(frequency=x, recency=t_x, T=age)
    if (t_x > age).any():
        raise InvalidInputError("recency must not exceed T (the last purchase cannot follow the end of observation)")
    if ((x == 0) & (t_x > 0)).any():
        raise InvalidInputError("recency must be 0 for a customer without repeat purchases (frequency 0)")
    return x, t_x, age


def _spend(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
    """Checked (x, m) arrays for the Gamma-Gamma model."""
    x, m = _frequency(frequency), _vector(monetary_value, "monetary_value")
    _same_length(frequency=x, monetary_value=m)
    if ((x > 0) & (m == 0)).any():
        raise InvalidInputError("monetary_value must be positive for every customer with repeat purchases")
    return x, m


def _weights(weights, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _vector(weights, "weights")
    if len(w) != n:
        raise InvalidInputError(f"need one weight per customer ({n} customers, {len(w)} weights)")
    if not w.sum() > 0:
        raise ZeroDenominatorError("the weights sum to zero")
    return w


def _horizon(t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    if not np.isfinite(t).all():
        raise InvalidInputError("the horizon must be a finite number")
    if (t < 0).any():
        raise InvalidInputError("the horizon must not be negative")
    return t


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Sum of u * v. einsum rather than BLAS: a threaded BLAS dot of one
    long vector is slower than a plain loop when the cores are busy."""
    return float(np.einsum("i,i->", u, v))


def _by_frequency(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct frequencies and the total customer weight of each.

    Every term of both likelihoods that depends on x alone (the gamma and
    beta functions) is evaluated once per distinct x and weighted by the
    customers who share it: CDNOW has 2,357 customers but 23 distinct x.
    """
    values, index = np.unique(x, return_inverse=True)
    return values, np.bincount(index, weights=w, minlength=len(values))


# --------------------------------------------------------------------------
# Maximum likelihood, shared by both fitters


def _observed_information(loglik: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray) -> np.ndarray:
    """Minus the Hessian of the log-likelihood in the log-parameters, by
    central differences of the analytic gradient."""
    step = 1e-5
    hessian = np.empty((len(theta), len(theta)))
    for j in range(len(theta)):
        shift = np.zeros_like(theta)
        shift[j] = step
        hessian[:, j] = (loglik(theta + shift)[1] - loglik(theta - shift)[1]) / (2 * step)
    return -0.5 * (hessian + hessian.T)


def _log_standard_errors(information: np.ndarray) -> np.ndarray | None:
    """Standard errors of the log-parameters, or None unless the information
    is positive definite (a strict maximum)."""
    try:
        np.linalg.cholesky(information)
        return np.sqrt(np.diag(np.linalg.inv(information)))
    except np.linalg.LinAlgError:
        return None


def _maximise(
    loglik: Callable[[np.ndarray], tuple[float, np.ndarray]],
    scale: np.ndarray,
    starts: tuple[np.ndarray, ...],
    total_weight: float,
    model: str,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Log-parameters maximising ``loglik`` (which returns the log-likelihood
    and its gradient in the log-parameters), the maximum, and the observed
    information there.

    The search runs on log(parameter / scale), where ``scale`` carries the
    data's units (time for alpha, currency for gamma), so ``_LOG_BOUND`` and
    ``starts`` mean the same whatever the units. Starts are tried in turn
    until one reaches an identified maximum: the gradient vanishes, the
    estimate lies within ``_LOG_BOUND`` and the information is positive
    definite with every log-parameter's standard error below
    ``_MAX_LOG_SE``. Data that do not determine the parameters (nobody
    bought twice, everyone alike, a handful of customers) send the search
    along a ridge towards infinity instead; that is reported, not returned.
    """
    from scipy.optimize import minimize

    offset = np.log(scale)

    def objective(u):
        with np.errstate(all="ignore"):  # trial steps may overflow; refused below
            value, gradient = loglik(u + offset)
        if not np.isfinite(value) or not np.isfinite(gradient).all():
            return np.inf, np.zeros_like(u)
        return -value / total_weight, -gradient / total_weight

    for start in starts:
        # BFGS rather than L-BFGS-B: for four parameters its numpy updates
        # cost nothing, while L-BFGS-B's BLAS calls stall when cores are busy
        result = minimize(objective, start, jac=True, method="BFGS", options={"maxiter": 200, "gtol": 1e-9})
        if np.abs(result.x).max() >= _LOG_BOUND:
            break  # the likelihood keeps rising far out: no finite maximum
        value, gradient = objective(result.x)
        if not (np.isfinite(value) and np.abs(gradient).max() < _GRADIENT_TOLERANCE):
            continue
        theta = result.x + offset
        with np.errstate(all="ignore"):
            information = _observed_information(loglik, theta)
        log_se = _log_standard_errors(information)
        if log_se is not None and log_se.max() < _MAX_LOG_SE:
            return theta, -value * total_weight, information
    raise OutOfDomainError(f"the {model} fit did not converge to an identified maximum: the data do not determine the parameters (too few customers or repeat purchases?)")


class _Fitter:
    """What both fitters share: estimates, log-likelihood, summary."""

    _names: tuple[str, ...] = ()
    _model = ""
    # starting points on the scaled log-parameters (see _maximise), tried in
    # turn when the optimiser stalls
    _starts: tuple[np.ndarray, ...] = ()

    def __init__(self) -> None:
        self.params_: pd.Series | None = None
        self.log_likelihood_: float | None = None
        self._information: np.ndarray | None = None

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"<{type(self).__name__}: not fitted>"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        fitted = "" if self.log_likelihood_ is None else f", log-likelihood {self.log_likelihood_:.2f}"
        return f"<{type(self).__name__}: {shown}{fitted}>"

    def _fit(self, loglik, scale, total_weight) -> None:
        theta, value, information = _maximise(loglik, scale, self._starts, total_weight, self._model)
        self.params_ = pd.Series(np.exp(theta), index=list(self._names), dtype=float)
        self.log_likelihood_ = float(value)
        self._information = information

    def _set_params(self, values) -> None:
        values = np.array(values, dtype=float)
        if not (np.isfinite(values).all() and (values > 0).all()):
            raise OutOfDomainError(f"{self._model} parameters must be positive numbers")
        self.params_ = pd.Series(values, index=list(self._names))

    def _params(self) -> np.ndarray:
        if self.params_ is None:
            raise InvalidInputError(f"fit the {self._model} model first")
        return self.params_.to_numpy()

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95 % confidence intervals.

        Standard errors come from the observed information (minus the
        Hessian of the log-likelihood in the log-parameters, by central
        differences of the analytic gradient), carried to the natural scale
        by the delta method: se(theta) = theta x se(log theta). The
        intervals are symmetric on the log scale, so they stay positive.
        They are NaN for a model made with ``from_params``.
        """
        params = self._params()
        log_se = np.full(len(params), np.nan) if self._information is None else _log_standard_errors(self._information)
        theta = np.log(params)
        return pd.DataFrame(
            {
                "coef": params,
                "se(coef)": params * log_se,
                "coef lower 95%": np.exp(theta - _Z95 * log_se),
                "coef upper 95%": np.exp(theta + _Z95 * log_se),
            },
            index=pd.Index(self._names, name="parameter"),
        )


# --------------------------------------------------------------------------
# BG/NBD


def _bgnbd_loglik(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
    r"""The BG/NBD log-likelihood and its gradient in log(r, alpha, a, b).

    Per customer (Fader, Hardie & Lee 2005a, eq. 6)

    .. math::

        \ell = \underbrace{\ln\frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)}
        + \ln\frac{B(a, b+x)}{B(a, b)}}_{c(x)}
        - (r+x)\ln(\alpha+T) + \ln\bigl(1 + \delta_{x>0}\,e^{d}\bigr),
        \quad d = \ln\frac{a}{b+x-1} - (r+x)\ln\frac{\alpha+t_x}{\alpha+T}

    The last term is a softplus, and its derivative in d the logistic share
    :math:`s = e^d/(1+e^d)` of the "dropped out after the last purchase"
    branch; both are computed from :math:`e^{-|d|}`, so neither overflows.
    Customers without repeat purchases (most of them, usually) need only
    the :math:`\ln(\alpha+T)` term.
    """
    from scipy.special import digamma, gammaln

    xu, xu_weight = _by_frequency(x, w)
    total = xu_weight.sum()
    once = x == 0
    w_once, T_once = w[once], T[once]
    repeat = ~once
    w_rep, x_rep, t_rep, T_rep = w[repeat], x[repeat], t_x[repeat], T[repeat]
    x_rep_u, x_rep_index = np.unique(x_rep, return_inverse=True)

    def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        # terms in x alone, once per distinct x
        c = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + xu) - gammaln(b) - gammaln(a + b + xu)
        dc_dr = digamma(r + xu) - digamma(r) + np.log(alpha)
        dc_da = digamma(a + b) - digamma(a + b + xu)
        dc_db = dc_da + digamma(b + xu) - digamma(b)
        value = _dot(xu_weight, c)
        d_r = _dot(xu_weight, dc_dr)
        d_alpha = total * r / alpha
        d_a = _dot(xu_weight, dc_da)
        d_b = _dot(xu_weight, dc_db)
        # customers without repeat purchases: -r ln(alpha + T)
        ln_T_once = np.log(alpha + T_once)
        value -= r * _dot(w_once, ln_T_once)
        d_r -= _dot(w_once, ln_T_once)
        d_alpha -= r * _dot(w_once, 1.0 / (alpha + T_once))
        # repeat customers: -(r+x) ln(alpha + T) + softplus(d)
        r_x = r + x_rep
        ln_T = np.log(alpha + T_rep)
        ln_gap = np.log(alpha + t_rep) - ln_T
        inverse_b = 1.0 / (b + x_rep_u - 1.0)
        d = (np.log(a) + np.log(inverse_b))[x_rep_index] - r_x * ln_gap
        small = np.exp(-np.abs(d))
        share = np.where(d >= 0, 1.0, small) / (1.0 + small)
        value += _dot(w_rep, np.maximum(d, 0.0) + np.log1p(small) - r_x * ln_T)
        ws = w_rep * share
        d_r -= _dot(w_rep, ln_T) + _dot(ws, ln_gap)
        d_alpha -= _dot(w_rep, r_x / (alpha + T_rep)) + _dot(ws, r_x * (1.0 / (alpha + t_rep) - 1.0 / (alpha + T_rep)))
        d_a += ws.sum() / a
        d_b -= _dot(np.bincount(x_rep_index, weights=ws, minlength=len(x_rep_u)), inverse_b)
        return float(value), np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])

    return loglik


class BetaGeo(_Fitter):
    r"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a).

    While alive, a customer buys as a Poisson process with rate
    :math:`\lambda`; right after each purchase she drops out for good with
    probability :math:`p`. Across customers :math:`\lambda \sim \Gamma(r,
    \alpha)` (shape r, rate alpha, in purchases per time unit) and :math:`p
    \sim \mathrm{Beta}(a, b)`.

    Attributes (after ``fit``)
    --------------------------
    params_ : pandas.Series
        ``r``, ``alpha`` (in the data's time unit), ``a``, ``b``.
    log_likelihood_ : float
        The maximised log-likelihood (weighted sum over customers).
    summary : pandas.DataFrame
        Estimates, standard errors and 95 % intervals.

    Examples
    --------
    Fitted on Fader, Hardie & Lee's CDNOW cohort (2,357 customers, time in
    weeks) the estimates are the published r = 0.243, alpha = 4.414,
    a = 0.793, b = 2.426, log-likelihood -9582.4 (the tests check this).
    With those parameters, CDNOW customer 1, who bought twice more in her
    first 38.86 weeks, the last time at week 30.43, is expected to buy 1.23
    times in the next 39 weeks and is alive with probability 0.73:

    >>> bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> round(float(bg.conditional_expected_purchases(39, 2, 30.43, 38.86)[0]), 3)
    1.226
    >>> round(float(bg.probability_alive(2, 30.43, 38.86)[0]), 3)
    0.727
    """

    _names = ("r", "alpha", "a", "b")
    _model = "BG/NBD"
    _starts = (np.zeros(4), np.log([0.1, 0.1, 0.5, 2.0]), np.log([5.0, 5.0, 2.0, 0.5]))

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> "BetaGeo":
        """A model with given parameters (e.g. published ones), unfitted."""
        model = cls()
        model._set_params([r, alpha, a, b])
        return model

    def fit(self, frequency, recency, T, weights=None) -> "BetaGeo":
        """Estimate r, alpha, a, b by maximum likelihood.

        Parameters
        ----------
        frequency : array_like of whole numbers
            Repeat purchases per customer (x).
        recency : array_like
            Time from first to last purchase (t_x), 0 when x = 0; <= T.
        T : array_like
            Time from first purchase to the end of observation.
        weights : array_like, optional
            Number of customers each row stands for (default 1 each).

        Raises
        ------
        InvalidInputError
            Negative, blank or non-integer counts, recency > T, recency > 0
            with frequency 0, ranges of different lengths.
        ZeroDenominatorError
            No customers.
        OutOfDomainError
            The likelihood has no maximum inside the parameter space (e.g.
            nobody made a repeat purchase) or the optimiser did not converge.
        """
        x, t_x, age = _customers(frequency, recency, T)
        w = _weights(weights, len(x))
        total = w.sum()
        # alpha in units where r/alpha at r = 1 is the data's mean purchase
        # rate, so the fit is the same whatever the time unit
        rate = max(_dot(w, x), 1.0) / max(_dot(w, age), 1e-300)
        self._fit(_bgnbd_loglik(x, t_x, age, w), np.array([1.0, 1.0 / rate, 1.0, 1.0]), total)
        return self

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        r"""Expected purchases in the next ``t`` time units, given each
        customer's history (Fader, Hardie & Lee 2005a, eq. 10).

        .. math::

            E[Y(t) \mid x, t_x, T] = \frac{a+b+x-1}{a-1}\;
            \frac{1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
            {}_2F_1\!\left(r+x, b+x; a+b+x-1; \frac{t}{\alpha+T+t}\right)}
            {1 + \delta_{x>0}\,\frac{a}{b+x-1}\left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}}

        The hypergeometric term is evaluated after Euler's transformation,
        :math:`(1-z)^{a-1}\,{}_2F_1(a+b-1-r, a-1; a+b+x-1; z)`, which is
        equal but stays in floating-point range for large x and t. The
        formula holds for a < 1 too (CDNOW's a is 0.79); at exactly a = 1 it
        is 0/0 and the answer is NaN.

        Parameters
        ----------
        t : float or array_like
            Horizon in the data's time unit, >= 0; broadcasts with the
            customers (numpy rules).
        frequency, recency, T : array_like
            The customers, as in :meth:`fit`.

        Returns
        -------
        ndarray
            Expected number of purchases per customer.
        """
        x, t_x, age = _customers(frequency, recency, T)
        return _expected_purchases(self._params(), _horizon(t), x, t_x, age)

    predict = conditional_expected_purchases

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        r"""Probability that each customer is still alive at the end of
        observation (Fader, Hardie & Lee 2005a, eq. 11; Fader, Hardie & Lee
        2008, "Computing P(alive) using the BG/NBD model").

        .. math::

            P(\text{alive} \mid x, t_x, T) = \left[1 + \delta_{x>0}\,
            \frac{a}{b+x-1}\left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}\right]^{-1}

        A customer without repeat purchases is alive with probability 1: in
        this model customers can only drop out right after a purchase.
        """
        x, t_x, age = _customers(frequency, recency, T)
        r, alpha, a, b = self._params()
        return 1.0 / (1.0 + _dropout_odds(r, alpha, a, b, x, t_x, age))

    def simulate(self, T, seed=None) -> pd.DataFrame:
        r"""Draw customers from the model's generative process.

        Each customer gets :math:`\lambda \sim \Gamma(r, \alpha)` and
        :math:`p \sim \mathrm{Beta}(a, b)`. Her repeat purchases, had she
        never dropped out, would be a Poisson process on (0, T]: N ~
        Poisson(lambda T) of them. She drops out right after her J-th repeat
        purchase, J ~ Geometric(p), so x = min(N, J) and t_x is the x-th of N
        uniform arrival times, i.e. T x Beta(x, N - x + 1).

        Parameters
        ----------
        T : array_like
            Observation time of each customer (one customer per value).
        seed : int or numpy.random.Generator, optional

        Returns
        -------
        pandas.DataFrame
            Columns frequency, recency, T.

        Examples
        --------
        >>> bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
        >>> bg.simulate([39.0] * 3, seed=1).columns.tolist()
        ['frequency', 'recency', 'T']
        """
        r, alpha, a, b = self._params()
        age = _vector(T, "T")
        rng = np.random.default_rng(seed)
        rate = rng.gamma(r, 1.0 / alpha, size=age.shape)
        dropout = rng.beta(a, b, size=age.shape)
        arrivals = rng.poisson(rate * age)
        # a Beta(a, b) draw can round to 0, which Generator.geometric refuses
        survivors = rng.geometric(np.maximum(dropout, np.finfo(float).tiny))
        x = np.minimum(arrivals, survivors)
        repeat = x > 0
        recency = np.zeros_like(age)
        recency[repeat] = age[repeat] * rng.beta(x[repeat], arrivals[repeat] - x[repeat] + 1)
        return pd.DataFrame({"frequency": x, "recency": recency, "T": age})


def _dropout_odds(r, alpha, a, b, x, t_x, T) -> np.ndarray:
    """The odds that the customer dropped out after her last purchase,
    :math:`\\delta_{x>0}\\,a/(b+x-1)\\,((\\alpha+T)/(\\alpha+t_x))^{r+x}`,
    computed on the log scale."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(x > 0, np.exp(log_odds), 0.0)


def _expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T] with numpy broadcasting (see
    :meth:`BetaGeo.conditional_expected_purchases`)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = params
    z = t / (alpha + T + t)
    remaining = 1.0 - np.exp((a - 1.0) * np.log1p(-z)) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    expected = (a + b + x - 1.0) / (a - 1.0) * remaining / (1.0 + _dropout_odds(r, alpha, a, b, x, t_x, T))
    # 1 - (...) cancels for horizons tiny next to alpha + T; never below zero
    return np.maximum(expected, 0.0)


# --------------------------------------------------------------------------
# Gamma-Gamma


def _gamma_gamma_loglik(x: np.ndarray, m: np.ndarray, w: np.ndarray):
    r"""The Gamma-Gamma log-likelihood and its gradient in log(p, q, gamma).

    Per customer with x > 0 purchases of mean value m (Fader & Hardie 2013,
    eq. 3, the density of the mean :math:`\bar z = m`)

    .. math::

        \ell = \ln\Gamma(px+q) - \ln\Gamma(px) - \ln\Gamma(q) + q\ln\gamma
        + (px-1)\ln(xm) + \ln x - (px+q)\ln(\gamma+xm)
    """
    from scipy.special import digamma, gammaln

    xu, xu_weight = _by_frequency(x, w)
    total = xu_weight.sum()
    xm = x * m
    ln_xm = np.log(xm)
    constant = _dot(w, np.log(x) - ln_xm)  # the -ln(xm) of (px-1) ln(xm), and ln x
    x_ln_xm = _dot(w, x * ln_xm)

    def loglik(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = np.exp(theta)
        c = gammaln(p * xu + q) - gammaln(p * xu)
        shape = p * x + q
        ln_g = np.log(gamma + xm)
        value = _dot(xu_weight, c) - total * gammaln(q) + total * q * np.log(gamma) + p * x_ln_xm + constant - _dot(w, shape * ln_g)
        psi = digamma(p * xu + q)
        d_p = _dot(xu_weight, xu * (psi - digamma(p * xu))) + x_ln_xm - _dot(w, x * ln_g)
        d_q = _dot(xu_weight, psi) - total * digamma(q) + total * np.log(gamma) - _dot(w, ln_g)
        d_gamma = total * q / gamma - _dot(w, shape / (gamma + xm))
        return float(value), np.array([p * d_p, q * d_q, gamma * d_gamma])

    return loglik


class GammaGamma(_Fitter):
    r"""The Gamma-Gamma model of the value of a customer's purchases
    (Fader, Hardie & Lee 2005b; Fader & Hardie 2013).

    Each purchase of a customer has value :math:`z \sim \Gamma(p, \nu)`
    (mean p/nu); across customers :math:`\nu \sim \Gamma(q, \gamma)`. Only
    customers with repeat purchases (frequency > 0) carry information; the
    model assumes spend is independent of purchase frequency.

    Attributes (after ``fit``)
    --------------------------
    params_ : pandas.Series
        ``p``, ``q``, ``gamma`` (gamma in the currency of the values).
    log_likelihood_, summary
        As in :class:`BetaGeo`.

    Examples
    --------
    On the 946 CDNOW customers with repeat purchases Fader & Hardie (2013)
    report p = 6.25, q = 3.74, gamma = 15.44. With those, CDNOW customer 1
    (2 repeat purchases averaging $22.35) is expected to spend $24.66 a
    purchase, pulled towards the population mean p*gamma/(q-1) = $35.22:

    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> round(float(gg.conditional_expected_average_value(2, 22.35)[0]), 2)
    24.66
    >>> round(float(gg.conditional_expected_average_value(0, 0)[0]), 2)
    35.22
    """

    _names = ("p", "q", "gamma")
    _model = "Gamma-Gamma"
    _starts = (np.log([1.0, 2.0, 1.0]), np.log([5.0, 4.0, 0.75]), np.log([0.5, 1.5, 0.25]))

    @classmethod
    def from_params(cls, p: float, q: float, gamma: float) -> "GammaGamma":
        """A model with given parameters (e.g. published ones), unfitted."""
        model = cls()
        model._set_params([p, q, gamma])
        return model

    def fit(self, frequency, monetary_value, weights=None) -> "GammaGamma":
        """Estimate p, q, gamma by maximum likelihood on the customers with
        frequency > 0 (the others are ignored, whatever their value).

        Parameters
        ----------
        frequency : array_like of whole numbers
            Repeat purchases per customer (x).
        monetary_value : array_like
            Mean value of the customer's repeat purchases (> 0 where x > 0).
        weights : array_like, optional
            Number of customers each row stands for.

        Raises
        ------
        InvalidInputError
            Negative, blank or non-integer values, a zero value where x > 0,
            ranges of different lengths.
        ZeroDenominatorError
            No customer with repeat purchases.
        OutOfDomainError
            The fit did not converge.
        """
        x, m = _spend(frequency, monetary_value)
        w = _weights(weights, len(x))
        repeat = (x > 0) & (w > 0)
        if not repeat.any():
            raise ZeroDenominatorError("no customer with repeat purchases to fit the spend model on")
        x, m, w = x[repeat], m[repeat], w[repeat]
        # gamma in units of the mean value, so the fit is the same whatever
        # the currency (p = 1, q = 2 then puts the population mean there)
        self._fit(_gamma_gamma_loglik(x, m, w), np.array([1.0, 1.0, _dot(w, m) / w.sum()]), w.sum())
        return self

    def conditional_expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        r"""Expected value of each customer's future purchases (Fader, Hardie
        & Lee 2005b, eq. 5):

        .. math::

            E[Z \mid x, \bar z] = \frac{p\,(\gamma + x\bar z)}{px + q - 1}

        a weighted mean of the population mean :math:`p\gamma/(q-1)` and the
        customer's own mean. With x = 0 it is the population mean, which is
        finite only when q > 1; where px + q <= 1 the answer is NaN.
        """
        x, m = _spend(frequency, monetary_value)
        p, q, gamma = self._params()
        denominator = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denominator > 0, p * (gamma + x * m) / denominator, np.nan)

    predict = conditional_expected_average_value


# --------------------------------------------------------------------------
# CLV


def customer_lifetime_value(
    purchases: BetaGeo,
    spend: GammaGamma,
    frequency,
    recency,
    T,
    monetary_value,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    days_per_time_unit: float = 7.0,
) -> np.ndarray:
    r"""Discounted value of each customer's purchases over the next months.

    .. math::

        CLV = \bar z^{*} \sum_{k=1}^{K}
        \frac{E[Y(k\tau)] - E[Y((k-1)\tau)]}{(1+d)^k},
        \qquad \tau = \frac{365.25/12}{\text{days per time unit}}

    where :math:`E[Y(t)]` is the BG/NBD conditional expectation
    (:meth:`BetaGeo.conditional_expected_purchases`), :math:`\bar z^{*}`
    the Gamma-Gamma expected value per purchase
    (:meth:`GammaGamma.conditional_expected_average_value`), K =
    ``months``, d = ``monthly_discount_rate`` and :math:`\tau` the length of
    an average month (30.4375 days) in the data's time unit. Each month's
    purchases are discounted from the end of that month, as in the
    ``lifetimes`` package's ``customer_lifetime_value``.

    Parameters
    ----------
    purchases : BetaGeo
        A fitted (or :meth:`BetaGeo.from_params`) purchase model.
    spend : GammaGamma
        A fitted spend model.
    frequency, recency, T, monetary_value : array_like
        The customers; monetary_value is ignored where frequency is 0.
    months : int, default 12
        Horizon in months, >= 0.
    monthly_discount_rate : float, default 0.01
        Discount rate per month, a fraction > -1.
    days_per_time_unit : float, default 7
        Days in the time unit of recency and T (7 for weeks, 1 for days).

    Returns
    -------
    ndarray
        Value per customer in the currency of monetary_value; NaN where the
        spend model has no finite mean (q <= 1 and frequency 0).

    Examples
    --------
    CDNOW customer 1 (x = 2, t_x = 30.43, T = 38.86 weeks, $22.35) with the
    published parameters, over 12 months undiscounted, is worth the 12-month
    expected purchases times the expected value per purchase:

    >>> bg = BetaGeo.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGamma.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> clv = customer_lifetime_value(bg, gg, [2], [30.43], [38.86], [22.35], 12, 0.0)
    >>> weeks = 12 * DAYS_PER_MONTH / 7
    >>> expected = bg.predict(weeks, 2, 30.43, 38.86) * gg.predict(2, 22.35)
    >>> round(float(clv[0]), 2), round(float(expected[0]), 2)
    (38.55, 38.55)
    """
    x, t_x, age = _customers(frequency, recency, T)
    value_per_purchase = spend.conditional_expected_average_value(frequency, monetary_value)
    if months < 0 or months != int(months):
        raise InvalidInputError("months must be a whole number >= 0")
    if months > MAX_CLV_MONTHS:
        raise OutOfDomainError(f"months must be at most {MAX_CLV_MONTHS} (100 years)")
    if not np.isfinite(monthly_discount_rate) or monthly_discount_rate <= -1:
        raise OutOfDomainError("the monthly discount rate must be greater than -100%")
    if not np.isfinite(days_per_time_unit) or days_per_time_unit <= 0:
        raise InvalidInputError("days_per_time_unit must be a positive number")
    month = DAYS_PER_MONTH / days_per_time_unit
    horizons = np.arange(1, int(months) + 1) * month
    cumulative = _expected_purchases(purchases._params(), horizons[None, :], x[:, None], t_x[:, None], age[:, None])
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    discount = (1.0 + monthly_discount_rate) ** -np.arange(1, int(months) + 1)
    return value_per_purchase * (per_month @ discount)


# --------------------------------------------------------------------------
# Transactions -> RFM summary


def rfm(transactions: pd.DataFrame, customer_col: str, date_col: str, value_col: str | None = None, observation_end=None, freq: str = "W") -> pd.DataFrame:
    """Frequency, recency, T (and monetary value) per customer from a
    transaction table, as the BG/NBD and Gamma-Gamma models expect them.

    Purchases on the same calendar day count as one purchase (their values
    summed). Then, per customer, with times in days divided by the days in
    ``freq``:

    * ``frequency`` = purchase days - 1 (repeat purchases),
    * ``recency`` = last purchase day - first purchase day,
    * ``T`` = ``observation_end`` - first purchase day,
    * ``monetary_value`` = mean value of the repeat purchases (0 when there
      are none).

    Transactions after ``observation_end`` are ignored. This is the
    convention of Fader, Hardie & Lee's CDNOW summary, which it reproduces
    from the raw CDNOW sample.

    Parameters
    ----------
    transactions : pandas.DataFrame
        One row per transaction.
    customer_col, date_col : str
        Columns holding the customer and the date (anything
        ``pandas.to_datetime`` reads; the time of day is ignored).
    value_col : str, optional
        Column holding the transaction's value; adds ``monetary_value``.
    observation_end : date-like, optional
        End of the observation period, inclusive (default: the last date).
    freq : {"D", "W", "M"}, default "W"
        Time unit: days, weeks (7 days) or months (365.25/12 days).

    Returns
    -------
    pandas.DataFrame
        Indexed by customer, columns frequency, recency, T
        [, monetary_value], sorted by customer.

    Examples
    --------
    >>> sales = pd.DataFrame({"customer": ["A", "A", "A", "B"],
    ...                       "date": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"],
    ...                       "value": [10.0, 5.0, 20.0, 7.0]})
    >>> rfm(sales, "customer", "date", "value", "2024-01-29")
              frequency  recency    T  monetary_value
    customer
    A                 1      2.0  4.0            20.0
    B                 0      0.0  3.0             0.0
    """
    if freq not in TIME_UNITS:
        raise InvalidInputError(f"freq must be one of {', '.join(TIME_UNITS)}, not {freq!r}")
    columns = [customer_col, date_col] + ([value_col] if value_col is not None else [])
    missing = [c for c in columns if c not in transactions.columns]
    if missing:
        raise InvalidInputError(f"no column {', '.join(map(repr, missing))} in the transactions")
    try:
        days = pd.to_datetime(transactions[date_col]).dt.normalize()
        end = pd.to_datetime(days.max() if observation_end is None else observation_end).normalize()
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{date_col}: not a date ({exc})".splitlines()[0]) from None
    table = pd.DataFrame({"customer": transactions[customer_col].to_numpy(), "day": days.to_numpy()})
    table["value"] = pd.to_numeric(transactions[value_col], errors="coerce").to_numpy() if value_col is not None else 0.0
    if table["value"].isna().any() or days.isna().any():
        raise InvalidInputError("every transaction needs a date" + (" and a numeric value" if value_col is not None else ""))
    table = table[table["day"] <= end]
    if table.empty:
        raise ZeroDenominatorError("no transactions on or before the end of observation")
    purchases = table.groupby(["customer", "day"], sort=True)["value"].sum().reset_index()
    per_customer = purchases.groupby("customer", sort=True)
    first = per_customer["day"].min()
    day, unit = np.timedelta64(1, "D"), TIME_UNITS[freq]
    summary = pd.DataFrame(
        {
            "frequency": per_customer.size() - 1,
            "recency": (per_customer["day"].max() - first) / day / unit,
            "T": (end - first) / day / unit,
        }
    )
    summary.index.name = customer_col
    if value_col is not None:
        # The repeat purchases' total, summed in order by numpy: a pandas
        # groupby sum differs in the last bits between pandas 2 and 3 (and
        # so would the workbooks built from it). Rows are sorted by
        # customer, then day: each customer's first row is her first day.
        customer_index = per_customer.ngroup().to_numpy()
        first_day = np.r_[True, customer_index[1:] != customer_index[:-1]]
        repeat_values = np.where(first_day, 0.0, purchases["value"].to_numpy(dtype=float))
        repeat_total = np.bincount(customer_index, weights=repeat_values, minlength=len(summary))
        summary["monetary_value"] = np.where(summary["frequency"] > 0, repeat_total / summary["frequency"].clip(lower=1).to_numpy(), 0.0)
    return summary
