"""The columns of the batch summary (``summary.csv`` and the portfolio),
declared once per template, rounded once, and added up by currency.

Each :class:`SummaryColumn` says what a column is (name, the label people
read, unit, whether it may be added across clients); each template's
:class:`SummarySpec` lists its columns, the portfolio's title and the ratio
its totals show. From those come the CSV's columns and rounding, the
portfolio's headers and number formats, and which columns get
per-currency subtotals. The ROI template's summary (:data:`COLUMNS`) is
about measured returns; the customer-value template's
(:data:`CUSTOMER_VALUE_COLUMNS`) about what a customer is worth and costs;
the attribution template's (:data:`ATTRIBUTION_COLUMNS`) about conversions
and the channels that earn them. No template's summary holds another's
columns.

Rounding (``summary.csv`` and the portfolio agree to it):

* money: to the currency's minor unit in ISO 4217 (2 for USD and EUR, 0 for
  JPY, 3 for BHD), read from the ``iso4217`` package; a code ISO 4217 gives
  no minor unit (XAU, or a code it does not list) keeps 2 decimals;
* rates (ROI, CSAT, churn): 4 decimals (0.1234 = 12.34 %);
* NPS points, payback months, ratios (LTV:CAC) and counts: 2 decimals
  (a whole count stays a whole number);
* the probability that NPV > 0: 4 decimals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "SummaryColumn",
    "TotalRatio",
    "SummarySpec",
    "IDENTITY_COLUMNS",
    "COLUMNS",
    "SUMMARY_COLUMNS",
    "ADDITIVE_COLUMNS",
    "TOTAL_COLUMNS",
    "CUSTOMER_VALUE_COLUMNS",
    "ATTRIBUTION_COLUMNS",
    "ROI_TEMPLATE",
    "CUSTOMER_VALUE_TEMPLATE",
    "ATTRIBUTION_TEMPLATE",
    "SPECS",
    "summary_spec",
    "minor_unit",
    "round_money",
    "round_row",
    "share",
    "currency_totals",
    "convert_totals",
]

RATE_DECIMALS = 4

POINT_DECIMALS = 2

DEFAULT_MINOR_UNIT = 2


@dataclass(frozen=True)
class SummaryColumn:
    """One column of the summary.

    ``unit`` is ``text``, ``verdict`` (a verdict in words), ``money`` (in the
    client's currency), ``rate`` (a fraction), ``probability`` (0..1),
    ``points`` (NPS, -100..100), ``months``, ``ratio`` (LTV:CAC) or ``count``
    (customers, conversions). ``additive`` columns are summed into the
    per-currency subtotals.
    """

    name: str
    label: str
    unit: str
    help: str
    additive: bool = False

    def decimals(self, currency: str | None = None) -> int | None:
        """Decimals the value is rounded to (None: text)."""
        if self.unit == "money":
            return minor_unit(currency or "USD")
        if self.unit in ("rate", "probability"):
            return RATE_DECIMALS
        if self.unit in ("points", "months", "ratio", "count"):
            return POINT_DECIMALS
        return None

    def rounded(self, value, currency: str | None = None):
        """``value`` rounded as the column says (None for a blank, NaN or an
        infinity; a whole count as an int)."""
        rounded = _round(value, self.decimals(currency))
        if self.unit == "count" and isinstance(rounded, float) and rounded.is_integer():
            return int(rounded)
        return rounded

    def excel_format(self, currency: str | None = None) -> str:
        """The number format showing the rounded value whole."""
        if self.unit == "money":
            places = minor_unit(currency or "USD")
            return "#,##0" + ("." + "0" * places if places else "")
        if self.unit in ("rate", "probability"):
            return "0.00%"
        if self.unit == "points":
            return "+0.00;-0.00;0.00"
        if self.unit in ("months", "ratio"):
            return "0.00"
        if self.unit == "count":
            return "#,##0"  # a count with a fraction gets "#,##0.00" where it is written
        return "@"


IDENTITY_COLUMNS: tuple[SummaryColumn, ...] = (
    SummaryColumn("client_id", "Client ID", "text", "the client's id in clients.csv"),
    SummaryColumn("client_name", "Client", "text", "the client's name"),
    SummaryColumn("currency", "Currency", "text", "ISO 4217 code of the client's amounts"),
)

COLUMNS: tuple[SummaryColumn, ...] = IDENTITY_COLUMNS + (
    SummaryColumn("pv_benefits", "PV benefits (measured)", "money", "present value of the risk-adjusted benefits of the tracked months: the streams whose effect is demonstrated or adverse, and the proxies", additive=True),
    SummaryColumn("pv_costs", "PV costs", "money", "present value of the risk-adjusted costs of the tracked months", additive=True),
    SummaryColumn("npv", "NPV (measured)", "money", "PV benefits - PV costs, measured to date", additive=True),
    SummaryColumn("npv_low", "NPV low (95%)", "money", "lower end of the 95% interval of the measured NPV (the counted effects drawn from their fits)"),
    SummaryColumn("npv_high", "NPV high (95%)", "money", "upper end of that interval"),
    SummaryColumn("roi", "ROI (measured)", "rate", "NPV / PV costs, measured to date"),
    SummaryColumn("payback_months", "Payback (months)", "months", "months until the cumulative discounted measured net benefit reaches zero; blank if never within the tracked months"),
    SummaryColumn("verdict_service", "Service savings", "verdict", "demonstrated, adverse, not demonstrated or not estimable: the effect on agent hours against the baseline's counterfactual"),
    SummaryColumn("verdict_retention", "Retained margin", "verdict", "the same for churn, or not corroborated when the customer counts do not show the customers kept"),
    SummaryColumn("verdict_uplift", "Revenue uplift", "verdict", "the same for the win rate (not estimable without leads and won)"),
    SummaryColumn("nps_baseline", "NPS before", "points", "Net Promoter Score of the answers before go-live"),
    SummaryColumn("nps_post", "NPS after", "points", "Net Promoter Score from the go-live month on"),
    SummaryColumn("csat_baseline", "CSAT before", "rate", "share of 4-5 answers on the 5-point scale before go-live"),
    SummaryColumn("csat_post", "CSAT after", "rate", "share of 4-5 answers from the go-live month on"),
    SummaryColumn("churn_baseline", "Churn before (monthly)", "rate", "churned / active customers over the baseline months"),
    SummaryColumn("churn_post", "Churn after (monthly)", "rate", "churned / active customers over the post months"),
    SummaryColumn("pv_service", "PV service savings (horizon)", "money", "present value of the risk-adjusted service savings in the horizon scenario (0 when not estimable)", additive=True),
    SummaryColumn("pv_retention", "PV retained margin (horizon)", "money", "the same for the margin of customers kept by lower churn (0 when not estimable or not corroborated)", additive=True),
    SummaryColumn("pv_uplift", "PV revenue uplift (horizon)", "money", "the same for the margin of extra customers won while they stay, inside the horizon (0 without leads and won)", additive=True),
    SummaryColumn("pv_proxies", "PV proxies (horizon)", "money", "present value of the financial proxies for intangibles, each times its confidence, over the horizon", additive=True),
    SummaryColumn("pv_costs_horizon", "PV costs (horizon)", "money", "present value of the risk-adjusted costs over the horizon", additive=True),
    SummaryColumn("npv_horizon", "NPV (horizon scenario)", "money", "sum of the streams' PVs - PV costs in the horizon scenario (measured effects carried past the tracked months with their decay)", additive=True),
    SummaryColumn("roi_horizon", "ROI (horizon scenario)", "rate", "NPV / PV costs over the horizon"),
    SummaryColumn("projected_share", "Projected share", "probability", "share of the horizon scenario's PV benefits that falls in projected months (0..1)"),
    SummaryColumn("p_npv_positive", "P(NPV > 0)", "probability", "probability that the horizon NPV is positive, every stream's effect drawn from its fit and the default low/high spreads applied"),
)
SUMMARY_COLUMNS = tuple(column.name for column in COLUMNS)

ADDITIVE_COLUMNS = tuple(column.name for column in COLUMNS if column.additive)

CUSTOMER_VALUE_COLUMNS: tuple[SummaryColumn, ...] = IDENTITY_COLUMNS + (
    SummaryColumn("customers", "Customers", "count", "customers in the client's transactions; each first ordered inside their window (first to last order), so each counts as acquired in it", additive=True),
    SummaryColumn("cltv", "CLTV (discounted)", "money", "lifetime value of a customer: ARPU x gross margin each month while she stays (monthly churn), discounted at the client's rate, over her whole expected lifetime"),
    SummaryColumn("predicted_clv", "Predicted CLV, all customers (12 months)", "money", "value the client's customers are predicted to bring over the next 12 months (BG/NBD and Gamma-Gamma fitted on their orders, discounted monthly)", additive=True),
    SummaryColumn("churn", "Churn (monthly)", "rate", "customers lost / customers at the start of the month, over the kpis months"),
    SummaryColumn("cac", "CAC", "money", "acquisition cost per customer: acquisition_spend / customers; blank without an acquisition_spend"),
    SummaryColumn("ltv_cac", "LTV:CAC", "ratio", "discounted CLTV / CAC (3 or more is the usual target); blank without a CAC"),
    SummaryColumn("cac_payback_months", "CAC payback (months)", "months", "months until a customer's discounted margin earns back the CAC; blank without a CAC or when never (the note says which)"),
    SummaryColumn("verdict", "Verdict", "verdict", "the CLTV sheet's verdict on LTV:CAC: healthy: 3 or more; positive, below the usual 3x target; a customer returns less than they cost to win"),
    SummaryColumn("note", "Note", "text", "why a figure is blank: no acquisition_spend, a CAC never earned back, a model the engine could not fit"),
)

ATTRIBUTION_COLUMNS: tuple[SummaryColumn, ...] = IDENTITY_COLUMNS + (
    SummaryColumn("conversions", "Conversions", "count", "journeys that converted (the journeys table's conversions, added up)", additive=True),
    SummaryColumn("conversion_value", "Conversion value", "money", "their value (the journeys table's value, added up)", additive=True),
    # one per model, in the engine's and the workbook's order (cxroi_xl.engine.attribution.MODELS)
    SummaryColumn("top_first", "Top channel: first touch", "text", "the channel the first-touch model credits with the most conversions (ties: every such channel, separated by /)"),
    SummaryColumn("top_last", "Top channel: last touch", "text", "the same for the last-touch model"),
    SummaryColumn("top_linear", "Top channel: linear", "text", "the same for the linear model"),
    SummaryColumn("top_position", "Top channel: position", "text", "the same for the position-based model (40/20/40)"),
    SummaryColumn("top_time_decay", "Top channel: time decay", "text", "the same for the time-decay model (half-life 1 touch)"),
    SummaryColumn("top_markov", "Top channel: Markov", "text", "the same for the Markov model (removal effects)"),
    SummaryColumn("top_shapley", "Top channel: Shapley", "text", "the same for the Shapley-value model"),
    SummaryColumn("note", "Note", "text", "why a figure is blank: a model the engine refused, with its reason"),
)


@dataclass(frozen=True)
class TotalRatio:
    """The ratio a template's totals show beside its sums, computed from
    the sums (never a sum or an average of the clients' ratios):
    ``numerator / denominator``, both additive columns. ``unit`` is ``rate``
    for a ratio of two amounts (its exchange rates cancel) or ``money`` for
    an amount per count."""

    name: str
    label: str
    numerator: str
    denominator: str
    unit: str

    @property
    def column(self) -> SummaryColumn:
        return SummaryColumn(self.name, self.label, self.unit, f"{self.numerator} / {self.denominator} of the sums")


@dataclass(frozen=True)
class SummarySpec:
    """What one template's summary is: its columns, the ratio its totals
    show, and the portfolio's title (``subtitle`` and ``totals_note`` are
    the lines under the portfolio's and the Totals sheet's titles;
    ``{clients}`` in the subtitle is the number of clients)."""

    template: str
    title: str
    subtitle: str
    totals_note: str
    columns: tuple[SummaryColumn, ...]
    ratio: TotalRatio

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def additive(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.additive)

    @property
    def total_columns(self) -> tuple[str, ...]:
        return ("currency", "clients", *self.additive, self.ratio.name)

    def column(self, name: str) -> SummaryColumn:
        if name == self.ratio.name:
            return self.ratio.column
        return next(column for column in self.columns if column.name == name)


# The templates' names, as cxroi_xl.workbooks.build.BUILDERS has them (a test keeps them equal).
ROI_TEMPLATE = "cx_automation_roi"
CUSTOMER_VALUE_TEMPLATE = "customer_value"
ATTRIBUTION_TEMPLATE = "attribution"

SPECS: dict[str, SummarySpec] = {
    ROI_TEMPLATE: SummarySpec(
        ROI_TEMPLATE,
        "Portfolio: CX automation returns by client",
        "{clients} clients. Amounts in each client's own currency; ROI and payback from the risk-adjusted, discounted model. Totals by currency on the Totals sheet.",
        "PV benefits, PV costs and NPV added up per currency; ROI = NPV / PV costs of the sums. NPS, CSAT, churn and payback are not added up.",
        COLUMNS,
        TotalRatio("roi", "ROI (NPV / PV costs)", "npv", "pv_costs", "rate"),
    ),
    CUSTOMER_VALUE_TEMPLATE: SummarySpec(
        CUSTOMER_VALUE_TEMPLATE,
        "Portfolio: customer value by client",
        "{clients} clients. Amounts in each client's own currency; CLTV discounted at the client's rate; CAC = the acquisition spend over the transactions' window / the customers acquired in it. Totals by currency on the Totals sheet.",
        "Customers and predicted CLV added up per currency; predicted CLV per customer = the one sum over the other. CLTV, churn, CAC, LTV:CAC and payback are not added up.",
        CUSTOMER_VALUE_COLUMNS,
        TotalRatio("predicted_clv_per_customer", "Predicted CLV per customer", "predicted_clv", "customers", "money"),
    ),
    ATTRIBUTION_TEMPLATE: SummarySpec(
        ATTRIBUTION_TEMPLATE,
        "Portfolio: channel attribution by client",
        "{clients} clients. Conversion value in each client's own currency; top channel: the channel each of seven attribution models credits with the most conversions. Totals by currency on the Totals sheet.",
        "Conversions and conversion value added up per currency; value per conversion = the one sum over the other. Top channels are not added up.",
        ATTRIBUTION_COLUMNS,
        TotalRatio("value_per_conversion", "Value per conversion", "conversion_value", "conversions", "money"),
    ),
}


def summary_spec(template: str) -> SummarySpec:
    """The summary of ``template`` (a name of :data:`SPECS`)."""
    try:
        return SPECS[template]
    except KeyError:
        raise ValueError(f"no summary for template {template!r}; choose from {', '.join(SPECS)}") from None


def minor_unit(currency: str) -> int:
    """Decimals of ``currency``'s minor unit in ISO 4217 (2 when it has none
    or the code is not listed).

    >>> minor_unit("USD"), minor_unit("JPY"), minor_unit("BHD")
    (2, 0, 3)
    """
    from iso4217 import Currency

    try:
        exponent = Currency(str(currency).upper()).exponent
    except ValueError:
        return DEFAULT_MINOR_UNIT
    return DEFAULT_MINOR_UNIT if exponent is None else int(exponent)

def _round(value, decimals: int | None):
    if decimals is None or value is None:
        return value
    value = float(value)
    if not math.isfinite(value):
        return None
    rounded = round(value, decimals)
    return int(rounded) if decimals == 0 else rounded

def round_money(value, currency: str):
    """``value`` rounded to ``currency``'s minor unit (an int for 0 decimals).

    >>> round_money(1234.5678, "USD"), round_money(1234.5678, "JPY"), round_money(1.23456, "BHD")
    (1234.57, 1235, 1.235)
    """
    return _round(value, minor_unit(currency))

def round_row(row: dict, template: str = ROI_TEMPLATE) -> dict:
    """A summary row of ``template`` with every number rounded as its
    column says."""
    spec = summary_spec(template)
    currency = row.get("currency") or "USD"
    out = dict(row)
    for column in spec.columns:
        if column.name in row:
            out[column.name] = column.rounded(row[column.name], currency)
    return out

def share(numerator: float, denominator: float) -> float | None:
    return None if denominator == 0 else float(numerator) / float(denominator)


# ---- totals by currency and conversion -----------------------------------------

TOTAL_COLUMNS = SPECS[ROI_TEMPLATE].total_columns

def _ratio(spec: SummarySpec, numerator, denominator, currency: str):
    """The totals' ratio of two sums, rounded as its unit says (None
    without a denominator)."""
    if numerator is None or not denominator:
        return None
    return spec.ratio.column.rounded(share(numerator, denominator), currency)

def currency_totals(rows: list[dict], template: str = ROI_TEMPLATE) -> pd.DataFrame:
    """Per currency: number of clients, the sums of the additive columns
    (for the ROI template PV benefits, PV costs and NPV) and the template's
    ratio of two of those sums (ROI = NPV / PV costs).

    The sums add the rounded client figures (so a subtotal equals the sum of
    the figures shown above it) and are rounded as their columns are (money
    to the currency's minor unit); the other columns (ROI, payback, NPS,
    CSAT, churn; CLTV, CAC, LTV:CAC; top channels) are never added up.
    """
    spec = summary_spec(template)
    frame = pd.DataFrame(rows, columns=list(spec.names))
    if frame.empty:
        return pd.DataFrame(columns=list(spec.total_columns))
    amounts = frame[list(spec.additive)].apply(pd.to_numeric, errors="coerce")
    grouped = amounts.groupby(frame["currency"].astype(str), sort=True)
    totals = grouped.sum(min_count=1)
    totals.insert(0, "clients", grouped.size())
    totals = totals.reset_index(names="currency")
    for name in spec.additive:
        column = spec.column(name)
        totals[name] = [column.rounded(value, currency) for value, currency in zip(totals[name], totals["currency"])]
    ratio = spec.ratio
    totals[ratio.name] = [_ratio(spec, n, d, currency) for n, d, currency in zip(totals[ratio.numerator], totals[ratio.denominator], totals["currency"])]
    return totals[list(spec.total_columns)].astype(object).where(totals.notna(), None)

def convert_totals(totals: pd.DataFrame, rates: dict[str, float], report_currency: str = "USD", template: str = ROI_TEMPLATE) -> tuple[pd.DataFrame, dict]:
    """Each currency's subtotals in the reporting currency, and their sum.

    Returns (per-currency frame with ``rate`` and the converted additive
    columns, the grand total row). Converted amounts are rounded to the
    reporting currency's minor unit; counts are not converted; a currency
    without a rate is reported in ``missing`` of the grand total and left out
    of it. The ratio of two amounts (ROI) is the currency's own (the rate
    cancels); an amount per count is recomputed from the converted sums.
    """
    spec = summary_spec(template)
    ratio = spec.ratio
    report_currency = report_currency.upper()
    rate_of = [rates.get(currency) for currency in totals["currency"]]
    converted = pd.DataFrame({"currency": totals["currency"].tolist(), "clients": totals["clients"].tolist()}, dtype=object)
    for name in spec.additive:
        if spec.column(name).unit == "money":
            converted[name] = [None if rate is None or value is None else round_money(value * rate, report_currency) for value, rate in zip(totals[name], rate_of)]
        else:
            converted[name] = totals[name].tolist()  # a count is the same in any currency
    if ratio.unit == "rate":
        converted[ratio.name] = totals[ratio.name].tolist()  # a ratio of two amounts in one currency: the rate cancels
    else:
        converted[ratio.name] = [_ratio(spec, n, d, report_currency) for n, d in zip(converted[ratio.numerator], converted[ratio.denominator])]
    converted["rate"] = rate_of
    known = [i for i, rate in enumerate(rate_of) if rate is not None]
    grand = {"currency": report_currency, "clients": int(sum(converted["clients"][i] for i in known))}
    for name in spec.additive:
        grand[name] = spec.column(name).rounded(sum(converted[name][i] for i in known if converted[name][i] is not None), report_currency)
    grand[ratio.name] = _ratio(spec, grand[ratio.numerator], grand[ratio.denominator], report_currency)
    grand["missing"] = [currency for currency, rate in zip(converted["currency"], rate_of) if rate is None]
    return converted.astype(object).where(converted.notna(), None), grand
