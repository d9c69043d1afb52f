"""The rebuild matrix: every (model type, base checkpoint, length) the project republishes.

The default list names one real public checkpoint per type; a JSON file can replace it. CI reads the list from
`hubgen matrix`, so adding a checkpoint is adding a row, not editing a workflow.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from hubgen.errors import InvalidInputError
from hubgen.native.architectures import ATTENTIONS
from hubgen.registry import MODEL_TYPES


@dataclass(frozen=True)
class MatrixEntry:
    type: str  # the base's type, as `hubgen list` names it
    base: str
    max_length: int = 4096
    attention: str = "lsg"  # `--attention`: lsg, or a native target (longformer, bigbird)

    @property
    def name(self) -> str:
        """A short job name, as shown in the CI matrix."""
        target = "" if self.attention == "lsg" else f" ({self.attention})"
        return f"{self.type}: {self.base} @ {self.max_length}{target}"


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
    # Native targets (no remote code): one Longformer, one BigBird, from the bases their papers started from.
    MatrixEntry("roberta", "FacebookAI/roberta-base", attention="longformer"),
    MatrixEntry("bert", "google-bert/bert-base-uncased", attention="bigbird"),
)


def load_matrix(path: Path | None = None) -> list[MatrixEntry]:
    """The default matrix, or the entries of a JSON file: a list of {"type", "base", "max_length"[, "attention"]}."""
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
        if entry.attention not in ATTENTIONS:
            raise InvalidInputError(
                f"matrix entry {entry.name!r} has an unknown attention", f"use one of {', '.join(ATTENTIONS)}"
            )
    return entries


def github_matrix(entries: list[MatrixEntry]) -> dict:
    """The `strategy.matrix` object of a GitHub Actions job (read with `fromJSON`)."""
    return {"include": [{**asdict(entry), "name": entry.name} for entry in entries]}
