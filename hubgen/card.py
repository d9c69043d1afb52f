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
from hubgen.base_card import carried_metadata, read_base_card
from hubgen.convert import read_conversion_metadata
from hubgen.errors import HubAccessError, InvalidInputError
from hubgen.hub import endpoint
from hubgen.registry import MODEL_TYPES, ModelType
from hubgen.sentence_transformers import describe, is_sentence_transformer
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


def _hub_id(reference: str | None) -> str | None:
    """The base as a Hub id for `base_model` metadata; local folders have none."""
    if not reference or Path(reference).exists():
        return None
    try:
        validate_repo_id(reference)
    except HFValidationError:
        return None
    return reference


# The Hub knows four relations to a base model: adapter, merge, quantized and finetune. This repository holds a
# complete model made from one base: its weights, edited in place (a longer position table) plus new global-token
# rows, to be trained further on long inputs. Only "finetune" describes a full-weight derivative of one base; saying
# it keeps the Hub from guessing, and lists the model among the base's derivatives as what it is.
BASE_MODEL_RELATION = "finetune"

_SENTENCE_TRANSFORMERS_TASKS = {"sentence-similarity", "feature-extraction"}


def render_card(
    folder: Path,
    smoke: SmokeReport | None = None,
    repo_id: str | None = None,
    publish_command: str | None = None,
    base_folder: Path | None = None,
) -> str:
    """The card of a converted folder; `base_folder` is the base checkpoint (else looked up from what convert
    recorded, when it is in the Hub cache), whose card gives license, language, datasets and tags."""
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
    base = _hub_id(provenance.get("base_model"))
    if base_folder is None:
        found = local_base(base, provenance.get("base_revision"))
        base_folder = Path(found) if found else None
    sentence_transformer = is_sentence_transformer(folder)
    pipeline_tag = "sentence-similarity" if sentence_transformer else PIPELINE_TAGS[head.kind]
    served = _SENTENCE_TRANSFORMERS_TASKS if sentence_transformer else {pipeline_tag}
    carried, base_tags = carried_metadata(read_base_card(base_folder), served)
    metadata = ModelCardData(
        base_model=base,
        base_model_relation=BASE_MODEL_RELATION if base else None,
        library_name="sentence-transformers" if sentence_transformer else "transformers",
        pipeline_tag=pipeline_tag,
        tags=[*base_tags, "long context", "lsg", model_type.name, "hubgen"],
        **carried,
    )
    tokenizer_config = folder / "tokenizer_config.json"
    mask_token = json.loads(tokenizer_config.read_text()).get("mask_token") if tokenizer_config.exists() else None
    context = {
        "repo_id": repo_id or folder.name,
        "base": base,
        "sentence_transformer": sentence_transformer,
        "st_modules": describe(folder) if sentence_transformer else [],
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


def validate_card(path: Path) -> None:
    """Have the Hub in use check the card's metadata (huggingface_hub's `ModelCard.validate`) before any push, so
    that a card it would refuse stops the publish before a repository is created."""
    try:
        ModelCard.load(path).validate(repo_type="model")
    except ValueError as error:
        raise InvalidInputError(
            f"the Hub refuses the model card's metadata: {str(error).strip().splitlines()[-1]}",
            "fix the base card's metadata (license, language, datasets), or report it if the metadata is hubgen's",
        ) from None
    except Exception as error:  # noqa: BLE001 - network failures come as many types
        raise HubAccessError(
            f"cannot have {endpoint()} validate the model card ({type(error).__name__})",
            "check your connection and HF_ENDPOINT",
        ) from None
