"""CXCOUNTERFACTUAL, CXEFFECT, CXMEASURED and CXMEASUREDMONTHS as Excel
calls them: through xlwings' own server-side dispatcher, with the JSON
payload Office.js sends (2-D arrays, blanks as "", dates as serial numbers,
error cells as error objects).

Oracles:
* CXCOUNTERFACTUAL and CXEFFECT: statsmodels' OLS (an amount) and binomial
  GLM (a rate) fitted to the baseline months on the design matrix written out
  here; their predictions are the "Expected" column (rel 1e-8; both IRLS
  runs converge to ~1e-14 on these data). The intervals use
  the AR(1)-robust default, so only the expected values (which do not
  depend on the interval method) and clear-cut verdicts are compared.
* CXMEASURED and CXMEASUREDMONTHS: a conversion test. The same table given
  to ``measure_streams`` directly must give the same numbers (the numbers
  themselves are checked against hand-derived oracles in
  tests/engine/test_streams.py).
* Junk: an Excel error value with a one-line reason, never a traceback.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxroi_xl.engine import defaults
from cxroi_xl.engine.streams import MEASURED_STREAMS, measure_streams
from cxroi_xl.excel import call, registry, udf_module
from cxroi_xl.excel.error_values import EXCEL_ERRORS, ExcelError
from tests.excel_dispatch import cell, excel_error

MEASURED_FUNCTIONS = ("CXCOUNTERFACTUAL", "CXEFFECT", "CXMEASURED", "CXMEASUREDMONTHS")


@pytest.fixture(scope="module")
def xl(excel):
    """xlwings' dispatcher over the generated UDF module (the ``excel`` fixture)."""
    missing = [name for name in MEASURED_FUNCTIONS if not hasattr(excel.module, name)]
    assert not missing, f"the UDF module lacks {missing}: run `cxroi-xl udfs generate`"
    return excel


def _as_xlwings_passes(value):
    """What the UDF module hands to ``call`` after xlwings' conversion
    (``err_to_str=True``): error objects as "#N/A" strings, "" as None."""
    if isinstance(value, list):
        return [_as_xlwings_passes(v) for v in value]
    if isinstance(value, dict) and value.get("type") == "Error":
        return value["basicValue"]
    return None if value == "" else value


def _ordered(name: str, **given):
    """Arguments in the registry's declared order (None: omitted)."""
    fn = registry.get(name)
    unknown = set(given) - {a.name for a in fn.args}
    assert not unknown, unknown
    return [given.get(a.name) for a in fn.args]


def test_the_generated_udf_module_has_the_measured_functions(excel):
    # optional arguments only after the required ones, or the rendered module is no Python
    compile(udf_module.render(), "cxroi_udfs.py", "exec")
    for name in MEASURED_FUNCTIONS:
        args = registry.get(name).args
        optional = [a.optional for a in args]
        assert optional == sorted(optional), f"{name}: a required argument follows an optional one"
        assert hasattr(excel.module, name)


# ---- CXCOUNTERFACTUAL and CXEFFECT ---------------------------------------------------------

NB = 20  # baseline months: intercept, centred trend and one annual sine/cosine pair
FIRST_MONTH = 4  # April


def _design(n: int) -> np.ndarray:
    """[1, t - (NB - 1)/2, sin(2 pi m/12), cos(2 pi m/12)], m the calendar month (design_matrix's terms for 18-35 months)."""
    t = np.arange(n)
    month = (FIRST_MONTH - 1 + t) % 12 + 1
    return np.column_stack([np.ones(n), t - (NB - 1) / 2.0, np.sin(2 * np.pi * month / 12), np.cos(2 * np.pi * month / 12)])


def _hours(shift: float) -> np.ndarray:
    """500 + 2t + a 20-hour annual season + a fixed wiggle, then ``shift`` from month NB on (6 post months)."""
    t = np.arange(NB + 6)
    y = 500.0 + 2.0 * t + 20.0 * np.sin(2 * np.pi * t / 12) + np.resize([4.0, -4.0, 2.0, -2.0, 1.0], t.size)
    y[NB:] += shift
    return y


def _rows(table):
    return {row[0]: row[1] for row in table[1:]}


def test_cxcounterfactual_expected_is_statsmodels_ols(xl):
    y = _hours(-60.0)
    table = xl("CXCOUNTERFACTUAL", y.tolist(), NB, FIRST_MONTH)
    assert table[0] == ["Period", "Actual", "Expected", "Lower", "Upper"]
    x = _design(y.size)
    ols = sm.OLS(y[:NB], x[:NB]).fit()
    expected = ols.predict(x)
    body = np.array(table[1:], dtype=float)
    np.testing.assert_array_equal(body[:, 0], np.arange(y.size) - NB)  # period 0 = go-live
    np.testing.assert_allclose(body[:, 1], y, rtol=1e-15)
    np.testing.assert_allclose(body[:, 2], expected, rtol=1e-8)
    assert np.all(body[:, 3] < body[:, 2]) and np.all(body[:, 2] < body[:, 4])
    # a row of cells works as well as a column
    assert xl("CXCOUNTERFACTUAL", [y.tolist()], NB, FIRST_MONTH) == table


def test_cxeffect_of_a_clear_break_against_statsmodels(xl):
    y = _hours(-60.0)
    x = _design(y.size)
    prediction = sm.OLS(y[:NB], x[:NB]).fit().predict(x[NB:])
    rows = _rows(xl("CXEFFECT", y.tolist(), NB, FIRST_MONTH))
    assert rows["Average effect"] == pytest.approx(np.mean(y[NB:] - prediction), rel=1e-8)
    assert rows["Cumulative effect"] == pytest.approx(np.sum(y[NB:] - prediction), rel=1e-8)
    assert rows["Relative effect"] == pytest.approx(np.mean(y[NB:] - prediction) / np.mean(prediction), rel=1e-8)
    assert rows["Post months"] == 6
    assert rows["Verdict"] == "demonstrated"  # 60 hours down against a wiggle of a few hours
    assert rows["CI lower"] < rows["Average effect"] < rows["CI upper"] < 0
    assert _rows(xl("CXEFFECT", y.tolist(), NB, FIRST_MONTH, None, None, "up"))["Verdict"] == "adverse"
    assert _rows(xl("CXEFFECT", _hours(+60.0).tolist(), NB, FIRST_MONTH))["Verdict"] == "adverse"
    assert _rows(xl("CXEFFECT", _hours(0.0).tolist(), NB, FIRST_MONTH))["Verdict"] == "not demonstrated"


def test_cxeffect_with_a_regressor_against_statsmodels(xl):
    # agent hours = 0.25 x contacts + 30 + a wiggle; the regressor joins the design after the time terms
    t = np.arange(NB + 6)
    contacts = 4000.0 + 40.0 * ((7 * t) % 11)
    y = 30.0 + 0.25 * contacts + np.resize([3.0, -3.0, 2.0, -2.0], t.size)
    y[NB:] -= 100.0
    x = np.column_stack([_design(t.size), contacts])
    prediction = sm.OLS(y[:NB], x[:NB]).fit().predict(x)
    table = xl("CXCOUNTERFACTUAL", y.tolist(), NB, FIRST_MONTH, None, contacts.tolist())
    np.testing.assert_allclose([row[2] for row in table[1:]], prediction, rtol=1e-8)
    rows = _rows(xl("CXEFFECT", y.tolist(), NB, FIRST_MONTH, None, contacts.tolist()))
    assert rows["Average effect"] == pytest.approx(np.mean(y[NB:] - prediction[NB:]), rel=1e-8)
    assert rows["Verdict"] == "demonstrated"


def test_cxcounterfactual_of_a_rate_is_statsmodels_glm(xl):
    # churned customers of ~3,000 at 3% (a fixed wiggle), 2% after go-live
    t = np.arange(NB + 6)
    exposure = 3000.0 + 10.0 * t
    events = np.round(exposure * np.where(t < NB, 0.03, 0.02) + np.resize([6.0, -4.0, -2.0, 3.0, -3.0], t.size))
    x = _design(t.size)
    glm = sm.GLM(np.column_stack([events[:NB], exposure[:NB] - events[:NB]]), x[:NB], family=sm.families.Binomial()).fit(tol=1e-14)
    table = xl("CXCOUNTERFACTUAL", events.tolist(), NB, FIRST_MONTH, exposure.tolist())
    body = np.array(table[1:], dtype=float)
    np.testing.assert_allclose(body[:, 1], events / exposure, rtol=1e-15)
    np.testing.assert_allclose(body[:, 2], glm.predict(x), rtol=1e-8)
    rows = _rows(xl("CXEFFECT", events.tolist(), NB, FIRST_MONTH, exposure.tolist()))
    assert rows["Average effect"] == pytest.approx(np.mean(events[NB:] / exposure[NB:] - glm.predict(x[NB:])), rel=1e-8)
    assert rows["Verdict"] == "demonstrated"
    up = _rows(xl("CXEFFECT", events.tolist(), NB, FIRST_MONTH, exposure.tolist(), None, "up"))
    assert up["Verdict"] == "adverse"


def test_cxeffect_of_a_short_baseline_says_not_estimable(xl):
    y = _hours(-60.0)[8:]  # 12 baseline months -> 4 with 8 dropped: not estimable
    rows = _rows(xl("CXEFFECT", y.tolist(), NB - 8 - 8, FIRST_MONTH))
    assert rows["Verdict"] == "not estimable" and "baseline months" in rows["Reason"]
    assert xl("CXCOUNTERFACTUAL", y.tolist(), 4, FIRST_MONTH) == "#VALUE!"
    assert "not estimable" in call("CXCOUNTERFACTUAL", [[v] for v in y], [[4]], [[FIRST_MONTH]]).reason


def _series_junk():
    y = _hours(-60.0).tolist()
    return [
        ((["a", *y[1:]], NB, FIRST_MONTH), "#VALUE!"),
        ((y, NB, 13), "#VALUE!"),
        ((y, NB, FIRST_MONTH, None, None, "sideways"), "#VALUE!"),
        ((y, len(y), FIRST_MONTH), "#VALUE!"),
        ((y, 2.5, FIRST_MONTH), "#VALUE!"),
        ((y, NB, FIRST_MONTH, y[:-1]), "#VALUE!"),
        ((y, NB, FIRST_MONTH, [3000.0] * len(y), y), "#VALUE!"),
        ((y, NB, FIRST_MONTH, None, [1.0, "x"] + y[2:]), "#VALUE!"),
        ((y[:5] + [None] + y[6:], NB, FIRST_MONTH), "#VALUE!"),
        (([-5.0] + [10.0] * (len(y) - 1), NB, FIRST_MONTH, [3000.0] * len(y)), None),
        ((y, "twenty", FIRST_MONTH), "#VALUE!"),
    ]


@pytest.mark.parametrize("name", ["CXCOUNTERFACTUAL", "CXEFFECT"])
@pytest.mark.parametrize("case", range(len(_series_junk())))
def test_series_junk_gives_an_excel_error_with_a_reason(xl, name, case):
    args, expected = _series_junk()[case]
    result = xl(name, *args)
    shaped = [None if a is None else [[cell(v)] for v in a] if isinstance(a, list) else [[a]] for a in args]
    direct = call(name, *_as_xlwings_passes(shaped))
    assert isinstance(direct, ExcelError), direct
    assert result == str(direct) and result in EXCEL_ERRORS
    if expected is not None:
        assert result == expected
    assert direct.reason and "\n" not in direct.reason and not direct.reason.startswith("unexpected error"), direct.reason


def test_an_error_cell_in_the_series_propagates(xl):
    y = [[v] for v in _hours(-60.0)]
    y[3] = [excel_error("#N/A")]
    assert xl.raw("CXEFFECT", y, [[NB]], [[FIRST_MONTH]]) == [["#N/A"]]
    assert xl.raw("CXCOUNTERFACTUAL", y, [[NB]], [[FIRST_MONTH]]) == [["#N/A"]]


# ---- CXMEASURED and CXMEASUREDMONTHS ---------------------------------------------------------

KPI_HEADER = [
    "month", "contacts", "automated_contacts", "agent_hours", "hourly_cost", "first_contact_resolutions",
    "active_customers", "new_customers", "churned_customers", "revenue", "automation_cost",
]
M_NB, M_POST = 14, 8


def _kpis(leads: bool = False) -> pd.DataFrame:
    """14 baseline and 8 post months: agent hours 30 + 0.25 contacts (+ a wiggle), 100 fewer after
    go-live; churn 3% then 2% of ~3,000 customers with active = previous + new - churned."""
    n = M_NB + M_POST
    t = np.arange(n)
    contacts = 4000.0 + 40.0 * ((7 * t) % 11)
    hours = 30.0 + 0.25 * contacts + np.resize([3.0, -3.0, 2.0, -2.0], n) - np.where(t >= M_NB, 100.0, 0.0)
    new = np.full(n, 90.0)
    active, churned, previous = np.empty(n), np.empty(n), 3000.0
    for i in range(n):
        churned[i] = round((0.03 if i < M_NB else 0.02) * previous + (6.0, -4.0, -2.0, 3.0, -3.0)[i % 5])
        active[i] = previous + new[i] - churned[i]
        previous = active[i]
    kpis = pd.DataFrame(
        {
            "month": pd.date_range("2023-03-01", periods=n, freq="MS"),
            "contacts": contacts, "automated_contacts": 0.0, "agent_hours": hours, "hourly_cost": 30.0 + 0.5 * (t % 3),
            "first_contact_resolutions": 0.0, "active_customers": active, "new_customers": new, "churned_customers": churned,
            "revenue": active * 40.0, "automation_cost": np.where(t < M_NB, 0.0, 500.0),
        }
    )
    if leads:
        kpis["leads"] = 400.0 + 10.0 * (t % 4)
        kpis["won"] = np.round(kpis["leads"] * np.where(t < M_NB, 0.2, 0.25) + np.resize([3.0, -2.0, -1.0, 2.0, -2.0], n))
    return kpis


GO_LIVE = dt.datetime(2024, 5, 1)


def _serial(day: dt.datetime) -> float:
    return cell(day)


def _table(frame: pd.DataFrame, header=None):
    """A whole Excel Table ([#All]) as Office.js sends it: header row, dates as serials."""
    columns = list(frame.columns)
    rows = [list(header or columns)]
    for _, r in frame.iterrows():
        rows.append([cell(r[c].to_pydatetime()) if isinstance(r[c], pd.Timestamp) else cell(r[c]) for c in columns])
    return rows


COSTS = pd.DataFrame({"date": [pd.Timestamp("2023-12-15"), pd.Timestamp("2024-07-01")], "amount": [4000.0, 250.0]})
PROXIES = pd.DataFrame(
    {"name": ["goodwill"], "monthly_value": [800.0], "first_month": [pd.Timestamp("2024-05-01")], "last_month": [None], "confidence": [0.5]}
)
SETTINGS = dict(discount_rate=0.08, service_risk=0.12, retention_risk=0.3, uplift_risk=0.2, cost_risk=0.04, gross_margin=0.55, horizon_months=24)


def _call_measured(xl, name, kpis, **overrides):
    args = dict(
        baseline=_table(kpis.iloc[:M_NB]),
        post=_table(kpis.iloc[M_NB:]),
        costs=_table(COSTS),
        proxies=_table(PROXIES),
        go_live=[[_serial(GO_LIVE)]],
        **{k: [[v]] for k, v in SETTINGS.items()},
    )
    args.update(overrides)
    return xl.raw(name, *_ordered(name, **args))


def _direct(kpis, **extra):
    return measure_streams(
        kpis, GO_LIVE, COSTS, PROXIES, annual_discount_rate=SETTINGS["discount_rate"], service_risk=SETTINGS["service_risk"],
        retention_risk=SETTINGS["retention_risk"], uplift_risk=SETTINGS["uplift_risk"], cost_risk=SETTINGS["cost_risk"],
        gross_margin=SETTINGS["gross_margin"], horizon_months=SETTINGS["horizon_months"], **extra,
    )


@pytest.mark.parametrize("leads", [False, True])
def test_cxmeasured_is_measure_streams_on_the_same_tables(xl, leads):
    kpis = _kpis(leads)
    table = _call_measured(xl, "CXMEASURED", kpis)
    model = _direct(kpis)
    assert table[0] == ["Figure", "Value"]
    rows = _rows(table)
    assert len(rows) == len(table) - 1  # labels are unique
    want = {
        "Measured NPV (to date)": model.to_date.npv,
        "Measured ROI (to date)": model.to_date.roi,
        "PV benefits (measured)": model.to_date.pv_benefits,
        "PV costs (to date)": model.to_date.pv_costs,
        "NPV low (80%)": model.npv_interval[0.8][0],
        "NPV high (80%)": model.npv_interval[0.8][1],
        "NPV low (95%)": model.npv_interval[0.95][0],
        "NPV high (95%)": model.npv_interval[0.95][1],
        "ROI low (95%)": model.npv_interval[0.95][0] / model.to_date.pv_costs,
        "ROI high (95%)": model.npv_interval[0.95][1] / model.to_date.pv_costs,
        "Proxies (assumed): PV to date": model.stream_pv("to_date")["proxies"],
        "Horizon NPV (scenario)": model.horizon.npv,
        "Horizon ROI (scenario)": model.horizon.roi,
        "Horizon PV benefits": model.horizon.pv_benefits,
        "Horizon PV costs": model.horizon.pv_costs,
        "Projected share of horizon benefits": model.projected_share,
        "P(horizon NPV > 0)": defaults.default_monte_carlo(model).probability_positive,
        "Gross margin": 0.55,
        "Revenue per customer (baseline, monthly)": 40.0,
        "Baseline churn (monthly)": model.baseline_churn,
        "Service risk": 0.12,
        "Retention risk": 0.3,
        "Uplift risk": 0.2,
        "Cost risk": 0.04,
        "Baseline months": M_NB,
        "Tracked months": M_POST,
        "Horizon months": 24,
    }
    labels = {"service": "Service savings", "retention": "Retained margin", "uplift": "Revenue uplift"}
    for s in MEASURED_STREAMS:
        result = model.results[s]
        assert rows[f"{labels[s]}: verdict"] == result.verdict
        want[f"{labels[s]}: PV to date"] = result.pv_to_date
        want[f"{labels[s]}: PV over the horizon"] = result.pv_horizon
        if result.driver is not None:
            want[f"{labels[s]}: PV low (95%)"] = result.pv_low
            want[f"{labels[s]}: PV high (95%)"] = result.pv_high
        else:
            assert rows[f"{labels[s]}: PV low (95%)"] == "n/a"  # known not to exist: words, not an error
            assert "leads" in rows[f"{labels[s]}: why"]
    for label, value in want.items():
        assert rows[label] == pytest.approx(value, rel=1e-12, abs=1e-12), label
    assert rows["Service savings: verdict"] == "demonstrated" and rows["Retained margin: verdict"] == "demonstrated"
    assert rows["Revenue uplift: verdict"] == ("demonstrated" if leads else "not estimable")
    assert rows["Effects estimable"] == "yes" and rows["Projected past the tracked months"] == "yes"


def test_cxmeasuredmonths_is_the_model_month_by_month(xl):
    kpis = _kpis(leads=True)
    table = _call_measured(xl, "CXMEASUREDMONTHS", kpis)
    model = _direct(kpis)
    monthly = model.monthly
    assert table[0][:3] == ["Month", "Period", "Tracked or projected"]
    assert len(table) == 1 + 24
    columns = {label: [row[j] for row in table[1:]] for j, label in enumerate(table[0])}
    # dates leave as Excel serials: 45413 = 2024-05-01
    assert columns["Month"][0] == _serial(GO_LIVE) == 45413.0
    assert columns["Month"] == [_serial(m.to_pydatetime()) for m in monthly["month"]]
    assert columns["Period"] == list(range(24))
    assert columns["Tracked or projected"] == ["tracked"] * M_POST + ["projected"] * (24 - M_POST)
    pairs = {
        "Agent hours expected": "hours_expected", "Churn expected": "churn_expected", "Win rate expected": "win_rate_expected",
        "Customers saved": "customers_saved", "Customers kept": "customers_kept", "Extra wins": "extra_wins",
        "Extra customers staying": "wins_kept", "Service savings": "service", "Retained margin": "retention",
        "Revenue uplift": "uplift", "Proxies": "proxies", "Cost": "cost",
    }
    for label, column in pairs.items():
        want = monthly[column].to_numpy(float)
        got = columns[label]
        for g, w in zip(got, want):
            if np.isnan(w):
                assert g == ""  # a blank cell past the tracked months
            else:
                assert g == pytest.approx(w, rel=1e-12, abs=1e-12), label
    # period 0 cost: 500 + the 4,000 set-up before go-live; period 2: 500 + 250
    assert columns["Cost"][0] == 4500.0 and columns["Cost"][2] == 750.0


def test_cxmeasuredmonths_shows_zeros_for_a_stream_outside_the_scenario(xl):
    table = _call_measured(xl, "CXMEASUREDMONTHS", _kpis(leads=False))
    uplift = [row[table[0].index("Revenue uplift")] for row in table[1:]]
    assert uplift == [0.0] * 24


def test_windows_dates_in_the_tables_are_read_too():
    # classic xlwings on Windows sends datetime objects instead of serials
    kpis = _kpis()

    def windows(frame):
        rows = [list(frame.columns)]
        for _, r in frame.iterrows():
            rows.append([r[c].to_pydatetime() if isinstance(r[c], pd.Timestamp) else r[c] for c in frame.columns])
        return rows
    args = dict(baseline=windows(kpis.iloc[:M_NB]), post=windows(kpis.iloc[M_NB:]), costs=windows(COSTS), proxies=windows(PROXIES),
                go_live=[[_serial(GO_LIVE)]], **{k: [[v]] for k, v in SETTINGS.items()})
    rows = _rows(call("CXMEASURED", *_ordered("CXMEASURED", **args)))
    assert rows["Measured NPV (to date)"] == pytest.approx(_direct(kpis).to_date.npv, rel=1e-12)


def test_go_live_as_a_windows_date_cell():
    kpis = _kpis()
    args = dict(baseline=_table(kpis.iloc[:M_NB]), post=_table(kpis.iloc[M_NB:]), go_live=[[GO_LIVE]])
    result = call("CXMEASURED", *_ordered("CXMEASURED", **args))
    assert not isinstance(result, ExcelError), getattr(result, "reason", "")


@pytest.mark.parametrize("month", [" ", "NaT"])
def test_a_blank_looking_month_gets_a_reason(xl, month):
    kpis = _kpis()
    baseline = _table(kpis.iloc[:M_NB])
    baseline[4][0] = month
    args = _ordered("CXMEASURED", baseline=baseline, post=_table(kpis.iloc[M_NB:]), go_live=[[_serial(GO_LIVE)]])
    assert xl.raw("CXMEASURED", *args) == [["#VALUE!"]]
    reason = call("CXMEASURED", *_as_xlwings_passes(args)).reason
    assert not reason.startswith("unexpected error"), reason


def _measured_junk():
    kpis = _kpis()
    base, post = _table(kpis.iloc[:M_NB]), _table(kpis.iloc[M_NB:])

    def edit(table, row, column, value):
        out = [list(r) for r in table]
        out[row][column] = value
        return out

    def drop(table, column):
        return [[v for j, v in enumerate(r) if j != column] for r in table]

    late_post = _table(kpis.iloc[M_NB + 1 :])  # the go-live month missing
    gap_post = [post[0]] + post[1:3] + post[4:]  # a month missing inside
    return {
        "text in a number column": (dict(baseline=edit(base, 3, 1, "abc")), "#VALUE!", "where a number belongs"),
        "a blank number cell": (dict(post=edit(post, 2, 3, "")), "#VALUE!", "blank"),
        "a missing column": (dict(baseline=drop(base, 9)), "#VALUE!", "revenue"),
        "a header with a number": (dict(post=edit(post, 0, 2, 7.0)), "#VALUE!", "first row"),
        "a duplicated header": (dict(post=edit(post, 0, 2, "contacts")), "#VALUE!", "twice"),
        "post months not from go-live": (dict(post=late_post), "#VALUE!", "go-live"),
        "a month missing": (dict(post=gap_post), "#VALUE!", "consecutive"),
        "a month that is not a date": (dict(baseline=edit(base, 4, 0, "soon")), "#VALUE!", "not a month"),
        "an #N/A cell": (dict(baseline=edit(base, 5, 4, excel_error("#N/A"))), "#N/A", "#N/A"),
        "a #DIV/0! go-live": (dict(go_live=[[excel_error("#DIV/0!")]]), "#DIV/0!", "#DIV/0!"),
        "go-live as text": (dict(go_live=[["May"]]), "#VALUE!", "go_live"),
        "no go-live": (dict(go_live=None), "#VALUE!", "go_live"),
        "a risk above 1": (dict(retention_risk=[[1.5]]), "#NUM!", "risk"),
        "a fractional horizon": (dict(horizon_months=[[12.5]]), "#VALUE!", "whole"),
        "an unknown method": (dict(method=[["arima"]]), "#VALUE!", "method"),
        "a cost without a date": (dict(costs=[["date", "amount"], ["", 100.0]]), "#VALUE!", "month is missing"),
        "a proxy confidence as text": (dict(proxies=edit(_table(PROXIES), 1, 4, "high")), "#VALUE!", "confidence"),
        "no customers at a month's start": (
            dict(post=edit(edit(edit(post, 1, 6, 0.0), 1, 7, 0.0), 1, 8, 0.0)), "#DIV/0!", "no customers",
        ),
    }


@pytest.mark.parametrize("name", ["CXMEASURED", "CXMEASUREDMONTHS"])
@pytest.mark.parametrize("case", list(_measured_junk()))
def test_measured_junk_gives_an_excel_error_with_a_one_line_reason(xl, name, case):
    overrides, code, words = _measured_junk()[case]
    kpis = _kpis()
    args = dict(baseline=_table(kpis.iloc[:M_NB]), post=_table(kpis.iloc[M_NB:]), go_live=[[_serial(GO_LIVE)]])
    args.update(overrides)
    ordered = _ordered(name, **args)
    assert xl.raw(name, *ordered) == [[code]]
    direct = call(name, *_as_xlwings_passes(ordered))
    assert isinstance(direct, ExcelError) and direct == code
    reason = direct.reason
    assert reason and "\n" not in reason and "Traceback" not in reason and not reason.startswith("unexpected error"), reason
    assert words.lower() in reason.lower(), reason


def test_cxmeasured_takes_a_control_series(xl):
    # a series the automation does not touch enters every fit: CXMEASURED
    # given the Controls table equals measure_streams given the same series;
    # a control missing months is refused with a reason
    kpis = _kpis()
    months = pd.to_datetime(kpis["month"])
    controls = pd.DataFrame({"month": months, "name": "market", "value": [100.0 + 0.5 * i + (i % 3) for i in range(len(kpis))]})
    table = _rows(_call_measured(xl, "CXMEASURED", kpis, controls=_table(controls)))
    model = _direct(kpis, controls=controls)
    assert table["Measured NPV (to date)"] == pytest.approx(model.to_date.npv, rel=1e-9)
    assert table["Horizon NPV (scenario)"] == pytest.approx(model.horizon.npv, rel=1e-9)
    assert model.to_date.npv != pytest.approx(_direct(kpis).to_date.npv, rel=1e-9)  # the control changed the fits
    refused = _call_measured(xl, "CXMEASURED", kpis, controls=_table(controls.iloc[:5]))
    assert refused == [["#VALUE!"]]
