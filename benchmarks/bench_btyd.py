"""BG/NBD and Gamma-Gamma fits: ours (vectorised log-likelihood, analytic
gradients, L-BFGS-B) against the `lifetimes` package's fitters in the same run.

* CDNOW (2,357 customers): best of several fits each way.
* 1,000,000 customers drawn from the BG/NBD process with known parameters:
  ours on all of them, checked to recover the parameters; lifetimes on a
  sample, scaled to the full size (its per-customer cost is linear).

Runs on one core (BLAS threads pinned to 1) as the targets are stated:
CDNOW fit under 50 ms, 1M customers under 10 s. Prints times and ratios.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from lifetimes import BetaGeoFitter, GammaGammaFitter  # noqa: E402

from timing import timed  # noqa: E402
from cxroi_xl.engine import btyd  # noqa: E402

CDNOW = Path(__file__).resolve().parent.parent / "tests" / "data" / "cdnow_summary.csv"
TRUE_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW's, in weeks
CUSTOMERS = 1_000_000
LIFETIMES_SAMPLE = 100_000




def report(label: str, ours: float, theirs: float, note: str = "") -> None:
    print(f"{label:<34} ours {ours * 1e3:9.1f} ms | lifetimes {theirs * 1e3:9.1f} ms{note} | ratio {theirs / ours:6.1f}x")


def main() -> None:
    cdnow = pd.read_csv(CDNOW)
    customers = cdnow.frequency, cdnow.recency, cdnow["T"]
    repeat = cdnow[cdnow.frequency > 0]

    t_ours, bg = timed(lambda: btyd.BetaGeo().fit(*customers), repeat=20)
    t_theirs, lt_bg = timed(lambda: BetaGeoFitter().fit(*customers))
    assert np.allclose(bg.params_[list(TRUE_PARAMS)], lt_bg.params_[list(TRUE_PARAMS)], rtol=1e-4)
    report("BG/NBD fit, CDNOW 2,357", t_ours, t_theirs)

    t_ours, gg = timed(lambda: btyd.GammaGamma().fit(cdnow.frequency, cdnow.monetary_value), repeat=20)
    t_theirs, lt_gg = timed(lambda: GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value))
    assert np.allclose(gg.params_.to_numpy(), lt_gg.params_[["p", "q", "v"]].to_numpy(), rtol=1e-4)
    report("Gamma-Gamma fit, CDNOW 946", t_ours, t_theirs)

    rng = np.random.default_rng(2005)
    T = rng.uniform(27.0, 39.0, CUSTOMERS)  # CDNOW's spread of first purchases over a quarter
    simulated = btyd.BetaGeo.from_params(**TRUE_PARAMS).simulate(T, seed=rng)
    columns = simulated.frequency, simulated.recency, simulated["T"]
    t_ours, big = timed(lambda: btyd.BetaGeo().fit(*columns), repeat=3)
    summary = big.summary
    for name, value in TRUE_PARAMS.items():
        assert abs(summary.loc[name, "coef"] - value) < 4 * summary.loc[name, "se(coef)"], (name, summary.loc[name].to_dict())
    sample = simulated.iloc[:LIFETIMES_SAMPLE]
    t_theirs, _ = timed(lambda: BetaGeoFitter().fit(sample.frequency, sample.recency, sample["T"]), repeat=1)
    t_theirs *= CUSTOMERS / LIFETIMES_SAMPLE
    report(f"BG/NBD fit, {CUSTOMERS:,} simulated", t_ours, t_theirs, f" (scaled from {LIFETIMES_SAMPLE:,})")
    recovered = ", ".join(f"{name} {summary.loc[name, 'coef']:.4f} (true {value}, se {summary.loc[name, 'se(coef)']:.4f})" for name, value in TRUE_PARAMS.items())
    print(f"  recovered: {recovered}")

    t_clv, _ = timed(lambda: btyd.customer_lifetime_value(bg, gg, *customers, cdnow.monetary_value), repeat=5)
    print(f"{'CLV, CDNOW, 12 months':<34} ours {t_clv * 1e3:9.1f} ms")
    targets_met = "yes" if (timed(lambda: btyd.BetaGeo().fit(*customers), 20)[0] < 0.05 and t_ours < 10.0) else "NO"
    print(f"targets (CDNOW fit < 50 ms, 1M fit < 10 s) met: {targets_met}")


if __name__ == "__main__":
    main()
