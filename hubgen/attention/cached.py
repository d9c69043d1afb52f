"""Causal LSG attention of new tokens over a KV cache: what generation computes after the prompt.

A query at position p sees exactly what it sees in a forward over the whole sequence (`sequence_attention` with
`is_causal`): the global tokens, its block and the block before up to itself, and the `sparse_block_size` sparse
rows made of the tokens before that. Causal LSG attention at a position depends on the tokens up to it only, so
generating with a cache gives the outputs of re-running the whole sequence, at a cost per token that does not
grow with the length (the original LSG package used full attention after the first step instead).

The sparse rows are made by the core's own `sparse_keys` from the cached keys they come from: every sparsity method
works in groups of rows that divide a block, so a slice starting on a block boundary reduces to the same rows as
the whole sequence does. `bos_pooling` weighs its rows with the first token's query, which a cache does not keep,
and `lsh` draws new random buckets at every call: neither can give the prompt's sparse rows back, so they are refused.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hubgen.attention.settings import LSGSettings
from hubgen.lsg.attention import LSGPattern, sparse_keys

UNCACHEABLE_SPARSITY = ("bos_pooling", "lsh")


def cached_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_mask: torch.Tensor | None,
    settings: LSGSettings,
    dropout: float = 0.0,
) -> torch.Tensor:
    """Queries of the last q positions, (batch, heads, q, d), over the keys of all positions, (batch, heads, k, d):
    the context as (batch, q, heads, d)."""
    batch, _, queries, _ = query.shape
    length = key.shape[2]
    pattern = settings.pattern(True, length)
    if pattern.has_sparse and pattern.sparsity_type in UNCACHEABLE_SPARSITY:
        raise ValueError(
            f"sparsity_type={pattern.sparsity_type!r} cannot be used with a KV cache (it needs the prompt's first "
            f"query or fresh random buckets): generate with use_cache=False, or use 'norm', 'pooling', 'stride' or "
            "'block_stride'."
        )
    if key_mask is None:
        key_mask = torch.ones(batch, length, dtype=torch.bool, device=query.device)
    parts, position = [], length - queries
    while position < length:
        end = _group_end(position, length, pattern)
        first = position - (length - queries)
        rows = query[:, :, first : first + end - position]
        keys, values, visible = _key_set(key, value, key_mask, position, end, pattern)
        context = F.scaled_dot_product_attention(rows, keys, values, attn_mask=visible, dropout_p=dropout)
        parts.append(context.transpose(1, 2))
        position = end
    return torch.cat(parts, dim=1)


def _group_end(position: int, length: int, pattern: LSGPattern) -> int:
    """Queries from `position` up to the returned one share a key set: the global tokens, or one text block."""
    g, b = pattern.num_global_tokens, pattern.block_size
    if position < g:
        return min(g, length)
    return min(length, g + ((position - g) // b + 1) * b)


def _key_set(key, value, key_mask, start: int, end: int, pattern: LSGPattern):
    """Keys, values and visibility (batch, heads, end - start, keys) of the queries at positions [start, end)."""
    g, b = pattern.num_global_tokens, pattern.block_size
    positions = torch.arange(start, end, device=key.device)
    if start < g:
        earlier = torch.arange(end, device=key.device) <= positions[:, None]
        return key[:, :, :end], value[:, :, :end], key_mask[:, None, None, :end] & earlier
    block = (start - g) // b
    local = slice(g + max(0, block - 1) * b, end)
    earlier = torch.arange(local.start, end, device=key.device) <= positions[:, None]
    keys = [key[:, :, :g], key[:, :, local]]
    values = [value[:, :, :g], value[:, :, local]]
    visible = [
        key_mask[:, None, None, :g].expand(-1, -1, end - start, -1),
        key_mask[:, None, None, local] & earlier,
    ]
    sparse = _sparse_window(key, value, key_mask, block, pattern)
    if sparse is not None:
        keys.append(sparse[0])
        values.append(sparse[1])
        visible.append(sparse[2][:, :, None, :].expand(-1, -1, end - start, -1))
    heads = key.shape[1]
    visible = [mask.expand(-1, heads, -1, -1) for mask in visible]
    return torch.cat(keys, dim=2), torch.cat(values, dim=2), torch.cat(visible, dim=3)


def _sparse_window(key, value, key_mask, block: int, pattern: LSGPattern):
    """The sparse rows a query of text block `block` sees: the s reduced rows before block - 1 (spec section 4), as
    keys and values (batch, heads, rows, d) and visibility (batch, heads, rows); None when there are none."""
    if not pattern.has_sparse:
        return None
    g, b, f = pattern.num_global_tokens, pattern.block_size, pattern.sparsity_factor
    reduced = b // f
    window_end = (block - 1) * reduced
    window_start = max(0, window_end - pattern.sparse_block_size)
    if window_end <= 0:
        return None
    first_block = window_start // reduced  # the slice starts on a block boundary: it reduces as the whole text does
    text = slice(g + first_block * b, g + (block - 1) * b)
    keys, values, mask = key[:, :, text], value[:, :, text], key_mask[:, text]
    reduction = sparse_keys(None, keys, values, mask, pattern)
    rows = slice(window_start - first_block * reduced, window_end - first_block * reduced)
    index, visible = reduction.index[:, :, rows], reduction.mask[:, :, rows]
    if reduction.keys is not None:
        return reduction.keys[:, :, rows], reduction.values[:, :, rows], visible
    gather = index[..., None].expand(-1, -1, -1, key.shape[-1])
    return keys.gather(2, gather), values.gather(2, gather), visible
