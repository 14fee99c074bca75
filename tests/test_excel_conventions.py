"""Conventions of the Excel layer that users rely on: text is text, and a
single number given for a per-period series is an amount at period 0."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cxroi_xl.cli import app

runner = CliRunner()


@pytest.mark.parametrize("word", ["nan", "NaN", "inf", "-infinity"])
def test_eval_reads_words_that_float_accepts_as_text(word):
    # float("nan") succeeds, so "nan" used to arrive as a NaN number, which
    # the coercion treats as a blank: CXNPS(nan) said "no scores to count".
    result = runner.invoke(app, ["eval", "CXNPS", "--", word])
    assert result.exit_code == 1
    assert "#VALUE!" in result.output and f"the text '{word}'" in result.output
    in_a_range = runner.invoke(app, ["eval", "CXNPS", "--", f"10,{word},3"])
    assert in_a_range.exit_code == 1 and "#VALUE!" in in_a_range.output and "(cell 2)" in in_a_range.output
