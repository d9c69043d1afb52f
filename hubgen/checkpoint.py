"""Find the base checkpoint (a local folder or a Hub repository) and recognise what it is.

Recognising covers three cases: a plain library checkpoint (`model_type` "bert"), a published LSG repository (base
`model_type` plus an `auto_map` into `modeling_lsg_<type>.py`), and one hubgen made (`model_type` "lsg-<type>").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, constants, snapshot_download
from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id

from hubgen.errors import HubAccessError, InvalidInputError
from hubgen.registry import MODEL_TYPES, ModelType

# What a conversion reads: configuration, weights, tokenizer and the card (for license and language).
_WANTED_SUFFIXES = (".json", ".txt", ".model", ".safetensors", ".md", ".bin")


@dataclass(frozen=True)
class BaseCheckpoint:
    reference: str
    directory: Path
    config: dict[str, Any]
    model_type: ModelType
    is_lsg: bool
    revision: str | None = None

    @property
    def name(self) -> str:
        """Short name used in repository ids: the last path component, as in `lsg-<name>-4096`."""
        return Path(self.reference.rstrip("/")).name

    @property
    def text_length(self) -> int:
        """Positions available to text in the base model (the table minus its offset)."""
        return int(self.config["max_position_embeddings"]) - self.model_type.config_position_offset

    def tokenizer_class(self) -> str:
        path = self.directory / "tokenizer_config.json"
        return json.loads(path.read_text()).get("tokenizer_class", "") if path.exists() else ""


def open_checkpoint(reference: str, token: str | bool | None = None, revision: str | None = None) -> BaseCheckpoint:
    local = Path(reference).expanduser()
    if local.is_dir():
        directory, resolved = local, None
    else:
        directory, resolved = _download(reference, token, revision)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise InvalidInputError(f"{reference} has no config.json", "pass a model folder or a model repository id")
    config = json.loads(config_path.read_text())
    model_type, is_lsg = _recognise(config, directory)
    checkpoint = BaseCheckpoint(reference, directory, config, model_type, is_lsg, resolved)
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise InvalidInputError(
            f"{reference} uses position_embedding_type={config['position_embedding_type']!r}",
            "LSG attention needs absolute position embeddings; pick a checkpoint trained with them",
        )
    return checkpoint


def _download(repo_id: str, token, revision) -> tuple[Path, str | None]:
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise InvalidInputError(
            f"{repo_id!r} is neither a folder nor a valid repository id", "use a local folder or an id like org/name"
        ) from None
    api = HfApi(token=token)
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=False)
        files = [sibling.rfilename for sibling in info.siblings or ()]
        has_safetensors = any(name.endswith(".safetensors") for name in files)
        wanted = [
            name
            for name in files
            if name.endswith(_WANTED_SUFFIXES) and not (has_safetensors and name.endswith(".bin"))
        ]
        directory = snapshot_download(repo_id, revision=info.sha, allow_patterns=wanted, token=token)
    except (RepositoryNotFoundError, GatedRepoError):
        raise HubAccessError(
            f"repository {repo_id} was not found or is not accessible",
            "check the id, log in with `hf auth login` or set HF_TOKEN for private repositories, or pass a local folder",
        ) from None
    except RevisionNotFoundError:
        raise HubAccessError(f"revision {revision!r} does not exist in {repo_id}", "check --revision") from None
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise HubAccessError(
            f"cannot download {repo_id} from {constants.ENDPOINT} ({type(error).__name__}: {error})",
            "check your connection and HF_ENDPOINT, or pass a local folder",
        ) from None
    return Path(directory), info.sha


def _recognise(config: dict[str, Any], directory: Path) -> tuple[ModelType, bool]:
    model_type = str(config.get("model_type", ""))
    modules = {str(target).split(".")[0] for target in (config.get("auto_map") or {}).values()}
    by_module = {entry.module_name: entry for entry in MODEL_TYPES.values()}
    for module in modules:
        if module in by_module:
            return by_module[module], True
    if model_type.startswith("lsg-") and model_type[4:] in MODEL_TYPES:
        return MODEL_TYPES[model_type[4:]], True
    tokenizer_config = directory / "tokenizer_config.json"
    tokenizer_class = (
        json.loads(tokenizer_config.read_text()).get("tokenizer_class", "") if tokenizer_config.exists() else ""
    )
    for entry in MODEL_TYPES.values():
        if entry.recognises(model_type, tokenizer_class):
            return entry, False
    supported = ", ".join(MODEL_TYPES)
    raise InvalidInputError(
        f"model type {model_type or '(missing)'!r} is not supported", f"hubgen converts these model types: {supported}"
    )
