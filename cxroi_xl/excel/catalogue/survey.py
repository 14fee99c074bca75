"""CX survey: CXNPS, CXNPSCI, CXCSAT, CXCES, CXRATE."""
from __future__ import annotations

from ...engine import survey
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX survey"

CONFIDENCE = Arg("confidence", "number", "Two-sided confidence level of the interval, e.g. 0.9 for 90%.", "fraction, between 0 and 1", default=0.95)
_NPS_SCORES = Arg("scores", "numbers", "Answers to 'how likely are you to recommend us?', whole numbers 0-10 (row or column; blanks are ignored).", "points 0..10", blanks="skip")


def _nps_interval_row(scores, confidence):
    interval = survey.nps_interval(scores, confidence)
    return [[interval.lower, interval.upper]]


def _rate_row(successes, trials, confidence):
    interval = survey.rate(successes, trials, confidence)
    return [[interval.estimate, interval.lower, interval.upper]]


FUNCTIONS = [
    ExcelFunction(
        name="CXNPS",
        summary="Net Promoter Score: % promoters (9-10) minus % detractors (0-6) of the answers.",
        args=(_NPS_SCORES,),
        returns="scalar",
        engine=survey.nps,
        category=CATEGORY,
        result="NPS in points, -100 to 100.",
        details="Blank cells are ignored; passives (7-8) count only in the total. #VALUE! for an answer outside 0-10 or not whole, #DIV/0! when there are no answers.",
        example="=CXNPS(B2:B500)",
    ),
    ExcelFunction(
        name="CXNPSCI",
        summary="Confidence interval of the Net Promoter Score, spilled as one row: lower | upper.",
        args=(_NPS_SCORES, CONFIDENCE),
        returns="array",
        engine=_nps_interval_row,
        category=CATEGORY,
        result="One row: lower | upper, in NPS points.",
        details="The score interval of Rocks (2016, The American Statistician 70(4)): every NPS d whose score test n (NPS/100 - d)^2 / (pP~ + pD~ - d^2) <= z^2 is not rejected, with pP~, pD~ the most likely shares given d. Always within -100..100, and not a single point when every answer is a promoter; a 95% interval covered the true NPS at least 94% of the time with 20 or 200 answers on a grid of true shares. #DIV/0! without answers.",
        example="=CXNPSCI(B2:B500, 0.95)",
    ),
    ExcelFunction(
        name="CXCSAT",
        summary="Customer satisfaction: share of answers at or above a threshold (top-2-box by default).",
        args=(
            Arg("scores", "numbers", "Satisfaction answers, whole numbers 1 to scale (row or column; blanks are ignored).", "points", blanks="skip"),
            Arg("scale", "integer", "Top of the answer scale: 5 for 1-5, 10 for 1-10.", "points", default=5),
            Arg("threshold", "number", "Lowest answer counted as satisfied; default scale - 1 (top-2-box).", "points", default=None),
        ),
        returns="scalar",
        engine=survey.csat,
        category=CATEGORY,
        result="The satisfied share as a fraction (0.8 = 80%).",
        details="#VALUE! for an answer outside 1..scale or not whole, #NUM! for a scale below 2 or a threshold outside 1..scale, #DIV/0! when there are no answers.",
        example="=CXCSAT(C2:C500, 5, 4)",
    ),
    ExcelFunction(
        name="CXCES",
        summary="Customer Effort Score: the mean of the answers.",
        args=(Arg("scores", "numbers", "Effort answers, whole numbers 1-7 (CES 2.0) or 1-5 (row or column; blanks are ignored).", "points", blanks="skip"),),
        returns="scalar",
        engine=survey.ces,
        category=CATEGORY,
        result="Mean answer in scale points.",
        details="On the 1-7 CES 2.0 agreement scale higher is better (less effort); on the older 1-5 effort scale lower is better. #VALUE! for an answer outside 1-7 or not whole, #DIV/0! when there are no answers.",
        example="=CXCES(D2:D500)",
    ),
    ExcelFunction(
        name="CXRATE",
        summary="A success rate with its Wilson score interval: first-contact resolution, deflection, conversion.",
        args=(
            Arg("successes", "integer", "Count of successes, e.g. contacts resolved at first contact.", "count"),
            Arg("trials", "integer", "Count of trials, e.g. all contacts; at least successes.", "count"),
            CONFIDENCE,
        ),
        returns="array",
        engine=_rate_row,
        category=CATEGORY,
        result="One row: rate | lower | upper, as fractions.",
        details="The Wilson (1927) score interval stays within 0..1 and keeps its coverage for small counts and rates near 0% or 100%. #VALUE! for negative or fractional counts or successes above trials, #DIV/0! for zero trials.",
        example="=CXRATE(SUM(E2:E13), SUM(F2:F13))",
    ),
]
