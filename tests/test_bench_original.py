"""`hubgen bench --original`: the original LSG implementation, run on its own transformers in an isolated worker,
computes what hubgen's LSG computes on the shared weights (what makes the comparison fair), and is timed.

Needs a checkout of github.com/ccdv-ai/convert_checkpoint_to_lsg, named by `HUBGEN_LSG_ORIGINAL` (its code is never
part of this project); the tests skip without one. The first run installs transformers 4.36.2 side by side.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from hubgen.bench import runner
from hubgen.bench.original import MODELING_FILE
from hubgen.bench.plan import BenchPlan, CoreSetting, ModelShape
from hubgen.registry import get_model_type
from hubgen.render import write_modeling_file

CHECKOUT = os.environ.get("HUBGEN_LSG_ORIGINAL", "")

pytestmark = pytest.mark.skipif(
    not (CHECKOUT and (Path(CHECKOUT) / MODELING_FILE).is_file()),
    reason="set HUBGEN_LSG_ORIGINAL to a checkout of github.com/ccdv-ai/convert_checkpoint_to_lsg",
)


@pytest.fixture(scope="module")
def plan():
    return BenchPlan(
        sections=("model",), models=("lsg",), model_lengths=(256,), model_setting=CoreSetting("norm", 32, 32, 4),
        model_shape=ModelShape(vocab_size=1000, hidden_size=64, num_attention_heads=2, intermediate_size=128,
                               num_hidden_layers=2),
        repeats=1, gemm_size=256, max_memory_bytes=2**30, threads=1, original=CHECKOUT,
    )  # fmt: skip


def test_a_run_checks_the_logits_then_times_both(plan):
    results = runner.run_benchmark(plan)
    check = results.machine["original"]
    assert check["status"] == "ok", check
    assert check["logits_max_abs_diff"] <= 1e-4 and check["transformers"] == "4.36.2"
    assert [(m.impl, m.status) for m in results.measurements] == [("lsg", "ok"), ("original", "ok")], [
        m.reason for m in results.measurements
    ]
    original = results.measurements[1]
    assert original.best > 0 and original.peak_bytes > 0
    assert results.derived(results.measurements[0])["time_vs_original"] > 0


def test_the_check_fails_without_the_shared_weights(plan, tmp_path):
    """Not vacuous: the original's own random initialisation gives other logits."""
    module_path = write_modeling_file(get_model_type("roberta"), tmp_path)
    files = runner.prepare_original(plan, runner.RunFiles(module_path), tmp_path / "weights.safetensors")
    assert files.weights_path.is_file() and files.original_sys_path
    files = replace(files, weights_path=None)
    check = runner.check_original(plan, files)
    assert check["status"] == "ok" and check["logits_max_abs_diff"] > 1e-3, check
