"""Checks every rendered type must pass: one suite over the registry, tiny models, the library as the oracle."""

from __future__ import annotations

import pytest
import torch
import transformers
from support.testers import make_tester
from support.training import trainer_losses

from hubgen.registry import MODEL_TYPES, MULTIPLE_CHOICE, PRETRAINING, QUESTION_ANSWERING, SEQUENCE_CLASSIFICATION

TYPES = list(MODEL_TYPES)


def build(rendered, type_name, head=None, **overrides):
    model_type = MODEL_TYPES[type_name]
    module = rendered(type_name)
    tester = make_tester(model_type)
    head = head or model_type.heads[0]
    if head is QUESTION_ANSWERING:
        overrides.setdefault("num_labels", 2)
    config = getattr(module, model_type.config_class)(**tester.config_kwargs(**overrides))
    torch.manual_seed(0)
    model = getattr(module, model_type.class_name(head))(config)
    return module, tester, config, model.eval()


def padded_mask(batch: int, length: int, padding: int) -> torch.Tensor:
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[-1, length - padding :] = 0
    return mask


@pytest.mark.parametrize("type_name", TYPES)
def test_rendered_file_provides_what_the_registry_promises(rendered, type_name):
    model_type = MODEL_TYPES[type_name]
    module = rendered(type_name)
    for auto_class, reference in model_type.auto_map().items():
        file_name, class_name = reference.split(".")
        assert file_name == model_type.module_name
        assert hasattr(module, class_name), f"{class_name} ({auto_class}) missing from {model_type.file_name}"
    assert sorted(module.__all__) == sorted(reference.split(".")[1] for reference in model_type.auto_map().values())
    assert getattr(module, model_type.config_class).model_type == model_type.lsg_model_type


@pytest.mark.parametrize("type_name", TYPES)
def test_library_checkpoints_load_with_only_the_global_table_missing(rendered, tmp_path, type_name):
    model_type = MODEL_TYPES[type_name]
    module, tester, config, _ = build(rendered, type_name)
    library_config = tester.library_config(config)
    for head in model_type.heads:
        library_model = getattr(transformers, model_type.library_class_name(head))(library_config)
        library_model.save_pretrained(tmp_path / head.class_suffix)
        lsg_class = getattr(module, model_type.class_name(head))
        model, info = lsg_class.from_pretrained(tmp_path / head.class_suffix, config=config, output_loading_info=True)
        expected = ["global_embeddings"] if tester.has_global_table(head) else []
        assert [key.rsplit(".", 2)[-2] for key in info["missing_keys"]] == expected, info
        assert not info["unexpected_keys"], info
        ours = model.state_dict()
        for name, tensor in library_model.state_dict().items():
            torch.testing.assert_close(ours[name], tensor, atol=0, rtol=0, msg=f"{head.class_suffix}: {name}")


@pytest.mark.parametrize("type_name", TYPES)
@pytest.mark.parametrize("num_global_tokens,mask_first_token", [(1, False), (7, True)])
def test_full_attention_regime_equals_library_layers(rendered, type_name, num_global_tokens, mask_first_token):
    """On inputs of at most 2 blocks, every layer is exactly the library's layer on the same g + t rows."""
    _, tester, config, model = build(
        rendered, type_name, num_global_tokens=num_global_tokens, mask_first_token=mask_first_token
    )
    if not tester.encoder_only:
        pytest.skip("encoder-decoder outputs: checked layer by layer in tests/test_seq2seq.py")
    library_model = getattr(transformers, MODEL_TYPES[type_name].library_class_name(MODEL_TYPES[type_name].heads[0]))
    library_model = library_model(tester.library_config(config)).eval()
    library_model.load_state_dict(model.state_dict(), strict=False)
    length = 2 * tester.block_size
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 5)
    with torch.no_grad():
        ours = model(ids, attention_mask=mask, output_hidden_states=True)
        text_mask = mask.bool().clone()
        if mask_first_token:
            text_mask[:, 0] = False
        key_mask = torch.cat([torch.ones(2, num_global_tokens, dtype=torch.bool), text_mask], dim=1)
        theirs = tester.library_layer_outputs(library_model, ours.hidden_states[0], key_mask)
        library_embeddings = library_model.base_model(
            ids, attention_mask=mask, output_hidden_states=True
        ).hidden_states[0]
    torch.testing.assert_close(ours.hidden_states[0][:, num_global_tokens:], library_embeddings, atol=1e-5, rtol=1e-5)
    assert len(ours.hidden_states) == len(theirs) + 1
    for layer, (got, want) in enumerate(zip(ours.hidden_states[1:], theirs)):
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5, msg=f"layer {layer}")


def head_inputs(tester, head, batch, length, padding):
    ids, mask = tester.input_ids(batch, length), padded_mask(batch, length, padding)
    if head is MULTIPLE_CHOICE:
        return {
            "input_ids": ids.view(batch, 1, length).repeat(1, 2, 1),
            "attention_mask": mask[:, None].repeat(1, 2, 1),
        }
    return {"input_ids": ids, "attention_mask": mask}


@pytest.mark.parametrize("type_name", TYPES)
def test_every_head_runs_on_long_padded_inputs_and_trains(rendered, type_name):
    model_type = MODEL_TYPES[type_name]
    length = 3 * 16 + 5  # not a multiple of the block: adaptive padding
    for head in model_type.heads:
        _, tester, _, model = build(rendered, type_name, head=head)
        inputs = head_inputs(tester, head, 2, length, 7)
        model.train()
        outputs = model(**inputs, return_dict=False)
        first = outputs[0]
        assert torch.isfinite(first).all(), head.class_suffix
        if (
            head is not MULTIPLE_CHOICE
            and head is not PRETRAINING
            and first.dim() >= 2
            and head.kind != "sequence_classification"
        ):
            assert first.shape[1] == length, (head.class_suffix, first.shape)
        first.float().pow(2).mean().backward()
        trained = [name for name, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0]
        assert any("global_embeddings" in name for name in trained) == tester.has_global_table(head), head.class_suffix


@pytest.mark.parametrize("type_name", TYPES)
def test_inputs_embeds_hidden_states_and_attentions(rendered, type_name):
    _, tester, config, model = build(rendered, type_name, num_global_tokens=2)
    if not tester.encoder_only:
        pytest.skip("encoder-decoder outputs: the encoder's are checked in tests/test_seq2seq.py")
    length = 3 * tester.block_size + 3
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 4)
    with torch.no_grad():
        by_ids = model(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        embeds = model.get_input_embeddings()(ids)
        by_embeds = model(inputs_embeds=embeds, attention_mask=mask)
    torch.testing.assert_close(by_embeds.last_hidden_state, by_ids.last_hidden_state, atol=1e-6, rtol=1e-6)
    padded = 4 * tester.block_size
    assert by_ids.last_hidden_state.shape[:2] == (2, length)
    assert [h.shape[1] for h in by_ids.hidden_states] == [2 + padded] * (config.num_hidden_layers + 1)
    slots = 2 + 3 * tester.block_size + 2 * tester.block_size
    assert [a.shape for a in by_ids.attentions] == [
        (2, config.num_attention_heads, padded, slots)
    ] * config.num_hidden_layers


@pytest.mark.parametrize("type_name", TYPES)
def test_gradient_checkpointing_keeps_gradients(rendered, type_name):
    _, tester, _, model = build(rendered, type_name, attention_probs_dropout_prob=0.1)
    ids = tester.input_ids(2, 4 * tester.block_size)

    def gradients():
        model.zero_grad()
        torch.manual_seed(1)
        model(ids).last_hidden_state.pow(2).mean().backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    model.train()
    plain = gradients()
    model.gradient_checkpointing_enable()
    assert any(getattr(module, "gradient_checkpointing", False) for module in model.modules())
    checkpointed = gradients()
    assert plain.keys() == checkpointed.keys()
    for name in plain:
        torch.testing.assert_close(checkpointed[name], plain[name], atol=1e-6, rtol=1e-5, msg=name)


@pytest.mark.parametrize("type_name", TYPES)
def test_bfloat16_runs_close_to_float32(rendered, type_name):
    _, tester, _, model = build(rendered, type_name)
    ids = tester.input_ids(2, 3 * tester.block_size + 1)
    with torch.no_grad():
        exact = model(ids).last_hidden_state
        approx = model.to(torch.bfloat16)(ids).last_hidden_state
    assert approx.dtype == torch.bfloat16
    torch.testing.assert_close(approx.float(), exact, atol=0.1, rtol=0.1)


def test_text_shorter_than_two_blocks_skips_padding_and_long_text_without_adaptive_fails(rendered):
    _, tester, _, model = build(rendered, "bert", adaptive=False)
    with torch.no_grad():
        assert model(tester.input_ids(1, 20)).last_hidden_state.shape[1] == 20
        with pytest.raises(ValueError, match="pad_to_multiple_of=16"):
            model(tester.input_ids(1, 50))


@pytest.mark.parametrize("type_name", TYPES)
def test_trainer_fine_tuning_reduces_the_loss(rendered, tmp_path, type_name):
    """A toy long-input task (is the text made of low or high token ids?) is learnt through transformers' Trainer."""
    if SEQUENCE_CLASSIFICATION not in MODEL_TYPES[type_name].heads:
        pytest.skip(f"{type_name} has no classification head; tests/test_seq2seq.py trains its seq2seq head")
    _, tester, _, model = build(rendered, type_name, head=SEQUENCE_CLASSIFICATION, num_labels=2)
    generator = torch.Generator().manual_seed(0)
    half, length = tester.vocab_size // 2, 3 * tester.block_size + 5
    examples = []
    for index in range(64):
        label = index % 2
        ids = tester.as_text(
            torch.randint(3 + label * half, half + label * (half - 3), (length,), generator=generator)
        )
        examples.append({"input_ids": ids, "attention_mask": torch.ones(length, dtype=torch.long), "labels": label})
    losses = trainer_losses(model, examples, tmp_path)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize("type_name", TYPES)
def test_every_head_loads_from_a_bare_encoder_checkpoint(rendered, tmp_path, type_name):
    """Heads missing from a checkpoint are initialised (none left on the meta device) and tied where they should be."""
    model_type = MODEL_TYPES[type_name]
    module, _, config, bare = build(rendered, type_name)
    bare.save_pretrained(tmp_path)
    tester = make_tester(model_type)
    for head in model_type.heads[1:]:
        head_config = (
            config if head is not QUESTION_ANSWERING else config.__class__(**{**config.to_dict(), "num_labels": 2})
        )
        model = getattr(module, model_type.class_name(head)).from_pretrained(tmp_path, config=head_config)
        on_meta = [name for name, tensor in model.state_dict().items() if tensor.device.type == "meta"]
        assert not on_meta, (head.class_suffix, on_meta)
        output = model.eval()(**head_inputs(tester, head, 1, 3 * tester.block_size, 0))
        assert torch.isfinite(output[0]).all(), head.class_suffix
        decoder = model.get_output_embeddings()
        if head.kind in ("masked_lm", "causal_lm"):
            assert decoder is not None, head.class_suffix
        if decoder is not None:  # ELECTRA's pre-training head is a discriminator, without a decoder
            assert decoder.weight is model.get_input_embeddings().weight, head.class_suffix
