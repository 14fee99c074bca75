"""CX impact: CXUPLIFT, CXDID."""
from __future__ import annotations

from ...engine import impact
from ..declarations import Arg, ExcelFunction
from . import metric_table
from .survey import CONFIDENCE

CATEGORY = "CX impact"


def _sample(name: str, what: str) -> Arg:
    return Arg(name, "numbers", f"{what} (row or column; blanks are ignored); at least two values.", "metric's unit", blanks="skip")


def _uplift_table(baseline, post, confidence):
    return metric_table(impact.uplift(baseline, post, confidence).rows(), "#DIV/0!", "divides by zero for these data")


def _did_table(treated_before, treated_after, control_before, control_after, confidence):
    return metric_table(impact.did(treated_before, treated_after, control_before, control_after, confidence).rows(), "#DIV/0!", "divides by zero for these data")


FUNCTIONS = [
    ExcelFunction(
        name="CXUPLIFT",
        summary="Before/after change of a metric's mean with Welch's confidence interval and p-value.",
        args=(
            _sample("baseline", "The metric per answer or per period before go-live"),
            _sample("post", "The metric per answer or per period after go-live"),
            CONFIDENCE,
        ),
        returns="table",
        engine=_uplift_table,
        category=CATEGORY,
        result="A 10x2 table (Metric | Value): Baseline mean, Post mean, Change, Change %, CI lower, CI upper, p-value, N baseline, N post.",
        details="Change = post mean - baseline mean; Change % = change / |baseline mean|, so a rise from -10 to -5 is +50%. Welch-Satterthwaite t interval and two-sided Welch t-test, so the periods may differ in size and spread. A before/after comparison cannot separate the automation from anything else that changed meanwhile; use CXDID with a control group for that. #DIV/0! when a period has fewer than two values; Change % shows #DIV/0! for a zero baseline.",
        example="=CXUPLIFT(B2:B200, C2:C200)",
    ),
    ExcelFunction(
        name="CXDID",
        summary="Difference-in-differences of means: the change in the treated group minus the change in a control group.",
        args=(
            _sample("treated_before", "The metric in the group that got the automation, before go-live"),
            _sample("treated_after", "The metric in the group that got the automation, after go-live"),
            _sample("control_before", "The metric in a comparable group without it, over the same before period"),
            _sample("control_after", "The metric in the group without it, over the same after period"),
            CONFIDENCE,
        ),
        returns="table",
        engine=_did_table,
        category=CATEGORY,
        result="A 6x2 table (Metric | Value): Estimate, Std error, CI lower, CI upper, p-value.",
        details="Needed when something besides the automation may have moved the metric between the periods (season, prices, a product change): a control group without the automation absorbs that shared change. Estimate = (TA - TB) - (CA - CB), the effect of the automation if, without it, both groups would have changed alike. Std error = sqrt(sum of var/n of the four groups); t interval and p-value with Welch-Satterthwaite degrees of freedom. #DIV/0! when a group has fewer than two values.",
        example="=CXDID(B2:B100, C2:C100, D2:D100, E2:E100)",
    ),
]
