"""The LSG keys of config.json as the rendered config class checks and corrects them.

`validate_lsg_config` refuses settings the attention cannot run with; it runs whenever a model is built or run.
`normalize_lsg_config` corrects the values published configs hold instead, with a warning, so that every existing
repository keeps loading. hubgen itself refuses all of these before writing a repository (`hubgen.lsg_options`).
"""

from __future__ import annotations

from transformers.utils import logging

logger = logging.get_logger(__name__)

SPARSITY_TYPES = ("none", "norm", "pooling", "lsh", "stride", "block_stride", "bos_pooling")


def validate_lsg_config(config) -> None:
    """Refuse LSG settings the attention cannot run with: a ValueError naming the key and the values that work
    (TypeError for a non-integer size).

    Runs when a model is built and at every forward, because transformers applies the keyword overrides of
    `from_pretrained(..., block_size=64)` after the config's __init__ (where published quirks are corrected). The
    rules are those `hubgen convert` applies before it writes a repository.
    """
    for key in ("block_size", "sparse_block_size", "sparsity_factor", "num_global_tokens", "lsh_num_pre_rounds"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{key}={value!r} must be an integer.")
    b, s, f = config.block_size, config.sparse_block_size, config.sparsity_factor
    if config.sparsity_type is not None and config.sparsity_type not in SPARSITY_TYPES:
        raise ValueError(f"sparsity_type={config.sparsity_type!r} is not supported: choose one of {SPARSITY_TYPES}.")
    if b < 1:
        raise ValueError(f"block_size={b} must be at least 1 (128 is the usual value).")
    if s < 0 or f < 0:
        raise ValueError(
            f"sparse_block_size={s} and sparsity_factor={f} cannot be negative: use 0 to turn sparse attention off."
        )
    if f > b or (f and b % f):
        raise ValueError(f"sparsity_factor={f} must divide block_size={b}: choose one of {_divisors(b)}.")
    if not 1 <= config.num_global_tokens <= 512:
        raise ValueError(
            f"num_global_tokens={config.num_global_tokens} is out of range: choose a value from 1 to 512."
        )
    if config.mask_first_token and not config.pool_with_global:
        raise ValueError("mask_first_token=True needs pool_with_global=True (global token 0 gives the first output).")
    if config.lsh_num_pre_rounds < 0:
        raise ValueError(f"lsh_num_pre_rounds={config.lsh_num_pre_rounds} cannot be negative: use 0 or more.")
    if config.sparsity_type in ("norm", "lsh") and 0 < s < b and (b % s or s % max(f, 1)):
        raise ValueError(
            f"sparse_block_size={s} must divide block_size={b} and be a multiple of sparsity_factor={f} for "
            f"sparsity_type={config.sparsity_type!r}: use {b} or a divisor of {b} that {f} divides."
        )


def _divisors(number: int) -> list[int]:
    return [d for d in range(1, number + 1) if number % d == 0]


def normalize_lsg_config(config) -> None:
    """Correct impossible LSG settings with a warning instead of failing.

    Published repositories must keep loading whatever their config says; hubgen itself refuses these values before
    writing anything, so a repository it made never needs a correction.
    """
    if config.sparsity_type not in SPARSITY_TYPES and config.sparsity_type is not None:
        logger.warning(
            f"sparsity_type={config.sparsity_type!r} is not one of {SPARSITY_TYPES}; sparse attention is off."
        )
        config.sparsity_type = None
    if config.sparsity_type in ("stride", "block_stride") and config.sparsity_factor > config.num_attention_heads:
        logger.warning("sparsity_factor > num_attention_heads leaves some strides unused by every head.")
    if not 1 <= config.num_global_tokens <= 512:
        clipped = min(max(config.num_global_tokens, 1), 512)
        logger.warning(f"num_global_tokens={config.num_global_tokens} is outside 1..512; using {clipped}.")
        config.num_global_tokens = clipped
    if config.sparsity_factor > 0 and config.block_size % config.sparsity_factor:
        factor = max(
            f for f in range(1, min(config.sparsity_factor, config.block_size) + 1) if config.block_size % f == 0
        )
        logger.warning(
            f"block_size={config.block_size} is not a multiple of sparsity_factor={config.sparsity_factor}; "
            f"using sparsity_factor={factor}."
        )
        config.sparsity_factor = factor
    if config.mask_first_token and not config.pool_with_global:
        logger.warning("mask_first_token=True needs pool_with_global=True (the first token's output is global 0's).")
        config.pool_with_global = True
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        logger.warning(
            "LSG attention only supports absolute position embeddings; using position_embedding_type='absolute'."
        )
        config.position_embedding_type = "absolute"
