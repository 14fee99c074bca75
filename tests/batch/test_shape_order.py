"""The batch builds the clients of one shape one after another, so that
they share the frame of their shape (workbooks/frames.py), whatever order
the clients file lists them in."""
from __future__ import annotations

from benchmarks.mixed_portfolio import write_mixed_portfolio
from cxroi_xl.batch.read import read_batch
from cxroi_xl.batch.run import generate
from cxroi_xl.engine.tracker import split_phases


def _shape(data) -> tuple:
    """The shape from the client's own rows, split by the engine (a frame
    serves every currency)."""
    _, post = split_phases(data.kpis, data.go_live)
    return len(post), data.horizon_months


def test_clients_of_one_shape_come_together_in_file_order(tmp_path):
    batch = read_batch(write_mixed_portfolio(tmp_path / "data", 60, seed=1))
    try:
        ids = batch.valid_client_ids()
        shapes = {client_id: _shape(batch.tracker_input(client_id)) for client_id in ids}
        first = {}
        for position, client_id in enumerate(ids):
            first.setdefault(shapes[client_id], position)
        expected = sorted(ids, key=lambda client_id: first[shapes[client_id]])  # stable: file order within a shape
        order = batch.in_shape_order(ids)
    finally:
        batch.close()
    assert order == expected
    # the portfolio has shapes whose clients the file does not list together
    assert order != ids
    assert any(shapes[a] == shapes[b] and ids.index(b) - ids.index(a) > 1 for a, b in zip(order, order[1:]))


def test_the_build_order_changes_no_output_order(tmp_path):
    data = write_mixed_portfolio(tmp_path / "data", 12, seed=1)
    batch = read_batch(data)
    try:
        ids = batch.valid_client_ids()
        assert batch.in_shape_order(ids) != ids  # this portfolio is reordered
        result = generate(data, tmp_path / "out", jobs=1, batch=batch)
    finally:
        batch.close()
    assert sorted(result.built) == sorted(ids)
    summary = (tmp_path / "out" / "summary.csv").read_text(encoding="utf-8").splitlines()
    assert [line.split(",")[0] for line in summary[1:]] == ids
