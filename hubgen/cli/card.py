"""`hubgen card`: README.md of a converted folder, with its smoke-test results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hubgen.cli._common import Json, console, emit_json, epilog, steps
from hubgen.native.card import write_any_card
from hubgen.native.repository import read_repository
from hubgen.smoke import run_smoke
from hubgen.smoke_report import SmokeReport

Folder = Annotated[Path, typer.Argument(help="A folder written by `hubgen convert`.")]


def card_command(
    folder: Folder,
    smoke_results: Annotated[
        Path | None,
        typer.Option(help="JSON written by `hubgen smoke --json`; without it the smoke tests are run now."),
    ] = None,
    repo_id: Annotated[str | None, typer.Option(help="Repository id used in the card's examples.")] = None,
    json_output: Json = False,
) -> None:
    """Write FOLDER/README.md: metadata (base model, license, language, tags), usage, parameters, examples and the
    smoke-test results, for this model's actual settings."""
    repository = read_repository(folder)
    with steps(not json_output) as report:
        if smoke_results is None:
            report("running the smoke tests in a fresh process")
            smoke = run_smoke(repository)
        else:
            smoke = SmokeReport.from_dict(json.loads(smoke_results.read_text()))
        report("writing the model card")
        path = write_any_card(repository, smoke=smoke, repo_id=repo_id)
    if json_output:
        emit_json({"path": str(path), "smoke_ok": smoke.ok})
    else:
        console.print(f"Wrote [bold]{path}[/bold]" + ("" if smoke.ok else " [red](smoke tests failed)[/red]"))


CARD_EXAMPLES = epilog(
    "hubgen card lsg-distilbert-4096",
    "hubgen smoke out/ --json > smoke.json && hubgen card out/ --smoke-results smoke.json",
)
