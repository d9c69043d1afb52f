"""`hubgen convert`: a base checkpoint in, a loadable long-context repository folder out."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hubgen.cli._common import Json, MaxLen, OutDir, Revision, console, emit_json, epilog, print_warning, steps
from hubgen.cli.conversion_options import conversion_request, with_conversion_options
from hubgen.conversion import Result, convert
from hubgen.native.convert import NativeResult

Base = Annotated[str, typer.Argument(help="Base checkpoint: a Hub model id (org/name) or a local folder.")]


def summary(result: Result) -> dict[str, Any]:
    if isinstance(result, NativeResult):
        return _native_summary(result)
    model_type = result.model_type
    return {
        "output": str(result.output),
        "base": result.checkpoint.reference,
        "type": model_type.name,
        "class": model_type.class_name(result.head),
        "auto_class": result.head.auto_class,
        "upgraded_lsg_checkpoint": result.checkpoint.is_lsg,
        "lsg": result.options.config_values(),
        "global_tokens": result.global_init,
        "newly_initialised_weights": list(result.new_weights),
        "warnings": list(result.warnings),
    }


def _native_summary(result: NativeResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "output": str(result.output),
        "base": plan.reference,
        "type": plan.target.model_type,
        "class": plan.class_name,
        "auto_class": plan.head.auto_class,
        "extended_native_checkpoint": plan.extension,
        "trust_remote_code": False,
        "settings": plan.target.long_settings_of(plan.config),
        "max_position_embeddings": plan.config["max_position_embeddings"],
        "global_projections_copied": result.copied_globals,
        "short_input_difference": result.difference,
        "newly_initialised_weights": list(result.new_weights),
        "warnings": list(result.warnings),
    }


def _print_native(data: dict[str, Any], table: Table) -> None:
    table.add_row("base", f"{data['base']}{' (extended in its own architecture)' if data['extended'] else ''}")
    table.add_row("class", f"{data['class']} (loads with {data['auto_class']}, no trust_remote_code)")
    table.add_row("attention", ", ".join(f"{key} {value}" for key, value in data["settings"].items()) or "kept")
    table.add_row("short input", f"largest difference to the base {data['short_input_difference']:.1e}")


def print_summary(result: Result) -> None:
    data = summary(result)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    if isinstance(result, NativeResult):
        _print_native({**data, "extended": data["extended_native_checkpoint"]}, table)
        console.print(table)
        console.print(f"[green]Converted[/green] into [bold]{result.output}[/bold]")
        return
    table.add_row(
        "base", f"{data['base']} ({data['type']}{', LSG upgrade' if data['upgraded_lsg_checkpoint'] else ''})"
    )
    table.add_row("class", f"{data['class']} (loads with {data['auto_class']})")
    lsg = data["lsg"]
    table.add_row(
        "attention",
        f"block {lsg['block_size']}, sparse {lsg['sparse_block_size']} ({lsg['sparsity_type']}, factor "
        f"{lsg['sparsity_factor']}), {lsg['num_global_tokens']} global token(s), mask_first_token="
        f"{lsg['mask_first_token']}",
    )
    table.add_row("global tokens", data["global_tokens"])
    if data["newly_initialised_weights"]:
        table.add_row("new weights", ", ".join(data["newly_initialised_weights"]) + " (train them before use)")
    console.print(table)
    console.print(
        f"[green]Converted[/green] into [bold]{result.output}[/bold]. Next: [bold]hubgen card {result.output}[/bold]"
    )


@with_conversion_options
def convert_command(
    base: Base,
    max_len: MaxLen,
    out: OutDir,
    revision: Revision = None,
    json_output: Json = False,
    options: dict[str, Any] | None = None,
) -> None:
    """Convert a checkpoint to LSG attention of length --max-len: code, weights, config and tokenizer.

    With the defaults the converted model computes the base model's function on inputs of at most two blocks.
    """
    request = conversion_request(base, max_len, out, options, revision)
    with steps(not json_output) as report:
        result = convert(request, report)
    for warning in result.warnings:
        print_warning(warning)
    if json_output:
        emit_json(summary(result))
    else:
        print_summary(result)


CONVERT_EXAMPLES = epilog(
    "hubgen convert distilbert-base-uncased --max-len 4096 --out lsg-distilbert-4096",
    "hubgen convert roberta-base --max-len 4096 --architecture RobertaForSequenceClassification --out lsg-roberta",
    "hubgen convert roberta-base --max-len 4096 --attention longformer --out longformer-roberta-4096",
    "hubgen convert ./my-bert --max-len 8192 --block-size 64 --sparsity-type bos_pooling --sparsity-factor 8 --out out/",
)
