"""`cxroi-xl`: the command line.

Exit codes scripts can trust: 0 success, 1 some work failed (the rest is
done), 2 usage or whole-input error.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import List, Literal, Optional, get_args

# The command's numpy work is many small matrices (a client's months), on
# which a BLAS thread pool mostly spins: one thread per process cuts
# `generate`'s processor time by a third (measured on a mixed portfolio),
# and `generate --jobs` runs a process per core anyway. Set before numpy is
# first imported, inherited by the pool's workers; a user's own setting
# wins.
for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

import typer
from rich.console import Console
from rich.markup import escape

from .excel import registry

# Every example here and in the README is run by tests/test_cli.py.
EXAMPLES = """Examples:

\b
  cxroi-xl functions
  cxroi-xl eval CXNPV 0.08 -40000,8000,9200
  cxroi-xl eval CXPAYBACK -- -100,30,40,50
  cxroi-xl templates build --out my_templates --mode values
  cxroi-xl generate examples/sample_clients --out clients --dry-run
  cxroi-xl demo --out demo_output
"""
# The choices --template and --mode accept, checked before any data is read
# (tests/test_cli.py checks TEMPLATES against the registered builders).
TemplateName = Literal["cx_automation_roi", "customer_value", "attribution"]
TEMPLATES = get_args(TemplateName)
ModeName = Literal["values", "live"]
ExecutorName = Literal["local", "dask"]

# Plain help (rich_markup_mode=None): typer's rich help shows every flag as
# "--force <bool>"; the plain one shows "--force" and lists choices.
app = typer.Typer(
    help="Measure what customer-experience automation returns: Excel functions, templates, client workbooks.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
udfs_app = typer.Typer(help="The xlwings module that puts the functions into Excel.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(udfs_app, name="udfs")

console = Console(soft_wrap=True, markup=False)
err_console = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _print_version(given: bool) -> None:
    if given:
        from . import __version__

        typer.echo(f"cxroi-xl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
) -> None:
    # the app's help is Typer(help=...); this only adds the options every command shares
    pass


def _unknown_function(name: str) -> None:
    """Exit 2 for a function name the registry does not know, with the
    names it resembles."""
    import difflib

    close = difflib.get_close_matches(name.upper(), list(registry.functions()), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close[:-1]) + ' or ' if len(close) > 1 else ''}{close[-1]}?" if close else ""
    _fail(f"unknown function {name}{hint} (see `cxroi-xl functions`)")


@app.command("functions")
def functions_command(
    name: Optional[str] = typer.Argument(None, metavar="NAME", help="One function, e.g. CXROI: its full help (arguments with type, unit and default, result, example)."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown function reference (as in the README)."),
    write_readme: Optional[Path] = typer.Option(None, "--write-readme", help="Rebuild the generated blocks (function reference, workbook guide) of this README file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list: name, signature, summary, arguments."),
) -> None:
    """List the Excel functions with their arguments and help, or one function's full help.

    \b
    cxroi-xl functions
    cxroi-xl functions CXROI
    """
    if name is not None:
        if name.upper() not in registry.functions():
            _unknown_function(name)
        typer.echo(registry.get(name).full_help())
        return
    from .excel import reference

    if write_readme is not None:
        from .workbooks.roi_template import start_here_markdown

        try:
            write_readme.write_text(reference.update_readme(write_readme.read_text(encoding="utf-8"), start_here_markdown()), encoding="utf-8")
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
                "args": [{"name": a.name, "kind": a.kind, "help": a.help, "unit": a.unit, "optional": a.optional, "default": a.shown_default} for a in fn.args],
            }
            for fn in registry.functions().values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(reference.markdown() if markdown else reference.plain())


# ignore_unknown_options: a negative number such as -40000,8000 is an
# argument, not an option (`--` before the arguments works too).
@app.command("eval", context_settings={"ignore_unknown_options": True})
def eval_command(
    name: str = typer.Argument(..., help="Function name, e.g. CXNPV."),
    args: List[str] = typer.Argument(None, help="Arguments: a number, text, or comma-separated list for a range."),
) -> None:
    """Evaluate one function from the shell.

    \b
    cxroi-xl eval CXNPV 0.08 -40000,8000,9200
    cxroi-xl eval CXROI 1000,1200 800,100 0.01
    """
    if name.upper() not in registry.functions():
        _unknown_function(name)
    parsed = [_parse_cli_value(a) for a in (args or [])]
    from .excel.dispatch import ArgumentError, ExcelError, call, check_arguments

    fn = registry.get(name)
    try:
        # the very check a cell gets (#VALUE! there); here a usage error
        check_arguments(fn, parsed)
    except ArgumentError as exc:
        err_console.print(f"[red]error:[/red] {escape(f'{fn.name}: {exc}')}", highlight=False)
        err_console.print(escape(f"usage: {fn.signature()}; see `cxroi-xl functions {fn.name}`"), highlight=False)
        raise typer.Exit(2)
    result = call(fn.name, *parsed)
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
            number = float(item)
        except ValueError:
            return item
        # float() also reads "nan", "inf" and "infinity": those are words, and
        # a word in a cell is text (#VALUE! where a number belongs), never a blank
        return number if math.isfinite(number) else item

    if "," in text:
        return [[one(item)] for item in text.split(",")]
    return one(text)


@udfs_app.command("generate")
def udfs_generate(check: bool = typer.Option(False, "--check", help="Exit 1 if the module is stale instead of writing it.")) -> None:
    """Regenerate udfs/cxroi_udfs.py from the registry."""
    from .excel import udf_module

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
    from .excel import udf_module

    typer.echo(str(udf_module.UDF_DIR))


@app.command("lite")
def lite_command(
    out: Path = typer.Option(Path("cxroi_lite"), "--out", help="Folder for main.py, requirements.txt, README-lite.md (and the wheel); an empty or new folder, or one this command wrote before."),
    wheel_url: Optional[str] = typer.Option(None, "--wheel-url", help="Host the engine as a wheel at this https:// URL instead of carrying it inside main.py; a URL ending in / gets the wheel's file name."),
    help_url: Optional[str] = typer.Option(None, "--help-url", help="Help page Excel links from each function; {name} becomes the function's name."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that holds other files (ours are replaced, the rest left alone)."),
) -> None:
    """Write the add-in for xlwings Lite (Excel on Windows, macOS and the web): main.py, requirements.txt and README-lite.md with the steps.

    Exit code 2 when it cannot: a folder holding files it did not write (without --force), a URL that is not https://, an incomplete install.
    """
    from .excel import lite

    try:
        written = lite.write(out, wheel_url=wheel_url, help_url=help_url, force=force)
    except lite.LiteError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(f"{out}: {exc}", 1)
    for path in written.values():
        console.print(f"wrote {path}")
    console.print(f"next: follow {written['readme']}")


excel_app = typer.Typer(help="The classic Excel add-in (Windows).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(excel_app, name="excel")


@excel_app.command("install")
def excel_install(global_location: bool = typer.Option(False, "--global", help="Install for every user (Excel's own XLSTART folder).")) -> None:
    """Install the cxroi add-in into Excel on Windows, functions imported, so every workbook can use them.

    Exit code 2 where classic Excel add-ins cannot run (macOS, Linux): use `cxroi-xl lite` there.
    """
    from .excel import windows_addin

    try:
        path = windows_addin.install(global_location)
    except windows_addin.UnsupportedPlatform as exc:
        _fail(str(exc), 2)
    except windows_addin.VbaNotConverted as exc:
        _fail(f"not installed: {exc}", 1)
    except Exception as exc:  # COM refusals: Trust Center, Excel busy...
        _fail(f"installing the add-in failed: {type(exc).__name__}: {exc}. In Excel, enable File > Options > Trust Center > "
              "Macro Settings > 'Trust access to the VBA project object model' and try again", 1)
    console.print(f"installed {path}; restart Excel, then type =CXROI( in any cell (rerun this after upgrading cxroi-xl)")


templates_app = typer.Typer(help="The template workbooks.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(templates_app, name="templates")


@templates_app.command("build")
def templates_build(
    out: Optional[Path] = typer.Option(None, "--out", metavar="DIR", help="Folder to write to (default: the shipped workbook_templates/)."),
    mode: ModeName = typer.Option("live", "--mode", help="live: add-in formulas in cells; values: their computed values (formulas kept in notes)."),
) -> None:
    """Rebuild the template workbooks from code (byte-identical run to run)."""
    from .workbooks.build import TEMPLATE_DIR, build_templates

    if mode not in ("live", "values"):
        _fail("--mode must be live or values")
    for path in build_templates(out or TEMPLATE_DIR, mode):
        console.print(f"wrote {path}")


def _missing_fx(report_currency: str, where: str) -> str:
    return (f"fx.csv: not found in {where}; --report-currency {report_currency} converts the portfolio's totals "
            f"with its rates (fx.csv or fx.xlsx, columns currency, rate: units of {report_currency} per unit)")


def _run_generate(data_dir: Path, out: Path, template: str, mode: str, jobs: Optional[int], force: bool, dry_run: bool, report_currency: Optional[str] = None) -> int:
    """``report_currency`` None: not asked for (totals in USD when fx.csv is there)."""
    import time

    from .batch.run import ClientProgress, generate
    from .batch.read import read_batch
    from .batch.tables import InputError

    started = time.perf_counter()
    if report_currency is not None and data_dir.is_dir() and not any((data_dir / f"fx{suffix}").is_file() for suffix in (".csv", ".xlsx")):
        _fail(_missing_fx(report_currency, str(data_dir)))
    try:
        batch = read_batch(data_dir)
    except InputError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted while reading the input; nothing was written", 130)
    for problem in batch.problems:
        where = f"{problem.file}" + (f" row {problem.row}" if problem.row else "") + (f", column {problem.column}" if problem.column else "")
        err_console.print(f"[yellow]skipping[/yellow] {escape(problem.client_id)}: {escape(where)}: {escape(problem.message)}", highlight=False)
    total = len(batch.valid_client_ids())
    from .batch.run import TABLE_REQUIRED_BY_TEMPLATE
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
    # a bar on a terminal, else one flushed line per client: never silent when piped
    with ClientProgress(total, console=console) as progress:
        try:
            result = generate(data_dir, out, template=template, mode=mode, jobs=jobs, force=force, on_progress=progress, batch=batch, report_currency=report_currency or "USD")
        except (InputError, ValueError) as exc:
            _fail(str(exc))
    for problem in result.problems[len(batch.problems):]:
        err_console.print(f"[red]failed[/red] {escape(problem.client_id)}: {escape(problem.message)}", highlight=False)
    report_set_aside(result.set_aside, out)
    elapsed = time.perf_counter() - started
    if result.interrupted:
        err_console.print(
            f"[yellow]stopped[/yellow] by {escape(result.interrupted)}: {len(result.built)} built, {len(result.skipped)} up to date, "
            f"{len(result.failed)} failed, {len(result.left)} not built yet (their previous workbooks, if any, are kept); "
            f"summary.csv, portfolio.xlsx and manifest.json describe exactly the workbooks in {escape(str(out))}; rerun to continue",
            highlight=False,
        )
        return result.exit_code
    console.print(
        f"{len(result.built)} built, {len(result.skipped)} up to date, {len(result.failed)} failed "
        f"in {elapsed:.1f} s -> {out}" + (f" (see {out / 'errors.csv'})" if result.failed else ""),
        highlight=False,
        markup=False,
    )
    return result.exit_code


def report_set_aside(moves: List[str], out) -> None:
    """Files in OUT a run did not write (or that changed since it wrote
    them), which it moved to stale/ instead of writing over them."""
    for move in moves:
        err_console.print(f"[yellow]kept[/yellow] {escape(move)} in {escape(str(out))}: generate replaces only files it wrote", highlight=False)


def _currency_code(code: Optional[str]) -> Optional[str]:
    if code is None:  # not given: no fx.csv needed
        return None
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise typer.BadParameter(f"expected a three-letter ISO 4217 code such as USD, got {code!r}")
    return code


@app.command("generate")
def generate_command(
    data_dir: Path = typer.Argument(..., metavar="DATA_DIR", help="Folder with clients, kpis and optionally costs, surveys, transactions, journeys (.csv or .xlsx)."),
    out: Path = typer.Option(..., "--out", metavar="OUT_DIR", help="Folder for the client workbooks, summary.csv, portfolio.xlsx, errors.csv."),
    template: TemplateName = typer.Option("cx_automation_roi", "--template", help="Template to fill: the ROI workbook, customer value (needs transactions) or attribution (needs journeys)."),
    mode: ModeName = typer.Option("values", "--mode", help="values: open anywhere; live: add-in formulas for Excel with cxroi-xl."),
    jobs: Optional[int] = typer.Option(None, "--jobs", metavar="N", help="Worker processes (default: number of cores)."),
    force: bool = typer.Option(False, "--force", help="Rebuild every workbook, even those up to date with their input (see manifest.json)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate the input and report; write nothing."),
    report_currency: Optional[str] = typer.Option(None, "--report-currency", metavar="CODE", callback=_currency_code, help="Currency of the portfolio's converted totals, with the rates of fx.csv in DATA_DIR (columns currency, rate: units of CODE per unit); needs that file. Without it, an fx.csv there converts to USD."),
    executor: ExecutorName = typer.Option("local", "--executor", help="local: this machine's cores; dask: a Dask cluster, reading Parquet input (needs the [dask] extra)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS", help="With --executor dask: the scheduler's address; default a LocalCluster here."),
    scheduler_timeout: float = typer.Option(30.0, "--scheduler-timeout", min=0.1, metavar="SECONDS", help="With --scheduler: how long to wait for the scheduler to answer before giving up (exit 2)."),
) -> None:
    """Generate one workbook per client plus a summary and a portfolio.

    Exit code 0: all clients built; 1: some failed (the others are written,
    see errors.csv); 2: unusable input (missing file or column, unreadable
    encoding) or output folder (the data folder, or one another run is using).
    """
    if executor == "dask":
        raise typer.Exit(_run_generate_dask(_url_or_path(data_dir), _url_or_path(out), template, mode, scheduler, force, dry_run, scheduler_timeout, report_currency))
    raise typer.Exit(_run_generate(data_dir, out, template, mode, jobs, force, dry_run, report_currency))


def _url_or_path(path: Path) -> str:
    """An fsspec URL given where a Path is parsed (``s3://b/x`` became ``s3:/b/x``) restored."""
    import re

    text = str(path)
    found = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", text)
    if found and found.group(1).lower() == "file":
        return "file://" + text[found.end() - 1 :]  # file:///abs/path (a Path keeps file:/abs/path): the path stays absolute
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+):/(?!/)", r"\1://", text)


def _run_generate_dask(data: str, out: str, template: str, mode: str, scheduler: Optional[str], force: bool = False, dry_run: bool = False, scheduler_timeout: float = 30.0, report_currency: Optional[str] = None) -> int:
    from .batch.tables import InputError

    try:
        from .batch.dask_executor import run_command
    except ImportError as exc:
        _fail(f"--executor dask needs the cxroi-xl[dask] extra ({exc.name} is not installed)")
    if report_currency is not None:
        import fsspec

        try:
            fs, root = fsspec.core.url_to_fs(data)
            readable = fs.isdir(root.rstrip("/"))  # if not, the executor says what is wrong with DATA_DIR
            found = readable and any(fs.isfile(f"{root.rstrip('/')}/fx{suffix}") for suffix in (".csv", ".xlsx", ".parquet"))
        except (OSError, ValueError):
            readable = found = False
        if readable and not found:
            _fail(_missing_fx(report_currency, data))
        if readable:  # the cluster's portfolio has no converted totals: refuse rather than ignore the option
            _fail(f"--report-currency {report_currency}: --executor dask writes no converted totals yet; run with --executor local for them")
    try:
        return run_command(data, out, template, mode, scheduler, console, err_console, force=force, dry_run=dry_run, connect_timeout=scheduler_timeout)
    except InputError as exc:
        _fail(str(exc))


@app.command("demo")
def demo_command(
    out: Path = typer.Option(Path("demo_output"), "--out", metavar="DIR", help="Folder for everything the demo writes."),
    jobs: Optional[int] = typer.Option(None, "--jobs", metavar="N", help="Worker processes (default: number of cores)."),
) -> None:
    """Build the templates and client workbooks of every kind from the bundled sample data.

    Writes OUT/templates/{live,values}/ (the three templates),
    OUT/cx_automation_roi/ (every sample client), OUT/customer_value/ and
    OUT/attribution/ (the clients with orders or journeys), each with its
    summary.csv and portfolio.xlsx.
    """
    from .workbooks.sample_data import clients_with, write_sample_batch
    from .workbooks.build import build_templates

    bundled = Path(__file__).resolve().parent.parent / "examples" / "sample_clients"
    data_dir = bundled if (bundled / "clients.csv").exists() else write_sample_batch(out / "sample_data" / "all_clients")
    for mode in ("live", "values"):
        for path in build_templates(out / "templates" / mode, mode):
            console.print(f"template ({mode}): {path}")
    codes = [_run_generate(data_dir, out / "cx_automation_roi", "cx_automation_roi", "values", jobs, force=True, dry_run=False)]
    # The other templates need orders or journeys, which only some clients have.
    for template, table in (("customer_value", "transactions"), ("attribution", "journeys")):
        subset = out / "sample_data" / f"clients_with_{table}"
        clients_with(data_dir, table, subset)
        codes.append(_run_generate(subset, out / template, template, "values", jobs, force=True, dry_run=False))
    console.print(f"open {out / 'cx_automation_roi' / 'portfolio.xlsx'} for the overview")
    raise typer.Exit(max(codes))


@app.command("calc")
def calc_command(
    book: Path = typer.Argument(..., metavar="BOOK", help="A workbook with add-in formulas (.xlsx), e.g. one made from a template."),
    out: Path = typer.Option(..., "-o", "--out", metavar="OUT", help="Where to write the values workbook (.xlsx); written whole or not at all."),
    max_mb: float = typer.Option(50.0, "--max-mb", metavar="MB", help="Refuse input workbooks larger than this many megabytes."),
    time_limit: float = typer.Option(120.0, "--time-limit", min=0.1, metavar="SECONDS", help="Seconds the whole workbook may take; formulas not computed by then show #VALUE! with the reason."),
) -> None:
    """Replace add-in formulas with their values (formula kept in a cell note) so BOOK opens without the add-in.

    Exit code 0: every formula cell has a value that is not an error; 1:
    some formula cells (add-in or Excel's own) end in an error (listed:
    sheet, cell, error, reason; the workbook is still written); 2: unusable
    input (missing, not an .xlsx, encrypted, oversized).
    Data checks (text or blank cells in the number columns of a tracker's
    Baseline and Post-automation tables, which its SUMs skip as Excel's do)
    are listed as warnings and do not change the exit code.
    """
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        # checked before any work: the output is an Excel workbook, whatever BOOK holds
        _fail(f"{out}: -o must name an .xlsx workbook (or .xlsm for a macro-enabled BOOK), not {out.suffix or 'a name without an extension'}")
    from rich.markup import escape

    from .calc.limits import Budget
    from .calc.safety import Limits, WorkbookError
    from .calc.workbook import calc_file

    try:
        report = calc_file(book, out, Limits(max_bytes=int(max_mb * 1024 * 1024)), Budget(seconds=time_limit))
    except WorkbookError as exc:
        _fail(escape(str(exc)), 2)
    except OSError as exc:
        _fail(escape(f"{out}: not written: {exc}"), 1)
    except Exception as exc:  # a defect must still end in one clear line and no output file
        _fail(escape(f"{book}: calculation failed: {type(exc).__name__}: {exc}".splitlines()[0]), 1)
    console.print(escape(f"wrote {report.output}: {len(report.replaced)} add-in formula(s) replaced by their values"), highlight=False)
    for cells, what in ((report.kept, "keep the values the file saved"), (report.not_computed, "show #NAME? (the file saved no value)")):
        if cells:
            shown = ", ".join(f"{sheet}!{cell}" for sheet, cell in cells[:5]) + (f" and {len(cells) - 5} more" if len(cells) > 5 else "")
            err_console.print(f"[yellow]not computed here:[/yellow] {escape(f'{len(cells)} formula(s) use functions this calculation does not know and {what}; Excel recalculates them on open: {shown}')}", highlight=False)
    for sheet, cell, found in report.checks:
        err_console.print(f"[yellow]data check:[/yellow] {escape(f'{sheet}!{cell}: {found} in a number column (skipped by the sums)')}", highlight=False)
    if report.checks:
        err_console.print(escape(f"{len(report.checks)} data check warning(s): text or blank cells in number columns"), highlight=False)
    # the add-in's errors (explained in the cells' notes), then those of Excel's own formulas
    errors = report.errors + report.formula_errors
    for sheet, cell, formula, error, reason in errors:
        shown = formula if len(formula) <= 60 else formula[:57] + "..."
        line = f"{sheet}!{cell} {error}" + (f": {reason}" if reason else "") + f" (formula {shown})"
        err_console.print(f"[red]cell error:[/red] {escape(line.replace(chr(10), ' '))}", highlight=False)
    if errors:
        noted = f"; see the notes in {report.output}" if report.errors else ""
        err_console.print(escape(f"{len(errors)} cell(s) ended in an error{noted}"), highlight=False)
        raise typer.Exit(1)


@app.command("migrate")
def migrate_command(
    old: Path = typer.Argument(..., metavar="OLD", help="A workbook made from a template of an earlier cxroi-xl (.xlsx), filled in."),
    out: Path = typer.Option(..., "-o", "--out", metavar="NEW", help="Where to write the current template holding OLD's inputs and tables (.xlsx); written whole or not at all, never over OLD."),
    mode: ModeName = typer.Option("live", "--mode", help="live: add-in formulas in cells; values: their computed values (formulas kept in notes)."),
    drop: Optional[List[str]] = typer.Option(None, "--drop", metavar="ITEM", help="Leave ITEM out on purpose, named as a refusal names it (ValuePerWin, Baseline[notes], sheet:Notes); repeatable."),
    max_mb: float = typer.Option(50.0, "--max-mb", metavar="MB", help="Refuse input workbooks larger than this many megabytes."),
) -> None:
    """Copy the inputs and table rows of OLD, made by an earlier release, into the current template.

    Inputs are found by their names (DiscountRate...), table rows by their
    column headers, wherever OLD had them; new inputs keep the template's
    defaults. What the current template has no place for (an input that
    is gone, a column, table or sheet of your own, a typed value over a
    calculated cell) is refused with the reason: nothing is written until
    you correct OLD or name the item with --drop (for instance
    migrate tracker.xlsx -o tracker_v2.xlsx --drop ValuePerWin).

    Exit code 0: migrated; 2: OLD unknown, unreadable or holding what has
    no place (each item listed), or NEW is OLD; 1: NEW could not be written.
    """
    if out.suffix.lower() != ".xlsx":
        _fail(f"{out}: -o must name an .xlsx workbook, not {out.suffix or 'a name without an extension'}")
    from .calc.migrate import CannotMigrate, migrate_file
    from .calc.safety import Limits, WorkbookError

    try:
        report = migrate_file(old, out, mode, tuple(drop or ()), Limits(max_bytes=int(max_mb * 1024 * 1024)))
    except CannotMigrate as exc:
        err_console.print(f"[red]error:[/red] {escape(f'{exc.path}: cannot be migrated without losing what it holds; nothing written:')}", highlight=False)
        for problem in exc.problems:
            err_console.print(f"  {escape(str(problem))}", highlight=False)
        raise typer.Exit(2)
    except WorkbookError as exc:
        _fail(str(exc), 2)
    except OSError as exc:
        _fail(f"{out}: not written: {exc}", 1)
    except Exception as exc:  # a defect must still end in one clear line and no output file
        _fail(f"{old}: migration failed: {type(exc).__name__}: {exc}".splitlines()[0], 1)
    console.print(f"read {report.source}: {report.template}, made with {report.layout}", highlight=False)
    console.print("copied tables: " + (", ".join(f"{name} {rows} row(s)" for name, rows in report.tables) or "none"), highlight=False)
    console.print(f"copied inputs ({len(report.inputs)}): " + (", ".join(report.inputs) or "none"), highlight=False)
    if report.defaults:
        console.print("left at the template's defaults: " + "; ".join(report.defaults), highlight=False)
    for line in report.dropped:
        err_console.print(f"[yellow]dropped:[/yellow] {escape(line)}", highlight=False)
    for line in report.notes:
        console.print(f"note: {line}", highlight=False)
    source = "computed by the workbook interpreter" if report.recalculated else "from the engine"
    console.print(f"wrote {report.output} ({report.mode}; formula values {source})", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
