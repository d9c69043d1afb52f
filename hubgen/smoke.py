"""Run the smoke tests of a converted folder in a fresh interpreter and summarise them.

The checks themselves live in `smoke_runner.py`, which must not import hubgen; this side only starts it, reads its
JSON and decides what the user sees.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download

from hubgen.checkpoint import check_lsg_folder
from hubgen.convert import read_conversion_metadata
from hubgen.errors import InvalidInputError, SmokeTestError
from hubgen.fresh_process import run_script

RUNNER = Path(__file__).with_name("smoke_runner.py")


@dataclass
class SmokeReport:
    ok: bool
    checks: list[dict[str, Any]]
    fill_mask: list[dict[str, Any]] = field(default_factory=list)
    summary: str | None = None

    @property
    def agreement(self) -> tuple[int, int] | None:
        """(agreeing, compared) top-1 fill-mask predictions between the LSG and the base model."""
        compared = [row for row in self.fill_mask if "agree" in row]
        return (sum(row["agree"] for row in compared), len(compared)) if compared else None

    @staticmethod
    def status(check: dict[str, Any]) -> str:
        """pass, FAIL, or what a check found that is neither (a new untrained head, a skip, an allowed difference)."""
        return check.get("status") or ("pass" if check["ok"] else "FAIL")

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": self.checks, "fill_mask": self.fill_mask, "summary": self.summary}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmokeReport:
        return cls(data["ok"], data["checks"], data.get("fill_mask", []), data.get("summary"))


def local_base(reference: str | Path | None, revision: str | None = None) -> str | None:
    """The base checkpoint as a local folder when it is at hand: a folder, or a snapshot in the Hub cache, found by
    the commit convert fetched (a download pinned to a commit records no branch, so `main` would not find it)."""
    if not reference:
        return None
    if Path(reference).is_dir():
        return str(Path(reference).resolve())
    try:
        return snapshot_download(str(reference), revision=revision, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss just means "no base to compare with"
        return None


def run_smoke(
    folder: Path,
    base: str | Path | None = None,
    language: str | None = None,
    sentences: list[str] | None = None,
    timeout: float = 3600,
) -> SmokeReport:
    """Smoke-test `folder` in a fresh interpreter; fill-mask `sentences` hold `{mask}` where the mask token goes.

    `base` (a folder, or a Hub id in the cache) is compared with; by default, the base convert recorded."""
    check_lsg_folder(folder)
    recorded = read_conversion_metadata(folder)
    base = local_base(base, None) if base else local_base(recorded.get("base_model"), recorded.get("base_revision"))
    if sentences and any("{mask}" not in sentence for sentence in sentences):
        raise InvalidInputError(
            "every fill-mask sentence needs a {mask} placeholder", 'e.g. "Paris is the {mask} of France."'
        )
    request = {"folder": str(folder.resolve()), "base": base, "language": language, "sentences": sentences}
    try:
        run = run_script(RUNNER, request, timeout)
    except subprocess.TimeoutExpired:
        raise SmokeTestError(f"smoke tests of {folder} took longer than {timeout:.0f}s") from None
    if run.returncode != 0 or run.result is None:
        detail = run.failure("no output")
        raise SmokeTestError(f"the smoke-test process failed: {detail}", "run `hubgen smoke` on the folder to see why")
    return SmokeReport.from_dict(run.result)
