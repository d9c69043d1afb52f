"""The tokenizers of the tiny checkpoints, trained here on the toy corpus in each real checkpoint's layout.

What training produces is cached per process: architectures whose real checkpoints share a tokenizer share one here
too (BERT, DistilBERT and ELECTRA a WordPiece vocabulary; RoBERTa and BART a byte-level BPE; XLM-R and mBART a
SentencePiece model), and a session that builds all the types trains each only once.
"""

from __future__ import annotations

import functools
import io
import json
import string
from dataclasses import dataclass
from pathlib import Path

import sentencepiece
import transformers
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerBase

from hubgen.offline.tiny_corpus import CORPORA

_ASCII = string.ascii_lowercase + string.digits + string.punctuation


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
            for sentence in CORPORA[language]
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
    tokenizer.train_from_iterator(CORPORA[language], trainer)
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
    sentences = [sentence.lower() if layout.lowercase else sentence for sentence in CORPORA[language]]
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


def build_tokenizer(class_name: str, language: str, model_max_length: int, work: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of class `class_name` for a corpus language; `work` is an empty folder it may write into."""
    if class_name in ("BertTokenizer", "DistilBertTokenizer"):
        vocab = {token: index for index, token in enumerate(_wordpiece_vocab(language))}
        return getattr(transformers, class_name)(vocab=vocab, do_lower_case=True, model_max_length=model_max_length)
    if class_name == "RobertaTokenizer":
        vocab, merges = _byte_level_bpe(language)
        return transformers.RobertaTokenizer(
            vocab=dict(vocab),
            merges=list(merges),
            # As in roberta-base's tokenizer: "<mask>" takes the space before it.
            mask_token=AddedToken("<mask>", lstrip=True, rstrip=False),
            model_max_length=model_max_length,
        )
    return _sentencepiece_tokenizer(class_name, language, model_max_length, work)


def _sentencepiece_tokenizer(
    class_name: str, language: str, model_max_length: int, work: Path
) -> PreTrainedTokenizerBase:
    """Load the class from a folder holding only the `.model` file, which is how transformers reads a legacy Hub
    checkpoint: the class's own conversion decides the final vocabulary, as it would for the real one."""
    layout = _SENTENCEPIECE_LAYOUTS[class_name]
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
