"""What the base model's own card says that stays true of the long model: license, language, datasets, tags.

The long model is the base's weights with another attention, so the base's license binds it, it reads the same
languages and it learnt from the same data. Tags are kept unless they describe what the long repository does not
hold (other frameworks' weights, exports, inference services) or a task it does not serve; tags with a colon
(`license:`, `dataset:`, `arxiv:`, `region:`...) are ones the Hub derives from other metadata by itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard

from hubgen.registry import ModelType

# Files, exports and services of the base that the long repository does not have: other frameworks' weights, exported
# graphs, and tools or inference servers that run library models only (it loads with remote code).
_STALE_TAGS = frozenset(
    {
        "tf",
        "tensorflow",
        "jax",
        "flax",
        "rust",
        "onnx",
        "openvino",
        "coreml",
        "tflite",
        "gguf",
        "exbert",
        "endpoints_compatible",
        "autotrain_compatible",
        "text-embeddings-inference",
    }
)
# Task tags: kept only for a task the long model serves (a classifier made from a fill-mask base is no fill-masker).
_TASK_TAGS = frozenset(
    {
        "feature-extraction",
        "fill-mask",
        "sentence-similarity",
        "text-classification",
        "token-classification",
        "question-answering",
        "multiple-choice",
        "summarization",
        "text2text-generation",
        "text-generation",
        "translation",
        "zero-shot-classification",
    }
)
_CARRIED_KEYS = ("license", "license_name", "license_link", "language", "datasets")


def read_base_card(folder: Path | None) -> dict[str, Any]:
    """The base card's metadata, or nothing when the base has no card (or one whose metadata cannot be read)."""
    path = folder / "README.md" if folder else None
    if path is None or not path.is_file():
        return {}
    try:
        return ModelCard.load(path, ignore_metadata_errors=True).data.to_dict()
    except Exception:  # noqa: BLE001 - a broken base card must not stop a conversion; its metadata is left out
        return {}


def carried_metadata(base: dict[str, Any], served_tasks: set[str]) -> tuple[dict[str, Any], list[str]]:
    """The base metadata the long model's card repeats, and the base tags that stay true of it."""
    carried = {key: base[key] for key in _CARRIED_KEYS if base.get(key)}
    tags = [
        str(tag)
        for tag in base.get("tags") or ()
        if ":" not in str(tag) and tag not in _STALE_TAGS and (tag not in _TASK_TAGS or tag in served_tasks)
    ]
    return carried, tags


def fill_mask_language(base: dict[str, Any], model_type: ModelType | None) -> str | None:
    """Which built-in sentences the smoke tests ask: French ones for a French base, else English ones.

    The base card's `language` decides; without one, the type does (CamemBERT and BARThez are French models; None:
    a type hubgen does not convert to LSG, read as English)."""
    languages = base.get("language")
    languages = [languages] if isinstance(languages, str) else list(languages or ())
    if not languages:
        return "fr" if model_type is not None and model_type.language == "fr" else None
    return "fr" if "fr" in languages and "en" not in languages else None
