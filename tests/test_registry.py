"""Adding an architecture of an existing family is a registry row and nothing else: rendered, converted and loaded.

The row is added for this test only: data2vec-text, an architecture transformers has and hubgen's registry does not,
with RoBERTa's layout under names of its own (`data2vec_text.`, `Data2VecText*` classes).
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import transformers
from support.compat import run_isolated
from support.lint import ruff_problems
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

from hubgen import registry
from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.render import write_modeling_file

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
TEXT = "a new architecture is a registry row"


def roberta_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """A byte-level tokenizer in RoBERTa's layout (<s> <pad> </s> <unk> first, <mask> last), without merges."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate([*SPECIALS, *sorted(alphabet), "<mask>"])}
    tokenizer = Tokenizer(models.BPE(vocab, [], unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return transformers.RobertaTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=512,
    )


def test_a_registry_row_is_all_a_new_type_of_an_existing_family_needs(tmp_path, monkeypatch):
    row = replace(
        registry.MODEL_TYPES["roberta"],
        name="data2vec-text",
        class_prefix="Data2VecText",
        base_model_prefix="data2vec_text",
    )
    monkeypatch.setitem(registry._MODEL_TYPES, row.name, row)

    rendered = write_modeling_file(row, tmp_path / "rendered")
    assert not ruff_problems(rendered)

    tokenizer = roberta_tokenizer()
    config = transformers.Data2VecTextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=512 + 2,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    transformers.Data2VecTextForMaskedLM(config).save_pretrained(tmp_path / "base")
    tokenizer.save_pretrained(tmp_path / "base")

    result = convert(ConversionRequest(base=str(tmp_path / "base"), max_length=1024, output=tmp_path / "lsg"))
    assert result.model_type is row and result.head.kind == "masked_lm"
    saved = json.loads((tmp_path / "lsg" / "config.json").read_text())
    assert saved["model_type"] == "lsg-data2vec-text"
    assert saved["auto_map"]["AutoModelForMaskedLM"] == "modeling_lsg_data2vec_text.LSGData2VecTextForMaskedLM"

    # Loaded as users load it, where hubgen cannot be imported: on short inputs the long model computes the base's
    # function (lossless defaults), and it reads a long input.
    run = run_isolated(
        f"""
import torch
import transformers

lsg = transformers.AutoModelForMaskedLM.from_pretrained({str(tmp_path / "lsg")!r}, trust_remote_code=True).eval()
base = transformers.AutoModelForMaskedLM.from_pretrained({str(tmp_path / "base")!r}).eval()
tokenizer = transformers.AutoTokenizer.from_pretrained({str(tmp_path / "lsg")!r}, trust_remote_code=True)
assert type(lsg).__name__ == "LSGData2VecTextForMaskedLM" and type(base).__name__ == "Data2VecTextForMaskedLM"
short = tokenizer([{TEXT!r}], return_tensors="pt")
long = tokenizer([" ".join([{TEXT!r}] * 20)], return_tensors="pt")
with torch.no_grad():
    difference = (lsg(**short).logits - base(**short).logits).abs().max().item()
    logits = lsg(**long).logits
assert long["input_ids"].shape[1] > 2 * lsg.config.block_size
assert logits.shape[:2] == long["input_ids"].shape and torch.isfinite(logits).all()
print("difference", difference)
""",
        cwd=tmp_path,
        check=True,
    )
    assert float(run.stdout.split("difference")[-1]) < 1e-5


def test_a_row_takes_the_options_of_its_family():
    with pytest.raises(TypeError, match="the bart family takes BartOptions"):
        replace(registry.MODEL_TYPES["bart"], options=registry.MODEL_TYPES["roberta"].options)
