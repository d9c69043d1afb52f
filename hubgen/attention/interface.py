"""`attn_implementation="lsg"`: LSG attention for transformers models, through transformers' attention interface.

From 4.53 on, transformers models whose code calls `ALL_ATTENTION_FUNCTIONS` (Llama, Qwen, Phi, ... and BERT
from 5.0) take their attention function from `AttentionInterface` and their mask from `AttentionMaskInterface`
by the name in `config._attn_implementation`. `register()` adds "lsg" and "lsg-local" to both. The mask function
returns the (batch, keys) padding mask, never a (queries x keys) one, so memory stays linear in the length.
"""

from __future__ import annotations

import math

import torch

from hubgen.attention.cached import cached_attention
from hubgen.attention.sequence import key_mask_from, sequence_attention
from hubgen.attention.settings import LSGSettings

MINIMUM_TRANSFORMERS = "4.53.0"
# Keyword arguments some models pass for attention patterns of their own, which LSG attention would silently drop.
_FOREIGN_PATTERNS = ("sliding_window", "softcap", "s_aux")


def register(**settings) -> None:
    """Make `attn_implementation="lsg"` (and `"lsg-local"`: no sparse attention) available to transformers models.

    `settings` are `LSGSettings` fields (block_size=128, sparse_block_size=128, sparsity_factor=2,
    sparsity_type="norm", num_global_tokens=1, lsh_num_pre_rounds=1), the defaults of every model; a model config's
    `lsg_<setting>` keys (`lsg_block_size`, ...) override them for that model. Calling it again replaces them.
    """
    attention_interface, mask_interface = _interfaces()
    defaults = LSGSettings(**settings)
    attention_interface.register("lsg", _attention_function(defaults, local=False))
    attention_interface.register("lsg-local", _attention_function(defaults, local=True))
    for name in ("lsg", "lsg-local"):
        mask_interface.register(name, lsg_key_padding_mask)


def _interfaces():
    """transformers' attention and mask registries.

    Imported here, not at the top: on a transformers without them, importing hubgen.attention still works, and
    `register()` says which release it needs.
    """
    import transformers

    try:
        from transformers.masking_utils import AttentionMaskInterface
        from transformers.modeling_utils import AttentionInterface
    except ImportError:
        raise ImportError(
            f"hubgen.attention.register() needs transformers >= {MINIMUM_TRANSFORMERS} (the first release whose models "
            f"build their masks through AttentionMaskInterface); found {transformers.__version__}: "
            f"pip install -U 'transformers>={MINIMUM_TRANSFORMERS}'"
        ) from None
    return AttentionInterface, AttentionMaskInterface


def _attention_function(defaults: LSGSettings, local: bool):
    """The function transformers calls in place of its attention: (batch, heads, q, d) queries over (batch, kv heads,
    k, d) keys and values -> ((batch, q, heads, d) context, None: no attention weights are returned)."""

    def lsg_attention_forward(
        module: torch.nn.Module,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        attention_mask: torch.Tensor | None,
        dropout: float = 0.0,
        scaling: float | None = None,
        is_causal: bool | None = None,
        **kwargs,
    ):
        causal = getattr(module, "is_causal", False) if is_causal is None else is_causal
        _refuse_foreign_patterns(module, query, key, attention_mask, causal, kwargs)
        config = getattr(module, "config", None)
        settings = defaults if config is None else defaults.overridden_by(config)
        if local:
            settings = settings.local_only()
        key, value = (_repeat_heads(x, query.shape[1]) for x in (key, value))
        head_dim = query.shape[-1]
        if scaling is not None and not math.isclose(scaling, head_dim**-0.5):
            query = query * (scaling * math.sqrt(head_dim))  # the core scales by 1/sqrt(d)
        key_mask = key_mask_from(attention_mask, key.shape[2])
        if query.shape[2] == key.shape[2]:
            context = sequence_attention(query, key, value, key_mask, settings, causal, dropout)
        else:
            context = cached_attention(query, key, value, key_mask, settings, dropout)
        return context, None

    return lsg_attention_forward


def _refuse_foreign_patterns(module, query, key, attention_mask, causal: bool, kwargs: dict) -> None:
    """Cross-attention, packed sequences and attention patterns of the model's own are refused rather than silently
    replaced by LSG's."""
    name = type(module).__name__
    cross = (
        getattr(module, "is_cross_attention", False)
        or "CrossAttention" in name
        or (not causal and getattr(module, "is_decoder", False))  # a decoder's non-causal attention (BART family)
        or (not causal and query.shape[2] != key.shape[2])
    )
    if cross:
        raise ValueError(
            f"attn_implementation='lsg' cannot run {name}, a cross-attention: its queries and keys come from two "
            "sequences, so LSG's local blocks are undefined. Use it on models without cross-attention (encoders, "
            "decoder-only models)."
        )
    if attention_mask is None and query.shape[2] == key.shape[2] and _packed(kwargs.get("position_ids")):
        raise ValueError(
            "attn_implementation='lsg' cannot tell packed sequences apart (position_ids restart within a row): "
            "pad the sequences and pass an attention_mask instead."
        )
    for option in _FOREIGN_PATTERNS:
        if kwargs.get(option) is not None:
            raise ValueError(
                f"attn_implementation='lsg' does not support {option}={kwargs[option]!r}, which {name} asks for: LSG "
                f"attention has its own pattern (set the config's {option} to None to use it)."
            )


def _packed(positions: torch.Tensor | None) -> bool:
    """Several sequences in one row (transformers' packed format): the positions restart somewhere."""
    return positions is not None and positions.dim() == 2 and bool((positions.diff(dim=-1) != 1).any())


def _repeat_heads(states: torch.Tensor, heads: int) -> torch.Tensor:
    """Key or value heads shared by groups of query heads (grouped-query attention), one per query head."""
    batch, kv_heads, length, dim = states.shape
    if kv_heads == heads:
        return states
    return (
        states[:, :, None].expand(batch, kv_heads, heads // kv_heads, length, dim).reshape(batch, heads, length, dim)
    )


def lsg_key_padding_mask(*, kv_length: int, attention_mask: torch.Tensor | None = None, **kwargs):
    """The mask function registered with the attention: the (batch, keys) padding mask as it is, no (queries x keys)
    mask. Its keyword arguments differ between transformers releases; it reads only those all of them pass."""
    return None if attention_mask is None else attention_mask[:, -kv_length:].to(torch.bool)
