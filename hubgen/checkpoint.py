"""Find the base checkpoint (a local folder or a Hub repository) and recognise what it is.

Recognising covers three cases: a plain library checkpoint (`model_type` "bert"), a published LSG repository (base
`model_type` plus an `auto_map` into `modeling_lsg_<type>.py`), and one hubgen made (`model_type` "lsg-<type>").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi
from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError, RevisionNotFoundError
from huggingface_hub.utils import validate_repo_id
from safetensors import SafetensorError, safe_open

from hubgen.errors import HubAccessError, InvalidInputError
from hubgen.hub import endpoint
from hubgen.provenance import check_base_model_id
from hubgen.registry import MODEL_TYPES, ModelType
from hubgen.sentence_transformers import MODULES_FILE

# What a conversion reads: configuration, weights, tokenizer and the card (for license and language).
_WANTED_SUFFIXES = (".json", ".txt", ".model", ".safetensors", ".md")
# The JSON files transformers reads while loading a checkpoint; a truncated one is the user's to fix.
_JSON_FILES = (
    "config.json",
    "tokenizer_config.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "generation_config.json",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class BaseCheckpoint:
    reference: str
    directory: Path
    config: dict[str, Any]
    model_type: ModelType
    is_lsg: bool
    revision: str | None = None
    # The base's Hub id, the only name of it that published files carry (None: a local folder of unknown origin).
    hub_id: str | None = None

    @property
    def text_length(self) -> int:
        """Positions available to text in the base model (the table minus its offset)."""
        return int(self.config["max_position_embeddings"]) - self.model_type.config_position_offset

    def tokenizer_class(self) -> str:
        return str(_tokenizer_config(self.directory).get("tokenizer_class") or "")

    def own_code(self) -> list[str]:
        """The base's own code files its configurations name (`auto_map`), LSG modeling files aside: hubgen never
        runs them, and the converted repository does not carry them."""
        lsg_modules = {entry.module_name + ".py" for entry in MODEL_TYPES.values()}
        files = _code_files(self.config.get("auto_map")) + _code_files(
            _tokenizer_config(self.directory).get("auto_map")
        )
        return sorted(set(files) - lsg_modules)


def open_checkpoint(
    reference: str,
    token: str | bool | None = None,
    revision: str | None = None,
    base_model: str | None = None,
    fetched: FetchedBase | None = None,
) -> BaseCheckpoint:
    """The base as a folder: a local one, or the snapshot of a Hub repository fetched once into the Hub cache
    (`fetched`: already fetched by `fetch_base`).

    Every later step (conversion, smoke tests, card) reads `directory`; nothing looks the repository up again.
    """
    fetched = fetched or fetch_base(reference, token, revision, base_model)
    model_type, is_lsg = recognise(fetched.config, fetched.directory)
    checkpoint = BaseCheckpoint(
        reference, fetched.directory, fetched.config, model_type, is_lsg, fetched.revision, fetched.hub_id
    )
    config = fetched.config
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise InvalidInputError(
            f"{reference} uses position_embedding_type={config['position_embedding_type']!r}",
            "LSG attention needs absolute position embeddings; pick a checkpoint trained with them",
        )
    _check_length_key(checkpoint)
    check_weights(fetched.directory, reference)
    return checkpoint


@dataclass(frozen=True)
class FetchedBase:
    """A base folder whose JSON files parse, whatever its type (its weights are checked once it is recognised:
    `check_weights`)."""

    directory: Path
    config: dict[str, Any]
    revision: str | None
    hub_id: str | None


def fetch_base(
    reference: str, token: str | bool | None = None, revision: str | None = None, base_model: str | None = None
) -> FetchedBase:
    """The base as a folder (see `open_checkpoint`), checked for what every conversion reads, before its type is
    recognised: LSG conversions and native ones (`hubgen.native`) recognise different types."""
    hub_id = check_base_model_id(reference, base_model)
    local = Path(reference).expanduser()
    if local.is_dir():
        directory, resolved = local, None
    else:
        directory, resolved = _download(reference, token, revision)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise InvalidInputError(f"{reference} has no config.json", "pass a model folder or a model repository id")
    for name in _JSON_FILES:
        read_json(directory / name, reference)
    return FetchedBase(directory, read_json(config_path, reference), resolved, hub_id)


def read_json(path: Path, reference: str) -> dict[str, Any]:
    """A checkpoint's JSON file ({} if absent), or one line naming the file and where it breaks."""
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidInputError(
            f"{path.name} of {reference} is not valid JSON ({error})",
            "the file is damaged or truncated: download the checkpoint again or fix the file",
        ) from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"{path.name} of {reference} is not a JSON object", "fix or replace the file")
    return value


def _check_length_key(checkpoint: BaseCheckpoint) -> None:
    value = checkpoint.config.get("max_position_embeddings")
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, bool) or not whole or value <= checkpoint.model_type.config_position_offset:
        raise InvalidInputError(
            f"config.json of {checkpoint.reference} has max_position_embeddings={value!r}, not a positive whole number",
            "fix config.json: it is the length of the base's position table (512 for BERT-like models)",
        )


def check_weights(directory: Path, reference: str) -> None:
    """Weights present and safetensors headers readable: a damaged file is named before anything is loaded."""
    if not any((directory / name).exists() for name in _WEIGHT_FILES):
        raise InvalidInputError(
            f"{reference} has a config.json but no weights (model.safetensors or pytorch_model.bin)",
            "pass the complete checkpoint folder, weights included",
        )
    for path in sorted(directory.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt"):
                pass
        except (SafetensorError, OSError) as error:
            raise InvalidInputError(
                f"{path.name} of {reference} is not a readable safetensors file ({error})",
                "the file is damaged or truncated: download the checkpoint again",
            ) from None


def _tokenizer_config(directory: Path) -> dict[str, Any]:
    return read_json(directory / "tokenizer_config.json", str(directory))


def _code_files(auto_map: Any) -> list[str]:
    """Files an `auto_map` points at: "module.Class" strings, lists of them (tokenizers), "repo--module.Class"."""
    values = auto_map.values() if isinstance(auto_map, dict) else []
    targets = [item for value in values for item in (value if isinstance(value, list) else [value]) if item]
    return sorted({str(target).split("--")[-1].split(".")[0] + ".py" for target in targets})


def _download(repo_id: str, token, revision) -> tuple[Path, str | None]:
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        raise InvalidInputError(
            f"{repo_id!r} is neither a folder nor a valid repository id", "use a local folder or an id like org/name"
        ) from None
    api = HfApi(endpoint=endpoint(), token=token, library_name="hubgen")
    try:
        info = api.model_info(repo_id, revision=revision, files_metadata=False)
        wanted = _wanted_files([sibling.rfilename for sibling in info.siblings or ()])
        directory = api.snapshot_download(repo_id, revision=info.sha, allow_patterns=wanted)
    except (RepositoryNotFoundError, GatedRepoError):
        raise HubAccessError(
            f"repository {repo_id} was not found or is not accessible",
            "check the id, log in with `hf auth login` or set HF_TOKEN for private repositories, or pass a local folder",
        ) from None
    except RevisionNotFoundError:
        raise HubAccessError(f"revision {revision!r} does not exist in {repo_id}", "check --revision") from None
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise HubAccessError(
            f"cannot download {repo_id} from {endpoint()} ({type(error).__name__}: {error})",
            "check your connection and HF_ENDPOINT, or pass a local folder",
        ) from None
    return Path(directory), info.sha


def _wanted_files(files: list[str]) -> list[str]:
    """The files a conversion reads, out of a repository's: those at its root, and a sentence-transformers model's
    module folders; pickled weights only where no safetensors stand beside them, and no exports (ONNX, OpenVINO)."""
    sentence_transformer = MODULES_FILE in files
    safetensors_folders = {str(Path(name).parent) for name in files if name.endswith(".safetensors")}

    def wanted(name: str) -> bool:
        path = Path(name)
        if str(path.parent) != "." and not sentence_transformer:
            return False
        if name.endswith(".bin"):
            return path.name.startswith("pytorch_model") and str(path.parent) not in safetensors_folders
        return name.endswith(_WANTED_SUFFIXES)

    return [name for name in files if wanted(name)]


def recognise(config: dict[str, Any], directory: Path) -> tuple[ModelType, bool]:
    """The type of a checkpoint's config, and whether it is an LSG checkpoint (the three cases of this module's
    docstring); the tokenizer class tells apart types that share a library model type."""
    model_type = str(config.get("model_type", ""))
    modules = {str(target).split(".")[0] for target in (config.get("auto_map") or {}).values()}
    by_module = {entry.module_name: entry for entry in MODEL_TYPES.values()}
    for module in modules:
        if module in by_module:
            return by_module[module], True
    if model_type.startswith("lsg-") and model_type[4:] in MODEL_TYPES:
        return MODEL_TYPES[model_type[4:]], True
    tokenizer_class = str(_tokenizer_config(directory).get("tokenizer_class") or "")
    for entry in MODEL_TYPES.values():
        if entry.recognises(model_type, tokenizer_class):
            return entry, False
    supported = ", ".join(MODEL_TYPES)
    raise InvalidInputError(
        f"model type {model_type or '(missing)'!r} is not supported", f"hubgen converts these model types: {supported}"
    )
