"""How the tiny checkpoints learn their corpus: masked-LM for encoders, BART's text infilling for encoder-decoders,
full-batch, on one thread, a few seconds on a CPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch
import transformers
from transformers import PreTrainedTokenizerBase

_LEARNING_RATE = 1e-2
_WARMUP_STEPS = 10
# Half the ordinary tokens of a sentence are masked per step: more signal per step than BERT's 15%, and the rest of
# a short memorised sentence still tells which sentence it is.
_MASK_RATE = 0.5

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
def one_thread() -> Iterator[None]:
    """Run torch on one thread, then restore the caller's setting. Matrices this small gain nothing from intra-op
    threads (measured: the same step time with one or two), and on a shared CI machine the threads only contend."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def train(
    model: transformers.PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    sentences: Sequence[str],
    steps: int,
    generator: torch.Generator,
) -> None:
    """Full-batch AdamW with a short warm-up and a linear decay to zero. Dropout stays off (the model is kept in
    eval mode): it only slows memorising a corpus this small, and the saved config keeps its usual rates."""
    examples = _examples(tokenizer, sentences)
    make_batch = _infilling_batch if model.config.is_encoder_decoder else _masked_lm_batch
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
