"""`hubgen bench`'s model-level additions of issue 15: the inference section, the dense-only floor, the options that
plan them, and the targets read from them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from support.cli import run_cli
from support.rendered import import_rendered

from hubgen.bench import runner
from hubgen.bench.dense_only import patch_dense_only
from hubgen.bench.original import MODELING_FILE
from hubgen.bench.plan import BenchPlan, CoreSetting, ModelShape
from hubgen.bench.report import markdown
from hubgen.bench.results import BenchResults, Measurement
from hubgen.bench.targets import evaluate_targets
from hubgen.cli.bench import build_plan
from hubgen.errors import InvalidInputError

FILES = runner.RunFiles(Path("modeling.py"), Path("weights.safetensors"), Path("original.py"), ("env", "shared"))


@pytest.fixture
def checkout(tmp_path):
    """A folder laid out as a checkout of the original (only the file the bench loads; empty, never run)."""
    (tmp_path / MODELING_FILE).parent.mkdir(parents=True)
    (tmp_path / MODELING_FILE).touch()
    return tmp_path


def test_the_options_plan_the_inference_section_and_the_original(checkout):
    plan = build_plan(
        sections="model,inference", models="lsg,dense", inference_lengths="4096,16_384", inference_batches="1,8",
        dtypes="bfloat16", hidden_size=256, original=checkout, max_memory_gb=1,
    )  # fmt: skip
    assert plan.sections == ("model", "inference") and plan.inference_lengths == (4096, 16384)
    assert plan.inference_batches == (1, 8) and plan.inference_dtypes == ("bfloat16",)
    assert plan.model_shape == ModelShape(hidden_size=256, num_attention_heads=4, intermediate_size=1024)
    assert plan.original == str(checkout) and plan.contenders == ("lsg", "original", "dense")
    series = runner.plan_series(plan, FILES)
    assert [(s.section, s.impl, s.variant) for s in series] == [
        ("model", "lsg", ""), ("model", "original", ""), ("model", "dense", ""),
        ("inference", "lsg", "bf16 b1"), ("inference", "lsg", "bf16 b8"),
        ("inference", "original", "bf16 b1"), ("inference", "original", "bf16 b8"),
        ("inference", "dense", "bf16 b1"), ("inference", "dense", "bf16 b8"),
    ]  # fmt: skip
    original = series[6].job
    assert original["kind"] == "inference" and original["dtype"] == "bfloat16" and original["batch"] == 8
    assert original["original_modeling_file"] == "original.py" and original["sys_path"] == ["env", "shared"]
    assert all(s.job["weights_path"] == "weights.safetensors" for s in series)
    assert "sys_path" not in series[3].job  # hubgen's own models run in the main environment
    assert series[6].config == "original lsg roberta (norm 128/128 f4) bf16 b8"
    # The original and the floor warm up on LSG's sparse path, as LSG does.
    assert {s.warmup_length(1024) for s in series if s.section == "model"} == {384}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"dtypes": "float16"}, "--dtypes: unknown float16"),
        ({"inference_batches": "0"}, "--inference-batches must be at least 1"),
        ({"hidden_size": 100}, "--hidden-size 100 is not a multiple of 64"),
        ({"sections": "inference,decode"}, "--sections: unknown decode"),
    ],
)
def test_impossible_inference_options_are_refused(options, message):
    with pytest.raises(InvalidInputError, match=message):
        build_plan(max_memory_gb=1, **options)


def test_an_invalid_original_checkout_is_one_clear_line_and_exit_code_2(capsys, monkeypatch, tmp_path):
    result = run_cli(["bench", "--sections", "model", "--original", tmp_path / "nowhere"], capsys, monkeypatch)
    assert result.code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "--original" in lines[0] and MODELING_FILE.as_posix() in lines[0]
    assert "convert_checkpoint_to_lsg" in lines[0]


def test_the_dense_only_patch_passes_the_values_through_the_same_projections(tmp_path):
    """Its output differs from LSG's and equals the layer computed by hand with the attention core left out: each
    row's value projection, then the attention output projection, the feed-forward and both layer norms."""
    module = import_rendered("roberta", tmp_path)
    config = module.LSGRobertaConfig(
        vocab_size=100, hidden_size=32, num_attention_heads=2, intermediate_size=64, num_hidden_layers=1,
        max_position_embeddings=600, block_size=16, sparse_block_size=16, sparsity_factor=4,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    torch.manual_seed(0)
    model = module.LSGRobertaModel(config).eval()
    layer = model.encoder.layer[0]
    seen = {}
    layer.register_forward_pre_hook(lambda _, args: seen.__setitem__("input", args[0]))
    layer.register_forward_hook(lambda _, args, output: seen.__setitem__("output", output[0]))
    ids = torch.randint(3, 100, (2, 128), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        lsg = model(input_ids=ids).last_hidden_state
        patch_dense_only(module)
        dense = model(input_ids=ids).last_hidden_state
        h = seen["input"]
        attention = layer.attention.output.LayerNorm(layer.attention.output.dense(layer.attention.self.value(h)) + h)
        hidden = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(attention))
        by_hand = layer.output.LayerNorm(layer.output.dense(hidden) + attention)
    assert (dense - lsg).abs().max() > 1e-2  # the core is gone (a 128-token input takes the sparse path)
    torch.testing.assert_close(seen["output"], by_hand, atol=1e-6, rtol=1e-6)


def test_the_dense_only_patch_refuses_a_module_without_the_core():
    with pytest.raises(AttributeError, match="lsg_attention"):
        patch_dense_only(torch.nn)


def _measurement(section, impl, length, seconds, variant="", peak=2**20):
    return Measurement(section, impl, impl, length, times=[seconds], peak_bytes=peak, variant=variant)


def test_targets_against_the_original_and_the_floor_pass_fail_and_are_shown_only_when_measured():
    rows = [
        _measurement("model", "lsg", 4096, 1.0, peak=60),
        _measurement("model", "original", 4096, 2.0, peak=100),
        _measurement("model", "dense", 4096, 0.9),
        _measurement("model", "lsg", 16384, 4.0, peak=80),
        _measurement("model", "original", 16384, 8.0, peak=100),
        _measurement("model", "dense", 16384, 2.0),
        _measurement("inference", "lsg", 4096, 1.0, "fp32 b1"),
        _measurement("inference", "original", 4096, 2.5, "fp32 b1"),
        _measurement("inference", "lsg", 4096, 1.0, "bf16 b8"),
        _measurement("inference", "original", 4096, 1.1, "bf16 b8"),
    ]
    targets = evaluate_targets(BenchResults({}, {}, {}, "", rows))
    issue_15 = {t.name: (t.verdict, round(t.measured, 3)) for t in targets if t.measured is not None}
    assert issue_15 == {
        "model: LSG / original training step at 4,096": ("PASS", 0.5),
        "model: LSG / original training step at 16,384": ("FAIL", 0.5),
        "model: LSG / original training peak memory, worst length": ("FAIL", 0.8),
        "inference fp32 b1: LSG / original time at 4,096": ("PASS", 0.4),
        "inference bf16 b8: LSG / original time at 4,096": ("info", 0.909),
        "model: LSG / dense-only floor training step at 4,096": ("PASS", 1.111),
        "model: LSG / dense-only floor training step at 16,384": ("FAIL", 2.0),
        "model: LSG training step time(16,384) / time(4,096)": ("PASS", 4.0),
    }
    # Not measured here (no inference at 16,384, no original in bf16 b1): left out, not n/a rows.
    assert not any("16,384" in t.name and t.name.startswith("inference") for t in targets)
    assert all(t.verdict == "n/a" for t in targets if t.measured is None)
    assert len([t for t in targets if t.measured is None]) == 9  # the attention core's and Longformer/BigBird's


def test_target_notes_give_the_least_ratio_exact_attention_allows_and_the_floor_growth():
    """Beside a target: the dense-only floor plus the attention's matmuls at the run's GEMM rate, over the
    contender's time (what no faster code can beat), and the floor's own growth."""
    setting = {"sparsity_type": "norm", "block_size": 128, "sparse_block_size": 128, "sparsity_factor": 4}
    setting["num_global_tokens"] = 1

    def row(section, impl, length, seconds, variant=""):
        found = _measurement(section, impl, length, seconds, variant)
        found.setting = setting if impl in ("lsg", "dense", "original") else None
        return found

    rows = [
        row("model", "lsg", 4096, 1.0),
        row("model", "original", 4096, 2.0),
        row("model", "dense", 4096, 0.5),
        row("model", "lsg", 16384, 4.0),
        row("model", "dense", 16384, 2.5),
        row("inference", "lsg", 4096, 0.3, "fp32 b1"),
        row("inference", "original", 4096, 0.6, "fp32 b1"),
        row("inference", "dense", 4096, 0.1, "fp32 b1"),
        row("inference", "lsg", 4096, 0.1, "bf16 b1"),
        row("inference", "original", 4096, 0.2, "bf16 b1"),
        row("inference", "dense", 4096, 0.05, "bf16 b1"),
    ]
    plan = {"model_shape": {"hidden_size": 256, "num_attention_heads": 4, "num_hidden_layers": 2}, "batch": 1}
    results = BenchResults(plan, {}, {"gflops_best": 100.0}, "", rows)
    notes = {t.name: t.detail for t in evaluate_targets(results) if t.measured is not None}
    # 12 x 64 FLOPs per (query, key) pair and head: 4,096 text queries x (1 + 3 x 128 + 2 x 128) keys and one
    # global query x 4,097 keys, 4 heads, 2 layers; at 100 GFLOP/s. Inference is the forward: a third of that.
    training = 12 * 64 * (4096 * 641 + 4097) * 4 * 2 / 100e9
    assert (
        notes["model: LSG / original training step at 4,096"] == f"exact attention at best: {(0.5 + training) / 2:.2f}"
    )
    assert notes["model: LSG / dense-only floor training step at 4,096"] == (
        f"exact attention at best: {(0.5 + training) / 0.5:.2f}"
    )
    inference = f"exact attention at best: {(0.1 + training / 3) / 0.6:.2f}"
    assert notes["inference fp32 b1: LSG / original time at 4,096"] == inference
    assert notes["inference bf16 b1: LSG / original time at 4,096"] == ""  # bf16's GEMM rate is not measured
    assert notes["model: LSG training step time(16,384) / time(4,096)"] == "dense-only floor's: 5.00"


def test_a_tiny_inference_run_measures_padded_batches_in_bf16():
    """One real worker: LSG's forward in bf16 on a padded batch of 2, under inference_mode, with its peak memory."""
    plan = BenchPlan(
        sections=("inference",), models=("lsg",), inference_lengths=(256,), inference_dtypes=("bfloat16",),
        inference_batches=(2,), model_setting=CoreSetting("norm", 32, 32, 4),
        model_shape=ModelShape(vocab_size=1000, hidden_size=32, num_attention_heads=2, intermediate_size=64,
                               num_hidden_layers=1),
        repeats=1, gemm_size=256, max_memory_bytes=2**30, threads=1,
    )  # fmt: skip
    results = runner.run_benchmark(plan)
    [measured] = results.measurements
    assert (measured.section, measured.impl, measured.variant, measured.status) == (
        "inference", "lsg", "bf16 b2", "ok"
    ), measured.reason  # fmt: skip
    assert measured.peak_bytes > 0 and measured.best > 0 and measured.warmup_length == 96
    assert "Inference: one forward under torch.inference_mode()" in markdown(results, evaluate_targets(results))


def test_rounds_alternate_the_configurations_and_keep_each_ones_best(monkeypatch):
    """`--rounds 3`: lsg, dense, lsg, dense, lsg, dense (not lsg three times, then dense), all times kept."""
    calls = []

    def worker(job, timeout, threads=None):
        if job["kind"] == "gemm":
            return {"status": "ok", "gflops_best": 1.0, "gflops_median": 1.0, "size": 1}
        calls.append(job["model"])
        seconds = {1: 3.0, 2: 1.0, 3: 2.0}[calls.count(job["model"])]
        return {"status": "ok", "times": [seconds], "peak_bytes": 10, "warmup_length": 128}

    monkeypatch.setattr(runner, "run_worker", worker)
    plan = BenchPlan(sections=("model",), models=("lsg", "dense"), model_lengths=(512,), rounds=3, threads=1)
    results = runner.run_benchmark(plan)
    assert calls == ["lsg", "dense"] * 3
    assert [(m.impl, m.times, m.best) for m in results.measurements] == [
        ("lsg", [3.0, 1.0, 2.0], 1.0), ("dense", [3.0, 1.0, 2.0], 1.0)
    ]  # fmt: skip
    with pytest.raises(InvalidInputError, match="--rounds 0"):
        build_plan(rounds=0, max_memory_gb=1)
