"""`hubgen matrix --local`: what the CI jobs of the rebuild matrix do, on this machine and without the Hub.

Each entry's type gets a tiny checkpoint made on the spot (hubgen.offline.tiny) and hosted on a Hub server on
127.0.0.1, from which the real pipeline publishes it by its repository id, with an empty HF_HOME, as a CI runner or a
new user does: the base is fetched, converted, compared and pushed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi

from hubgen import hub
from hubgen.convert import ConversionRequest
from hubgen.errors import HubgenError
from hubgen.matrix import MatrixEntry
from hubgen.offline.local_hub import LocalHub, LocalUser
from hubgen.offline.tiny import make_tiny_checkpoint, training_sentences
from hubgen.publish import PublishRequest, PublishResult, publish

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
                    base=base,
                    max_length=entry.max_length,
                    output=workdir / "unused",
                    token=LOCAL_TOKEN,
                    attention=entry.attention,
                ),
                repo_id=f"{LOCAL_USER}/{entry.attention}-{entry.type}-{entry.max_length}",
                smoke_sentences=fill_mask_questions(entry.type),
            )
            try:
                runs.append(LocalRun(entry, publish(request, lambda step, name=entry.name: report(f"{name}: {step}"))))
            except HubgenError as error:
                runs.append(LocalRun(entry, None, str(error)))
    return runs
