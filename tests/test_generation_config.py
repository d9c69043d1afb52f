"""generation_config.json of the encoder-decoder types: settings move out of config.json, the type's library
defaults fill what a saved config leaves out, and the base's own file wins."""

from __future__ import annotations

from hubgen.generation_config import GENERATION_KEYS, generation_settings, split_generation_settings
from hubgen.registry import MODEL_TYPES


def test_generation_settings_move_out_of_config_json():
    base = {"d_model": 16, "num_beams": 4, "max_length": 142, "eos_token_id": 2, "task_specific_params": {}}
    kept, moved = split_generation_settings(base)
    assert kept == {"d_model": 16, "eos_token_id": 2, "task_specific_params": {}}
    assert moved == {"num_beams": 4, "max_length": 142}
    settings = generation_settings(MODEL_TYPES["bart"], base, {"num_beams": 6, "_from_model_config": True})
    assert settings == {
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
        "decoder_start_token_id": 2,
        "forced_eos_token_id": 2,  # BART's class default, which a saved config.json leaves out
        "max_length": 142,
        "num_beams": 6,
    }
    assert generation_settings(MODEL_TYPES["mbart"], {})["forced_eos_token_id"] == 2
    assert "decoder_start_token_id" not in generation_settings(MODEL_TYPES["mbart"], {})
    assert set(GENERATION_KEYS).isdisjoint(MODEL_TYPES["pegasus"].config_defaults.keys() - {"forced_eos_token_id"})
