"""`hubgen demo`: the main job offline, on a tiny checkpoint made on the spot, published to a local Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hubgen.cli._common import Json, console, emit_json, epilog, steps
from hubgen.cli.smoke import print_report
from hubgen.offline.demo import run_demo


def demo_command(
    workdir: Annotated[
        Path | None,
        typer.Option(help="Keep everything here (base, Hub storage, repository) (default: a temp folder)."),
    ] = None,
    json_output: Json = False,
) -> None:
    """Publish a tiny BERT to a Hub server started on 127.0.0.1, then download and load it as a user would.

    Needs no network and no token: it shows the whole `hubgen publish` job on your machine.
    """
    with steps(not json_output) as report:
        result = run_demo(workdir, report=report)
    published, check = result.publish, result.load_check
    if json_output:
        emit_json(
            {"repo_id": published.repo_id, "url": published.push.url, "downloaded": str(result.downloaded), **check}
        )
        return
    print_report(published.smoke)
    console.print(f"[green]Published[/green] {published.push.url} ({len(published.files)} files, one commit)")
    predictions = ", ".join(f"{row['token_str']!r} ({row['score']:.2f})" for row in check["top"])
    console.print(f"Loaded back in a fresh process as {check['class']}: {check['sentence']!r} -> {predictions}")
    console.print(f"Repository folder: {published.folder}")


DEMO_EXAMPLES = epilog("hubgen demo", "hubgen demo --workdir demo-output")
