"""A tiny trained YOSO masked LM, the base of the tests that extend a natively long checkpoint (`hubgen.native`).

YOSO is no type hubgen converts to LSG, so it has no recipe in the registry; it borrows the tiny BERT's tokenizer
(YOSO's real checkpoints ship ALBERT's; any tokenizer serves the conversion, which keeps it as it is), sizes and
training, with a short position table of its own so that there is something to extend.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import transformers

from hubgen.offline.tiny import TinyCheckpointError, write_vocabulary_files
from hubgen.offline.tiny_corpus import CORPORA
from hubgen.offline.tiny_tokenizers import build_tokenizer
from hubgen.offline.tiny_training import one_thread, train
from hubgen.registry import MODEL_TYPES

_BERT = MODEL_TYPES["bert"]


def make_tiny_yoso(directory: str | Path, *, positions: int = 512, seed: int = 0, train_steps: int = 150) -> Path:
    """Write a `YosoForMaskedLM` of `positions` positions, trained `train_steps` steps on the English corpus, with
    its tokenizer, into the empty or new folder `directory`; returns it. YOSO's expectation mode (its default) runs
    on a CPU."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise TinyCheckpointError(f"{directory} is not empty; a tiny checkpoint needs a folder of its own")
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hubgen-tiny-") as work:
        tokenizer = build_tokenizer(_BERT.tiny.tokenizer_class, _BERT.language, positions, Path(work))
        tokenizer.save_pretrained(directory)
        write_vocabulary_files(tokenizer, directory)
    config = transformers.YosoConfig(
        **{**_BERT.tiny.config, "max_position_embeddings": positions},
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        model = transformers.YosoForMaskedLM(config)
        train(model, tokenizer, CORPORA[_BERT.language], train_steps, torch.Generator().manual_seed(seed))
    model.save_pretrained(directory)
    return directory
