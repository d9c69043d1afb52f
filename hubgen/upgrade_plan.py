"""What `hubgen upgrade` changes in an LSG repository, file by file, and why: the smallest change that makes it load.

Only small files are read (config.json, README.md, generation_config.json) and the modeling file is compared by its
git blob id, so the same plan serves an upgrade and the survey of a whole organisation (`hubgen upgrade --list`).
The repository's own modeling file is never read as code: it is only replaced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub.utils.sha import git_hash

from hubgen import __version__
from hubgen.generation_config import generation_settings
from hubgen.registry import SEQ2SEQ_LM, ModelType
from hubgen.render import render_modeling_file
from hubgen.templating import environment

SECTION_START = "<!-- hubgen upgrade: start -->"
SECTION_END = "<!-- hubgen upgrade: end -->"
_SECTION = re.compile(re.escape(SECTION_START) + r".*?" + re.escape(SECTION_END) + r"\n?", re.DOTALL)


@dataclass(frozen=True)
class FileChange:
    """One file the upgrade writes: its new content (bytes, or a file for weights), and a sentence for the user and
    the card."""

    path: str
    content: bytes | Path
    added: bool
    reason: str

    def write(self, folder: Path) -> Path:
        """Write next to the target, then rename over it: a reader never sees half a file, and a link in the way
        (a staged copy links to the Hub cache) is replaced rather than written through."""
        target = folder / self.path
        partial = folder / f".{self.path}.partial"
        if isinstance(self.content, Path):
            shutil.copyfile(self.content, partial)
        else:
            partial.write_bytes(self.content)
        os.replace(partial, target)
        return target


# The weights file a repository loads from, in transformers' order of preference.
WEIGHTS_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass(frozen=True)
class RepositoryState:
    """What the plan needs to know about a repository: its config and card, and the blob id of every file (only
    code files are compared by blob id; for the others, being listed is enough)."""

    config: dict[str, Any]
    readme: str | None
    blob_ids: Mapping[str, str]

    @classmethod
    def read(cls, config: dict[str, Any], folder: Path, blob_ids: Mapping[str, str]) -> RepositoryState:
        readme = folder / "README.md"
        return cls(config, readme.read_text(encoding="utf-8") if readme.exists() else None, blob_ids)

    @property
    def weights_file(self) -> str:
        return next((name for name in WEIGHTS_FILES if name in self.blob_ids), WEIGHTS_FILES[0])


def plan_changes(
    model_type: ModelType, state: RepositoryState, extra: tuple[FileChange, ...] = ()
) -> list[FileChange]:
    """The files to write, in the order a reader checks them; `extra` are changes decided elsewhere (re-saved
    weights). An empty list means the repository is up to date."""
    changes = [*_code_and_config(model_type, state), *extra]
    readme = _readme(model_type, state, changes)
    return changes + ([readme] if readme else [])


def _code_and_config(model_type: ModelType, state: RepositoryState) -> list[FileChange]:
    changes = []
    code = render_modeling_file(model_type).encode()
    old_modules = sorted({str(target).split(".")[0] for target in (state.config.get("auto_map") or {}).values()})
    if state.blob_ids.get(model_type.file_name) != git_hash(code):
        replaced = [f"{module}.py" for module in old_modules if f"{module}.py" != model_type.file_name]
        reason = f"hubgen {__version__}'s self-contained code (torch and transformers' stable API only)" + (
            f", replacing {', '.join(replaced)}" if replaced else ""
        )
        changes.append(FileChange(model_type.file_name, code, model_type.file_name not in state.blob_ids, reason))
    if state.config.get("auto_map") != model_type.auto_map():
        config = {**state.config, "auto_map": model_type.auto_map()}
        content = (json.dumps(config, indent=2, ensure_ascii=False) + "\n").encode()
        reason = f"`auto_map` names the classes of {model_type.file_name}, AutoConfig included; nothing else changed"
        changes.append(FileChange("config.json", content, False, reason))
    if SEQ2SEQ_LM in model_type.heads and "generation_config.json" not in state.blob_ids:
        settings = generation_settings(model_type, state.config)
        content = (json.dumps(settings, indent=2, sort_keys=True) + "\n").encode()
        reason = "the generation settings of config.json, where transformers 5.x reads them"
        changes.append(FileChange("generation_config.json", content, True, reason))
    return changes


def _readme(model_type: ModelType, state: RepositoryState, changes: list[FileChange]) -> FileChange | None:
    """The card with its upgrade section added or replaced; nothing when nothing else changes (the section then
    describes the upgrade that made the repository current)."""
    if not changes:
        return None
    section = (
        environment("hubgen.model_cards")
        .get_template("upgrade_section.md.jinja")
        .render(
            start=SECTION_START,
            end=SECTION_END,
            version=__version__,
            file_name=model_type.file_name,
            changes=changes,
            weights_file=state.weights_file,
            weights_unchanged=not any(change.path == state.weights_file for change in changes),
            bos_pooling=state.config.get("sparsity_type") == "bos_pooling",
            # hubgen's repositories name their own model type; the original converter's name the base one.
            made_by_hubgen=str(state.config.get("model_type", "")).startswith("lsg-"),
        )
    )
    current = state.readme or ""
    existing = _SECTION.search(current)
    if existing:
        text = current[: existing.start()] + section + current[existing.end() :]
    else:
        text = current.rstrip("\n") + ("\n\n" if current else "") + section
    return FileChange("README.md", text.encode(), state.readme is None, "a section saying what changed and why")
