"""Multi-touch attribution against hand-worked cases, brute force and
ChannelAttribution.

Oracles:
* Heuristic models (first, last, linear, position, time_decay) and Shapley
  on a five-path data set worked out by hand below (exact fractions,
  rel 1e-12).
* Markov removal effects of small chains solved by hand, first and second
  order (rel 1e-12 with the dense solver, 1e-10 with the Krylov one); the
  absorbing-chain identity P(visit c) = N[s,c]/N[c,c] (Kemeny & Snell)
  with the fundamental matrix N built in the test from a plain loop over
  the paths, 40 channels, both solvers (rel 1e-9).
* Shapley values by brute force over all 2^4 coalitions of a 4-channel game
  (Zhao et al. 2018's worth function), against the closed form (rel 1e-12).
* ChannelAttribution (Altomare & Loris), its answers recorded in
  tests/data/reference_channelattribution.json: heuristic_models exactly
  (rel 1e-9), markov_model by simulation (1e6 paths, fixed seed;
  tolerances below are a few times the simulation noise observed).
* Every model hands out exactly the total conversions and total value.
All Excel functions are driven through xlwings' dispatcher.
"""
from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxroi_xl.engine import attribution
from cxroi_xl.errors import InvalidInputError, OutOfDomainError, ZeroDenominatorError
from tests.excel_dispatch import excel_error

# ---- the hand-worked data set ------------------------------------------------
#   P1 search > email > chat            2 conversions, value 100
#   P2 email                            1 conversion,  value  30
#   P3 chat > search                    1 conversion,  value  40
#   P4 search > chat > email > search   1 conversion,  value  50
#   P5 email > chat                     0 conversions, 3 nulls
# Total: 5 conversions, value 220. Channels sorted: chat, email, search.
HAND = pd.DataFrame(
    {
        "path": ["search > email > chat", "email", "chat > search", "search > chat > email > search", "email > chat"],
        "conversions": [2, 1, 1, 1, 0],
        "value": [100.0, 30, 40, 50, 0],
        "nulls": [0, 0, 0, 0, 3],
    }
)

# (conversions, value) per channel [chat, email, search], worked by hand:
HAND_EXPECTED = {
    # first touch: search gets P1 and P4, email P2, chat P3
    "first": ([1, 1, 3], [40, 30, 150]),
    # last touch: chat P1; email P2; search P3 and P4
    "last": ([2, 1, 2], [100, 30, 90]),
    # linear: P1 1/3 each (x2 conv, x100 value); P2 all email; P3 1/2 each;
    # P4 search 2/4, chat 1/4, email 1/4
    "linear": (
        [2 / 3 + 1 / 2 + 1 / 4, 2 / 3 + 1 + 1 / 4, 2 / 3 + 1 / 2 + 2 / 4],
        [100 / 3 + 20 + 12.5, 100 / 3 + 30 + 12.5, 100 / 3 + 20 + 25],
    ),
    # position: P1 search .4 email .2 chat .4 (x2, x100); P2 email 1;
    # P3 .5/.5; P4 search .4 + .4, chat .1, email .1 (x1, x50)
    "position": ([0.8 + 0.5 + 0.1, 0.4 + 1 + 0.1, 0.8 + 0.5 + 0.8], [40 + 20 + 5, 20 + 30 + 5, 40 + 20 + 40]),
    # time decay, half-life 1: raw weights 2^-(n-1-i).
    # P1: 1/4, 1/2, 1 -> 1/7, 2/7, 4/7 (search, email, chat)
    # P3: 1/2, 1 -> chat 1/3, search 2/3
    # P4: 1/8, 1/4, 1/2, 1 -> 1/15, 2/15, 4/15, 8/15 (search, chat, email, search)
    "time_decay": (
        [2 * 4 / 7 + 1 / 3 + 2 / 15, 2 * 2 / 7 + 1 + 4 / 15, 2 * 1 / 7 + 2 / 3 + 9 / 15],
        [400 / 7 + 40 / 3 + 50 * 2 / 15, 200 / 7 + 30 + 50 * 4 / 15, 100 / 7 + 80 / 3 + 50 * 9 / 15],
    ),
    # Shapley: each journey split equally among its distinct channels.
    # P1 {s,e,c} 2/3 each; P2 {e} 1; P3 {c,s} 1/2 each; P4 {s,c,e} 1/3 each
    "shapley": ([2 / 3 + 1 / 2 + 1 / 3, 2 / 3 + 1 + 1 / 3, 2 / 3 + 1 / 2 + 1 / 3], [100 / 3 + 20 + 50 / 3, 100 / 3 + 30 + 50 / 3, 100 / 3 + 20 + 50 / 3]),
}

# ---- a Markov chain solved by hand ---------------------------------------------
#   a > b   1 conversion, 1 null, value 10
#   b > a   1 conversion,         value 30
#   a               1 null
# Transitions weighted by conversions + nulls:
#   start: a 3/4, b 1/4;  a: b 2/4, conv 1/4, null 1/4;  b: a 1/3, conv 1/3, null 1/3
# x_a = 1/4 + x_b/2, x_b = 1/3 + x_a/3  =>  x_a = x_b = 1/2, P(conv) = 1/2.
# Without a: x_b = 1/3, P = 1/4 * 1/3 = 1/12  => RE_a = 1 - (1/12)/(1/2) = 5/6.
# Without b: x_a = 1/4, P = 3/4 * 1/4 = 3/16  => RE_b = 1 - 3/8 = 5/8.
# Credit of the 2 conversions: a 2 (5/6)/(35/24) = 8/7, b 6/7.
# Value per conversion leaving a: 30, leaving b: 10. Expected value
#   y_a = 30/4 + y_b/2, y_b = 10/3 + y_a/3 => y_a = 11, y_b = 7, Y = 10.
# Without a: y_b = 10/3, Y = 5/6 => RE = 11/12; without b: y_a = 7.5,
# Y = 45/8 => RE = 7/16. Value credit of 40: a 40 * 44/65, b 40 * 21/65.
CHAIN = pd.DataFrame({"path": ["a > b", "b > a", "a"], "conversions": [1, 1, 0], "value": [10.0, 30, 0], "nulls": [1, 0, 1]})


def _random_paths(seed: int, n_rows: int = 300, channels=("chat", "email", "search", "social", "display"), max_len: int = 6) -> pd.DataFrame:
    """Random distinct paths, as the recorded ChannelAttribution cases were made."""
    from scripts.record_reference_values import random_paths

    return random_paths(seed, n_rows, channels, max_len)


def _credit(frame, model, **kwargs):
    return attribution.attribute(frame, model, value_col="value", null_col="nulls", **kwargs)


# ---- heuristics and Shapley by hand -----------------------------------------


@pytest.mark.parametrize("model", sorted(HAND_EXPECTED))
def test_models_match_the_hand_worked_case(model):
    result = _credit(HAND, model)
    conversions, values = HAND_EXPECTED[model]
    assert result["channel"].tolist() == ["chat", "email", "search"]
    np.testing.assert_allclose(result["conversions"], conversions, rtol=1e-12)
    np.testing.assert_allclose(result["value"], values, rtol=1e-12)
    np.testing.assert_allclose(result["share"], np.array(conversions) / 5, rtol=1e-12)


def test_time_decay_half_life_two():
    # chat > search, half-life 2: raw weights 2^-(1/2), 1 -> chat 1/(1 + sqrt 2)
    result = attribution.attribute(pd.DataFrame({"path": ["chat > search"], "conversions": [3]}), "time_decay", half_life=2)
    chat = 2**-0.5 / (1 + 2**-0.5)
    np.testing.assert_allclose(result["conversions"], [3 * chat, 3 * (1 - chat)], rtol=1e-12)


def test_position_splits_the_middle_evenly():
    # five touches: 40% first, 40% last, 20% / 3 to each of the middle three
    result = attribution.attribute(pd.DataFrame({"path": ["a > b > c > d > e"], "conversions": [1]}), "position")
    np.testing.assert_allclose(result["conversions"], [0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4], rtol=1e-12)


# ---- Markov by hand -----------------------------------------------------------


@pytest.fixture(params=["dense", "krylov"])
def solver_tolerance(request, monkeypatch):
    """Run a test with each chain solver; the relative tolerance it meets
    (the Krylov solver stops at a relative residual of 1e-13)."""
    if request.param == "krylov":
        monkeypatch.setattr(attribution, "_DENSE_STATES", 0)
        return 1e-10
    return 1e-12


def test_markov_removal_effects_by_hand(solver_tolerance):
    effects = attribution.removal_effects(CHAIN, value_col="value", null_col="nulls")
    np.testing.assert_allclose(effects["removal_effect"], [5 / 6, 5 / 8], rtol=solver_tolerance)
    np.testing.assert_allclose(effects["value_removal_effect"], [11 / 12, 7 / 16], rtol=solver_tolerance)
    result = _credit(CHAIN, "markov")
    np.testing.assert_allclose(result["conversions"], [8 / 7, 6 / 7], rtol=solver_tolerance)
    np.testing.assert_allclose(result["value"], [40 * 44 / 65, 40 * 21 / 65], rtol=solver_tolerance)


def test_markov_transition_matrix_by_hand():
    matrix = attribution.markov_transition_matrix(CHAIN, null_col="nulls")
    assert list(matrix.index) == ["(start)", "a", "b", "(conversion)", "(null)"]
    assert list(matrix.columns) == list(matrix.index)
    expected = [
        [0, 3 / 4, 1 / 4, 0, 0],
        [0, 0, 2 / 4, 1 / 4, 1 / 4],
        [0, 1 / 3, 0, 1 / 3, 1 / 3],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ]
    np.testing.assert_allclose(matrix.to_numpy(), expected, rtol=1e-12, atol=0)


# Second order, by hand:
#   a > b > c   1 conversion, 1 null;  b > c  1 conversion;  a > c  1 null
# States are pairs of the last two channels:
#   start: (a,b) 2/4, (b,c) 1/4, (a,c) 1/4;  (a,b) -> (b,c) 1;
#   (b,c): conv 2/3, null 1/3;  (a,c): null 1.
# P(conv) = 3/4 * 2/3 = 1/2. Without a only start -> (b,c) is left: 1/6,
# RE_a = 2/3; without b or c nothing converts: RE = 1.
# First order on the same data: start: a 3/4, b 1/4; a: b 2/3, c 1/3; b: c 1;
# c: conv 1/2, null 1/2. P = 1/2; without a: 1/4 * 1/2 => RE 3/4; without b:
# 3/4 * 1/3 * 1/2 => RE 3/4; without c: RE 1.
ORDER_DATA = pd.DataFrame({"path": ["a > b > c", "b > c", "a > c"], "conversions": [1, 1, 0], "nulls": [1, 0, 1]})


def test_markov_order_two_by_hand(solver_tolerance):
    second = attribution.removal_effects(ORDER_DATA, order=2, null_col="nulls")
    np.testing.assert_allclose(second["removal_effect"], [2 / 3, 1, 1], rtol=solver_tolerance)
    first = attribution.removal_effects(ORDER_DATA, order=1, null_col="nulls")
    np.testing.assert_allclose(first["removal_effect"], [3 / 4, 3 / 4, 1], rtol=solver_tolerance)
    credit = attribution.attribute(ORDER_DATA, "markov", order=2, null_col="nulls")
    np.testing.assert_allclose(credit["conversions"], [2 * (2 / 3) / (8 / 3), 2 / (8 / 3), 2 / (8 / 3)], rtol=solver_tolerance)
    matrix = attribution.markov_transition_matrix(ORDER_DATA, order=2, null_col="nulls")
    assert list(matrix.index) == ["(start)", "a > b", "a > c", "b > c", "(conversion)", "(null)"]
    assert matrix.loc["(start)", "a > b"] == pytest.approx(0.5, rel=1e-15)
    assert matrix.loc["b > c", "(conversion)"] == pytest.approx(2 / 3, rel=1e-15)


@pytest.mark.parametrize("dense_states", [attribution._DENSE_STATES, 0], ids=["dense", "krylov"])
def test_markov_agrees_with_the_fundamental_matrix(monkeypatch, dense_states):
    # 40 channels; the chain built by a plain loop here, then the visiting
    # probability of each channel from the fundamental matrix N = (I - Q)^-1:
    # P(conv | c removed) = P(conv) - N[s,c] / N[c,c] * x_c (Kemeny & Snell).
    frame = _random_paths(11, n_rows=600, channels=tuple(f"ch{i:02d}" for i in range(40)), max_len=8)
    monkeypatch.setattr(attribution, "_DENSE_STATES", dense_states)
    ours = attribution.removal_effects(frame, null_col="nulls")
    names = ours["channel"].tolist()
    index = {name: i for i, name in enumerate(names)}
    m = len(names)
    start, conv, null = m, m + 1, m + 2
    counts = np.zeros((m + 1, m + 3))
    for path, c, n in zip(frame.path, frame.conversions, frame.nulls):
        states = [start] + [index[t.strip()] for t in path.split(">")]
        for a, b in zip(states[:-1], states[1:]):
            counts[a, b] += c + n
        counts[states[-1], conv] += c
        counts[states[-1], null] += n
    visited = counts.sum(axis=1) > 0
    counts = counts[visited]
    keep = np.flatnonzero(visited)
    p = counts / counts.sum(axis=1, keepdims=True)
    q = p[:, keep]
    fundamental = np.linalg.inv(np.eye(len(keep)) - q)
    x = fundamental @ p[:, conv]
    s = len(keep) - 1
    expected = np.zeros(m)
    for k, channel in enumerate(keep[:-1]):
        expected[channel] = fundamental[s, k] / fundamental[k, k] * x[k] / x[s]
    np.testing.assert_allclose(ours["removal_effect"], expected, rtol=1e-9, atol=1e-15)


# ---- Shapley by brute force -------------------------------------------------


def test_shapley_closed_form_equals_brute_force_over_all_coalitions():
    rng = np.random.default_rng(5)
    players = ["chat", "email", "search", "social"]
    paths = [" > ".join(rng.choice(players, rng.integers(1, 6))) for _ in range(40)]
    conversions = rng.integers(0, 9, 40).astype(float)
    data = pd.DataFrame({"path": paths, "conversions": conversions})
    channel_sets = [frozenset(t.strip() for t in p.split(">")) for p in paths]

    def worth(coalition):  # conversions of journeys whose channels all lie in the coalition
        return sum(c for s, c in zip(channel_sets, conversions) if s <= coalition)

    n = len(players)
    brute = []
    for player in players:
        others = [p for p in players if p != player]
        total = 0.0
        for size in range(n):
            for subset in itertools.combinations(others, size):
                coalition = frozenset(subset)
                weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                total += weight * (worth(coalition | {player}) - worth(coalition))
        brute.append(total)
    result = attribution.attribute(data, "shapley")
    assert result["channel"].tolist() == players
    np.testing.assert_allclose(result["conversions"], brute, rtol=1e-12)


# ---- invariants ---------------------------------------------------------------


@pytest.mark.parametrize("model", attribution.MODELS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_credit_sums_to_the_totals(model, seed):
    frame = _random_paths(seed)
    result = _credit(frame, model, half_life=1.7)
    assert result["conversions"].sum() == pytest.approx(frame.conversions.sum(), rel=1e-12)
    assert result["value"].sum() == pytest.approx(frame.value.sum(), rel=1e-12)
    assert result["share"].sum() == pytest.approx(1.0, rel=1e-12)
    assert (result["conversions"] >= -1e-12).all()


def test_spaces_are_ignored_and_case_is_kept():
    data = pd.DataFrame({"path": ["Email>chat", "  Email >  chat ", "email"], "conversions": [1, 2, 4]})
    result = attribution.attribute(data, "last")
    # sorted as a spreadsheet sorts: case-insensitively, ties by exact text
    assert result["channel"].tolist() == ["chat", "Email", "email"]
    assert result["conversions"].tolist() == [3.0, 0.0, 4.0]


def test_journeys_can_be_parsed_once_and_reused():
    journeys = attribution.parse_paths(HAND.path, HAND.conversions, HAND.value, HAND.nulls)
    for model, (conversions, _) in HAND_EXPECTED.items():
        np.testing.assert_allclose(attribution.attribute(journeys, model)["conversions"], conversions, rtol=1e-12)
    frame = journeys.to_frame()
    assert frame["path"].tolist() == HAND["path"].tolist()


def test_custom_column_names():
    data = HAND.rename(columns={"path": "journey", "conversions": "orders"})
    result = attribution.attribute(data, "first", path_col="journey", conversion_col="orders")
    assert result["conversions"].tolist() == [1.0, 1.0, 3.0]


def test_touch_level_journeys_are_aggregated():
    # Three journeys, given touch by touch out of order; journey 1 is P1 of
    # the hand data (converted, value 100 repeated on each row), journey 2
    # converts via email alone, journey 3 is email > chat without conversion.
    log = pd.DataFrame(
        {
            "journey_id": [1, 2, 1, 3, 3, 1],
            "channel": ["chat", "email", "search", "chat", "email", "email"],
            "timestamp": pd.to_datetime(["2024-03-03", "2024-03-01", "2024-03-01", "2024-03-05", "2024-03-04", "2024-03-02"]),
            "converted": [1, 1, 1, 0, 0, 1],
            "revenue": [100.0, 30, 100, 0, 0, 100],
        }
    )
    journeys = attribution.journeys_from_touches(log, value_col="revenue")
    frame = journeys.to_frame()
    assert frame["path"].tolist() == ["search > email > chat", "email", "email > chat"]
    assert frame["conversions"].tolist() == [1.0, 1.0, 0.0]
    assert frame["value"].tolist() == [100.0, 30.0, 0.0]
    assert frame["nulls"].tolist() == [0.0, 0.0, 1.0]
    # one row per journey with a list of touches and a list of times
    wide = pd.DataFrame(
        {
            "journey_id": [1, 2],
            "channel": [["email", "search"], ["chat"]],
            "timestamp": [[2, 1], [5]],
            "converted": [1, 0],
        }
    )
    assert attribution.journeys_from_touches(wide).to_frame()["path"].tolist() == ["search > email", "chat"]


def test_engine_errors():
    with pytest.raises(InvalidInputError, match="unknown model"):
        attribution.attribute(HAND, "w-shaped")
    with pytest.raises(InvalidInputError, match="same length"):
        attribution.parse_paths(["a", "b"], [1])
    with pytest.raises(InvalidInputError, match="negative"):
        attribution.parse_paths(["a", "b"], [1, -1])
    with pytest.raises(InvalidInputError, match="empty"):
        attribution.parse_paths(["a > > b"], [1])
    with pytest.raises(InvalidInputError, match="empty"):
        attribution.parse_paths(["  "], [1])
    with pytest.raises(InvalidInputError, match="order"):
        attribution.attribute(HAND, "markov", order=7)
    with pytest.raises(OutOfDomainError):
        attribution.attribute(HAND, "time_decay", half_life=0)
    with pytest.raises(ZeroDenominatorError):
        attribution.attribute(pd.DataFrame({"path": ["a"], "conversions": [0]}), "linear")


# ---- ChannelAttribution ------------------------------------------------------
# Its answers (and the inputs it was given) are recorded in
# tests/data/reference_channelattribution.json by
# scripts/record_reference_values.py: it compiles C++ and is not installed
# with the tests. The file names the version and the simulation settings.

CHANNEL_ATTRIBUTION = json.loads((Path(__file__).resolve().parents[1] / "data" / "reference_channelattribution.json").read_text(encoding="utf-8"))


def _recorded_frame(recorded: dict) -> pd.DataFrame:
    return pd.DataFrame({column: recorded[column] for column in ("path", "conversions", "value", "nulls")})


def _recorded_table(recorded: dict) -> pd.DataFrame:
    return pd.DataFrame(recorded).set_index("channel")


def test_heuristics_agree_with_channel_attribution():
    frame = _recorded_frame(CHANNEL_ATTRIBUTION["heuristics"]["input"])
    theirs = _recorded_table(CHANNEL_ATTRIBUTION["heuristics"]["output"])
    for model, prefix in (("first", "first_touch"), ("last", "last_touch"), ("linear", "linear_touch")):
        ours = _credit(frame, model).set_index("channel")
        np.testing.assert_allclose(ours["conversions"], theirs.loc[ours.index, f"{prefix}_conversions"], rtol=1e-9)
        np.testing.assert_allclose(ours["value"], theirs.loc[ours.index, f"{prefix}_value"], rtol=1e-9)


@pytest.mark.parametrize("order", [1, 2])
def test_markov_agrees_with_channel_attribution(order):
    # ChannelAttribution simulates 1e6 paths (seed 0, deterministic); its
    # default max_step cuts simulated paths at the longest observed one,
    # which biases loops, so it was raised. Observed differences: removal
    # effects and credit < 0.9 %, value < 1.7 %.
    frame = _recorded_frame(CHANNEL_ATTRIBUTION["markov"]["input"])
    recorded = CHANNEL_ATTRIBUTION["markov"]["orders"][str(order)]
    ours = _credit(frame, "markov", order=order).set_index("channel")
    effects = attribution.removal_effects(frame, order, value_col="value", null_col="nulls").set_index("channel")
    their_effects = _recorded_table(recorded["removal_effects"]).loc[ours.index]
    their_credit = _recorded_table(recorded["result"]).loc[ours.index]
    np.testing.assert_allclose(effects["removal_effect"], their_effects["removal_effects_conversion"], rtol=0.02)
    np.testing.assert_allclose(effects["value_removal_effect"], their_effects["removal_effects_conversion_value"], rtol=0.04)
    np.testing.assert_allclose(ours["conversions"], their_credit["total_conversions"], rtol=0.02)
    np.testing.assert_allclose(ours["value"], their_credit["total_conversion_value"], rtol=0.04)


def test_hand_chain_agrees_with_channel_attribution():
    recorded = CHANNEL_ATTRIBUTION["chain"]
    assert _recorded_frame(recorded["input"]).astype({"conversions": int, "nulls": int}).equals(CHAIN)
    effects = _recorded_table(recorded["removal_effects"]).loc[["a", "b"]]
    np.testing.assert_allclose(effects["removal_effects_conversion"], [5 / 6, 5 / 8], rtol=0.02)
    np.testing.assert_allclose(effects["removal_effects_conversion_value"], [11 / 12, 7 / 16], rtol=0.04)


# ---- CXATTRIBUTION through xlwings' dispatcher --------------------------------

HEADER = ["Channel", "Conversions", "Value", "Share"]


@pytest.mark.parametrize("model", sorted(HAND_EXPECTED))
def test_cxattribution_hand_case_through_dispatch(excel, model):
    table = excel("CXATTRIBUTION", HAND.path.tolist(), HAND.conversions.tolist(), model, HAND.value.tolist(), HAND.nulls.tolist())
    conversions, values = HAND_EXPECTED[model]
    assert table[0] == HEADER
    assert [row[0] for row in table[1:]] == ["chat", "email", "search"]
    np.testing.assert_allclose([row[1] for row in table[1:]], conversions, rtol=1e-12)
    np.testing.assert_allclose([row[2] for row in table[1:]], values, rtol=1e-12)
    np.testing.assert_allclose([row[3] for row in table[1:]], np.array(conversions) / 5, rtol=1e-12)


def test_cxattribution_markov_through_dispatch(excel):
    table = excel("CXATTRIBUTION", CHAIN.path.tolist(), CHAIN.conversions.tolist(), "Markov", CHAIN.value.tolist(), CHAIN.nulls.tolist())
    assert table[0] == HEADER
    assert table[1][0] == "a" and table[1][1] == pytest.approx(8 / 7, rel=1e-12)
    assert table[2][2] == pytest.approx(40 * 21 / 65, rel=1e-12)
    assert table[1][3] == pytest.approx(4 / 7, rel=1e-12)


def test_cxattribution_defaults_and_shapes(excel):
    # default model linear, no values -> Value 0; rows instead of columns
    table = excel.raw("CXATTRIBUTION", [["search > email", "email"]], [[2, 1]])
    assert table == [HEADER, ["email", 2.0, 0.0, 2 / 3], ["search", 1.0, 0.0, 1 / 3]]
    # time_decay with half-life 2 (see test_time_decay_half_life_two)
    table = excel("CXATTRIBUTION", ["chat > search"], [3], "time_decay", None, None, 2)
    assert table[1][1] == pytest.approx(3 * 2**-0.5 / (1 + 2**-0.5), rel=1e-12)


def test_cxattribution_ignores_rows_blank_everywhere_and_counts_blanks_as_zero(excel):
    paths = ["search > email", "email", None, None]
    conversions = [2, None, None, None]
    assert excel("CXATTRIBUTION", paths, conversions, "first") == [HEADER, ["email", 0.0, 0.0, 0.0], ["search", 2.0, 0.0, 1.0]]


@pytest.mark.parametrize(
    "args, expected",
    [
        ((["a > b", "b"], [1]), "#VALUE!"),  # ranges of different lengths
        ((["a > b", "b"], [1, 1], "linear", [5]), "#VALUE!"),
        ((["a > b", "b"], [1, -1]), "#VALUE!"),  # negative count
        ((["a > b", "b"], [1, 1], "linear", None, [0, -2]), "#VALUE!"),
        ((["a > b", "b"], [1, 1], "u-shaped"), "#VALUE!"),  # unknown model
        ((["a > b", None], [1, 1]), "#VALUE!"),  # empty path with a count
        ((["a > > b"], [1]), "#VALUE!"),  # empty channel name
        ((["a > b", "b"], [1, "x"]), "#VALUE!"),
        ((["a > b", "b"], [0, 0]), "#DIV/0!"),  # no conversions at all
        ((["a > b", "b"], [0, 0], "markov", None, [4, 1]), "#DIV/0!"),
        ((["a > b", "b"], [1, 1], "time_decay", None, None, 0), "#NUM!"),
    ],
)
def test_cxattribution_bad_input(excel, args, expected):
    assert excel("CXATTRIBUTION", *args) == expected


def test_cxattribution_error_cells_propagate(excel):
    assert excel.raw("CXATTRIBUTION", [["a"], ["b"]], [[1], [excel_error("#N/A")]]) == [["#N/A"]]
