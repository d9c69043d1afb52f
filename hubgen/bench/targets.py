"""The performance targets of LSG attention, checked against the ratios one run measured.

Every target is a ratio of figures from the same run on the same machine, so it holds or fails whatever the machine's
speed. The bench reports them; it does not fail the process (a loaded machine must not break a pipeline), and a
target whose figures were not measured (skipped, failed, or lengths not asked for) reads `n/a`, never PASS; the
targets against the original LSG and the dense-only floor are left out of a run that did not measure them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from hubgen.bench.plan import DTYPES, MODEL_LABELS, REFERENCE_SETTING, SDPA_LABEL, CoreSetting, lsg_flops
from hubgen.bench.results import BenchResults, Measurement

REFERENCE = REFERENCE_SETTING.label


@dataclass(frozen=True)
class TargetResult:
    """One row of the PASS/FAIL table."""

    name: str
    threshold: str
    measured: float | None
    verdict: str
    detail: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "measured": self.measured,
            "verdict": self.verdict,
            "detail": self.detail,
        }


def _verdict(name: str, value: float | None, threshold: float, at_most: bool, missing: str = "") -> TargetResult:
    sign = "<=" if at_most else ">="
    if value is None:
        return TargetResult(name, f"{sign} {threshold:g}", None, "n/a", missing or "not measured")
    passed = value <= threshold if at_most else value >= threshold
    return TargetResult(name, f"{sign} {threshold:g}", value, "PASS" if passed else "FAIL")


def _core(results: BenchResults, length: int, config: str = REFERENCE) -> Measurement | None:
    found = results.find("core", config, length)
    return found if found is not None and found.ok else None


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return None if numerator is None or not denominator else numerator / denominator


def _time_over_bound(results: BenchResults, length: int) -> float | None:
    found = _core(results, length)
    return None if found is None else results.derived(found)["time_over_bound"]


def _time_vs_full(results: BenchResults, length: int) -> float | None:
    found = _core(results, length)
    return None if found is None else results.derived(found)["time_vs_full"]


def _growth(results: BenchResults) -> float | None:
    short, long = _core(results, 4096), _core(results, 16384)
    return None if short is None or long is None else _ratio(long.best, short.best)


def _memory_per_token_spread(results: BenchResults) -> float | None:
    """max/min - 1 of peak memory per token over the measured lengths from 4,096 to 32,768 (both ends needed)."""
    if _core(results, 4096) is None or _core(results, 32768) is None:
        return None
    per_token = [
        m.peak_bytes / m.length
        for m in results.measurements
        if m.section == "core" and m.config == REFERENCE and m.ok and 4096 <= m.length <= 32768 and m.peak_bytes
    ]
    return max(per_token) / min(per_token) - 1 if per_token else None


def _memory_vs_full(results: BenchResults) -> float | None:
    """The largest ratio of LSG's peak memory to full SDPA's over every length where both were measured."""
    ratios = [
        results.derived(m)["memory_vs_full"]
        for m in results.measurements
        if m.section == "core" and m.config == REFERENCE and m.ok
    ]
    ratios = [ratio for ratio in ratios if ratio is not None]
    return max(ratios) if ratios else None


def _model_speedup(results: BenchResults, other: str, length: int = 4096) -> float | None:
    """How many times faster the LSG model's training step is than `other`'s at `length`."""
    measured = {m.impl: m for m in results.measurements if m.section == "model" and m.length == length and m.ok}
    if "lsg" not in measured or other not in measured:
        return None
    return _ratio(measured[other].best, measured["lsg"].best)


Check = Callable[[BenchResults], TargetResult]


def _lsg(results: BenchResults, section: str, length: int, variant: str = "", impl: str = "lsg") -> Measurement | None:
    """The LSG model's (or another contender's) measured figure of a model-level section."""
    where = (section, impl, variant, length)
    return next((m for m in results.measurements if (m.section, m.impl, m.variant, m.length) == where and m.ok), None)


def _lsg_ratio(results: BenchResults, key: str, section: str, length: int, variant: str = "") -> float | None:
    """A derived ratio of the LSG model's row (`time_vs_original`, `time_vs_floor`...)."""
    found = _lsg(results, section, length, variant)
    return None if found is None else results.derived(found)[key]


def _worst_memory_vs_original(results: BenchResults) -> float | None:
    """The largest ratio of the LSG training step's peak memory to the original's over the lengths both measured."""
    ratios = [
        results.derived(m)["memory_vs_original"]
        for m in results.measurements
        if m.section == "model" and m.impl == "lsg" and m.ok
    ]
    ratios = [ratio for ratio in ratios if ratio is not None]
    return max(ratios) if ratios else None


def _lsg_growth(results: BenchResults, section: str, variant: str = "", impl: str = "lsg") -> float | None:
    short, long = _lsg(results, section, 4096, variant, impl), _lsg(results, section, 16384, variant, impl)
    return None if short is None or long is None else _ratio(long.best, short.best)


def _attention_bound(results: BenchResults, lsg: Measurement) -> float | None:
    """The least time the LSG model's attention can take: its matmuls' FLOPs (every layer; forward and backward in a
    training step, forward only in inference) at this run's fp32 GEMM rate (None in bf16, whose rate is not
    measured)."""
    shape = results.plan.get("model_shape")
    if not results.gflops or not shape or lsg.setting is None or lsg.variant.startswith(DTYPES["bfloat16"]):
        return None
    heads = shape["num_attention_heads"]
    batch = int(lsg.variant.split(" b")[1]) if lsg.variant else results.plan.get("batch", 1)
    flops = lsg_flops(CoreSetting(**lsg.setting), lsg.length, shape["hidden_size"] // heads, heads, batch)
    share = 1.0 if lsg.section == "model" else 1 / 3  # the forward's two matmuls of the step's six
    return flops * share * shape["num_hidden_layers"] / (results.gflops * 1e9)


def _reachable(results: BenchResults, against: str, section: str, length: int, variant: str = "") -> float | None:
    """The least ratio to `against` an LSG model computing exact attention could show on this machine: the dense-only
    floor plus its attention's matmuls at the full GEMM rate. A threshold below it cannot be met by faster code."""
    lsg = _lsg(results, section, length, variant)
    bound = None if lsg is None else _attention_bound(results, lsg)
    if bound is None:
        return None
    floor, other = results.same_length(lsg, "dense"), results.same_length(lsg, against)
    return None if floor is None or other is None else (floor.best + bound) / other.best


def _reported(name: str, value: float | None) -> TargetResult:
    """A figure the issue asks to see without a threshold."""
    if value is None:
        return TargetResult(name, "report", None, "n/a", "not measured")
    return TargetResult(name, "report", value, "info")


# What the notes beside issue 15's targets say: the least ratio faster code could reach on this machine (see
# `_reachable`), and how much of a growth is the dense layers' own.
EXACT_AT_BEST = "exact attention at best"
FLOOR_GROWTH = "dense-only floor's"

# The inference variants of the targets: each dtype at batch 1 (with a threshold) and batch 8 (reported).
INFERENCE_THRESHOLDS = {"fp32": 0.5, "bf16": 0.8}
INFERENCE_VARIANTS = tuple(f"{label} b{batch}" for label in DTYPES.values() for batch in (1, 8))


Note = Callable[[BenchResults], str | None]


def _noted(label: str, figure: Callable[[BenchResults], float | None]) -> Note:
    """A note beside a target: `label` and the figure, where the run measured it."""

    def note(results: BenchResults) -> str | None:
        value = figure(results)
        return None if value is None else f"{label}: {value:.2f}"

    return note


def _at_most(
    name: str, threshold: float | None, value: Callable[[BenchResults], float | None], note: Note | None = None
) -> Check:
    """A check that `value` is at most `threshold` (without a threshold, the figure is reported), with a `note` that
    puts it in context where the run measured what the note reads."""

    def check(results: BenchResults) -> TargetResult:
        measured = value(results)
        result = _reported(name, measured) if threshold is None else _verdict(name, measured, threshold, True)
        detail = None if note is None or measured is None else note(results)
        return result if detail is None else replace(result, detail=detail)

    return check


def _vs_original_targets() -> tuple[Check, ...]:
    """Issue 15's targets against the original LSG (`--original`) and the dense-only floor, model level."""
    checks = [
        _at_most(
            f"model: LSG / original training step at {n:,}",
            t,
            partial(_lsg_ratio, key="time_vs_original", section="model", length=n),
            _noted(EXACT_AT_BEST, partial(_reachable, against="original", section="model", length=n)),
        )
        for n, t in ((4096, 0.6), (16384, 0.45))
    ]
    checks.append(_at_most("model: LSG / original training peak memory, worst length", 0.7, _worst_memory_vs_original))
    for variant in INFERENCE_VARIANTS:
        label, batch = variant.split(" b")
        threshold = INFERENCE_THRESHOLDS[label] if batch == "1" else None
        checks += [
            _at_most(
                f"inference {variant}: LSG / original time at {n:,}",
                threshold,
                partial(_lsg_ratio, key="time_vs_original", section="inference", length=n, variant=variant),
                _noted(
                    EXACT_AT_BEST,
                    partial(_reachable, against="original", section="inference", length=n, variant=variant),
                ),
            )
            for n in (4096, 16384)
        ]
    checks += [
        _at_most(
            f"model: LSG / dense-only floor training step at {n:,}",
            1.3,
            partial(_lsg_ratio, key="time_vs_floor", section="model", length=n),
            _noted(EXACT_AT_BEST, partial(_reachable, against="dense", section="model", length=n)),
        )
        for n in (4096, 16384)
    ]
    checks.append(
        _at_most(
            "model: LSG training step time(16,384) / time(4,096)",
            4.5,
            partial(_lsg_growth, section="model"),
            _noted(FLOOR_GROWTH, partial(_lsg_growth, section="model", impl="dense")),
        )
    )
    checks += [
        _at_most(
            f"inference {v}: LSG time(16,384) / time(4,096)",
            4.5,
            partial(_lsg_growth, section="inference", variant=v),
            _noted(FLOOR_GROWTH, partial(_lsg_growth, section="inference", variant=v, impl="dense")),
        )
        for v in INFERENCE_VARIANTS
    ]
    return tuple(checks)


TARGETS: tuple[Check, ...] = (
    lambda r: _verdict(f"core {REFERENCE}: fwd+bwd time / FLOP bound at 4,096", _time_over_bound(r, 4096), 2.5, True),
    lambda r: _verdict(
        f"core {REFERENCE}: fwd+bwd time / FLOP bound at 16,384", _time_over_bound(r, 16384), 2.5, True
    ),
    lambda r: _verdict(f"core {REFERENCE}: time(16,384) / time(4,096)", _growth(r), 4.5, True),
    lambda r: _verdict(
        f"core {REFERENCE}: peak memory per token, spread from 4,096 to 32,768 (max/min - 1)",
        _memory_per_token_spread(r),
        0.25,
        True,
        "needs 4,096 and 32,768",
    ),
    lambda r: _verdict(f"core {REFERENCE} / {SDPA_LABEL}: time at 4,096", _time_vs_full(r, 4096), 0.3, True),
    lambda r: _verdict(f"core {REFERENCE} / {SDPA_LABEL}: time at 16,384", _time_vs_full(r, 16384), 0.08, True),
    lambda r: _verdict(f"core {REFERENCE} / {SDPA_LABEL}: peak memory, worst length", _memory_vs_full(r), 1.25, True),
    lambda r: _verdict(
        f"model at 4,096: {MODEL_LABELS['longformer']} step / LSG step", _model_speedup(r, "longformer"), 5, False
    ),
    lambda r: _verdict(
        f"model at 4,096: {MODEL_LABELS['bigbird']} step / LSG step", _model_speedup(r, "bigbird"), 5, False
    ),
)
# Issue 15's targets need the original (`--original`), the dense-only floor and the inference section: shown only
# where this run measured what they read, so a run without them is not a page of n/a.
MEASURED_ONLY: tuple[Check, ...] = _vs_original_targets()


def evaluate_targets(results: BenchResults) -> list[TargetResult]:
    measured = [target for target in (check(results) for check in MEASURED_ONLY) if target.measured is not None]
    return [check(results) for check in TARGETS] + measured
