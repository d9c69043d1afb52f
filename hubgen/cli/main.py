"""The `hubgen` command: one Typer app, one module per command group, and one error policy for all of them.

A problem the user can fix (`HubgenError`) is one line naming it and the fix; SIGINT and SIGTERM are one line too,
after every staging folder and child process is gone; anything else is a bug in hubgen: one line saying so, and the
full traceback in a log file (`hubgen.crash_log`) to attach to a report.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from hubgen import __version__
from hubgen.cli._common import print_error
from hubgen.cli.bench import BENCH_EXAMPLES, bench_command
from hubgen.cli.card import CARD_EXAMPLES, card_command
from hubgen.cli.convert import CONVERT_EXAMPLES, convert_command
from hubgen.cli.demo import DEMO_EXAMPLES, demo_command
from hubgen.cli.matrix import MATRIX_EXAMPLES, matrix_command
from hubgen.cli.models import LIST_TYPES_EXAMPLES, RENDER_EXAMPLES, list_types, render
from hubgen.cli.publish import PUBLISH_EXAMPLES, publish_command
from hubgen.cli.smoke import SMOKE_EXAMPLES, smoke_command
from hubgen.cli.upgrade import UPGRADE_EXAMPLES, upgrade_command
from hubgen.crash_log import write_crash_log
from hubgen.errors import HubgenError, InternalError, Interrupted

app = typer.Typer(
    name="hubgen",
    help="Make long-context LSG models from BERT- and BART-family checkpoints, and publish them to the Hub.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("list", epilog=LIST_TYPES_EXAMPLES)(list_types)
app.command("render", epilog=RENDER_EXAMPLES)(render)
app.command("convert", epilog=CONVERT_EXAMPLES)(convert_command)
app.command("smoke", epilog=SMOKE_EXAMPLES)(smoke_command)
app.command("bench", epilog=BENCH_EXAMPLES)(bench_command)
app.command("card", epilog=CARD_EXAMPLES)(card_command)
app.command("publish", epilog=PUBLISH_EXAMPLES)(publish_command)
app.command("upgrade", epilog=UPGRADE_EXAMPLES)(upgrade_command)
app.command("demo", epilog=DEMO_EXAMPLES)(demo_command)
app.command("matrix", epilog=MATRIX_EXAMPLES)(matrix_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hubgen {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """hubgen turns 512-token checkpoints into 4,096+ token models with LSG attention."""


def main() -> None:
    """Console entry point: every failure becomes one line on stderr and a non-zero exit, never a traceback."""
    try:
        with _signals_as_exceptions():
            app()
    except HubgenError as error:
        print_error(error)
        raise SystemExit(error.exit_code) from None
    except Interrupted as interruption:
        print_error(interruption.error)
        raise SystemExit(128 + interruption.signal) from None
    except Exception as error:  # noqa: BLE001 - the last resort: a bug, reported as one line and a log file
        report = InternalError(error, write_crash_log(error, sys.argv))
        print_error(report)
        raise SystemExit(report.exit_code) from None


@contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Interrupted`, so that cleanup code (staging folders, child processes, a repository
    created on the Hub) runs before the process ends, as it does for any other exception."""

    def interrupt(number: int, frame: object) -> None:
        raise Interrupted(number)

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
