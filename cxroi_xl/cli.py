"""`cxroi-xl`: the command line.

Exit codes scripts can trust: 0 success, 1 some work failed (the rest is
done), 2 usage or whole-input error.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from . import reference, registry, udf_module

app = typer.Typer(
    help="Measure what customer-experience automation returns: Excel functions, templates, client workbooks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
udfs_app = typer.Typer(help="The xlwings module that puts the functions into Excel.", no_args_is_help=True)
app.add_typer(udfs_app, name="udfs")

console = Console(soft_wrap=True, markup=False)
err_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@app.command("functions")
def functions_command(
    markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown function reference (as in the README)."),
    write_readme: Optional[Path] = typer.Option(None, "--write-readme", help="Rebuild the generated blocks (function reference, workbook guide) of this README file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list: name, signature, summary, arguments."),
) -> None:
    """List the Excel functions with their arguments and help."""
    if write_readme is not None:
        try:
            write_readme.write_text(reference.update_readme(write_readme.read_text(encoding="utf-8")), encoding="utf-8")
        except (OSError, ValueError) as exc:
            _fail(f"{write_readme}: {exc}")
        console.print(f"updated the generated blocks of {write_readme}")
        return
    if as_json:
        rows = [
            {
                "name": fn.name,
                "signature": fn.signature(),
                "summary": fn.summary,
                "returns": fn.returns,
                "args": [{"name": a.name, "kind": a.kind, "help": a.help, "unit": a.unit, "optional": a.optional} for a in fn.args],
            }
            for fn in registry.functions().values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(reference.markdown() if markdown else reference.plain())


@app.command("eval")
def eval_command(
    name: str = typer.Argument(..., help="Function name, e.g. CXNPV."),
    args: List[str] = typer.Argument(None, help="Arguments: a number, text, or comma-separated list for a range."),
) -> None:
    """Evaluate one function from the shell: cxroi-xl eval CXNPV 0.08 -40000,8000,9200"""
    if name.upper() not in registry.functions():
        _fail(f"unknown function {name}; see `cxroi-xl functions`")
    parsed = [_parse_cli_value(a) for a in (args or [])]
    from .excel import ExcelError, call

    result = call(name.upper(), *parsed)
    if isinstance(result, ExcelError):
        _fail(f"{result} {result.reason}", 1)
    if isinstance(result, list):
        for row in result:
            typer.echo("\t".join(str(v) for v in row))
    else:
        typer.echo(result)


def _parse_cli_value(text: str):
    def one(item: str):
        item = item.strip()
        if item == "":
            return None
        try:
            return float(item)
        except ValueError:
            return item

    if "," in text:
        return [[one(item)] for item in text.split(",")]
    return one(text)


@udfs_app.command("generate")
def udfs_generate(check: bool = typer.Option(False, "--check", help="Exit 1 if the module is stale instead of writing it.")) -> None:
    """Regenerate udfs/cxroi_udfs.py from the registry."""
    if check:
        current = udf_module.UDF_PATH.read_text(encoding="utf-8") if udf_module.UDF_PATH.exists() else ""
        if current != udf_module.render():
            _fail(f"{udf_module.UDF_PATH} is stale: run `cxroi-xl udfs generate`", 1)
        console.print("UDF module is up to date")
        return
    console.print(f"wrote {udf_module.write()}")


@udfs_app.command("path")
def udfs_path() -> None:
    """Print the folder to add to xlwings' PYTHONPATH setting."""
    typer.echo(str(udf_module.UDF_DIR))


templates_app = typer.Typer(help="The template workbooks.", no_args_is_help=True)
app.add_typer(templates_app, name="templates")


@templates_app.command("build")
def templates_build(
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write to (default: the shipped workbook_templates/)."),
    mode: str = typer.Option("live", "--mode", help="live: add-in formulas in cells; values: their computed values (formulas kept in notes)."),
) -> None:
    """Rebuild the template workbooks from code (byte-identical run to run)."""
    from .workbooks.build import TEMPLATE_DIR, build_templates

    if mode not in ("live", "values"):
        _fail("--mode must be live or values")
    for path in build_templates(out or TEMPLATE_DIR, mode):
        console.print(f"wrote {path}")


def _run_generate(data_dir: Path, out: Path, template: str, mode: str, jobs: Optional[int], force: bool, dry_run: bool) -> int:
    import sys
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .batch import generate
    from .batch_input import InputError, read_batch

    started = time.perf_counter()
    try:
        batch = read_batch(data_dir)
    except InputError as exc:
        _fail(str(exc))
    for problem in batch.problems:
        where = f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "")
        err_console.print(f"[yellow]skipping[/yellow] {escape(problem.client_id)}: {escape(where)}: {escape(problem.message)}", highlight=False)
    total = len(batch.valid_client_ids())
    from .batch import TABLE_REQUIRED_BY_TEMPLATE
    from .workbooks.build import BUILDERS

    if template not in BUILDERS:
        _fail(f"unknown template {template}; choose from {', '.join(BUILDERS)}")
    if mode not in ("values", "live"):
        _fail("--mode must be values or live")
    needed = TABLE_REQUIRED_BY_TEMPLATE.get(template)
    if needed and needed not in batch.files:
        _fail(f"{needed}.csv: required by --template {template} ({needed}.csv or {needed}.xlsx in {data_dir})")
    if dry_run:
        console.print(f"dry run: {total} clients valid, {len(batch.failed)} with problems; nothing written")
        return 1 if batch.failed else 0
    show_bar = sys.stderr.isatty()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console, disable=not show_bar, transient=True) as progress:
        task = progress.add_task("workbooks", total=total)

        def advance(client_id: str, status: str) -> None:
            progress.advance(task)

        try:
            result = generate(data_dir, out, template=template, mode=mode, jobs=jobs, force=force, on_progress=advance, batch=batch)
        except (InputError, ValueError) as exc:
            _fail(str(exc))
    for problem in result.problems[len(batch.problems):]:
        err_console.print(f"[red]failed[/red] {escape(problem.client_id)}: {escape(problem.message)}", highlight=False)
    elapsed = time.perf_counter() - started
    console.print(
        f"{len(result.built)} built, {len(result.skipped)} up to date, {len(result.failed)} failed "
        f"in {elapsed:.1f} s -> {out}" + (f" (see {out / 'errors.csv'})" if result.failed else ""),
        highlight=False,
        markup=False,
    )
    return result.exit_code


@app.command("generate")
def generate_command(
    data_dir: Path = typer.Argument(..., help="Folder with clients, kpis and optionally costs, surveys (.csv or .xlsx)."),
    out: Path = typer.Option(..., "--out", help="Folder for the client workbooks, summary.csv, portfolio.xlsx, errors.csv."),
    template: str = typer.Option("cx_automation_roi", "--template", help="Template to fill."),
    mode: str = typer.Option("values", "--mode", help="values: open anywhere; live: add-in formulas for Excel with cxroi-xl."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Worker processes (default: number of cores)."),
    force: bool = typer.Option(False, "--force", help="Rebuild every workbook, even those up to date with their input (see manifest.json)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the input and report; write nothing."),
) -> None:
    """Generate one workbook per client plus a summary and a portfolio.

    Exit code 0: all clients built; 1: some failed (the others are written,
    see errors.csv); 2: unusable input (missing file or column, unreadable
    encoding) or output folder (the data folder, or one another run is using).
    """
    raise typer.Exit(_run_generate(data_dir, out, template, mode, jobs, force, dry_run))


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo_output"), "--out", help="Folder for everything the demo writes."),
    jobs: Optional[int] = typer.Option(None, "--jobs", help="Worker processes (default: number of cores)."),
) -> None:
    """Build the templates and a batch of client workbooks from the bundled sample data."""
    from .sample_data import write_sample_batch
    from .workbooks.build import build_templates

    bundled = Path(__file__).resolve().parent.parent / "examples" / "sample_clients"
    data_dir = bundled if (bundled / "clients.csv").exists() else write_sample_batch(out / "sample_clients")
    for mode in ("live", "values"):
        for path in build_templates(out / "templates" / mode, mode):
            console.print(f"template ({mode}): {path}")
    code = _run_generate(data_dir, out / "clients", "cx_automation_roi", "values", jobs, force=True, dry_run=False)
    console.print(f"open {out / 'clients' / 'portfolio.xlsx'} for the overview")
    raise typer.Exit(code)


@app.command("calc")
def calc_command(
    book: Path = typer.Argument(..., help="A workbook with add-in formulas (.xlsx), e.g. one made from a template."),
    out: Path = typer.Option(..., "-o", "--out", help="Where to write the values workbook (.xlsx); written whole or not at all."),
    max_mb: float = typer.Option(50.0, "--max-mb", help="Refuse input workbooks larger than this many megabytes."),
) -> None:
    """Replace add-in formulas with their values (formula kept in a cell note) so BOOK opens without the add-in."""
    from rich.markup import escape

    from .workbooks.safety import Limits, WorkbookError
    from .workbooks.values import calc_file

    try:
        report = calc_file(book, out, Limits(max_bytes=int(max_mb * 1024 * 1024)))
    except WorkbookError as exc:
        _fail(escape(str(exc)), 2)
    except OSError as exc:
        _fail(escape(f"{out}: not written: {exc}"), 1)
    except Exception as exc:  # a defect must still end in one clear line and no output file
        _fail(escape(f"{book}: calculation failed: {type(exc).__name__}: {exc}"), 1)
    console.print(escape(f"wrote {report.output}: {len(report.replaced)} add-in formula(s) replaced by their values"), highlight=False)
    for sheet, cell, formula, error, reason in report.errors:
        err_console.print(f"[yellow]note:[/yellow] {escape(f'{sheet}!{cell} {formula} gives {error}: {reason}')}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
