"""A converted native repository folder (Longformer, BigBird, YOSO), read once for the smoke tests, the card and
publish, as `hubgen.repository.ConvertedRepository` is for LSG ones; `read_repository` tells the two apart."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import transformers

from hubgen.checkpoint import read_json
from hubgen.errors import InvalidInputError
from hubgen.native.architectures import HEADS, NativeArchitecture, PositionLayout, architecture_of
from hubgen.registry import Head
from hubgen.repository import ConvertedRepository, Provenance, find_local_base, hub_id, mask_token


@dataclass(frozen=True)
class NativeRepository:
    folder: Path
    config: dict[str, Any]
    target: NativeArchitecture
    provenance: Provenance

    @classmethod
    def read(cls, folder: Path) -> NativeRepository:
        config = read_json(folder / "config.json", str(folder))
        target = architecture_of(config)
        if target is None:
            raise InvalidInputError(f"{folder} is not a Longformer, BigBird or YOSO model", "pass a converted folder")
        return cls(folder, config, target, Provenance.from_config(config))

    @property
    def architecture(self) -> str:
        return (self.config.get("architectures") or [self.target.class_name("ForMaskedLM")])[0]

    @property
    def head(self) -> Head:
        return HEADS.get(self.architecture.removeprefix(self.target.class_prefix), HEADS["ForMaskedLM"])

    @property
    def max_length(self) -> int:
        return PositionLayout.of(self.config).text_length(self.config)

    @property
    def mask_token(self) -> str | None:
        return mask_token(self.folder)

    @property
    def extension(self) -> bool:
        """Made from a checkpoint of the same architecture: the command convert recorded chose no --attention (it
        does for a short base)."""
        return "--attention" not in shlex.split(self.provenance.command or "")

    @property
    def auto_classes(self) -> list[str]:
        """The Auto classes that load this architecture: those of the heads transformers provides for it."""
        return sorted(
            head.auto_class for suffix, head in HEADS.items() if hasattr(transformers, self.target.class_name(suffix))
        )

    @property
    def base_model(self) -> str | None:
        return hub_id(self.provenance.base_model)

    def local_base(self) -> Path | None:
        return find_local_base(self.base_model, self.provenance.base_revision)

    def smoke_target(self) -> dict[str, Any]:
        """What the smoke runner cannot read from a native config: the lengths and the task (`smoke_runner.Target`)."""
        full = self.target.full_attention_length(self.config)
        return {
            "auto_classes": self.auto_classes,
            "task": self.head.auto_class,
            "long_length": self.max_length - 8,
            "short_length": min(full or self.max_length, self.max_length),
        }


def read_repository(folder: Path) -> ConvertedRepository | NativeRepository:
    """The folder as a native repository when its config is one of transformers' long architectures, else as an LSG
    one (which says what is wrong when it is neither)."""
    if (folder / "config.json").is_file() and architecture_of(read_json(folder / "config.json", str(folder))):
        return NativeRepository.read(folder)
    return ConvertedRepository.read(folder)
