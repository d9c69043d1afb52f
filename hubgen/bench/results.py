"""The measurements of one run and the figures derived from them (time over the FLOP bound, ratios to full attention).

Derived figures live here, computed one way, so that the tables, the CSV, the JSON and the targets cannot disagree.
Times are the best of the repeats: on a shared machine the minimum is the least disturbed estimate of what the code
costs; the median is kept beside it to show the spread.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

GIB = 2**30
MIB = 2**20
# Sections whose rows are whole models, compared with each other at the same length (and variant).
MODEL_SECTIONS = ("model", "inference")


@dataclass
class Measurement:
    """One configuration at one length: `ok` with figures, `failed` or `skipped` with the reason."""

    section: str
    config: str
    impl: str
    length: int
    status: str = "ok"
    reason: str = ""
    times: list[float] = field(default_factory=list)
    peak_bytes: int | None = None
    warmup_length: int | None = None
    flops: float | None = None
    setting: dict[str, Any] | None = None
    # What tells configurations of one contender apart within a section (inference: dtype and batch, "fp32 b1").
    variant: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def best(self) -> float | None:
        return min(self.times) if self.ok and self.times else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.ok and self.times else None

    @property
    def peak_mib(self) -> float | None:
        return None if not self.ok or self.peak_bytes is None else self.peak_bytes / MIB

    def line(self) -> str:
        """One line for a log, printed as soon as the measurement is done."""
        where = f"{self.section}: {self.config} at {self.length:,} tokens"
        if not self.ok:
            return f"{where}: {self.status} ({self.reason})"
        memory = f", peak {self.peak_mib:.1f} MiB" if self.peak_mib is not None else ""
        return f"{where}: best {self.best:.3f} s, median {self.median:.3f} s{memory}"


@dataclass
class BenchResults:
    """A whole run: what was asked, the machine, its GEMM rate and every measurement, in run order."""

    plan: dict[str, Any]
    machine: dict[str, Any]
    gemm: dict[str, Any]
    code_sha256: str
    measurements: list[Measurement]

    @property
    def gflops(self) -> float | None:
        return self.gemm.get("gflops_best")

    def find(self, section: str, config: str, length: int) -> Measurement | None:
        return next(
            (m for m in self.measurements if (m.section, m.config, m.length) == (section, config, length)), None
        )

    def configs(self, section: str) -> list[str]:
        """Configurations of a section in run order."""
        return list(dict.fromkeys(m.config for m in self.measurements if m.section == section))

    def full_attention(self, measurement: Measurement) -> Measurement | None:
        """The full-attention figure the measurement is compared with: same section, same length."""
        return self.same_length(measurement, "sdpa")

    def same_length(self, measurement: Measurement, impl: str) -> Measurement | None:
        """`impl`'s measured figure in the same section, variant and length."""
        where = (measurement.section, impl, measurement.variant, measurement.length)
        return next((m for m in self.measurements if (m.section, m.impl, m.variant, m.length) == where and m.ok), None)

    def _model_level(self, measurement: Measurement, impl: str) -> Measurement | None:
        """`impl`'s figure next to a model-level row (None for the attention core and for `impl`'s own rows)."""
        if measurement.section not in MODEL_SECTIONS:
            return None
        found = self.same_length(measurement, impl)
        return None if found is measurement else found

    def lsg_model(self, measurement: Measurement) -> Measurement | None:
        """The LSG model's figure at the same length, for model-level rows (None for the attention core)."""
        return self._model_level(measurement, "lsg")

    def bound_seconds(self, measurement: Measurement) -> float | None:
        """The FLOP bound's time at the measured GEMM rate."""
        if measurement.flops is None or not self.gflops:
            return None
        return measurement.flops / (self.gflops * 1e9)

    def derived(self, measurement: Measurement) -> dict[str, float | None]:
        """Figures read against the bound and against full attention at the same length (None when missing)."""
        bound = self.bound_seconds(measurement)
        full = self.full_attention(measurement)
        best, peak = measurement.best, measurement.peak_bytes if measurement.ok else None
        lsg = self.lsg_model(measurement)
        original, floor = self._model_level(measurement, "original"), self._model_level(measurement, "dense")
        return {
            "bound_s": bound,
            "time_over_bound": _ratio(best, bound),
            "time_vs_full": None if full is measurement or full is None else _ratio(best, full.best),
            "memory_vs_full": None if full is measurement or full is None else _ratio(peak, full.peak_bytes),
            "time_vs_lsg": None if lsg is None else _ratio(best, lsg.best),
            "time_vs_original": None if original is None else _ratio(best, original.best),
            "memory_vs_original": None if original is None else _ratio(peak, original.peak_bytes),
            "time_vs_floor": None if floor is None else _ratio(best, floor.best),
            "peak_kib_per_token": None if peak is None else peak / 1024 / measurement.length,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "machine": self.machine,
            "gemm": self.gemm,
            "code_sha256": self.code_sha256,
            "measurements": [
                {**asdict(m), "time_best_s": m.best, "time_median_s": m.median, **self.derived(m)}
                for m in self.measurements
            ],
        }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
