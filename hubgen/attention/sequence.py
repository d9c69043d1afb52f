"""LSG self-attention over one sequence whose first tokens act as the global tokens, on the core every rendered
model includes (`hubgen.lsg.attention`).

The core takes the global rows followed by a text of whole blocks; here the global rows are the sequence's first
`num_global_tokens` tokens, and a text that is not whole blocks is padded with masked keys and cut back (spec 3.1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hubgen.attention.settings import LSGSettings
from hubgen.lsg.attention import lsg_attention


def key_mask_from(attention_mask: torch.Tensor | None, length: int) -> torch.Tensor | None:
    """The keys a query may see, (batch, length) bool, from a key mask in any of the usual forms.

    Accepted: None (every key), (batch, length) or (batch, 1, 1, length), boolean (True: visible) or additive (0:
    visible, a negative value: masked), integer 0/1 (1: visible). A (batch, 1, queries, keys) mask is refused: a
    length x length mask is what LSG attention exists to avoid; `is_causal` gives the causal pattern.
    """
    if attention_mask is None:
        return None
    mask = attention_mask
    if mask.dim() == 4:
        if mask.shape[1] != 1 or mask.shape[2] != 1:
            raise ValueError(
                f"LSG attention takes a key mask of shape (batch, 1, 1, keys) or (batch, keys), got "
                f"{tuple(mask.shape)}: a (queries x keys) mask would cost what LSG attention saves; use is_causal=True "
                "for causal masking."
            )
        mask = mask[:, 0, 0]
    if mask.dim() != 2 or mask.shape[-1] != length:
        raise ValueError(f"the key mask has shape {tuple(attention_mask.shape)}; expected (batch, {length}).")
    if mask.dtype == torch.bool:
        return mask
    if mask.is_floating_point():
        return mask == 0
    return mask != 0


def sequence_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_mask: torch.Tensor | None,
    settings: LSGSettings,
    is_causal: bool,
    dropout: float = 0.0,
) -> torch.Tensor:
    """LSG attention of a sequence over itself: (batch, heads, length, d) each -> (batch, length, heads, d).

    Causal: a query sees the global tokens, the tokens of its block and of the block before up to itself, and the
    sparse rows made of the tokens before that (never a later token). A global token sees the tokens up to itself.
    """
    batch, _, length, _ = query.shape
    pattern = settings.pattern(is_causal, length)
    g, b = pattern.num_global_tokens, pattern.block_size
    if key_mask is None:
        key_mask = torch.ones(batch, length, dtype=torch.bool, device=query.device)
    text = length - g
    pad = 0 if pattern.uses_full_attention(text) else -text % b
    if pad:
        query, key, value = (F.pad(x, (0, 0, 0, pad)) for x in (query, key, value))
        key_mask = F.pad(key_mask, (0, pad), value=False)
    context, _ = lsg_attention(query, key, value, key_mask, pattern, dropout)
    context = context[:, :length]
    if is_causal and g > 1:
        # The core's causal global rows see each other (they are learned rows in a converted model); here they are
        # the first tokens of the sequence, so each sees only the tokens up to itself.
        context = torch.cat([_first_tokens_causal(query, key, value, key_mask, g, dropout), context[:, g:]], dim=1)
    return context


def _first_tokens_causal(query, key, value, key_mask, g: int, dropout: float) -> torch.Tensor:
    """Causal attention among the first g tokens, (batch, g, heads, d)."""
    earlier = torch.ones(g, g, dtype=torch.bool, device=query.device).tril()
    visible = key_mask[:, None, None, :g] & earlier
    rows = F.scaled_dot_product_attention(
        query[:, :, :g], key[:, :, :g], value[:, :, :g], attn_mask=visible, dropout_p=dropout
    )
    return rows.transpose(1, 2)
