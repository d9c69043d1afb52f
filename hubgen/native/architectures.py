"""The native long architectures hubgen builds, and how every checkpoint it reads lays out its positions.

One record per target (`--attention longformer|bigbird`, and YOSO, which is only extended): its library type and
class names, the settings that make it long and their constraints, checked before anything is written. Position
layouts are read from transformers' own embeddings: BERT and BigBird count positions from row 0; RoBERTa-likes and
Longformer from `pad_token_id + 1` (`create_position_ids_from_input_ids`), rows the config's
`max_position_embeddings` includes; YOSO from row 2, rows its config leaves out (its table is `max + 2`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hubgen.errors import InvalidInputError
from hubgen.registry import (
    MASKED_LM,
    MODEL,
    MULTIPLE_CHOICE,
    PRETRAINING,
    QUESTION_ANSWERING,
    SEQUENCE_CLASSIFICATION,
    TOKEN_CLASSIFICATION,
)

# The heads a native target may have, by class-name suffix.
HEADS = {
    head.class_suffix: head
    for head in (
        MODEL,
        MASKED_LM,
        PRETRAINING,
        SEQUENCE_CLASSIFICATION,
        TOKEN_CLASSIFICATION,
        QUESTION_ANSWERING,
        MULTIPLE_CHOICE,
    )
}
# Library model types whose positions start after the padding id (RoBERTa's convention).
_AFTER_PADDING = frozenset({"roberta", "camembert", "xlm-roberta", "longformer"})
# Library model types whose table has rows before position 0 that max_position_embeddings does not count.
_UNCOUNTED_OFFSET = {"yoso": 2}


@dataclass(frozen=True)
class PositionLayout:
    """Where text position 0 sits in a position table, and how many of those rows the config counts."""

    offset: int
    counted: bool

    @classmethod
    def of(cls, config: dict[str, Any]) -> PositionLayout:
        model_type = str(config.get("model_type", ""))
        if model_type in _AFTER_PADDING:
            return cls(int(config.get("pad_token_id", 1)) + 1, counted=True)
        return cls(_UNCOUNTED_OFFSET.get(model_type, 0), counted=False)

    def text_length(self, config: dict[str, Any]) -> int:
        """Positions available to text."""
        return int(config["max_position_embeddings"]) - (self.offset if self.counted else 0)

    def config_length(self, text_length: int) -> int:
        """The `max_position_embeddings` that gives `text_length` positions to text."""
        return text_length + (self.offset if self.counted else 0)


@dataclass(frozen=True)
class NativeSettings:
    """The long-attention settings a conversion may choose (None: the target's default, or the base's own)."""

    attention_window: int | None = None
    block_size: int | None = None
    num_random_blocks: int | None = None


@dataclass(frozen=True)
class NativeArchitecture:
    name: str  # the --attention value, and what the card calls it
    model_type: str  # transformers' model type
    class_prefix: str  # LongformerForMaskedLM, BigBirdForMaskedLM, YosoForMaskedLM
    from_short: bool  # made from a short BERT-like base, not only extended

    @property
    def options_hint(self) -> str:
        """The options this target takes, for error messages."""
        return {
            "longformer": "--attention-window (default 512)",
            "bigbird": "--block-size (default 64) and --num-random-blocks (default 3)",
        }.get(self.name, "no attention options (its own are kept)")

    def class_name(self, suffix: str) -> str:
        return self.class_prefix + suffix

    def long_settings(self, settings: NativeSettings, config: dict[str, Any]) -> dict[str, Any]:
        """The config keys that make the model long, given the choices and the base's config (its own values win
        over the defaults when the base is already of this architecture)."""
        if self.name == "longformer":
            window = settings.attention_window or config.get("attention_window") or 512
            return {"attention_window": window}
        if self.name == "bigbird":
            return {
                "attention_type": "block_sparse",
                "block_size": settings.block_size or config.get("block_size") or 64,
                "num_random_blocks": _first_set(settings.num_random_blocks, config.get("num_random_blocks"), 3),
            }
        return {}

    def long_settings_of(self, config: dict[str, Any]) -> dict[str, Any]:
        """The settings that make a config of this architecture long, as `long_settings` names them."""
        return {key: config[key] for key in self.long_settings(NativeSettings(), {}) if key in config}

    def full_attention_length(self, values: dict[str, Any]) -> int | None:
        """The longest input on which every token attends to every other, as the base's full attention does (None:
        any length; YOSO's is only ever an estimate, but extending it changes nothing else)."""
        if self.name == "longformer":
            windows = values["attention_window"]
            return min(windows if isinstance(windows, list) else [windows]) // 2 + 1
        if self.name == "bigbird":
            return (5 + 2 * values["num_random_blocks"]) * values["block_size"]
        return None

    def check(self, max_length: int, values: dict[str, Any]) -> None:
        """The target's own constraints on its settings and the length, as one clear line each."""
        if self.name == "longformer":
            windows = values["attention_window"]
            windows = windows if isinstance(windows, list) else [windows]
            if any(not isinstance(w, int) or w < 2 or w % 2 for w in windows):
                raise InvalidInputError(
                    f"--attention-window {values['attention_window']} is not an even number of at least 2",
                    "Longformer attends window/2 tokens on each side: use an even window such as 512",
                )
        if self.name == "bigbird":
            block, random_blocks = values["block_size"], values["num_random_blocks"]
            if block < 1 or random_blocks < 0:
                raise InvalidInputError(
                    f"BigBird needs a block size of at least 1 and 0 or more random blocks, not {block} and "
                    f"{random_blocks}",
                    "use --block-size 64 --num-random-blocks 3 (bigbird-roberta-base's)",
                )
            if max_length % block:
                raise InvalidInputError(
                    f"--max-len {max_length} is not a multiple of BigBird's block size {block}",
                    f"BigBird pads inputs to whole blocks: use --max-len {(max_length // block + 1) * block}",
                )
            full = (5 + 2 * random_blocks) * block
            if max_length <= full:
                raise InvalidInputError(
                    f"--max-len {max_length} is at most (5 + 2 x {random_blocks} random blocks) x block size {block} "
                    f"= {full} tokens, where BigBird always falls back to full attention",
                    f"use a --max-len above {full}, or smaller blocks",
                )


def _first_set(*values: Any) -> Any:
    return next(value for value in values if value is not None)


LONGFORMER = NativeArchitecture("longformer", "longformer", "Longformer", from_short=True)
BIGBIRD = NativeArchitecture("bigbird", "big_bird", "BigBird", from_short=True)
YOSO = NativeArchitecture("yoso", "yoso", "Yoso", from_short=False)

NATIVE_ARCHITECTURES = {entry.name: entry for entry in (LONGFORMER, BIGBIRD, YOSO)}
# The --attention values: LSG (hubgen's own code) and the targets made from short bases.
ATTENTIONS = ("lsg", *(name for name, entry in NATIVE_ARCHITECTURES.items() if entry.from_short))


def architecture_of(config: dict[str, Any]) -> NativeArchitecture | None:
    """The native architecture a checkpoint already is, if any (then it is extended in its own architecture)."""
    model_type = config.get("model_type")
    return next((entry for entry in NATIVE_ARCHITECTURES.values() if entry.model_type == model_type), None)
