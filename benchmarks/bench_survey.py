"""CXNPS and CXUPLIFT on 1,000,000 answers: the vectorised engine, and the
whole cell call (argument conversion included), against a pure-Python loop
over the same answers, in the same run.

Prints wall times and the speed-up ratios; also checks the answers agree.
"""
from __future__ import annotations

import math
import time

import numpy as np
from scipy import stats

from timing import timed
from cxroi_xl.engine import impact, survey
from cxroi_xl.excel import call

ANSWERS = 1_000_000




def nps_loop(scores: list) -> float:
    """NPS the way a per-answer script computes it."""
    promoters = detractors = answered = 0
    for score in scores:
        if score is None:
            continue
        if score < 0 or score > 10 or score != int(score):
            raise ValueError(score)
        answered += 1
        if score >= 9:
            promoters += 1
        elif score <= 6:
            detractors += 1
    return 100.0 * (promoters - detractors) / answered


def mean_and_variance_loop(values: list) -> tuple[float, float, int]:
    n = total = 0
    for value in values:
        n += 1
        total += value
    mean = total / n
    squares = 0.0
    for value in values:
        squares += (value - mean) ** 2
    return mean, squares / (n - 1), n


def uplift_loop(baseline: list, post: list) -> tuple[float, float]:
    """Welch's change and p-value with the sums done in a Python loop."""
    mean_b, var_b, n_b = mean_and_variance_loop(baseline)
    mean_p, var_p, n_p = mean_and_variance_loop(post)
    v_b, v_p = var_b / n_b, var_p / n_p
    dof = (v_b + v_p) ** 2 / (v_b**2 / (n_b - 1) + v_p**2 / (n_p - 1))
    change = mean_p - mean_b
    return change, float(2 * stats.t.sf(abs(change) / math.sqrt(v_b + v_p), dof))


def report(label: str, t_fast: float, t_loop: float, what: str) -> None:
    print(f"{label:<34} {t_fast*1e3:8.1f} ms | pure-Python loop {t_loop*1e3:8.1f} ms | ratio {t_loop/t_fast:7.1f}x  ({what})")


def main() -> None:
    rng = np.random.default_rng(42)
    scores = rng.integers(0, 11, size=ANSWERS).astype(float)
    scores_list = scores.tolist()
    scores_cells = [[s] for s in scores_list]  # a column as xlwings hands it over

    t_loop, nps_slow = timed(lambda: nps_loop(scores_list), repeat=1)
    t_engine, nps_fast = timed(lambda: survey.nps(scores))
    t_cell, nps_cell = timed(lambda: call("CXNPS", scores_cells))
    assert math.isclose(nps_fast, nps_slow, rel_tol=1e-12) and math.isclose(nps_cell, nps_slow, rel_tol=1e-12)
    report(f"NPS    {ANSWERS:,} answers, engine", t_engine, t_loop, "numpy arrays in")
    report(f"NPS    {ANSWERS:,} answers, cell", t_cell, t_loop, "call('CXNPS', column of cells)")

    half = ANSWERS // 2
    baseline, post = rng.normal(7.0, 1.5, size=half), rng.normal(7.01, 1.6, size=half)
    baseline_list, post_list = baseline.tolist(), post.tolist()
    t_loop, (change_slow, p_slow) = timed(lambda: uplift_loop(baseline_list, post_list), repeat=1)
    t_engine, fast = timed(lambda: impact.uplift(baseline, post))
    baseline_cells, post_cells = [[v] for v in baseline_list], [[v] for v in post_list]
    t_cell, _ = timed(lambda: call("CXUPLIFT", baseline_cells, post_cells))
    assert math.isclose(fast.change, change_slow, rel_tol=1e-6) and math.isclose(fast.p_value, p_slow, rel_tol=1e-6)
    report(f"UPLIFT {half:,} + {half:,} answers, engine", t_engine, t_loop, "numpy arrays in")
    report(f"UPLIFT {half:,} + {half:,} answers, cell", t_cell, t_loop, "call('CXUPLIFT', two columns)")


if __name__ == "__main__":
    main()
