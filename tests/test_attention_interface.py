"""`attn_implementation="lsg"` on library models (main environment's transformers): the eager model's function on
short inputs, memory linear in the length, generation over a cache equal to re-running the whole sequence, settings
from the config or from register(), and what is refused."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers

from hubgen.attention import register
from hubgen.bench.worker import PeakTensorMemory

TINY = {"vocab_size": 100, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}
LLAMA = transformers.LlamaConfig(**TINY, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=16384)
BERT = transformers.BertConfig(**TINY, num_attention_heads=4, max_position_embeddings=16384)
BERT_DECODER = transformers.BertConfig(**TINY, num_attention_heads=4, is_decoder=True)


@pytest.fixture(scope="module", autouse=True)
def registered():
    register()


def build(model_class, config, attn_implementation: str, **lsg_keys):
    """A model of `config` (random weights from a fixed seed: every implementation gets the same ones)."""
    config = copy.deepcopy(config)
    for name, value in lsg_keys.items():
        setattr(config, f"lsg_{name}", value)
    torch.manual_seed(0)
    return model_class._from_config(config, attn_implementation=attn_implementation).eval()


def padded_batch(length: int, padding: int = 5):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 100, (2, length), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, length - padding :] = 0
    return ids, mask


def output(model, ids, mask=None):
    result = model(input_ids=ids, attention_mask=mask)
    return result.logits if hasattr(result, "logits") else result.last_hidden_state


@pytest.mark.parametrize("implementation", ["lsg", "lsg-local"])
@pytest.mark.parametrize(
    "model_class,config",
    [
        (transformers.BertModel, BERT),
        (transformers.BertLMHeadModel, BERT_DECODER),
        (transformers.LlamaForCausalLM, LLAMA),
    ],
    ids=["bert", "bert-decoder", "llama"],
)
def test_short_inputs_give_the_eager_models_function(model_class, config, implementation):
    """At most 2 x block_size tokens (block 16 from the config: 32), a padded batch."""
    ids, mask = padded_batch(32)
    eager = output(build(model_class, config, "eager"), ids, mask)
    lsg = build(model_class, config, implementation, block_size=16, sparse_block_size=16)
    kept = mask.bool()
    torch.testing.assert_close(output(lsg, ids, mask)[kept], eager[kept], atol=1e-4, rtol=1e-4)
    longer, _ = padded_batch(100)  # beyond 2 blocks: LSG attention, not the eager function (float noise is ~1e-7)
    assert (output(lsg, longer) - output(build(model_class, config, "eager"), longer)).abs().max() > 1e-5


@pytest.mark.parametrize(
    "model_class,config", [(transformers.BertModel, BERT), (transformers.LlamaModel, LLAMA)], ids=["bert", "llama"]
)
def test_memory_grows_linearly(model_class, config):
    """The default settings (blocks of 128); dense attention would need 16x from 4,096 to 16,384 tokens."""
    model = build(model_class, config, "lsg")
    peaks = {}
    for length in (4096, 16384):
        ids = torch.randint(3, 100, (1, length), generator=torch.Generator().manual_seed(2))
        with torch.no_grad(), PeakTensorMemory() as memory:
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
        assert torch.isfinite(hidden).all()
        peaks[length] = memory.peak
    print(f"{model_class.__name__} peak tensor memory (MiB):", {n: p / 2**20 for n, p in peaks.items()})
    assert 0 < peaks[16384] < 5 * peaks[4096], peaks


def test_llama_generates_from_a_long_prompt_as_a_whole_forward_computes():
    """Greedy generation from 2,000 tokens over the cache: each step's logits are those of a forward over the whole
    sequence without a cache (blocks of 64, sparse windows of 64 rows reduced 4x, two global tokens)."""
    model = build(transformers.LlamaForCausalLM, LLAMA, "lsg", block_size=64, sparse_block_size=64,
                  sparsity_factor=4, num_global_tokens=2)  # fmt: skip
    prompt = torch.randint(3, 100, (1, 2000), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        generated = model.generate(
            prompt, max_new_tokens=6, do_sample=False, output_logits=True, return_dict_in_generate=True
        )
        whole = model(generated.sequences, use_cache=False).logits
    assert generated.sequences.shape == (1, 2006)
    torch.testing.assert_close(torch.stack(generated.logits, dim=1), whole[:, 1999:-1], atol=1e-5, rtol=1e-5)


def test_settings_come_from_the_config_over_register():
    """100 tokens: full attention (the eager function) with blocks of 64 or more, LSG attention with blocks of 16;
    the config's keys are read at every call and win over register()'s defaults."""
    ids, _ = padded_batch(100)
    eager = output(build(transformers.LlamaForCausalLM, LLAMA, "eager"), ids)
    model = build(transformers.LlamaForCausalLM, LLAMA, "lsg")
    torch.testing.assert_close(output(model, ids), eager, atol=1e-4, rtol=1e-4)
    model.config.lsg_block_size = 16
    assert (output(model, ids) - eager).abs().max() > 1e-5
    try:
        register(block_size=16, sparse_block_size=16)
        small = output(build(transformers.LlamaForCausalLM, LLAMA, "lsg"), ids)
        from_config = output(build(transformers.LlamaForCausalLM, LLAMA, "lsg", block_size=64), ids)
    finally:
        register()
    assert (small - eager).abs().max() > 1e-5
    torch.testing.assert_close(from_config, eager, atol=1e-4, rtol=1e-4)


def test_impossible_settings_are_refused():
    model = build(transformers.LlamaForCausalLM, LLAMA, "lsg", block_size=0)
    with pytest.raises(ValueError, match="block_size=0 must be at least 1"):
        model(torch.ones(1, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="sparsity_type='dense' is not supported"):
        register(sparsity_type="dense")


def test_cross_attention_is_refused():
    config = copy.deepcopy(BERT_DECODER)
    config.add_cross_attention = True
    model = build(transformers.BertModel, config, "lsg")
    ids = torch.ones(1, 8, dtype=torch.long)
    with pytest.raises(ValueError, match="cannot run BertCrossAttention, a cross-attention"):
        model(input_ids=ids, encoder_hidden_states=torch.randn(1, 8, 32))
    bart = transformers.BartConfig(
        vocab_size=100, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64,
    )  # fmt: skip
    with pytest.raises(ValueError, match="cannot run BartAttention, a cross-attention"):
        build(transformers.BartModel, bart, "lsg")(input_ids=ids, decoder_input_ids=ids)


def test_a_sliding_window_and_packed_sequences_are_refused():
    config = transformers.MistralConfig(**TINY, num_attention_heads=4, num_key_value_heads=2, sliding_window=16)
    with pytest.raises(ValueError, match="does not support sliding_window=16, which MistralAttention asks for"):
        build(transformers.MistralModel, config, "lsg")(input_ids=torch.ones(1, 8, dtype=torch.long))
    packed = torch.tensor([[0, 1, 2, 0, 1, 2, 3, 4]])
    with pytest.raises(ValueError, match="cannot tell packed sequences apart"):
        build(transformers.LlamaModel, LLAMA, "lsg")(input_ids=torch.ones(1, 8, dtype=torch.long), position_ids=packed)
