"""`hubgen publish`: the whole job, from a base checkpoint to a tested repository on the Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from hubgen.cli._common import Json, MaxLen, Revision, console, emit_json, epilog, print_warning, steps
from hubgen.cli.conversion_options import conversion_request, with_conversion_options
from hubgen.cli.convert import Base, summary
from hubgen.cli.smoke import print_report
from hubgen.errors import HubgenError, InvalidInputError
from hubgen.publish import PublishRequest, PublishResult, SmokeFailure, publish
from hubgen.redaction import redact
from hubgen.smoke_report import SmokeReport


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(redact(text))


def _check_writable(path: Path) -> None:
    """The summary file must take the report before anything is pushed: a push is not undone for a typo."""
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as error:
        raise InvalidInputError(
            f"cannot write the summary to {path} ({error.strerror})", "choose a file in an existing, writable folder"
        ) from None


def _result_json(result: PublishResult) -> dict:
    push = result.push
    return {
        "repo_id": result.repo_id,
        "url": push.url if push else None,
        "dry_run": push is None,
        "changed": push.changed if push else None,
        "created": push.created if push else None,
        "commit": push.commit if push else None,
        "pr_url": push.pr_url if push else None,
        "note": push.note if push else None,
        "files": [{"path": name, "size": size} for name, size in result.files],
        "conversion": summary(result.conversion),
        "smoke": result.smoke.to_dict(),
    }


def _print_result(result: PublishResult) -> None:
    print_report(result.smoke)
    files = Table(title=f"Files for {result.repo_id}")
    files.add_column("file")
    files.add_column("size", justify="right")
    for name, size in result.files:
        files.add_row(name, f"{size / 2**20:.1f} MiB" if size > 2**20 else f"{size / 1024:.1f} KiB")
    console.print(files)
    push = result.push
    if push is None:
        console.print(
            f"[yellow]Dry run:[/yellow] nothing was pushed; these files would go to [bold]{result.repo_id}[/bold]."
        )
    elif push.pr_url:
        console.print(f"[green]Opened a pull request:[/green] {push.pr_url}")
    elif not push.changed:
        console.print(f"[green]Already up to date[/green] (no new commit): {push.url}")
    else:
        console.print(f"[green]Published[/green] {push.url}")
    if push is not None and push.note:
        console.print(f"[yellow]Note:[/yellow] {escape(push.note)}")


def markdown_summary(title: str, smoke: SmokeReport | None, outcome: str) -> str:
    """The job summary of a CI run (GitHub renders $GITHUB_STEP_SUMMARY as markdown)."""
    lines = [f"### {title}", "", outcome, ""]
    if smoke is not None:
        lines += ["| smoke test | result |", "| --- | --- |"]
        lines += [f"| {c['name']} | {SmokeReport.status(c)}: {c['detail']} |" for c in smoke.checks]
        if smoke.agreement:
            lines += ["", f"Fill-mask top-1 agreement with the base model: {smoke.agreement[0]}/{smoke.agreement[1]}"]
    return "\n".join(lines) + "\n\n"


def _outcome(result: PublishResult) -> str:
    push = result.push
    if push is None:
        return f"Dry run: nothing pushed; {len(result.files)} files would go to `{result.repo_id}`."
    if push.pr_url:
        return f"Pull request: {push.pr_url}"
    return f"{'Published' if push.changed else 'Already up to date (no new commit)'}: {push.url}"


@with_conversion_options
def publish_command(
    base: Base,
    max_len: MaxLen,
    repo_id: Annotated[
        str | None, typer.Option(help="Target repository (default: <your user or --org>/lsg-<base name>-<max-len>).")
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="Organization to publish under (with the default repository name).")
    ] = None,
    private: Annotated[bool, typer.Option(help="Create the repository as private.")] = False,
    create_pr: Annotated[bool, typer.Option(help="Open a pull request instead of committing to the branch.")] = False,
    revision: Annotated[
        str | None, typer.Option(help="Branch to push to (created if needed) (default: main).")
    ] = None,
    commit_message: Annotated[str | None, typer.Option(help="Commit message.")] = None,
    dry_run: Annotated[
        bool, typer.Option(help="Do everything but the push, and show what would be uploaded.")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep the repository folder here (must not exist or be empty).")
    ] = None,
    base_revision: Revision = None,
    summary_file: Annotated[
        Path | None, typer.Option("--summary", help="Append a markdown summary here (e.g. $GITHUB_STEP_SUMMARY).")
    ] = None,
    json_output: Json = False,
    options: dict[str, Any] | None = None,
) -> None:
    """Convert BASE to LSG attention, smoke-test it, write its card and push it to the Hub as one commit.

    Nothing is pushed if a check fails; re-publishing identical content makes no new commit. Works with
    huggingface.co and any Hub given by HF_ENDPOINT.
    """
    conversion = conversion_request(base, max_len, out or Path("repository"), options, base_revision)
    request = PublishRequest(
        conversion=conversion,
        repo_id=repo_id,
        org=org,
        private=private,
        create_pr=create_pr,
        branch=revision,
        commit_message=commit_message,
        dry_run=dry_run,
        keep_output=out is not None,
    )
    title = f"{base} → {max_len} tokens"
    if summary_file:
        _check_writable(summary_file)
    try:
        with steps(not json_output) as report:
            result = publish(request, report)
    except HubgenError as error:
        if summary_file:
            smoke = error.report if isinstance(error, SmokeFailure) else None
            _append(summary_file, markdown_summary(title, smoke, f"**Failed:** {error}"))
        raise
    for warning in result.conversion.warnings:
        print_warning(warning)
    if json_output:
        emit_json(_result_json(result))
    else:
        _print_result(result)
    if summary_file:
        try:
            _append(summary_file, markdown_summary(title, result.smoke, _outcome(result)))
        except OSError as error:
            raise HubgenError(
                f"{_outcome(result)}, but appending the summary to {summary_file} failed ({error.strerror})",
                "the push itself is complete; nothing needs to be redone",
            ) from None


PUBLISH_EXAMPLES = epilog(
    "hubgen publish distilbert-base-uncased --max-len 4096",
    "hubgen publish roberta-base --max-len 4096 --org my-org --private",
    "hubgen publish facebook/bart-base --max-len 4096 --dry-run",
    "HF_ENDPOINT=http://127.0.0.1:8080 hubgen publish ./my-bert --max-len 2048 --create-pr",
)
