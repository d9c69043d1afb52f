"""Per-family knowledge the common tests need: a tiny config and how to run the library's own layers.

A tester is small on purpose (transformers' common-tests pattern): the checks themselves live once, in
tests/test_modeling_common.py, and run for every registry type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
import transformers

from hubgen.registry import Head, ModelType


@dataclass
class EncoderTester:
    """Tiny BERT-family models: enough heads and layers to exercise everything, small enough to run in seconds."""

    model_type: ModelType
    config_overrides: dict = field(default_factory=dict)

    vocab_size = 99
    block_size = 16
    # The model's own outputs are the encoder's (hidden states, attentions, input length): the common suite's
    # encoder-only checks apply.
    encoder_only = True

    def has_global_table(self, head: Head) -> bool:
        return True

    def as_text(self, ids: torch.Tensor) -> torch.Tensor:
        """Ids as the family's tokenizer would end them (nothing to add here)."""
        return ids

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

    def library_layers(self, library_model) -> list[torch.nn.Module]:
        """The library's layers in the order they apply."""
        return list(library_model.base_model.encoder.layer)

    # With one global token standing for the first token (mask_first_token, pool_with_global) and global row 0 the
    # first token's complete input embedding, an LSG model computes the library model's function on short inputs
    # that all start with that token: what a lossless conversion does.
    lossless_settings: ClassVar[dict] = {"num_global_tokens": 1, "mask_first_token": True, "pool_with_global": True}

    def first_token_embedding(self, library_model, token_id: int) -> torch.Tensor:
        """Word + position (after the type's offset) + token type 0: the embedding sum before the LayerNorm."""
        embeddings = library_model.base_model.embeddings
        row = (
            embeddings.word_embeddings.weight[token_id]
            + embeddings.position_embeddings.weight[self.model_type.position_offset]
        )
        token_types = getattr(embeddings, "token_type_embeddings", None)
        return row + token_types.weight[0] if token_types is not None else row

    def library_layer_outputs(self, library_model, hidden_states, key_mask) -> list[torch.Tensor]:
        """Hidden states after each library layer, run on our g + t rows with the same key mask."""
        additive = (~key_mask)[:, None, None, :].to(hidden_states.dtype) * torch.finfo(hidden_states.dtype).min
        outputs = []
        for layer in self.library_layers(library_model):
            result = layer(hidden_states, attention_mask=additive)
            hidden_states = result[0] if isinstance(result, tuple) else result
            outputs.append(hidden_states)
        return outputs


class AlbertTester(EncoderTester):
    """ALBERT applies its layer groups depth after depth: group int(i / (layers / groups)) at depth i."""

    def library_layers(self, library_model) -> list[torch.nn.Module]:
        config, groups = library_model.config, library_model.base_model.encoder.albert_layer_groups
        return [
            layer
            for depth in range(config.num_hidden_layers)
            for layer in groups[int(depth / (config.num_hidden_layers / config.num_hidden_groups))].albert_layers
        ]


class DistilBertTester(EncoderTester):
    """DistilBERT's configs use their own names; its layers are `transformer.layer`."""

    names: ClassVar[dict[str, str]] = {
        "hidden_size": "dim",
        "num_hidden_layers": "n_layers",
        "num_attention_heads": "n_heads",
        "intermediate_size": "hidden_dim",
        "hidden_dropout_prob": "dropout",
        "attention_probs_dropout_prob": "attention_dropout",
    }

    def config_kwargs(self, **overrides) -> dict:
        return {self.names.get(key, key): value for key, value in super().config_kwargs(**overrides).items()}

    def library_layers(self, library_model) -> list[torch.nn.Module]:
        return list(library_model.base_model.transformer.layer)


@dataclass
class Seq2SeqTester:
    """Tiny BART-family models. Their outputs are the decoder's, so the encoder-only checks of the common suite are
    replaced by tests/test_seq2seq.py; loading, heads, training, checkpointing and bf16 run here as for every type."""

    model_type: ModelType
    config_overrides: dict = field(default_factory=dict)

    vocab_size = 99
    block_size = 16
    encoder_only = False
    # BERT-style names the common tests use, in this family's config.
    aliases: ClassVar[dict[str, str]] = {
        "attention_probs_dropout_prob": "attention_dropout",
        "hidden_dropout_prob": "dropout",
    }

    def has_global_table(self, head: Head) -> bool:
        """The causal LM head is the decoder alone, as in the library: no encoder, no global tokens."""
        return head.kind != "causal_lm"

    def config_kwargs(self, **overrides) -> dict:
        kwargs = {
            "vocab_size": self.vocab_size,
            "d_model": 32,
            "encoder_layers": 2,
            "decoder_layers": 2,
            "encoder_attention_heads": 4,
            "decoder_attention_heads": 4,
            "encoder_ffn_dim": 37,
            "decoder_ffn_dim": 37,
            "max_position_embeddings": 512,
            "dropout": 0.0,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "block_size": self.block_size,
            "sparse_block_size": self.block_size,
            "sparsity_factor": 2,
            "num_labels": 3,
        }
        kwargs.update(self.config_overrides)
        kwargs.update({self.aliases.get(key, key): value for key, value in overrides.items()})
        return kwargs

    @property
    def eos_token_id(self) -> int:
        return self.model_type.config_defaults["eos_token_id"]

    def library_config(self, lsg_config) -> transformers.PretrainedConfig:
        """The library config with the same base keys; generation keys the installed version dropped are skipped."""
        library_type = self.model_type.library_model_type or self.model_type.name
        config_class = transformers.AutoConfig.for_model(library_type).__class__
        base = {key: getattr(lsg_config, key) for key in self.model_type.config_defaults if hasattr(lsg_config, key)}
        base.update(num_labels=lsg_config.num_labels)
        return config_class(**base)

    # As for the encoders, plus a decoder that reads the text rows only (the first one pooled from global token 0).
    lossless_settings: ClassVar[dict] = {**EncoderTester.lossless_settings, "pass_global_tokens_to_decoder": False}

    def first_token_embedding(self, library_model, token_id: int) -> torch.Tensor:
        """Scaled token embedding + the first position row, what the encoder normalises."""
        encoder, config = library_model.get_encoder(), library_model.config
        scale = config.d_model**0.5 if config.scale_embedding else 1.0
        return (
            encoder.embed_tokens.weight[token_id] * scale
            + encoder.embed_positions.weight[self.model_type.position_offset]
        )

    def as_text(self, ids: torch.Tensor) -> torch.Tensor:
        """Ids ending with <eos>, as the tokenizer ends them: the classification head reads the last <eos>."""
        ids = ids.clone()
        ids[..., -1] = self.eos_token_id
        return ids

    def input_ids(self, batch: int, length: int, seed: int = 0) -> torch.Tensor:
        """Ordinary ids (above every special token) ending with <eos>."""
        generator = torch.Generator().manual_seed(seed)
        return self.as_text(torch.randint(3, self.vocab_size, (batch, length), generator=generator))


TESTERS = {"bert": EncoderTester, "albert": AlbertTester, "distilbert": DistilBertTester, "bart": Seq2SeqTester}

# What a type has beyond BERT, made small: narrower embeddings (so ELECTRA's `embeddings_project` and ALBERT's
# `embedding_hidden_mapping_in` do something); ALBERT's two depths share its one layer group. The library's
# DistilBERT question-answering head refuses any num_labels but 2, and DistilBERT's head dropouts, which the
# generic dropout names do not reach, are off like every other dropout here.
TINY_OVERRIDES = {
    "electra": {"embedding_size": 24},
    "albert": {"embedding_size": 24},
    "distilbert": {"num_labels": 2, "seq_classif_dropout": 0.0, "qa_dropout": 0.0},
}


def make_tester(model_type: ModelType) -> EncoderTester | Seq2SeqTester:
    return TESTERS[model_type.family.name](model_type, dict(TINY_OVERRIDES.get(model_type.name, {})))
