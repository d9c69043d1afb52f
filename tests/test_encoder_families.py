"""What the common suite cannot see: every head against the library's own head, and what ALBERT, ELECTRA and
DistilBERT have that BERT has not (shared layer groups, the embedding projection and the causal LM, config aliases
and sinusoidal positions)."""

from __future__ import annotations

import inspect

import pytest
import torch
import transformers
from test_modeling_common import TYPES, build, padded_mask
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions

from hubgen.registry import CAUSAL_LM, MODEL, MODEL_TYPES, MULTIPLE_CHOICE

PAIR_LABELS = ("next_sentence_label", "sentence_order_label")
# The encoder family's heads read the encoder alone; the encoder-decoders' heads are tests/test_seq2seq.py's.
ENCODER_TYPES = [name for name in TYPES if not MODEL_TYPES[name].family.encoder_decoder]


def head_labels(head, library_class, batch: int, length: int, vocab_size: int) -> dict:
    """Labels for every loss the head computes, named as its library class names them."""
    generator = torch.Generator().manual_seed(1)
    parameters = inspect.signature(library_class.forward).parameters
    if head.kind in ("masked_lm", "causal_lm", "pretraining"):
        pair = [name for name in PAIR_LABELS if name in parameters]
        if head.kind == "pretraining" and not pair:  # ELECTRA's discriminator: was each token replaced?
            return {"labels": torch.randint(0, 2, (batch, length), generator=generator)}
        labels = torch.randint(0, vocab_size, (batch, length), generator=generator)
        labels[:, ::3] = -100
        return {"labels": labels, **{name: torch.randint(0, 2, (batch,), generator=generator) for name in pair}}
    if head.kind == "token_classification":
        return {"labels": torch.randint(0, 2, (batch, length), generator=generator)}
    if head.kind == "question_answering":
        return {
            name: torch.randint(0, length, (batch,), generator=generator) for name in parameters if "positions" in name
        }
    return {"labels": torch.randint(0, 2, (batch,), generator=generator)}


def returning(value):
    """A stand-in `forward` that ignores its inputs."""
    return lambda *args, **kwargs: value


@pytest.mark.parametrize("type_name", ENCODER_TYPES)
def test_every_head_equals_the_library_head_on_the_same_encoder_outputs(rendered, type_name):
    """The library's head class, its base model replaced by ours, gives our logits and losses (2 labels everywhere:
    ALBERT's sentence-order loss assumes them). Heads only read the encoder's outputs, so a short input will do."""
    model_type = MODEL_TYPES[type_name]
    length = 29
    for head in model_type.heads:
        if head is MODEL:
            continue
        _, tester, config, model = build(rendered, type_name, head=head, num_labels=2)
        library_class = getattr(transformers, model_type.library_class_name(head))
        library_model = library_class(tester.library_config(config)).eval()
        missing, unexpected = library_model.load_state_dict(model.state_dict(), strict=False)
        assert not missing and [key.rsplit(".", 2)[-2] for key in unexpected] == ["global_embeddings"], head
        ids, mask = tester.input_ids(2, length), padded_mask(2, length, 7)
        base_inputs = {"input_ids": ids, "attention_mask": mask}
        inputs = dict(base_inputs)
        if head is MULTIPLE_CHOICE:
            inputs = {name: tensor[:, None].repeat(1, 2, 1) for name, tensor in base_inputs.items()}
            base_inputs = {name: tensor.flatten(0, 1) for name, tensor in inputs.items()}
        inputs.update(head_labels(head, library_class, 2, length, tester.vocab_size))
        with torch.no_grad():
            ours = model(**inputs)
            # The library's causal LM heads also read `past_key_values`, absent from our (cache-less) outputs.
            encoded = BaseModelOutputWithPoolingAndCrossAttentions(**model.base_model(**base_inputs))
            library_model.base_model.forward = returning(encoded)
            theirs = library_model(**inputs)
        compared = [key for key in theirs if key not in ("hidden_states", "attentions")]
        assert "loss" in compared, (head, list(theirs))
        for key in compared:
            torch.testing.assert_close(ours[key], theirs[key], atol=1e-5, rtol=1e-5, msg=f"{head.class_suffix}.{key}")


def test_albert_layer_groups_apply_depth_by_depth_like_the_library(rendered):
    """3 depths over 2 groups of 2 inner layers: depths 0 and 1 share group 0; states are kept per layer applied."""
    _, tester, config, model = build(
        rendered, "albert", num_hidden_layers=3, num_hidden_groups=2, inner_group_num=2, num_global_tokens=3
    )
    library_model = transformers.AlbertModel(tester.library_config(config)).eval()
    library_model.load_state_dict(model.state_dict(), strict=False)
    ids, mask = tester.input_ids(2, 32), padded_mask(2, 32, 5)
    with torch.no_grad():
        ours = model(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        key_mask = torch.cat([torch.ones(2, 3, dtype=torch.bool), mask.bool()], dim=1)
        theirs = tester.library_layer_outputs(library_model, ours.hidden_states[0], key_mask)
    assert len(theirs) == 6 and len(ours.hidden_states) == 7 and len(ours.attentions) == 6
    for layer, (got, want) in enumerate(zip(ours.hidden_states[1:], theirs)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5, msg=f"layer application {layer}")
    assert sum(p.numel() for p in model.encoder.parameters()) == sum(
        p.numel() for p in library_model.encoder.parameters()
    )


def test_electra_has_no_projection_when_embeddings_are_hidden_sized(rendered, tmp_path):
    module, tester, config, model = build(rendered, "electra", embedding_size=32)
    assert not hasattr(model, "embeddings_project")
    library_model = transformers.ElectraModel(tester.library_config(config))
    library_model.save_pretrained(tmp_path)
    loaded, info = module.LSGElectraModel.from_pretrained(tmp_path, config=config, output_loading_info=True)
    assert [key.rsplit(".", 2)[-2] for key in info["missing_keys"]] == ["global_embeddings"], info
    assert not info["unexpected_keys"], info
    with torch.no_grad():
        assert loaded(tester.input_ids(1, 40)).last_hidden_state.shape == (1, 40, 32)


@pytest.mark.parametrize("length", [20, 4 * 16 + 3])
def test_electra_causal_lm_only_looks_back(rendered, length):
    """With is_decoder=True, changing the text after position k changes no logit up to k (full and LSG paths)."""
    _, tester, _, model = build(rendered, "electra", head=CAUSAL_LM, is_decoder=True, num_global_tokens=2)
    ids = tester.input_ids(1, length)
    changed = ids.clone()
    cut = length // 2
    changed[:, cut + 1 :] = tester.input_ids(1, length - cut - 1, seed=5)
    with torch.no_grad():
        before, after = model(ids).logits, model(changed).logits
        generated = model.generate(ids[:, :10], attention_mask=torch.ones(1, 10, dtype=torch.long), max_new_tokens=3)
    torch.testing.assert_close(after[:, : cut + 1], before[:, : cut + 1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(after[:, cut + 1 :], before[:, cut + 1 :])
    assert generated.shape == (1, 13)


def test_distilbert_config_takes_library_aliases_and_saves_its_own_names(rendered):
    module = rendered("distilbert")
    config = module.LSGDistilBertConfig(hidden_size=48, num_attention_heads=6, num_hidden_layers=3, block_size=32)
    assert (config.dim, config.n_heads, config.n_layers) == (48, 6, 3)
    assert (config.hidden_size, config.num_attention_heads, config.num_hidden_layers) == (48, 6, 3)
    saved = config.to_dict()
    assert saved["dim"] == 48 and "hidden_size" not in saved
    published = {
        **transformers.DistilBertConfig(dim=48, n_heads=6).to_dict(),
        "block_size": 32,
        "model_type": "distilbert",
    }
    reloaded = module.LSGDistilBertConfig.from_dict(published)
    assert (reloaded.hidden_size, reloaded.num_attention_heads, reloaded.block_size) == (48, 6, 32)


def test_distilbert_sinusoidal_positions_match_the_library(rendered):
    _, tester, config, model = build(rendered, "distilbert", sinusoidal_pos_embds=True)
    library_model = transformers.DistilBertModel(tester.library_config(config))
    torch.testing.assert_close(
        model.embeddings.position_embeddings.weight, library_model.embeddings.position_embeddings.weight
    )
