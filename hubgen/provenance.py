"""How published files name the base model: by its Hub id, never by a path on the machine that converted it.

A Hub id given as the base names itself. A local folder has no name the world can use unless the user gives one
(`--base-model ORG/NAME`); without it, the card and config.json say nothing about where the base came from, the
reproduce command shows a placeholder, and a default repository name is taken from the folder's name only when that
name says what the model is (`my-legal-bert`, not `model`, `checkpoint-500` or a snapshot's commit hash).
"""

from __future__ import annotations

import re
from pathlib import Path

from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from hubgen.errors import InvalidInputError

# Stands for the local base folder in the command a card shows (the user's path is theirs, not the world's).
LOCAL_BASE_PLACEHOLDER = "BASE_FOLDER"

# Folder names that say where a model was saved, not what it is: training outputs, checkpoints, cache snapshots.
_MEANINGLESS_NAME = re.compile(
    r"(model|models|checkpoints?|ckpt|weights|outputs?|out|final|best|last|latest|tmp|temp|base|export(ed)?"
    r"|saved_model|pretrained|snapshots?|main|hf|huggingface|runs?|results?|lsg"
    r"|(checkpoint|ckpt|step|epoch|global_step|run)[-_]?\d+"
    r"|[0-9a-f]{40}"  # a snapshot folder of the Hub cache: snapshots/<commit>
    r"|v?\d+([._-]\d+)*)",
    re.IGNORECASE,
)


def is_local_folder(base: str) -> bool:
    return Path(base).expanduser().is_dir()


def check_base_model_id(base: str, base_model: str | None) -> str | None:
    """The Hub id published files give the base: the id it was fetched by, or `--base-model` for a folder."""
    if base_model is None:
        return None if is_local_folder(base) else base
    if not is_local_folder(base) and base_model != base:
        raise InvalidInputError(
            f"--base-model {base_model} names the Hub origin of a local folder, but {base} is already a Hub id",
            "leave out --base-model",
        )
    try:
        validate_repo_id(base_model)
    except HFValidationError:
        raise InvalidInputError(
            f"--base-model {base_model!r} is not a Hub model id",
            "use the base's id, e.g. google-bert/bert-base-uncased",
        ) from None
    return base_model


def published_base(base: str, base_model: str | None) -> str:
    """The base as a command in a published file shows it: its Hub id, or a placeholder for a local folder."""
    return check_base_model_id(base, base_model) or LOCAL_BASE_PLACEHOLDER


def repository_stem(base: str, base_model: str | None) -> str:
    """The `<name>` of the default `lsg-<name>-<length>` repository; refused when only a meaningless folder names
    the base."""
    hub_id = check_base_model_id(base, base_model)
    if hub_id:
        return hub_id.split("/")[-1]
    name = Path(base).expanduser().resolve().name
    if _MEANINGLESS_NAME.fullmatch(name) or not _valid_repo_name(name):
        raise InvalidInputError(
            f"the base folder's name {name!r} does not say which model it is, so it makes no repository name",
            "pass --repo-id ORG/NAME, or --base-model ORG/NAME to name the base's Hub origin",
        )
    return name


def _valid_repo_name(name: str) -> bool:
    try:
        validate_repo_id(f"lsg-{name}-4096")
    except HFValidationError:
        return False
    return True
