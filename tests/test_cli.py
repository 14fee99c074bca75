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
