"""`hubgen upgrade`: new code for an existing LSG repository, its weights untouched, as one commit or pull request."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hubgen.cli._common import Json, Token, console, emit_json, epilog, steps
from hubgen.cli.smoke import print_report
from hubgen.errors import InvalidInputError
from hubgen.upgrade import SurveyRow, UpgradeRequest, UpgradeResult, survey, upgrade


def _result_json(result: UpgradeResult) -> dict[str, Any]:
    push, weights = result.push, result.weights
    return {
        "source": result.source,
        "repo_id": result.repo_id,
        "type": result.model_type.name,
        "up_to_date": result.up_to_date,
        "changes": [{"path": c.path, "added": c.added, "reason": c.reason} for c in result.changes],
        "weights": None
        if weights is None
        else {"class": weights.class_name, "missing": list(weights.missing), "unexpected": list(weights.unexpected)},
        "smoke": result.smoke.to_dict() if result.smoke else None,
        "written": result.written,
        "open_pull_request": result.open_pull_request,
        "pushed": None
        if push is None
        else {"url": push.url, "commit": push.commit, "pr_url": push.pr_url, "changed": push.changed},
    }


def _print_result(result: UpgradeResult, dry_run: bool) -> None:
    if result.up_to_date:
        console.print(f"[green]Up to date[/green]: {result.source} needs no upgrade (nothing was written).")
        return
    if result.smoke:
        print_report(result.smoke)
    table = Table(title=f"Changes to {result.source} ({result.model_type.name})")
    table.add_column("file")
    table.add_column("why", overflow="fold")
    for change in result.changes:
        table.add_row(change.path + (" (new)" if change.added else ""), change.reason)
    console.print(table)
    if result.weights and result.weights.exact:
        console.print(f"Weights: every tensor loads into {result.weights.class_name}; their files keep their bytes.")
    push = result.push
    if dry_run:
        console.print("[yellow]Dry run:[/yellow] nothing was written or pushed.")
    elif result.written:
        console.print(f"[green]Upgraded[/green] {result.source} in place.")
    elif result.open_pull_request:
        console.print(
            f"[green]Already proposed[/green]: {result.open_pull_request} holds this upgrade (no new commit)."
        )
    elif push and push.pr_url:
        console.print(f"[green]Opened a pull request:[/green] {push.pr_url}")
    elif push:
        console.print(f"[green]Upgraded[/green] {push.url}" if push.changed else f"Already up to date: {push.url}")


def _print_survey(organisation: str, rows: list[SurveyRow]) -> None:
    table = Table(title=f"LSG repositories of {organisation}")
    for column in ("repository", "type", "status", "files the upgrade writes"):
        table.add_column(column)
    for row in rows:
        status = "[green]up to date[/green]" if row.up_to_date else "[yellow]needs upgrade[/yellow]"
        table.add_row(row.repo_id, row.model_type, status, ", ".join(row.changes))
    console.print(table)
    waiting = [row.repo_id for row in rows if not row.up_to_date]
    if waiting:
        console.print(f"{len(waiting)} of {len(rows)} need `hubgen upgrade REPO` (it checks the weights first).")


def upgrade_command(
    source: Annotated[
        str | None, typer.Argument(help="An LSG repository on the Hub (org/name) or a local folder.")
    ] = None,
    revision: Annotated[str | None, typer.Option(help="Branch to read and to commit to (default: main).")] = None,
    create_pr: Annotated[
        bool | None,
        typer.Option(
            "--create-pr/--no-create-pr",
            help="Open a pull request instead of committing (default: only when the token cannot write there).",
        ),
    ] = None,
    commit_message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Check everything (weights, smoke tests) and show the changes; write nothing.")
    ] = False,
    resave_weights: Annotated[
        bool,
        typer.Option(
            help="When stored tensors do not load exactly, re-save the weights as hubgen's class loads them."
        ),
    ] = False,
    list_organisation: Annotated[
        str | None,
        typer.Option(
            "--list", metavar="ORG", help="Report which LSG repositories of ORG need an upgrade; change none."
        ),
    ] = None,
    token: Token = None,
    json_output: Json = False,
) -> None:
    """Give an existing LSG repository hubgen's modeling code, so that it loads on transformers 4.40 to 5.x.

    Writes the new modeling file, the config.json entries it needs and a section of the card; every other file keeps
    its bytes, and the weights must load with nothing missing or unexpected. Smoke-tested in a fresh process before
    anything is pushed; one commit, or a pull request when the token cannot write to the repository.
    """
    if (source is None) == (list_organisation is None):
        raise InvalidInputError("pass a repository or folder, or --list ORG", "e.g. `hubgen upgrade org/lsg-model`")
    if list_organisation:
        with steps(not json_output) as report:
            report(f"reading the repositories of {list_organisation}")
            rows = survey(list_organisation, token)
        if json_output:
            emit_json([{"repo_id": r.repo_id, "type": r.model_type, "changes": r.changes} for r in rows])
        else:
            _print_survey(list_organisation, rows)
        return
    request = UpgradeRequest(source, revision, create_pr, commit_message, dry_run, token, resave_weights)
    with steps(not json_output) as report:
        result = upgrade(request, report)
    if json_output:
        emit_json(_result_json(result))
    else:
        _print_result(result, dry_run)


UPGRADE_EXAMPLES = epilog(
    "hubgen upgrade ccdv/lsg-bart-base-4096 --dry-run",
    "hubgen upgrade my-org/lsg-roberta-base-4096",
    "hubgen upgrade someone/lsg-model --create-pr --commit-message 'Load on transformers 5'",
    "hubgen upgrade ./lsg-bert-4096",
    "hubgen upgrade --list ccdv",
)
