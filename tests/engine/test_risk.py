"""Monte Carlo NPV/ROI and the tornado (cxroi_xl.engine.risk), in Python and in cells.

Oracles: the deterministic TEI of the unadjusted flows (finance.tei, rel
1e-12) when no multiplier varies; the exact mean
sum_s PV_s (low_s + 1 + high_s)/3 - PV_c (cost_low + 1 + cost_high)/3 and
the exact P(NPV > 0) from a numerical convolution of the two triangular
distributions (scipy.stats.triang and scipy.integrate.quad), each within
three standard errors; scipy's triangular quantile function for the
multipliers (rel 1e-12); a per-trial, per-period Python loop on the same
draws (rel 1e-12); a hand-derived tornado; numpy's np.percentile and
np.histogram for the summary (to the last bit).
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from cxroi_xl.engine import finance, risk
from cxroi_xl.batch.read import read_batch
from cxroi_xl.engine.streams import STREAMS, measure
from cxroi_xl.errors import InvalidInputError, OutOfDomainError
from tests.conftest import ROOT

SPREAD_LOW = [0.8, 0.5, 0.4, 0.3]
SPREAD_HIGH = [1.1, 1.3, 1.5, 1.2]


@pytest.fixture(scope="module")
def sample_flows():
    """A sample client's four unadjusted streams and costs over its horizon."""
    model = measure(read_batch(ROOT / "examples" / "sample_clients").tracker_input("rose-bakery"))
    streams, costs = model.monthly[list(STREAMS)].to_numpy(float), model.monthly["cost"].to_numpy(float)
    assert streams.shape == (model.horizon_months, 4) and np.abs(streams).sum() > 0
    return streams, costs, model.monthly_rate


def test_without_uncertainty_every_trial_is_the_deterministic_tei(sample_flows):
    streams, costs, rate = sample_flows
    result = risk.monte_carlo_npv(streams, costs, rate, 1, 1, 1, 1, trials=1000, seed=5)
    exact = finance.tei(streams.sum(axis=1), costs, rate)
    for value in (result.npv_p10, result.npv_p50, result.npv_p90, result.npv_mean):
        assert value == pytest.approx(exact.npv, rel=1e-12)
    for value in (result.roi_p10, result.roi_p50, result.roi_p90):
        assert value == pytest.approx(exact.roi, rel=1e-12)
    assert result.probability_positive == float(exact.npv > 0)
    assert result.bin_counts.sum() == 1000


def test_mean_npv_within_three_standard_errors_of_the_exact_mean(sample_flows):
    streams, costs, rate = sample_flows
    result = risk.monte_carlo_npv(streams, costs, rate, SPREAD_LOW, SPREAD_HIGH, 0.9, 1.4, trials=100_000, seed=11)
    pv = np.array([finance.present_value(streams[:, s], rate) for s in range(4)])
    pv_c = finance.present_value(costs, rate)
    exact = float(np.sum(pv * (np.array(SPREAD_LOW) + 1 + np.array(SPREAD_HIGH)) / 3) - pv_c * (0.9 + 1 + 1.4) / 3)
    standard_error = result.npv.std(ddof=1) / np.sqrt(result.npv.size)
    assert abs(result.npv_mean - exact) < 3 * standard_error


def test_probability_of_positive_npv_against_a_numerical_convolution():
    # One stream worth PV 100 (50 + 50, undiscounted) against costs of 95.
    benefits, costs = [[0.0], [50.0], [50.0]], [95.0, 0.0, 0.0]
    low, high, cost_low, cost_high = 0.6, 1.3, 0.9, 1.4
    trials = 200_000
    result = risk.monte_carlo_npv(benefits, costs, 0.0, low, high, cost_low, cost_high, trials=trials, seed=2024)
    # B = 100 X, C = 95 Y with X, Y triangular (mode 1): P(B > C) = integral of f_C(c) (1 - F_B(c)) dc
    b = stats.triang(c=(1 - low) / (high - low), loc=100 * low, scale=100 * (high - low))
    c = stats.triang(c=(1 - cost_low) / (cost_high - cost_low), loc=95 * cost_low, scale=95 * (cost_high - cost_low))
    exact, _ = integrate.quad(lambda x: c.pdf(x) * b.sf(x), 95 * cost_low, 95 * cost_high, points=[95.0, 100 * low, 100.0], epsabs=1e-12)
    assert 0.3 < exact < 0.9
    standard_error = np.sqrt(exact * (1 - exact) / trials)
    assert abs(result.probability_positive - exact) < 3 * standard_error


def test_multipliers_are_scipys_triangular_quantiles():
    u = np.linspace(0.0, 0.999, 200)[:, None]
    low, high = np.array([0.5]), np.array([1.7])
    expected = stats.triang(c=0.5 / 1.2, loc=0.5, scale=1.2).ppf(u[:, 0])
    np.testing.assert_allclose(risk.triangular_multipliers(u, low, high)[:, 0], expected, rtol=1e-12)
    # mode at an edge: low = 1 or high = 1
    np.testing.assert_allclose(risk.triangular_multipliers(u, [1.0], [1.5])[:, 0], stats.triang(c=0, loc=1, scale=0.5).ppf(u[:, 0]), rtol=1e-12)
    np.testing.assert_allclose(risk.triangular_multipliers(u, [0.5], [1.0])[:, 0], stats.triang(c=1, loc=0.5, scale=0.5).ppf(u[:, 0]), rtol=1e-12)


def test_trials_equal_a_per_trial_per_period_loop_on_the_same_draws(sample_flows):
    streams, costs, rate = sample_flows
    trials, seed = 50, 8
    result = risk.monte_carlo_npv(streams, costs, rate, SPREAD_LOW, SPREAD_HIGH, 0.9, 1.4, trials=trials, seed=seed)
    draws = np.random.default_rng(seed).random((trials, 5))
    lows, highs = SPREAD_LOW + [0.9], SPREAD_HIGH + [1.4]
    for i in range(trials):
        m = [stats.triang(c=(1 - lo) / (hi - lo), loc=lo, scale=hi - lo).ppf(draws[i, k]) for k, (lo, hi) in enumerate(zip(lows, highs))]
        npv = sum((sum(m[s] * streams[t, s] for s in range(4)) - m[4] * costs[t]) / (1 + rate) ** t for t in range(36))
        cost = sum(m[4] * costs[t] / (1 + rate) ** t for t in range(36))
        assert result.npv[i] == pytest.approx(npv, rel=1e-11)
        assert result.roi[i] == pytest.approx(npv / cost, rel=1e-11)


def test_same_seed_same_result_other_seed_other_result(sample_flows):
    streams, costs, rate = sample_flows
    args = (streams, costs, rate, SPREAD_LOW, SPREAD_HIGH, 0.9, 1.4)
    first = risk.monte_carlo_npv(*args, trials=5000, seed=3)
    again = risk.monte_carlo_npv(*args, trials=5000, seed=3)
    other = risk.monte_carlo_npv(*args, trials=5000, seed=4)
    assert first.rows() == again.rows() and np.array_equal(first.bin_counts, again.bin_counts)
    assert first.rows() != other.rows()
    # more trials than one block of draws: the same seed still repeats
    big = risk.monte_carlo_npv(*args, trials=150_001, seed=3)
    assert np.array_equal(big.npv, risk.monte_carlo_npv(*args, trials=150_001, seed=3).npv)


def test_histogram_covers_every_trial():
    result = risk.monte_carlo_npv([[0.0], [50.0], [50.0]], [95.0, 0, 0], 0.0, 0.6, 1.3, 0.9, 1.4, trials=10_000, seed=1, bins=7)
    assert result.bin_counts.sum() == 10_000 and result.bin_edges.size == 8
    assert result.bin_edges[0] == result.npv.min() and result.bin_edges[-1] == result.npv.max()


def test_bad_input_is_refused():
    flows = [[1.0], [2.0]]
    with pytest.raises(OutOfDomainError):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, 1.1, 1.2)  # low above 1
    with pytest.raises(OutOfDomainError):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, 0.9, 0.95)  # high below 1
    with pytest.raises(OutOfDomainError):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, -0.1, 1.2)
    with pytest.raises(InvalidInputError, match="one low and one high"):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, [0.9, 0.8], 1.2)
    with pytest.raises(InvalidInputError, match="one value per period"):
        risk.monte_carlo_npv(flows, [1, 0, 0], 0.0, 0.9, 1.2)
    with pytest.raises(InvalidInputError, match="positive"):
        risk.monte_carlo_npv(flows, [-1, 0], 0.0, 0.9, 1.2)
    with pytest.raises(OutOfDomainError, match="trials"):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, 0.9, 1.2, trials=risk.MAX_TRIALS + 1)
    with pytest.raises(OutOfDomainError, match="bins"):
        risk.monte_carlo_npv(flows, [1, 0], 0.0, 0.9, 1.2, bins=0)
    with pytest.raises(OutOfDomainError):
        risk.monte_carlo_npv(flows, [1, 0], -1.0, 0.9, 1.2)


def test_tornado_by_hand():
    # PVs at 0%: service 60+60 = 120, uplift 10+10 = 20, costs 100; NPV at 1 = 40.
    table = risk.tornado([[0, 0], [60, 10], [60, 10]], [100, 0, 0], 0.0, [0.5, 0.9], [1.2, 1.1], 0.9, 1.3, ["Service", "Uplift"])
    assert table["driver"].tolist() == ["Service", "Costs", "Uplift"]
    # service 40 - 0.5 x 120 = -20 and 40 + 0.2 x 120 = 64; costs 40 + 0.1 x 100 = 50 and 40 - 0.3 x 100 = 10;
    # uplift 40 - 0.1 x 20 = 38 and 40 + 2 = 42
    assert table["npv_low"].tolist() == pytest.approx([-20, 50, 38], rel=1e-14)
    assert table["npv_high"].tolist() == pytest.approx([64, 10, 42], rel=1e-14)
    assert table["swing"].tolist() == pytest.approx([84, 40, 4], rel=1e-14)


# ---- in cells, through xlwings' dispatcher ---------------------------------


def test_cxmontecarlo_table_through_dispatch(excel, sample_flows):
    streams, costs, rate = sample_flows
    table = excel("CXMONTECARLO", streams.tolist(), costs.tolist(), rate, [[1, 1, 1, 1]], [[1, 1, 1, 1]], 1, 1, 500, 7, 5)
    assert table[0] == ["Metric", "Value", "Bin to", "Count"]
    assert [row[0] for row in table[1:9]] == ["NPV P10", "NPV P50", "NPV P90", "Mean NPV", "P(NPV > 0)", "ROI P10", "ROI P50", "ROI P90"]
    exact = finance.tei(streams.sum(axis=1), costs, rate)
    for row in table[1:5]:
        assert row[1] == pytest.approx(exact.npv, rel=1e-12)
    for row in table[6:9]:
        assert row[1] == pytest.approx(exact.roi, rel=1e-12)
    bins = table[9:]
    assert len(bins) == 5 and [row[0] for row in bins] == [f"NPV bin {k}" for k in range(1, 6)]
    assert sum(row[3] for row in bins) == 500
    assert all(bins[k][2] == bins[k + 1][1] for k in range(4))


def test_cxmontecarlo_defaults_and_seed_through_dispatch(excel):
    streams = [[0, 0], [60, 10], [60, 10]]
    once = excel("CXMONTECARLO", streams, [100, 0, 0], 0.01, [[0.5, 0.9]], [[1.2, 1.1]])
    again = excel("CXMONTECARLO", streams, [100, 0, 0], 0.01, [[0.5, 0.9]], [[1.2, 1.1]], None, None, 10_000, 1)
    assert once == again and len(once) == 1 + 8 + 20
    direct = risk.monte_carlo_npv(streams, [100, 0, 0], 0.01, [0.5, 0.9], [1.2, 1.1], trials=10_000, seed=1)
    assert [row[1] for row in once[1:9]] == [value for _, value in direct.rows()]


def test_cxtornado_through_dispatch(excel):
    table = excel("CXTORNADO", [[0, 0], [60, 10], [60, 10]], [100, 0, 0], 0.0, [[0.5, 0.9]], [[1.2, 1.1]], 0.9, 1.3, [["Service", "Uplift"]])
    assert table[0] == ["Driver", "NPV at low", "NPV at high", "Swing"]
    assert [row[0] for row in table[1:]] == ["Service", "Costs", "Uplift"]
    assert table[1][1:] == pytest.approx([-20, 64, 84], rel=1e-14)


@pytest.mark.parametrize(
    "args, expected",
    [
        (([[1], [2]], [1, "x"], 0.0, 0.9, 1.1), "#VALUE!"),  # text in costs
        (([[1], [2]], [1, 0, 0], 0.0, 0.9, 1.1), "#VALUE!"),  # lengths differ
        (([[1], [2]], [1, 0], 0.0, 1.2, 1.3), "#NUM!"),  # low above 1
        (([[1], [2]], [1, 0], 0.0, 0.9, 1.1, 0.8, 0.9), "#NUM!"),  # cost high below 1
        (([[1], [2]], [1, 0], 0.0, [[0.9, None]], [[1.1, 1.1]]), "#VALUE!"),  # blank multiplier
        (([[1, 1], [2, 2]], [1, 0], 0.0, [[0.9, 0.9, 0.9]], 1.1), "#VALUE!"),  # one low too many
        (([[1], [2]], [1, 0], 0.0, 0.9, 1.1, 1, 1, 0), "#NUM!"),  # no trials
        (([[1], [2]], [1, 0], 0.0, 0.9, 1.1, 1, 1, 2.5), "#VALUE!"),  # trials not whole
        (([[1], [2]], [1, 0], 0.0, 0.9, 1.1, 1, 1, 10, -1), "#NUM!"),  # negative seed
        (([[1], [2]], [1, 0], -1.0, 0.9, 1.1), "#NUM!"),  # rate at -100%
        (([[1], [2]], [1, 0], "ten", 0.9, 1.1), "#VALUE!"),
    ],
)
def test_cxmontecarlo_bad_input_gives_an_excel_error(excel, args, expected):
    result = excel("CXMONTECARLO", *args)
    assert result == expected
    if len(args) <= 7:  # the tornado shares the first seven arguments and their checks
        assert excel("CXTORNADO", *args) == expected


def test_zero_costs_leave_roi_undefined_in_cells(excel):
    table = excel("CXMONTECARLO", [[10], [10]], [0, 0], 0.0, 0.9, 1.1, 1, 1, 100)
    assert [row[1] for row in table[6:9]] == ["#DIV/0!"] * 3
    assert table[5][1] == 1.0  # P(NPV > 0)


def test_error_cells_propagate(excel):
    from tests.excel_dispatch import excel_error

    assert excel.raw("CXMONTECARLO", [[1], [2]], [[1], [excel_error("#N/A")]], [[0.0]], [[0.9]], [[1.1]]) == [["#N/A"]]


# ---- the summary and the multipliers against numpy and scipy -----------------


@pytest.mark.parametrize("n", [1, 2, 3, 10, 999, 1000, 10_001])
def test_percentiles_of_sorted_trials_are_numpys(n):
    # numpy's own np.percentile (linear) is the oracle, to the last bit;
    # rounded values give ties, a NaN gives NaN
    rng = np.random.default_rng(n)
    for values in (rng.normal(size=n) * 1e4, np.round(rng.normal(size=n) * 3)):
        percents = [0, 10, 33.3, 50, 90, 99.99, 100]
        np.testing.assert_array_equal(risk.sorted_percentiles(np.sort(values), percents), np.percentile(values, percents))
    with_nan = np.append(rng.normal(size=n), np.nan)
    assert np.isnan(risk.sorted_percentiles(np.sort(with_nan), [10, 50, 90])).all()


@pytest.mark.parametrize("bins", [1, 7, 20, 200])
def test_summary_is_numpys_percentiles_and_histogram(bins):
    rng = np.random.default_rng(bins)
    # whole numbers: many trials fall exactly on a bin edge
    npv = np.round(rng.normal(100.0, 400.0, size=5_000))
    costs = rng.uniform(50.0, 150.0, size=5_000)
    result = risk.summarise_trials(npv, costs, bins)
    counts, edges = np.histogram(npv, bins=bins)
    np.testing.assert_array_equal(result.bin_counts, counts)
    np.testing.assert_array_equal(result.bin_edges, edges)
    assert [result.npv_p10, result.npv_p50, result.npv_p90] == np.percentile(npv, [10, 50, 90]).tolist()
    assert [result.roi_p10, result.roi_p50, result.roi_p90] == np.percentile(npv / costs, [10, 50, 90]).tolist()
    assert result.npv_mean == np.mean(npv) and result.probability_positive == np.mean(npv > 0)
    # every trial alike: one bin around it, as np.histogram makes it
    same = risk.summarise_trials(np.full(10, 3.0), np.ones(10), bins)
    np.testing.assert_array_equal(same.bin_edges, np.histogram(np.full(10, 3.0), bins=bins)[1])
    assert same.bin_counts.tolist() == np.histogram(np.full(10, 3.0), bins=bins)[0].tolist()


def test_multipliers_column_by_column_are_scipys_triangular_quantiles():
    # a block of draws with one low/high pair per column, degenerate (1, 1) included
    u = np.random.default_rng(4).random((500, 4))
    low, high = [0.5, 1.0, 0.3, 1.0], [1.7, 1.5, 1.0, 1.0]
    got = risk.triangular_multipliers(u, low, high)
    assert got.shape == (500, 4)
    for k in range(3):
        expected = stats.triang(c=(1 - low[k]) / (high[k] - low[k]), loc=low[k], scale=high[k] - low[k]).ppf(u[:, k])
        np.testing.assert_allclose(got[:, k], expected, rtol=1e-12)
    assert np.all(got[:, 3] == 1.0)
    # one pair for every draw, and a stack of blocks, give the same numbers
    np.testing.assert_array_equal(risk.triangular_multipliers(u[:, 0], 0.5, 1.7), got[:, 0])
    np.testing.assert_array_equal(risk.triangular_multipliers(np.stack([u, u]), low, high)[1], got)
