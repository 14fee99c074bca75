"""The model's defaults that every output shares: the Monte Carlo spreads,
trials and seed of the Scenarios sheet and the summary's P(NPV > 0), and the
holistic model of a client computed once per client.
"""
from __future__ import annotations

from ..errors import CXError
from .tracker import STREAMS, TrackerInput

__all__ = ["DEFAULT_SPREADS", "MONTE_CARLO_TRIALS", "MONTE_CARLO_SEED", "holistic_model", "default_monte_carlo"]

# Low / high multipliers of each stream's expected size (triangular, mode 1)
# for the Monte Carlo risk, replacing the fixed risk factors. Service savings
# rest on counted contacts and hours: narrow. Retained margin depends on
# churn staying down and on the margin assumed: wide, skewed down. Revenue
# uplift on win rates of small counts: wider still. Proxies are estimates
# the user already discounts by a confidence: up to nothing at worst, never
# above the estimate. Costs overrun more often than they undershoot.
DEFAULT_SPREADS: dict[str, tuple[float, float]] = {
    "service": (0.9, 1.1),
    "retention": (0.6, 1.2),
    "uplift": (0.5, 1.2),
    "proxies": (0.5, 1.0),
    "cost": (0.95, 1.3),
}

MONTE_CARLO_TRIALS = 10_000

MONTE_CARLO_SEED = 1


_LAST_MODEL: list = []  # [(data, model)]: the last client's holistic model

def holistic_model(data: TrackerInput):
    """``data.streams()``, or None when the engine refuses the data.

    The batch asks for it twice per client (its summary line and its
    workbook); the last client's model is kept so it is computed once."""
    if _LAST_MODEL and _LAST_MODEL[0][0] is data:
        return _LAST_MODEL[0][1]
    try:
        model = data.streams()
    except CXError:
        model = None
    _LAST_MODEL[:] = [(data, model)]
    return model


_LAST_RISK: list = []  # [(model, bins, MonteCarloResult)]

def default_monte_carlo(streams, bins: int = 20):
    """:meth:`~cxroi_xl.engine.tracker.BenefitStreams.monte_carlo` at
    :data:`DEFAULT_SPREADS` (the summary's P(NPV > 0) and the Scenarios
    sheet's table; the last model's result is kept, so it runs once)."""
    if _LAST_RISK and _LAST_RISK[0][0] is streams and _LAST_RISK[0][1] == bins:
        return _LAST_RISK[0][2]
    low = [DEFAULT_SPREADS[s][0] for s in STREAMS]
    high = [DEFAULT_SPREADS[s][1] for s in STREAMS]
    cost_low, cost_high = DEFAULT_SPREADS["cost"]
    from ..engine import risk

    block, costs, _ = streams.risk_inputs()
    result = risk.monte_carlo_npv(block, costs, streams.monthly_rate, low, high, cost_low, cost_high, MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, bins)
    _LAST_RISK[:] = [(streams, bins, result)]
    return result
