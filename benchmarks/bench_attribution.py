"""CXATTRIBUTION's engine on 1,000,000 journeys over 12 channels, every model,
against ChannelAttribution (C++) in the same run, or against a per-row Python
loop where ChannelAttribution is not installed.

Prints wall times, the ratios, and how far the Markov credit is from
ChannelAttribution's. ChannelAttribution estimates the Markov removal effects
by simulation, so its figures carry sampling noise that shrinks as its
number of simulated paths grows; ours solve the chain exactly. The gap is
printed beside ChannelAttribution's own seed-to-seed spread.

    python benchmarks/bench_attribution.py [--thorough]
"""
from __future__ import annotations

import contextlib
import io
import sys

import numpy as np
import pandas as pd

from timing import timed
from cxroi_xl.engine import attribution

JOURNEYS, CHANNELS = 1_000_000, 12
LOOP_SAMPLE = 50_000  # the Python loop baseline is timed on a sample and scaled
THOROUGH = "--thorough" in sys.argv  # adds a 1e7-path ChannelAttribution run (about a minute)




def journeys(seed: int = 42) -> pd.DataFrame:
    """One row per journey: popular channels more often, longer journeys
    convert more often, paths of 1 to 20 touches (geometric, mean about 3)."""
    rng = np.random.default_rng(seed)
    names = np.array([f"channel {i:02d}" for i in range(CHANNELS)], dtype=object)
    popularity = rng.dirichlet(np.full(CHANNELS, 2.0))
    lengths = np.minimum(rng.geometric(0.3, JOURNEYS), 20)
    paths = np.empty(JOURNEYS, dtype=object)
    for length in np.unique(lengths):  # one vectorised join per path length
        rows = np.flatnonzero(lengths == length)
        touches = rng.choice(names, size=(rows.size, length), p=popularity)
        joined = pd.Series(touches[:, 0])
        for k in range(1, length):
            joined = joined + " > " + touches[:, k]
        paths[rows] = joined.to_numpy()
    converted = rng.random(JOURNEYS) < 0.05 + 0.03 * lengths
    return pd.DataFrame(
        {
            "path": paths,
            "conversions": converted.astype(float),
            "value": np.where(converted, np.round(rng.gamma(2.0, 60.0, JOURNEYS), 2), 0.0),
            "nulls": (~converted).astype(float),
        }
    )


def ours(data: pd.DataFrame) -> dict[str, float]:
    t_parse, parsed = timed(lambda: attribution.parse_paths(data.path, data.conversions, data.value, data.nulls))
    print(f"parse {JOURNEYS:,} journeys once: {t_parse:6.3f} s ({parsed.n_paths:,} distinct paths)")
    times = {"parse": t_parse}
    for model in attribution.MODELS:
        times[model], _ = timed(lambda: attribution.attribute(parsed, model))
        print(f"  {model:<11} {times[model]:6.3f} s")
    total = sum(times.values())
    print(f"all seven models, parsed once: {total:6.3f} s (target < 5 s)")
    t_each, _ = timed(lambda: [attribution.attribute(data, m, value_col="value", null_col="nulls") for m in attribution.MODELS], repeat=1)
    print(f"all seven models, each parsing the DataFrame itself: {t_each:6.3f} s")
    for order in (2, 3):
        t_order, _ = timed(lambda: attribution.attribute(parsed, "markov", order=order))
        print(f"  markov order {order}: {t_order:6.3f} s")
    times["total"] = total
    return times


def against_channel_attribution(ca, data: pd.DataFrame, times: dict[str, float]) -> None:
    quiet = contextlib.redirect_stdout(io.StringIO())  # its progress messages
    with quiet:
        t_heur, theirs_heur = timed(lambda: ca.heuristic_models(data, "path", "conversions", var_value="value", flg_pro=False), repeat=1)
    t_ours_heur = times["parse"] + times["first"] + times["last"] + times["linear"]
    print(f"first+last+linear: ours {t_ours_heur:6.3f} s | ChannelAttribution heuristic_models {t_heur:6.3f} s | ratio {t_heur / t_ours_heur:5.1f}x")
    theirs_heur = theirs_heur.set_index("channel_name")
    for model, prefix in (("first", "first_touch"), ("last", "last_touch"), ("linear", "linear_touch")):
        mine = attribution.attribute(data, model, value_col="value").set_index("channel")
        gap = np.max(np.abs(mine.conversions / theirs_heur.loc[mine.index, f"{prefix}_conversions"] - 1))
        print(f"  {model:<6} largest relative difference {gap:.1e}")

    t_ours_markov, mine = timed(lambda: attribution.attribute(data, "markov", value_col="value", null_col="nulls"), repeat=1)
    mine = mine.set_index("channel").conversions

    def markov(**settings):
        with quiet:
            elapsed, theirs = timed(
                lambda: ca.markov_model(data, "path", "conversions", var_value="value", var_null="nulls", flg_pro=False, verbose=False, **settings),
                repeat=1,
            )
        return elapsed, theirs.set_index("channel_name").loc[mine.index].total_conversions

    def gap(a, b) -> str:
        relative = 100 * np.max(np.abs(a / b - 1))
        points = 100 * np.max(np.abs(a - b)) / a.sum()
        return f"largest relative difference {relative:5.2f} % ({points:.3f} share points)"

    t_markov, theirs = markov()
    print(
        f"markov: ours (exact, parse included) {t_ours_markov:6.3f} s | ChannelAttribution default (1e5 simulated paths) "
        f"{t_markov:6.3f} s | ratio {t_markov / t_ours_markov:5.1f}x\n  credit, ours vs theirs: {gap(mine, theirs)}"
    )
    # Its simulation noise: two seeds at 1e6 paths (max_step raised so that
    # no simulated path is cut short), and 1e7 paths with --thorough.
    runs = [(1e6, 0), (1e6, 1)] + ([(1e7, 0)] if THOROUGH else [])
    estimates = {}
    for paths, seed in runs:
        elapsed, estimates[paths, seed] = markov(nsim_start=paths, seed=seed, max_step=200)
        print(f"  ChannelAttribution {paths:.0e} paths, seed {seed} ({elapsed:5.1f} s): ours vs theirs {gap(mine, estimates[paths, seed])}")
    print(f"  ChannelAttribution seed 0 vs seed 1 at 1e6 paths: {gap(estimates[1e6, 0], estimates[1e6, 1])}")


def against_python_loop(data: pd.DataFrame, times: dict[str, float]) -> None:
    """Per-row loops: linear credit and first-order transition counts."""
    sample = data.iloc[:LOOP_SAMPLE]

    def linear_loop():
        credit: dict[str, float] = {}
        for path, conversions in zip(sample.path, sample.conversions):
            touches = [t.strip() for t in path.split(">")]
            for touch in touches:
                credit[touch] = credit.get(touch, 0.0) + conversions / len(touches)
        return credit

    def transitions_loop():
        counts: dict[tuple[str, str], float] = {}
        for path, conversions, nulls in zip(sample.path, sample.conversions, sample.nulls):
            states = ["(start)"] + [t.strip() for t in path.split(">")]
            for a, b in zip(states[:-1], states[1:]):
                counts[a, b] = counts.get((a, b), 0.0) + conversions + nulls
        return counts

    scale = len(data) / LOOP_SAMPLE
    t_linear, _ = timed(linear_loop, repeat=1)
    t_transitions, _ = timed(transitions_loop, repeat=1)
    ours_linear = times["parse"] + times["linear"]
    ours_markov = times["parse"] + times["markov"]
    print(f"linear: ours {ours_linear:6.3f} s | per-row Python loop {t_linear * scale:6.3f} s (scaled) | ratio {t_linear * scale / ours_linear:5.1f}x")
    print(
        f"markov: ours, chain solved {ours_markov:6.3f} s | per-row loop counting transitions only {t_transitions * scale:6.3f} s (scaled) | "
        f"ratio {t_transitions * scale / ours_markov:5.1f}x"
    )


def main() -> None:
    data = journeys()
    times = ours(data)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its import banner
            import ChannelAttribution as ca
    except ImportError:
        print("ChannelAttribution is not installed: baseline is a per-row Python loop")
        against_python_loop(data, times)
    else:
        against_channel_attribution(ca, data, times)


if __name__ == "__main__":
    main()
