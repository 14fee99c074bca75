"""Memory of a worker that builds client after client: no client's objects
outlive it, and every cache is bounded in bytes.

Oracles: the garbage collector's weak references (a workbook nobody holds is
gone), tracemalloc's count of the bytes Python has allocated and not freed,
and hand-worked cases for the bounded memo and the line wrapping.
"""
from __future__ import annotations

import gc
import random
import tracemalloc
import weakref

import pytest

from benchmarks.mixed_portfolio import mixed_client
from cxroi_xl.engine import counterfactual
from cxroi_xl.workbooks import build, common, frames, roi_template

TEMPLATE = roi_template.TEMPLATE_NAME
MIB = 2**20


def build_one(data, tmp_path, mode: str = "values") -> None:
    """What a batch worker does for one client of the main template."""
    build.build_client_workbook(data, TEMPLATE, mode, tmp_path / "client.xlsx", data.model())


@pytest.fixture
def fresh_frames():
    frames.clear()
    yield
    frames.clear()


def test_no_workbook_of_a_finished_client_stays_reachable(fresh_frames, monkeypatch, tmp_path):
    # A frame once kept its client's style tables, named styles among them,
    # and a named style points at its workbook: every frame held a whole
    # workbook and its thirty thousand cells. A cell points at its sheet and
    # the sheet at its workbook, so no workbook alive means no cell alive.
    made = []
    original = roi_template.build_client_sheets

    def recording(*args, **kwargs):
        wb, shape = original(*args, **kwargs)
        made.append(weakref.ref(wb))
        return wb, shape

    monkeypatch.setattr(roi_template, "build_client_sheets", recording)
    first = mixed_client(1).tracker_input()
    for data in (first, mixed_client(2).tracker_input(), first, mixed_client(3).tracker_input()):
        for mode in ("values", "live"):
            build_one(data, tmp_path, mode)
    # 8 clients' workbooks, and any a frame was built from in the placeholder currency
    assert len(made) >= 8 and any(frame is not None for frame in frames._FRAMES.values())
    gc.collect()
    alive = [ref() for ref in made if ref() is not None]
    assert alive == [], f"{len(alive)} client workbooks still reachable: {[gc.get_referrers(wb)[:3] for wb in alive[:1]]}"


def test_frames_stay_within_their_byte_budget(fresh_frames, monkeypatch, tmp_path):
    data = [mixed_client(i).tracker_input() for i in range(4, 9)]
    build_one(data[0], tmp_path)
    one_frame = frames.frames_nbytes()
    assert one_frame > 0
    # room for two frames of this size and a half: the third pushes out the first
    monkeypatch.setattr(frames, "MAX_FRAME_BYTES", int(2.5 * one_frame))
    keys = [next(reversed(frames._FRAMES))]
    for client in data[1:]:
        build_one(client, tmp_path)
        keys.append(next(reversed(frames._FRAMES)))
        assert frames.frames_nbytes() <= frames.MAX_FRAME_BYTES
    assert len(set(keys)) == len(keys), "each client its own shape"
    # the first, built whole, stays: the others are made from it (reshaped),
    # first in, first out
    kept = list(frames._FRAMES)
    assert list(frames._SOURCES.values()) == [keys[0]]
    assert kept[0] == keys[0] and kept[1:] == keys[len(keys) - len(kept) + 1 :] and 2 <= len(kept) <= 3


def test_the_frame_budget_counts_at_least_what_the_frames_hold(fresh_frames, tmp_path):
    # tracemalloc counts what forgetting the frames frees; the budget's
    # count must not be less, or the frames could hold more than it says
    clients = [mixed_client(i).tracker_input() for i in range(10, 14)]
    build_one(clients[0], tmp_path)  # imports and one-off caches before tracing
    frames.clear()
    gc.collect()
    tracemalloc.start()
    try:
        for data in clients[1:]:
            build_one(data, tmp_path)
        gc.collect()
        counted = frames.frames_nbytes()
        held = tracemalloc.get_traced_memory()[0]
        frames.clear()
        gc.collect()
        freed = held - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(clients) - 1 >= 3 and freed > 0.5 * MIB
    assert counted >= freed, (counted, freed)


def test_bounded_cache_forgets_the_least_recently_used_first():
    cache = common._BoundedCache(100)
    cache.put("a", 1, 40)
    cache.put("b", 2, 40)
    assert cache.get("a") == 1  # a used last now: b is the oldest
    cache.put("c", 3, 40)  # 120 > 100: b goes
    assert (cache.get("b"), cache.get("a"), cache.get("c"), cache.nbytes, len(cache)) == (None, 1, 3, 80, 2)
    cache.put("d", 4, 101)  # larger than the whole budget: not kept, nothing forgotten
    assert (cache.get("d"), len(cache), cache.nbytes) == (None, 2, 80)
    cache.put("e", 5, 100)  # exactly the budget: everything else goes
    assert (cache.get("a"), cache.get("c"), cache.get("e"), cache.nbytes) == (None, None, 5, 100)


def _lines_by_definition(text: str, width: float, bold: bool = False, size: float = 11) -> int:
    """Greedy wrapping at spaces, each candidate line measured whole."""
    lines, current = 1, ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and common.text_width(candidate, bold, size) + common.CELL_PADDING > width:
            lines, current = lines + 1, word
        else:
            current = candidate
    return lines


def test_wrapped_lines_measure_words_once_and_wrap_as_whole_lines_do():
    # hand-worked: "aaaa aaaa" is 8 letters of 1255 font units and a space
    # of 651: 10691 units, 8.205 digits of 1303; with the padding of 1.5, 9.705
    assert common.wrapped_lines("aaaa aaaa", 9.8) == 1
    assert common.wrapped_lines("aaaa aaaa", 9.6) == 2
    rng = random.Random(5)
    alphabet = "ab WZ  e\u0301\u4e2d\u00e9 1.,"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        width, bold, size = rng.uniform(1, 40), rng.random() < 0.5, rng.choice([9, 10, 11])
        assert common.wrapped_lines(text, width, bold, size) == _lines_by_definition(text, width, bold, size), (text, width, bold, size)
    long = "word " * 400  # longer than any text the memo keeps
    assert common.wrapped_lines(long, 30) == _lines_by_definition(long, 30)


def _settled() -> int:
    """Bytes traced after a collection, the engine's per-length caches
    emptied first (see the test below)."""
    counterfactual._ar1_correlations.cache_clear()
    counterfactual._lags.cache_clear()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_memory_after_300_mixed_clients_is_that_after_50(fresh_frames, tmp_path):
    """300 mixed clients (every one its own shape, nearly) built one after
    another, as one batch worker builds them: the memory Python holds
    after the 300th is at most that after the 50th plus 2 MiB.

    The engine keeps, per series length, the AR(1) correlation stack of its
    counterfactual fits (16 lengths, 37 n^2 doubles each: up to 1 MiB at 60
    months); which lengths it holds at a moment depends on the last clients,
    not on how many came before, and swings the total by up to about 3 MiB
    in this portfolio. It is emptied before both counts."""
    warm_up = mixed_client(10_000).tracker_input()
    build_one(warm_up, tmp_path)  # imports and one-off module state, before tracing
    del warm_up
    traced, snapshots = {}, {}
    tracemalloc.start()
    try:
        for i in range(1, 301):
            data = mixed_client(i).tracker_input()
            build_one(data, tmp_path)
            del data
            if i in (50, 300):
                traced[i] = _settled()
                snapshots[i] = tracemalloc.take_snapshot()  # not traced itself
    finally:
        tracemalloc.stop()
    grown = traced[300] - traced[50]
    top = "\n".join(str(s) for s in snapshots[300].compare_to(snapshots[50], "lineno")[:10])
    assert grown <= 2 * MIB, f"{grown / MIB:.2f} MiB more after client 300 than after client 50; where:\n{top}"
