"""The command line: function listing, README reference, UDF module check."""
from __future__ import annotations

from typer.testing import CliRunner

from cxroi_xl import reference, registry
from cxroi_xl.cli import app
from tests.conftest import ROOT

runner = CliRunner()


def test_functions_lists_every_function_with_help():
    result = runner.invoke(app, ["functions"])
    assert result.exit_code == 0
    for name, fn in registry.functions().items():
        assert fn.signature() in result.output
        assert fn.summary in result.output


def test_readme_reference_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reference.update_readme(readme) == readme, "run `make readme`"


def test_udfs_check_passes_on_a_fresh_checkout():
    result = runner.invoke(app, ["udfs", "generate", "--check"])
    assert result.exit_code == 0, result.output


def test_eval_prints_a_value_and_fails_on_an_error():
    ok = runner.invoke(app, ["eval", "CXPAYBACK", "--", "-100,30,40,50"])
    assert ok.exit_code == 0 and ok.output.strip() == "2.6"
    bad = runner.invoke(app, ["eval", "CXNPV", "--", "ten", "1,2"])
    assert bad.exit_code == 1 and "#VALUE!" in bad.output
    unknown = runner.invoke(app, ["eval", "NOPE"])
    assert unknown.exit_code == 2
