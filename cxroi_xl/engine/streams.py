r"""The automation's benefit streams from measured effects: what a finance
reviewer can sign.

Each stream is the gap between what happened and what the client's own
baseline predicts would have happened anyway (its counterfactual,
:mod:`cxroi_xl.engine.counterfactual`), so a trend, a season or noise that
was there before go-live is not credited to the automation.

Over the tracked post months (go-live month = period 0):

* **service savings** :math:`(\hat h_m - h_m)\,w_m`: agent hours the
  baseline's hours-per-contacts fit predicts for the month's contacts
  (level, trend, season; OLS) minus the hours worked, at the month's hourly
  cost :math:`w_m`;
* **retained margin**: customers saved :math:`s_m = \hat c_m E_m - churned_m`
  where :math:`E_m = active_m - new_m + churned_m` are the customers at the
  month's start and :math:`\hat c_m` the counterfactual churn (quasi-binomial
  logit); the kept stock :math:`R_m = R_{m-1}(1 - \hat c_m) + s_m`,
  :math:`R_{-1} = 0`, earns :math:`R_{m-1}\, arpu\, g` (a customer kept in
  month m earns from the next month);
* **revenue uplift** (with ``leads`` and ``won``): extra wins
  :math:`x_m = won_m - leads_m \hat p_m` against the counterfactual win rate;
  the extra customers join a stock :math:`W_m = W_{m-1}(1 - \hat c_m) + x_m`
  that earns :math:`W_{m-1}\, arpu\, g` while it stays, inside the horizon
  only (no lifetime value past it);
* **proxies**: the user's estimates for intangibles, times their confidence
  (assumed, not measured).

:math:`arpu` is the baseline revenue per active customer and :math:`g` the
gross margin. Every stream has a verdict (the counterfactual's, see
:class:`~cxroi_xl.engine.counterfactual.EffectSummary`): ``demonstrated``,
``adverse``, ``not demonstrated`` or ``not estimable``; retention is
``not corroborated`` when the client's customer counts do not add up
(:math:`active_m \ne active_{m-1} + new_m - churned_m` by more than 2 % of
the stock in a post month) or the customers it actually has over the
counterfactual stock :math:`A^{cf}_m = A^{cf}_{m-1}(1 - \hat c_m) + new_m`
fall below the lower 95 % bound of the kept stock claimed.

**Headline (measured to date).** NPV and ROI of the tracked months count
the ``demonstrated`` and ``adverse`` streams (adverse ones with their sign)
and the proxies, each risk-adjusted (:func:`~cxroi_xl.engine.tracker.risk_adjusted`),
against the risk-adjusted costs. The other streams are shown beside it with
their interval. 80 % and 95 % intervals of the NPV come from the counted
streams' effects drawn from their fits.

**Horizon (a scenario beside the headline).** Every stream that has an
estimate (all but ``not estimable`` and ``not corroborated``) over the
horizon: after the last tracked month L each stream's average tracked
effect (savings per month, customers saved per month, extra wins per month)
is carried on, times a visible decay :math:`0.5^{(m - L)/h}` with a
half-life h per stream (service savings: none, while the automation runs
and is paid for; retention and uplift: 24 months) and an optional ramp-up;
the kept stocks keep decaying at the counterfactual churn forecast. Nothing
is projected with fewer than 6 tracked months. ``projected_share`` is the
share of the horizon's discounted benefit amounts (each stream's, whatever
its sign) that falls in projected months.

**Uncertainty: the data first, then the user's risk.**
:meth:`MeasuredStreams.monte_carlo` draws each driver's counterfactual from
its fit (multivariate t, correlations kept), recomputes every stream, then
multiplies each stream by a triangular draw (the user's low/high spread)
rescaled to mean :math:`1 - \rho` for a benefit (:math:`1 + \rho` for a
negative month of one) and :math:`1 + \rho_c` for costs, so the risk is
counted once and the mean trial equals the risk-adjusted scenario.

References
----------
Forrester Research, "Total Economic Impact (TEI) methodology": benefits
quantified per stream, risk-adjusted, over a horizon with ramp-up.
Brodersen, K. H. et al. (2015), Inferring causal impact using Bayesian
structural time-series models, Annals of Applied Statistics 9(1).
Bernal, J. L., Cummins, S. and Gasparrini, A. (2017), Interrupted time
series regression for the evaluation of public health interventions,
International Journal of Epidemiology 46(1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from . import counterfactual as cf
from . import finance
from .tracker import TrackerInput, month_start, proxy_flows, risk_adjusted, split_phases

__all__ = [
    "MODEL_VERSION",
    "MEASURED_STREAMS",
    "STREAMS",
    "COUNTED",
    "IN_SCENARIO",
    "DEFAULT_HALF_LIVES",
    "StreamResult",
    "MeasuredStreams",
    "measure_streams",
    "measure",
]

# What the numbers mean: part of every batch client's fingerprint, so the
# first rerun after a change of the model rebuilds every workbook.
MODEL_VERSION = "measured-1"
STREAMS = ("service", "retention", "uplift", "proxies")
MEASURED_STREAMS = ("service", "retention", "uplift")
COUNTED = ("demonstrated", "adverse")  # verdicts the headline counts
IN_SCENARIO = ("demonstrated", "adverse", "not demonstrated")  # verdicts the horizon scenario carries
DEFAULT_HALF_LIVES: dict[str, float | None] = {"service": None, "retention": 24.0, "uplift": 24.0}
STOCK_TOLERANCE = 0.02  # active = previous + new - churned, to 2 % of the stock
INTERVAL_DRAWS = 1_000  # draws of each driver behind the intervals, the corroboration bound and the Monte Carlo
METHODS = ("glm", "sts")


@dataclass(frozen=True)
class StreamResult:
    """One measured stream: its verdict and what it is worth.

    ``verdict`` is one of ``demonstrated``, ``adverse``, ``not demonstrated``,
    ``not estimable``, ``not corroborated``; ``reason`` says why in one line
    (empty for a demonstrated stream). ``pv_to_date`` is the risk-adjusted
    present value over the tracked months at the estimate, ``pv_low`` and
    ``pv_high`` its 95 % interval from the driver's fit; ``pv_horizon`` the
    risk-adjusted PV over the horizon scenario (0 when the stream is not in
    it). ``driver`` is the counterfactual behind it (None for no data).
    """

    stream: str
    verdict: str
    reason: str
    pv_to_date: float
    pv_low: float
    pv_high: float
    pv_horizon: float
    driver: cf.Counterfactual | None = field(default=None, repr=False)

    @property
    def counted(self) -> bool:
        """In the measured-to-date headline."""
        return self.verdict in COUNTED

    @property
    def in_scenario(self) -> bool:
        """In the horizon scenario."""
        return self.verdict in IN_SCENARIO


@dataclass(frozen=True)
class MeasuredStreams:
    """Every stream month by month, the headline and the horizon scenario.

    ``monthly`` has one row per period 0..H-1: ``month``, ``period``,
    ``projected``; the drivers (``hours``, ``hours_expected``, ``churn``,
    ``churn_expected``, ``exposure``, ``win_rate``, ``win_rate_expected``,
    blank where a driver has no data or past the tracked months);
    ``customers_saved``, ``customers_kept``, ``extra_wins``, ``wins_kept``,
    ``decay_retention``, ``decay_uplift``; each stream of :data:`STREAMS` raw
    and ``<stream>_adjusted``; ``benefit`` (the headline's counted streams,
    tracked months only), ``benefit_horizon`` (the scenario's streams),
    ``cost``, ``cost_adjusted``, ``net_horizon``, ``discounted_net_horizon``
    and ``cumulative_net_horizon``.
    """

    monthly: pd.DataFrame
    tracked_months: int
    baseline_months: int
    horizon_months: int
    monthly_rate: float
    baseline_churn: float  # customers churned / customers at the month's start over the baseline
    baseline_arpu: float
    gross_margin: float
    risks: dict  # stream and "cost" -> risk factor
    half_lives: dict
    ramp_months: int
    method: str
    sufficiency: cf.Sufficiency
    results: dict  # stream -> StreamResult (service, retention, uplift)
    to_date: finance.TEIResult  # the headline: counted streams and proxies, tracked months
    horizon: finance.TEIResult  # the scenario over the horizon
    npv_interval: dict  # confidence -> (low, high) of the to-date NPV
    projected_share: float | None
    _draws: dict = field(default_factory=dict, repr=False, compare=False)
    _trial_weights: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def has_uplift(self) -> bool:
        return self.results["uplift"].driver is not None

    def verdict(self, stream: str) -> str:
        return self.results[stream].verdict if stream in self.results else "assumed"

    def roi_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The to-date ROI's interval: the NPV's over PV costs (costs are known)."""
        low, high = self.npv_interval[confidence]
        return low / self.to_date.pv_costs, high / self.to_date.pv_costs

    def stream_pv(self, over: str = "horizon") -> dict[str, float]:
        """Risk-adjusted present value of each stream over the horizon
        scenario (0 for a stream not in it) or the tracked months at the
        estimate (every stream, counted or not)."""
        if over not in ("horizon", "to_date"):
            raise InvalidInputError('over must be "horizon" or "to_date"')
        rows = self.monthly if over == "horizon" else self.monthly.iloc[: self.tracked_months]
        discount = (1.0 + self.monthly_rate) ** -rows["period"].to_numpy(float)
        out = {}
        for s in STREAMS:
            flows = rows[f"{s}_adjusted"].to_numpy(float)
            included = s == "proxies" or over == "to_date" or self.results[s].in_scenario
            out[s] = float(flows @ discount) if included else 0.0
        return out

    def monte_carlo(self, low, high, cost_low: float = 1.0, cost_high: float = 1.0, trials: int = 10_000, seed: int = 1, bins: int = 20):
        """NPV and ROI of the horizon scenario with every measured stream's
        effect drawn from its fit, then the user's spreads (module docstring).

        ``low`` and ``high``: one triangular multiplier pair per stream of
        :data:`STREAMS` (mode 1), rescaled so that each has mean
        :math:`1 - \\rho` for the stream (proxies: 1, their confidence is
        their risk) and the cost pair mean :math:`1 + \\rho_c`. Returns a
        :class:`~cxroi_xl.engine.risk.MonteCarloResult`.

        A trial takes multipliers :math:`m_s`, :math:`m_c` and, for each
        measured stream in the scenario, one of its fit's draws of the
        monthly flows :math:`x_{s,t}`, gains scaled by :math:`m_s` and
        losses by :math:`2 - m_s`. Its NPV is linear in the multipliers,

        .. math:: NPV = \\sum_s \\bigl(m_s\\,PV(|x_s|) + 2\\,PV(x_s^-)\\bigr)
                  + m_p PV_p - m_c PV_c

        (:math:`x^-` the losses, p the proxies), so every present value is
        computed once, when the model is measured, and the trials are a
        weighted sum: the same numbers, to rounding, as discounting every
        trial's months.
        """
        from . import risk

        low = np.broadcast_to(np.asarray(low, float), (len(STREAMS),))
        high = np.broadcast_to(np.asarray(high, float), (len(STREAMS),))
        if int(trials) != trials or not 2 <= trials <= risk.MAX_TRIALS:
            raise OutOfDomainError(f"trials must be a whole number from 2 to {risk.MAX_TRIALS:,}")
        trials = int(trials)
        weights = self._trial_weights or _trial_weights(self.monthly, self.monthly_rate, self.results, self._draws)
        rng = np.random.default_rng(seed)
        # a uniform draw per stream and trial, the costs' last (the draws'
        # order: the same seed gives the same trials); a multiplier, rescaled
        # to its mean, only where the stream adds something to the NPV
        uniforms = rng.random((trials, len(STREAMS) + 1))
        lows, highs = np.append(low, cost_low), np.append(high, cost_high)
        means = np.array([1.0 if s == "proxies" else 1.0 - self.risks[s] for s in STREAMS] + [1.0 + self.risks["cost"]])
        used = [j for j, s in enumerate(STREAMS) if s in weights["drawn"] or (s == "proxies" and weights["proxies"] != 0)] + [len(STREAMS)]
        scaled = risk.triangular_multipliers(uniforms[:, used], lows[used], highs[used]) * (means[used] / ((lows[used] + 1.0 + highs[used]) / 3.0))
        multiplier = dict(zip(used, scaled.T))
        # every stream is linear in its multiplier m: the proxies and the costs
        # m x PV; a measured stream m x PV(|flows|) + 2 PV(losses) of the
        # trial's draw of its fit (a month that lost money is made worse by
        # the risk, as in the headline), so each is discounted once, at measure
        cost = multiplier[len(STREAMS)] * weights["cost"]
        npv = -cost
        for j, s in enumerate(STREAMS):
            if s == "proxies" and j in multiplier:
                npv += multiplier[j] * weights["proxies"]
            elif s in weights["drawn"]:
                magnitude, losses_twice = weights["drawn"][s]
                pick = rng.integers(0, magnitude.size, trials)
                npv += multiplier[j] * magnitude[pick]
                if losses_twice is not None:
                    npv += losses_twice[pick]
        return risk.summarise_trials(npv, cost, bins)


def _trial_weights(monthly: pd.DataFrame, rate: float, results: dict, drawn: dict) -> dict:
    """What :meth:`MeasuredStreams.monte_carlo` weighs each trial's
    multipliers with, discounted once: the present values of the proxies
    and the costs; for each scenario stream drawn from its fit, per draw,
    the PV of the absolute monthly flows and twice the PV of the losses
    (:math:`m P + (2 - m) N = m (P - N) + 2N` with P and N the PVs of the
    gains and the losses; None when no draw has a loss)."""
    discount = (1.0 + rate) ** -monthly["period"].to_numpy(float)
    weights = {
        "proxies": float(monthly["proxies_adjusted"].to_numpy(float) @ discount),
        "cost": float(monthly["cost"].to_numpy(float) @ discount),
        "drawn": {},
    }
    for s in MEASURED_STREAMS:
        if s in drawn and results[s].in_scenario:
            gains, losses = drawn[s]["pv_positive"], drawn[s]["pv_negative"]
            weights["drawn"][s] = (gains - losses, 2.0 * losses if np.any(losses) else None)
    return weights


# ---- the model ------------------------------------------------------------------------------


def _decay(half_life: float | None, horizon: int, tracked: int, ramp_months: int) -> np.ndarray:
    """Factor on the projected months' effect: ramp-up times half-life decay
    after the last tracked month (1 on tracked months)."""
    m = np.arange(horizon, dtype=float)
    factor = np.ones(horizon)
    projected = m >= tracked
    if half_life is not None:
        factor[projected] = 0.5 ** ((m[projected] - (tracked - 1)) / float(half_life))
    if ramp_months > 0:
        factor[projected] *= np.minimum(1.0, (m[projected] + 1.0) / float(ramp_months))
    return factor


def _stock(inflow: np.ndarray, survival: np.ndarray) -> np.ndarray:
    """S_m = S_(m-1) survival_m + inflow_m, S_(-1) = 0, along the last axis
    (a few dozen months; the draws are the other axis)."""
    stock = np.empty_like(inflow)
    previous = np.zeros(inflow.shape[:-1])
    for m in range(inflow.shape[-1]):
        previous = previous * survival[..., m] + inflow[..., m]
        stock[..., m] = previous
    return stock


def _earning(stock: np.ndarray, per_customer: float) -> np.ndarray:
    """A customer kept or won in month m earns from month m + 1."""
    earned = np.zeros_like(stock)
    earned[..., 1:] = stock[..., :-1] * per_customer
    return earned


def _stream_parts(stream: str, expected_post: np.ndarray, spec: dict, tracked: int, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flow, inflow, stock) of a measured stream over the horizon from the
    counterfactual of its tracked months (one path, or draws x months).

    Service savings have no stock: inflow and stock are the flow itself.
    Retention's inflow is the customers saved, uplift's the extra wins;
    after the tracked months the inflow is the tracked average times the
    stream's decay and ramp, and the stock keeps decaying at the
    counterfactual churn."""
    expected_post = np.asarray(expected_post, float)
    shape = expected_post.shape[:-1]
    decay = spec["decay"]
    if stream == "service":
        tracked_flow = (expected_post - spec["actual"]) * spec["hourly_cost"]
        average = tracked_flow.mean(axis=-1, keepdims=True)
        flow = np.concatenate([tracked_flow, np.broadcast_to(average * decay[tracked:], (*shape, horizon - tracked))], axis=-1)
        return flow, flow, flow
    if stream == "retention":
        rate = np.clip(expected_post, 0.0, 1.0)
        saved = rate * spec["exposure"] - spec["events"]
        survival_tracked = 1.0 - rate
    else:  # uplift: extra wins against the counterfactual win rate
        saved = spec["events"] - np.clip(expected_post, 0.0, 1.0) * spec["exposure"]
        survival_tracked = np.broadcast_to(spec["survival"][:tracked], saved.shape)
    average = saved.mean(axis=-1, keepdims=True)
    inflow = np.concatenate([saved, np.broadcast_to(average * decay[tracked:], (*shape, horizon - tracked))], axis=-1)
    survival = np.concatenate([survival_tracked, np.broadcast_to(spec["survival"][tracked:], (*shape, horizon - tracked))], axis=-1)
    stock = _stock(inflow, survival)
    return _earning(stock, spec["per_customer"]), inflow, stock


def _flows(stream: str, expected_post: np.ndarray, spec: dict, tracked: int, horizon: int) -> np.ndarray:
    """The raw monthly flows of :func:`_stream_parts`."""
    return _stream_parts(stream, expected_post, spec, tracked, horizon)[0]


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(float)


def _months_consecutive(months: pd.Series) -> bool:
    index = pd.DatetimeIndex(months)
    ordinal = index.year * 12 + index.month
    return bool(np.all(np.diff(ordinal) == 1))


def _controls_matrix(controls: pd.DataFrame | None, months: pd.Series) -> np.ndarray | None:
    """The control series (``month, name, value`` rows) as one column per
    name, aligned with ``months``; every month must have every control."""
    if controls is None or len(controls) == 0:
        return None
    missing = [c for c in ("month", "name", "value") if c not in controls.columns]
    if missing:
        raise InvalidInputError("controls need the column(s) " + ", ".join(missing))
    frame = controls.assign(month=pd.DatetimeIndex(month_start(controls["month"])))
    wide = frame.pivot_table(index="month", columns="name", values="value", aggfunc="first")
    wide = wide.reindex(pd.DatetimeIndex(months))
    if wide.isna().any().any():
        gaps = wide.index[wide.isna().any(axis=1)]
        raise InvalidInputError(f"a control series has no value for {gaps[0]:%Y-%m}: give every control in every month")
    return wide.to_numpy(float)


def _fit(kind: str, method: str, values: dict, n_b: int, first_month: int, controls, good: str) -> cf.Counterfactual:
    if method == "sts":
        if kind == "rate":
            y = values["events"] / values["exposure"]
        else:
            y = values["y"]
        return cf.sts_counterfactual(y, n_b, first_month, good=good)
    if kind == "rate":
        return cf.rate_counterfactual(values["events"], values["exposure"], n_b, first_month, controls=controls, good=good)
    return cf.linear_counterfactual(values["y"], n_b, first_month, regressors=values.get("regressor"), controls=controls, good=good)


def _forecast_rate(driver: cf.Counterfactual | None, n_b: int, first_month: int, horizon: int, tracked: int, fallback: float) -> np.ndarray:
    """Counterfactual churn for every horizon month: the fit's tracked
    months, then its forecast (trend and season). A fit with controls or
    regressors, which have no future, or a structural model holds its last
    tracked value; without a fit the baseline churn ``fallback``."""
    if driver is None or not driver.estimable:
        return np.full(horizon, fallback)
    out = np.empty(horizon)
    out[:tracked] = driver.expected[n_b:]
    if horizon > tracked:
        if driver.kind == "rate" and set(driver.terms) <= _TIME_TERMS:
            x, _ = cf.design_matrix(n_b, n_b + horizon, first_month)
            out[tracked:] = 1.0 / (1.0 + np.exp(-(x[n_b + tracked :] @ driver.beta)))
        else:
            out[tracked:] = out[tracked - 1]
    return np.clip(out, 0.0, 1.0)


_TIME_TERMS = frozenset({"intercept", "trend", "annual_sin", "annual_cos", *(f"month_{k}" for k in range(2, 13))})


def _verdict_of(driver: cf.Counterfactual | None, missing: str) -> tuple[str, str]:
    if driver is None:
        return "not estimable", missing
    if not driver.estimable:
        return "not estimable", driver.reason
    verdict = driver.effect.verdict
    reasons = {
        "demonstrated": "",
        "adverse": "the whole 95% interval lies on the bad side",
        "not demonstrated": "the 95% interval of the effect contains zero",
    }
    return verdict, reasons.get(verdict, "")


def _stock_identity_break(post: pd.DataFrame, last_baseline_active: float) -> str:
    """The first post month whose counts break active = previous + new -
    churned by more than :data:`STOCK_TOLERANCE` of the stock, as text."""
    active = _column(post, "active_customers")
    previous = np.concatenate([[last_baseline_active], active[:-1]])
    expected = previous + _column(post, "new_customers") - _column(post, "churned_customers")
    bad = np.abs(active - expected) > STOCK_TOLERANCE * np.maximum(previous, 1.0)
    if not bad.any():
        return ""
    i = int(np.argmax(bad))
    month = pd.Timestamp(post["month"].iloc[i])
    return (
        f"the customer counts do not add up in {month:%Y-%m}: active {active[i]:,.0f} is not previous {previous[i]:,.0f} "
        f"+ new - churned = {expected[i]:,.0f} (more than {STOCK_TOLERANCE:.0%} apart)"
    )


def measure_streams(
    kpis: pd.DataFrame,
    go_live,
    one_off_costs: pd.DataFrame | None = None,
    proxies: pd.DataFrame | None = None,
    annual_discount_rate: float = 0.10,
    service_risk: float = 0.10,
    retention_risk: float = 0.25,
    uplift_risk: float = 0.25,
    cost_risk: float = 0.05,
    gross_margin: float = 0.5,
    horizon_months: int = 36,
    method: str = "glm",
    controls: pd.DataFrame | None = None,
    half_lives: dict | None = None,
    ramp_months: int = 0,
) -> MeasuredStreams:
    r"""Every benefit stream from its measured effect, the measured-to-date
    headline and the horizon scenario (module docstring).

    Parameters
    ----------
    kpis : DataFrame
        One row per month, consecutive, baseline months then the go-live
        month and after: ``month`` and the tracker's KPI columns
        (:data:`~cxroi_xl.engine.tracker.KPI_COLUMNS`), optionally ``leads``
        and ``won``; amounts in the client's currency.
    go_live : date-like
        Any day of the go-live month.
    one_off_costs : DataFrame, optional
        ``date`` and ``amount`` (currency); dated before go-live: period 0.
    proxies : DataFrame, optional
        ``name, monthly_value, first_month, last_month, confidence``.
    annual_discount_rate : float
        Fraction per year; flows are discounted monthly at
        :math:`(1 + r)^{1/12} - 1`.
    service_risk, retention_risk, uplift_risk, cost_risk : float
        Risk factors (fractions): benefits times :math:`1 - \rho` (a negative
        month times :math:`1 + \rho`), costs times :math:`1 + \rho_c`.
    gross_margin : float
        g, fraction 0..1 of revenue.
    horizon_months : int
        Months from go-live of the scenario (at least the tracked months).
    method : {"glm", "sts"}
        ``glm``: the fits of :mod:`~cxroi_xl.engine.counterfactual` (logit
        for rates, OLS for hours); ``sts``: a structural time-series model
        for each driver (needs 36 baseline months; never chosen for you).
    controls : DataFrame, optional
        ``month, name, value``: series the automation does not touch, as
        regressors of every fit.
    half_lives : dict, optional
        Stream -> half-life in months of its projected effect (None: no
        decay); default :data:`DEFAULT_HALF_LIVES`.
    ramp_months : int
        Months from go-live until a projected effect has its full size
        (0: at once).

    Returns
    -------
    MeasuredStreams

    Examples
    --------
    Twelve baseline months at 0.1 agent hours per contact (give or take
    0.2 hours), then six months at 0.08; churn without a trend or an effect;
    no discount, risk or horizon beyond the tracked months:

    >>> months = pd.period_range("2024-01", periods=18, freq="M").strftime("%Y-%m")
    >>> contacts = [100 + 10 * (i % 3) for i in range(18)]
    >>> hours = [0.1 * c + 0.2 * (-1) ** i for i, c in enumerate(contacts[:12])] + [0.08 * c for c in contacts[12:]]
    >>> kpis = pd.DataFrame({"month": months, "contacts": contacts, "agent_hours": hours,
    ...     "hourly_cost": [20.0] * 18, "active_customers": [1000] * 18, "new_customers": [20] * 18,
    ...     "churned_customers": [20, 21, 19, 20, 22, 18] * 3, "revenue": [10_000.0] * 18,
    ...     "automation_cost": [0.0] * 12 + [10.0] * 6})
    >>> m = measure_streams(kpis, "2025-01-01", annual_discount_rate=0, service_risk=0, cost_risk=0, horizon_months=6)
    >>> m.verdict("service"), m.verdict("retention"), m.verdict("uplift")
    ('demonstrated', 'not demonstrated', 'not estimable')

    The headline counts the service savings alone, 254.4 against costs of 60
    (the baseline's fit expects 9.93 hours for the first month's 100
    contacts, 1.93 more than worked, at 20 an hour: 38.7):

    >>> round(float(m.monthly["service"].iloc[0]), 1), round(m.to_date.npv, 1), round(m.to_date.roi, 2)
    (38.7, 194.4, 3.24)
    """
    half_lives = {**DEFAULT_HALF_LIVES, **(half_lives or {})}
    for name, value in (("service", service_risk), ("retention", retention_risk), ("uplift", uplift_risk)):
        if not 0 <= value <= 1:
            raise OutOfDomainError(f"{name} risk must lie between 0 and 1")
    if not cost_risk >= 0:
        raise OutOfDomainError("cost risk must not be negative")
    if not 0 <= gross_margin <= 1:
        raise OutOfDomainError("gross margin must lie between 0 and 1")
    if int(horizon_months) != horizon_months or horizon_months < 1:
        raise InvalidInputError("horizon_months must be a whole number of at least 1")
    if method not in METHODS:
        raise InvalidInputError(f'method must be "glm" or "sts", got {method!r}')
    for name, value in half_lives.items():
        if value is not None and not (np.isfinite(value) and value > 0):
            raise InvalidInputError(f"the half-life of {name} must be a positive number of months or blank (no decay)")
    if int(ramp_months) != ramp_months or ramp_months < 0:
        raise InvalidInputError("ramp_months must be a whole number >= 0")

    baseline, post = split_phases(kpis, go_live)
    if baseline.empty:
        raise InvalidInputError("no baseline months before go-live")
    if post.empty:
        raise InvalidInputError("no months from go-live on")
    go_live_month = month_start([go_live]).iloc[0]
    if pd.Timestamp(post["month"].iloc[0]) != go_live_month:
        raise InvalidInputError("post-automation months must be consecutive from the go-live month")
    both = pd.concat([baseline, post], ignore_index=True)
    if not _months_consecutive(both["month"]):
        raise InvalidInputError("months must be consecutive, the baseline up to the month before go-live and the tracked months from go-live on")
    n_b, tracked = len(baseline), len(post)
    sufficiency = cf.sufficiency(n_b, tracked, controls is not None and len(controls) > 0)
    horizon = max(int(horizon_months), tracked) if sufficiency.projectable else tracked
    first_month = int(pd.Timestamp(both["month"].iloc[0]).month)
    control_matrix = _controls_matrix(controls, both["month"])
    rate = finance.monthly_rate(annual_discount_rate)

    # drivers and their data
    exposure = _column(both, "active_customers") - _column(both, "new_customers") + _column(both, "churned_customers")
    if np.any(exposure <= 0):
        i = int(np.argmax(exposure <= 0))
        raise ZeroDenominatorError(f"no customers at the start of {pd.Timestamp(both['month'].iloc[i]):%Y-%m} (active - new + churned), so churn is undefined")
    base_exposure = exposure[:n_b].sum()
    churn0 = float(_column(baseline, "churned_customers").sum() / base_exposure)
    base_active = _column(baseline, "active_customers").sum()
    if base_active == 0:
        raise ZeroDenominatorError("baseline months have no active customers, so revenue per customer is undefined")
    arpu = float(_column(baseline, "revenue").sum() / base_active)
    per_customer = arpu * gross_margin

    service_driver = _fit("linear", method, {"y": _column(both, "agent_hours"), "regressor": _column(both, "contacts")}, n_b, first_month, control_matrix, "down")
    churn_driver = _fit("rate", method, {"events": _column(both, "churned_customers"), "exposure": exposure}, n_b, first_month, control_matrix, "down")
    has_leads = "leads" in both.columns and "won" in both.columns and both["leads"].notna().all() and both["won"].notna().all()
    if "leads" in both.columns and both["leads"].notna().any() and not has_leads:
        raise InvalidInputError("leads and won must be given in every month or in none")
    win_driver = None
    if has_leads:
        leads = _column(both, "leads")
        if np.any(leads[:n_b] <= 0) and method == "glm":
            raise ZeroDenominatorError("a baseline month has no leads, so its win rate is undefined")
        win_driver = _fit("rate", method, {"events": _column(both, "won"), "exposure": np.maximum(leads, 1e-12)}, n_b, first_month, control_matrix, "up")

    churn_path = _forecast_rate(churn_driver, n_b, first_month, horizon, tracked, churn0)
    survival = 1.0 - churn_path
    specs = {
        "service": {"driver": service_driver, "actual": _column(post, "agent_hours"), "hourly_cost": _column(post, "hourly_cost"), "decay": _decay(half_lives["service"], horizon, tracked, ramp_months)},
        "retention": {"driver": churn_driver, "events": _column(post, "churned_customers"), "exposure": exposure[n_b:], "survival": survival, "per_customer": per_customer, "decay": _decay(half_lives["retention"], horizon, tracked, ramp_months)},
    }
    if win_driver is not None:
        specs["uplift"] = {"driver": win_driver, "events": _column(post, "won"), "exposure": _column(post, "leads"), "survival": survival, "per_customer": per_customer, "decay": _decay(half_lives["uplift"], horizon, tracked, ramp_months)}

    raw, inflows, stocks = {}, {}, {}
    for s in MEASURED_STREAMS:
        spec = specs.get(s)
        if spec is None or not spec["driver"].estimable:
            raw[s] = inflows[s] = stocks[s] = np.zeros(horizon)
        else:
            raw[s], inflows[s], stocks[s] = _stream_parts(s, spec["driver"].expected[n_b:], spec, tracked, horizon)

    verdicts = {
        "service": _verdict_of(service_driver, ""),
        "retention": _verdict_of(churn_driver, ""),
        "uplift": _verdict_of(win_driver, "no leads and won given"),
    }

    # every estimable stream drawn once from its driver's fit: the to-date
    # intervals, the corroboration bound and the Monte Carlo all use these
    rng = np.random.default_rng(20240601)
    discount = (1.0 + rate) ** -np.arange(horizon, dtype=float)
    risks = {"service": float(service_risk), "retention": float(retention_risk), "uplift": float(uplift_risk), "cost": float(cost_risk)}
    drawn = {}
    for s in MEASURED_STREAMS:
        spec = specs.get(s)
        if spec is None or not spec["driver"].estimable:
            continue
        flows, _, stock = _stream_parts(s, spec["driver"].draws(INTERVAL_DRAWS, rng), spec, tracked, horizon)
        # centred on the estimate, month by month: the pool's own sampling
        # error would otherwise shift every Monte Carlo mean away from it
        flows = flows - flows.mean(axis=0) + raw[s]
        drawn[s] = {
            "pv_to_date": risk_adjusted(flows[:, :tracked], risks[s]) @ discount[:tracked],
            "pv_positive": np.clip(flows, 0.0, None) @ discount,
            "pv_negative": np.clip(flows, None, 0.0) @ discount,
            "stock": stock[:, tracked - 1],
        }

    # retention corroborated by the customer base: counts that do not add up
    # void any estimate; a claimed gain must show in the customers there are
    broken = _stock_identity_break(post, float(baseline["active_customers"].iloc[-1])) if verdicts["retention"][0] in IN_SCENARIO else ""
    if broken:
        verdicts["retention"] = ("not corroborated", broken)
    elif verdicts["retention"][0] == "demonstrated":
        kept_low = float(np.quantile(drawn["retention"]["stock"], 0.025))
        cf_stock = float(baseline["active_customers"].iloc[-1])
        for m in range(tracked):
            cf_stock = cf_stock * (1.0 - churn_path[m]) + float(post["new_customers"].iloc[m])
        gap = float(post["active_customers"].iloc[-1]) - cf_stock
        if gap < kept_low:
            verdicts["retention"] = (
                "not corroborated",
                f"the customer base holds {gap:,.0f} customers more than the counterfactual, below the {kept_low:,.0f} (lower 95% bound) the lower churn claims",
            )

    adjusted = {s: risk_adjusted(raw[s], risks[s]) for s in MEASURED_STREAMS}
    proxy_raw, proxy_adjusted = proxy_flows(proxies, go_live_month, horizon)
    adjusted["proxies"] = proxy_adjusted
    raw["proxies"] = proxy_raw

    # costs: automation cost of the tracked months, its recent average after; one-off costs by month
    automation_cost = _column(post, "automation_cost")
    cost = np.concatenate([automation_cost, np.full(horizon - tracked, float(np.mean(automation_cost[-3:])))])
    if one_off_costs is not None and len(one_off_costs):
        cost_month = month_start(one_off_costs["date"])
        cost_period = np.asarray((pd.DatetimeIndex(cost_month).year - go_live_month.year) * 12 + (pd.DatetimeIndex(cost_month).month - go_live_month.month))
        amount = one_off_costs["amount"].to_numpy(float)
        inside = cost_period < horizon
        np.add.at(cost, np.maximum(cost_period[inside], 0), amount[inside])
    cost_adjusted = cost * (1.0 + cost_risk)

    counted = [s for s in MEASURED_STREAMS if verdicts[s][0] in COUNTED]
    scenario = [s for s in MEASURED_STREAMS if verdicts[s][0] in IN_SCENARIO]
    benefit = sum((adjusted[s] for s in counted), np.zeros(horizon)) + proxy_adjusted
    benefit_horizon = sum((adjusted[s] for s in scenario), np.zeros(horizon)) + proxy_adjusted
    to_date = finance.tei(benefit[:tracked], cost_adjusted[:tracked], rate)
    over_horizon = finance.tei(benefit_horizon, cost_adjusted, rate)
    # the share of the scenario's benefit amounts (each stream's, whatever its
    # sign, so a loss in one stream cannot push it outside 0..1) in projected months
    amounts = sum((np.abs(adjusted[s]) for s in (*scenario, "proxies")), np.zeros(horizon)) * discount
    projected_share = float(amounts[tracked:].sum() / amounts.sum()) if amounts.sum() > 0 else None

    # data uncertainty of the to-date figures: the counted streams' draws
    pv_draws = {s: d["pv_to_date"] for s, d in drawn.items()}
    base_npv = float((proxy_adjusted[:tracked] - cost_adjusted[:tracked]) @ discount[:tracked])
    npv_draws = base_npv + sum((pv_draws[s] for s in counted), np.zeros(INTERVAL_DRAWS))
    npv_interval = {c: (float(np.quantile(npv_draws, (1 - c) / 2)), float(np.quantile(npv_draws, (1 + c) / 2))) for c in (0.8, 0.95)}
    if not counted:  # nothing measured is counted: the headline is exact
        npv_interval = {c: (to_date.npv, to_date.npv) for c in (0.8, 0.95)}

    results = {}
    for s in MEASURED_STREAMS:
        pv_to_date = float(adjusted[s][:tracked] @ discount[:tracked])
        low, high = (float(np.quantile(pv_draws[s], 0.025)), float(np.quantile(pv_draws[s], 0.975))) if s in pv_draws else (float("nan"), float("nan"))
        driver = specs[s]["driver"] if s in specs else None
        results[s] = StreamResult(s, verdicts[s][0], verdicts[s][1], pv_to_date, low, high, float(adjusted[s] @ discount) if s in scenario else 0.0, driver)

    def post_values(values, length=horizon):
        out = np.full(length, np.nan)
        out[:tracked] = values
        return out

    net = benefit_horizon - cost_adjusted
    columns = {
        "month": pd.date_range(go_live_month, periods=horizon, freq="MS"),
        "period": np.arange(horizon),
        "projected": np.arange(horizon) >= tracked,
        "hours": post_values(_column(post, "agent_hours")),
        "hours_expected": post_values(service_driver.expected[n_b:]),
        "exposure": post_values(exposure[n_b:]),
        "churn": post_values(_column(post, "churned_customers") / exposure[n_b:]),
        "churn_expected": churn_path,
        "win_rate": post_values(_column(post, "won") / np.maximum(_column(post, "leads"), 1e-12)) if has_leads else np.full(horizon, np.nan),
        "win_rate_expected": post_values(win_driver.expected[n_b:]) if win_driver is not None else np.full(horizon, np.nan),
        "customers_saved": inflows["retention"],
        "customers_kept": stocks["retention"],
        "extra_wins": inflows["uplift"],
        "wins_kept": stocks["uplift"],
        "decay_service": specs["service"]["decay"],
        "decay_retention": specs["retention"]["decay"],
        "decay_uplift": _decay(half_lives["uplift"], horizon, tracked, ramp_months),
        **{name: values for s in STREAMS for name, values in ((s, raw[s]), (f"{s}_adjusted", adjusted[s]))},
        "benefit": np.where(np.arange(horizon) >= tracked, 0.0, benefit),
        "benefit_horizon": benefit_horizon,
        "cost": cost,
        "cost_adjusted": cost_adjusted,
        "net_horizon": net,
        "discounted_net_horizon": net * discount,
        "cumulative_net_horizon": np.cumsum(net * discount),
    }
    monthly = pd.DataFrame(columns)  # one construction: column by column costs more than the model
    return MeasuredStreams(
        monthly=monthly,
        tracked_months=tracked,
        baseline_months=n_b,
        horizon_months=horizon,
        monthly_rate=rate,
        baseline_churn=churn0,
        baseline_arpu=arpu,
        gross_margin=float(gross_margin),
        risks=risks,
        half_lives=half_lives,
        ramp_months=int(ramp_months),
        method=method,
        sufficiency=sufficiency,
        results=results,
        to_date=to_date,
        horizon=over_horizon,
        npv_interval=npv_interval,
        projected_share=projected_share,
        _draws=drawn,
        _trial_weights=_trial_weights(monthly, rate, results, drawn),
    )


def measure(data: TrackerInput) -> MeasuredStreams:
    """:func:`measure_streams` of one client's :class:`~cxroi_xl.engine.tracker.TrackerInput`
    (service savings take its ``benefit_risk``)."""
    return measure_streams(
        data.kpis,
        data.go_live,
        data.costs,
        data.proxies,
        annual_discount_rate=data.discount_rate,
        service_risk=data.benefit_risk,
        retention_risk=data.retention_risk,
        uplift_risk=data.uplift_risk,
        cost_risk=data.cost_risk,
        gross_margin=data.gross_margin,
        horizon_months=data.horizon_months,
        method=data.method,
        controls=data.controls,
        half_lives=data.half_lives,
        ramp_months=data.ramp_months,
    )
