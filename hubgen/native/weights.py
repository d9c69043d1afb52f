"""A base's weights under a native target's names: the same tensors, renamed, with a longer position table.

BERT, RoBERTa, Longformer, BigBird and YOSO share their encoder's names below the base-model prefix; what differs is
the prefix (`bert`, `roberta`, `longformer`), the masked-LM head (BERT's `cls.predictions.transform.*` or RoBERTa's
`lm_head.*`, the same layers), BigBird's pooler (one Linear, `pooler`, where BERT's is `pooler.dense`) and
Longformer's global projections, which start as copies of the local ones (the Longformer paper's recipe). Anything
else that does not line up is refused by the caller, naming the tensors.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hubgen.embedding_tables import grow_positions
from hubgen.native.architectures import PositionLayout

# The same layers under BERT's and RoBERTa's names (masked-LM head, pooler).
_EQUIVALENT_PREFIXES = (
    ("cls.predictions.transform.dense.", "lm_head.dense."),
    ("cls.predictions.transform.LayerNorm.", "lm_head.layer_norm."),
    ("cls.predictions.decoder.", "lm_head.decoder."),
    ("cls.predictions.bias", "lm_head.bias"),
    ("pooler.dense.", "pooler."),
)
_GLOBAL_PROJECTIONS = {".query_global.": ".query.", ".key_global.": ".key.", ".value_global.": ".value."}
POSITION_KEY = "embeddings.position_embeddings.weight"


@dataclass(frozen=True)
class MappedWeights:
    """The target's state dict as far as the base fills it, and what did not line up."""

    tensors: dict[str, torch.Tensor]
    missing: tuple[str, ...]  # target tensors the base has no counterpart for
    unexpected: tuple[str, ...]  # base tensors the target has no place for
    copied_globals: tuple[str, ...]  # Longformer's global projections, copied from the local ones


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix) + 1 :] if prefix and key.startswith(prefix + ".") else key


def _rename(body: str, wanted: set[str]) -> str:
    """`body` under the name the target uses for the same layer."""
    if body in wanted:
        return body
    for first, second in _EQUIVALENT_PREFIXES:
        for old, new in ((first, second), (second, first)):
            if body.startswith(old) and body.replace(old, new, 1) in wanted:
                return body.replace(old, new, 1)
    return body


def map_weights(
    base: dict[str, torch.Tensor], base_prefix: str, target: dict[str, torch.Tensor], target_prefix: str
) -> MappedWeights:
    """Rename `base` (prefix `base_prefix`, "" for a bare base model) into the names of `target`'s state dict.

    Shapes are checked too: a tensor of another shape is reported missing and unexpected."""
    bodies = {_strip(key, target_prefix): key for key in target}
    tensors, unexpected = {}, []
    for key, tensor in base.items():
        body = _rename(_strip(key, base_prefix), set(bodies))
        name = bodies.get(body)
        if name is None or (body != POSITION_KEY and tuple(target[name].shape) != tuple(tensor.shape)):
            unexpected.append(key)
            continue
        tensors[name] = tensor
    copied = []
    for name in target:
        for global_part, local_part in _GLOBAL_PROJECTIONS.items():
            local = name.replace(global_part, local_part)
            if global_part in name and name not in tensors and local in tensors:
                tensors[name] = tensors[local].clone()
                copied.append(name)
    missing = tuple(sorted(name for name in target if name not in tensors))
    return MappedWeights(tensors, missing, tuple(sorted(unexpected)), tuple(copied))


def position_key(target: dict[str, torch.Tensor], target_prefix: str) -> str:
    return f"{target_prefix}.{POSITION_KEY}" if target_prefix else POSITION_KEY


def grown_table(
    table: torch.Tensor, base: PositionLayout, text_length: int, target: PositionLayout, max_length: int
) -> torch.Tensor:
    """The target's position table: the base's `text_length` trained rows repeated up to `max_length`, after the
    target's own offset rows (the base's where both have them, zeros where the base had none: they only serve
    padding)."""
    rows = table[base.offset : base.offset + text_length]
    kept = min(base.offset, target.offset)
    head = torch.cat([table[:kept], table.new_zeros(target.offset - kept, table.shape[1])])
    return grow_positions(torch.cat([head, rows]), target.offset, max_length)
