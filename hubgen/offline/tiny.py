"""Tiny, trained base checkpoints made on the spot, one per architecture hubgen converts.

Tests, the offline demo and the local CI matrix need base checkpoints, and they cannot reach the Hugging Face Hub.
`make_tiny_checkpoint` writes a folder that looks like a real Hub checkpoint of the architecture: `config.json`
with the library `model_type` and `architectures`, `model.safetensors`, the tokenizer files the real checkpoints
ship (`hubgen.offline.tiny_tokenizers`, trained on the toy corpus of `hubgen.offline.tiny_corpus`) and a `README.md`
with model-card front matter. The weights are a tiny model trained for a hundred or two steps on that corpus
(`hubgen.offline.tiny_training`), so that a converted model can be checked to still *predict*, not only to load: a
masked token of a corpus sentence mostly comes back right, and `generate()` writes the corpus sentence back.

What differs between architectures is the type's `TinyRecipe` in the registry. Kept from the real checkpoints,
because converters and card writers depend on them: the special-token layout each tokenizer class gives (fairseq
offsets of CamemBERT, XLM-R and mBART, mBART's language codes, the 103 reserved ids of Pegasus), config ids that
point at those tokens, the position conventions (512 for BERT-likes, 514 for RoBERTa-likes whose positions start
after the padding id, 1024 for the BART family: learned with an offset of 2 for BART and mBART, sinusoidal for
Pegasus), the factorised embeddings of ALBERT and ELECTRA, and `model_max_length`. Not kept: the sizes (width 64,
two layers) and the vocabularies (160 to 700 tokens).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import torch
import transformers
from huggingface_hub import ModelCardData
from tokenizers import models
from transformers import PreTrainedConfig, PreTrainedTokenizerBase

from hubgen.offline.tiny_corpus import CORPORA
from hubgen.offline.tiny_tokenizers import build_tokenizer
from hubgen.offline.tiny_training import one_thread, train
from hubgen.registry import MODEL_TYPES, ModelType, TinyRecipe

__all__ = ["TINY_MODEL_TYPES", "TinyCheckpointError", "make_tiny_checkpoint", "training_sentences"]

#: The types `make_tiny_checkpoint` knows, in hubgen's naming (`xlm-roberta`, and `barthez` as its own type).
TINY_MODEL_TYPES: tuple[str, ...] = tuple(name for name, entry in MODEL_TYPES.items() if entry.tiny is not None)


class TinyCheckpointError(ValueError):
    """Raised for an unknown model type, a bad step count or a target folder that already holds files."""


def _model_type(name: str) -> tuple[ModelType, TinyRecipe]:
    if name not in TINY_MODEL_TYPES:
        known = ", ".join(TINY_MODEL_TYPES)
        raise TinyCheckpointError(f"no tiny checkpoint for {name!r}; known types: {known}")
    model_type = MODEL_TYPES[name]
    return model_type, model_type.tiny


def training_sentences(model_type: str) -> tuple[str, ...]:
    """The sentences the tiny checkpoint of `model_type` learnt, for tests that query it on held-in text."""
    return CORPORA[_model_type(model_type)[0].language]


def _config(model_type: ModelType, recipe: TinyRecipe, tokenizer: PreTrainedTokenizerBase) -> PreTrainedConfig:
    """The library config with the recipe's values, the tokenizer's vocabulary size and every special id the
    tokenizer has (BERT's has no bos/eos, Pegasus' no bos). An encoder-decoder's decoder starts from the recipe's
    token, the one the model's `shift_tokens_right` puts first in training, so a plain `generate()` starts the same
    way."""
    values = {"vocab_size": len(tokenizer), **recipe.config}
    for name in ("pad", "bos", "eos"):
        if getattr(tokenizer, f"{name}_token_id") is not None:
            values[f"{name}_token_id"] = getattr(tokenizer, f"{name}_token_id")
    if recipe.decoder_start is not None:
        values["decoder_start_token_id"] = tokenizer.convert_tokens_to_ids(recipe.decoder_start)
        values["forced_eos_token_id"] = tokenizer.eos_token_id
    return transformers.AutoConfig.for_model(model_type.library_model_type or model_type.name, **values)


def _model_card(model_type: ModelType, model: transformers.PreTrainedModel, seed: int, steps: int) -> str:
    """README.md with the front matter a real card has (license, language, tags), for code that reads a base
    model's card. The licenses follow the real base checkpoints' (MIT for the fairseq RoBERTa line and mBART,
    Apache-2.0 for the rest), which also gives card code both kinds to handle."""
    seq2seq = model.config.is_encoder_decoder
    data = ModelCardData(
        license=model_type.tiny.license,
        language=model_type.language,
        library_name="transformers",
        pipeline_tag="text2text-generation" if seq2seq else "fill-mask",
        tags=["hubgen-tiny", "testing", model_type.name],
    )
    objective = "text infilling" if seq2seq else "masked language modelling"
    return (
        f"---\n{data.to_yaml()}\n---\n\n"
        f"# Tiny {model_type.name} for tests\n\n"
        f"A `{type(model).__name__}` of width {model.config.hidden_size} with {model.config.num_hidden_layers} layers, "
        f"made by `hubgen.offline.tiny` for tests and offline demos: {steps} steps of {objective} (seed {seed}) on a "
        "few dozen toy sentences, with a tokenizer built from the same sentences. It knows nothing else.\n"
    )


def write_vocabulary_files(tokenizer: PreTrainedTokenizerBase, directory: Path) -> None:
    """Write the vocabulary files real checkpoints ship next to tokenizer.json, which transformers 5's
    `save_pretrained` no longer writes: vocab.txt for WordPiece, vocab.json and merges.txt for BPE, and the
    SentencePiece `.model` under the class's own file name (`save_vocabulary` would name it tokenizer.model)."""
    model_file = getattr(tokenizer, "vocab_file", None)
    if model_file is not None and Path(model_file).is_file():
        shutil.copyfile(model_file, directory / tokenizer.vocab_files_names["vocab_file"])
    elif isinstance(tokenizer.backend_tokenizer.model, (models.WordPiece, models.BPE)):
        tokenizer.backend_tokenizer.model.save(str(directory))


def make_tiny_checkpoint(
    model_type: str, directory: str | Path, *, seed: int = 0, train_steps: int | None = None
) -> Path:
    """Write a tiny trained checkpoint of `model_type` (one of `TINY_MODEL_TYPES`) into `directory`.

    The folder is laid out like the real Hub checkpoint of that architecture: config.json (library `model_type`
    and `architectures`), model.safetensors, generation_config.json for encoder-decoders, the tokenizer files
    (tokenizer.json, tokenizer_config.json and the vocabulary or SentencePiece file the real ones ship) and
    README.md. `directory` is created if needed and must be empty, since files left by another architecture would
    be read along with these.

    The weights depend only on `model_type`, `seed` and `train_steps` (None: the type's default, one to two
    hundred steps, a few seconds on a CPU; 0: untrained, for tests that need only the layout). The caller's torch
    random state is left as it was. Returns `directory` as a Path.
    """
    entry, recipe = _model_type(model_type)
    steps = recipe.steps if train_steps is None else train_steps
    if steps < 0:
        raise TinyCheckpointError(f"train_steps must be 0 or more, not {steps}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise TinyCheckpointError(f"{directory} is not empty; a tiny checkpoint needs a folder of its own")
    directory.mkdir(parents=True, exist_ok=True)

    config_length = int(recipe.config["max_position_embeddings"]) - entry.config_position_offset
    with tempfile.TemporaryDirectory(prefix="hubgen-tiny-") as work:
        tokenizer = build_tokenizer(recipe.tokenizer_class, entry.language, config_length, Path(work))
        tokenizer.save_pretrained(directory)
        write_vocabulary_files(tokenizer, directory)  # SentencePiece files are read from `work`

    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        architecture = entry.library_class_name(entry.default_head)
        model = getattr(transformers, architecture)(_config(entry, recipe, tokenizer))
        if steps:
            train(model, tokenizer, CORPORA[entry.language], steps, torch.Generator().manual_seed(seed))
    model.save_pretrained(directory)
    (directory / "README.md").write_text(_model_card(entry, model, seed, steps), encoding="utf-8")
    return directory
