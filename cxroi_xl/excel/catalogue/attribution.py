"""Multi-touch attribution: CXATTRIBUTION."""
from __future__ import annotations

import numpy as np

from ...engine import attribution
from ...errors import InvalidInputError
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX attribution"

HEADER = ("Channel", "Conversions", "Value", "Share")


def attribution_table(paths, conversions, model, values, nulls, half_life):
    """CXATTRIBUTION's spilled table: header row, then one row per channel."""
    counts = {"conversions": conversions, "values": values, "nulls": nulls}
    given = {name: column for name, column in counts.items() if column is not None}
    for name, column in given.items():
        if len(column) != len(paths):
            raise InvalidInputError(f"paths and {name} must have the same length ({len(paths)} and {len(column)})")
    # Rows blank in every range are not journeys: a selection reaching past
    # the data. Other blank counts count as 0, as SUM counts them.
    blank = np.array([path is None for path in paths], dtype=bool)
    for column in given.values():
        blank &= np.isnan(column)
    keep = ~blank
    filled = {name: None if column is None else np.nan_to_num(column[keep], nan=0.0) for name, column in counts.items()}
    journeys = attribution.parse_paths(paths[keep], filled["conversions"], filled["values"], filled["nulls"])
    return attribution.attribute(journeys, model, half_life=half_life).set_axis(HEADER, axis=1)


FUNCTIONS = [
    ExcelFunction(
        name="CXATTRIBUTION",
        call_in_wizard=False,  # cost grows with the data: not on every keystroke in the wizard
        summary="Multi-touch attribution: conversions and value credited to each channel of the customer journeys.",
        args=(
            Arg("paths", "texts", 'One journey path per row, touches in order, e.g. "search > email > chat".', blanks="keep"),
            Arg("conversions", "numbers", "Converting journeys with that path, one per row (blank = 0).", "count >= 0", blanks="keep"),
            Arg(
                "model",
                "text",
                "first, last, linear, position (40/20/40), time_decay, markov or shapley.",
                default="linear",
            ),
            Arg("values", "numbers", "Total conversion value of each row's journeys (blank = 0).", "currency", default=None, blanks="keep"),
            Arg("nulls", "numbers", "Journeys with that path that did not convert; the markov model needs them (blank = 0).", "count >= 0", default=None, blanks="keep"),
            Arg("half_life", "number", "Half-life of the time_decay model: weight halves every half_life touches before the last.", "touches > 0", default=1.0),
        ),
        returns="table",
        engine=attribution_table,
        category=CATEGORY,
        result="A table Channel | Conversions | Value | Share, one row per channel sorted by name; Share = channel conversions / total conversions.",
        details=(
            "Data as in ChannelAttribution: paths separated by '>', spaces around channel names ignored, case kept; rows blank in every range are ignored. "
            "first/last: all credit to the first/last touch. linear: equal credit per touch. position: 40% first, 40% last, 20% shared by the middle touches. "
            "time_decay: touch i of n weighted 2^(-(n-1-i)/half_life). markov: removal effects of the first-order Markov chain, solved as a linear system (not simulated). "
            "shapley: Shapley values (Zhao et al. 2018). Value is shared by the same rule. "
            "#VALUE! for ranges of different lengths, negative counts, an unknown model or an empty path; #DIV/0! when nothing converted."
        ),
        example='=CXATTRIBUTION(A2:A500, B2:B500, "markov", C2:C500, D2:D500)',
    ),
]
