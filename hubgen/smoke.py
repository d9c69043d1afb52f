"""Run the smoke tests of a converted folder in a fresh interpreter and summarise them.

The checks themselves live in `smoke_runner.py`, which must not import hubgen; this side only starts it, reads its
JSON and decides what the user sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download

from hubgen.convert import read_conversion_metadata
from hubgen.errors import InvalidInputError, SmokeTestError

RUNNER = Path(__file__).with_name("smoke_runner.py")
RESULT_MARKER = "HUBGEN_SMOKE_RESULT "  # as printed by smoke_runner.py, which cannot import it from here


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

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": self.checks, "fill_mask": self.fill_mask, "summary": self.summary}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SmokeReport:
        return cls(data["ok"], data["checks"], data.get("fill_mask", []), data.get("summary"))


def local_base(reference: str | None) -> str | None:
    """The base checkpoint as a local folder when it is at hand (a folder, or already in the Hub cache)."""
    if not reference:
        return None
    if Path(reference).is_dir():
        return str(Path(reference).resolve())
    try:
        return snapshot_download(reference, local_files_only=True)
    except Exception:  # noqa: BLE001 - any miss just means "no base to compare with"
        return None


def run_smoke(
    folder: Path, base: str | None = None, language: str | None = None, timeout: float = 3600
) -> SmokeReport:
    if not (folder / "config.json").exists():
        raise InvalidInputError(
            f"{folder} has no config.json", "run `hubgen convert` first, or pass a converted folder"
        )
    base = local_base(base or read_conversion_metadata(folder).get("base_model"))
    request = {"folder": str(folder.resolve()), "base": base, "language": language}
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "TOKENIZERS_PARALLELISM": "false",
    }
    try:
        process = subprocess.run(
            [sys.executable, str(RUNNER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SmokeTestError(f"smoke tests of {folder} took longer than {timeout:.0f}s") from None
    lines = [line for line in process.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if process.returncode != 0 or not lines:
        detail = (process.stderr.strip().splitlines() or ["no output"])[-1]
        raise SmokeTestError(f"the smoke-test process failed: {detail}", "run `hubgen smoke` on the folder to see why")
    return SmokeReport.from_dict(json.loads(lines[-1][len(RESULT_MARKER) :]))
