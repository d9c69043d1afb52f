"""Write README.md for a converted folder: YAML metadata through huggingface_hub's card tools, text from Jinja.

The card must be reproducible byte for byte (re-publishing identical content makes no commit), so it holds no dates
and no timings, only facts about the model and its smoke tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

from hubgen import __version__
from hubgen.base_card import carried_metadata, read_base_card
from hubgen.errors import HubAccessError, InvalidInputError
from hubgen.hub import endpoint
from hubgen.repository import ConvertedRepository
from hubgen.sentence_transformers import describe, is_sentence_transformer
from hubgen.smoke_report import SmokeReport
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


# The Hub knows four relations to a base model: adapter, merge, quantized and finetune. This repository holds a
# complete model made from one base: its weights, edited in place (a longer position table) plus new global-token
# rows, to be trained further on long inputs. Only "finetune" describes a full-weight derivative of one base; saying
# it keeps the Hub from guessing, and lists the model among the base's derivatives as what it is.
BASE_MODEL_RELATION = "finetune"

_SENTENCE_TRANSFORMERS_TASKS = {"sentence-similarity", "feature-extraction"}


def render_card(
    repository: ConvertedRepository,
    smoke: SmokeReport | None = None,
    repo_id: str | None = None,
    publish_command: str | None = None,
    base_card: dict[str, Any] | None = None,
) -> str:
    """The card of a converted repository; `base_card` is the base checkpoint's card metadata (else read from the
    base convert recorded, when it is in the Hub cache), which gives license, language, datasets and tags."""
    folder, config, model_type, head = repository.folder, repository.config, repository.model_type, repository.head
    base = repository.base_model
    if base_card is None:
        base_card = read_base_card(repository.local_base())
    sentence_transformer = is_sentence_transformer(folder)
    pipeline_tag = "sentence-similarity" if sentence_transformer else PIPELINE_TAGS[head.kind]
    served = _SENTENCE_TRANSFORMERS_TASKS if sentence_transformer else {pipeline_tag}
    library = "sentence-transformers" if sentence_transformer else "transformers"
    metadata = card_metadata(base, base_card, pipeline_tag, served, library, ("lsg", model_type.name))
    context = {
        "repo_id": repo_id or folder.name,
        "base": base,
        "sentence_transformer": sentence_transformer,
        "st_modules": describe(folder) if sentence_transformer else [],
        "type": model_type,
        "head": head,
        "architecture": repository.architecture,
        "auto_class": head.auto_class,
        "auto_classes": sorted(key for key in config.get("auto_map", {}) if key != "AutoConfig"),
        "config": config,
        "mask_token": repository.mask_token,
        "max_length": repository.max_length,
        "command": repository.provenance.command,
        "publish_command": publish_command,
        "hubgen_version": repository.provenance.version or __version__,
        "smoke": smoke,
        "is_seq2seq": head.kind == "seq2seq_lm" or config.get("is_encoder_decoder", False),
    }
    body = environment("hubgen.model_cards").get_template("model_card.md.jinja").render(**context)
    return card_text(metadata, body)


def card_metadata(
    base: str | None,
    base_card: dict[str, Any],
    pipeline_tag: str,
    served: set[str],
    library_name: str,
    type_tags: tuple[str, ...],
) -> ModelCardData:
    """The card's metadata: what stays true of the base's card, the relation to the base, and hubgen's tags."""
    carried, base_tags = carried_metadata(base_card, served)
    return ModelCardData(
        base_model=base,
        base_model_relation=BASE_MODEL_RELATION if base else None,
        library_name=library_name,
        pipeline_tag=pipeline_tag,
        tags=[*base_tags, "long context", *type_tags, "hubgen"],
        **carried,
    )


def card_text(metadata: ModelCardData, body: str) -> str:
    return str(ModelCard(f"---\n{metadata.to_yaml()}\n---\n{body}"))


def write_card(repository: ConvertedRepository, **kwargs: Any) -> Path:
    path = repository.folder / "README.md"
    path.write_text(render_card(repository, **kwargs), encoding="utf-8")
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
