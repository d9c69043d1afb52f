"""generation_config.json for the encoder-decoder types (BART, mBART, BARThez, Pegasus).

transformers 4.x reads generation settings (`forced_eos_token_id`, `num_beams`, `max_length`, ...) from config.json;
5.x drops them when it loads a config and refuses to save a config that carries them. Every version from 4.40 on reads
generation_config.json when a repository has one, so a converted seq2seq repository gets one, and its config.json
keeps the model keys only. The converter uses `split_generation_settings` on the base config and writes
`generation_settings(...)` as generation_config.json next to the weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hubgen.registry import ModelType

# Generation settings a config.json may carry: the generation defaults transformers 4.40 to 5.x look for in a model
# config. They move to generation_config.json. (`use_cache` is a model key as well and stays.)
GENERATION_KEYS = (
    "max_length",
    "min_length",
    "do_sample",
    "early_stopping",
    "num_beams",
    "num_beam_groups",
    "diversity_penalty",
    "temperature",
    "top_k",
    "top_p",
    "typical_p",
    "repetition_penalty",
    "length_penalty",
    "no_repeat_ngram_size",
    "encoder_no_repeat_ngram_size",
    "bad_words_ids",
    "num_return_sequences",
    "output_scores",
    "return_dict_in_generate",
    "forced_bos_token_id",
    "forced_eos_token_id",
    "remove_invalid_values",
    "exponential_decay_length_penalty",
    "suppress_tokens",
    "begin_suppress_tokens",
    "epsilon_cutoff",
    "eta_cutoff",
    "encoder_repetition_penalty",
)

# Token ids generate() needs; the model reads them too, so they stay in config.json and are copied.
TOKEN_KEYS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


def split_generation_settings(config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config without generation settings, the generation settings it carried)."""
    kept = {key: value for key, value in config.items() if key not in GENERATION_KEYS}
    moved = {key: value for key, value in config.items() if key in GENERATION_KEYS}
    return kept, moved


def generation_settings(
    model_type: ModelType, config: Mapping[str, Any], base_generation_config: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The content of generation_config.json for a converted checkpoint.

    In order of precedence: the base repository's own generation_config.json, the generation settings and token ids
    of its config.json, then the library defaults of the type for what both leave out (a config saved by transformers
    omits values equal to the class defaults, such as BART's `forced_eos_token_id=2`). None values are left out.
    """
    defaults = model_type.config_defaults
    settings: dict[str, Any] = {}
    for key in (*TOKEN_KEYS, *GENERATION_KEYS):
        if key in defaults:
            settings[key] = defaults[key]
    _, from_config = split_generation_settings(config)
    settings.update(from_config)
    settings.update({key: config[key] for key in TOKEN_KEYS if key in config})
    if base_generation_config:
        # Bookkeeping keys of the file that wrote it, not settings.
        ignored = ("transformers_version", "_from_model_config")
        settings.update({key: value for key, value in base_generation_config.items() if key not in ignored})
    return {key: value for key, value in settings.items() if value is not None}
