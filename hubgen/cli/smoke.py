"""`hubgen smoke`: load a converted folder like a user would, and check that it works."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hubgen.cli._common import Json, console, emit_json, epilog, steps
from hubgen.errors import SmokeTestError
from hubgen.native.repository import read_repository
from hubgen.smoke import run_smoke
from hubgen.smoke_report import SmokeReport

Folder = Annotated[Path, typer.Argument(help="A folder written by `hubgen convert`.")]


def print_report(report: SmokeReport) -> None:
    table = Table(title="Smoke tests (fresh process, trust_remote_code=True, hubgen not importable)")
    table.add_column("check")
    table.add_column("result")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        status = SmokeReport.status(check)
        status = {"pass": "[green]pass[/green]", "FAIL": "[red]FAIL[/red]"}.get(status, f"[yellow]{status}[/yellow]")
        table.add_row(check["name"], status, str(check["detail"]))
    console.print(table)
    if report.fill_mask:
        predictions = Table(title="masked sentences: top-1 token (masked LM) or written sentence (seq2seq)")
        predictions.add_column("sentence")
        predictions.add_column("LSG")
        if report.agreement:
            predictions.add_column("base")
        for row in report.fill_mask:
            cells = [row["sentence"], str(row["lsg"])] + ([str(row.get("base"))] if report.agreement else [])
            predictions.add_row(*cells)
        console.print(predictions)
    if report.agreement:
        agreeing, compared = report.agreement
        console.print(f"Agreement with the base model: {agreeing}/{compared}")


def smoke_command(
    folder: Folder,
    base: Annotated[
        str | None,
        typer.Option(
            help="Base checkpoint (folder or cached Hub id) whose task is compared (default: the one converted)."
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Language of the built-in fill-mask sentences: en or fr.")
    ] = None,
    sentence: Annotated[
        list[str] | None, typer.Option(help="A fill-mask sentence with {mask} where the mask goes (repeatable).")
    ] = None,
    json_output: Json = False,
) -> None:
    """In a fresh process: load and run every declared Auto class, compare the base model's own task (fill-mask,
    classification, question answering, sentence embeddings, generation) with the base on short inputs, and run near
    the maximum length; exits non-zero if anything fails."""
    with steps(not json_output) as report:
        report("running the smoke tests in a fresh process")
        result = run_smoke(read_repository(folder), base, language, sentence)
    if json_output:
        emit_json(result.to_dict())
    else:
        print_report(result)
    if not result.ok:
        failed = ", ".join(check["name"] for check in result.checks if not check["ok"])
        raise SmokeTestError(f"smoke tests failed: {failed}", "see the table above")


SMOKE_EXAMPLES = epilog(
    "hubgen smoke lsg-distilbert-4096",
    "hubgen smoke out/ --sentence 'The contract ends in {mask}.' --base ./my-bert",
    "hubgen smoke out/ --json > smoke.json",
)
