"""The command line: function listing, README reference, UDF module check,
help texts, option checks and every documented example run as written."""
from __future__ import annotations

import re
import shlex

import pytest
import typer
from typer.testing import CliRunner

from cxroi_xl.excel import reference, registry
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
    from cxroi_xl.workbooks.roi_template import start_here_markdown

    assert reference.update_readme(readme, start_here_markdown()) == readme, "run `make readme`"


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


# ---- help, options and the documented examples ------------------------------


def _commands(command, path=()):
    """(path, click command) of the app and every (sub)command."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, path + (name,))


def _help_texts() -> dict[tuple, str]:
    texts = {}
    for path, _ in _commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, (path, result.output)
        texts[path] = result.output
    return texts


def _example_lines(text: str) -> list[str]:
    """Lines that start with `cxroi-xl `, trailing `# comments` dropped."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("cxroi-xl "):
            lines.append(re.split(r"\s+#\s", line)[0].strip())
    return lines


def _readme_examples() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [line for block in blocks for line in _example_lines(block)]


def test_flags_show_as_flags_and_choices_are_listed():
    texts = _help_texts()
    for path, text in texts.items():
        assert "<bool>" not in text, path
    generate = texts[("generate",)]
    assert "--force " in generate and "--dry-run " in generate
    assert "<cx_automation_roi|customer_value|attribution>" in generate
    assert "<values|live>" in generate
    assert "<values|live>" in texts[("templates", "build")]


def test_template_names_are_the_registered_builders():
    from cxroi_xl.cli import TEMPLATES
    from cxroi_xl.workbooks.build import BUILDERS

    assert set(TEMPLATES) == set(BUILDERS)


@pytest.mark.parametrize(
    "args, listed",
    [
        (["--template", "bogus"], "'cx_automation_roi', 'customer_value', 'attribution'"),
        (["--mode", "foo"], "'values', 'live'"),
    ],
)
def test_bad_options_fail_before_any_data_is_read(tmp_path, args, listed):
    # the data folder does not exist: a usage error about the option, not about the data
    result = runner.invoke(app, ["generate", str(tmp_path / "missing"), "--out", str(tmp_path / "out"), *args])
    assert result.exit_code == 2
    assert listed in result.output and "clients" not in result.output
    assert not (tmp_path / "out").exists()


def test_negative_numbers_are_arguments():
    # CXNPV(0.08, -40000, 8000, 9200) = -40000 + 8000/1.08 + 9200/1.08^2, by hand
    result = runner.invoke(app, ["eval", "CXNPV", "0.08", "-40000,8000,9200"])
    assert result.exit_code == 0, result.output
    assert float(result.output) == pytest.approx(-40000 + 8000 / 1.08 + 9200 / 1.08**2, rel=1e-12)


def test_help_and_readme_have_examples():
    assert len({line for text in _help_texts().values() for line in _example_lines(text)}) >= 6
    assert len(_readme_examples()) >= 6


def test_every_documented_example_runs(tmp_path, monkeypatch):
    """Every `cxroi-xl ...` line of every --help and of the README's bash
    blocks, run as written (in order, in an empty folder that sees the
    repository's examples/), exits 0."""
    examples = [line for text in _help_texts().values() for line in _example_lines(text)] + _readme_examples()
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    ran = set()
    for line in examples:
        if line in ran:
            continue
        ran.add(line)
        result = runner.invoke(app, shlex.split(line)[1:])
        assert result.exit_code == 0, f"{line}\n{result.output}"


# ---- --version, functions NAME ------------------------------------------------


def test_version_is_the_package_version():
    import tomllib

    # the oracle: the version pyproject.toml declares (what pip installs)
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cxroi-xl {declared}\n"


def test_functions_name_prints_the_full_help():
    result = runner.invoke(app, ["functions", "cxtei"])  # any case, as in a cell
    assert result.exit_code == 0, result.output
    fn = registry.get("CXTEI")
    text = result.output
    assert text.startswith(fn.signature() + "\n")
    for part in (fn.summary, fn.details, fn.result, f"Example: {fn.example}"):
        assert part in text
    for arg in fn.args:
        assert arg.help in text
    # type, unit and default of each argument, as declared
    assert "  benefits (numbers, currency, required)" in text
    assert "  discount_rate (number, fraction per period, optional, default 0.1)" in text
    assert "  cost_risk (number, fraction >= 0, optional, default 0)" in text
    assert "Returns (a table with a header row, spilled)" in text


def test_functions_name_unknown_suggests_close_names():
    result = runner.invoke(app, ["functions", "CXRIO"])
    assert result.exit_code == 2
    assert "unknown function CXRIO" in result.output and "did you mean CXROI" in result.output
    far = runner.invoke(app, ["functions", "SUMPRODUCT"])
    assert far.exit_code == 2 and "unknown function SUMPRODUCT" in far.output and "did you mean" not in far.output
    typo = runner.invoke(app, ["eval", "CXNVP", "0.1", "1,2"])  # eval says the same
    assert typo.exit_code == 2 and "did you mean CXNPV" in typo.output


# ---- calc -o ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["values.csv", "values.xls", "values"])
def test_calc_refuses_an_output_that_is_not_a_workbook(tmp_path, name):
    book = tmp_path / "book.xlsx"
    book.write_bytes(b"")  # never read: the output name is checked first
    result = runner.invoke(app, ["calc", str(book), "-o", str(tmp_path / name)])
    assert result.exit_code == 2
    assert name in result.output and ".xlsx" in result.output and ".xlsm" in result.output
    assert not (tmp_path / name).exists()


def test_calc_accepts_xlsx_and_xlsm_outputs(tmp_path):
    # past the extension check, the missing BOOK is what is reported
    for name in ("values.xlsx", "values.XLSM"):
        result = runner.invoke(app, ["calc", str(tmp_path / "nothere.xlsx"), "-o", str(tmp_path / name)])
        assert result.exit_code == 2 and "nothere.xlsx" in result.output and "-o must" not in result.output


# ---- generate: --report-currency needs fx.csv, progress -------------------------


def _two_clients(tmp_path):
    from tests.batch.test_run import subset

    return subset(tmp_path, ["rose-bakery", "ledgerly"])  # GBP and USD, no fx.csv


@pytest.mark.parametrize("extra", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_report_currency_without_fx_csv_exits_2(tmp_path, extra):
    data = _two_clients(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--report-currency", "EUR", *extra])
    assert result.exit_code == 2
    assert "fx.csv: not found" in result.output and "--report-currency EUR" in result.output
    assert not out.exists()
    # without the option, fx.csv stays optional
    assert runner.invoke(app, ["generate", str(data), "--out", str(out), "--dry-run"]).exit_code == 0


def test_report_currency_without_fx_csv_exits_2_on_dask(tmp_path):
    pytest.importorskip("dask.distributed")
    data = tmp_path / "parquet"
    data.mkdir()
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--executor", "dask", "--report-currency", "EUR"])
    assert result.exit_code == 2
    assert "fx.csv: not found" in result.output and "--report-currency EUR" in result.output
    assert not out.exists()
    # with the rates there, the cluster still converts nothing: said, not ignored
    (data / "fx.csv").write_text("currency,rate\nUSD,0.9\n", encoding="utf-8")
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--executor", "dask", "--report-currency", "EUR"])
    assert result.exit_code == 2 and "--executor local" in result.output and not out.exists()


PROGRESS_LINE = re.compile(r"^(?P<client>[\w-]+) (?P<status>built|failed|up to date) \((?P<done>\d+)/(?P<total>\d+)(?:, eta (?P<eta>\d+ s|\d+ min(?: \d+ s)?|\d+ h(?: \d+ min)?))?\)$", re.M)


def test_generate_piped_prints_a_line_per_client(tmp_path):
    """CliRunner's stdout is not a terminal: one plain line per client."""
    data = _two_clients(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--mode", "live"])
    assert result.exit_code == 0, result.output
    lines = [m.groupdict() for m in PROGRESS_LINE.finditer(result.output)]
    assert [(line["client"], line["status"], line["done"], line["total"]) for line in lines] == [("rose-bakery", "built", "1", "2"), ("ledgerly", "built", "2", "2")]
    assert lines[0]["eta"] is not None and lines[1]["eta"] is None  # an estimate once one is built; none at the end
    again = runner.invoke(app, ["generate", str(data), "--out", str(out), "--jobs", "1", "--mode", "live"])
    lines = [m.groupdict() for m in PROGRESS_LINE.finditer(again.output)]
    assert [(line["status"], line["eta"]) for line in lines] == [("up to date", None), ("up to date", None)]


def test_generate_into_a_pipe_is_not_silent(tmp_path):
    """As a user runs it: `cxroi-xl generate ... | tee log`."""
    import subprocess
    import sys

    data = _two_clients(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "cxroi_xl.cli", "generate", str(data), "--out", str(tmp_path / "out"), "--jobs", "1", "--mode", "live"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert PROGRESS_LINE.match(lines[0]) and lines[0].startswith("rose-bakery built (1/2, eta ")
    assert lines[1] == "ledgerly built (2/2)"
    assert lines[2].startswith("2 built, 0 up to date, 0 failed")


def test_the_command_runs_numpy_on_one_thread_unless_told_otherwise():
    # set before numpy is imported, so that the command and its pool's
    # workers run their small matrices without a spinning thread pool
    import os
    import subprocess
    import sys

    probe = "import cxroi_xl.cli, os; print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'], os.environ['MKL_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout.split() == ["1", "1", "1"]
    env["OPENBLAS_NUM_THREADS"] = "3"
    assert subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout.split() == ["3", "1", "1"]
    # numpy is not imported before the setting takes effect
    first = "import sys, cxroi_xl; print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", first], env=env, capture_output=True, text=True, check=True).stdout.strip() == "False"
