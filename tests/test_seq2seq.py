"""The BART family (BART, mBART, BARThez, Pegasus): what the common suite cannot check on encoder-decoder outputs.

The library is the oracle: in the full-attention regime the LSG encoder is the library's encoder layers on the same
g + t rows, and the decoder is the library's decoder given the same encoder states. Caching is checked against full
forward passes and generate() without a cache, in process and on older transformers in fresh processes.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from support.compat import run_isolated
from support.testers import make_tester
from support.training import trainer_losses

from hubgen.generation_config import generation_settings
from hubgen.registry import MODEL_TYPES, SEQ2SEQ_LM
from hubgen.render import write_modeling_file

SEQ2SEQ_TYPES = [name for name, entry in MODEL_TYPES.items() if entry.family.encoder_decoder]
OLDER_VERSIONS = ["4.40.2", "4.46.3", "4.57.6", "5.0.0"]


def build(rendered, type_name, head=SEQ2SEQ_LM, **overrides):
    model_type = MODEL_TYPES[type_name]
    module = rendered(type_name)
    tester = make_tester(model_type)
    config = getattr(module, model_type.config_class)(**tester.config_kwargs(**overrides))
    torch.manual_seed(0)
    model = getattr(module, model_type.class_name(head))(config)
    return module, tester, config, model.eval()


def library_twin(tester, config, model, head=SEQ2SEQ_LM):
    """The library model of the same type holding the same weights (all but the global table)."""
    model_type = tester.model_type
    library_model = getattr(transformers, model_type.library_class_name(head))(tester.library_config(config)).eval()
    missing, unexpected = library_model.load_state_dict(model.state_dict(), strict=False)
    assert not missing and [key.rsplit(".", 2)[-2] for key in unexpected] == ["global_embeddings"]
    return library_model


def padded_mask(batch: int, length: int, padding: int) -> torch.Tensor:
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[-1, length - padding :] = 0
    return mask


def additive(visible: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    return (~visible)[:, None, None, :].to(dtype) * torch.finfo(dtype).min


# --- the function: full-attention regime against the library --------------------------------------------------------


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
@pytest.mark.parametrize("num_global_tokens,mask_first_token", [(1, False), (5, True)])
def test_encoder_layers_equal_library_layers_on_the_same_rows(
    rendered, type_name, num_global_tokens, mask_first_token
):
    _, tester, config, model = build(
        rendered,
        type_name,
        num_global_tokens=num_global_tokens,
        mask_first_token=mask_first_token,
        scale_embedding=True,
    )
    library_encoder = library_twin(tester, config, model).get_encoder()
    length, g = 2 * tester.block_size, num_global_tokens
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 5)
    key_mask = torch.cat([torch.ones(2, g, dtype=torch.bool), mask.bool()], dim=1)
    if mask_first_token:
        key_mask[:, g] = False
    with torch.no_grad():
        ours = model.get_encoder()(ids, attention_mask=mask, output_hidden_states=True)
        theirs = library_encoder(ids, attention_mask=mask, output_hidden_states=True)
        torch.testing.assert_close(ours.hidden_states[0][:, g:], theirs.hidden_states[0], atol=1e-5, rtol=1e-5)
        hidden_states = ours.hidden_states[0]
        for layer, (library_layer, got) in enumerate(zip(library_encoder.layers, ours.hidden_states[1:])):
            result = library_layer(hidden_states, attention_mask=additive(key_mask))
            hidden_states = result[0] if isinstance(result, tuple) else result
            if layer < len(library_encoder.layers) - 1:
                torch.testing.assert_close(got, hidden_states, atol=1e-5, rtol=1e-5, msg=f"layer {layer}")
        final_norm = getattr(library_encoder, "layer_norm", None)
        if final_norm is not None:
            hidden_states = final_norm(hidden_states)
    torch.testing.assert_close(ours.hidden_states[-1], hidden_states, atol=1e-5, rtol=1e-5)
    # pass_global_tokens_to_decoder (the default): the decoder reads the global rows and the text, no padding
    assert ours.last_hidden_state.shape[1] == g + length
    torch.testing.assert_close(ours.last_hidden_state, hidden_states, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
@pytest.mark.parametrize("pass_global,mask_first_token", [(True, False), (True, True), (False, False)])
def test_decoder_logits_equal_library_decoder_given_the_same_encoder_states(
    rendered, type_name, pass_global, mask_first_token
):
    module, tester, config, model = build(
        rendered,
        type_name,
        num_global_tokens=3,
        pass_global_tokens_to_decoder=pass_global,
        mask_first_token=mask_first_token,
        scale_embedding=True,
    )
    library_model = library_twin(tester, config, model)
    length = 3 * tester.block_size + 7  # LSG path with adaptive padding
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 9)
    decoder_ids = tester.input_ids(2, 11, seed=1)
    with torch.no_grad():
        ours = model(ids, attention_mask=mask, decoder_input_ids=decoder_ids, use_cache=False)
        encoder_states = ours.encoder_last_hidden_state
        assert encoder_states.shape[1] == (3 if pass_global else 0) + length
        cross_mask = module.encoder_key_mask(mask, encoder_states, config)
        theirs = library_model(
            encoder_outputs=(encoder_states,), attention_mask=cross_mask.long(), decoder_input_ids=decoder_ids
        )
    torch.testing.assert_close(ours.logits, theirs.logits, atol=1e-5, rtol=1e-5)
    expected = mask.bool()
    if pass_global:
        expected = torch.cat([torch.ones(2, 3, dtype=torch.bool), expected], dim=1)
        expected[:, 3] = not mask_first_token
    assert torch.equal(cross_mask, expected)


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
@pytest.mark.parametrize("pass_global", [True, False])
def test_a_global_token_standing_for_the_first_token_keeps_the_library_function(rendered, type_name, pass_global):
    """Global token 0 = the first token's complete input embedding and `mask_first_token`: on short inputs the model
    is the library model, decoder included (it sees global token 0 once, in place of the first token)."""
    _, tester, config, model = build(
        rendered, type_name, mask_first_token=True, pass_global_tokens_to_decoder=pass_global, scale_embedding=True
    )
    library_model = library_twin(tester, config, model)
    length = 2 * tester.block_size
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 5)
    ids[:, 0] = 3  # every input starts with the same token, as with a tokenizer's <s>
    encoder = model.get_encoder()
    with torch.no_grad():
        first = encoder.embed_tokens.weight[3] * encoder.embed_scale + encoder.embed_positions(1)[0]
        encoder.global_embeddings.weight[0] = first
        decoder_ids = tester.input_ids(2, 6, seed=8)
        ours = model(ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
        theirs = library_model(ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_decoder_never_reads_padding_or_a_masked_first_token(rendered, type_name):
    _, tester, _, model = build(rendered, type_name, num_global_tokens=2, mask_first_token=True)
    length = 3 * tester.block_size + 3
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 6)
    decoder_ids = tester.input_ids(2, 5, seed=2)
    with torch.no_grad():
        encoder_states = model.get_encoder()(ids, attention_mask=mask).last_hidden_state
        reference = model(attention_mask=mask, encoder_outputs=(encoder_states,), decoder_input_ids=decoder_ids)
        changed = encoder_states.clone()
        changed[:, 2] += 100.0  # the first text row: global token 0 stands for it
        changed[-1, -6:] += 100.0  # padding
        perturbed = model(attention_mask=mask, encoder_outputs=(changed,), decoder_input_ids=decoder_ids)
    torch.testing.assert_close(perturbed.logits, reference.logits)


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_without_passing_global_tokens_the_encoder_output_has_the_input_length(rendered, type_name):
    _, tester, _, model = build(rendered, type_name, num_global_tokens=2, pass_global_tokens_to_decoder=False)
    length = 3 * tester.block_size + 3
    ids = tester.input_ids(2, length)
    with torch.no_grad():
        output = model.get_encoder()(ids, output_hidden_states=True)
    assert output.last_hidden_state.shape[:2] == (2, length)
    torch.testing.assert_close(output.last_hidden_state[:, 0], output.hidden_states[-1][:, 0])  # pool_with_global
    torch.testing.assert_close(output.last_hidden_state[:, 1:], output.hidden_states[-1][:, 3 : 2 + length])


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_encoder_inputs_embeds_hidden_states_and_attentions(rendered, type_name):
    _, tester, config, model = build(rendered, type_name, num_global_tokens=2, scale_embedding=True)
    encoder = model.get_encoder()
    length = 3 * tester.block_size + 3
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 4)
    with torch.no_grad():
        by_ids = encoder(ids, attention_mask=mask, output_hidden_states=True, output_attentions=True)
        embeds = model.get_input_embeddings()(ids) * encoder.embed_scale
        by_embeds = encoder(inputs_embeds=embeds, attention_mask=mask)
    torch.testing.assert_close(by_embeds.last_hidden_state, by_ids.last_hidden_state, atol=1e-6, rtol=1e-6)
    padded = 4 * tester.block_size
    assert by_ids.last_hidden_state.shape[:2] == (2, 2 + length)
    assert [h.shape[1] for h in by_ids.hidden_states] == [2 + padded] * (config.encoder_layers + 1)
    slots = 2 + 3 * tester.block_size + 2 * tester.block_size
    assert [a.shape for a in by_ids.attentions] == [(2, config.encoder_attention_heads, padded, slots)] * 2


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_decoder_start_and_label_shift_follow_the_library(rendered, type_name):
    module, tester, config, _ = build(rendered, type_name)
    library_module = __import__(
        f"transformers.models.{tester.model_type.library_model_type or type_name}.modeling_"
        f"{tester.model_type.library_model_type or type_name}",
        fromlist=["shift_tokens_right"],
    )
    labels = tester.input_ids(3, 9)
    labels[1, -3:] = config.pad_token_id
    labels[2, -2:] = -100
    if tester.model_type.options.decoder_start == "last_token":
        expected = library_module.shift_tokens_right(labels.clone(), config.pad_token_id)
    else:
        expected = library_module.shift_tokens_right(labels, config.pad_token_id, config.decoder_start_token_id)
    assert torch.equal(module.shift_tokens_right(labels, config), expected)


@pytest.mark.parametrize("type_name", ["bart", "mbart"])
def test_labels_give_the_library_loss_and_train_every_weight(rendered, type_name):
    module, tester, config, model = build(rendered, type_name)
    length = 3 * tester.block_size + 5
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 7)
    labels = tester.input_ids(2, 8, seed=6)
    labels[1, -3:] = -100
    model.train()
    output = model(ids, attention_mask=mask, labels=labels)
    assert output.past_key_values is None
    decoder_ids = module.shift_tokens_right(labels, config)
    logits = model(ids, attention_mask=mask, decoder_input_ids=decoder_ids).logits
    expected = torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
    torch.testing.assert_close(output.loss, expected)
    output.loss.backward()
    untrained = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert untrained == [], untrained


def test_sinusoidal_positions_are_the_library_table_for_any_length(rendered):
    _, _, config, model = build(rendered, "pegasus", max_position_embeddings=300)
    table = transformers.models.pegasus.modeling_pegasus.PegasusSinusoidalPositionalEmbedding(300, config.d_model)
    encoder_positions = model.get_encoder().embed_positions
    torch.testing.assert_close(encoder_positions.weight, table.create_weight(), atol=1e-6, rtol=0)
    assert not encoder_positions.weight.requires_grad
    encoder_positions.resize(1000)
    assert encoder_positions.weight.shape == (1000, config.d_model) and not encoder_positions.weight.requires_grad
    torch.testing.assert_close(encoder_positions.weight[:300], table.create_weight(), atol=1e-6, rtol=0)


def test_bart_config_defaults_to_three_labels_unless_labels_are_given(rendered):
    config_class = rendered("bart").LSGBartConfig
    assert config_class().num_labels == 3
    assert config_class(id2label={0: "no", 1: "yes"}).num_labels == 2
    assert rendered("mbart").LSGMBartConfig().num_labels == 2


@pytest.mark.parametrize("type_name", ["bart", "pegasus"])
def test_embeddings_stay_shared_through_saving_loading_and_resizing(rendered, tmp_path, type_name):
    _, tester, config, model = build(rendered, type_name)
    model.save_pretrained(tmp_path)
    loaded = type(model).from_pretrained(tmp_path, config=config).eval()
    shared = loaded.get_input_embeddings()
    assert loaded.get_encoder().embed_tokens.weight is shared.weight
    assert loaded.get_decoder().embed_tokens.weight is shared.weight
    assert loaded.lm_head.weight.data_ptr() == shared.weight.data_ptr()
    ids = tester.input_ids(2, 3 * tester.block_size + 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(ids).logits, model(ids).logits)
    loaded.resize_token_embeddings(tester.vocab_size + 5)
    assert loaded.final_logits_bias.shape == (1, tester.vocab_size + 5)
    assert loaded.lm_head.weight.shape[0] == tester.vocab_size + 5 and loaded.get_encoder().embed_tokens is not None
    assert loaded.get_encoder().embed_tokens.weight.data_ptr() == loaded.lm_head.weight.data_ptr()


def test_published_barthez_layout_loads(rendered, tmp_path):
    """A BARThez repository as the lsg-converter published them: model_type "mbart", LSGMBart* classes in
    modeling_lsg_barthez.py, generation settings in config.json."""
    *_, model = build(rendered, "barthez")
    model.save_pretrained(tmp_path)
    write_modeling_file(MODEL_TYPES["barthez"], tmp_path)
    published = json.loads((tmp_path / "config.json").read_text())
    published.update(model_type="mbart", auto_map=MODEL_TYPES["barthez"].auto_map(), num_beams=4, max_length=64)
    (tmp_path / "config.json").write_text(json.dumps(published))
    code = f"""
import transformers
model = transformers.AutoModelForSeq2SeqLM.from_pretrained({str(tmp_path)!r}, trust_remote_code=True)
assert type(model).__name__ == "LSGMBartForConditionalGeneration", type(model)
assert type(model).__module__.endswith("modeling_lsg_barthez"), type(model).__module__
print("loaded", type(model.config).model_type)
"""
    assert "loaded lsg-barthez" in run_isolated(code, cwd=tmp_path, check=True).stdout


# --- the cache --------------------------------------------------------------------------------------------------------


def _step_by_step_logits(model, encoder_outputs, mask, decoder_ids, past=None):
    logits = []
    for step in range(decoder_ids.shape[1]):
        output = model(
            attention_mask=mask,
            encoder_outputs=encoder_outputs,
            decoder_input_ids=decoder_ids[:, step : step + 1],
            past_key_values=past,
            use_cache=True,
        )
        past = output.past_key_values
        logits.append(output.logits)
    return torch.cat(logits, dim=1), past


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_cached_decoding_equals_a_full_forward_pass(rendered, type_name):
    module, tester, _, model = build(rendered, type_name, num_global_tokens=2)
    length = 3 * tester.block_size + 5
    ids, mask = tester.input_ids(2, length), padded_mask(2, length, 7)
    decoder_ids = tester.input_ids(2, 9, seed=3)
    with torch.no_grad():
        full = model(ids, attention_mask=mask, decoder_input_ids=decoder_ids, use_cache=False).logits
        encoder_outputs = (model.get_encoder()(ids, attention_mask=mask).last_hidden_state,)
        stepped, cache = _step_by_step_logits(model, encoder_outputs, mask, decoder_ids)
        assert cache.get_seq_length() == 9 and all(cache.is_updated.values())
        # the legacy tuple format of transformers 4.x callers continues the same sequence
        legacy = tuple(
            module.cached_keys_values(cache.self_attention_cache, i)
            + module.cached_keys_values(cache.cross_attention_cache, i)
            for i in range(len(model.get_decoder().layers))
        )
        extra = tester.input_ids(2, 2, seed=4)
        continued, _ = _step_by_step_logits(model, encoder_outputs, mask, extra, past=legacy)
        whole = model(ids, attention_mask=mask, decoder_input_ids=torch.cat([decoder_ids, extra], 1), use_cache=False)
    torch.testing.assert_close(stepped, full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(continued, whole.logits[:, 9:], atol=1e-5, rtol=1e-5)


GENERATION_MODES = {
    "greedy": {"num_beams": 1},
    "beam": {"num_beams": 3, "num_return_sequences": 2},
    "sample": {"do_sample": True, "top_k": 0},
}


def _generate_all(model, ids, mask, use_cache: bool) -> dict[str, list]:
    results = {}
    for name, settings in GENERATION_MODES.items():
        torch.manual_seed(7)
        tokens = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=8, use_cache=use_cache, **settings)
        results[name] = tokens.tolist()
    return results


def test_causal_lm_head_caches_like_a_full_forward_pass(rendered):
    _, tester, _, model = build(rendered, "bart", head=MODEL_TYPES["bart"].heads[-1])
    ids = tester.input_ids(2, 12)
    with torch.no_grad():
        full = model(ids, use_cache=False).logits
        first = model(ids[:, :7], use_cache=True)
        rest = model(ids[:, 7:], past_key_values=first.past_key_values, use_cache=True).logits
        assert model.generate(ids, max_new_tokens=5, use_cache=True).tolist() == (
            model.generate(ids, max_new_tokens=5, use_cache=False).tolist()
        )
    torch.testing.assert_close(torch.cat([first.logits, rest], dim=1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("type_name", SEQ2SEQ_TYPES)
def test_trainer_teaches_the_seq2seq_head_a_long_input_task(rendered, tmp_path, type_name):
    """Through transformers' Trainer: answer "low" or "high" (two token ids) for texts of low or high token ids."""
    _, tester, _, model = build(rendered, type_name)
    generator = torch.Generator().manual_seed(0)
    half, length = tester.vocab_size // 2, 3 * tester.block_size + 5
    examples = []
    for index in range(64):
        label = index % 2
        ids = torch.randint(3 + label * half, half + label * (half - 3), (length,), generator=generator)
        examples.append(
            {
                "input_ids": tester.as_text(ids),
                "attention_mask": torch.ones(length, dtype=torch.long),
                "labels": torch.tensor([10 + label, tester.eos_token_id]),
            }
        )
    losses = trainer_losses(model, examples, tmp_path)
    assert losses[-1] < 0.5 * losses[0], losses


# --- fresh processes, older transformers -----------------------------------------------------------------------------

CHILD = """
import json, sys, torch, transformers
from transformers import AutoModelForSeq2SeqLM
cases = json.load(open(CASES))
modes = json.load(open(MODES))
results = {}
for case in cases:
    model = AutoModelForSeq2SeqLM.from_pretrained(case["folder"], trust_remote_code=True).eval()
    assert type(model).__name__ == case["class_name"], type(model).__name__
    assert model.generation_config.forced_eos_token_id == case["forced_eos_token_id"], model.generation_config
    inputs = torch.load(case["inputs"])
    with torch.no_grad():
        logits = model(**inputs, decoder_input_ids=inputs["input_ids"][:, :5]).logits
        for use_cache in (True, False):
            for name, settings in modes.items():
                torch.manual_seed(7)
                tokens = model.generate(**inputs, max_new_tokens=8, use_cache=use_cache, **settings)
                results[f"{case['name']}/{name}/{use_cache}"] = tokens.tolist()
    torch.save(logits, case["inputs"] + f".{transformers.__version__}.logits")
json.dump(results, open(RESULTS, "w"))
print("generated with transformers", transformers.__version__)
"""


@pytest.fixture(scope="module")
def saved_seq2seq_repositories(rendered, tmp_path_factory):
    """One repository per type as the converter writes it (weights, modeling file, generation_config.json), with
    the tokens generate() gives in this process."""
    root = tmp_path_factory.mktemp("seq2seq-repositories")
    cases, expected = [], {}
    for type_name in SEQ2SEQ_TYPES:
        model_type = MODEL_TYPES[type_name]
        _, tester, config, model = build(rendered, type_name, num_global_tokens=2, mask_first_token=True)
        config.auto_map = model_type.auto_map()
        folder = root / type_name
        model.save_pretrained(folder)
        write_modeling_file(model_type, folder)
        config_json = json.loads((folder / "config.json").read_text())
        (folder / "generation_config.json").write_text(json.dumps(generation_settings(model_type, config_json)))
        length = 3 * tester.block_size + 5
        inputs = {"input_ids": tester.input_ids(2, length, seed=5), "attention_mask": padded_mask(2, length, 7)}
        torch.save(inputs, root / f"{type_name}.inputs.pt")
        model.generation_config.forced_eos_token_id = model_type.config_defaults["forced_eos_token_id"]
        with torch.no_grad():
            for use_cache in (True, False):
                for name, tokens in _generate_all(
                    model, inputs["input_ids"], inputs["attention_mask"], use_cache
                ).items():
                    expected[f"{type_name}/{name}/{use_cache}"] = tokens
            logits = model(**inputs, decoder_input_ids=inputs["input_ids"][:, :5]).logits
        torch.save(logits, root / f"{type_name}.expected.logits")
        cases.append(
            {
                "name": type_name,
                "folder": str(folder),
                "class_name": model_type.class_name(SEQ2SEQ_LM),
                "inputs": str(root / f"{type_name}.inputs.pt"),
                "forced_eos_token_id": model_type.config_defaults["forced_eos_token_id"],
            }
        )
    (root / "cases.json").write_text(json.dumps(cases))
    (root / "modes.json").write_text(json.dumps(GENERATION_MODES))
    return root, expected


def _generate_in_fresh_process(root, expected, version):
    results_path = root / f"results-{version or 'main'}.json"
    code = (
        CHILD.replace("CASES", repr(str(root / "cases.json")))
        .replace("MODES", repr(str(root / "modes.json")))
        .replace("RESULTS", repr(str(results_path)))
    )
    result = run_isolated(code, transformers_version=version, cwd=root, check=True, timeout=900)
    results = json.loads(results_path.read_text())
    version_name = result.stdout.split()[-1]
    for type_name in SEQ2SEQ_TYPES:
        logits = torch.load(root / f"{type_name}.inputs.pt.{version_name}.logits")
        torch.testing.assert_close(logits, torch.load(root / f"{type_name}.expected.logits"), atol=1e-5, rtol=1e-5)
    assert results.keys() == expected.keys()
    different = [key for key in expected if results[key] != expected[key]]
    assert not different, {key: (results[key], expected[key]) for key in different}


def test_generate_gives_the_same_tokens_with_and_without_the_cache(saved_seq2seq_repositories):
    """Greedy, beam search and sampling, in this process: the cache changes the cost, not the tokens."""
    _, expected = saved_seq2seq_repositories
    for key, tokens in expected.items():
        if key.endswith("/True"):
            assert tokens == expected[key.replace("/True", "/False")], key


@pytest.mark.parametrize(
    "version", [None, *(pytest.param(version, marks=pytest.mark.compat) for version in OLDER_VERSIONS)]
)
def test_generation_in_fresh_processes(saved_seq2seq_repositories, version):
    """Loaded through AutoModelForSeq2SeqLM where hubgen cannot be imported, on the installed transformers (None)
    and on 4.40 to 5.0: the same logits, and greedy, beam search and sampling give this process's tokens, with and
    without the cache."""
    _generate_in_fresh_process(*saved_seq2seq_repositories, version)
