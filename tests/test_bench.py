"""`hubgen bench`: the FLOP bound, the targets' verdicts, the skip rule, and a tiny end-to-end run (real workers)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from support.cli import run_cli

from hubgen.bench import runner
from hubgen.bench.plan import REFERENCE_SETTING, SDPA_LABEL, BenchPlan, CoreSetting, ModelShape, full_flops, lsg_flops
from hubgen.bench.report import CSV_COLUMNS, OUTPUT_FILES, write_outputs
from hubgen.bench.results import BenchResults, Measurement
from hubgen.bench.targets import evaluate_targets
from hubgen.errors import InvalidInputError


def test_flop_bound_of_a_hand_computed_case():
    # b=4, s=4, g=1: a text query sees 1 + 3*4 + 2*4 = 21 keys; 16 text queries, and the global query sees all 17.
    setting = CoreSetting("norm", 4, 4, 2, 1)
    assert setting.key_slots == 21
    assert lsg_flops(setting, 16, head_dim=1, heads=1) == 12 * (16 * 21 + 17)
    # The reference setting at 4,096 tokens, 12 heads of 64: 12 * 64 * 12 * (4096 * 641 + 4097).
    assert lsg_flops(REFERENCE_SETTING, 4096, 64, 12) == 24_234_697_728
    # No sparse keys: g + 3b; inputs of at most 2b tokens take the full path and are counted as full attention.
    assert CoreSetting("none", 256, 0).key_slots == 769
    assert lsg_flops(REFERENCE_SETTING, 256, 64, 12) == full_flops(257, 64, 12) == 12 * 64 * 257**2 * 12


@pytest.mark.parametrize("text", ["norm:128", "norm:x:128:4", "nope:128:128:4", "norm:128:128:3"])
def test_impossible_settings_are_refused(text):
    with pytest.raises(InvalidInputError):
        CoreSetting.parse(text)


def test_settings_parse_with_defaults():
    assert CoreSetting.parse("norm:128:128:4") == REFERENCE_SETTING
    assert CoreSetting.parse("bos_pooling:128:128:8:2").label == "lsg bos_pooling 128/128 f8 g2"


def test_lengths_are_skipped_when_predicted_too_long_or_too_large():
    plan = BenchPlan(repeats=3, max_seconds=100, max_memory_bytes=2**30)
    done = [
        Measurement("core", "c", "lsg", 1024, times=[1.0], peak_bytes=2**20),
        Measurement("core", "c", "lsg", 2048, times=[4.0], peak_bytes=2**21),
    ]
    # Seen growth 1024 -> 2048 is 4x: exponent 2, so 4,096 is predicted at 16 s a step, 68 s in all: run it.
    assert runner.skip_reason(done, 4096, plan, 1.0) is None
    assert "max-seconds" in runner.skip_reason(done, 8192, plan, 1.0)
    small = BenchPlan(max_memory_bytes=2**22)
    assert "max-memory-gb" in runner.skip_reason(done, 8192, small, 1.0)
    failed = [Measurement("core", "c", "lsg", 1024, status="failed", reason="x")]
    assert runner.skip_reason(failed, 2048, plan, 1.0) == "a shorter length failed"


def test_warm_up_lengths_stay_on_the_measured_code_path():
    series = {
        s.impl: s for s in runner.plan_series(BenchPlan(), runner.RunFiles(Path("unused"))) if s.section == "model"
    }
    assert series["lsg"].warmup_length(1024) == 384  # a quarter (256) would take LSG's full-attention path
    assert series["bigbird"].warmup_length(1024) == 768  # BigBird is block-sparse above 11 blocks of 64
    assert series["sdpa"].warmup_length(1024) == 256
    assert series["lsg"].warmup_length(8192) == 2048


def _synthetic(lsg_seconds: float, lsg_bytes: int) -> BenchResults:
    """Reference setting against SDPA at 4,096 and 16,384 (and 32,768 for LSG), with a 100 GFLOP/s machine."""
    rows = []
    for length in (4096, 16384, 32768):
        flops = lsg_flops(REFERENCE_SETTING, length, 64, 12)
        scale = length / 4096
        rows.append(
            Measurement(
                "core",
                REFERENCE_SETTING.label,
                "lsg",
                length,
                times=[lsg_seconds * scale],
                peak_bytes=lsg_bytes * int(scale),
                flops=flops,
            )
        )
        if length <= 16384:
            rows.append(
                Measurement("core", SDPA_LABEL, "sdpa", length, times=[10 * scale**2], peak_bytes=2**30 * int(scale))
            )
    for impl, seconds in (("lsg", 1.0), ("longformer", 6.0), ("bigbird", 4.0)):
        rows.append(Measurement("model", impl, impl, 4096, times=[seconds], peak_bytes=2**20))
    return BenchResults({}, {}, {"gflops_best": 100.0}, "", rows)


def test_targets_pass_fail_and_not_measured():
    bound = lsg_flops(REFERENCE_SETTING, 4096, 64, 12) / 100e9
    verdicts = {t.name: t.verdict for t in evaluate_targets(_synthetic(2 * bound, 2**29))}
    assert all(verdict == "PASS" for name, verdict in verdicts.items() if "bigbird" not in name), verdicts
    assert [v for name, v in verdicts.items() if "bigbird" in name] == ["FAIL"]  # 4x faster only
    slow = {t.name: t.verdict for t in evaluate_targets(_synthetic(3 * bound, 2**31))}
    assert slow[next(name for name in slow if "FLOP bound at 4,096" in name)] == "FAIL"
    assert slow[next(name for name in slow if "peak memory, worst" in name)] == "FAIL"
    empty = BenchResults({}, {}, {}, "", [])
    assert {t.verdict for t in evaluate_targets(empty)} == {"n/a"}


@pytest.fixture(scope="module")
def tiny_run_log():
    """One real run of a tiny configuration: 4 fresh worker processes (GEMM, LSG core, SDPA core, LSG model), and
    what it reported while it ran: ("start", step) and ("done", line) in order."""
    plan = BenchPlan(
        core_lengths=(512,),
        lsg_extra_lengths=(),
        settings=(REFERENCE_SETTING,),
        heads=2,
        head_dim=16,
        model_lengths=(512,),
        models=("lsg",),
        model_shape=ModelShape(vocab_size=1000, hidden_size=32, num_attention_heads=2, intermediate_size=64,
                               num_hidden_layers=1),
        repeats=1,
        gemm_size=256,
        max_memory_bytes=2**30,
        threads=1,
    )  # fmt: skip
    log = []
    results = runner.run_benchmark(
        plan, lambda step: log.append(("start", step)), lambda line: log.append(("done", line))
    )
    return results, log


@pytest.fixture(scope="module")
def tiny_run(tiny_run_log):
    return tiny_run_log[0]


def test_each_measurement_is_reported_as_soon_as_it_is_done(tiny_run_log):
    results, log = tiny_run_log
    assert [kind for kind, _ in log] == ["start", "done"] * 4  # each result before the next measurement starts
    lines = [text for kind, text in log if kind == "done"]
    assert lines[0].startswith("fp32 GEMM throughput: ") and lines[0].endswith("median"), lines[0]
    assert lines[1:] == [measurement.line() for measurement in results.measurements]
    assert lines[1].startswith(f"core: {REFERENCE_SETTING.label} at 512 tokens: best ") and "MiB" in lines[1]


def test_the_memory_worker_returns_a_positive_peak(tiny_run):
    assert [(m.section, m.config, m.status) for m in tiny_run.measurements] == [
        ("core", REFERENCE_SETTING.label, "ok"),
        ("core", SDPA_LABEL, "ok"),
        ("model", "lsg roberta (norm 128/128 f4)", "ok"),
    ], [m.reason for m in tiny_run.measurements]
    for measurement in tiny_run.measurements:
        assert measurement.peak_bytes > 0, measurement
        assert len(measurement.times) == 1 and measurement.best > 0


def test_a_tiny_run_writes_table_csv_json_and_chart(tiny_run, tmp_path):
    paths = write_outputs(tiny_run, evaluate_targets(tiny_run), tmp_path)
    assert {path.name for path in paths.values()} == set(OUTPUT_FILES.values())

    table = paths["table"].read_text()
    assert "| config" in table and "x bound" in table and "Targets" in table and "n/a" in table
    with paths["csv"].open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == 3 and float(rows[0]["time_over_bound"]) > 0 and float(rows[0]["time_vs_full"]) > 0
    document = json.loads(paths["json"].read_text())
    assert {"plan", "machine", "gemm", "code_sha256", "measurements", "targets"} <= set(document)
    assert document["gemm"]["gflops_best"] > 0
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_help_shows_examples(capsys, monkeypatch):
    result = run_cli(["bench", "--help"], capsys, monkeypatch)
    assert result.code == 0 and "hubgen bench --quick" in result.output


def test_bench_refuses_bad_lengths(capsys, monkeypatch):
    result = run_cli(["bench", "--lengths", "4k"], capsys, monkeypatch)
    assert result.code == 2 and "--lengths" in result.output


def test_bench_prints_each_measurement_in_a_log(capsys, monkeypatch, tmp_path):
    """Output that is not a terminal (a CI log): one line per result, not a silent run and a table at the end."""
    args = ["bench", "--quick", "--sections", "core", "--lengths", "512", "--lsg-lengths", "", "--no-sdpa"]
    args += ["--setting", "norm:128:128:4", "--repeats", "1", "--threads", "1", "--out", tmp_path]
    result = run_cli(args, capsys, monkeypatch)
    assert result.code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(line.startswith("fp32 GEMM throughput: ") for line in lines), result.stderr
    measured = [line for line in lines if line.startswith(f"core: {REFERENCE_SETTING.label} at 512 tokens: best ")]
    assert len(measured) == 1, result.stderr
