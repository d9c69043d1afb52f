"""Write README.md for a converted folder: YAML metadata through huggingface_hub's card tools, text from Jinja.

The card must be reproducible byte for byte (re-publishing identical content makes no commit), so it holds no dates
and no timings, only facts about the model and its smoke tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData
from huggingface_hub.utils import HFValidationError, validate_repo_id

from hubgen import __version__
from hubgen.convert import read_conversion_metadata
from hubgen.errors import InvalidInputError
from hubgen.registry import MODEL_TYPES, ModelType
from hubgen.smoke import SmokeReport, local_base
from hubgen.templating import environment

# The pipeline a head serves, for the `pipeline_tag` metadata and the examples of the card.
PIPELINE_TAGS = {
    "model": "feature-extraction",
    "masked_lm": "fill-mask",
    "pretraining": "fill-mask",
    "causal_lm": "text-generation",
    "sequence_classification": "text-classification",
    "token_classification": "token-classification",
    "question_answering": "question-answering",
    "multiple_choice": "multiple-choice",
    "seq2seq_lm": "summarization",
}


def _model_type(config: dict[str, Any]) -> ModelType:
    name = config["model_type"].removeprefix("lsg-")
    if name not in MODEL_TYPES:
        raise InvalidInputError(f"config.json has model type {config['model_type']!r}", "run `hubgen convert` first")
    return MODEL_TYPES[name]


def _base_card_data(base: str | None) -> dict[str, Any]:
    """License and language of the base model, read from its card when it is at hand."""
    folder = local_base(base)
    if not folder or not (Path(folder) / "README.md").exists():
        return {}
    data = ModelCard.load(Path(folder) / "README.md").data
    return {key: getattr(data, key, None) for key in ("license", "language") if getattr(data, key, None)}


def _hub_id(reference: str | None) -> str | None:
    """The base as a Hub id for `base_model` metadata; local folders have none."""
    if not reference or Path(reference).exists():
        return None
    try:
        validate_repo_id(reference)
    except HFValidationError:
        return None
    return reference


def render_card(
    folder: Path, smoke: SmokeReport | None = None, repo_id: str | None = None, publish_command: str | None = None
) -> str:
    config_path = folder / "config.json"
    if not config_path.exists():
        raise InvalidInputError(
            f"{folder} has no config.json", "run `hubgen convert` first, or pass a converted folder"
        )
    config = json.loads(config_path.read_text())
    model_type = _model_type(config)
    provenance = read_conversion_metadata(folder)
    architecture = (config.get("architectures") or [model_type.class_name(model_type.default_head)])[0]
    head = model_type.head_for_architecture(architecture) or model_type.default_head
    base = provenance.get("base_model")
    metadata = ModelCardData(
        base_model=_hub_id(base),
        library_name="transformers",
        pipeline_tag=PIPELINE_TAGS[head.kind],
        tags=["long context", "lsg", model_type.name, "hubgen"],
        **_base_card_data(base),
    )
    tokenizer_config = folder / "tokenizer_config.json"
    mask_token = json.loads(tokenizer_config.read_text()).get("mask_token") if tokenizer_config.exists() else None
    context = {
        "repo_id": repo_id or folder.name,
        "base": base or "the base model",
        "base_is_hub": _hub_id(base) is not None,
        "type": model_type,
        "head": head,
        "architecture": architecture,
        "auto_class": head.auto_class,
        "auto_classes": sorted(key for key in config.get("auto_map", {}) if key != "AutoConfig"),
        "config": config,
        "mask_token": mask_token if isinstance(mask_token, str) else (mask_token or {}).get("content"),
        "max_length": config["max_position_embeddings"] - model_type.config_position_offset,
        "command": provenance.get("command"),
        "publish_command": publish_command,
        "hubgen_version": provenance.get("version", __version__),
        "smoke": smoke,
        "is_seq2seq": head.kind == "seq2seq_lm" or config.get("is_encoder_decoder", False),
    }
    body = environment("hubgen.model_cards").get_template("model_card.md.jinja").render(**context)
    return str(ModelCard(f"---\n{metadata.to_yaml()}\n---\n{body}"))


def write_card(folder: Path, **kwargs: Any) -> Path:
    path = folder / "README.md"
    path.write_text(render_card(folder, **kwargs), encoding="utf-8")
    return path
