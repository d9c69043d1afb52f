"""Weight initialisation that leaves loaded weights alone, and loading of every tied-weight layout of 4.x files."""

from __future__ import annotations

import torch
from torch import nn


def is_loaded(tensor: torch.Tensor) -> bool:
    """Whether transformers 5.x has already filled this tensor from the checkpoint.

    5.x marks what it loaded, then calls `_init_weights` on every module: the torch.nn.init functions skip marked
    tensors there, but an in-place write (`weight[i].zero_()`, `copy_`) does not, so those check this first.
    """
    return bool(getattr(tensor, "_is_hf_initialized", False))


def init_embedding(module: nn.Embedding, std: float) -> None:
    """Normal rows and a zero padding row, as the library initialises a new table; a loaded table is kept whole (5.0
    zeroed the loaded padding row of every table, which changed the tied logits of the padding token)."""
    nn.init.normal_(module.weight, mean=0.0, std=std)
    if module.padding_idx is not None and not is_loaded(module.weight):
        module.weight[module.padding_idx].zero_()


class LSGLoadingMixin:
    """Loads every layout of tied weights the checkpoints of transformers 4.x hold, on every version.

    A set of tied names (an LM decoder and the word embeddings, BART's shared table) is stored once or twice, under
    any of its names: 4.35+ kept the tie source, the Hub's conversion of a `.bin` kept the alphabetically first name
    (`lm_head.decoder.weight` for RoBERTa, `lm_head.weight` for BART).
    """

    # transformers 4.46 assigns loaded tensors instead of copying them into the model's (this attribute turns that
    # off): a tied name the file holds then left its set, and the tie after loading copied the set's unloaded
    # (random) tensor over it.
    _supports_param_buffer_assignment = False

    def tie_weights(self, *args, **kwargs):
        """Tie to the name the checkpoint held: transformers 4.57 leaves a set's unloaded names on the meta device
        and ties the output embeddings to the input ones, so a file holding only the output side came back empty."""
        for target, source in (type(self)._tied_weights_keys or {}).items():
            try:
                target_tensor, source_tensor = self.get_parameter(target), self.get_parameter(source)
            except AttributeError:
                continue
            if source_tensor.is_meta and not target_tensor.is_meta:
                parent, _, name = source.rpartition(".")
                setattr(self.get_submodule(parent), name, target_tensor)
        return super().tie_weights(*args, **kwargs)
