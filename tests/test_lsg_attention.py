"""The LSG attention core against a dense oracle built from the spec, forward and backward.

The core is imported as the module it is (`hubgen.lsg.attention`); every rendered file includes that module's code
verbatim (tests/test_rendering.py checks it).
"""

from __future__ import annotations

import pytest
import torch
from support.oracle import Pattern, dense_reference

from hubgen.lsg import attention

BLOCK = 8


def make_inputs(n=2, h=3, g=1, t=40, d=4, padded=5, mask_first=False, dtype=torch.float32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    shape = (n, h, g + t, d)
    query, key, value = (torch.randn(shape, generator=generator, dtype=dtype) for _ in range(3))
    key_mask = torch.ones(n, g + t, dtype=torch.bool)
    if padded:
        key_mask[-1, g + t - padded :] = False
    if mask_first:
        key_mask[:, g] = False
    return query, key, value, key_mask


def run_lsg(inputs, pattern: Pattern, dropout=0.0, output_attentions=False):
    lsg_pattern = attention.LSGPattern(
        num_global_tokens=pattern.g,
        block_size=pattern.b,
        sparse_block_size=pattern.s,
        sparsity_factor=pattern.f,
        sparsity_type=pattern.kind,
        is_causal=pattern.causal,
    )
    return attention.lsg_attention(*inputs, lsg_pattern, dropout, output_attentions)


def assert_matches_oracle(pattern: Pattern, **input_kwargs):
    query, key, value, key_mask = make_inputs(g=pattern.g, **input_kwargs)
    leaves = [x.clone().requires_grad_() for x in (query, key, value)]
    out, _ = run_lsg((*leaves, key_mask), pattern)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out * weights).sum().backward()

    ref_leaves = [x.double().requires_grad_() for x in (query, key, value)]
    expected = dense_reference(*ref_leaves, key_mask, pattern)
    (expected * weights.double()).sum().backward()

    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)
    for got, want in zip(leaves, ref_leaves):
        torch.testing.assert_close(got.grad.double(), want.grad, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("kind", ["none", "stride", "block_stride", "norm", "pooling", "bos_pooling"])
@pytest.mark.parametrize("g", [1, 7])
@pytest.mark.parametrize("t", [12, 24, 40, 64])
def test_lsg_attention_matches_dense_oracle(kind, g, t):
    assert_matches_oracle(Pattern(g=g, b=BLOCK, s=BLOCK, f=2, kind=kind), t=t)


@pytest.mark.parametrize(
    "s,f,kind",
    [
        (8, 4, "norm"),
        (4, 2, "norm"),
        (16, 2, "pooling"),
        (8, 1, "norm"),
        (0, 2, "norm"),
        (8, 8, "stride"),
        (4, 4, "block_stride"),
        (8, 4, "bos_pooling"),
    ],
)
def test_lsg_attention_other_block_settings(s, f, kind):
    assert_matches_oracle(Pattern(g=2, b=BLOCK, s=s, f=f, kind=kind), t=56)


@pytest.mark.parametrize("kind", ["none", "norm", "pooling"])
@pytest.mark.parametrize("t", [16, 48])
def test_causal_pattern_matches_dense_oracle(kind, t):
    assert_matches_oracle(Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind=kind, causal=True), t=t)


@pytest.mark.parametrize(
    "kind,causal",
    [(kind, False) for kind in ("none", "stride", "block_stride", "norm", "pooling", "bos_pooling")]
    + [("none", True), ("norm", True)],
)
@pytest.mark.parametrize("no_gradient", [torch.inference_mode, torch.no_grad])
def test_inference_path_matches_dense_oracle(monkeypatch, kind, causal, no_gradient):
    """Without gradients or dropout the core takes its forward-only path (softmax in the inputs' dtype, no
    log-sum-exp kept), never the autograd function; it computes what the dense oracle does."""
    pattern = Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind=kind, causal=causal)
    query, key, value, key_mask = make_inputs(g=2, t=56, padded=13)

    def no_graph(*args):
        raise AssertionError("the inference path built the autograd function")

    monkeypatch.setattr(attention._LSGAttentionFunction, "apply", no_graph)
    with no_gradient():
        out, _ = run_lsg((query, key, value, key_mask), pattern)
    expected = dense_reference(query.double(), key.double(), value.double(), key_mask, pattern)
    torch.testing.assert_close(out.double(), expected, atol=1e-5, rtol=1e-5)


def test_masked_first_token_and_heavy_padding():
    pattern = Pattern(g=1, b=BLOCK, s=BLOCK, f=2, kind="norm")
    assert_matches_oracle(pattern, t=40, padded=20, mask_first=True)


def test_chunking_does_not_change_the_result(monkeypatch):
    """Chunks are a cache optimisation: one block per chunk must give the same numbers as one chunk per row."""
    pattern = Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind="norm")
    inputs = make_inputs(g=2, t=64)
    whole, _ = run_lsg(inputs, pattern)
    monkeypatch.setattr(attention, "_CPU_CHUNK_BYTES", 1)
    single, _ = run_lsg(inputs, pattern)
    torch.testing.assert_close(single, whole, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("kind", ["none", "norm", "pooling", "bos_pooling"])
@pytest.mark.parametrize("causal", [False, True])
def test_backward_passes_gradcheck_with_dropout(kind, causal):
    """The hand-written backward uses the forward's dropout masks: finite differences agree when the seed is
    fixed."""
    pattern = Pattern(g=1, b=4, s=4, f=2, kind=kind, causal=causal)
    query, key, value, key_mask = make_inputs(n=1, h=2, g=1, t=16, d=3, padded=3, dtype=torch.float64)

    def attention(q, k, v):
        torch.manual_seed(0)
        return run_lsg((q, k, v, key_mask), pattern, dropout=0.3)[0]

    leaves = [x.requires_grad_() for x in (query, key, value)]
    assert torch.autograd.gradcheck(attention, leaves, eps=1e-6, atol=1e-6, fast_mode=True)


def test_lsh_is_finite_shaped_and_seeded():
    pattern = Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind="lsh")
    inputs = make_inputs(g=2, t=64)
    torch.manual_seed(3)
    first, _ = run_lsg(inputs, pattern)
    torch.manual_seed(3)
    again, _ = run_lsg(inputs, pattern)
    torch.manual_seed(4)
    other, _ = run_lsg(inputs, pattern)
    assert first.shape == (2, 66, 3, 4)
    assert torch.isfinite(first).all()
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    assert not torch.equal(first, other)


def test_bfloat16_follows_float32():
    pattern = Pattern(g=1, b=BLOCK, s=BLOCK, f=2, kind="norm")
    inputs = make_inputs(g=1, t=40)
    exact, _ = run_lsg(inputs, pattern)
    low = [x.bfloat16() if x.is_floating_point() else x for x in inputs]
    approx, _ = run_lsg(low, pattern)
    assert approx.dtype == torch.bfloat16
    torch.testing.assert_close(approx.float(), exact, atol=0.05, rtol=0.05)


@pytest.mark.parametrize("kind,causal", [("norm", False), ("none", True)])
def test_bfloat16_gradients_follow_float32_with_float32_statistics(kind, causal):
    """The bf16 path computes its softmax in float32 (the global rows' probabilities are saved so, the chunks' are
    recomputed so), and its gradients follow the float32 ones within bf16's precision."""
    pattern = Pattern(g=1, b=BLOCK, s=BLOCK, f=2, kind=kind, causal=causal)
    inputs = make_inputs(g=1, t=40)
    weights = torch.randn(2, 41, 3, 4, generator=torch.Generator().manual_seed(1))
    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        leaves = [x.detach().to(dtype).requires_grad_() for x in inputs[:3]]
        out, _ = run_lsg((*leaves, inputs[3]), pattern)
        saved = [x for x in out.grad_fn.saved_tensors[7:] if x is not None]
        assert saved and all(x.dtype == torch.float32 for x in saved)
        (out.float() * weights).sum().backward()
        results[dtype] = [out.float()] + [leaf.grad.float() for leaf in leaves]
    for approx, exact in zip(results[torch.bfloat16], results[torch.float32]):
        torch.testing.assert_close(approx, exact, atol=0.05, rtol=0.05)


def test_dropout_keeps_each_probability_at_the_rate_asked_and_the_expectation():
    """Attention dropout drops a probability with the rate asked (rounded to 1/65536) and scales the kept ones by
    the inverse of the keep rate; masks come from torch's generator, so a seed reproduces them."""
    drop = attention._Dropout(0.3)
    torch.manual_seed(5)
    keep = drop.keep(torch.empty(1000, 1001))
    assert keep.shape == (1000, 1001) and keep.dtype == torch.bool
    assert abs(1 - keep.double().mean().item() - 0.3) < 0.003
    assert drop.factor(keep) == pytest.approx(65536 / (65536 - 19661), rel=1e-12)
    assert abs(keep.double().mean().item() * drop.factor(keep) - 1.0) < 0.005
    assert attention._Dropout(0.0).keep(torch.empty(3)) is None
    torch.manual_seed(5)
    assert torch.equal(drop.keep(torch.empty(1000, 1001)), keep)


def test_attention_weights_are_probabilities_over_the_key_slots():
    pattern = Pattern(g=2, b=BLOCK, s=BLOCK, f=2, kind="norm")
    _, probs = run_lsg(make_inputs(g=2, t=40), pattern, output_attentions=True)
    assert probs.shape == (2, 3, 40, 2 + 3 * BLOCK + 2 * BLOCK)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 3, 40))
    _, short = run_lsg(make_inputs(g=2, t=12), pattern, output_attentions=True)
    assert short.shape == (2, 3, 14, 14)


def test_text_length_must_be_whole_blocks():
    with pytest.raises(ValueError, match="multiple of block_size=8"):
        run_lsg(make_inputs(g=1, t=36), Pattern(g=1, b=BLOCK, s=BLOCK, f=2, kind="norm"))
