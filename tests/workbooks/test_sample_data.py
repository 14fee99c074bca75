"""The bundled sample batch: current, seeded, usable by every template, and
behaving as real businesses do (checked with the counterfactual engine)."""
from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
import pytest

from cxroi_xl.batch.read import read_batch
from cxroi_xl.engine.counterfactual import MIN_BASELINE_MONTHS, linear_counterfactual, rate_counterfactual
from cxroi_xl.workbooks.sample_data import (
    FALLING_CHURN_CLIENT,
    FALLING_HANDLE_TIME_CLIENT,
    GROSS_MARGIN_SPREAD,
    JOURNEY_CLIENTS,
    NO_EFFECT_CLIENT,
    NOT_CORROBORATED_CLIENT,
    ORDER_CLIENTS,
    SAMPLE_CLIENTS,
    SAMPLE_PROFILES,
    SAMPLE_SCENARIOS,
    clients_with,
    write_sample_batch,
)
from tests.conftest import ROOT

BUNDLED = ROOT / "examples" / "sample_clients"


def test_bundled_sample_batch_is_current(tmp_path):
    # examples/make_sample_clients.py regenerates it; the same seeds give the same files
    write_sample_batch(tmp_path)
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert {"clients.csv", "kpis.csv", "costs.csv", "surveys.csv", "transactions.csv", "journeys.csv"} <= set(written)
    for name in written:
        assert filecmp.cmp(tmp_path / name, BUNDLED / name, shallow=False), f"{name} is stale: run examples/make_sample_clients.py"


def test_orders_and_journeys_for_some_clients_validate():
    batch = read_batch(BUNDLED)
    assert batch.problems == []
    having = {name: {cid for cid in batch.valid_client_ids() if batch.stores[name].count(batch.codes[cid])} for name in ("transactions", "journeys")}
    assert having["transactions"] == set(ORDER_CLIENTS)
    assert having["journeys"] == set(JOURNEY_CLIENTS)
    ids = [client_id for client_id, *_ in SAMPLE_CLIENTS]
    assert set(ORDER_CLIENTS) <= set(ids) and set(JOURNEY_CLIENTS) <= set(ids)
    for client_id in ORDER_CLIENTS:
        data = batch.tracker_input(client_id)
        orders = data.transactions
        # orders fall in the client's tracked months; repeat buyers exist (BG/NBD needs them)
        months = pd.to_datetime(orders["date"]).dt.to_period("M")
        assert months.min() >= pd.Period(data.kpis["month"].min(), "M") and months.max() <= pd.Period(data.kpis["month"].max(), "M")
        assert (orders.groupby("customer_id").size() > 1).sum() >= 20
        assert (orders["amount"] > 0).all()
    for client_id in JOURNEY_CLIENTS:
        journeys = batch.tracker_input(client_id).journeys
        assert journeys["conversions"].sum() > 0 and journeys["nulls"].sum() > journeys["conversions"].sum()


def test_clients_with_keeps_only_clients_having_the_table(tmp_path):
    kept = clients_with(BUNDLED, "journeys", tmp_path)
    assert sorted(kept) == sorted(JOURNEY_CLIENTS)
    batch = read_batch(tmp_path)
    assert batch.problems == [] and sorted(batch.valid_client_ids()) == sorted(JOURNEY_CLIENTS)
    # the kept clients' rows are copied unchanged
    original = pd.read_csv(BUNDLED / "kpis.csv", dtype=str)
    copied = pd.read_csv(tmp_path / "kpis.csv", dtype=str)
    pd.testing.assert_frame_equal(copied.reset_index(drop=True), original[original.client_id.isin(JOURNEY_CLIENTS)].reset_index(drop=True))


# ---- the sample clients behave as real businesses do -------------------------------------
# Each fact below is computed from the bundled files with the counterfactual
# engine, as the ROI model fits them: agent hours on total contacts (OLS),
# churn out of the customers active at the month's start and the win rate
# out of leads (quasi-binomial logit), baseline months only.

PROFILE_OF = {client_id: profile for client_id, _name, profile, _currency in SAMPLE_CLIENTS}


def _client_fits(client: pd.Series, kpis: pd.DataFrame) -> dict:
    kpis = kpis.sort_values("month").reset_index(drop=True)
    n_b = int((kpis["month"] < client["go_live"][:7]).sum())
    month = int(kpis["month"].iloc[0][5:7])
    start = kpis["active_customers"] - kpis["new_customers"] + kpis["churned_customers"]  # active at the month's start
    fits = {
        "hours": linear_counterfactual(kpis["agent_hours"], n_b, month, regressors=kpis["contacts"], good="down"),
        "churn": rate_counterfactual(kpis["churned_customers"], start, n_b, month, good="down"),
    }
    if kpis["leads"].notna().all():
        fits["win rate"] = rate_counterfactual(kpis["won"].astype(int), kpis["leads"].astype(int), n_b, month, good="up")
    return {"kpis": kpis, "n_baseline": n_b, "month": month, "start": start, "fits": fits}


@pytest.fixture(scope="module")
def sample():
    clients = pd.read_csv(BUNDLED / "clients.csv").set_index("client_id")
    kpis = pd.read_csv(BUNDLED / "kpis.csv")
    costs = pd.read_csv(BUNDLED / "costs.csv")
    per_client = {cid: _client_fits(client, kpis[kpis["client_id"] == cid]) for cid, client in clients.iterrows()}
    return clients, costs, per_client


def _verdicts(entry: dict) -> dict[str, str]:
    return {name: fit.effect.verdict for name, fit in entry["fits"].items()}


def _stock_breaks(kpis: pd.DataFrame) -> np.ndarray:
    """|active[t] - (active[t-1] + new[t] - churned[t])| / active[t-1], for t >= 1."""
    active = kpis["active_customers"].to_numpy(float)
    implied = active[:-1] + kpis["new_customers"].to_numpy()[1:] - kpis["churned_customers"].to_numpy()[1:]
    return np.abs(active[1:] - implied) / active[:-1]


def test_baselines_and_post_periods_vary_as_in_a_real_portfolio(sample):
    clients, _costs, per_client = sample
    baselines = {cid: e["n_baseline"] for cid, e in per_client.items()}
    posts = {cid: len(e["kpis"]) - e["n_baseline"] for cid, e in per_client.items()}
    assert min(baselines.values()) == 6 and max(baselines.values()) == 36
    assert min(posts.values()) == 3 and max(posts.values()) == 24
    assert {cid: (b, posts[cid]) for cid, b in baselines.items()} == {cid: (s["baseline_months"], s["post_months"]) for cid, s in SAMPLE_SCENARIOS.items()}
    # a client with too short a baseline: nothing is estimable for it
    short = [cid for cid, b in baselines.items() if b < MIN_BASELINE_MONTHS]
    assert short
    for cid in short:
        assert set(_verdicts(per_client[cid]).values()) == {"not estimable"}, cid


def test_the_demo_shows_every_verdict(sample):
    _clients, _costs, per_client = sample
    seen = {v for e in per_client.values() for v in _verdicts(e).values()}
    assert {"demonstrated", "not demonstrated", "not estimable"} <= seen
    # the automation works for most clients: agent hours fall demonstrably
    hours = [e["fits"]["hours"].effect.verdict for e in per_client.values()]
    assert hours.count("demonstrated") >= len(hours) // 2


def test_the_no_effect_client_pays_but_nothing_moves(sample):
    _clients, _costs, per_client = sample
    entry = per_client[NO_EFFECT_CLIENT]
    assert entry["n_baseline"] >= MIN_BASELINE_MONTHS and entry["kpis"]["leads"].notna().all()
    assert _verdicts(entry) == {"hours": "not demonstrated", "churn": "not demonstrated", "win rate": "not demonstrated"}
    post = entry["kpis"].iloc[entry["n_baseline"] :]
    assert (post["automation_cost"] > 0).all() and (post["automated_contacts"] > 0).any()


def test_active_customers_add_up_for_every_client_but_the_uncorroborated_one(sample):
    _clients, _costs, per_client = sample
    for cid, entry in per_client.items():
        breaks = _stock_breaks(entry["kpis"])
        n_b = entry["n_baseline"]
        if cid == NOT_CORROBORATED_CLIENT:
            assert (breaks[: n_b - 1] == 0).all()  # the baseline adds up
            assert breaks[n_b - 1 :].max() > 0.02  # by more than 2% of the stock in a post month
            # its churn fell demonstrably, yet the customer base shows none of the kept customers
            assert entry["fits"]["churn"].effect.verdict == "demonstrated"
            active = entry["kpis"]["active_customers"].to_numpy(float)
            implied = active[n_b - 1] + (entry["kpis"]["new_customers"] - entry["kpis"]["churned_customers"]).to_numpy()[n_b:].sum()
            assert (implied - active[-1]) / active[-1] > 0.02
        else:
            assert (breaks == 0).all(), cid


def test_churn_is_overdispersed_and_acquisition_has_its_own_process(sample):
    _clients, _costs, per_client = sample
    # Pearson dispersion of the baseline churn fits: about twice binomial
    dispersion = [
        rate_counterfactual(e["kpis"]["churned_customers"], e["start"], e["n_baseline"], e["month"], autocorrelation="none").scale
        for e in per_client.values()
        if e["n_baseline"] >= MIN_BASELINE_MONTHS
    ]
    assert 1.4 < float(np.median(dispersion)) < 3.0
    # new customers do not move with churned ones (month-to-month changes uncorrelated)
    correlations = [np.corrcoef(np.diff(e["kpis"]["new_customers"]), np.diff(e["kpis"]["churned_customers"]))[0, 1] for e in per_client.values()]
    assert abs(float(np.median(correlations))) < 0.3
    # and those won from leads are among the new customers
    for e in per_client.values():
        if e["kpis"]["leads"].notna().all():
            assert (e["kpis"]["won"] <= e["kpis"]["new_customers"]).all()


def test_gross_margin_follows_the_kind_of_business(sample):
    clients, _costs, _per_client = sample
    for cid, client in clients.iterrows():
        assert abs(client["gross_margin"] - SAMPLE_PROFILES[PROFILE_OF[cid]].gross_margin) <= GROSS_MARGIN_SPREAD + 1e-9, cid
    by_profile = clients.groupby(clients.index.map(PROFILE_OF))["gross_margin"].mean()
    assert list(by_profile.sort_values(ascending=False).index) == ["saas", "bakery", "clinic", "agency", "ecommerce", "hospitality"]


def test_falling_handle_time_makes_the_naive_saving_large_and_the_counterfactual_one_small(sample):
    clients, costs, per_client = sample
    entry = per_client[FALLING_HANDLE_TIME_CLIENT]
    kpis, n_b = entry["kpis"], entry["n_baseline"]
    base, post = kpis.iloc[:n_b], kpis.iloc[n_b:]
    # hours per contact were already falling before go-live
    per_contact = base["agent_hours"] / base["contacts"]
    assert np.polyfit(np.arange(n_b), per_contact, 1)[0] / per_contact.mean() < -0.01
    cost_per_contact = (base["agent_hours"] * base["hourly_cost"]).sum() / base["contacts"].sum()
    naive = float((post["contacts"] * cost_per_contact - post["agent_hours"] * post["hourly_cost"]).sum())
    expected = entry["fits"]["hours"].expected[n_b:]
    counterfactual = float(((expected - post["agent_hours"]) * post["hourly_cost"]).sum())
    spent = float(costs.loc[costs["client_id"] == FALLING_HANDLE_TIME_CLIENT, "amount"].sum() + post["automation_cost"].sum())
    # the naive saving pays for the automation, the counterfactual one does not
    assert naive > spent > counterfactual and naive > 3 * counterfactual


def test_falling_churn_client_had_churn_falling_before_go_live(sample):
    _clients, _costs, per_client = sample
    entry = per_client[FALLING_CHURN_CLIENT]
    fit, kpis, n_b = entry["fits"]["churn"], entry["kpis"], entry["n_baseline"]
    assert fit.beta[fit.terms.index("trend")] < 0
    rate = kpis["churned_customers"] / entry["start"]
    assert rate.iloc[n_b:].mean() < 0.85 * rate.iloc[:n_b].mean()  # a naive before/after drop of over 15%
    assert fit.effect.verdict == "not demonstrated"  # most of it was already under way


def test_seasonal_clients_hours_follow_their_contacts(sample):
    _clients, _costs, per_client = sample
    seasonal = [cid for cid, s in SAMPLE_SCENARIOS.items() if s.get("season_amplitude", 0) >= 0.35]
    assert seasonal
    for cid in seasonal:
        entry = per_client[cid]
        base = entry["kpis"].iloc[: entry["n_baseline"]]
        assert base["contacts"].max() > 1.6 * base["contacts"].min(), cid
        assert np.corrcoef(base["contacts"], base["agent_hours"])[0, 1] > 0.9, cid
        assert entry["fits"]["hours"].effect.verdict == "demonstrated", cid
