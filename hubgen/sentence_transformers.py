"""Keep a sentence-transformers base a sentence-transformers model after conversion.

Such a repository is a transformers model (its Transformer module, at the root) plus the modules `modules.json`
lists after it: Pooling (with its mode: CLS, mean, max, weighted mean, last token), Dense, Normalize... Conversion
replaces the Transformer module only; every other module is copied as it is (weights as safetensors), and the
Transformer's settings file gets the new `max_seq_length`. Nothing needs to say `trust_remote_code`: sentence-
transformers hands the user's `SentenceTransformer(..., trust_remote_code=True)` to the model, config and tokenizer
of the Transformer module, and strips the flag from `model_kwargs` / `config_kwargs` / `processor_kwargs` found in
a repository's files (it is the user's decision, not the repository's).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from hubgen.errors import InvalidInputError

MODULES_FILE = "modules.json"
MODEL_CONFIG_FILE = "config_sentence_transformers.json"
# The Transformer module's settings, under the names sentence-transformers looks for (the first found wins).
TRANSFORMER_CONFIG_FILES = (
    "sentence_bert_config.json",
    "sentence_roberta_config.json",
    "sentence_distilbert_config.json",
    "sentence_camembert_config.json",
    "sentence_albert_config.json",
    "sentence_xlm-roberta_config.json",
)


def is_sentence_transformer(folder: Path) -> bool:
    return (folder / MODULES_FILE).is_file()


def modules(folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / MODULES_FILE).read_text())


def _is_transformer(module: dict[str, Any]) -> bool:
    return str(module.get("type", "")).rsplit(".", 1)[-1] == "Transformer"


def check_layout(folder: Path, reference: str) -> None:
    """Refuse, before anything is written, the layouts whose model this conversion would not be the one loaded."""
    transformers = [module for module in modules(folder) if _is_transformer(module)]
    if [module.get("path", "") for module in transformers] != [""]:
        paths = ", ".join(repr(module.get("path", "")) for module in transformers) or "none"
        raise InvalidInputError(
            f"{reference} is a sentence-transformers model whose Transformer modules are at {paths}",
            "hubgen converts sentence-transformers models with one Transformer module, at the repository root",
        )


def write_modules(base: Path, output: Path, max_length: int) -> None:
    """Copy every module but the Transformer, and the settings files, with `max_seq_length` = the new length."""
    for module in modules(base):
        if _is_transformer(module):
            continue
        source, target = base / module["path"], output / module["path"]
        for path in source.iterdir() if source.is_dir() else ():  # Normalize may have no files, not even a folder
            if path.is_file():
                target.mkdir(parents=True, exist_ok=True)
                _copy_module_file(path, target)
    shutil.copyfile(base / MODULES_FILE, output / MODULES_FILE)
    if (base / MODEL_CONFIG_FILE).is_file():
        shutil.copyfile(base / MODEL_CONFIG_FILE, output / MODEL_CONFIG_FILE)
    name = next((name for name in TRANSFORMER_CONFIG_FILES if (base / name).is_file()), TRANSFORMER_CONFIG_FILES[0])
    settings = json.loads((base / name).read_text()) if (base / name).is_file() else {}
    settings["max_seq_length"] = max_length
    (output / name).write_text(json.dumps(settings, indent=2) + "\n")


def _copy_module_file(path: Path, target: Path) -> None:
    """Weights go out as safetensors (a module loads `model.safetensors` before `pytorch_model.bin`)."""
    if path.name == "pytorch_model.bin":
        if not (path.parent / "model.safetensors").exists():
            save_file(torch.load(path, map_location="cpu", weights_only=True), target / "model.safetensors")
        return
    shutil.copyfile(path, target / path.name)


# The legacy switches of a Pooling module's config.json, and the mode each turns on (newer files say `pooling_mode`).
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def pooling_mode(settings: dict[str, Any]) -> str:
    mode = settings.get("pooling_mode")
    if mode:
        return mode if isinstance(mode, str) else "+".join(mode)
    return "+".join(name for key, name in _LEGACY_POOLING_KEYS.items() if settings.get(key)) or "mean"


def describe(folder: Path) -> list[str]:
    """The modules in order, as a card lists them: `Transformer`, `Pooling (cls)`, `Dense`, `Normalize`."""
    names = []
    for module in modules(folder):
        name = str(module.get("type", "")).rsplit(".", 1)[-1]
        settings = folder / module.get("path", "") / "config.json"
        if name == "Pooling" and settings.is_file():
            name += f" ({pooling_mode(json.loads(settings.read_text()))})"
        names.append(name)
    return names
