"""Frames: the shared sheets built once per shape, rendered per client.

Oracle: building every client whole (openpyxl builds all ten sheets, the
cached values filled at save), which the rest of the suite checks against
LibreOffice and the engine. A workbook made through a frame must be that
file, byte for byte: same cells, styles, charts, notes and parts.
"""
from __future__ import annotations

import dataclasses
import io
import random
import zipfile

import pytest

from cxroi_xl.batch.read import read_batch
from cxroi_xl.workbooks.sample_data import write_sample_batch
from cxroi_xl.workbooks import build, frames, roi_template
from tests.workbooks.test_cache import client

TEMPLATE = roi_template.TEMPLATE_NAME


def whole(data, mode: str) -> bytes:
    stream = build.RowStream()
    wb = build._label(roi_template.build(data, stream), TEMPLATE, mode)
    return build.finished_bytes(wb, mode, stream)


def through_frames(data, mode: str, tmp_path) -> bytes:
    return build.build_client_workbook(data, TEMPLATE, mode, tmp_path / "client.xlsx").read_bytes()


def differing_parts(a: bytes, b: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        names = sorted(set(za.namelist()) | set(zb.namelist()))
        return [n for n in names if n not in za.namelist() or n not in zb.namelist() or za.read(n) != zb.read(n)]


@pytest.fixture(scope="module")
def sample_clients(tmp_path_factory):
    folder = write_sample_batch(tmp_path_factory.mktemp("sample"))
    batch = read_batch(folder)
    try:
        return [batch.tracker_input(i) for i in batch.valid_client_ids()]
    finally:
        batch.close()


@pytest.mark.parametrize("mode", ["live", "values"])
def test_every_sample_client_is_the_whole_build_byte_for_byte(sample_clients, whole_builds, tmp_path, mode):
    # the bundled clients differ in currency, months tracked, proxies and
    # leads; the seeded ones share a shape, so their frames are reused
    clients = sample_clients + [client(seed) for seed in range(10)]
    random.Random(7).shuffle(clients)
    for data in clients:
        made = through_frames(data, mode, tmp_path)
        built_before = len(whole_builds)
        expected = whole(data, mode)
        del whole_builds[built_before:]  # the oracle's own builds do not count
        assert made == expected, f"{data.client_id}: {differing_parts(made, expected)}"
    assert len(whole_builds) < len(clients) - 5, "the frames were hardly reused"


def frames_values(data):
    wb, _ = roi_template.build_client_sheets(data, build.RowStream())
    return wb.formula_values


def test_values_form_notes_follow_each_client(whole_builds, tmp_path):
    # same shape; one pays back, the other never does ("not reached", with
    # the engine's reason in the note of the payback cells). The notes sit
    # on the same cells, so the second takes the first one's frame, its
    # notes' parts made from its own notes.
    pays = client(3)
    never = dataclasses.replace(client(3, client_id="never"), costs=client(3).costs.assign(amount=lambda c: c["amount"] * 1000))
    first = through_frames(pays, "values", tmp_path)
    built = len(whole_builds)
    second = through_frames(never, "values", tmp_path)
    assert len(whole_builds) == built
    assert first == whole(pays, "values")
    assert second == whole(never, "values")
    with zipfile.ZipFile(io.BytesIO(second)) as archive:
        notes = "".join(archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/comments/"))
    assert "never pays back" in notes
    # without surveys, errors fill the survey metrics' blocks, each error
    # with a note of its own: notes on other cells, still the same frame
    silent = dataclasses.replace(client(3, client_id="silent"), surveys=client(3).surveys.iloc[0:0])
    built = len(whole_builds)
    third = through_frames(silent, "values", tmp_path)
    assert len(whole_builds) == built
    assert third == whole(silent, "values")
    assert len(frames._notes(next(iter(frames._BLOCKS.values())), frames_values(silent), "values")) > len(frames._notes(next(iter(frames._BLOCKS.values())), frames_values(pays), "values"))
    # and a third client like the first reuses the first one's frame
    built = len(whole_builds)
    assert through_frames(client(3, client_id="again", client_name="Again"), "values", tmp_path) == whole(client(3, client_id="again", client_name="Again"), "values")
    assert len(whole_builds) == built + 1  # the oracle's build only


def test_no_frame_when_its_notes_cannot_be_made_from_the_notes_alone(whole_builds, monkeypatch, tmp_path):
    # a frame makes each client's notes parts from the client's notes; it is
    # kept only if that gives its own build's parts (here it would not)
    monkeypatch.setattr(frames, "_note_records", lambda notes, sheet: [])
    for seed in (3, 4):
        built = len(whole_builds)
        assert through_frames(client(seed), "values", tmp_path) == whole(client(seed), "values")
        assert len(whole_builds) == built + 2  # its own build and the oracle's
    assert not [f for f in frames._FRAMES.values() if f is not None]


def test_a_client_the_frame_does_not_fit_is_built_whole(whole_builds, tmp_path):
    through_frames(client(2), "live", tmp_path)
    (frame,) = [f for f in frames._FRAMES.values() if f is not None]
    frame.styles = ()  # as if the client's own sheets had used other styles
    other = client(4)
    built = len(whole_builds)
    made = through_frames(other, "live", tmp_path)
    assert len(whole_builds) == built + 1
    assert made == whole(other, "live")


def test_shared_sheets_are_built_from_the_shape_alone():
    # the contract frames rely on: the shared sheets' builder takes the
    # shape and nothing else of the client (its values are rendered per client)
    fields = {f.name: f for f in dataclasses.fields(roi_template.SharedShape)}
    assert list(fields) == ["currency", "post_rows", "horizon", "tracked"] and all(f.compare for f in fields.values())


def test_client_sheets_with_other_styles_do_not_take_a_frame_s_styles(whole_builds, monkeypatch, tmp_path):
    # A cell of a client's own sheet combining styles the workbook already
    # has (same fonts and fills) in a new way: its style is registered only
    # when the sheet is written, before the shared sheets', whose indices
    # in the frame would then point at other styles. The frame must not be
    # used for it, and the workbook is still the whole build.
    from cxroi_xl.workbooks.common import HEADER_FONT, INPUT_FILL

    original = roi_template.write_proxies

    def proxies(ws, spec, rows):
        original(ws, spec, rows)
        if ws.parent["Inputs"]["B4"].value == "Odd one":
            ws["Z1"] = "odd"
            ws["Z1"].font, ws["Z1"].fill = HEADER_FONT, INPUT_FILL

    monkeypatch.setattr(roi_template, "write_proxies", proxies)
    odd = client(5, client_id="odd", client_name="Odd one")
    for data in (client(5), odd, client(5, client_id="again")):
        built = len(whole_builds)
        assert through_frames(data, "live", tmp_path) == whole(data, "live"), data.client_id
        whole_builds_for_it = len(whole_builds) - built - 1  # less the oracle's own build
        assert whole_builds_for_it == (0 if data.client_id == "again" else 1), data.client_id


@pytest.mark.parametrize("mode", ["live", "values"])
def test_one_frame_serves_every_currency(whole_builds, tmp_path, mode):
    # The shape's first client in a currency with a symbol: its own build,
    # swapped back to the placeholder currency, is the frame. In another
    # code (SEK shows its code; IRR is also a word of the sheets' own text,
    # "IRR per month"), the frame is built anew in the placeholder currency
    # (XTS). Every later client, in any currency, the placeholder's too,
    # takes that frame and is its whole build byte for byte.
    for first in ["EUR", "USD", "GBP", "JPY", "CHF", "CAD", "AUD", "INR", "SEK", "IRR"]:
        frames.clear()
        del whole_builds[:]
        for i, currency in enumerate([first, "IRR", "GBP", "SEK", "XTS"]):
            data = dataclasses.replace(client(3, client_id=f"c{i}"), currency=currency)
            made = through_frames(data, mode, tmp_path)
            built = len(whole_builds)
            expected = whole(data, mode)
            del whole_builds[built:]
            assert made == expected, f"first {first}, then {currency}: {differing_parts(made, expected)}"
            if currency == "IRR":
                with zipfile.ZipFile(io.BytesIO(made)) as archive:
                    assert "IRR per month" in archive.read("xl/worksheets/sheet10.xml").decode()
        # one build of the shared sheets: the first client's, or the frame's
        assert [shape.currency for shape in whole_builds] == [first if first not in ("SEK", "IRR") else "XTS"]


@pytest.mark.parametrize("mode", ["live", "values"])
def test_a_mixed_portfolio_is_the_whole_build_byte_for_byte(whole_builds, tmp_path, mode):
    # clients of many shapes (months tracked, currency, leads, proxies,
    # surveys), some sharing a shape in other currencies
    from benchmarks.mixed_portfolio import mixed_client

    clients = []
    for i, currency in enumerate(["GBP", "CHF", "USD", "EUR", "AUD", "CAD"] + [None] * 8):
        data = mixed_client(i, seed=5).tracker_input()
        clients.append(data)
        if currency is not None:  # its shape again, in another currency
            clients.append(dataclasses.replace(data, client_id=f"{data.client_id}-{currency}", currency=currency if currency != data.currency else "JPY"))
    for data in clients:
        made = through_frames(data, mode, tmp_path)
        built = len(whole_builds)
        expected = whole(data, mode)
        del whole_builds[built:]
        assert made == expected, f"{data.client_id}: {differing_parts(made, expected)}"
    assert len(whole_builds) <= 14, "clients of a shape in another currency did not reuse its frame"
