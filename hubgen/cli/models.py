"""`hubgen list` and `hubgen render`: what hubgen supports, and the remote-code file of one type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import transformers
import typer
from rich.table import Table

from hubgen.cli._common import Json, console, emit_json, epilog
from hubgen.errors import OutputError
from hubgen.native.architectures import ATTENTIONS, HEADS, NATIVE_ARCHITECTURES
from hubgen.registry import MODEL_TYPES, get_model_type
from hubgen.render import write_modeling_file
from hubgen.staging import writing

# The bases `--attention longformer|bigbird` is tested on; any other whose weights map exactly converts too.
_NATIVE_BASES = ("bert", "roberta", "camembert", "xlm-roberta")


def _native_rows() -> list[dict]:
    """The native targets (`--attention`, and extension of natively long checkpoints): no rendered file."""
    rows = []
    for entry in NATIVE_ARCHITECTURES.values():
        suffixes = [suffix for suffix in HEADS if hasattr(transformers, entry.class_name(suffix))]
        rows.append(
            {
                "type": entry.name,
                "file": None,
                "model_type": entry.model_type,
                "remote_code": False,
                "classes": [entry.class_name(suffix) for suffix in suffixes],
                "auto_classes": [HEADS[suffix].auto_class for suffix in suffixes],
                "made_from": [*(_NATIVE_BASES if entry.from_short else ()), entry.model_type],
                "options": entry.options_hint,
            }
        )
    return rows


def list_types(json_output: Json = False) -> None:
    """List the model types, the classes each rendered file provides and the base architectures they load, then the
    native long architectures (no remote code) hubgen makes or extends."""
    rows = [
        {
            "type": entry.name,
            "file": entry.file_name,
            "model_type": entry.lsg_model_type,
            "remote_code": True,
            "classes": [entry.class_name(head) for head in entry.heads],
            "auto_classes": [head.auto_class for head in entry.heads],
            "base_architectures": [entry.library_class_name(head) for head in entry.heads],
        }
        for entry in MODEL_TYPES.values()
    ]
    native = _native_rows()
    if json_output:
        emit_json(rows + native)
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
    table = Table(title="Long models without remote code (transformers' own classes)")
    for column in ("--attention", "classes", "made from", "options"):
        table.add_column(column)
    for row in native:
        attention = row["type"] if row["type"] in ATTENTIONS else f"{row['type']} (extension only)"
        table.add_row(attention, ", ".join(row["classes"]), ", ".join(row["made_from"]), row["options"])
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
