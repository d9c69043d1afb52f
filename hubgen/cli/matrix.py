"""`hubgen matrix`: the rebuild matrix of CI, printed for a workflow or run here with tiny checkpoints."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hubgen.cli._common import console, epilog, steps
from hubgen.errors import HubgenError
from hubgen.matrix import github_matrix, load_matrix
from hubgen.offline.local_matrix import run_local_matrix


def matrix_command(
    file: Annotated[
        Path | None, typer.Option(help='JSON list of {"type", "base", "max_length"} replacing the default matrix.')
    ] = None,
    local: Annotated[
        bool,
        typer.Option(help="Run every entry here: a tiny checkpoint of its type, convert, smoke, push to a local Hub."),
    ] = False,
    workdir: Annotated[Path | None, typer.Option(help="With --local: keep bases, Hub storage and logs here.")] = None,
) -> None:
    """Print the rebuild matrix as JSON for a CI `strategy.matrix`, or run it locally with --local."""
    entries = load_matrix(file)
    if not local:
        print(json.dumps(github_matrix(entries)))
        return
    with steps() as report:
        runs = run_local_matrix(entries, Path(workdir or tempfile.mkdtemp(prefix="hubgen-matrix-")), report)
    table = Table(title="Rebuild matrix, run locally with tiny checkpoints")
    for column in ("entry", "result", "smoke checks", "detail"):
        table.add_column(column, overflow="fold")
    for run in runs:
        if run.ok:
            checks = run.result.smoke.checks
            agreement = run.result.smoke.agreement
            detail = (
                f"agreement with the base {agreement[0]}/{agreement[1]}"
                if agreement
                else (run.result.smoke.summary or "")
            )
            passed = sum(check.get("status", "pass") == "pass" for check in checks)
            table.add_row(run.entry.name, "[green]published[/green]", f"{passed} of {len(checks)} passed", detail)
        else:
            table.add_row(run.entry.name, "[red]FAILED[/red]", "", run.error)
    console.print(table)
    failed = [run.entry.name for run in runs if not run.ok]
    if failed:
        raise HubgenError(f"{len(failed)} matrix entries failed: {', '.join(failed)}", "see the table above")


MATRIX_EXAMPLES = epilog("hubgen matrix", "hubgen matrix --file my-matrix.json", "hubgen matrix --local")
