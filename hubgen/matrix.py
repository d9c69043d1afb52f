"""The rebuild matrix: every (model type, base checkpoint, length) the project republishes.

The default list names one real public checkpoint per type; a JSON file can replace it. CI reads the list from
`hubgen matrix`, so adding a checkpoint is adding a row, not editing a workflow.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from huggingface_hub import HfApi

from hubgen import hub
from hubgen.convert import ConversionRequest
from hubgen.errors import HubgenError, InvalidInputError
from hubgen.local_hub import LocalHub, LocalUser
from hubgen.publish import PublishRequest, PublishResult, publish
from hubgen.registry import MODEL_TYPES
from hubgen.tiny import make_tiny_checkpoint, training_sentences


@dataclass(frozen=True)
class MatrixEntry:
    type: str
    base: str
    max_length: int = 4096

    @property
    def name(self) -> str:
        """A short job name, as shown in the CI matrix."""
        return f"{self.type}: {self.base} @ {self.max_length}"


DEFAULT_MATRIX = (
    MatrixEntry("bert", "google-bert/bert-base-uncased"),
    MatrixEntry("roberta", "FacebookAI/roberta-base"),
    MatrixEntry("distilbert", "distilbert/distilbert-base-uncased"),
    MatrixEntry("albert", "albert/albert-base-v2"),
    MatrixEntry("electra", "google/electra-base-discriminator"),
    MatrixEntry("camembert", "almanach/camembert-base"),
    MatrixEntry("xlm-roberta", "FacebookAI/xlm-roberta-base"),
    MatrixEntry("bart", "facebook/bart-base"),
    MatrixEntry("mbart", "facebook/mbart-large-cc25"),
    MatrixEntry("barthez", "moussaKam/barthez"),
    MatrixEntry("pegasus", "google/pegasus-large"),
)


def load_matrix(path: Path | None = None) -> list[MatrixEntry]:
    """The default matrix, or the entries of a JSON file: a list of {"type", "base", "max_length"}."""
    if path is None:
        entries = list(DEFAULT_MATRIX)
    else:
        try:
            rows = json.loads(path.read_text())
            entries = [MatrixEntry(**row) for row in rows]
        except (OSError, ValueError, TypeError) as error:
            raise InvalidInputError(
                f"cannot read the matrix file {path}: {error}",
                'write a JSON list of {"type": ..., "base": ..., "max_length": ...} objects',
            ) from None
    for entry in entries:
        if entry.type not in MODEL_TYPES:
            raise InvalidInputError(
                f"matrix entry {entry.name!r} has an unknown type", f"use one of {', '.join(MODEL_TYPES)}"
            )
    return entries


def github_matrix(entries: list[MatrixEntry]) -> dict:
    """The `strategy.matrix` object of a GitHub Actions job (read with `fromJSON`)."""
    return {"include": [{**asdict(entry), "name": entry.name} for entry in entries]}


# --- running the matrix locally -------------------------------------------------------------------------------------
# What the CI jobs do, on this machine and without the Hub: each entry's type gets a tiny checkpoint made on the spot
# (hubgen.tiny) and hosted on a Hub server on 127.0.0.1, from which the real pipeline publishes it by its repository
# id, with an empty HF_HOME, as a CI runner or a new user does: the base is fetched, converted, compared and pushed.

LOCAL_USER = "hubgen-matrix"
# A throwaway credential of the throwaway local Hub; it gives access to nothing else.
LOCAL_TOKEN = "hf_hubgen_local_matrix_token"


@dataclass(frozen=True)
class LocalRun:
    entry: MatrixEntry
    result: PublishResult | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None


def fill_mask_questions(model_type: str, count: int = 6) -> tuple[str, ...]:
    """Sentences the tiny checkpoint learnt, with their last word masked: questions it can actually answer."""
    questions = []
    for sentence in training_sentences(model_type)[:count]:
        words = sentence.rstrip(".").split()
        questions.append(" ".join([*words[:-1], "{mask}"]) + ".")
    return tuple(questions)


def host_tiny_base(client: HfApi, model_type: str, folder: Path) -> str:
    """Make the tiny checkpoint of `model_type` and upload it; returns its repository id."""
    repo_id = f"{LOCAL_USER}/tiny-{model_type}"
    client.create_repo(repo_id, exist_ok=True)
    client.upload_folder(folder_path=make_tiny_checkpoint(model_type, folder), repo_id=repo_id)
    return repo_id


def run_local_matrix(
    entries: list[MatrixEntry], workdir: Path, report: Callable[[str], None] = lambda step: None
) -> list[LocalRun]:
    runs = []
    with (
        LocalHub(workdir / "hub", tokens={LOCAL_TOKEN: LocalUser(LOCAL_USER)}) as local_hub,
        local_hub.as_default_hub(workdir / "hf-home"),
    ):
        client = hub.api(LOCAL_TOKEN)
        for entry in entries:
            report(f"{entry.name}: tiny {entry.type} checkpoint, hosted on the local Hub")
            base = host_tiny_base(client, entry.type, workdir / "bases" / f"{entry.type}-{len(runs)}")
            request = PublishRequest(
                conversion=ConversionRequest(
                    base=base, max_length=entry.max_length, output=workdir / "unused", token=LOCAL_TOKEN
                ),
                repo_id=f"{LOCAL_USER}/lsg-{entry.type}-{entry.max_length}",
                smoke_sentences=fill_mask_questions(entry.type),
            )
            try:
                runs.append(LocalRun(entry, publish(request, lambda step, name=entry.name: report(f"{name}: {step}"))))
            except HubgenError as error:
                runs.append(LocalRun(entry, None, str(error)))
    return runs
