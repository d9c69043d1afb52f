"""Per-family knowledge the common tests need: a tiny config and how to run the library's own layers.

A tester is small on purpose (transformers' common-tests pattern): the checks themselves live once, in
tests/test_modeling_common.py, and run for every registry type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import transformers

from hubgen.registry import ModelType


@dataclass
class EncoderTester:
    """Tiny BERT-family models: enough heads and layers to exercise everything, small enough to run in seconds."""

    model_type: ModelType
    config_overrides: dict = field(default_factory=dict)

    vocab_size = 99
    block_size = 16

    def config_kwargs(self, **overrides) -> dict:
        kwargs = {
            "vocab_size": self.vocab_size,
            "hidden_size": 32,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "intermediate_size": 37,
            "max_position_embeddings": 512 + self.model_type.position_offset,
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
            "block_size": self.block_size,
            "sparse_block_size": self.block_size,
            "sparsity_factor": 2,
            "num_labels": 3,
        }
        kwargs.update(self.config_overrides)
        kwargs.update(overrides)
        return kwargs

    def library_config(self, lsg_config) -> transformers.PretrainedConfig:
        """The library config with the same base keys (LSG keys are ignored by the library)."""
        config_class = transformers.AutoConfig.for_model(self.model_type.name).__class__
        base = {key: getattr(lsg_config, key) for key in self.model_type.config_defaults}
        base.update(num_labels=lsg_config.num_labels)
        return config_class(**base)

    def input_ids(self, batch: int, length: int, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        # Ids start above the special tokens so that RoBERTa-style position ids count every token.
        return torch.randint(3, self.vocab_size, (batch, length), generator=generator)

    def library_layer_outputs(self, library_model, hidden_states, key_mask) -> list[torch.Tensor]:
        """Hidden states after each library layer, run on our g + t rows with the same key mask."""
        additive = (~key_mask)[:, None, None, :].to(hidden_states.dtype) * torch.finfo(hidden_states.dtype).min
        outputs = []
        for layer in library_model.base_model.encoder.layer:
            result = layer(hidden_states, attention_mask=additive)
            hidden_states = result[0] if isinstance(result, tuple) else result
            outputs.append(hidden_states)
        return outputs


TESTERS = {"bert": EncoderTester}


def make_tester(model_type: ModelType) -> EncoderTester:
    return TESTERS[model_type.family](model_type)
