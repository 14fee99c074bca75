"""The Monte Carlo risk: the engine against a naive numpy version and the
engine's previous implementation, in the same run.

1. CXMONTECARLO (``risk.monte_carlo_npv``): four benefit streams and costs
   over 36 monthly periods, 100,000 trials. Timed beside it:
   * a naive numpy version: each trial's multipliers times every period's
     flows (trials x periods), each trial's flows then discounted;
   * the previous engine: the same discounting once and matrix product, its
     multipliers drawn by broadcasting over all columns at once and its
     summary by ``np.percentile`` and ``np.histogram`` (a selection each);
   * a plain per-trial Python loop, on fewer trials (rates are per trial).
2. The measured model's Monte Carlo (``MeasuredStreams.monte_carlo`` at
   the defaults' spreads, 10,000 trials) of each bundled sample client:
   * a naive numpy version: each trial takes its draw of every measured
     stream's monthly flows (captured from the fit's draws while the model
     is measured), scales gains by the multiplier m and losses by 2 - m,
     adds the proxies and costs month by month, then discounts every trial;
   * the previous engine: each stream's draws discounted once, the trials
     accumulated stream by stream (one multiplier column at a time),
     summarised as above;
   * the engine now: the same present values, every stream's weight m x
     PV(|flows|) + 2 PV(losses), multipliers in one pass, one sort for the
     summary.

Each variant is timed in interleaved rounds and the median compared, so a
burst of other work on the machine hits all alike. The variants' trials are
checked to agree (the same seed gives the same numbers: rel 1e-12 against
the previous engine, 1e-9 against the naive version, which sums in another
order).

    python benchmarks/bench_risk.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import numpy as np

from cxroi_xl.batch.read import read_batch
from cxroi_xl.engine import defaults, finance, risk, streams
from cxroi_xl.engine.streams import STREAMS

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "sample_clients"

PERIODS, N_STREAMS = 36, 4
TRIALS = 100_000
LOOP_TRIALS = 2_000  # the loop is timed on fewer trials; rates are per trial
LOW = [0.8, 0.5, 0.4, 0.3]
HIGH = [1.1, 1.3, 1.5, 1.2]
COST_LOW, COST_HIGH = 0.9, 1.4
RATE = 0.008


# ---- the previous engine, kept as it was -----------------------------------------------------


def previous_triangular(uniforms, low, high) -> np.ndarray:
    u = np.asarray(uniforms, dtype=float)
    a = np.asarray(low, dtype=float)
    b = np.asarray(high, dtype=float)
    width = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        mode_share = np.where(width > 0, (1.0 - a) / width, 0.0)
        rising = a + np.sqrt(u * width * (1.0 - a))
        falling = b - np.sqrt((1.0 - u) * width * (b - 1.0))
    return np.where(width > 0, np.where(u < mode_share, rising, falling), 1.0)


def previous_summary(npv: np.ndarray, costs: np.ndarray, bins: int = 20) -> tuple:
    with np.errstate(divide="ignore", invalid="ignore"):
        roi = npv / costs
    return np.percentile(npv, [10, 50, 90]), np.percentile(roi, [10, 50, 90]), float(np.mean(npv)), float(np.mean(npv > 0)), np.histogram(npv, bins=bins)


def previous_monte_carlo_npv(flows, costs, rate, low, high, cost_low, cost_high, trials, seed) -> tuple:
    pv_streams = np.atleast_1d(finance.present_value(flows.T, rate))
    pv_costs = float(finance.present_value(costs, rate))
    rng = np.random.default_rng(seed)
    multipliers = previous_triangular(rng.random((trials, flows.shape[1] + 1)), np.append(low, cost_low), np.append(high, cost_high))
    npv = multipliers @ np.append(pv_streams, -pv_costs)
    return npv, previous_summary(npv, multipliers[:, -1] * pv_costs)


def previous_measured(model, low, high, cost_low, cost_high, trials, seed) -> tuple:
    low = np.broadcast_to(np.asarray(low, float), (len(STREAMS),))
    high = np.broadcast_to(np.asarray(high, float), (len(STREAMS),))
    rng = np.random.default_rng(seed)
    discount = (1.0 + model.monthly_rate) ** -model.monthly["period"].to_numpy(float)
    proxies_pv = float(model.monthly["proxies_adjusted"].to_numpy(float) @ discount)
    cost_pv = float(model.monthly["cost"].to_numpy(float) @ discount)
    uniforms = rng.random((trials, len(STREAMS) + 1))
    npv = np.zeros(trials)
    for j, s in enumerate(STREAMS):
        tri = previous_triangular(uniforms[:, j], low[j], high[j])
        target = 1.0 if s == "proxies" else 1.0 - model.risks[s]
        m = tri * (target / ((low[j] + 1.0 + high[j]) / 3.0))
        if s == "proxies":
            npv += m * proxies_pv
        elif model.results[s].in_scenario and s in model._draws:
            pick = rng.integers(0, model._draws[s]["pv_positive"].size, trials)
            npv += m * model._draws[s]["pv_positive"][pick] + (2.0 - m) * model._draws[s]["pv_negative"][pick]
    tri = previous_triangular(uniforms[:, -1], cost_low, cost_high)
    cost = tri * ((1.0 + model.risks["cost"]) / ((cost_low + 1.0 + cost_high) / 3.0)) * cost_pv
    npv -= cost
    return npv, previous_summary(npv, cost)


# ---- naive versions --------------------------------------------------------------------------


def naive_monte_carlo_npv(flows, costs, rate, low, high, cost_low, cost_high, trials, seed) -> np.ndarray:
    """Every trial's flows period by period, then discounted."""
    rng = np.random.default_rng(seed)
    m = previous_triangular(rng.random((trials, flows.shape[1] + 1)), np.append(low, cost_low), np.append(high, cost_high))
    net = np.einsum("ts,ns->nt", flows, m[:, :-1]) - m[:, -1:] * costs
    npv = net @ (1.0 + rate) ** -np.arange(flows.shape[0], dtype=float)
    previous_summary(npv, m[:, -1] * finance.present_value(costs, rate))
    return npv


def per_trial_loop(flows: list[list[float]], costs: list[float], trials: int, seed: int) -> list[float]:
    """The obvious way: for every trial, draw the multipliers and discount
    every period's risk-scaled net flow."""
    draw = random.Random(seed)
    npvs = []
    for _ in range(trials):
        m = [draw.triangular(lo, hi, 1.0) for lo, hi in zip(LOW, HIGH)]
        m_cost = draw.triangular(COST_LOW, COST_HIGH, 1.0)
        npv = 0.0
        for t in range(PERIODS):
            net = sum(m[s] * flows[t][s] for s in range(N_STREAMS)) - m_cost * costs[t]
            npv += net / (1.0 + RATE) ** t
        npvs.append(npv)
    return npvs


def measured_with_monthly_draws(data) -> tuple:
    """The client's model and, per measured stream, its fit's draws of the
    monthly flows (draws x months), centred as the model centres them."""
    captured = {}
    parts = streams._stream_parts

    def capture(stream, expected_post, spec, tracked, horizon):
        out = parts(stream, expected_post, spec, tracked, horizon)
        if np.ndim(expected_post) == 2:
            captured[stream] = out[0]
        return out

    streams._stream_parts = capture
    try:
        model = streams.measure(data)
    finally:
        streams._stream_parts = parts
    monthly = {s: flows - flows.mean(axis=0) + model.monthly[s].to_numpy(float) for s, flows in captured.items()}
    return model, monthly


def naive_measured(model, monthly_draws, low, high, cost_low, cost_high, trials, seed) -> np.ndarray:
    """Each trial's monthly flows (gains x m, losses x (2 - m), proxies,
    costs), then each trial discounted."""
    rng = np.random.default_rng(seed)
    lows, highs = np.append(low, cost_low), np.append(high, cost_high)
    means = np.array([1.0 if s == "proxies" else 1.0 - model.risks[s] for s in STREAMS] + [1.0 + model.risks["cost"]])
    m = previous_triangular(rng.random((trials, len(STREAMS) + 1)), lows, highs) * (means / ((lows + 1.0 + highs) / 3.0))
    net = np.outer(m[:, STREAMS.index("proxies")], model.monthly["proxies_adjusted"].to_numpy(float))
    for j, s in enumerate(STREAMS):
        if s in monthly_draws and model.results[s].in_scenario:
            flows = monthly_draws[s][rng.integers(0, monthly_draws[s].shape[0], trials)]
            net += m[:, j : j + 1] * np.clip(flows, 0.0, None) + (2.0 - m[:, j : j + 1]) * np.clip(flows, None, 0.0)
    cost = np.outer(m[:, -1], model.monthly["cost"].to_numpy(float))
    discount = (1.0 + model.monthly_rate) ** -model.monthly["period"].to_numpy(float)
    npv = (net - cost) @ discount
    previous_summary(npv, cost @ discount)
    return npv


# ---- the runs ---------------------------------------------------------------------------------


def timed_rounds(variants: dict, rounds: int) -> dict[str, float]:
    """Median seconds of each variant over interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_cxmontecarlo(rounds: int) -> None:
    rng = np.random.default_rng(7)
    flows = np.abs(rng.normal([900, 400, 300, 100], [150, 120, 200, 30], size=(PERIODS, N_STREAMS)))
    costs = np.full(PERIODS, 600.0)
    costs[0] += 8_000
    args = (flows, costs, RATE, LOW, HIGH, COST_LOW, COST_HIGH)
    now = risk.monte_carlo_npv(*args, trials=TRIALS, seed=3)
    before, _ = previous_monte_carlo_npv(*args, TRIALS, 3)
    naive = naive_monte_carlo_npv(*args, TRIALS, 3)
    np.testing.assert_allclose(now.npv, before, rtol=1e-12)
    np.testing.assert_allclose(now.npv, naive, rtol=1e-9)
    # the loop agrees in distribution: its mean NPV within 4 of its standard errors of the engine's
    looped = per_trial_loop(flows.tolist(), costs.tolist(), LOOP_TRIALS, 3)
    loop_mean, loop_sd = statistics.fmean(looped), statistics.stdev(looped)
    assert abs(loop_mean - now.npv_mean) < 4 * loop_sd / LOOP_TRIALS**0.5, (loop_mean, now.npv_mean)

    seconds = timed_rounds(
        {
            "naive": lambda: naive_monte_carlo_npv(*args, TRIALS, 3),
            "before": lambda: previous_monte_carlo_npv(*args, TRIALS, 3),
            "after": lambda: risk.monte_carlo_npv(*args, trials=TRIALS, seed=3),
            "loop": lambda: per_trial_loop(flows.tolist(), costs.tolist(), LOOP_TRIALS, 3),
        },
        rounds,
    )
    per_trial = {name: s / (LOOP_TRIALS if name == "loop" else TRIALS) for name, s in seconds.items()}
    print(f"CXMONTECARLO, {N_STREAMS} streams x {PERIODS} periods, {TRIALS:,} trials (medians of {rounds} interleaved rounds)")
    print(f"  naive numpy (every trial discounted):  {seconds['naive'] * 1e3:7.1f} ms")
    print(f"  engine before:                         {seconds['before'] * 1e3:7.1f} ms   {seconds['naive'] / seconds['before']:5.1f}x the naive version")
    print(f"  engine now:                            {seconds['after'] * 1e3:7.1f} ms   {seconds['naive'] / seconds['after']:5.1f}x the naive version, {seconds['before'] / seconds['after']:.2f}x before")
    print(f"  per-trial Python loop: {1 / per_trial['loop']:,.0f} trials/s; the engine now {per_trial['loop'] / per_trial['after']:,.0f}x that")


def bench_measured(rounds: int) -> None:
    batch = read_batch(SAMPLE)
    clients = [measured_with_monthly_draws(batch.tracker_input(c)) for c in batch.valid_client_ids()]
    low = [defaults.DEFAULT_SPREADS[s][0] for s in STREAMS]
    high = [defaults.DEFAULT_SPREADS[s][1] for s in STREAMS]
    cost_low, cost_high = defaults.DEFAULT_SPREADS["cost"]
    trials, seed = defaults.MONTE_CARLO_TRIALS, defaults.MONTE_CARLO_SEED
    for model, monthly_draws in clients:
        now = model.monte_carlo(low, high, cost_low, cost_high, trials, seed)
        before, _ = previous_measured(model, low, high, cost_low, cost_high, trials, seed)
        naive = naive_measured(model, monthly_draws, low, high, cost_low, cost_high, trials, seed)
        scale = np.abs(before).max()  # an NPV near zero is compared at the size of the others
        np.testing.assert_allclose(now.npv, before, rtol=1e-12, atol=1e-12 * scale)
        np.testing.assert_allclose(now.npv, naive, rtol=1e-9, atol=1e-9 * scale)

    seconds = timed_rounds(
        {
            "naive": lambda: [naive_measured(model, draws, low, high, cost_low, cost_high, trials, seed) for model, draws in clients],
            "before": lambda: [previous_measured(model, low, high, cost_low, cost_high, trials, seed) for model, _ in clients],
            "after": lambda: [model.monte_carlo(low, high, cost_low, cost_high, trials, seed) for model, _ in clients],
        },
        rounds,
    )
    per_client = {name: s / len(clients) for name, s in seconds.items()}
    print(f"MeasuredStreams.monte_carlo, {len(clients)} sample clients, {trials:,} trials each at the defaults' spreads (medians of {rounds} interleaved rounds)")
    print(f"  naive numpy (every trial's months discounted): {per_client['naive'] * 1e3:6.2f} ms a client")
    print(f"  engine before:                                 {per_client['before'] * 1e3:6.2f} ms a client   {seconds['naive'] / seconds['before']:4.1f}x the naive version")
    print(f"  engine now:                                    {per_client['after'] * 1e3:6.2f} ms a client   {seconds['naive'] / seconds['after']:4.1f}x the naive version, {seconds['before'] / seconds['after']:.2f}x before")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_cxmontecarlo(args.rounds)
    bench_measured(args.rounds)


if __name__ == "__main__":
    main()
