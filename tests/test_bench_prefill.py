"""`hubgen bench --sections prefill`: a Llama-shaped library model's prefill with attn_implementation "lsg" and
"sdpa", each in its fresh worker, reported in its own table against full attention."""

from __future__ import annotations

from hubgen.bench import runner
from hubgen.bench.plan import BenchPlan
from hubgen.bench.prefill import PREFILL_LABELS
from hubgen.bench.report import markdown
from hubgen.bench.targets import evaluate_targets


def test_a_tiny_prefill_run_measures_both_attentions_and_reports_them():
    plan = BenchPlan(sections=("prefill",), prefill_lengths=(512,), repeats=1, gemm_size=256, max_memory_bytes=2**30,
                     threads=1)  # fmt: skip
    results = runner.run_benchmark(plan)
    measured = [(m.section, m.config, m.status) for m in results.measurements]
    assert measured == [("prefill", PREFILL_LABELS["lsg"], "ok"), ("prefill", PREFILL_LABELS["sdpa"], "ok")], [
        m.reason for m in results.measurements
    ]
    lsg = results.measurements[0]
    assert lsg.peak_bytes > 0 and lsg.best > 0 and results.derived(lsg)["time_vs_full"] > 0
    table = markdown(results, evaluate_targets(results))
    assert "Prefill: a Llama-shaped library model" in table and PREFILL_LABELS["sdpa"] in table
    assert "prefill Llama hidden 768, 12 query / 4 key-value heads" in table
