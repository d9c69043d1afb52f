"""Repositories laid out as the original LSG converter published them, written the way the transformers of the time
wrote them.

The published repositories were saved by transformers 4.2x-4.3x from classes that subclass the library's: their
config.json holds the base `model_type` ("bert"), the LSG keys and an `auto_map` into `modeling_lsg_<type>.py`, and
their weights come in one of three layouts, which differ in how tied weights (an LM decoder and the word embeddings,
BART's shared embeddings) are stored:

- `bin`: `pytorch_model.bin` from `torch.save` (transformers < 4.35): every name, tied tensors sharing storage, and
  the `position_ids` buffer that encoders registered as persistent before 4.31;
- `save_pretrained`: `model.safetensors` from 4.35+'s `save_pretrained`, which keeps one name per set of tied
  tensors, dropping the names that the class's `_tied_weights_keys` patterns match (the tie targets);
- `hub_conversion`: `model.safetensors` made from a `.bin` by the Hub's conversion to safetensors, which knows no
  LSG class and keeps the alphabetically first name of each set (`lm_head.decoder.weight` rather than
  `roberta.embeddings.word_embeddings.weight`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from safetensors.torch import save_file

from hubgen.registry import Head, ModelType

LAYOUTS = ("save_pretrained", "hub_conversion", "bin")

# The transformers version the published configs name (the last one the original converter supported).
PUBLISHED_TRANSFORMERS_VERSION = "4.36.2"


def tied_sets(state: Mapping[str, torch.Tensor]) -> list[list[str]]:
    """Names whose tensors share storage, in state-dict order, one list per set of two or more."""
    by_storage: dict[int, list[str]] = {}
    for name, tensor in state.items():
        by_storage.setdefault(tensor.untyped_storage().data_ptr(), []).append(name)
    return [names for names in by_storage.values() if len(names) > 1]


def saved_names(state: Mapping[str, torch.Tensor], layout: str, tied_patterns: Sequence[str]) -> list[str]:
    """The names a layout stores (see the module docstring); `tied_patterns` are the class's `_tied_weights_keys`."""
    dropped: set[str] = set()
    if layout == "bin":
        return list(state)
    for names in tied_sets(state):
        if layout == "hub_conversion":
            dropped.update(sorted(names)[1:])
            continue
        # save_pretrained (4.35): pattern matches go first, keeping one name; any duplicate left then goes too.
        found = 0
        for name in sorted(names):
            if any(re.search(pattern, name) for pattern in tied_patterns):
                found += 1
                if found < len(names):
                    dropped.add(name)
        kept = [name for name in names if name not in dropped]
        dropped.update(kept[1:])
    return [name for name in state if name not in dropped]


def write_weights(
    folder: Path,
    state: Mapping[str, torch.Tensor],
    layout: str,
    tied_patterns: Sequence[str],
    legacy_buffers: Mapping[str, torch.Tensor],
) -> Path:
    """The weights file of `layout`; `legacy_buffers` are the persistent buffers a `bin` file of that time held."""
    names = saved_names(state, layout, tied_patterns)
    if layout == "bin":
        tensors = {**{name: state[name] for name in names}, **legacy_buffers}
        path = folder / "pytorch_model.bin"
        torch.save(tensors, path)
        return path
    path = folder / "model.safetensors"
    save_file({name: state[name].detach().clone().contiguous() for name in names}, path, metadata={"format": "pt"})
    return path


def published_config(lsg_config, model_type: ModelType, head: Head) -> dict:
    """config.json as the original converter wrote it: the base model type, the LSG class, its `auto_map`."""
    config = lsg_config.to_dict()
    config.update(
        model_type=model_type.library_model_type or model_type.name,
        architectures=[model_type.class_name(head)],
        auto_map=model_type.auto_map(),
        transformers_version=PUBLISHED_TRANSFORMERS_VERSION,
    )
    return config


def write_config(folder: Path, config: Mapping) -> None:
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
