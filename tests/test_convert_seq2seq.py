"""What converting an encoder-decoder adds: generation settings move to generation_config.json, and both position
tables (encoder and decoder) reach the new length, learned ones by repetition, Pegasus' sinusoids by their formula.

(Every type's tiny base converting, smoke-testing and keeping its answers is tests/test_matrix.py's whole-matrix run.)"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file
from transformers.models.pegasus.modeling_pegasus import PegasusSinusoidalPositionalEmbedding

from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.registry import MODEL_TYPES

MAX_LENGTH = 1024 + 256  # above every tiny base's length, and not a multiple of it: the table repeats a partial copy


@pytest.mark.parametrize("type_name", [name for name, entry in MODEL_TYPES.items() if entry.family.encoder_decoder])
def test_encoder_decoders_keep_generation_settings_and_get_positions_for_the_new_length(
    tiny_checkpoint, tmp_path, type_name
):
    model_type = MODEL_TYPES[type_name]
    base = shutil.copytree(tiny_checkpoint(type_name), tmp_path / f"tiny-{type_name}")
    config = json.loads((base / "config.json").read_text())
    config.update(num_beams=3, no_repeat_ngram_size=3)  # settings as older checkpoints keep them, in config.json
    (base / "config.json").write_text(json.dumps(config))
    convert(ConversionRequest(base=str(base), max_length=MAX_LENGTH, output=tmp_path / "lsg"))

    generation = json.loads((tmp_path / "lsg" / "generation_config.json").read_text())
    assert generation["num_beams"] == 3 and generation["no_repeat_ngram_size"] == 3
    assert generation["decoder_start_token_id"] == config["decoder_start_token_id"]
    assert "num_beams" not in json.loads((tmp_path / "lsg" / "config.json").read_text())

    before, after = load_file(base / "model.safetensors"), load_file(tmp_path / "lsg" / "model.safetensors")
    offset = model_type.position_offset
    for part in ("encoder", "decoder"):
        old, new = before[f"model.{part}.embed_positions.weight"], after[f"model.{part}.embed_positions.weight"]
        assert new.shape == (MAX_LENGTH + offset, old.shape[1])
        if model_type.options.positions == "sinusoidal":
            expected = PegasusSinusoidalPositionalEmbedding(MAX_LENGTH, old.shape[1]).create_weight()
        else:  # the offset rows, then the original rows repeated (the last copy partial)
            rows = old[offset:]
            repeats = -(-MAX_LENGTH // rows.shape[0])
            expected = torch.cat([old[:offset], rows.repeat(repeats, 1)[:MAX_LENGTH]])
        torch.testing.assert_close(new, expected, rtol=0, atol=1e-6)
