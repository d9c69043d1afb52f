"""Tiny, trained base checkpoints made on the spot, one per architecture hubgen converts.

Tests, the offline demo and the local CI matrix need base checkpoints, and they cannot reach the Hugging Face Hub.
`make_tiny_checkpoint` writes a folder that looks like a real Hub checkpoint of the architecture: `config.json`
with the library `model_type` and `architectures`, `model.safetensors`, the tokenizer files the real checkpoints
ship (built here with `tokenizers` and `sentencepiece` from the toy corpus of `hubgen.tiny_corpus`) and a
`README.md` with model-card front matter. The weights are a tiny model trained for a hundred or two steps on that
corpus (masked-LM for encoders, BART's text infilling for encoder-decoders), so that a converted model can be
checked to still *predict*, not only to load: a masked token of a corpus sentence mostly comes back right, and
`generate()` writes the corpus sentence back.

Kept from the real checkpoints, because converters and card writers depend on them: the special-token layout each
tokenizer class gives (fairseq offsets of CamemBERT, XLM-R and mBART, mBART's language codes, the 103 reserved ids
of Pegasus), config ids that point at those tokens, the position conventions (512 for BERT-likes, 514 for
RoBERTa-likes whose positions start after the padding id, 1024 for the BART family: learned with an offset of 2
for BART and mBART, sinusoidal for Pegasus), the factorised embeddings of ALBERT and ELECTRA, and
`model_max_length`. Not kept: the sizes (width 64, two layers) and the vocabularies (160 to 700 tokens).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import shutil
import string
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import sentencepiece
import torch
import transformers
from huggingface_hub import ModelCardData
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedConfig, PreTrainedTokenizerBase

from hubgen.tiny_corpus import ENGLISH, FRENCH

__all__ = ["TINY_MODEL_TYPES", "TinyCheckpointError", "make_tiny_checkpoint", "training_sentences"]

# One size for every architecture: enough to learn the toy corpus in a hundred or two full-batch steps, small
# enough that a step takes a few tens of milliseconds on a CPU.
_WIDTH = 64
_FFN = 128
_LAYERS = 2
_HEADS = 4
# ALBERT and ELECTRA factor the embedding out of the hidden size; keeping that keeps `embedding_size` in play.
_EMBEDDING = 32

_BERT_LENGTH = 512
_BART_LENGTH = 1024

_LEARNING_RATE = 1e-2
_WARMUP_STEPS = 10
# Half the ordinary tokens of a sentence are masked per step: more signal per step than BERT's 15%, and the rest of
# a short memorised sentence still tells which sentence it is.
_MASK_RATE = 0.5

_CORPORA = {"en": ENGLISH, "fr": FRENCH}
_ASCII = string.ascii_lowercase + string.digits + string.punctuation
# mBART ends every source with its language code and starts the decoder with it.
_MBART_LANGUAGE = "en_XX"


class TinyCheckpointError(ValueError):
    """Raised for an unknown model type, a bad step count or a target folder that already holds files."""


# ---------------------------------------------------------------------------------------------------------------
# Tokenizers. What training produces is cached per process: architectures whose real checkpoints share a
# tokenizer share one here too (BERT, DistilBERT and ELECTRA a WordPiece vocabulary; RoBERTa and BART a byte-level
# BPE; XLM-R and mBART a SentencePiece model), and a session that builds all the types trains each only once.
# ---------------------------------------------------------------------------------------------------------------


@functools.cache
def _wordpiece_vocab(language: str) -> tuple[str, ...]:
    """A lower-cased WordPiece vocabulary: BERT's special tokens first (so [PAD] is 0, as BERT configs say), every
    character alone and as a "##" continuation (so any text in those characters can be spelled), then every corpus
    word whole, which is what WordPiece training ends with on a corpus this small. Built directly because the
    `tokenizers` WordPiece trainer numbers its "##" pieces in hash-map order: its vocabulary, even its size,
    changes from one process to the next. The words are split by `tokenizers`' own BERT normalizer and
    pre-tokenizer, as the tokenizer will split them."""
    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words = sorted(
        {
            word
            for sentence in _CORPORA[language]
            for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(sentence))
        }
    )
    # Plus printable ASCII, so that text beyond the corpus is spelled out rather than lost to [UNK].
    characters = sorted({character for word in words for character in word} | set(_ASCII))
    return (
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *characters,
        *(f"##{character}" for character in characters),
        *(word for word in words if len(word) > 1),
    )


@functools.cache
def _byte_level_bpe(language: str) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[str, str], ...]]:
    """GPT-2 byte-level BPE in RoBERTa's layout: <s> <pad> </s> <unk> are 0 to 3 and <mask> is the last id. (With
    the whole byte alphabet given, the trainer numbers symbols by character and its result is the same in every
    process; tests/test_tiny.py checks that.)"""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_CORPORA[language], trainer)
    model = json.loads(tokenizer.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda item: item[1])
    vocab.append(("<mask>", len(vocab)))
    return tuple(vocab), tuple(tuple(merge) for merge in model["merges"])


@dataclass(frozen=True)
class _SentencePieceLayout:
    """Where a real checkpoint's `.model` file keeps its special pieces; the tokenizer class lays out the final
    vocabulary from them (it adds the fairseq offset, the language codes or Pegasus' reserved ids itself)."""

    file_name: str
    pieces: tuple[tuple[str, object], ...]
    lowercase: bool = False


# The SentencePiece defaults (<unk> <s> </s>), which the fairseq-born classes move to <s> <pad> </s> <unk>.
_FAIRSEQ_LAYOUT = _SentencePieceLayout(
    "sentencepiece.bpe.model", (("unk_id", 0), ("bos_id", 1), ("eos_id", 2), ("pad_id", -1))
)

_SENTENCEPIECE_LAYOUTS = {
    "XLMRobertaTokenizer": _FAIRSEQ_LAYOUT,
    "CamembertTokenizer": _FAIRSEQ_LAYOUT,
    "MBartTokenizer": _FAIRSEQ_LAYOUT,
    # BarthezTokenizer takes the pieces as they are, with <unk> fixed at 3.
    "BarthezTokenizer": _SentencePieceLayout(
        "sentencepiece.bpe.model",
        (("bos_id", 0), ("pad_id", 1), ("eos_id", 2), ("unk_id", 3), ("user_defined_symbols", ("<mask>",))),
    ),
    # ALBERT looks pieces up in lower-cased text, so its model is trained on lower-cased text.
    "AlbertTokenizer": _SentencePieceLayout(
        "spiece.model",
        (
            ("pad_id", 0),
            ("unk_id", 1),
            ("bos_id", -1),
            ("eos_id", -1),
            ("control_symbols", ("[CLS]", "[SEP]", "[MASK]")),
        ),
        lowercase=True,
    ),
    "PegasusTokenizer": _SentencePieceLayout(
        "spiece.model", (("pad_id", 0), ("eos_id", 1), ("unk_id", 2), ("bos_id", -1))
    ),
}


@functools.cache
def _sentencepiece_model(language: str, layout: _SentencePieceLayout) -> bytes:
    """A serialized unigram SentencePiece model of the corpus."""
    sentences = [sentence.lower() if layout.lowercase else sentence for sentence in _CORPORA[language]]
    buffer = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=buffer,
        model_type="unigram",
        vocab_size=1000,
        hard_vocab_limit=False,  # a few dozen sentences give under 200 pieces, not 1000
        character_coverage=1.0,
        num_threads=1,  # the result must not depend on the machine
        minloglevel=2,
        **{name: list(value) if isinstance(value, tuple) else value for name, value in layout.pieces},
    )
    return buffer.getvalue()


TokenizerBuilder = Callable[[Path], PreTrainedTokenizerBase]


def _wordpiece_tokenizer(class_name: str) -> TokenizerBuilder:
    def build(work: Path) -> PreTrainedTokenizerBase:
        vocab = {token: index for index, token in enumerate(_wordpiece_vocab("en"))}
        return getattr(transformers, class_name)(vocab=vocab, do_lower_case=True, model_max_length=_BERT_LENGTH)

    return build


def _byte_level_tokenizer(model_max_length: int) -> TokenizerBuilder:
    def build(work: Path) -> PreTrainedTokenizerBase:
        vocab, merges = _byte_level_bpe("en")
        return transformers.RobertaTokenizer(
            vocab=dict(vocab),
            merges=list(merges),
            # As in roberta-base's tokenizer: "<mask>" takes the space before it.
            mask_token=AddedToken("<mask>", lstrip=True, rstrip=False),
            model_max_length=model_max_length,
        )

    return build


def _sentencepiece_tokenizer(class_name: str, language: str, model_max_length: int) -> TokenizerBuilder:
    """Load the class from a folder holding only the `.model` file, which is how transformers reads a legacy Hub
    checkpoint: the class's own conversion decides the final vocabulary, as it would for the real one."""
    layout = _SENTENCEPIECE_LAYOUTS[class_name]

    def build(work: Path) -> PreTrainedTokenizerBase:
        (work / layout.file_name).write_bytes(_sentencepiece_model(language, layout))
        tokenizer = getattr(transformers, class_name).from_pretrained(work, model_max_length=model_max_length)
        # from_pretrained records how it was called (transformers 5 saves these into tokenizer_config.json); they
        # describe this temporary folder, not the checkpoint.
        for key in ("is_local", "local_files_only"):
            tokenizer.init_kwargs.pop(key, None)
        if class_name == "BarthezTokenizer":
            # Converted from a `.model` file alone, BarthezTokenizer (transformers 5) adds no <s> ... </s>. The real
            # checkpoint's tokenizer.json has this template, and the tokenizer.json written from here keeps it.
            tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
                single="<s> $A </s>",
                pair="<s> $A </s> </s> $B </s>",
                special_tokens=[("<s>", tokenizer.bos_token_id), ("</s>", tokenizer.eos_token_id)],
            )
        return tokenizer

    return build


# ---------------------------------------------------------------------------------------------------------------
# Configs: the real checkpoints' conventions at tiny sizes, every special-token id read from the tokenizer.
# ---------------------------------------------------------------------------------------------------------------

ConfigBuilder = Callable[[PreTrainedTokenizerBase], PreTrainedConfig]

# The same sizes under each family's parameter names.
_BERT_SIZES = {
    "hidden_size": _WIDTH,
    "num_hidden_layers": _LAYERS,
    "num_attention_heads": _HEADS,
    "intermediate_size": _FFN,
    "max_position_embeddings": _BERT_LENGTH,
}
# RoBERTa, CamemBERT and XLM-R: position ids start after the padding id, hence 514 rows for 512 tokens.
_ROBERTA_SIZES = {
    **_BERT_SIZES,
    "max_position_embeddings": _BERT_LENGTH + 2,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
}
_DISTILBERT_SIZES = {
    "dim": _WIDTH,
    "n_layers": _LAYERS,
    "n_heads": _HEADS,
    "hidden_dim": _FFN,
    "max_position_embeddings": _BERT_LENGTH,
}
_BART_SIZES = {
    "d_model": _WIDTH,
    "encoder_layers": _LAYERS,
    "decoder_layers": _LAYERS,
    "encoder_attention_heads": _HEADS,
    "decoder_attention_heads": _HEADS,
    "encoder_ffn_dim": _FFN,
    "decoder_ffn_dim": _FFN,
    "max_position_embeddings": _BART_LENGTH,
}


def _config(
    config_class: str, sizes: dict[str, object], decoder_start: str | None = None, **overrides: object
) -> ConfigBuilder:
    """A config with `sizes`, the tokenizer's vocabulary size and every special id the tokenizer has (BERT's has
    no bos/eos, Pegasus' no bos). `decoder_start` names the token an encoder-decoder's decoder starts from: the
    one the model's `shift_tokens_right` puts first in training, so that a plain `generate()` starts the same way.
    """

    def build(tokenizer: PreTrainedTokenizerBase) -> PreTrainedConfig:
        values = {"vocab_size": len(tokenizer), **sizes}
        for name in ("pad", "bos", "eos"):
            if getattr(tokenizer, f"{name}_token_id") is not None:
                values[f"{name}_token_id"] = getattr(tokenizer, f"{name}_token_id")
        if decoder_start is not None:
            values["decoder_start_token_id"] = tokenizer.convert_tokens_to_ids(decoder_start)
            values["forced_eos_token_id"] = tokenizer.eos_token_id
        return getattr(transformers, config_class)(**values, **overrides)

    return build


# ---------------------------------------------------------------------------------------------------------------
# The recipes.
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Recipe:
    """How one architecture's tiny checkpoint is made."""

    architecture: str
    tokenizer: TokenizerBuilder
    config: ConfigBuilder
    steps: int
    language: str = "en"
    license: str = "apache-2.0"

    @property
    def seq2seq(self) -> bool:
        return self.architecture.endswith("ForConditionalGeneration")


# Steps chosen by measurement: with them every encoder gets 78% (ELECTRA) to 99% (CamemBERT) of single masked
# tokens of its corpus right, and every encoder-decoder infills all but at most 3 of its sentences exactly.
# ALBERT (shared layers) and ELECTRA (narrow embeddings) learn more slowly; encoder-decoders copy and infill sooner.
_RECIPES: dict[str, _Recipe] = {
    "bert": _Recipe(
        architecture="BertForMaskedLM",
        tokenizer=_wordpiece_tokenizer("BertTokenizer"),
        config=_config("BertConfig", _BERT_SIZES),
        steps=150,
    ),
    "roberta": _Recipe(
        architecture="RobertaForMaskedLM",
        tokenizer=_byte_level_tokenizer(_BERT_LENGTH),
        config=_config("RobertaConfig", _ROBERTA_SIZES),
        steps=150,
        license="mit",
    ),
    # DistilBertTokenizer, named in tokenizer_config.json: it returns no token_type_ids, which DistilBERT has no
    # embedding for. (With no class named, AutoTokenizer picks BertTokenizer for "distilbert"; its token_type_ids
    # then vanish silently into the **kwargs of DistilBertForMaskedLM.forward in transformers 5.)
    "distilbert": _Recipe(
        architecture="DistilBertForMaskedLM",
        tokenizer=_wordpiece_tokenizer("DistilBertTokenizer"),
        config=_config("DistilBertConfig", _DISTILBERT_SIZES),
        steps=150,
    ),
    "albert": _Recipe(
        architecture="AlbertForMaskedLM",
        tokenizer=_sentencepiece_tokenizer("AlbertTokenizer", "en", _BERT_LENGTH),
        config=_config("AlbertConfig", _BERT_SIZES, embedding_size=_EMBEDDING, hidden_act="gelu_new"),
        steps=250,
    ),
    # The generator: the discriminator has no LM head to check predictions with.
    "electra": _Recipe(
        architecture="ElectraForMaskedLM",
        tokenizer=_wordpiece_tokenizer("BertTokenizer"),
        config=_config("ElectraConfig", _BERT_SIZES, embedding_size=_EMBEDDING),
        steps=250,
    ),
    "camembert": _Recipe(
        architecture="CamembertForMaskedLM",
        tokenizer=_sentencepiece_tokenizer("CamembertTokenizer", "fr", _BERT_LENGTH),
        config=_config("CamembertConfig", _ROBERTA_SIZES),
        steps=150,
        language="fr",
        license="mit",
    ),
    "xlm-roberta": _Recipe(
        architecture="XLMRobertaForMaskedLM",
        tokenizer=_sentencepiece_tokenizer("XLMRobertaTokenizer", "en", _BERT_LENGTH),
        config=_config("XLMRobertaConfig", _ROBERTA_SIZES),
        steps=150,
        license="mit",
    ),
    "bart": _Recipe(
        architecture="BartForConditionalGeneration",
        tokenizer=_byte_level_tokenizer(_BART_LENGTH),
        config=_config("BartConfig", _BART_SIZES, decoder_start="</s>"),
        steps=80,
    ),
    "mbart": _Recipe(
        architecture="MBartForConditionalGeneration",
        tokenizer=_sentencepiece_tokenizer("MBartTokenizer", "en", _BART_LENGTH),
        config=_config("MBartConfig", _BART_SIZES, decoder_start=_MBART_LANGUAGE, scale_embedding=True),
        steps=80,
        license="mit",
    ),
    # BARThez is an mBART model with a French SentencePiece tokenizer of its own; the tokenizer class is what tells
    # it apart, so config.json names it as well, as moussaKam/barthez's does.
    "barthez": _Recipe(
        architecture="MBartForConditionalGeneration",
        tokenizer=_sentencepiece_tokenizer("BarthezTokenizer", "fr", _BART_LENGTH),
        config=_config("MBartConfig", _BART_SIZES, decoder_start="</s>", tokenizer_class="BarthezTokenizer"),
        steps=80,
        language="fr",
    ),
    "pegasus": _Recipe(
        architecture="PegasusForConditionalGeneration",
        tokenizer=_sentencepiece_tokenizer("PegasusTokenizer", "en", _BART_LENGTH),
        config=_config("PegasusConfig", _BART_SIZES, decoder_start="<pad>", scale_embedding=True),
        steps=80,
    ),
}

#: The types `make_tiny_checkpoint` knows, in hubgen's naming (`xlm-roberta`, and `barthez` as its own type).
TINY_MODEL_TYPES: tuple[str, ...] = tuple(_RECIPES)


def _recipe(model_type: str) -> _Recipe:
    if model_type not in _RECIPES:
        known = ", ".join(TINY_MODEL_TYPES)
        raise TinyCheckpointError(f"no tiny checkpoint for {model_type!r}; known types: {known}")
    return _RECIPES[model_type]


def training_sentences(model_type: str) -> tuple[str, ...]:
    """The sentences the tiny checkpoint of `model_type` learnt, for tests that query it on held-in text."""
    return _CORPORA[_recipe(model_type).language]


# ---------------------------------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------------------------------

Example = tuple[list[int], list[int]]  # token ids and their special-tokens mask


def _examples(tokenizer: PreTrainedTokenizerBase, sentences: Sequence[str]) -> list[Example]:
    """The sentences as the real model was pre-trained on them: with the tokenizer's own special tokens (mBART's
    sources end with "</s> en_XX", which is also what its labels need for `shift_tokens_right`)."""
    batch = tokenizer(list(sentences), return_special_tokens_mask=True)
    return list(zip(batch["input_ids"], batch["special_tokens_mask"]))


def _pad_rows(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    width = max(len(row) for row in rows)
    return torch.tensor([list(row) + [value] * (width - len(row)) for row in rows])


def _masked_lm_batch(
    examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Mask `_MASK_RATE` of the ordinary tokens of every sentence, at least one, always with the mask token: the
    question the model will be asked is a single mask token, so no steps go to BERT's random and kept tokens."""
    input_ids = _pad_rows([ids for ids, _ in examples], tokenizer.pad_token_id)
    ordinary = _pad_rows([[not special for special in specials] for _, specials in examples], False)
    chosen = (torch.rand(input_ids.shape, generator=generator) < _MASK_RATE) & ordinary
    scores = torch.rand(input_ids.shape, generator=generator).masked_fill(~ordinary, -1.0)
    chosen[torch.arange(len(examples)), scores.argmax(dim=1)] = True
    return {
        "input_ids": input_ids.masked_fill(chosen, tokenizer.mask_token_id),
        "attention_mask": (input_ids != tokenizer.pad_token_id).long(),
        "labels": input_ids.masked_fill(~chosen, -100),
    }


def _infilling_batch(
    examples: Sequence[Example], tokenizer: PreTrainedTokenizerBase, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """BART's text infilling: one to three ordinary tokens become a single mask token in the source and the target
    is the whole sentence. A quarter of the sources stay whole, so the model also learns to copy."""
    sources = []
    for ids, specials in examples:
        ordinary = [position for position, special in enumerate(specials) if not special]
        if torch.rand((), generator=generator) < 0.25:
            sources.append(ids)
            continue
        length = int(torch.randint(1, 4, (), generator=generator))
        first = int(torch.randint(0, max(1, len(ordinary) - length + 1), (), generator=generator))
        start, end = ordinary[first], min(ordinary[first] + length, ordinary[-1] + 1)
        sources.append(ids[:start] + [tokenizer.mask_token_id] + ids[end:])
    input_ids = _pad_rows(sources, tokenizer.pad_token_id)
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != tokenizer.pad_token_id).long(),
        "labels": _pad_rows([ids for ids, _ in examples], -100),
    }


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the caller's setting. Matrices this small gain nothing from intra-op
    threads (measured: the same step time with one or two), and on a shared CI machine the threads only contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _train(
    model: transformers.PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    recipe: _Recipe,
    steps: int,
    generator: torch.Generator,
) -> None:
    """Full-batch AdamW with a short warm-up and a linear decay to zero. Dropout stays off (the model is kept in
    eval mode): it only slows memorising a corpus this small, and the saved config keeps its usual rates."""
    examples = _examples(tokenizer, _CORPORA[recipe.language])
    make_batch = _infilling_batch if recipe.seq2seq else _masked_lm_batch
    optimizer = torch.optim.AdamW(model.parameters(), lr=_LEARNING_RATE, weight_decay=0.0, foreach=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / _WARMUP_STEPS) * (1.0 - step / steps)
    )
    model.eval()
    for _ in range(steps):
        model(**make_batch(examples, tokenizer, generator)).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        schedule.step()


# ---------------------------------------------------------------------------------------------------------------
# The checkpoint folder.
# ---------------------------------------------------------------------------------------------------------------


def _model_card(model_type: str, recipe: _Recipe, seed: int, steps: int) -> str:
    """README.md with the front matter a real card has (license, language, tags), for code that reads a base
    model's card. The licenses follow the real base checkpoints' (MIT for the fairseq RoBERTa line and mBART,
    Apache-2.0 for the rest), which also gives card code both kinds to handle."""
    data = ModelCardData(
        license=recipe.license,
        language=recipe.language,
        library_name="transformers",
        pipeline_tag="text2text-generation" if recipe.seq2seq else "fill-mask",
        tags=["hubgen-tiny", "testing", model_type],
    )
    objective = "text infilling" if recipe.seq2seq else "masked language modelling"
    return (
        f"---\n{data.to_yaml()}\n---\n\n"
        f"# Tiny {model_type} for tests\n\n"
        f"A `{recipe.architecture}` of width {_WIDTH} with {_LAYERS} layers, made by `hubgen.tiny` for tests and "
        f"offline demos: {steps} steps of {objective} (seed {seed}) on a few dozen toy sentences, with a tokenizer "
        "built from the same sentences. It knows nothing else.\n"
    )


def _write_vocabulary_files(tokenizer: PreTrainedTokenizerBase, directory: Path) -> None:
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
    recipe = _recipe(model_type)
    steps = recipe.steps if train_steps is None else train_steps
    if steps < 0:
        raise TinyCheckpointError(f"train_steps must be 0 or more, not {steps}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise TinyCheckpointError(f"{directory} is not empty; a tiny checkpoint needs a folder of its own")
    directory.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="hubgen-tiny-") as work:
        tokenizer = recipe.tokenizer(Path(work))
        tokenizer.save_pretrained(directory)
        _write_vocabulary_files(tokenizer, directory)  # SentencePiece files are read from `work`

    with torch.random.fork_rng(devices=[]), _one_thread():
        torch.manual_seed(seed)
        model = getattr(transformers, recipe.architecture)(recipe.config(tokenizer))
        if steps:
            _train(model, tokenizer, recipe, steps, torch.Generator().manual_seed(seed))
    model.save_pretrained(directory)
    (directory / "README.md").write_text(_model_card(model_type, recipe, seed, steps), encoding="utf-8")
    return directory
