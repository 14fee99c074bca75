"""Risk as a range: CXMONTECARLO, CXTORNADO."""
from __future__ import annotations

from ...engine import risk
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX risk"


_STREAMS = Arg(
    "benefit_streams",
    "array",
    "Benefits per period BEFORE risk adjustment, period 0 first: one column per stream (service, retention, ...), one row per period (blanks count as 0).",
    "currency",
)
_COSTS = Arg("costs", "numbers", "Costs per period before risk adjustment, one per row of benefit_streams (blanks count as 0).", "currency")
_RATE = Arg("discount_rate", "number", "Discount rate per period; for monthly flows (1+annual)^(1/12)-1.", "fraction per period")
_LOW = Arg("low", "numbers", "Each stream's low multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 0.7 = 30% below expected.", "multiple, 0..1", blanks="keep")
_HIGH = Arg("high", "numbers", "Each stream's high multiplier, one per column of benefit_streams (one cell: the same for all), e.g. 1.2.", "multiple, >= 1", blanks="keep")
_COST_LOW = Arg("cost_low", "number", "The costs' low multiplier.", "multiple, 0..1", default=1.0)
_COST_HIGH = Arg("cost_high", "number", "The costs' high multiplier, e.g. 1.3 = up to 30% over budget.", "multiple, >= 1", default=1.0)

_HEADER = ["Metric", "Value", "Bin to", "Count"]


def monte_carlo_table(benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, trials, seed, bins):
    """CXMONTECARLO's spilled table: the summary rows, then one row per
    histogram bin (label, lower edge, upper edge, count)."""
    from ..error_values import ExcelError  # an undefined ROI's cell

    result = risk.monte_carlo_npv(benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, trials, seed, bins)
    table = [list(_HEADER)]
    for label, value in result.rows():
        shown = ExcelError("#DIV/0!", f"{label}: the costs' present value is zero") if value is None else value
        table.append([label, shown, None, None])
    edges, counts = result.bin_edges, result.bin_counts
    for i, count in enumerate(counts):
        table.append([f"NPV bin {i + 1}", float(edges[i]), float(edges[i + 1]), int(count)])
    return table


def tornado_table(benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, names):
    """CXTORNADO's spilled table with readable headers."""
    if names is not None:  # a blank name cell reads as the default name
        names = [name or f"Stream {i + 1}" for i, name in enumerate(names)]
    table = risk.tornado(benefit_streams, costs, discount_rate, low, high, cost_low, cost_high, names)
    return table.rename(columns={"driver": "Driver", "npv_low": "NPV at low", "npv_high": "NPV at high", "swing": "Swing"})


# The flows and spreads both functions take, in the same order.
_SCENARIO_ARGS = (_STREAMS, _COSTS, _RATE, _LOW, _HIGH, _COST_LOW, _COST_HIGH)

FUNCTIONS = [
    ExcelFunction(
        name="CXMONTECARLO",
        summary="Monte Carlo risk: NPV and ROI percentiles, mean NPV, probability that NPV > 0 and an NPV histogram.",
        args=(
            *_SCENARIO_ARGS,
            Arg("trials", "integer", "Number of trials, 1 to 1,000,000.", "count", default=10_000),
            Arg("seed", "integer", "Seed of the random generator (>= 0); the same seed gives the same table.", "", default=1),
            Arg("bins", "integer", "Number of histogram bins, 1 to 200.", "count", default=20),
        ),
        returns="table",
        engine=monte_carlo_table,
        category=CATEGORY,
        result=(
            "A table with header Metric | Value | Bin to | Count: rows 2-9 are NPV P10, NPV P50, NPV P90, Mean NPV, P(NPV > 0), "
            "ROI P10, ROI P50, ROI P90 (in Value); then one row per histogram bin: NPV bin k | lower edge | upper edge | trials in the bin "
            "(equal bins from the lowest to the highest NPV; the last bin includes its upper edge)."
        ),
        details=(
            "Each trial draws one multiplier per stream and one for the costs from a triangular distribution with mode 1 between low and high "
            "(0 <= low <= 1 <= high; low = high = 1 means no uncertainty) and applies it to every period of its stream: "
            "NPV = sum_s m_s PV_s - m_c PV_c, ROI = NPV / (m_c PV_c), PV_x = sum x_t/(1+r)^t with period 0 undiscounted. "
            "Give the flows before risk adjustment: the spread replaces the fixed risk factor. Percentiles interpolate linearly. "
            "Deterministic for a seed. #VALUE! for ranges that do not match; #NUM! for multipliers outside their range; "
            "the ROI rows show #DIV/0! when the costs' present value is zero."
        ),
        example="=CXMONTECARLO(B2:E37, F2:F37, 0.008, H2:K2, H3:K3, 0.9, 1.3)",
    ),
    ExcelFunction(
        name="CXTORNADO",
        summary="Tornado of the drivers: NPV with each stream (and the costs) at its low and its high multiplier, the others at 1.",
        args=(
            *_SCENARIO_ARGS,
            Arg("names", "texts", "One name per stream, in the order of the columns; default Stream 1, Stream 2, ...", default=None),
        ),
        returns="table",
        engine=tornado_table,
        category=CATEGORY,
        result="A table Driver | NPV at low | NPV at high | Swing, one row per stream and one for Costs, the largest swing first.",
        details=(
            "NPV_d(m) = NPV_1 + (m - 1) PV_d with NPV_1 = sum_s PV_s - PV_c the NPV at every multiplier 1 and PV_d = -PV_c for the costs; "
            "Swing = |NPV at high - NPV at low|. Multipliers and errors as CXMONTECARLO."
        ),
        example='=CXTORNADO(B2:E37, F2:F37, 0.008, H2:K2, H3:K3, 0.9, 1.3, B1:E1)',
    ),
]
