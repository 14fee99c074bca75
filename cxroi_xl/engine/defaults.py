"""The model's defaults that every output shares: the Monte Carlo spreads,
trials and seed of the Scenarios sheet and the summary's P(NPV > 0), and the
measured model of a client computed once per client.
"""
from __future__ import annotations

from ..errors import CXError
from .streams import STREAMS, MeasuredStreams, measure
from .tracker import TrackerInput

__all__ = ["DEFAULT_SPREADS", "MONTE_CARLO_TRIALS", "MONTE_CARLO_SEED", "holistic_model", "default_monte_carlo"]

# Low / high multipliers of each stream's expected size (triangular, mode 1)
# for the Monte Carlo risk; the Monte Carlo rescales each to the mean the
# stream's risk factor gives (1 - risk), so risk is counted once. Service savings
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


_LAST_MODEL: list = []  # [(data, model)]: the last client's measured model


def holistic_model(data: TrackerInput) -> MeasuredStreams | None:
    """:func:`~cxroi_xl.engine.streams.measure` of ``data``, or None when the
    engine refuses the data.

    The batch asks for it twice per client (its summary line and its
    workbook); the last client's model is kept so it is computed once."""
    if _LAST_MODEL and _LAST_MODEL[0][0] is data:
        return _LAST_MODEL[0][1]
    try:
        model = measure(data)
    except CXError:
        model = None
    _LAST_MODEL[:] = [(data, model)]
    return model


_LAST_RISK: list = []  # [(model, bins, MonteCarloResult)]


def default_monte_carlo(streams: MeasuredStreams, bins: int = 20):
    """:meth:`~cxroi_xl.engine.streams.MeasuredStreams.monte_carlo` at
    :data:`DEFAULT_SPREADS` (the summary's P(NPV > 0) and the Scenarios
    sheet's table; the last model's result is kept, so it runs once)."""
    if _LAST_RISK and _LAST_RISK[0][0] is streams and _LAST_RISK[0][1] == bins:
        return _LAST_RISK[0][2]
    low = [DEFAULT_SPREADS[s][0] for s in STREAMS]
    high = [DEFAULT_SPREADS[s][1] for s in STREAMS]
    cost_low, cost_high = DEFAULT_SPREADS["cost"]
    result = streams.monte_carlo(low, high, cost_low, cost_high, MONTE_CARLO_TRIALS, MONTE_CARLO_SEED, bins)
    _LAST_RISK[:] = [(streams, bins, result)]
    return result
