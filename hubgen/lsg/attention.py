"""LSG attention: local + sparse + global (spec sections 3 and 4), the one copy every rendered file includes.

`lsg_attention` takes the projections of g global rows followed by the text; `lsg_prepare_inputs` and
`lsg_finalize_outputs` pad the text to whole blocks and cut the output back around the encoder layers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hubgen.lsg.settings import validate_lsg_config


@dataclass(frozen=True)
class LSGPattern:
    """Which keys each query sees; everything the attention needs from the config, in one immutable place."""

    num_global_tokens: int
    block_size: int
    sparse_block_size: int
    sparsity_factor: int
    sparsity_type: str | None
    lsh_num_pre_rounds: int = 1
    is_causal: bool = False

    @classmethod
    def from_config(cls, config, is_causal: bool = False) -> LSGPattern:
        validate_lsg_config(config)
        return cls(
            num_global_tokens=config.num_global_tokens,
            block_size=config.block_size,
            sparse_block_size=config.sparse_block_size,
            sparsity_factor=config.sparsity_factor,
            sparsity_type=config.sparsity_type,
            lsh_num_pre_rounds=config.lsh_num_pre_rounds,
            is_causal=is_causal,
        )

    @property
    def has_sparse(self) -> bool:
        return bool(self.sparse_block_size) and self.sparsity_factor > 0 and self.sparsity_type not in (None, "none")

    @property
    def reduced_block(self) -> int:
        """Length of one block in the reduced (sparse) sequence."""
        return self.block_size // self.sparsity_factor

    @property
    def local_window(self) -> int:
        """Blocks i-1, i, i+1; a causal query has no use for block i+1."""
        return (2 if self.is_causal else 3) * self.block_size

    @property
    def sparse_windows(self) -> int:
        """Sparse rows before block i-1 and after block i+1; a causal query only looks back."""
        if not self.has_sparse:
            return 0
        return 1 if self.is_causal else 2

    @property
    def key_slots(self) -> int:
        """Keys a text query sees, whatever the length: this is why the cost is linear."""
        return self.num_global_tokens + self.local_window + self.sparse_windows * self.sparse_block_size

    def uses_full_attention(self, text_length: int) -> bool:
        return text_length <= 2 * self.block_size


def _mask_value(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).min


def _softmax_dtype(dtype: torch.dtype) -> torch.dtype:
    """Softmax statistics in at least float32, so bf16/fp16 inputs keep an accurate normaliser."""
    return torch.promote_types(dtype, torch.float32)


# --- sparse selection ------------------------------------------------------------------------------------------------
# Each method reduces the text keys by `sparsity_factor`. Selections (norm, stride, block_stride) return positions in
# the text, so the attention gathers the keys it needs without copying them; poolings return new rows with gradients.


@dataclass
class SparseKeys:
    """The reduced sequence: `index` rows of `keys`/`values` (the text keys themselves when `keys` is None)."""

    index: torch.Tensor
    mask: torch.Tensor
    keys: torch.Tensor | None = None
    values: torch.Tensor | None = None


def _identity_sparse_keys(key: torch.Tensor, mask: torch.Tensor) -> SparseKeys:
    n, h, t, _ = key.shape
    index = torch.arange(t, device=key.device).expand(n, h, t)
    return SparseKeys(index=index, mask=mask[:, None, :].expand(n, h, t))


def _select(index: torch.Tensor, mask: torch.Tensor) -> SparseKeys:
    n, h = index.shape[:2]
    return SparseKeys(index=index, mask=mask[:, None, :].expand(n, h, -1).gather(2, index))


def _norm_selection(key: torch.Tensor, mask: torch.Tensor, pattern: LSGPattern) -> SparseKeys:
    """Keep the keys of largest norm in each chunk of min(b, s) rows; a masked key counts as norm 0."""
    n, h, t, _ = key.shape
    chunk = min(pattern.block_size, pattern.sparse_block_size)
    keep = chunk // pattern.sparsity_factor
    with torch.no_grad():
        norms = torch.linalg.vector_norm(key, dim=-1, dtype=_softmax_dtype(key.dtype)) * mask[:, None, :]
        order = norms.view(n, h, t // chunk, chunk).argsort(dim=-1, stable=True)[..., chunk - keep :]
        offsets = torch.arange(0, t, chunk, device=key.device).view(1, 1, -1, 1)
        index = (order + offsets).reshape(n, h, -1)
    return _select(index, mask)


def _stride_selection(key: torch.Tensor, mask: torch.Tensor, pattern: LSGPattern) -> SparseKeys:
    """Head j keeps every f-th row, starting at row j mod f, so heads together cover the whole text."""
    n, h, t, _ = key.shape
    f = pattern.sparsity_factor
    rows = torch.arange(0, t, f, device=key.device).view(1, -1)
    heads = (torch.arange(h, device=key.device) % f).view(-1, 1)
    return _select((rows + heads).expand(n, h, -1), mask)


def _block_stride_selection(key: torch.Tensor, mask: torch.Tensor, pattern: LSGPattern) -> SparseKeys:
    """Head j keeps, inside every block, b/f consecutive rows starting at (j * b/f) mod b."""
    n, h, t, _ = key.shape
    b, r = pattern.block_size, pattern.reduced_block
    within = (
        torch.arange(r, device=key.device).view(1, 1, -1) + r * torch.arange(h, device=key.device).view(-1, 1, 1)
    ) % b
    blocks = torch.arange(0, t, b, device=key.device).view(1, -1, 1)
    return _select((within + blocks).reshape(h, -1).expand(n, h, -1), mask)


def _pooled(keys: torch.Tensor, values: torch.Tensor, mask: torch.Tensor) -> SparseKeys:
    n, h, r, _ = keys.shape
    index = torch.arange(r, device=keys.device).expand(n, h, r)
    return SparseKeys(index=index, mask=mask, keys=keys, values=values)


def _average_pooling(key, value, mask, pattern: LSGPattern) -> SparseKeys:
    """Average each run of f rows over its visible rows; a run with no visible row is masked."""
    n, h, t, d = key.shape
    f = pattern.sparsity_factor
    weights = mask.to(key.dtype).view(n, 1, t // f, f, 1)
    count = weights.sum(dim=-2)
    denominator = count.clamp(min=1)
    keys = (key.view(n, h, t // f, f, d) * weights).sum(dim=-2) / denominator
    values = (value.view(n, h, t // f, f, d) * weights).sum(dim=-2) / denominator
    return _pooled(keys, values, (count[..., 0] > 0).expand(n, h, -1))


def _bos_pooling(query, key, value, mask, pattern: LSGPattern) -> SparseKeys:
    """Merge each run of f rows with softmax weights given by the first text query, so the merge is content-aware."""
    n, h, t, d = key.shape
    f = pattern.sparsity_factor
    runs_k = key.view(n, h, t // f, f, d)
    scores = torch.einsum("nhd,nhrfd->nhrf", query[:, :, 0], runs_k) / math.sqrt(d)
    run_mask = mask.view(n, 1, t // f, f)
    weights = torch.softmax(scores.masked_fill(~run_mask, _mask_value(scores.dtype)), dim=-1)
    keys = torch.einsum("nhrf,nhrfd->nhrd", weights, runs_k)
    values = torch.einsum("nhrf,nhrfd->nhrd", weights, value.view(n, h, t // f, f, d))
    return _pooled(keys, values, run_mask.any(dim=-1).expand(n, h, -1))


def _lsh_round(keys, values, counts, buckets: int):
    """Hash rows into `buckets` buckets with random projections and sum each bucket (keys, values, row counts)."""
    n, h, c, rows, d = keys.shape
    with torch.no_grad():
        if buckets > 1:
            projections = torch.randn(1, h, 1, d, buckets // 2, device=keys.device, dtype=keys.dtype)
            hashed = (F.normalize(keys, dim=-1) * counts.clamp(0, 1)) @ projections
            index = torch.cat([hashed, -hashed], dim=-1).argmax(dim=-1, keepdim=True)
        else:
            index = torch.zeros(n, h, c, rows, 1, dtype=torch.long, device=keys.device)
    zeros = keys.new_zeros(n, h, c, max(buckets, 2 * (buckets // 2)), d)
    keys = zeros.scatter_add(-2, index.expand(-1, -1, -1, -1, d), keys)[..., :buckets, :]
    values = zeros.scatter_add(-2, index.expand(-1, -1, -1, -1, d), values)[..., :buckets, :]
    counts = zeros[..., :1].scatter_add(-2, index, counts)[..., :buckets, :]
    return keys, values, counts


def _lsh_pooling(query, key, value, mask, pattern: LSGPattern) -> SparseKeys:
    """Cluster similar keys per chunk of min(b, s) rows with LSH and average each cluster; random by design."""
    if pattern.sparsity_factor == pattern.sparse_block_size:
        return _bos_pooling(query, key, value, mask, pattern)
    n, h, t, d = key.shape
    chunk = min(pattern.block_size, pattern.sparse_block_size)
    visible = mask.to(key.dtype).view(n, 1, t // chunk, chunk, 1)
    keys = key.view(n, h, t // chunk, chunk, d) * visible
    values = value.view(n, h, t // chunk, chunk, d) * visible
    counts = visible.expand(n, h, -1, -1, -1)
    for _ in range(pattern.lsh_num_pre_rounds):
        keys, values, counts = _lsh_round(keys, values, counts, chunk)
    keys, values, counts = _lsh_round(keys, values, counts, chunk // pattern.sparsity_factor)
    denominator = counts.clamp(min=1)
    return _pooled(
        (keys / denominator).reshape(n, h, -1, d),
        (values / denominator).reshape(n, h, -1, d),
        (counts[..., 0] > 0).reshape(n, h, -1),
    )


def sparse_keys(query, key, value, mask, pattern: LSGPattern) -> SparseKeys | None:
    """The reduced sequence of the text keys (n, h, t/f rows), or None when sparse attention is off."""
    if not pattern.has_sparse:
        return None
    if pattern.sparsity_factor == 1:
        return _identity_sparse_keys(key, mask)
    kind = pattern.sparsity_type
    if kind == "norm":
        return _norm_selection(key, mask, pattern)
    if kind == "stride":
        return _stride_selection(key, mask, pattern)
    if kind == "block_stride":
        return _block_stride_selection(key, mask, pattern)
    if kind == "pooling":
        return _average_pooling(key, value, mask, pattern)
    if kind == "bos_pooling":
        return _bos_pooling(query, key, value, mask, pattern)
    return _lsh_pooling(query, key, value, mask, pattern)


# --- block attention -------------------------------------------------------------------------------------------------
# Written by hand because no library kernel computes "each query block sees its own gathered key set". The work goes
# chunk by chunk (some heads x some blocks), each chunk small enough to stay in cache: its key set is gathered (a
# small copy) and attended. The backward pass recomputes a chunk's probabilities (one score matmul and a softmax) and
# keeps only its dropout mask from the forward, so memory stays linear in the length and no score matrix outlives its
# chunk.

# A chunk's float32 scores: 2 MiB on CPU (a core's L2 cache) trains 5-10% faster at two threads than 4 MiB, and holds
# the fixed chunk buffers to about a tenth of the core's memory at 4,096 tokens (RoBERTa shape).
_CPU_CHUNK_BYTES = 2 * 2**20
_ACCELERATOR_CHUNK_BYTES = 256 * 2**20

# Slices in which the global queries' gradients are added into the key and value gradients.
_GLOBAL_GRADIENT_SLICES = 8


def _padded_rows(x: torch.Tensor, start: int, length: int, fill=0, dim: int = 0) -> torch.Tensor:
    """Rows [start, start + length) of `x` along `dim`, filled with `fill` where they fall outside it."""
    lo, hi = max(start, 0), min(start + length, x.shape[dim])
    shape = list(x.shape)
    if lo >= hi:
        shape[dim] = length
        return x.new_full(shape, fill)
    piece = x.narrow(dim, lo, hi - lo)
    before, after = lo - start, start + length - hi
    if not before and not after:
        return piece
    pads = []
    for count in (before, after):
        shape[dim] = count
        pads.append(x.new_full(shape, fill))
    return torch.cat([pads[0], piece, pads[1]], dim=dim)


@dataclass(frozen=True)
class _Chunk:
    """One batch element, heads [h0, h1) and query blocks [c0, c1)."""

    batch: int
    h0: int
    h1: int
    c0: int
    c1: int

    @property
    def heads(self) -> slice:
        return slice(self.h0, self.h1)

    @property
    def size(self) -> int:
        return (self.h1 - self.h0) * (self.c1 - self.c0)


class _KeyPlan:
    """Where the keys of each text block come from: [global | local blocks | sparse before | sparse after]."""

    def __init__(self, pattern: LSGPattern, query, key, value, key_mask, sparse: SparseKeys | None):
        self.pattern = pattern
        self.g, self.b = pattern.num_global_tokens, pattern.block_size
        n, h, length, d = query.shape
        self.n, self.h, self.t, self.d = n, h, length - self.g, d
        self.blocks = self.t // self.b
        self.query, self.key, self.value = query, key, value
        self.key_mask, self.text_mask = key_mask, key_mask[:, self.g :]
        self.sparse = sparse
        self.scale = 1.0 / math.sqrt(d)
        self.accumulate = _softmax_dtype(query.dtype)
        budget = _CPU_CHUNK_BYTES if query.device.type == "cpu" else _ACCELERATOR_CHUNK_BYTES
        tiles = max(1, budget // (4 * self.b * pattern.key_slots))
        self.blocks_per_chunk = min(self.blocks, tiles)
        self.heads_per_chunk = max(1, min(h, tiles // self.blocks))

    def chunks(self):
        """Chunks in a fixed order, so that the backward pass replays the forward's dropout draws."""
        for i in range(self.n):
            for h0 in range(0, self.h, self.heads_per_chunk):
                for c0 in range(0, self.blocks, self.blocks_per_chunk):
                    yield _Chunk(
                        i, h0, min(h0 + self.heads_per_chunk, self.h), c0, min(c0 + self.blocks_per_chunk, self.blocks)
                    )

    def text_rows(self, chunk: _Chunk) -> slice:
        return slice(self.g + chunk.c0 * self.b, self.g + chunk.c1 * self.b)

    def rows_of(self, tensor: torch.Tensor, chunk: _Chunk) -> torch.Tensor:
        """The chunk's text rows of a (batch, heads, length, d) tensor, as (heads * blocks, b, d)."""
        return tensor[chunk.batch, chunk.heads, self.text_rows(chunk)].reshape(chunk.size, self.b, self.d)

    def sparse_windows(self, chunk: _Chunk) -> list:
        """(index, visible) of each sparse window of the chunk, both (heads, blocks, s)."""
        if self.sparse is None:
            return []
        r, s = self.pattern.reduced_block, self.pattern.sparse_block_size
        span = (chunk.c1 - chunk.c0 - 1) * r + s
        index = self.sparse.index[chunk.batch, chunk.heads]
        mask = self.sparse.mask[chunk.batch, chunk.heads]
        starts = [(chunk.c0 - 1) * r - s] + ([] if self.pattern.is_causal else [(chunk.c0 + 2) * r])
        return [
            (
                _padded_rows(index, start, span, 0, dim=1).unfold(1, s, r),
                _padded_rows(mask, start, span, False, dim=1).unfold(1, s, r),
            )
            for start in starts
        ]

    def gather(self, chunk: _Chunk, tensor, sparse_source, windows) -> torch.Tensor:
        """Keys (or values) of the chunk: a small copy, (heads * blocks, key_slots, d)."""
        heads, count, b = chunk.h1 - chunk.h0, chunk.c1 - chunk.c0, self.b
        rows = tensor[chunk.batch, chunk.heads]
        parts = [rows[:, : self.g].unsqueeze(1).expand(-1, count, -1, -1)]
        span = (count + 1 if self.pattern.is_causal else count + 2) * b
        local = _padded_rows(rows[:, self.g :], (chunk.c0 - 1) * b, span, 0, dim=1)
        parts.append(local.unfold(1, self.pattern.local_window, b).transpose(2, 3))
        source = rows[:, self.g :] if sparse_source is None else sparse_source[chunk.batch, chunk.heads]
        for index, _ in windows:
            # Row copies per head (index_select) are several times faster than one gather with an expanded index.
            picked = [source[head].index_select(0, index[head].reshape(-1)) for head in range(heads)]
            parts.append(torch.stack(picked).view(heads, count, -1, self.d))
        return torch.cat(parts, dim=2).reshape(chunk.size, self.pattern.key_slots, self.d)

    def hidden(self, chunk: _Chunk, windows) -> torch.Tensor:
        """Which gathered keys each query may NOT see: (heads * blocks, 1, key_slots), or per query when causal."""
        heads, count, b = chunk.h1 - chunk.h0, chunk.c1 - chunk.c0, self.b
        span = (count + 1 if self.pattern.is_causal else count + 2) * b
        local = _padded_rows(self.text_mask[chunk.batch], (chunk.c0 - 1) * b, span, False).unfold(
            0, self.pattern.local_window, b
        )
        parts = [self.text_mask.new_ones(heads, count, self.g), local.expand(heads, -1, -1)]
        parts.extend(visible for _, visible in windows)
        hidden = ~torch.cat(parts, dim=2).reshape(chunk.size, 1, self.pattern.key_slots)
        if self.pattern.is_causal:
            start = self.g + b
            future = torch.ones(b, b, dtype=torch.bool, device=hidden.device).triu(1)
            hidden = hidden.expand(-1, b, -1).clone()
            hidden[:, :, start : start + b] |= future
        return hidden

    def scores(self, queries, keys, hidden, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Masked, scaled scores in the softmax dtype (or in `dtype`), (heads * blocks, b, key_slots)."""
        dtype = dtype or self.accumulate
        if queries.dtype == dtype:  # one GEMM scales the products and adds them to the mask's bias
            return torch.baddbmm(_bias(hidden, dtype), queries, keys.transpose(1, 2), alpha=self.scale)
        scores = torch.bmm(queries, keys.transpose(1, 2)).to(self.accumulate).mul_(self.scale)
        return scores.masked_fill_(hidden, _mask_value(self.accumulate))

    def scatter(self, chunk: _Chunk, grad, target, sparse_target, windows) -> None:
        """Add the gradient of gathered keys (or values) back to the rows they were gathered from."""
        heads, count, b, g = chunk.h1 - chunk.h0, chunk.c1 - chunk.c0, self.b, self.g
        grad = grad.view(heads, count, self.pattern.key_slots, self.d)
        rows = target[chunk.batch, chunk.heads]
        rows[:, :g] += grad[:, :, :g].sum(dim=1)
        local = grad[:, :, g : g + self.pattern.local_window]
        text = rows[:, g:].view(heads, self.blocks, b, self.d)
        for offset in range(self.pattern.local_window // b):
            first = chunk.c0 - 1 + offset
            lo, hi = max(first, 0), min(first + count, self.blocks)
            if lo < hi:
                text[:, lo:hi] += local[:, lo - first : hi - first, offset * b : (offset + 1) * b]
        sink = rows[:, g:] if sparse_target is None else sparse_target[chunk.batch, chunk.heads]
        position = g + self.pattern.local_window
        for index, _ in windows:
            width = index.shape[-1]
            flat = index.reshape(heads, -1, 1).expand(-1, -1, self.d)
            sink.scatter_add_(1, flat, grad[:, :, position : position + width].reshape(heads, -1, self.d))
            position += width


# Dropout draws are 16-bit integers, four from each 64-bit draw of the generator: random numbers are most of the cost
# of attention dropout on CPU, and four per draw make them several times cheaper than one float each. The dropout
# probability is rounded to a multiple of 1/65536 (FlashAttention rounds it to 1/256) and the kept probabilities
# are scaled by the exact inverse of the rounded keep rate, so each output's expectation is unchanged.
_DROPOUT_LEVELS = 2**16


class _Dropout:
    """Attention dropout as a mask of kept probabilities and the factor that scales them up."""

    def __init__(self, p: float):
        self.p = p
        dropped = round(p * _DROPOUT_LEVELS)
        kept = _DROPOUT_LEVELS - dropped
        # A 16-bit draw is uniform over [-2^15, 2^15): it is kept when at least this, with probability kept / levels.
        self.threshold = dropped - _DROPOUT_LEVELS // 2
        self.scale = _DROPOUT_LEVELS / kept if kept else 0.0

    def keep(self, like: torch.Tensor) -> torch.Tensor | None:
        """Which of `like`'s probabilities are kept, as a bool tensor of its shape (None without dropout)."""
        if self.p <= 0:
            return None
        count = like.numel()
        words = torch.empty(-(-count // 4), dtype=torch.int64, device=like.device)
        words.random_(torch.iinfo(torch.int64).min, None)
        return words.view(torch.int16)[:count].view(like.shape) >= self.threshold

    def factor(self, keep: torch.Tensor | None) -> float:
        """What kept probabilities are multiplied by; applied to the (small) products rather than the probabilities."""
        return 1.0 if keep is None else self.scale


def _bias(hidden: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The mask as an additive bias: the lowest finite value where hidden (a score added to it stays that value in
    float32 and wider, so the softmax is that of the masked scores), zero elsewhere."""
    bias = torch.zeros(hidden.shape, dtype=dtype, device=hidden.device)
    return bias.masked_fill_(hidden, _mask_value(dtype))


def _as_factor(keep: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """The mask as 0s and 1s of `like`'s dtype: multiplying by a bool tensor takes a slow mixed-dtype path, eight times
    slower than this conversion and a float product (and `masked_fill` three times)."""
    return keep.to(like.dtype)


def _kept(probs: torch.Tensor, keep: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """The probabilities the values are multiplied by, dropped ones zeroed (before the dropout factor)."""
    return (probs if keep is None else probs * _as_factor(keep, probs)).to(dtype)


def _softmax(scores: torch.Tensor, values: torch.Tensor, drop: _Dropout):
    """dropout(softmax(scores)) @ values, the probabilities and the dropout mask."""
    probs = torch.softmax(scores, dim=-1)
    keep = drop.keep(probs)
    out = torch.matmul(_kept(probs, keep, values.dtype), values)
    if keep is not None:
        out.mul_(drop.factor(keep))
    return out, probs, keep


def _score_gradient(probs, keep, drop: _Dropout, d_out, values, out, scale: float) -> torch.Tensor:
    """Gradient with respect to the scaled scores of dropout(softmax(scores)) @ values.

    The usual trick rowsum(dO * O) stands in for rowsum(dP * P), so only the probabilities and the dropout mask are
    needed from the forward; the dropout factor s is folded in: (dO V^T * keep * s - delta) = s (dO V^T * keep -
    delta / s)."""
    factor = drop.factor(keep)
    d_probs = torch.matmul(d_out, values.transpose(-1, -2)).to(probs.dtype)
    delta = (d_out.to(probs.dtype) * out.to(probs.dtype)).sum(dim=-1, keepdim=True)
    if keep is not None:
        d_probs.mul_(_as_factor(keep, d_probs))
    return d_probs.sub_(delta.div_(factor)).mul_(probs).mul_(scale * factor)


def _global_forward(plan: _KeyPlan, drop: _Dropout, out):
    """The g global queries see every row (causal: only the global rows); their output goes into `out`, and their
    probabilities and dropout mask (g rows: small) are returned for the backward."""
    g = plan.g
    keys = plan.key[:, :, :g] if plan.pattern.is_causal else plan.key
    values = plan.value[:, :, :g] if plan.pattern.is_causal else plan.value
    # keys @ queries^T reads the keys as they lie (rows of head_dim); queries @ keys^T would copy them transposed.
    scores = torch.matmul(keys, plan.query[:, :, :g].transpose(-1, -2)).transpose(-1, -2)
    scores = scores.to(plan.accumulate).mul_(plan.scale)
    if not plan.pattern.is_causal:
        scores.masked_fill_(~plan.key_mask[:, None, None, :], _mask_value(plan.accumulate))
    global_out, probs, keep = _softmax(scores, values, drop)
    out[:, :g] = global_out.transpose(1, 2)
    return probs, keep


def _global_backward(plan: _KeyPlan, saved, drop: _Dropout, out, grad_out, grads) -> None:
    """Gradients through the g global queries.

    Their contribution to the key and value gradients spans every row; it is added in slices of an eighth of the
    rows so that the temporary is an eighth of a (batch, heads, length, d) tensor, not all of it.
    """
    grad_query, grad_key, grad_value = grads[:3]
    g, query = plan.g, plan.query
    keys = plan.key[:, :, :g] if plan.pattern.is_causal else plan.key
    values = plan.value[:, :, :g] if plan.pattern.is_causal else plan.value
    probs, keep = saved
    d_out = grad_out[:, :g].transpose(1, 2)
    d_scores = _score_gradient(probs, keep, drop, d_out, values, out[:, :g].transpose(1, 2), plan.scale)
    d_scores = d_scores.to(query.dtype)
    kept, factor = _kept(probs, keep, values.dtype), drop.factor(keep)
    grad_query[:, :, :g] = torch.matmul(d_scores, keys)
    width = keys.shape[2]
    step = max(plan.b, -(-width // _GLOBAL_GRADIENT_SLICES))
    for start in range(0, width, step):
        rows = slice(start, min(start + step, width))
        grad_value[:, :, rows] += torch.matmul(kept[..., rows].transpose(-1, -2), d_out).mul_(factor)
        grad_key[:, :, rows] += torch.matmul(d_scores[..., rows].transpose(-1, -2), query[:, :, :g])


# One chunk per call: its temporaries (gathered keys and values, their gradients) are freed on return, before the
# next chunk allocates its own, so only one chunk's worth is ever alive.


def _chunk_forward(plan: _KeyPlan, chunk: _Chunk, sparse_keys_, sparse_values, drop: _Dropout, out, grad: bool):
    """The chunk's output, written into `out`; returns its dropout mask, all the backward keeps of it.

    Without gradients the scores stay in the inputs' dtype: torch's softmax kernel keeps float32 statistics for
    16-bit inputs, and bf16 scores halve the memory traffic (bf16 inference 1.8x faster at model level, RoBERTa
    shape, 4,096 tokens). With gradients they are computed in the softmax dtype, as the backward recomputes them."""
    windows = plan.sparse_windows(chunk)
    queries = plan.rows_of(plan.query, chunk)
    keys = plan.gather(chunk, plan.key, sparse_keys_, windows)
    values = plan.gather(chunk, plan.value, sparse_values, windows)
    scores = plan.scores(queries, keys, plan.hidden(chunk, windows), None if grad else queries.dtype)
    chunk_out, _, keep = _softmax(scores, values, drop)
    heads, rows = chunk.h1 - chunk.h0, plan.text_rows(chunk)
    out[chunk.batch, rows, chunk.heads] = chunk_out.reshape(heads, -1, plan.d).transpose(0, 1)
    return keep


def _chunk_backward(plan: _KeyPlan, chunk: _Chunk, keep, sparse_keys_, sparse_values, out, grad_out, drop, grads):
    """Gradients of one chunk, added into `grads`. Its probabilities are recomputed (one score GEMM and a softmax):
    keeping them from the forward would save 7-10% of the core's time for 4 more bytes per query and key slot, three
    times the memory of full attention's fused kernel at 16,384 tokens (RoBERTa shape)."""
    grad_query, grad_key, grad_value, grad_sparse_keys, grad_sparse_values = grads
    windows = plan.sparse_windows(chunk)
    heads, rows, d = chunk.h1 - chunk.h0, plan.text_rows(chunk), plan.d
    queries = plan.rows_of(plan.query, chunk)
    keys = plan.gather(chunk, plan.key, sparse_keys_, windows)
    values = plan.gather(chunk, plan.value, sparse_values, windows)
    d_out = grad_out[chunk.batch, rows, chunk.heads].transpose(0, 1).reshape(chunk.size, -1, d)
    chunk_out = out[chunk.batch, rows, chunk.heads].transpose(0, 1).reshape(chunk.size, -1, d)
    probs = torch.softmax(plan.scores(queries, keys, plan.hidden(chunk, windows)), dim=-1)
    grad_values = torch.bmm(_kept(probs, keep, values.dtype).transpose(1, 2), d_out)
    if keep is not None:
        grad_values.mul_(drop.factor(keep))
    d_scores = _score_gradient(probs, keep, drop, d_out, values, chunk_out, plan.scale).to(queries.dtype)
    grad_query[chunk.batch, chunk.heads, rows] = torch.bmm(d_scores, keys).reshape(heads, -1, d)
    plan.scatter(chunk, torch.bmm(d_scores.transpose(1, 2), queries), grad_key, grad_sparse_keys, windows)
    plan.scatter(chunk, grad_values, grad_value, grad_sparse_values, windows)


def _lsg_forward(plan: _KeyPlan, drop: _Dropout, sparse_keys_, sparse_values, grad: bool):
    """The context, (batch, g + t, heads, d); the global rows' probabilities and dropout mask; each chunk's dropout
    mask, in chunk order (None without dropout)."""
    n, h, length, d = plan.query.shape
    out = plan.query.new_empty(n, length, h, d)
    global_probs, global_keep = _global_forward(plan, drop, out)
    masks = [_chunk_forward(plan, chunk, sparse_keys_, sparse_values, drop, out, grad) for chunk in plan.chunks()]
    return out, global_probs, global_keep, masks


class _LSGAttentionFunction(torch.autograd.Function):
    """softmax(QK^T/sqrt(d) + mask) V over the LSG key sets, with a hand-written backward pass.

    The forward keeps the dropout masks (a byte per query and key slot), not the random generator's state: replaying
    the draws in the backward had cost a tenth of a training step at model level (RoBERTa shape, 4,096 tokens)."""

    @staticmethod
    def forward(ctx, query, key, value, key_mask, sparse_keys_, sparse_values, sparse_meta, pattern, dropout):
        sparse = (
            None if sparse_meta is None else SparseKeys(sparse_meta[0], sparse_meta[1], sparse_keys_, sparse_values)
        )
        plan = _KeyPlan(pattern, query, key, value, key_mask, sparse)
        out, global_probs, global_keep, masks = _lsg_forward(
            plan, _Dropout(dropout), sparse_keys_, sparse_values, grad=True
        )
        saved = (query, key, value, key_mask, sparse_keys_, sparse_values, out, global_probs, global_keep, *masks)
        ctx.save_for_backward(*saved)
        ctx.sparse_meta, ctx.pattern, ctx.dropout = sparse_meta, pattern, dropout
        return out

    @staticmethod
    def backward(ctx, grad_out):
        query, key, value, key_mask, sparse_keys_, sparse_values, out, global_probs, global_keep, *masks = (
            ctx.saved_tensors
        )
        pattern, meta = ctx.pattern, ctx.sparse_meta
        sparse = None if meta is None else SparseKeys(meta[0], meta[1], sparse_keys_, sparse_values)
        plan = _KeyPlan(pattern, query, key, value, key_mask, sparse)
        drop = _Dropout(ctx.dropout)
        grad_out = grad_out.contiguous()
        grad_query = torch.empty_like(query)
        grad_key = torch.zeros_like(key)
        grad_value = torch.zeros_like(value)
        grad_sparse_keys = None if sparse_keys_ is None else torch.zeros_like(sparse_keys_)
        grad_sparse_values = None if sparse_values is None else torch.zeros_like(sparse_values)
        grads = (grad_query, grad_key, grad_value, grad_sparse_keys, grad_sparse_values)

        _global_backward(plan, (global_probs, global_keep), drop, out, grad_out, grads)
        for chunk, keep in zip(plan.chunks(), masks):
            _chunk_backward(plan, chunk, keep, sparse_keys_, sparse_values, out, grad_out, drop, grads)
        return grad_query, grad_key, grad_value, None, grad_sparse_keys, grad_sparse_values, None, None, None


def _lsg_probabilities(query, key, value, key_mask, sparse, pattern) -> torch.Tensor:
    """Attention weights of the text queries over their key slots, (n, h, t, key_slots), for `output_attentions`.

    Slots are [global | local blocks i-1, i(, i+1) | sparse before(, after)]; a dense (t x t) map would not be
    linear and would be ill-defined for pooled sparse keys, so this compact layout is what the model returns.
    """
    plan = _KeyPlan(pattern, query, key, value, key_mask, sparse)
    probs = query.new_zeros(plan.n, plan.h, plan.t, pattern.key_slots, dtype=plan.accumulate)
    source = None if sparse is None else sparse.keys
    for chunk in plan.chunks():
        windows = plan.sparse_windows(chunk)
        keys = plan.gather(chunk, key, source, windows)
        scores = plan.scores(plan.rows_of(query, chunk), keys, plan.hidden(chunk, windows))
        blocks = slice(chunk.c0 * plan.b, chunk.c1 * plan.b)
        probs[chunk.batch, chunk.heads, blocks] = torch.softmax(scores, dim=-1).reshape(
            chunk.h1 - chunk.h0, -1, pattern.key_slots
        )
    return probs.to(query.dtype)


def _full_attention(query, key, value, key_mask, pattern: LSGPattern, dropout: float, output_attentions: bool):
    """Every row sees every row (short inputs): one fused kernel, as the base model would compute it."""
    g, length = pattern.num_global_tokens, query.shape[2]
    visible = key_mask[:, None, None, :]
    if pattern.is_causal:
        rows = torch.arange(length, device=query.device)
        # Text rows look back (the global rows included); global rows see the global rows only.
        causal = torch.where(rows[:, None] < g, rows[None, :] < g, rows[None, :] <= rows[:, None])
        visible = visible & causal
    if not output_attentions:
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=visible, dropout_p=dropout)
        return context.transpose(1, 2), None
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(query.shape[-1])
    probs = torch.softmax(scores.masked_fill(~visible, _mask_value(scores.dtype)), dim=-1)
    context = torch.matmul(F.dropout(probs, p=dropout, training=dropout > 0), value)
    return context.transpose(1, 2), probs


def lsg_attention(query, key, value, key_mask, pattern: LSGPattern, dropout: float = 0.0, output_attentions=False):
    """LSG self-attention over `g` global rows followed by the text.

    `query`, `key`, `value`: (batch, heads, g + t, head_dim), any strides; `key_mask`: (batch, g + t) bool, True where
    a key may be attended. Returns the context as (batch, g + t, heads, head_dim) and, if asked, the attention weights:
    (batch, heads, g + t, g + t) on the full-attention path, the compact (batch, heads, t, key_slots) map otherwise.
    """
    text_length = query.shape[2] - pattern.num_global_tokens
    if pattern.uses_full_attention(text_length):
        return _full_attention(query, key, value, key_mask, pattern, dropout, output_attentions)
    if text_length % pattern.block_size:
        raise ValueError(
            f"LSG attention needs a text length that is a multiple of block_size={pattern.block_size}, got "
            f"{text_length}: set `adaptive=True` in the config or pad with `pad_to_multiple_of={pattern.block_size}`."
        )
    text_mask = key_mask[:, pattern.num_global_tokens :]
    g = pattern.num_global_tokens
    sparse = sparse_keys(query[:, :, g:], key[:, :, g:], value[:, :, g:], text_mask, pattern)
    meta = None if sparse is None else (sparse.index, sparse.mask)
    sparse_k = None if sparse is None else sparse.keys
    sparse_v = None if sparse is None else sparse.values
    inputs = (query, key, value, sparse_k, sparse_v)
    if not (torch.is_grad_enabled() and any(x is not None and x.requires_grad for x in inputs)):
        # Nothing to differentiate: nothing to keep for a backward pass and no graph to record.
        plan = _KeyPlan(pattern, query, key, value, key_mask, sparse)
        context = _lsg_forward(plan, _Dropout(dropout), sparse_k, sparse_v, grad=False)[0]
    else:
        context = _LSGAttentionFunction.apply(query, key, value, key_mask, sparse_k, sparse_v, meta, pattern, dropout)
    probs = None
    if output_attentions:
        with torch.no_grad():
            probs = _lsg_probabilities(query, key, value, key_mask, sparse, pattern)
    return context, probs


# --- encoder input/output --------------------------------------------------------------------------------------------


def lsg_prepare_inputs(hidden_states, attention_mask, config):
    """Pad the text to whole blocks when needed and build the key mask of the g + t' rows.

    `hidden_states` holds the g global rows then the t text rows; `attention_mask` (batch, t) marks real tokens.
    Returns the padded rows and the boolean key mask (global rows always visible, padding never).
    """
    validate_lsg_config(config)
    batch, rows = hidden_states.shape[:2]
    g, b = config.num_global_tokens, config.block_size
    text_length = rows - g
    if attention_mask is None:
        attention_mask = torch.ones(batch, text_length, dtype=torch.bool, device=hidden_states.device)
    text_mask = attention_mask.to(torch.bool)
    if config.adaptive and text_length > 2 * b and text_length % b:
        pad = b - text_length % b
        hidden_states = F.pad(hidden_states, (0, 0, 0, pad))
        text_mask = F.pad(text_mask, (0, pad), value=False)
    if config.mask_first_token:
        text_mask = text_mask.clone()
        text_mask[:, 0] = False
    key_mask = torch.cat([text_mask.new_ones(batch, g), text_mask], dim=1)
    return hidden_states, key_mask


def lsg_finalize_outputs(hidden_states, text_length: int, config):
    """Back to the input's shape: drop global rows and padding; with `pool_with_global` the first text row takes
    global token 0's output (it is the one that has seen everything)."""
    g = config.num_global_tokens
    text = hidden_states[:, g : g + text_length]
    if config.pool_with_global:
        text = torch.cat([hidden_states[:, :1], text[:, 1:]], dim=1)
    return text
