"""The performance targets of LSG attention, checked against the ratios one run measured.

Every target is a ratio of figures from the same run on the same machine, so it holds or fails whatever the machine's
speed. The bench reports them; it does not fail the process (a loaded machine must not break a pipeline), and a
target whose figures were not measured (skipped, failed, or lengths not asked for) reads `n/a`, never PASS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hubgen.bench.plan import MODEL_LABELS, REFERENCE_SETTING, SDPA_LABEL
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


def evaluate_targets(results: BenchResults) -> list[TargetResult]:
    return [check(results) for check in TARGETS]
