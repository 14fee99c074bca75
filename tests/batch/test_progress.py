"""What `cxroi-xl generate` shows while it works (batch.run.ClientProgress):
the count, the estimate of the time left, and lines that reach a pipe at once."""
from __future__ import annotations

import io

import pytest

from cxroi_xl.batch.run import ClientProgress, _duration


class FlushCounting(io.StringIO):
    """A pipe's stand-in that records what had reached it at each flush."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []

    def flush(self) -> None:
        super().flush()
        self.flushed.append(self.getvalue())


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_with_an_estimate_from_the_first_client_built():
    clock, pipe = Clock(), FlushCounting()
    with ClientProgress(4, terminal=False, stream=pipe, clock=clock) as progress:
        progress("a", "skipped")  # up to date: no time spent, no estimate yet
        clock.now = 110.0
        progress("b", "built")  # 10 s for one client built, 2 left: 20 s
        clock.now = 116.0
        progress("c", "failed")  # 16 s for two, 1 left: 8 s
        clock.now = 120.0
        progress("d", "built")  # none left: no estimate
    assert pipe.getvalue().splitlines() == [
        "a up to date (1/4)",
        "b built (2/4, eta 20 s)",
        "c failed (3/4, eta 8 s)",
        "d built (4/4)",
    ]
    # each line was flushed as it was written: a piped run is never silent
    assert [text.count("\n") for text in pipe.flushed] == [1, 2, 3, 4]


def test_unknown_total_counts_without_an_estimate():
    clock, pipe = Clock(), FlushCounting()
    with ClientProgress(None, terminal=False, stream=pipe, clock=clock) as progress:
        clock.now = 130.0
        progress("a", "built")
    assert pipe.getvalue() == "a built (1)\n"


@pytest.mark.parametrize("seconds, shown", [(0.4, "0 s"), (12.0, "12 s"), (59.6, "1 min"), (185.0, "3 min 5 s"), (3840.0, "1 h 4 min"), (7200.0, "2 h"), (-3.0, "0 s")])
def test_durations_read_as_whole_units(seconds, shown):
    assert _duration(seconds) == shown


def test_terminal_shows_a_bar_and_writes_no_lines():
    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80)
    clock, pipe = Clock(), FlushCounting()
    with ClientProgress(2, terminal=True, console=console, stream=pipe, clock=clock) as progress:
        clock.now = 103.0
        progress("a", "built")  # 3 s for one, one left
        progress._bar.refresh()
        assert "1/2" in screen.getvalue() and "eta 3 s" in screen.getvalue()
        progress("b", "built")
    assert pipe.getvalue() == ""  # no plain lines under the bar
