"""Run a plan: one fresh worker process per measurement, one at a time, skipping what would take too long.

Workers run one after the other: two at once would share the cores and disturb each other's times. Within a
configuration, lengths go up; before each one the runner predicts the step's time and memory from the lengths
already measured (the growth exponent seen between the last two, between 1 and 2) and skips the length, saying
why, when the measurement would take longer than `max_seconds` or need more than `max_memory_bytes`. With
`rounds` above 1, every measured configuration is then taken again, all in turn, and keeps its best time. Before the
model-level sections, a run with the original LSG saves the weights all LSG contenders load and checks that hubgen's
LSG and the original compute the same logits on them.
"""

from __future__ import annotations

import hashlib
import math
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from hubgen.bench.original import ORIGINAL_TRANSFORMERS, original_line, original_modeling_file, original_sys_path
from hubgen.bench.plan import (
    BIGBIRD_BLOCK,
    BIGBIRD_RANDOM_BLOCKS,
    DTYPES,
    LONGFORMER_WINDOW,
    LSG_MODELS,
    MODEL_LABELS,
    ORIGINAL,
    SDPA_LABEL,
    BenchPlan,
    CoreSetting,
    full_flops,
    lsg_flops,
)
from hubgen.bench.prefill import PREFILL_IMPLEMENTATIONS, PREFILL_LABELS, prefill_job
from hubgen.bench.results import GIB, BenchResults, Measurement
from hubgen.fresh_process import run_script
from hubgen.registry import get_model_type
from hubgen.render import write_modeling_file

WORKER = Path(__file__).with_name("worker.py")
# What a worker needs beyond its steps: starting Python, importing torch and transformers, the warm-up.
STARTUP_SECONDS = 120.0
# Products timed for the GEMM rate; the best is kept, so more of them make a loaded machine's figure steadier.
GEMM_REPEATS = 10

Progress = Callable[[str], None]


@dataclass
class Series:
    """One configuration at increasing lengths; `exponent` is the growth assumed until two lengths are measured."""

    section: str
    config: str
    impl: str
    lengths: tuple[int, ...]
    job: dict
    exponent: float
    setting: dict | None = None
    variant: str = ""

    def flops(self, plan: BenchPlan, length: int) -> float | None:
        if self.section != "core":
            return None
        if self.setting is None:
            return full_flops(length + self.job["num_global_tokens"], plan.head_dim, plan.heads, plan.batch)
        return lsg_flops(CoreSetting(**self.setting), length, plan.head_dim, plan.heads, plan.batch)

    def warmup_length(self, length: int) -> int:
        """A shorter length that takes the same code path, so one-time costs of that path fall in the warm-up.

        A quarter of the length, raised where that would take another path: LSG attention is full attention up to
        2b tokens, BigBird's block-sparse attention falls back to full attention up to (5 + 2r) blocks of 64.
        """
        quarter = max(length // 4, 64)
        if self.impl in LSG_MODELS:
            block = self.job["setting"]["block_size"]
            threshold, step = 2 * block, block
        elif self.impl == "bigbird":
            threshold, step = (5 + 2 * BIGBIRD_RANDOM_BLOCKS) * BIGBIRD_BLOCK, BIGBIRD_BLOCK
        else:
            return quarter
        if length <= threshold:
            return quarter
        shortest = (threshold // step + 1) * step
        warmup = max(-(-quarter // step) * step, shortest)
        return warmup if warmup < length else quarter

    def job_at(self, length: int) -> dict:
        """The worker's job for one length."""
        return {**self.job, "length": length, "warmup_length": self.warmup_length(length)}

    def measurement(self, plan: BenchPlan, length: int, result: dict) -> Measurement:
        """A worker's result (or a skip: status and reason only) as a measurement of this configuration."""
        measurement = Measurement(self.section, self.config, self.impl, length, result["status"], variant=self.variant)
        measurement.reason = result.get("reason", "")
        measurement.flops, measurement.setting = self.flops(plan, length), self.setting
        if measurement.ok:
            measurement.times = result["times"]
            measurement.peak_bytes = result["peak_bytes"]
            measurement.warmup_length = result["warmup_length"]
        return measurement


@dataclass(frozen=True)
class RunFiles:
    """What the model-level jobs of one run load: the rendered modeling file and, when the original runs, the shared
    weights and where the original's code and environment are."""

    module_path: Path
    weights_path: Path | None = None
    original_modeling_file: Path | None = None
    original_sys_path: tuple[str, ...] = ()


def common_job(plan: BenchPlan) -> dict:
    """What every measurement's job holds."""
    return {"seed": plan.seed, "batch": plan.batch, "repeats": plan.repeats, "max_memory_bytes": plan.max_memory_bytes}


def model_job(plan: BenchPlan, files: RunFiles) -> dict:
    """What every model-level job shares: the shape, the LSG setting, the files (one contender's job adds `model`)."""
    job = {
        **common_job(plan),
        "kind": "model",
        "module_path": str(files.module_path),
        "shape": asdict(plan.model_shape),
        "setting": plan.model_setting.config_values(),
        "attention_dropout": plan.attention_dropout,
        "hidden_dropout": plan.hidden_dropout,
        "max_position_embeddings": plan.max_model_length + 2,
        "longformer_window": LONGFORMER_WINDOW,
        "bigbird_block_size": BIGBIRD_BLOCK,
        "bigbird_random_blocks": BIGBIRD_RANDOM_BLOCKS,
    }
    if files.weights_path is not None:
        job["weights_path"] = str(files.weights_path)
    return job


def contender_job(base: dict, name: str, files: RunFiles) -> dict:
    """One contender's job; the original's runs isolated, on its own transformers."""
    job = {**base, "model": name}
    if name == ORIGINAL:
        job["original_modeling_file"] = str(files.original_modeling_file)
        job["sys_path"] = list(files.original_sys_path)
    return job


def _model_label(plan: BenchPlan, name: str) -> str:
    return MODEL_LABELS[name] + (f" ({plan.model_setting.pattern_label})" if name in LSG_MODELS else "")


def _model_setting(plan: BenchPlan, name: str) -> dict | None:
    """The LSG setting a model-level contender runs (None for those without LSG attention)."""
    return plan.model_setting.config_values() if name in LSG_MODELS else None


def plan_series(plan: BenchPlan, files: RunFiles) -> list[Series]:
    """The measurements of a plan, grouped by configuration, in run order."""
    common = common_job(plan)
    series = []
    if "core" in plan.sections:
        core = {
            **common,
            "kind": "core",
            "heads": plan.heads,
            "head_dim": plan.head_dim,
        }
        lsg_lengths = tuple(sorted(set(plan.core_lengths + plan.lsg_extra_lengths)))
        for setting in plan.settings:
            values = setting.config_values()
            job = {**core, "impl": "lsg", "setting": values}
            series.append(Series("core", setting.label, "lsg", lsg_lengths, job, 1.0, values))
        if plan.include_sdpa:
            globals_ = plan.settings[0].num_global_tokens if plan.settings else 1
            job = {**core, "impl": "sdpa", "num_global_tokens": globals_}
            series.append(Series("core", SDPA_LABEL, "sdpa", tuple(sorted(plan.core_lengths)), job, 2.0))
    base = model_job(plan, files)
    if "model" in plan.sections:
        for name in plan.contenders:
            exponent = 2.0 if name == "sdpa" else 1.0
            job = contender_job(base, name, files)
            lengths, setting = tuple(sorted(plan.model_lengths)), _model_setting(plan, name)
            series.append(Series("model", _model_label(plan, name), name, lengths, job, exponent, setting))
    if "inference" in plan.sections:
        lengths = tuple(sorted(plan.inference_lengths))
        for name in plan.contenders:
            exponent = 2.0 if name == "sdpa" else 1.0
            for dtype in plan.inference_dtypes:
                for batch in plan.inference_batches:
                    job = {**contender_job(base, name, files), "kind": "inference", "dtype": dtype, "batch": batch}
                    variant = f"{DTYPES[dtype]} b{batch}"
                    label = f"{_model_label(plan, name)} {variant}"
                    setting = _model_setting(plan, name)
                    series.append(Series("inference", label, name, lengths, job, exponent, setting, variant))
    if "prefill" in plan.sections:
        for impl in PREFILL_IMPLEMENTATIONS:
            job = {**common, **prefill_job(plan, impl)}
            exponent = 2.0 if impl == "sdpa" else 1.0
            series.append(
                Series("prefill", PREFILL_LABELS[impl], impl, tuple(sorted(plan.prefill_lengths)), job, exponent)
            )
    return series


def predict(points: list[tuple[int, float]], length: int, exponent: float) -> float | None:
    """Extrapolate a figure to `length` from the last measured points (None before any)."""
    if not points:
        return None
    last_length, last = points[-1]
    if len(points) >= 2:
        previous_length, previous = points[-2]
        if previous > 0 and last > 0:
            exponent = math.log(last / previous) / math.log(last_length / previous_length)
    exponent = min(2.0, max(1.0, exponent))
    return last * (length / last_length) ** exponent


def skip_reason(done: list[Measurement], length: int, plan: BenchPlan, exponent: float) -> str | None:
    """Why this length should not be run, given the shorter lengths of the same configuration (None: run it)."""
    if any(m.status == "failed" for m in done):
        return "a shorter length failed"
    measured = [m for m in done if m.ok]
    step = predict([(m.length, m.best) for m in measured], length, exponent)
    if step is not None and step * (plan.repeats + 1.25) > plan.max_seconds:
        return f"predicted {step * (plan.repeats + 1.25):.0f} s > --max-seconds {plan.max_seconds:.0f}"
    memory = predict([(m.length, m.peak_bytes) for m in measured if m.peak_bytes], length, exponent)
    if memory is not None and memory > plan.max_memory_bytes:
        return f"predicted {memory / GIB:.1f} GiB > --max-memory-gb {plan.max_memory_bytes / GIB:.1f}"
    if any(m.status == "skipped" for m in done):
        return "a shorter length was skipped"
    return None


def run_worker(job: dict, timeout: float, threads: int | None = None) -> dict:
    """Run one job in a fresh interpreter; a crash, a kill or a timeout becomes a `failed` result.

    `threads` fixes the thread pools' size (OpenMP and MKL read it at start-up): fewer threads than cores makes a
    shared machine's figures steadier, since a thread that waits for a descheduled peer at every barrier turns the
    many small kernels of block attention into scheduler latency.
    """
    environment = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {}
    try:
        run = run_script(WORKER, job, timeout, environment=environment, sys_path=job.get("sys_path"))
    except subprocess.TimeoutExpired:
        return {"status": "failed", "reason": f"timed out after {timeout:.0f} s"}
    if run.result is not None:
        return run.result
    if run.returncode < 0:
        return {"status": "failed", "reason": f"killed by signal {-run.returncode} (out of memory?)"}
    return {"status": "failed", "reason": run.failure(f"exit code {run.returncode}")}


def _measure_series(
    series: Series, plan: BenchPlan, progress: Progress, done_line: Progress, counter: Iterator[int], total: int
) -> list[Measurement]:
    done: list[Measurement] = []
    for length in series.lengths:
        index = next(counter)
        reason = skip_reason(done, length, plan, series.exponent)
        if reason:
            done.append(series.measurement(plan, length, {"status": "skipped", "reason": reason}))
        else:
            progress(f"[{index}/{total}] {series.section}: {series.config} at {length:,} tokens")
            result = run_worker(
                series.job_at(length), timeout=2 * plan.max_seconds + STARTUP_SECONDS, threads=plan.threads
            )
            done.append(series.measurement(plan, length, result))
        done_line(done[-1].line())
    return done


def _measure_again(
    runs: list[tuple[Series, list[Measurement]]], plan: BenchPlan, progress: Progress, done_line: Progress, round_: int
) -> None:
    """Round `round_` of `--rounds`: every configuration measured so far, again, in the same order; its times join
    the earlier rounds', so the best of a configuration is its best over all rounds. On a machine others load, the
    figures compared (LSG and the original at one length) then come from their least disturbed moments, not from
    whatever load each happened to meet once. A failed repeat leaves the earlier figures as they were."""
    for series, done in runs:
        for measurement in (m for m in done if m.ok):
            where = f"{series.section}: {series.config} at {measurement.length:,} tokens"
            progress(f"[round {round_}/{plan.rounds}] {where}")
            job = series.job_at(measurement.length)
            result = run_worker(job, timeout=2 * plan.max_seconds + STARTUP_SECONDS, threads=plan.threads)
            if result["status"] == "ok":
                measurement.times += result["times"]
            done_line(f"{measurement.line()} (after round {round_})")


def prepare_original(plan: BenchPlan, files: RunFiles, weights_path: Path) -> RunFiles:
    """Install the original's environment (once per machine) and save the weights every LSG contender loads: hubgen's
    LSG model, built once; the original's classes use the same parameter names."""
    modeling_file = original_modeling_file(plan.original)
    job = {**model_job(plan, files), "kind": "weights", "model": "lsg", "path": str(weights_path)}
    saved = run_worker(job, timeout=plan.max_seconds + STARTUP_SECONDS, threads=plan.threads)
    if saved["status"] != "ok":
        raise RuntimeError(f"saving the shared weights failed: {saved.get('reason')}")
    return RunFiles(files.module_path, weights_path, modeling_file, tuple(original_sys_path()))


def check_original(plan: BenchPlan, files: RunFiles) -> dict:
    """What makes the comparison fair: hubgen's LSG and the original, on the shared weights, compute the same logits
    (eval mode, fp32, a padded batch of 2 at four blocks, so that the sparse path runs)."""
    length = 4 * plan.model_setting.block_size
    base = {**model_job(plan, files), "kind": "logits", "length": length, "batch": 2}
    found = {
        name: run_worker(contender_job(base, name, files), timeout=plan.max_seconds + STARTUP_SECONDS)
        for name in ("lsg", ORIGINAL)
    }
    check = {"checkout": str(Path(plan.original).resolve()), "transformers": ORIGINAL_TRANSFORMERS, "length": length}
    failed = [f"{name}: {result.get('reason')}" for name, result in found.items() if result["status"] != "ok"]
    if failed:
        return {**check, "status": "failed", "reason": "; ".join(failed)}
    pairs = zip(_flat(found["lsg"]["logits"]), _flat(found[ORIGINAL]["logits"]), strict=True)
    return {**check, "status": "ok", "logits_max_abs_diff": max(abs(a - b) for a, b in pairs)}


def _flat(rows: list[list[float]]) -> list[float]:
    return [value for row in rows for value in row]


def _gemm_line(gemm: dict) -> str:
    if gemm.get("status") != "ok":
        return f"fp32 GEMM throughput: {gemm.get('status')} ({gemm.get('reason', '')})"
    return f"fp32 GEMM throughput: {gemm['gflops_best']:.1f} GFLOP/s best, {gemm['gflops_median']:.1f} median"


def machine_info() -> dict:
    """What the figures depend on: the CPU, the libraries, and how loaded the machine was."""
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": _load_average(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def available_memory_bytes() -> int | None:
    """MemAvailable of /proc/meminfo (Linux), None elsewhere."""
    try:
        with open("/proc/meminfo") as info:
            line = next(line for line in info if line.startswith("MemAvailable:"))
        return int(line.split()[1]) * 1024
    except (OSError, StopIteration):
        return None


def run_benchmark(
    plan: BenchPlan, progress: Progress | None = None, done_line: Progress | None = None
) -> BenchResults:
    """Measure everything the plan asks for; never raises for a configuration that fails, it reports it.

    `progress` names each measurement as it starts, `done_line` gets one line of figures as each ends (a run takes
    hours: its log must show what is known so far)."""
    plan.validate()
    progress = progress or (lambda message: None)
    done_line = done_line or (lambda line: None)
    started = time.time()
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="hubgen-bench-") as folder:
        module_path = write_modeling_file(get_model_type("roberta"), Path(folder))
        code_sha256 = hashlib.sha256(module_path.read_bytes()).hexdigest()
        files = RunFiles(module_path)
        if plan.original is not None and {"model", "inference"} & set(plan.sections):
            progress(f"the original LSG: transformers {ORIGINAL_TRANSFORMERS} side by side, shared weights, logits")
            files = prepare_original(plan, files, Path(folder) / "weights.safetensors")
            machine["original"] = check_original(plan, files)
            done_line(original_line(machine["original"]))
        series = plan_series(plan, files)
        total = 1 + sum(len(entry.lengths) for entry in series)
        counter = iter(range(1, total + 1))
        progress(f"[{next(counter)}/{total}] fp32 GEMM throughput ({plan.gemm_size}x{plan.gemm_size})")
        gemm_job = {"kind": "gemm", "size": plan.gemm_size, "repeats": GEMM_REPEATS, "seed": plan.seed}
        gemm = run_worker(gemm_job, timeout=plan.max_seconds + STARTUP_SECONDS, threads=plan.threads)
        done_line(_gemm_line(gemm))
        runs = [(entry, _measure_series(entry, plan, progress, done_line, counter, total)) for entry in series]
        for round_ in range(2, plan.rounds + 1):
            _measure_again(runs, plan, progress, done_line, round_)
        measurements = [m for _, done in runs for m in done]
    machine["torch_threads"] = gemm.get("torch_threads", machine["torch_threads"])  # what the workers used
    machine["load_average_end"] = _load_average()
    machine["wall_seconds"] = round(time.time() - started, 1)
    plan_summary = {
        **asdict(plan),
        "settings": [s.label for s in plan.settings],
        "model_setting": plan.model_setting.label,
    }
    return BenchResults(plan_summary, machine, gemm, code_sha256, measurements)
