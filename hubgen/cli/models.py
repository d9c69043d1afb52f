"""`hubgen list` and `hubgen render`: what hubgen supports, and the remote-code file of one type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hubgen.cli._common import Json, console, emit_json, epilog
from hubgen.errors import OutputError
from hubgen.registry import MODEL_TYPES, get_model_type
from hubgen.render import write_modeling_file
from hubgen.staging import writing


def list_types(json_output: Json = False) -> None:
    """List the model types, the classes each rendered file provides and the base architectures they load."""
    rows = [
        {
            "type": entry.name,
            "file": entry.file_name,
            "model_type": entry.lsg_model_type,
            "classes": [entry.class_name(head) for head in entry.heads],
            "auto_classes": [head.auto_class for head in entry.heads],
            "base_architectures": [entry.library_class_name(head) for head in entry.heads],
        }
        for entry in MODEL_TYPES.values()
    ]
    if json_output:
        emit_json(rows)
        return
    table = Table(title="Model types hubgen makes long")
    for column in ("type", "rendered file", "classes: LSG<Prefix> + …", "loads checkpoints of"):
        table.add_column(column)
    for entry in MODEL_TYPES.values():
        suffixes = ", ".join(head.class_suffix for head in entry.heads)
        table.add_row(
            entry.name,
            entry.file_name,
            f"LSG{entry.class_prefix} + {suffixes}",
            f"{entry.class_prefix}…",
        )
    console.print(table)


LIST_TYPES_EXAMPLES = epilog("hubgen list", "hubgen list --json")


def render(
    model_type: Annotated[
        str, typer.Argument(help="Model type, e.g. bert, roberta, xlm-roberta (see `hubgen list`).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder to write modeling_lsg_<type>.py into.")] = Path("."),
    json_output: Json = False,
) -> None:
    """Render the self-contained remote-code file modeling_lsg_<type>.py from the templates."""
    entry = get_model_type(model_type)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file, not a folder", "pass the folder to write the file into")
    with writing(out):
        path = write_modeling_file(entry, out)
    if json_output:
        emit_json({"type": model_type, "path": str(path)})
    else:
        console.print(f"Wrote [bold]{path}[/bold]")


RENDER_EXAMPLES = epilog("hubgen render bert", "hubgen render xlm-roberta --out build/")
