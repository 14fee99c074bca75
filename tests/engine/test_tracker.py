"""The holistic model (tracker.benefit_streams): every stream, its own risk,
the horizon.

Oracles: three-month cases derived by hand below (each figure written out
with its arithmetic), and an independent month-by-month loop in plain
pandas over the bundled sample clients' CSVs (rel 1e-9), written from the
issue's formulas without cxroi_xl.engine.tracker.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxroi_xl.engine import tracker
from cxroi_xl.batch.read import read_batch
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from cxroi_xl.engine.tracker import TrackerInput, benefit_streams, monthly_roi, risk_adjusted
from tests.conftest import ROOT

SAMPLE = ROOT / "examples" / "sample_clients"


def three_month_client(**changes) -> pd.DataFrame:
    """Two baseline months (2024-01, 2024-02), go-live 2024-03, three post months.

    Baseline: cost per contact (100+100) x 20 / 2,000 = 2.00; churn
    c0 = (4+6) / (200+200) = 0.025; arpu0 = 8,000 / 400 = 20; win rate
    p0 = (20+30) / (100+100) = 0.25.
    """
    frame = pd.DataFrame(
        {
            "month": ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"],
            "contacts": [1000, 1000, 1000, 1100, 900],
            "agent_hours": [100, 100, 60, 66, 50],
            "hourly_cost": [20.0] * 5,
            "active_customers": [200, 200, 200, 210, 220],
            "churned_customers": [4, 6, 1, 2, 9],  # churn rose in 2024-05
            "revenue": [4000.0] * 5,
            "automation_cost": [0, 0, 300, 300, 300],
            "leads": [100, 100, 100, 120, 80],
            "won": [20, 30, 30, 30, 18],
        }
    )
    return frame.assign(**changes)


ONE_OFFS = pd.DataFrame({"date": ["2024-02-10", "2024-05-20", "2024-07-01", "2030-01-01"], "amount": [1000.0, 500.0, 700.0, 9999.0]})


def test_risk_adjustment_makes_every_sign_worse():
    # x (1 - 0.25) for a benefit, x (1 + 0.25) for a dis-benefit
    assert risk_adjusted([80.0, 0.0, -40.0], 0.25).tolist() == [60.0, 0.0, -50.0]
    with pytest.raises(OutOfDomainError):
        risk_adjusted([1.0], 1.5)


def test_three_tracked_months_by_hand():
    m = benefit_streams(three_month_client(), "2024-03-15", ONE_OFFS, annual_discount_rate=0.0, horizon_months=3)
    monthly = m.monthly
    assert m.baseline_cost_per_contact == 2.0 and m.baseline_churn == 0.025 and m.baseline_arpu == 20.0
    assert m.baseline_win_rate == 0.25
    assert m.value_per_win == pytest.approx(400.0, rel=1e-15)  # arpu0 g / c0 = 20 x 0.5 / 0.025
    assert monthly["projected"].tolist() == [False, False, False]
    # service: contacts x 2 - hours x 20 -> 2000-1200, 2200-1320, 1800-1000; x (1-0.10)
    assert monthly["service"].tolist() == pytest.approx([800, 880, 800], rel=1e-15)
    assert monthly["service_adjusted"].tolist() == pytest.approx([720, 792, 720], rel=1e-15)
    # s = 0.025 active - churned: 5-1 = 4, 5.25-2 = 3.25, 5.5-9 = -3.5 (churn rose)
    assert monthly["customers_saved"].tolist() == pytest.approx([4, 3.25, -3.5], rel=1e-15)
    # R = 0.975 R_prev + s: 4, 3.9+3.25 = 7.15, 6.97125-3.5 = 3.47125
    assert monthly["customers_kept"].tolist() == pytest.approx([4, 7.15, 3.47125], rel=1e-14)
    # benefit R_prev x 20 x 0.5: 0, 40, 71.5; x (1-0.25)
    assert monthly["retention"].tolist() == pytest.approx([0, 40, 71.5], rel=1e-14)
    assert monthly["retention_adjusted"].tolist() == pytest.approx([0, 30, 53.625], rel=1e-14)
    # extra wins won - 0.25 leads: 30-25 = 5, 30-30 = 0, 18-20 = -2; x 400
    assert monthly["extra_wins"].tolist() == pytest.approx([5, 0, -2], abs=1e-13)
    assert monthly["uplift"].tolist() == pytest.approx([2000, 0, -800], abs=1e-10)
    # negative stream made worse: -800 x 1.25 = -1000
    assert monthly["uplift_adjusted"].tolist() == pytest.approx([1500, 0, -1000], abs=1e-10)
    # costs: 300 + 1000 (dated before go-live -> period 0); 300; 300 + 500
    assert monthly["cost"].tolist() == [1300.0, 300.0, 800.0]
    # to date = horizon here: benefits 2220 + 822 - 226.375 = 2815.625; costs 2400 x 1.05 = 2520
    assert m.to_date.pv_benefits == pytest.approx(2815.625, rel=1e-14)
    assert m.to_date.pv_costs == pytest.approx(2520.0, rel=1e-15)
    assert m.to_date.npv == pytest.approx(295.625, rel=1e-13)
    assert m.to_date.roi == pytest.approx(295.625 / 2520, rel=1e-13)
    assert m.horizon == m.to_date
    # net per month 2220-1365 = 855, 822-315 = 507, -226.375-840 = -1066.375: never below zero
    assert monthly["net"].tolist() == pytest.approx([855, 507, -1066.375], rel=1e-14)
    assert m.to_date.payback == 0.0


def test_negative_retention_stream_when_churn_rose_from_the_start():
    # post churned 9, 5, 5 of 200: s = 5-9 = -4, 0, 0; R = -4, -3.9, -3.8025;
    # benefit 0, -40, -39; risk-adjusted x 1.25: 0, -50, -48.75
    kpis = three_month_client(active_customers=[200] * 5, churned_customers=[4, 6, 9, 5, 5])
    m = benefit_streams(kpis, "2024-03-01", annual_discount_rate=0.0, horizon_months=3)
    assert m.monthly["customers_kept"].tolist() == pytest.approx([-4, -3.9, -3.8025], rel=1e-14)
    assert m.monthly["retention"].tolist() == pytest.approx([0, -40, -39], rel=1e-14)
    assert m.monthly["retention_adjusted"].tolist() == pytest.approx([0, -50, -48.75], rel=1e-14)


def test_horizon_projection_by_hand():
    proxies = pd.DataFrame(
        {
            "name": ["Turnover", "Brand", "Before go-live"],
            "monthly_value": [100.0, 50.0, 10.0],
            "first_month": ["2024-04", "2024-07", "2023-11"],
            "last_month": ["2024-06", None, "2024-03"],
            "confidence": [0.6, 0.2, 1.0],
        }
    )
    m = benefit_streams(three_month_client(), "2024-03-01", ONE_OFFS, proxies, annual_discount_rate=0.0, horizon_months=5, cost_risk=0.0)
    monthly = m.monthly
    assert m.tracked_months == 3 and m.horizon_months == 5
    assert monthly["projected"].tolist() == [False, False, False, True, True]
    assert monthly["month"].dt.strftime("%Y-%m").tolist() == ["2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]
    # service carried at (800+880+800)/3 = 826.67
    assert monthly["service"].tolist()[3:] == pytest.approx([2480 / 3] * 2, rel=1e-14)
    # s carried at (4+3.25-3.5)/3 = 1.25: R3 = 3.47125 x 0.975 + 1.25 = 4.63446875,
    # R4 = 4.63446875 x 0.975 + 1.25 = 5.7685070312...
    assert monthly["customers_saved"].tolist()[3:] == pytest.approx([1.25, 1.25], rel=1e-14)
    assert monthly["customers_kept"].tolist()[3:] == pytest.approx([4.63446875, 4.63446875 * 0.975 + 1.25], rel=1e-14)
    # retention benefit R_prev x 10: 34.7125, 46.3446875
    assert monthly["retention"].tolist()[3:] == pytest.approx([34.7125, 46.3446875], rel=1e-14)
    # extra wins carried at (5+0-2)/3 = 1 -> 400 a month
    assert monthly["uplift"].tolist()[3:] == pytest.approx([400, 400], rel=1e-13)
    # proxies: Turnover 100 in 2024-04..06 (x 0.6), Brand 50 from 2024-07 on (x 0.2),
    # Before go-live 10 in period 0 only (its months before go-live are not counted)
    assert monthly["proxies"].tolist() == [10.0, 100.0, 100.0, 100.0, 50.0]
    assert monthly["proxies_adjusted"].tolist() == pytest.approx([10, 60, 60, 60, 10], rel=1e-15)
    # costs: automation carried at 300; the 700 dated 2024-07 in period 4;
    # the one dated 2030 lies outside the horizon
    assert monthly["cost"].tolist() == [1300.0, 300.0, 800.0, 300.0, 1000.0]
    # to date: the first three months only (the 700 is not spent yet)
    assert m.to_date.pv_costs == 2400.0
    # horizon benefits: tracked 2815.625 + proxies 10+60+60 (=130), then
    # 744 + 26.034375 + 300 + 60 = 1130.034375 and 744 + 34.758515625 + 300 + 10 = 1088.758515625
    expected_benefits = 2815.625 + 130 + (0.9 * 2480 / 3 + 0.75 * 34.7125 + 300 + 60) + (0.9 * 2480 / 3 + 0.75 * 46.3446875 + 300 + 10)
    assert m.horizon.pv_benefits == pytest.approx(expected_benefits, rel=1e-13)
    assert m.horizon.pv_costs == 3700.0
    assert m.stream_pv("horizon")["proxies"] == pytest.approx(10 + 60 + 60 + 60 + 10, rel=1e-15)


def test_projection_averages_fewer_months_when_fewer_are_tracked():
    kpis = three_month_client().iloc[:4]  # two post months
    m = benefit_streams(kpis, "2024-03-01", annual_discount_rate=0.0, horizon_months=4)
    # service (800+880)/2 = 840; s (4+3.25)/2 = 3.625; extra wins (5+0)/2 = 2.5
    assert m.monthly["service"].tolist() == pytest.approx([800, 880, 840, 840], rel=1e-14)
    assert m.monthly["customers_saved"].tolist() == pytest.approx([4, 3.25, 3.625, 3.625], rel=1e-14)
    assert m.monthly["extra_wins"].tolist() == pytest.approx([5, 0, 2.5, 2.5], abs=1e-13)


def test_more_tracked_months_than_the_horizon_keeps_them_all():
    m = benefit_streams(three_month_client(), "2024-03-01", annual_discount_rate=0.0, horizon_months=2)
    assert m.horizon_months == 3 and not m.monthly["projected"].any()


def test_per_stream_risk_factors_and_discounting():
    # the same flows with other risks and a 12.68% annual rate (1% a month)
    rate = 1.01**12 - 1
    m = benefit_streams(three_month_client(), "2024-03-01", annual_discount_rate=rate, service_risk=0.0, retention_risk=0.5, uplift_risk=0.1, cost_risk=0.2, horizon_months=3)
    # benefits: 800 + 0 + 2000 x 0.9 = 2600; 880 + 40 x 0.5 + 0 = 900; 800 + 71.5 x 0.5 - 800 x 1.1 = -44.25
    # costs x 1.2: 1200 x 1.2 (no one-offs) = 360 each month
    pv_b = 2600 + 900 / 1.01 - 44.25 / 1.01**2
    pv_c = 360 + 360 / 1.01 + 360 / 1.01**2
    assert m.to_date.pv_benefits == pytest.approx(pv_b, rel=1e-13)
    assert m.to_date.pv_costs == pytest.approx(pv_c, rel=1e-13)
    assert m.monthly["discounted_net"].tolist() == pytest.approx([2600 - 360, (900 - 360) / 1.01, (-44.25 - 360) / 1.01**2], rel=1e-13)


def test_uplift_only_with_leads_and_won_in_every_month():
    without = three_month_client().drop(columns=["leads", "won"])
    m = benefit_streams(without, "2024-03-01", annual_discount_rate=0.0, horizon_months=3)
    assert not m.has_uplift and m.value_per_win is None and not m.monthly["uplift"].any()
    partial = three_month_client(won=[20, 30, None, 30, 18])
    with pytest.raises(InvalidInputError, match="every month or in none; missing in 2024-03"):
        benefit_streams(partial, "2024-03-01")
    with pytest.raises(InvalidInputError, match="every month or in none"):
        benefit_streams(three_month_client().drop(columns="won"), "2024-03-01")
    # a given value per win is used as it is
    m = benefit_streams(three_month_client(), "2024-03-01", value_per_win=10.0, annual_discount_rate=0.0, horizon_months=3)
    assert m.monthly["uplift"].tolist() == pytest.approx([50, 0, -20], abs=1e-12)


def test_bad_input_is_refused():
    kpis = three_month_client()
    with pytest.raises(OutOfDomainError):
        benefit_streams(kpis, "2024-03-01", retention_risk=1.2)
    with pytest.raises(OutOfDomainError):
        benefit_streams(kpis, "2024-03-01", gross_margin=-0.1)
    with pytest.raises(InvalidInputError):
        benefit_streams(kpis, "2024-03-01", horizon_months=0)
    with pytest.raises(ZeroDenominatorError, match="no active customers"):
        benefit_streams(three_month_client(active_customers=[0, 0, 200, 200, 200], churned_customers=[0, 0, 1, 1, 1]), "2024-03-01")
    with pytest.raises(ZeroDenominatorError, match="give value_per_win"):
        benefit_streams(three_month_client(churned_customers=[0, 0, 1, 1, 1]), "2024-03-01")
    with pytest.raises(InvalidInputError, match="consecutive"):
        benefit_streams(kpis.drop(index=3), "2024-03-01")
    bad_proxy = pd.DataFrame({"name": ["x"], "monthly_value": [1.0], "first_month": ["2024-05"], "last_month": ["2024-04"], "confidence": [0.5]})
    with pytest.raises(InvalidInputError, match="before its first_month"):
        benefit_streams(kpis, "2024-03-01", proxies=bad_proxy)
    with pytest.raises(OutOfDomainError, match="confidence"):
        benefit_streams(kpis, "2024-03-01", proxies=bad_proxy.assign(last_month=None, confidence=1.5))


def test_service_stream_to_date_is_the_existing_model():
    kpis = three_month_client()
    old = monthly_roi(kpis, "2024-03-01", ONE_OFFS, 0.1, 0.1, 0.05)
    new = benefit_streams(kpis, "2024-03-01", ONE_OFFS, annual_discount_rate=0.1, horizon_months=3)
    np.testing.assert_allclose(new.monthly["service"], old.monthly["benefit"], rtol=1e-15)
    np.testing.assert_allclose(new.monthly["cost"], old.monthly["cost"], rtol=1e-15)


# ---- independent loop over the sample clients ------------------------------


def loop_model(client: pd.Series, kpis: pd.DataFrame, costs: pd.DataFrame, proxies: pd.DataFrame) -> dict:
    """The issue's formulas month by month, plain pandas and Python floats."""
    go_live = client["go_live"][:7]
    base = kpis[kpis["month"] < go_live]
    post = kpis[kpis["month"] >= go_live].sort_values("month").reset_index(drop=True)
    g = 0.5  # the default gross margin: the sample clients do not set one
    k0 = (base["agent_hours"] * base["hourly_cost"]).sum() / base["contacts"].sum()
    c0 = base["churned_customers"].sum() / base["active_customers"].sum()
    arpu0 = base["revenue"].sum() / base["active_customers"].sum()
    has_leads = post["leads"].notna().all()
    if has_leads:
        p0 = base["won"].sum() / base["leads"].sum()
        vpw = arpu0 * g / c0
    months = list(pd.period_range(go_live, periods=36, freq="M").strftime("%Y-%m"))
    n = len(post)
    service, saved, wins, automation = [], [], [], []
    for i in range(36):
        if i < n:
            row = post.iloc[i]
            service.append(row["contacts"] * k0 - row["agent_hours"] * row["hourly_cost"])
            saved.append(c0 * row["active_customers"] - row["churned_customers"])
            wins.append(row["won"] - row["leads"] * p0 if has_leads else 0.0)
            automation.append(row["automation_cost"])
        else:
            service.append(sum(service[n - 3 : n]) / 3)
            saved.append(sum(saved[n - 3 : n]) / 3)
            wins.append(sum(wins[n - 3 : n]) / 3)
            automation.append(sum(automation[n - 3 : n]) / 3)

    def adjust(x, risk):
        return x * (1 - risk) if x >= 0 else x * (1 + risk)

    kept_before = 0.0
    rows = []
    rate = (1 + client["discount_rate"]) ** (1 / 12) - 1
    for i, month in enumerate(months):
        retention = kept_before * arpu0 * g
        kept_before = kept_before * (1 - c0) + saved[i]
        proxy_value = 0.0
        for _, p in proxies.iterrows():
            last = p["last_month"] if isinstance(p["last_month"], str) else "9999-12"
            if p["first_month"] <= month <= last:
                proxy_value += p["monthly_value"] * p["confidence"]
        cost = automation[i]
        for _, c in costs.iterrows():
            if c["date"][:7] == month or (i == 0 and c["date"][:7] < go_live):
                cost += c["amount"]
        benefit = adjust(service[i], client["benefit_risk"]) + adjust(retention, 0.25) + adjust(wins[i] * vpw if has_leads else 0.0, 0.25) + proxy_value
        rows.append({"service": service[i], "retention": retention, "uplift": wins[i] * vpw if has_leads else 0.0, "proxies_adjusted": proxy_value, "benefit": benefit, "cost": cost * (1 + client["cost_risk"]), "discount": (1 + rate) ** -i})
    frame = pd.DataFrame(rows)
    pv_b = (frame["benefit"] * frame["discount"]).sum()
    pv_c = (frame["cost"] * frame["discount"]).sum()
    to_date = frame.iloc[:n]
    pv_b_now = (to_date["benefit"] * to_date["discount"]).sum()
    pv_c_now = (to_date["cost"] * to_date["discount"]).sum()
    return {"frame": frame, "horizon": (pv_b, pv_c, pv_b - pv_c, (pv_b - pv_c) / pv_c), "to_date": (pv_b_now, pv_c_now, pv_b_now - pv_c_now, (pv_b_now - pv_c_now) / pv_c_now)}


def test_streams_match_an_independent_loop_over_the_sample_clients():
    clients = pd.read_csv(SAMPLE / "clients.csv").set_index("client_id")
    kpis = pd.read_csv(SAMPLE / "kpis.csv")
    costs = pd.read_csv(SAMPLE / "costs.csv")
    proxies = pd.read_csv(SAMPLE / "proxies.csv")
    batch = read_batch(SAMPLE)
    assert not batch.problems
    seen_streams = set()
    for client_id, client in clients.iterrows():
        expected = loop_model(client, kpis[kpis["client_id"] == client_id], costs[costs["client_id"] == client_id], proxies[proxies["client_id"] == client_id])
        model = batch.tracker_input(client_id).streams()
        monthly = model.monthly
        for column in ("service", "retention", "uplift", "proxies_adjusted", "benefit"):
            np.testing.assert_allclose(monthly[column], expected["frame"][column], rtol=1e-9, atol=1e-9 * expected["frame"][column].abs().max(), err_msg=f"{client_id} {column}")
        np.testing.assert_allclose(monthly["cost_adjusted"], expected["frame"]["cost"], rtol=1e-12)
        for over in ("to_date", "horizon"):
            tei = getattr(model, over)
            assert (tei.pv_benefits, tei.pv_costs, tei.npv, tei.roi) == pytest.approx(expected[over], rel=1e-9), (client_id, over)
        seen_streams |= {s for s in tracker.STREAMS if monthly[s].abs().sum() > 0}
    assert seen_streams == set(tracker.STREAMS), "the sample data should show every stream"


def test_tracker_input_defaults_keep_the_old_model():
    batch = read_batch(SAMPLE)
    data = batch.tracker_input("ledgerly")
    assert isinstance(data, TrackerInput) and data.gross_margin == 0.5 and data.horizon_months == 36
    assert data.retention_risk == 0.25 and data.uplift_risk == 0.25 and data.value_per_win is None
    # the service-only model is unchanged by the new fields
    plain = TrackerInput(data.client_id, data.client_name, data.go_live, data.kpis, data.costs, data.surveys, data.currency, data.discount_rate, data.benefit_risk, data.cost_risk)
    assert plain.model().tei == data.model().tei


# ---- the stream functions in cells, through xlwings' dispatcher -------------


def test_cxretainedmargin_by_hand_through_dispatch(excel):
    # the three-month case above: 0, 40, 71.5; then R_prev x 10 = 34.7125, 46.3446875
    args = ([200, 200], [4, 6], [4000, 4000], [200, 210, 220], [1, 2, 9])
    assert excel("CXRETAINEDMARGIN", *args) == [[0.0], [40.0], [71.5]]
    spilled = excel("CXRETAINEDMARGIN", *args, 0.5, 5)
    assert [row[0] for row in spilled] == pytest.approx([0, 40, 71.5, 34.7125, 46.3446875], rel=1e-14)
    # rows work as well as columns
    assert excel("CXRETAINEDMARGIN", [[200, 200]], [[4, 6]], [[4000, 4000]], [[200, 210, 220]], [[1, 2, 9]]) == [[0.0], [40.0], [71.5]]


def test_cxrevenueuplift_by_hand_through_dispatch(excel):
    # extra wins 5, 0, -2 (then their mean, 1) x 400
    result = excel("CXREVENUEUPLIFT", [100, 100], [20, 30], [100, 120, 80], [30, 30, 18], 400, 4)
    assert [row[0] for row in result] == pytest.approx([2000, 0, -800, 400], abs=1e-10)


def test_stream_functions_agree_with_the_model():
    kpis = three_month_client()
    m = benefit_streams(kpis, "2024-03-01", horizon_months=6)
    base, post = kpis.iloc[:2], kpis.iloc[2:]
    retention = tracker.retained_margin(base["active_customers"], base["churned_customers"], base["revenue"], post["active_customers"], post["churned_customers"], 0.5, 6)
    uplift = tracker.revenue_uplift(base["leads"], base["won"], post["leads"], post["won"], m.value_per_win, 6)
    np.testing.assert_array_equal(retention, m.monthly["retention"])
    np.testing.assert_array_equal(uplift, m.monthly["uplift"])


@pytest.mark.parametrize(
    "name, args, expected",
    [
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, None, 220], [1, 2, 9]), "#VALUE!"),  # a blank month
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2, 9]), "#VALUE!"),  # lengths differ
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000], [200, 210], [1, 2]), "#VALUE!"),
        ("CXRETAINEDMARGIN", ([0, 0], [0, 0], [0, 0], [200, 210], [1, 2]), "#DIV/0!"),  # no baseline customers
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2], 1.5), "#NUM!"),
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, -2]), "#VALUE!"),
        ("CXRETAINEDMARGIN", ([200, 200], [4, 6], [4000, 4000], [200, 210], [1, 2], 0.5, 0), "#VALUE!"),
        ("CXREVENUEUPLIFT", ([0, 0], [0, 0], [100], [30], 400), "#DIV/0!"),  # no baseline leads
        ("CXREVENUEUPLIFT", ([100], [20], [100, "x"], [30, 30], 400), "#VALUE!"),
        ("CXREVENUEUPLIFT", ([100], [20], [100], [30], "lots"), "#VALUE!"),
    ],
)
def test_stream_functions_bad_input_gives_an_excel_error(excel, name, args, expected):
    assert excel(name, *args) == expected
