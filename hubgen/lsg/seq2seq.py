"""What the BART family's decoder needs beyond the library's layers: the cross-attention mask over the LSG encoder's
output, the decoder caches on every transformers version, dense attention, and the fields every head passes on.

Decoder caches are transformers' own (DynamicCache, EncoderDecoderCache), so generate() reorders them for beam search
on every version; only the few functions below touch them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

try:
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache
except ImportError:  # transformers < 4.43 has no EncoderDecoderCache: see _EncoderDecoderCacheFallback
    from transformers.cache_utils import DynamicCache

    EncoderDecoderCache = None

# The embedding names tied to the shared token table of the bare encoder-decoder.
SHARED_EMBEDDINGS = {"encoder.embed_tokens.weight": "shared.weight", "decoder.embed_tokens.weight": "shared.weight"}


def encoder_key_mask(attention_mask, encoder_hidden_states: torch.Tensor, config) -> torch.Tensor:
    """Which encoder rows the decoder's cross-attention sees, (batch, rows) bool.

    With `pass_global_tokens_to_decoder` the encoder output starts with the g global rows, always visible; text rows
    follow the attention mask, and `mask_first_token` hides the first text row as in the encoder (global token 0
    stands for it). Without it, the first row holds global token 0's output (`pool_with_global`) and stays visible.
    """
    batch, rows = encoder_hidden_states.shape[:2]
    passed = config.num_global_tokens if config.pass_global_tokens_to_decoder else 0
    device = encoder_hidden_states.device
    if attention_mask is None:
        text_mask = torch.ones(batch, rows - passed, dtype=torch.bool, device=device)
    else:
        text_mask = attention_mask.to(device=device, dtype=torch.bool)
    if passed and config.mask_first_token:
        text_mask = torch.cat([text_mask.new_zeros(batch, 1), text_mask[:, 1:]], dim=1)
    return torch.cat([text_mask.new_ones(batch, passed), text_mask], dim=1)


class _EncoderDecoderCacheFallback:
    """EncoderDecoderCache for transformers < 4.43, which has none: the two caches and the cross-attention flags."""

    def __init__(self, self_attention_cache, cross_attention_cache):
        self.self_attention_cache = self_attention_cache
        self.cross_attention_cache = cross_attention_cache
        self.is_updated = {}

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.self_attention_cache.get_seq_length(layer_idx)

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        self.self_attention_cache.reorder_cache(beam_idx)
        self.cross_attention_cache.reorder_cache(beam_idx)


def new_cache(with_cross_attention: bool):
    if not with_cross_attention:
        return DynamicCache()
    cache_class = EncoderDecoderCache if EncoderDecoderCache is not None else _EncoderDecoderCacheFallback
    return cache_class(DynamicCache(), DynamicCache())


def as_cache(past_key_values, with_cross_attention: bool):
    """Caches pass through; the legacy tuple format of 4.x callers, ((k, v[, cross_k, cross_v]) per layer), is loaded
    into a new cache."""
    if not isinstance(past_key_values, (tuple, list)):
        return past_key_values
    cache = new_cache(with_cross_attention)
    self_cache = getattr(cache, "self_attention_cache", cache)
    for layer_idx, layer in enumerate(past_key_values):
        self_cache.update(layer[0], layer[1], layer_idx)
        if with_cross_attention and len(layer) == 4:
            cache.cross_attention_cache.update(layer[2], layer[3], layer_idx)
            cache.is_updated[layer_idx] = True
    return cache


def cached_keys_values(cache, layer_idx: int):
    """The keys and values a cache holds for one layer (stored per layer object from transformers 4.56 on)."""
    layers = getattr(cache, "layers", None)
    if layers is not None:
        return layers[layer_idx].keys, layers[layer_idx].values
    return cache.key_cache[layer_idx], cache.value_cache[layer_idx]


def seen_length(past_key_values) -> int:
    if past_key_values is None:
        return 0
    if isinstance(past_key_values, (tuple, list)):
        return past_key_values[0][0].shape[2]
    return past_key_values.get_seq_length()


def unseen_ids(input_ids: torch.Tensor, past_key_values) -> torch.Tensor:
    """The ids a cache has not processed yet (at least the last one), for `prepare_inputs_for_generation`."""
    seen = seen_length(past_key_values)
    return input_ids[:, min(seen, input_ids.shape[1] - 1) :]


def dense_attention(query, key, value, additive_mask, dropout: float, output_attentions: bool):
    """softmax(q.k / sqrt(d) + mask) v over all keys, as the library's decoder computes it; (batch, q, heads, d)."""
    if not output_attentions:
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=additive_mask, dropout_p=dropout)
        return context.transpose(1, 2), None
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(query.shape[-1])
    if additive_mask is not None:
        scores = scores + additive_mask
    probs = torch.softmax(scores, dim=-1)
    context = torch.matmul(F.dropout(probs, p=dropout, training=dropout > 0), value)
    return context.transpose(1, 2), probs


def as_additive_mask(visible: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.zeros(visible.shape, dtype=dtype, device=visible.device).masked_fill_(
        ~visible, torch.finfo(dtype).min
    )


def seq2seq_fields(outputs) -> dict:
    """What every head passes on from the encoder-decoder outputs besides its own results."""
    return {
        "past_key_values": outputs.past_key_values,
        "decoder_hidden_states": outputs.decoder_hidden_states,
        "decoder_attentions": outputs.decoder_attentions,
        "cross_attentions": outputs.cross_attentions,
        "encoder_last_hidden_state": outputs.encoder_last_hidden_state,
        "encoder_hidden_states": outputs.encoder_hidden_states,
        "encoder_attentions": outputs.encoder_attentions,
    }
