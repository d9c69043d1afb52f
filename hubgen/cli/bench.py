"""`hubgen bench`: speed and memory of LSG attention against full attention, Longformer, BigBird and the original."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer

from hubgen.bench.original import original_modeling_file
from hubgen.bench.plan import DTYPES, MODELS, SECTIONS, BenchPlan, CoreSetting, ModelShape, quick_plan
from hubgen.cli._common import Json, console, emit_json, epilog, steps
from hubgen.errors import InvalidInputError

GIB = 2**30


def _int_list(option: str, text: str) -> tuple[int, ...]:
    """`1024,4096` -> (1024, 4096); an empty string is an empty list (measure nothing of that kind)."""
    try:
        return tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidInputError(
            f"{option} {text!r} is not a comma-separated list of lengths", "e.g. 1024,4096"
        ) from None


def _name_list(option: str, text: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise InvalidInputError(f"{option}: unknown {', '.join(unknown)}", f"choose among {', '.join(allowed)}")
    return names


def build_plan(
    quick: bool = False,
    lengths: str | None = None,
    lsg_lengths: str | None = None,
    model_lengths: str | None = None,
    prefill_lengths: str | None = None,
    settings: list[str] | None = None,
    models: str | None = None,
    sections: str | None = None,
    sdpa: bool = True,
    repeats: int | None = None,
    layers: int | None = None,
    attention_dropout: float | None = None,
    max_seconds: float | None = None,
    max_memory_gb: float | None = None,
    seed: int = 0,
    threads: int | None = None,
    inference_lengths: str | None = None,
    inference_batches: str | None = None,
    dtypes: str | None = None,
    hidden_size: int | None = None,
    original: Path | None = None,
    rounds: int | None = None,
) -> BenchPlan:
    """The plan the options describe: the defaults (or `--quick`'s) with what the user gave on top."""
    from hubgen.bench.runner import available_memory_bytes

    overrides: dict = {"include_sdpa": sdpa, "seed": seed, "threads": threads}
    if original is not None:
        original_modeling_file(original)  # refused now, not after hours of measurements
        overrides["original"] = str(original)
    if inference_lengths is not None:
        overrides["inference_lengths"] = _int_list("--inference-lengths", inference_lengths)
    if inference_batches is not None:
        overrides["inference_batches"] = _int_list("--inference-batches", inference_batches)
    if dtypes is not None:
        overrides["inference_dtypes"] = _name_list("--dtypes", dtypes, tuple(DTYPES))
    if lengths is not None:
        overrides["core_lengths"] = _int_list("--lengths", lengths)
    if lsg_lengths is not None:
        overrides["lsg_extra_lengths"] = _int_list("--lsg-lengths", lsg_lengths)
    if model_lengths is not None:
        overrides["model_lengths"] = _int_list("--model-lengths", model_lengths)
    if prefill_lengths is not None:
        overrides["prefill_lengths"] = _int_list("--prefill-lengths", prefill_lengths)
    if settings:
        overrides["settings"] = tuple(CoreSetting.parse(text) for text in settings)
    if models is not None:
        overrides["models"] = _name_list("--models", models, MODELS)
    if sections is not None:
        overrides["sections"] = _name_list("--sections", sections, SECTIONS)
    if repeats is not None:
        overrides["repeats"] = repeats
    if rounds is not None:
        overrides["rounds"] = rounds
    if hidden_size is not None:
        overrides["model_shape"] = ModelShape.of_width(hidden_size, layers or ModelShape.num_hidden_layers)
    elif layers is not None:
        overrides["model_shape"] = replace(ModelShape(), num_hidden_layers=layers)
    if attention_dropout is not None:
        overrides["attention_dropout"] = attention_dropout
    if max_seconds is not None:
        overrides["max_seconds"] = max_seconds
    if max_memory_gb is None:
        available = available_memory_bytes()
        overrides["max_memory_bytes"] = available // 2 if available else 8 * GIB
    else:
        overrides["max_memory_bytes"] = int(max_memory_gb * GIB)
    plan = quick_plan(**overrides) if quick else replace(BenchPlan(), **overrides)
    plan.validate()
    return plan


def bench_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for bench.md, bench.csv, bench.json and bench.png.")
    ] = Path("bench-results"),
    quick: Annotated[
        bool, typer.Option("--quick", help="Small lengths (core 512-2,048, models 1,024), 2 repeats: a smoke run.")
    ] = False,
    lengths: Annotated[
        str | None, typer.Option(help="Attention-core lengths of every configuration (default: 1024,...,16384).")
    ] = None,
    lsg_lengths: Annotated[
        str | None, typer.Option(help="Extra attention-core lengths for the LSG settings only (default: 32768).")
    ] = None,
    model_lengths: Annotated[str | None, typer.Option(help="Model-level lengths (default: 1024,...,16384).")] = None,
    prefill_lengths: Annotated[
        str | None, typer.Option(help="Prefill lengths of the Llama-shaped model (default: 4096,...,32768).")
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--setting",
            help="LSG setting TYPE:BLOCK:SPARSE[:FACTOR[:GLOBALS]], repeatable (default: norm:128:128:4 and 8 more).",
        ),
    ] = None,
    models: Annotated[str | None, typer.Option(help=f"Model-level contenders (default: {','.join(MODELS)}).")] = None,
    sections: Annotated[
        str | None,
        typer.Option(help="What to measure among core, model, inference and prefill (default: core,model)."),
    ] = None,
    sdpa: Annotated[bool, typer.Option("--sdpa/--no-sdpa", help="Measure full SDPA attention in the core.")] = True,
    repeats: Annotated[int | None, typer.Option(help="Timed steps after the warm-up (default: 3).")] = None,
    layers: Annotated[int | None, typer.Option(help="Layers of every model-level model (default: 2).")] = None,
    attention_dropout: Annotated[
        float | None, typer.Option(help="Attention dropout of the models (default: 0.1, as the base configs).")
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Skip a length whose measurement is predicted to take longer (default: 600).")
    ] = None,
    max_memory_gb: Annotated[
        float | None,
        typer.Option(help="Memory cap of one measurement over its baseline (default: half the available memory)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the inputs and of the models' weights.")] = 0,
    threads: Annotated[
        int | None,
        typer.Option(help="Threads of every measurement (OMP/MKL); 1 steadies a shared machine (default: all cores)."),
    ] = None,
    quality: Annotated[
        bool,
        typer.Option(
            "--quality",
            help="Instead: fill-mask agreement with the base and long-input outputs of LSG, Longformer and BigBird "
            "models converted from tiny trained bases (writes quality.md).",
        ),
    ] = False,
    inference_lengths: Annotated[
        str | None, typer.Option(help="Inference lengths (default: 512,...,16384; with --sections inference).")
    ] = None,
    inference_batches: Annotated[
        str | None, typer.Option(help="Inference batch sizes; rows after the first are padded (default: 1,8).")
    ] = None,
    dtypes: Annotated[str | None, typer.Option(help=f"Inference dtypes (default: {','.join(DTYPES)}).")] = None,
    hidden_size: Annotated[
        int | None,
        typer.Option(help="Width of the models: heads of 64, FFN 4x (default: 768, roberta-base's)."),
    ] = None,
    original: Annotated[
        Path | None,
        typer.Option(
            help="A checkout of github.com/ccdv-ai/convert_checkpoint_to_lsg: the original LSG as a model-level "
            "contender, on transformers 4.36.2 installed side by side, with the same weights."
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            help="Measure everything this many times, in turn, keeping each figure's best: alternating runs steady the "
            "ratios on a machine others load (default: 1)."
        ),
    ] = None,
    json_output: Json = False,
) -> None:
    """Measure speed and peak memory of LSG attention (the core, a model's training step and, with `--sections
    inference`, its forward in fp32 and bf16) against full SDPA attention, Longformer, BigBird, a dense-only floor
    (the LSG model with its core passing the values through) and, with `--original`, the original LSG, and
    (`--sections prefill`) a Llama-shaped library model's prefill with attn_implementation "lsg" against "sdpa";
    each figure in a fresh process. Writes a table, CSV, JSON and a PNG
    chart, and reports the performance targets as PASS/FAIL (it never fails for them)."""
    if quality:
        _quality(out, json_output)
        return
    plan = build_plan(
        quick, lengths, lsg_lengths, model_lengths, prefill_lengths, setting, models, sections, sdpa, repeats, layers,
        attention_dropout, max_seconds, max_memory_gb, seed, threads, inference_lengths, inference_batches, dtypes,
        hidden_size, original, rounds,
    )  # fmt: skip
    from hubgen.bench.report import document, print_tables, write_outputs
    from hubgen.bench.runner import run_benchmark
    from hubgen.bench.targets import evaluate_targets

    with steps(not json_output) as report:
        results = run_benchmark(plan, report, report.note)
        report("writing the table, CSV, JSON and chart")
        targets = evaluate_targets(results)
        paths = write_outputs(results, targets, out)
    if json_output:
        emit_json({**document(results, targets), "files": {kind: str(path) for kind, path in paths.items()}})
        return
    print_tables(console, results, targets)
    console.print("Wrote " + ", ".join(f"[bold]{path}[/bold]" for path in paths.values()))


def _quality(out: Path, json_output: bool) -> None:
    from hubgen.offline.quality import quality_table, run_quality

    with steps(not json_output) as report:
        rows = run_quality(report=report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.md").write_text(quality_table(rows))
    if json_output:
        emit_json({"quality": [asdict(row) for row in rows], "files": {"md": str(out / "quality.md")}})
    else:
        console.print(quality_table(rows))


BENCH_EXAMPLES = epilog(
    "hubgen bench --quick",
    "hubgen bench --out bench-results/",
    "hubgen bench --sections core --setting norm:128:128:4 --lengths 4096,16384 --lsg-lengths 32768",
    "hubgen bench --sections model --models lsg,longformer --model-lengths 4096 --repeats 5",
    "hubgen bench --sections prefill --prefill-lengths 4096,8192,16384,32768",
    "hubgen bench --quality",
    "hubgen bench --sections model,inference --original ../convert_checkpoint_to_lsg --hidden-size 256 "
    "--model-lengths 4096,16384 --inference-lengths 4096,16384 --threads 2",
)
