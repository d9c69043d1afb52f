"""LSG attention as standalone layers for any model's attention block: queries, keys and values in, context out.

The call is the one of the original package's layers, `attn(query, key, value, attention_mask)` with
(batch, heads, length, d) tensors and a (batch, 1, 1, length) additive key mask, so code written for them keeps
working; the first token(s) of the sequence act as the global tokens, as its `compute_global_attention` did.
"""

from __future__ import annotations

import torch
from torch import nn

from hubgen.attention.sequence import key_mask_from, sequence_attention
from hubgen.attention.settings import LSGSettings


class LSGSelfAttention(nn.Module):
    """Local + sparse + global self-attention; linear in the length, full attention up to 2 x block_size tokens.

    With `is_causal`, a token sees the global tokens, its block and the block before up to itself, and the sparse
    rows made of the tokens before those blocks; the mask is built block by block, never as a length x length one.
    """

    def __init__(
        self,
        block_size: int = 128,
        sparse_block_size: int = 128,
        sparsity_factor: int = 2,
        sparsity_type: str | None = "norm",
        num_global_tokens: int = 1,
        is_causal: bool = False,
        attention_dropout_prob: float = 0.0,
        lsh_num_pre_rounds: int = 1,
    ):
        super().__init__()
        self.settings = LSGSettings(
            block_size=block_size,
            sparse_block_size=sparse_block_size,
            sparsity_factor=sparsity_factor,
            sparsity_type=sparsity_type,
            num_global_tokens=num_global_tokens,
            lsh_num_pre_rounds=lsh_num_pre_rounds,
        )
        self.is_causal = is_causal
        self.dropout = attention_dropout_prob

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(batch, heads, length, d) each, and a key mask (batch, 1, 1, length) or (batch, length), additive or
        boolean -> the context, (batch, heads, length, d)."""
        if key.shape[2] != query.shape[2]:
            raise ValueError(
                f"LSG attention is self-attention: queries and keys must have the same length, got {query.shape[2]} "
                f"and {key.shape[2]} (cross-attention has no local blocks to attend)."
            )
        key_mask = key_mask_from(attention_mask, key.shape[2])
        dropout = self.dropout if self.training else 0.0
        context = sequence_attention(query, key, value, key_mask, self.settings, self.is_causal, dropout)
        return context.transpose(1, 2)

    def extra_repr(self) -> str:
        return f"{self.settings}, is_causal={self.is_causal}, attention_dropout_prob={self.dropout}"


class BlockLocalSelfAttention(LSGSelfAttention):
    """Block-local attention with global tokens: a token sees its block, the blocks on either side (causal: the block
    before) and the global tokens. LSG attention without its sparse part."""

    def __init__(
        self,
        block_size: int = 128,
        num_global_tokens: int = 1,
        is_causal: bool = False,
        attention_dropout_prob: float = 0.0,
    ):
        super().__init__(
            block_size=block_size,
            sparse_block_size=0,
            sparsity_factor=1,
            sparsity_type="none",
            num_global_tokens=num_global_tokens,
            is_causal=is_causal,
            attention_dropout_prob=attention_dropout_prob,
        )
