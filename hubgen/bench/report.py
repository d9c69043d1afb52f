"""The results as tables (markdown, printed with rich), CSV and JSON, and where they are written.

The tables use rich's markdown box, so what the terminal shows can be pasted into an issue or a PR as is, and the
same tables are saved to `bench.md`. The CSV has one row per configuration and length, the JSON everything: the
plan, the machine, the GEMM rate, every measurement with its derived figures, and the targets.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

from hubgen.bench.chart import write_chart
from hubgen.bench.original import original_line
from hubgen.bench.prefill import LlamaShape
from hubgen.bench.results import BenchResults, Measurement
from hubgen.bench.targets import TargetResult

CSV_COLUMNS = (
    "section",
    "config",
    "impl",
    "variant",
    "sparsity_type",
    "block_size",
    "sparse_block_size",
    "sparsity_factor",
    "num_global_tokens",
    "length",
    "status",
    "reason",
    "repeats",
    "time_best_s",
    "time_median_s",
    "peak_mib",
    "peak_kib_per_token",
    "warmup_length",
    "flop_bound_gflop",
    "bound_s",
    "time_over_bound",
    "time_vs_full",
    "memory_vs_full",
    "time_vs_lsg",
    "time_vs_original",
    "memory_vs_original",
    "time_vs_floor",
)
SETTING_KEYS = ("sparsity_type", "block_size", "sparse_block_size", "sparsity_factor", "num_global_tokens")


def csv_row(results: BenchResults, measurement: Measurement) -> dict:
    setting = measurement.setting or {}
    return {
        "section": measurement.section,
        "config": measurement.config,
        "impl": measurement.impl,
        "variant": measurement.variant,
        **{key: setting.get(key, "") for key in SETTING_KEYS},
        "length": measurement.length,
        "status": measurement.status,
        "reason": measurement.reason,
        "repeats": len(measurement.times),
        "time_best_s": measurement.best,
        "time_median_s": measurement.median,
        "peak_mib": measurement.peak_mib,
        "warmup_length": measurement.warmup_length,
        "flop_bound_gflop": None if measurement.flops is None else measurement.flops / 1e9,
        **results.derived(measurement),
    }


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}g}"


def _note(measurement: Measurement) -> str:
    if not measurement.ok:
        return f"{measurement.status}: {measurement.reason}"
    return ""


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title, box=box.MARKDOWN, title_justify="left")
    for column in columns:
        table.add_column(column, justify="left" if column in ("config", "model", "note", "target") else "right")
    return table


def _setup(plan: dict) -> str:
    """The shapes and protocol of the run, in one line (the plan is a dict once it is in the results)."""
    if not plan:
        return ""
    shape = plan["model_shape"]
    sections = plan.get("sections", ())
    extras = "inference: rows of a batch padded to decreasing real lengths, down to half; " * ("inference" in sections)
    extras += f"prefill {LlamaShape().label}, no gradient; " * ("prefill" in sections)
    return (
        f"core batch {plan['batch']}, {plan['heads']} heads x {plan['head_dim']}; models hidden {shape['hidden_size']}, "
        f"{shape['num_attention_heads']} heads, FFN {shape['intermediate_size']}, {shape['num_hidden_layers']} layers, "
        f"vocab {shape['vocab_size']}, dropout attention {plan['attention_dropout']} hidden {plan['hidden_dropout']}; "
        f"{extras}best/median of {plan['repeats']} after a warm-up; each figure in a fresh process"
    )


def machine_table(results: BenchResults) -> Table:
    machine, gemm = results.machine, results.gemm
    table = _table("Machine", ("what", "value"))
    rate = (
        f"{gemm['gflops_best']:.1f} best, {gemm['gflops_median']:.1f} median ({gemm['size']}x{gemm['size']})"
        if gemm.get("status") == "ok"
        else f"failed: {gemm.get('reason')}"
    )
    rows = {
        "fp32 GEMM GFLOP/s": rate,
        "CPU": f"{machine['cpu']}, {machine['logical_cpus']} logical, torch threads {machine['torch_threads']}",
        "versions": f"torch {machine['torch']}, transformers {machine['transformers']}, python {machine['python']}",
        "load average (1, 5, 15 min)": f"start {machine.get('load_average_start')}, end {machine.get('load_average_end')}",
        "measured": _setup(results.plan),
        "rendered LSG code (sha256)": results.code_sha256[:16],
        "wall time": f"{machine.get('wall_seconds', 0):.0f} s",
    }
    if "original" in machine:
        rows["original LSG"] = f"{original_line(machine['original'])} ({machine['original']['checkout']})"
    for key, value in rows.items():
        table.add_row(key, str(value))
    return table


# A column of a measurement table: its header and how a measurement (with its derived figures) fills the cell.
Column = tuple[str, Callable[[Measurement, dict], str]]

_FIGURES: tuple[Column, ...] = (
    ("tokens", lambda m, d: f"{m.length:,}"),
    ("best s", lambda m, d: _number(m.best)),
    ("median s", lambda m, d: _number(m.median)),
    ("peak MiB", lambda m, d: _number(m.peak_mib, 4)),
    ("KiB/token", lambda m, d: _number(d["peak_kib_per_token"])),
)
CORE_COLUMNS: tuple[Column, ...] = (
    ("config", lambda m, d: m.config),
    *_FIGURES,
    ("bound s", lambda m, d: _number(d["bound_s"])),
    ("x bound", lambda m, d: _number(d["time_over_bound"])),
    ("x sdpa time", lambda m, d: _number(d["time_vs_full"])),
    ("x sdpa mem", lambda m, d: _number(d["memory_vs_full"])),
    ("note", lambda m, d: _note(m)),
)
MODEL_COLUMNS: tuple[Column, ...] = (
    ("model", lambda m, d: m.config),
    *_FIGURES,
    ("x LSG time", lambda m, d: _number(d["time_vs_lsg"])),
    ("x original time", lambda m, d: _number(d["time_vs_original"])),
    ("x original mem", lambda m, d: _number(d["memory_vs_original"])),
    ("x floor time", lambda m, d: _number(d["time_vs_floor"])),
    ("x sdpa time", lambda m, d: _number(d["time_vs_full"])),
    ("x sdpa mem", lambda m, d: _number(d["memory_vs_full"])),
    ("note", lambda m, d: _note(m)),
)
PREFILL_COLUMNS: tuple[Column, ...] = (
    ("model", lambda m, d: m.config),
    *_FIGURES,
    ("x sdpa time", lambda m, d: _number(d["time_vs_full"])),
    ("x sdpa mem", lambda m, d: _number(d["memory_vs_full"])),
    ("note", lambda m, d: _note(m)),
)
SECTION_TABLES = {
    "core": ("Attention core: forward + backward", CORE_COLUMNS),
    "model": ("Model level: one training step (forward, backward, AdamW)", MODEL_COLUMNS),
    "inference": ("Inference: one forward under torch.inference_mode(), padded batches", MODEL_COLUMNS),
    "prefill": ("Prefill: a Llama-shaped library model reads a prompt (attn_implementation)", PREFILL_COLUMNS),
}


def measurement_table(results: BenchResults, section: str) -> Table:
    """One row per configuration and length of a section, in run order."""
    title, columns = SECTION_TABLES[section]
    table = _table(title, tuple(header for header, _ in columns))
    for m in (m for m in results.measurements if m.section == section):
        derived = results.derived(m)
        table.add_row(*(cell(m, derived) for _, cell in columns))
    return table


def targets_table(targets: list[TargetResult]) -> Table:
    table = _table("Targets (ratios from this run)", ("target", "threshold", "measured", "result", "note"))
    for target in targets:
        verdict = {"PASS": "[green]PASS[/green]", "FAIL": "[red]FAIL[/red]"}.get(target.verdict, target.verdict)
        table.add_row(target.name, target.threshold, _number(target.measured), verdict, target.detail)
    return table


def tables(results: BenchResults, targets: list[TargetResult]) -> list[Table]:
    sections = [section for section in SECTION_TABLES if any(m.section == section for m in results.measurements)]
    return [machine_table(results), *(measurement_table(results, s) for s in sections), targets_table(targets)]


def print_tables(console: Console, results: BenchResults, targets: list[TargetResult]) -> None:
    for table in tables(results, targets):
        console.print(table)
        console.print()


def markdown(results: BenchResults, targets: list[TargetResult]) -> str:
    """The printed tables as plain markdown text (no colours, no wrapping)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=1000, color_system=None, force_terminal=False)
    print_tables(console, results, targets)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def write_csv(results: BenchResults, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for measurement in results.measurements:
            writer.writerow(csv_row(results, measurement))


def document(results: BenchResults, targets: list[TargetResult]) -> dict:
    """Everything of a run as one JSON-ready document: what bench.json holds and `--json` prints."""
    return {**results.to_dict(), "targets": [target.to_dict() for target in targets]}


def write_json(results: BenchResults, targets: list[TargetResult], path: Path) -> None:
    path.write_text(json.dumps(document(results, targets), indent=2) + "\n", encoding="utf-8")


OUTPUT_FILES = {"table": "bench.md", "csv": "bench.csv", "json": "bench.json", "chart": "bench.png"}


def write_outputs(results: BenchResults, targets: list[TargetResult], out: Path) -> dict[str, Path]:
    """Write the four outputs into `out` (created if needed, files of an earlier run replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {kind: out / name for kind, name in OUTPUT_FILES.items()}
    paths["table"].write_text(markdown(results, targets), encoding="utf-8")
    write_csv(results, paths["csv"])
    write_json(results, targets, paths["json"])
    write_chart(results, paths["chart"])
    return paths
