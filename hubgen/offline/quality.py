"""Quality next to speed (`hubgen bench --quality`): do the long models hubgen makes answer as their base does?

For each tiny trained base and each target (LSG, and the native Longformer and BigBird of `--attention`), the base is
converted to `LENGTH` tokens, then a fresh process (`quality_worker.py`) asks both the base's own fill-mask questions
(corpus sentences with their last word masked: short inputs, which every target attends fully) and runs the long
model on an input near its maximum length. The speed tables say what each attention costs; this one says that the
conversion kept the base's knowledge and that long inputs give finite outputs.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.errors import HubgenError
from hubgen.fresh_process import run_script
from hubgen.offline.local_matrix import fill_mask_questions
from hubgen.offline.tiny import make_tiny_checkpoint

WORKER = Path(__file__).with_name("quality_worker.py")
BASES = ("bert", "roberta")
ATTENTIONS = ("lsg", "longformer", "bigbird")
LENGTH = 4096
_TIMEOUT = 900


@dataclass(frozen=True)
class QualityRow:
    base: str
    attention: str
    agreeing: int
    questions: int
    long_tokens: int
    long_finite: bool

    @property
    def ok(self) -> bool:
        return self.agreeing == self.questions and self.long_finite


def run_quality(
    workdir: Path | None = None, report: Callable[[str], None] = lambda step: None, bases: tuple[str, ...] = BASES
) -> list[QualityRow]:
    """One row per (tiny base, target), converted and measured in `workdir` (a temporary folder by default)."""
    with tempfile.TemporaryDirectory(prefix="hubgen-quality-") as scratch:
        root = Path(workdir or scratch)
        return [row for base in bases for row in _rows(base, root, report)]


def _rows(base_type: str, root: Path, report: Callable[[str], None]) -> list[QualityRow]:
    report(f"quality: tiny {base_type}")
    base = make_tiny_checkpoint(base_type, root / f"tiny-{base_type}")
    questions = list(fill_mask_questions(base_type))
    rows = []
    for attention in ATTENTIONS:
        report(f"quality: {base_type} -> {attention} {LENGTH}")
        folder = root / f"{attention}-{base_type}-{LENGTH}"
        convert(ConversionRequest(str(base), LENGTH, folder, attention=attention))
        job = {
            "folder": str(folder),
            "base": str(base),
            "remote": attention == "lsg",
            "questions": questions,
            "long_length": LENGTH - 4,
        }
        try:
            run = run_script(WORKER, job, _TIMEOUT)
        except subprocess.TimeoutExpired:
            raise HubgenError(f"the quality measurement of {folder.name} took longer than {_TIMEOUT}s") from None
        if run.result is None:
            raise HubgenError(f"the quality measurement of {folder.name} failed: {run.failure('no output')}")
        long_input = run.result["long_input"]
        rows.append(
            QualityRow(
                base_type,
                attention,
                run.result["agreeing"],
                len(questions),
                long_input["tokens"],
                long_input["finite"],
            )
        )
    return rows


def quality_table(rows: list[QualityRow]) -> str:
    """The rows as a markdown table."""
    lines = [
        f"| tiny base | attention | fill-mask top-1 = base's (short texts) | {LENGTH}-token input |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        outputs = "finite" if row.long_finite else "NOT finite"
        lines.append(
            f"| {row.base} | {row.attention} | {row.agreeing}/{row.questions} | {row.long_tokens} tokens, {outputs} |"
        )
    return "\n".join(lines) + "\n"
