"""The memory a conversion's position tables need, checked against the machine before anything is allocated.

The position tables grow to --max-len rows. A slip of the keyboard (`--max-len 1000000000`) would otherwise become a
256 GB allocation that fails deep inside torch after the base is loaded, or pushes the machine into swap first.
"""

from __future__ import annotations

import psutil

from hubgen.checkpoint import BaseCheckpoint
from hubgen.errors import InvalidInputError

_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}

# Growing a table builds the new one next to the old, and saving serialises every tensor into a second buffer:
# twice the tables is the peak the conversion reaches on top of the rest of the model.
_PEAK_COPIES = 2


def position_table_bytes(checkpoint: BaseCheckpoint, max_length: int, dtype: str) -> int:
    """Bytes of the grown position tables: one per stack (encoder, and decoder for encoder-decoders)."""
    model_type, config = checkpoint.model_type, checkpoint.config
    width = config.get(model_type.embedding_width, model_type.config_defaults.get(model_type.embedding_width))
    stacks = 2 if config.get("is_encoder_decoder", model_type.config_defaults.get("is_encoder_decoder")) else 1
    rows = max_length + model_type.position_offset
    return stacks * rows * int(width or 0) * element_bytes(dtype, config)


def element_bytes(dtype: str, config: dict) -> int:
    """Bytes of one weight in the `--dtype` (`auto`: the config's)."""
    name = dtype if dtype != "auto" else str(config.get("dtype") or config.get("torch_dtype") or "float32")
    return _BYTES.get(name, 4)


def check_position_memory(checkpoint: BaseCheckpoint, max_length: int, dtype: str) -> None:
    """Refuse a --max-len whose position tables cannot fit in this machine's available memory."""
    check_table_memory(
        position_table_bytes(checkpoint, max_length, dtype), max_length, checkpoint.model_type.position_offset
    )


def check_table_memory(table_bytes: int, max_length: int, offset: int) -> None:
    """Refuse a --max-len whose position tables (`table_bytes`, `max_length + offset` rows) cannot fit in this
    machine's available memory; native conversions (`hubgen.native`) size their one table themselves."""
    needed = _PEAK_COPIES * table_bytes
    available = psutil.virtual_memory().available
    if needed <= available:
        return
    per_token = needed / (max_length + offset)
    fits = int(available / per_token) - offset
    raise InvalidInputError(
        f"--max-len {max_length} needs about {_size(needed)} of memory for its position tables while converting, "
        f"more than the {_size(available)} this machine has available",
        f"choose a length below about {fits:,} tokens here (4096 to 16384 are the usual lengths)",
    )


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1000:
            return f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:,.0f} TB"
