"""hubgen.attention's standalone layers: full attention on short inputs, the spec's LSG pattern (the dense oracle of
tests/support/oracle.py) on long ones, causal or not, batches with padding; and the cached path of generation,
which gives what a forward over the whole sequence gives."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from support.oracle import Pattern, dense_reference

from hubgen.attention import BlockLocalSelfAttention, LSGSelfAttention, LSGSettings
from hubgen.attention.cached import cached_attention
from hubgen.attention.sequence import sequence_attention

BLOCK = 8


def make_inputs(length, n=2, h=3, d=4, padded=5, seed=0, dtype=torch.float64):
    """q, k, v (n, h, length, d) and a (n, 1, 1, length) additive mask: the last `padded` keys of the last element
    are padding."""
    generator = torch.Generator().manual_seed(seed)
    query, key, value = (torch.randn(n, h, length, d, generator=generator, dtype=dtype) for _ in range(3))
    additive = torch.zeros(n, 1, 1, length, dtype=dtype)
    if padded:
        additive[-1, ..., length - padded :] = torch.finfo(dtype).min
    return query, key, value, additive


def full_attention(query, key, value, visible, causal):
    """softmax(q k^T / sqrt(d)) v over the visible keys (and the earlier ones if causal), in float64."""
    scores = query @ key.transpose(-1, -2) / math.sqrt(query.shape[-1])
    allowed = visible[:, None, None, :]
    if causal:
        allowed = allowed & torch.ones(query.shape[2], key.shape[2], dtype=torch.bool).tril()
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1) @ value


def oracle(query, key, value, visible, pattern: Pattern):
    """The dense oracle over the sequence padded with masked keys to whole blocks (spec 3.1), cut back: (n, h, L, d)."""
    length = query.shape[2]
    text = length - pattern.g
    pad = 0 if text <= 2 * pattern.b else -text % pattern.b
    padded = [F.pad(x, (0, 0, 0, pad)) for x in (query, key, value)]
    expected = dense_reference(*padded, F.pad(visible, (0, pad), value=False), pattern)
    return expected[:, :length].transpose(1, 2)


def layer(pattern: Pattern) -> LSGSelfAttention:
    return LSGSelfAttention(
        block_size=pattern.b,
        sparse_block_size=pattern.s,
        sparsity_factor=pattern.f,
        sparsity_type=pattern.kind,
        num_global_tokens=pattern.g,
        is_causal=pattern.causal,
    )


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("g", [1, 3])
@pytest.mark.parametrize("length", [1, 5, 2 * BLOCK])
def test_short_inputs_get_full_attention(length, g, causal):
    query, key, value, additive = make_inputs(length, padded=min(length - 1, 2))
    attention = LSGSelfAttention(block_size=BLOCK, sparse_block_size=BLOCK, num_global_tokens=g, is_causal=causal)
    expected = full_attention(query, key, value, additive[:, 0, 0] == 0, causal)
    torch.testing.assert_close(attention(query, key, value, additive), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("kind", ["none", "norm", "pooling", "stride", "block_stride", "bos_pooling"])
@pytest.mark.parametrize("g,length", [(1, 40), (3, 45)])
def test_long_inputs_follow_the_lsg_pattern(kind, causal, g, length):
    """40 = 5 whole blocks; 45 leaves a partial block, which the layer pads with masked keys and cuts back."""
    pattern = Pattern(g=g, b=BLOCK, s=BLOCK, f=2, kind=kind, causal=causal, first_tokens_global=True)
    query, key, value, additive = make_inputs(length)
    expected = oracle(query, key, value, additive[:, 0, 0] == 0, pattern)
    torch.testing.assert_close(layer(pattern)(query, key, value, additive), expected, atol=1e-5, rtol=1e-5)


def test_gradients_follow_the_oracle():
    pattern = Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind="norm", causal=True, first_tokens_global=True)
    query, key, value, additive = make_inputs(45)
    weights = torch.randn(query.shape, generator=torch.Generator().manual_seed(1), dtype=query.dtype)
    leaves = [x.clone().requires_grad_() for x in (query, key, value)]
    (layer(pattern)(*leaves, additive) * weights).sum().backward()
    expected = [x.clone().requires_grad_() for x in (query, key, value)]
    (oracle(*expected, additive[:, 0, 0] == 0, pattern) * weights).sum().backward()
    for got, want in zip(leaves, expected):
        torch.testing.assert_close(got.grad, want.grad, atol=1e-5, rtol=1e-4)


def test_block_local_is_lsg_without_sparse_attention():
    query, key, value, additive = make_inputs(48)
    local = BlockLocalSelfAttention(block_size=BLOCK, num_global_tokens=2, is_causal=True)
    expected = oracle(query, key, value, additive[:, 0, 0] == 0, Pattern(2, BLOCK, 0, 1, "none", True, True))
    torch.testing.assert_close(local(query, key, value, additive), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "mask",
    [
        lambda visible: torch.where(visible, 0.0, -10000.0).double()[:, None, None],  # the original package's masks
        lambda visible: visible[:, None, None],
        lambda visible: visible.long(),
    ],
    ids=["additive", "bool", "0/1"],
)
def test_every_usual_key_mask_means_the_same(mask):
    query, key, value, additive = make_inputs(40)
    visible = additive[:, 0, 0] == 0
    attention = LSGSelfAttention(block_size=BLOCK, sparse_block_size=BLOCK)
    torch.testing.assert_close(attention(query, key, value, mask(visible)), attention(query, key, value, additive))


def test_no_mask_is_every_key_visible():
    query, key, value, _ = make_inputs(40, padded=0)
    attention = LSGSelfAttention(block_size=BLOCK, sparse_block_size=BLOCK)
    torch.testing.assert_close(attention(query, key, value), attention(query, key, value, torch.zeros(2, 1, 1, 40)))


def test_a_square_mask_and_cross_attention_are_refused():
    query, key, value, _ = make_inputs(40)
    attention = LSGSelfAttention(block_size=BLOCK, sparse_block_size=BLOCK)
    with pytest.raises(ValueError, match=r"\(batch, 1, 1, keys\).*is_causal=True"):
        attention(query, key, value, torch.zeros(2, 1, 40, 40))
    with pytest.raises(ValueError, match="cross-attention"):
        attention(query, key[:, :, :24], value[:, :, :24])


def test_impossible_settings_are_refused_as_a_converted_model_refuses_them():
    with pytest.raises(ValueError, match="sparsity_factor=3 must divide block_size=8"):
        LSGSelfAttention(block_size=8, sparsity_factor=3)


def test_dropout_only_in_training():
    query, key, value, additive = make_inputs(40, dtype=torch.float32)
    attention = LSGSelfAttention(block_size=BLOCK, sparse_block_size=BLOCK, attention_dropout_prob=0.5)
    assert torch.equal(attention.eval()(query, key, value, additive), attention(query, key, value, additive))
    assert not torch.equal(
        attention.train()(query, key, value, additive), attention.eval()(query, key, value, additive)
    )


def test_the_seed_example_runs():
    """The original package's README example, with its shapes (58 tokens, 2 x 4 heads of 32)."""
    n, h, t, d = 2, 4, 58, 32
    q, k, v = torch.randn(n, h, t, d), torch.randn(n, h, t, d), torch.randn(n, h, t, d)
    mask = torch.zeros(n, 1, 1, t)
    local = BlockLocalSelfAttention(block_size=16, is_causal=False, attention_dropout_prob=0.1)
    lsg = LSGSelfAttention(block_size=32, sparsity_factor=8, sparsity_type="bos_pooling", is_causal=True)
    assert local(q, k, v, mask).shape == lsg(q, k, v, mask).shape == (n, h, t, d)


# --- generation: new tokens over a cache -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["none", "norm", "pooling", "stride", "block_stride"])
@pytest.mark.parametrize("g", [1, 3])
@pytest.mark.parametrize("length,queries", [(75, 1), (75, 11), (80, 80), (6, 2)])
def test_cached_queries_see_what_the_whole_sequence_gives_them(kind, g, length, queries):
    """The last `queries` positions attending over the cache give the last rows of the causal forward over the whole
    sequence, which is the oracle's causal LSG pattern (75 tokens: 9 blocks and a partial one)."""
    settings = LSGSettings(block_size=BLOCK, sparse_block_size=2 * BLOCK, sparsity_factor=2, sparsity_type=kind,
                           num_global_tokens=g)  # fmt: skip
    query, key, value, _ = make_inputs(length, padded=0)
    visible = torch.ones(2, length, dtype=torch.bool)
    visible[-1, 30:34] = False  # padding inside the text (a batch of left-padded prompts has it at the start)
    cached = cached_attention(query[:, :, -queries:], key, value, visible, settings)
    whole = sequence_attention(query, key, value, visible, settings, is_causal=True)
    torch.testing.assert_close(cached, whole[:, -queries:], atol=1e-6, rtol=1e-6)
    pattern = Pattern(g, BLOCK, 2 * BLOCK, 2, kind, causal=True, first_tokens_global=True)
    expected = oracle(query, key, value, visible, pattern).transpose(1, 2)
    torch.testing.assert_close(cached, expected[:, -queries:], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("kind", ["bos_pooling", "lsh"])
def test_cached_queries_refuse_sparse_rows_a_cache_cannot_rebuild(kind):
    settings = LSGSettings(block_size=BLOCK, sparse_block_size=BLOCK, sparsity_factor=2, sparsity_type=kind)
    query, key, value, _ = make_inputs(40, padded=0)
    with pytest.raises(ValueError, match=f"sparsity_type='{kind}' cannot be used with a KV cache"):
        cached_attention(query[:, :, -1:], key, value, None, settings)
