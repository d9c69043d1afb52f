"""Options shared by several commands, defined once, and the one place output goes through.

Human output uses rich; `--json` prints one JSON document on stdout and nothing else there, so scripts can rely on
it. Errors go to stderr as one line (see `hubgen.errors`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from hubgen.errors import HubgenError
from hubgen.lsg_options import SPARSITY_TYPES, LSGOptions
from hubgen.redaction import redact

console = Console()
err_console = Console(stderr=True)


def epilog(*examples: str) -> str:
    """Usage examples shown under a command's help (rich markup keeps the line breaks)."""
    lines = "\n".join(f"  $ {example}" for example in examples)
    return f"[bold]Examples[/bold]\n\n{lines}"


def print_error(error: HubgenError) -> None:
    """One line, however narrow the terminal: the problem, then the fix."""
    line = error.message + (f"; {error.hint}" if error.hint else "")
    err_console.print(f"[bold red]Error:[/bold red] {escape(redact(line))}", highlight=False, soft_wrap=True)


def print_warning(message: str) -> None:
    err_console.print(f"[yellow]Warning:[/yellow] {escape(redact(message))}", highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(redact(json.dumps(data, indent=2, default=str)) + "\n")


class StepReport:
    """`report(step)` ends the current step of a long command and starts the next; `report.note(line)` prints a
    result as soon as it is known (a benchmark's measurements, one by one)."""

    def __init__(self, progress: Progress | None, enabled: bool = True):
        self._progress = progress
        self._enabled = enabled
        self._current: tuple[str, float, TaskID | None] | None = None

    def __call__(self, step: str) -> None:
        self.end()
        if self._enabled:
            task = self._progress.add_task(step, total=None) if self._progress else None
            self._current = (step, time.perf_counter(), task)

    def note(self, line: str) -> None:
        if self._enabled:
            (self._progress.console if self._progress else err_console).print(line, highlight=False, soft_wrap=True)

    def end(self, outcome: str = "") -> None:
        if self._current is None:
            return
        step, started, task = self._current
        self._current = None
        if self._progress is not None:
            self._progress.update(task, completed=1, total=1)
        else:
            seconds = time.perf_counter() - started
            err_console.print(f"{step} ({outcome}{seconds:.1f} s)", highlight=False, soft_wrap=True, markup=False)


@contextmanager
def steps(enabled: bool = True) -> Iterator[StepReport]:
    """Name each step of a long command while it runs: a spinner in a terminal; elsewhere (CI logs, pipes), where a
    live display shows nothing, one plain line per step, with its duration, when it ends.

    Disabled for `--json`, whose stdout must stay machine-readable.
    """
    if not enabled or not err_console.is_terminal:
        report = StepReport(None, enabled)
        try:
            yield report
        except BaseException:
            report.end("failed after ")
            raise
        report.end()
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        report = StepReport(progress)
        yield report
        report.end()


# --- options shared by convert and publish -------------------------------------------------------------------------

MaxLen = Annotated[
    int, typer.Option("--max-len", help="Length of the long model, in tokens (a multiple of the block size).")
]
Architecture = Annotated[
    str | None,
    typer.Option(help="Head to build, e.g. BertForSequenceClassification (default: the base config's architecture)."),
]
# Their defaults are `LSGOptions`' (or, for an LSG base, its own values).
BlockSize = Annotated[
    int | None,
    typer.Option(help=f"Local block size b (default: {LSGOptions.block_size}; BigBird's blocks: 64)."),
]
Attention = Annotated[
    str | None,
    typer.Option(
        help="lsg (hubgen's code, loaded with trust_remote_code), or longformer / bigbird: transformers' own "
        "classes, no remote code (default: lsg; a Longformer, BigBird or YOSO base is extended in its own)."
    ),
]
AttentionWindow = Annotated[
    int | None, typer.Option(help="Longformer's attention window, even (default: 512, or the base's).")
]
NumRandomBlocks = Annotated[
    int | None, typer.Option(help="BigBird's random blocks per query block (default: 3, or the base's).")
]
SparseBlockSize = Annotated[
    int | None,
    typer.Option(
        help=f"Sparse window length s, 0 disables sparse attention (default: {LSGOptions.sparse_block_size})."
    ),
]
SparsityFactor = Annotated[
    int | None,
    typer.Option(help=f"Reduction factor f of the sparse sequence (default: {LSGOptions.sparsity_factor})."),
]
SparsityType = Annotated[
    str | None,
    typer.Option(help=f"Sparse selection: {', '.join(SPARSITY_TYPES)} (default: {LSGOptions.sparsity_type})."),
]
NumGlobalTokens = Annotated[
    int | None, typer.Option(help=f"Number of global tokens, 1 to 512 (default: {LSGOptions.num_global_tokens}).")
]
MaskFirstToken = Annotated[
    bool | None,
    typer.Option(
        "--mask-first-token/--no-mask-first-token",
        help="Mask the first token as a key: global token 0 stands in for it, which keeps short inputs lossless "
        "(default: on when the tokenizer starts inputs with a special token).",
    ),
]
PoolWithGlobal = Annotated[
    bool | None,
    typer.Option("--pool-with-global/--no-pool-with-global", help="First output row := global token 0 (default: on)."),
]
RandomGlobalInit = Annotated[
    bool,
    typer.Option(
        help="Draw global tokens from a Gaussian fitted to the word embeddings (row 0 stays the first token)."
    ),
]
GlobalPositionalStride = Annotated[
    int, typer.Option(help="Positions between consecutive global tokens in the positional initialisation.")
]
KeepFirstGlobalToken = Annotated[
    bool, typer.Option(help="LSG input: re-initialise the global tokens but keep the existing first one.")
]
ResizeLsg = Annotated[
    bool, typer.Option(help="LSG input: only resize positions and refresh the code (the default for LSG inputs).")
]
BaseModel = Annotated[
    str | None,
    typer.Option(
        help="For a local base folder: its model's Hub id (ORG/NAME), named by the card, the reproduce command and "
        "the default repository name. Without it nothing published says where the base came from.",
    ),
]
Seed = Annotated[int, typer.Option(help="Seed of every random initialisation (new heads, random global tokens).")]
Dtype = Annotated[str, typer.Option(help="Weights dtype: auto (as the base), float32, float16 or bfloat16.")]

# --- Hub options, named as in huggingface_hub's `hf` CLI -------------------------------------------------------------

Token = Annotated[
    str | None,
    typer.Option(help="Hugging Face token (default: HF_TOKEN, or the token saved by `hf auth login`)."),
]
Revision = Annotated[str | None, typer.Option(help="Git revision (branch, tag or commit) of the base repository.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of human-readable output.")]
OutDir = Annotated[Path, typer.Option("--out", help="Folder to write (must not exist or be empty).")]
