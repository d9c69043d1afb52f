"""Native long models (`--attention longformer|bigbird`, and extension of Longformer, BigBird and YOSO bases): loaded
in a fresh process where hubgen is not importable, with transformers' own classes and no `trust_remote_code`, they
have every weight, compute the base's logits on inputs they attend fully, and run near their maximum length."""

from __future__ import annotations

import json

import pytest
import transformers
from support.cli import run_cli
from support.compat import run_isolated

from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.errors import InvalidInputError
from hubgen.offline.tiny import training_sentences
from hubgen.offline.tiny_native import make_tiny_yoso

# Given ARGS, loads `folder` and `base` with AutoModelForMaskedLM (no remote code), runs a long input first (BigBird switches to
# full attention for good on a short one), then the training sentences up to `short` tokens, padded as a batch.
CHILD = """
import json, torch, transformers
folder, base, short, long, texts = ARGS["folder"], ARGS["base"], ARGS["short"], ARGS["long"], ARGS["texts"]
model, info = transformers.AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
words = ("the cat sat on the mat and the dog ran to the park " * 1000).split()
ids = tokenizer(" ".join(words), truncation=True, max_length=long, return_tensors="pt")
with torch.no_grad():
    long_logits = model.eval()(**ids).logits
inputs = tokenizer(texts, padding=True, truncation=True, max_length=short, return_tensors="pt")
reference = transformers.AutoModelForMaskedLM.from_pretrained(base).eval()
with torch.no_grad():
    ours, theirs = model(**inputs).logits, reference(**inputs).logits
kept = inputs["attention_mask"].bool()
print(json.dumps({
    "class": type(model).__name__,
    "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
    "difference": float((ours[kept] - theirs[kept]).abs().max()),
    "short_tokens": inputs["input_ids"].shape[1],
    "long_tokens": ids["input_ids"].shape[1], "long_finite": bool(torch.isfinite(long_logits).all()),
    "same_top1": bool((ours[kept].argmax(-1) == theirs[kept].argmax(-1)).all()),
}))
"""


def _load_in_fresh_process(folder, base, short: int, long: int, tmp_path, corpus: str = "bert") -> dict:
    """What CHILD reports, on the first sentences `corpus`'s tiny checkpoint learnt."""
    arguments = {"folder": str(folder), "base": str(base), "short": short, "long": long}
    arguments["texts"] = list(training_sentences(corpus)[:6])
    run = run_isolated(f"ARGS = {arguments!r}\n{CHILD}", cwd=tmp_path, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def _check_folder(folder) -> None:
    """No Python file, no auto_map: nothing asks for remote code."""
    assert not list(folder.rglob("*.py"))
    assert "auto_map" not in json.loads((folder / "config.json").read_text())


@pytest.mark.parametrize(
    ("base_type", "attention"),
    [
        ("bert", "longformer"),
        ("bert", "bigbird"),
        ("roberta", "longformer"),
        ("roberta", "bigbird"),
        ("camembert", "longformer"),
        ("xlm-roberta", "bigbird"),
    ],
)
def test_a_short_base_becomes_a_native_long_model(tiny_checkpoint, base_type, attention, tmp_path):
    """BERT (positions from 0, Longformer's start after the padding id), RoBERTa (offset 2), CamemBERT and
    XLM-RoBERTa (their SentencePiece tokenizers kept) to 4,096."""
    base = tiny_checkpoint(base_type)
    output = tmp_path / f"{attention}-{base_type}-4096"
    convert(ConversionRequest(str(base), 4096, output, attention=attention))
    _check_folder(output)
    config = json.loads((output / "config.json").read_text())
    expected_class = {"longformer": "LongformerForMaskedLM", "bigbird": "BigBirdForMaskedLM"}[attention]
    assert config["architectures"] == [expected_class]
    if attention == "longformer":
        assert config["attention_window"] == [512, 512]
        assert config["max_position_embeddings"] == 4096 + config["pad_token_id"] + 1
    else:
        assert (config["block_size"], config["num_random_blocks"], config["max_position_embeddings"]) == (64, 3, 4096)
    # Longformer attends fully up to window/2 + 1 tokens; BigBird up to (5 + 2 x 3) x 64.
    short = 257 if attention == "longformer" else 512
    result = _load_in_fresh_process(output, base, short, 4090, tmp_path, base_type)
    assert result["class"] == expected_class
    assert result["missing"] == [] and result["unexpected"] == []
    assert result["difference"] <= 1e-4 and result["same_top1"]
    assert result["long_tokens"] == 4090 and result["long_finite"]


def test_a_yoso_masked_lm_extends_to_a_longer_length(tmp_path):
    base = make_tiny_yoso(tmp_path / "tiny-yoso", positions=512)
    output = tmp_path / "yoso-2048"
    convert(ConversionRequest(str(base), 2048, output))
    _check_folder(output)
    assert json.loads((output / "config.json").read_text())["max_position_embeddings"] == 2048
    result = _load_in_fresh_process(output, base, 512, 2000, tmp_path)
    assert result["class"] == "YosoForMaskedLM" and result["missing"] == [] and result["unexpected"] == []
    assert result["difference"] <= 1e-4 and result["same_top1"]
    assert result["long_tokens"] == 2000 and result["long_finite"]


@pytest.mark.parametrize("attention", ["longformer", "bigbird"])
def test_a_native_long_checkpoint_extends_in_its_own_architecture(tiny_checkpoint, attention, tmp_path):
    """A Longformer or BigBird base (here made from the tiny RoBERTa at 1,024) grows to 2,048, its settings kept."""
    base = tmp_path / f"{attention}-1024"
    convert(ConversionRequest(str(tiny_checkpoint("roberta")), 1024, base, attention=attention))
    output = tmp_path / f"{attention}-2048"
    convert(ConversionRequest(str(base), 2048, output))  # no --attention: the base's own architecture
    _check_folder(output)
    before, after = (json.loads((folder / "config.json").read_text()) for folder in (base, output))
    assert after["max_position_embeddings"] - before["max_position_embeddings"] == 1024
    assert {key: value for key, value in after.items() if key not in ("max_position_embeddings", "hubgen")} == {
        key: value for key, value in before.items() if key not in ("max_position_embeddings", "hubgen")
    }
    result = _load_in_fresh_process(output, base, 257, 2040, tmp_path, "roberta")
    assert result["missing"] == [] and result["unexpected"] == []
    assert result["difference"] <= 1e-4 and result["same_top1"] and result["long_finite"]


def _refusal(request: ConversionRequest) -> str:
    with pytest.raises(InvalidInputError) as error:
        convert(request)
    assert not request.output.exists()
    return str(error.value)


@pytest.mark.parametrize(
    ("length", "options", "expected"),
    [
        (4000, {"attention": "bigbird"}, "not a multiple of BigBird's block size 64"),
        (640, {"attention": "bigbird", "lsg_overrides": {"block_size": 64}}, "falls back to full attention"),
        (4096, {"attention": "longformer", "attention_window": 511}, "not an even number"),
        (256, {"attention": "longformer"}, "not above the base's 512 positions"),
        (4096, {"attention": "longformer", "lsg_overrides": {"sparsity_type": "lsh"}}, "--sparsity-type is not"),
        (4096, {"attention": "longformer", "num_random_blocks": 2}, "--num-random-blocks is not an option"),
        (4096, {"attention_window": 256}, "--attention-window is an option of --attention longformer"),
        (4096, {"attention": "yoso"}, "--attention 'yoso' is not known"),
        (10**12, {"attention": "longformer"}, "of memory for its position tables"),
    ],
)
def test_impossible_settings_are_refused_before_anything_is_written(tiny_bert, tmp_path, length, options, expected):
    assert expected in _refusal(ConversionRequest(str(tiny_bert), length, tmp_path / "out", **options))


def test_a_head_whose_layers_do_not_map_is_refused(tiny_bert, tmp_path):
    """BERT's sequence classifier reads the pooler, which Longformer's classifier has no place for."""
    base = tmp_path / "bert-classifier"
    transformers.BertForSequenceClassification.from_pretrained(tiny_bert).save_pretrained(base)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (base / name).write_bytes((tiny_bert / name).read_bytes())
    message = _refusal(ConversionRequest(str(base), 4096, tmp_path / "out", attention="longformer"))
    assert "do not map exactly onto LongformerForSequenceClassification" in message and "pooler" in message


def test_a_native_base_refuses_another_architecture(tiny_checkpoint, tmp_path):
    base = tmp_path / "longformer-1024"
    convert(ConversionRequest(str(tiny_checkpoint("roberta")), 1024, base, attention="longformer"))
    for attention in ("bigbird", "lsg"):
        message = _refusal(ConversionRequest(str(base), 2048, tmp_path / "out", attention=attention))
        assert "extends in its own architecture only" in message and f"drop --attention {attention}" in message


def test_list_shows_the_native_targets(capsys, monkeypatch):
    run = run_cli(["list", "--json"], capsys, monkeypatch)
    assert run.code == 0
    native = {row["type"]: row for row in json.loads(run.stdout) if not row["remote_code"]}
    assert sorted(native) == ["bigbird", "longformer", "yoso"]
    assert "LongformerForMaskedLM" in native["longformer"]["classes"] and "bert" in native["longformer"]["made_from"]
    assert native["yoso"]["made_from"] == ["yoso"]
