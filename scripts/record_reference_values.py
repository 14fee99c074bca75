"""Record the reference packages' answers into tests/data/ once.

Three independent implementations serve as oracles in the tests:
``lifetimes`` (BG/NBD and Gamma-Gamma, tests/engine/test_btyd.py), ``lifelines``
(Kaplan-Meier, tests/engine/test_value.py) and ``ChannelAttribution`` (heuristic
and Markov attribution, tests/engine/test_attribution.py). They pin or need older
libraries (lifelines requires pandas < 3, ChannelAttribution compiles C++),
so they are not installed with the test extra: their answers on fixed
inputs are stored in ``tests/data/reference_*.json``, each file naming the
package version and the library versions it ran with, and the tests
compare the engine with those stored answers.

Regenerate them (needs a network and, for ChannelAttribution, a C++
compiler):

    python scripts/record_reference_values.py              # own venv in .reference-venv/
    python scripts/record_reference_values.py --python EXE # an interpreter that already has the packages

The inputs are stored beside the answers, so the tests do not depend on a
random generator reproducing them. Nothing here imports cxroi_xl: the
answers come from the reference packages alone.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
# The versions recorded; change them here and rerun to refresh the data.
PINNED = ["lifetimes==0.11.3", "lifelines==0.30.3", "ChannelAttribution==2.2.5", "pandas<3", "numpy", "scipy"]


def _versions(package: str) -> dict:
    from importlib.metadata import version

    return {
        "package": package,
        "version": version(package),
        "python": platform.python_version(),
        "numpy": version("numpy"),
        "pandas": version("pandas"),
        "scipy": version("scipy"),
        "recorded_by": "scripts/record_reference_values.py",
    }


def _floats(values) -> list:
    return [float(v) for v in values]


def _write(name: str, payload: dict) -> None:
    path = DATA / name
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


# ---- lifetimes on the CDNOW summary ------------------------------------------


def record_lifetimes() -> None:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    cdnow = pd.read_csv(DATA / "cdnow_summary.csv")
    customers = (cdnow.frequency, cdnow.recency, cdnow["T"])
    bg = BetaGeoFitter().fit(*customers)
    repeat = cdnow[cdnow.frequency > 0]
    gg = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    bg_names, gg_names = ["r", "alpha", "a", "b"], ["p", "q", "v"]
    payload = {
        "source": _versions("lifetimes"),
        "input": "tests/data/cdnow_summary.csv (frequency, recency, T, monetary_value); Gamma-Gamma fitted on frequency > 0",
        "bgnbd": {"params": dict(zip(bg_names, _floats(bg.params_[bg_names]))), "se": dict(zip(bg_names, _floats(bg.summary.loc[bg_names, "se(coef)"])))},
        "gamma_gamma": {"params": dict(zip(gg_names, _floats(gg.params_[gg_names]))), "se": dict(zip(gg_names, _floats(gg.summary.loc[gg_names, "se(coef)"])))},
        "per_customer": {
            "customer_id": [int(c) for c in cdnow.customer_id],
            **{
                f"expected_purchases_{weeks}w": _floats(bg.conditional_expected_number_of_purchases_up_to_time(weeks, *customers))
                for weeks in (1, 39, 156)
            },
            "probability_alive": _floats(bg.conditional_probability_alive(*customers)),
            "expected_average_profit": _floats(gg.conditional_expected_average_profit(cdnow.frequency, cdnow.monetary_value)),
            # time in months, weekly data (a month = 4.345 weeks), 1 % a month
            "clv_12_months_1pct_weekly": _floats(gg.customer_lifetime_value(bg, *customers, cdnow.monetary_value, time=12, discount_rate=0.01, freq="W")),
        },
    }
    _write("reference_lifetimes.json", payload)


# ---- lifelines Kaplan-Meier on random data with ties and censoring ----------


def record_lifelines() -> None:
    import numpy as np
    from lifelines import KaplanMeierFitter

    times = [0.0, 0.5, 3.0, 17.25, 59.0, 100.0]
    cases = []
    for seed in (1, 2, 3):
        rng = np.random.default_rng(seed)
        n = 2_000
        durations = rng.integers(0, 60, size=n).astype(float)  # whole months: many ties
        churned = (rng.random(n) < 0.6).astype(float)
        fitter = KaplanMeierFitter().fit(durations, churned)
        events = fitter.event_table[fitter.event_table["observed"] > 0]
        cases.append(
            {
                "seed": seed,
                "durations": _floats(durations),
                "churned": [int(c) for c in churned],
                "event_times": _floats(events.index),
                "at_risk": [int(v) for v in events["at_risk"]],
                "events": [int(v) for v in events["observed"]],
                "survival": _floats(fitter.survival_function_.loc[events.index, "KM_estimate"]),
                "times": times,
                "survival_at_times": _floats(fitter.survival_function_at_times(times)),
            }
        )
    _write("reference_lifelines.json", {"source": _versions("lifelines"), "cases": cases})


# ---- ChannelAttribution --------------------------------------------------------


def random_paths(seed: int, n_rows: int = 300, channels=("chat", "email", "search", "social", "display"), max_len: int = 6):
    """Distinct random journeys (path, conversions, value, nulls); the tests
    draw their own cases with it too."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = np.array(channels)
    paths = [" > ".join(rng.choice(names, rng.integers(1, max_len))) for _ in range(n_rows)]
    frame = pd.DataFrame(
        {
            "path": paths,
            "conversions": rng.integers(0, 20, n_rows).astype(float),
            "value": rng.gamma(2.0, 100.0, n_rows),
            "nulls": rng.integers(0, 40, n_rows).astype(float),
        }
    )
    frame.loc[frame.conversions == 0, "value"] = 0.0
    return frame.drop_duplicates("path", ignore_index=True)


def _frame_dict(frame) -> dict:
    return {"path": list(frame.path), **{c: _floats(frame[c]) for c in ("conversions", "value", "nulls")}}


def _table(frame, columns) -> dict:
    frame = frame.sort_values("channel_name")
    return {"channel": list(frame.channel_name), **{c: _floats(frame[c]) for c in columns}}


def record_channel_attribution() -> None:
    import ChannelAttribution as ca
    import pandas as pd

    heuristic_input = random_paths(21)
    heuristics = ca.heuristic_models(heuristic_input, "path", "conversions", var_value="value", flg_pro=False)
    columns = [f"{p}_{k}" for p in ("first_touch", "last_touch", "linear_touch") for k in ("conversions", "value")]
    # 1e6 simulated paths with seed 0 (deterministic); max_step raised from
    # the longest observed path, which would bias loops.
    settings = dict(var_value="value", var_null="nulls", nsim_start=1e6, max_step=100, out_more=True, flg_pro=False, verbose=False, seed=0)
    markov_input = random_paths(3)
    markov = {}
    for order in (1, 2):
        result = ca.markov_model(markov_input, "path", "conversions", order=order, **settings)
        markov[str(order)] = {
            "removal_effects": _table(result["removal_effects"], ["removal_effects_conversion", "removal_effects_conversion_value"]),
            "result": _table(result["result"], ["total_conversions", "total_conversion_value"]),
        }
    chain = pd.DataFrame({"path": ["a > b", "b > a", "a"], "conversions": [1.0, 1, 0], "value": [10.0, 30, 0], "nulls": [1.0, 0, 1]})
    chain_result = ca.markov_model(chain, "path", "conversions", **settings)
    payload = {
        "source": _versions("ChannelAttribution"),
        "markov_settings": {k: v for k, v in settings.items() if k not in ("var_value", "var_null")},
        "heuristics": {"input": _frame_dict(heuristic_input), "output": _table(heuristics, columns)},
        "markov": {"input": _frame_dict(markov_input), "orders": markov},
        "chain": {"input": _frame_dict(chain), "removal_effects": _table(chain_result["removal_effects"], ["removal_effects_conversion", "removal_effects_conversion_value"])},
    }
    _write("reference_channelattribution.json", payload)


def _interpreter(args) -> str:
    if args.python:
        return args.python
    env_dir = ROOT / ".reference-venv"
    python = env_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if not python.exists():
        print(f"creating {env_dir.relative_to(ROOT)} and installing {', '.join(PINNED)}")
        venv.create(env_dir, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PINNED], check=True)
    return str(python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", help="an interpreter that already has the reference packages (default: make .reference-venv/)")
    parser.add_argument("--only", choices=("lifetimes", "lifelines", "channelattribution"), action="append", help="record only these (repeatable)")
    parser.add_argument("--record", action="store_true", help=argparse.SUPPRESS)  # inside the reference interpreter
    args = parser.parse_args()
    chosen = args.only or ["lifetimes", "lifelines", "channelattribution"]
    if not args.record:
        command = [_interpreter(args), str(Path(__file__).resolve()), "--record"] + [f"--only={name}" for name in chosen]
        raise SystemExit(subprocess.run(command).returncode)
    recorders = {"lifetimes": record_lifetimes, "lifelines": record_lifelines, "channelattribution": record_channel_attribution}
    for name in chosen:
        recorders[name]()


if __name__ == "__main__":
    main()
