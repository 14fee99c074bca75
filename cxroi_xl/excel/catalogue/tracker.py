"""The tracker's benefit streams: CXRETAINEDMARGIN, CXREVENUEUPLIFT."""
from __future__ import annotations

from ...engine import tracker
from ..declarations import Arg, ExcelFunction

CATEGORY = "CX ROI"


def _monthly(name: str, what: str, unit: str = "count") -> Arg:
    # blanks kept, so the engine can refuse a blank month instead of reading it as 0
    return Arg(name, "numbers", f"{what}, one per month (row or column; no blanks).", unit, blanks="keep")


_MONTHS = Arg("months", "integer", "Months to report from go-live; months beyond the data are projected from the last three. Default: the months given.", "months", default=None)


FUNCTIONS = [
    ExcelFunction(
        name="CXRETAINEDMARGIN",
        summary="Retained margin from lower churn: the margin each month of customers who would have left at the baseline churn rate.",
        args=(
            _monthly("baseline_active", "Active customers in each baseline month (before go-live)"),
            _monthly("baseline_churned", "Customers lost in each baseline month"),
            _monthly("baseline_revenue", "Revenue of each baseline month", "currency"),
            _monthly("active", "Active customers in each month from go-live on"),
            _monthly("churned", "Customers lost in each month from go-live on"),
            Arg("gross_margin", "number", "Gross margin on revenue, e.g. 0.5.", "fraction 0..1", default=0.5),
            _MONTHS,
        ),
        returns="column",
        engine=tracker.retained_margin,
        category=CATEGORY,
        result="One amount per month from go-live on, spilled down a column, before risk adjustment.",
        details=(
            "c0 = sum(baseline_churned)/sum(baseline_active), arpu0 = sum(baseline_revenue)/sum(baseline_active); "
            "saved s_m = c0 x active_m - churned_m (negative when churn rose); kept R_m = R_(m-1) x (1 - c0) + s_m, R_(-1) = 0; "
            "benefit in month m = R_(m-1) x arpu0 x gross_margin (0 in the go-live month). "
            "#DIV/0! without baseline customers; #VALUE! for blanks, negative counts or ranges of different lengths."
        ),
        example="=CXRETAINEDMARGIN(Baseline[active_customers], Baseline[churned_customers], Baseline[revenue], PostAutomation[active_customers], PostAutomation[churned_customers], 0.5, 36)",
    ),
    ExcelFunction(
        name="CXREVENUEUPLIFT",
        summary="Revenue uplift: the value of the customers won each month beyond the baseline win rate.",
        args=(
            _monthly("baseline_leads", "Leads in each baseline month (before go-live)"),
            _monthly("baseline_won", "Customers won from them in each baseline month"),
            _monthly("leads", "Leads in each month from go-live on"),
            _monthly("won", "Customers won in each month from go-live on"),
            Arg("value_per_win", "number", "Value of one extra customer, e.g. the lifetime margin arpu0 x margin / churn0.", "currency"),
            _MONTHS,
        ),
        returns="column",
        engine=tracker.revenue_uplift,
        category=CATEGORY,
        result="One amount per month from go-live on, spilled down a column, before risk adjustment (negative in a month that won fewer than the baseline rate predicts).",
        details=(
            "p0 = sum(baseline_won)/sum(baseline_leads); benefit in month m = (won_m - leads_m x p0) x value_per_win, booked in the month it is won. "
            "#DIV/0! without baseline leads; #VALUE! for blanks, negative counts or ranges of different lengths."
        ),
        example="=CXREVENUEUPLIFT(Baseline[leads], Baseline[won], PostAutomation[leads], PostAutomation[won], B12, 36)",
    ),
]
