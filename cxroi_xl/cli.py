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

from . import reference, registry, udf_module

app = typer.Typer(
    help="Measure what customer-experience automation returns: Excel functions, templates, client workbooks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
udfs_app = typer.Typer(help="The xlwings module that puts the functions into Excel.", no_args_is_help=True)
app.add_typer(udfs_app, name="udfs")

console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


@app.command("functions")
def functions_command(
    markdown: bool = typer.Option(False, "--markdown", help="Print the Markdown function reference (as in the README)."),
    write_readme: Optional[Path] = typer.Option(None, "--write-readme", help="Replace the reference block in this README file."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable list: name, signature, summary, arguments."),
) -> None:
    """List the Excel functions with their arguments and help."""
    if write_readme is not None:
        text = write_readme.read_text(encoding="utf-8")
        begin, end = reference.REFERENCE_BEGIN, reference.REFERENCE_END
        if begin not in text or end not in text:
            _fail(f"{write_readme}: no function reference markers to replace")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        write_readme.write_text(head + reference.markdown() + tail, encoding="utf-8")
        console.print(f"updated the function reference in {write_readme}")
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
