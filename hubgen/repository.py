"""A converted LSG repository folder, read once: what the smoke tests, the card, publish and upgrade know about it.

`hubgen convert` writes the folder and records where it came from (`Provenance`, in config.json); every later step
reads it through `ConvertedRepository.read`, so that the folder is checked (a config.json, of an LSG model) and
interpreted (type, head, length, mask token, base) in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download
from huggingface_hub.utils import HFValidationError, validate_repo_id

from hubgen.checkpoint import read_json, recognise
from hubgen.errors import InvalidInputError
from hubgen.registry import Head, ModelType

# The config.json key holding the provenance.
PROVENANCE_KEY = "hubgen"


@dataclass(frozen=True)
class Provenance:
    """Where a converted repository came from, as convert records it. It is published as it is, so it names the base
    by its Hub id only, never by the path it was read from (see `hubgen.provenance`)."""

    version: str | None = None
    base_model: str | None = None
    base_revision: str | None = None
    command: str | None = None
    # Weights the base did not have: the smoke tests call their head untrained.
    new_weights: tuple[str, ...] = ()

    def to_config(self) -> dict[str, Any]:
        return {**asdict(self), "new_weights": list(self.new_weights)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Provenance:
        recorded = config.get(PROVENANCE_KEY) or {}
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in recorded.items() if key in known}
        return cls(**{**values, "new_weights": tuple(values.get("new_weights") or ())})


@dataclass(frozen=True)
class ConvertedRepository:
    folder: Path
    config: dict[str, Any]
    model_type: ModelType
    provenance: Provenance

    @classmethod
    def read(cls, folder: Path) -> ConvertedRepository:
        """The folder as an LSG repository; one line naming the problem when it holds none."""
        if not (folder / "config.json").is_file():
            raise InvalidInputError(
                f"{folder} has no config.json", "run `hubgen convert` first, or pass a converted folder"
            )
        config = read_json(folder / "config.json", str(folder))
        try:
            model_type, is_lsg = recognise(config, folder)
        except InvalidInputError:
            is_lsg = False
        if not is_lsg:
            raise InvalidInputError(
                f"{folder} is not a converted LSG model (model type {config.get('model_type')!r})",
                f"convert it first: `hubgen convert {folder} --max-len 4096 --out DIR`, then test DIR",
            )
        return cls(folder, config, model_type, Provenance.from_config(config))

    @property
    def architecture(self) -> str:
        """The class the weights were saved with (config.json's `architectures`)."""
        return (self.config.get("architectures") or [self.model_type.class_name(self.model_type.default_head)])[0]

    @property
    def head(self) -> Head:
        return self.model_type.head_for_architecture(self.architecture) or self.model_type.default_head

    @property
    def max_length(self) -> int:
        """Positions available to text (the table minus its offset)."""
        return int(self.config["max_position_embeddings"]) - self.model_type.config_position_offset

    @property
    def mask_token(self) -> str | None:
        return mask_token(self.folder)

    @property
    def base_model(self) -> str | None:
        """The base's Hub id, as recorded (None for a local base of unknown origin)."""
        return hub_id(self.provenance.base_model)

    def local_base(self) -> Path | None:
        """The recorded base as a folder, when it is at hand in the Hub cache."""
        return find_local_base(self.base_model, self.provenance.base_revision)


def mask_token(folder: Path) -> str | None:
    """The mask token a repository's tokenizer_config.json names (a string, or an added token's content)."""
    token = read_json(folder / "tokenizer_config.json", str(folder)).get("mask_token")
    return token if isinstance(token, str) else (token or {}).get("content")


def find_local_base(reference: str | Path | None, revision: str | None = None) -> Path | None:
    """A base checkpoint as a local folder when it is at hand: a folder, or a snapshot in the Hub cache, found by
    the commit convert fetched (a download pinned to a commit records no branch, so `main` would not find it)."""
    if not reference:
        return None
    if Path(reference).is_dir():
        return Path(reference).resolve()
    try:
        return Path(snapshot_download(str(reference), revision=revision, local_files_only=True))
    except Exception:  # noqa: BLE001 - any miss just means "no base at hand"
        return None


def hub_id(reference: str | None) -> str | None:
    """A recorded base that is a Hub id; local folders have none."""
    if not reference or Path(reference).exists():
        return None
    try:
        validate_repo_id(reference)
    except HFValidationError:
        return None
    return reference
