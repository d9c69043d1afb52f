"""Run the smoke tests of a converted folder in a fresh interpreter and summarise them.

The checks themselves live in `smoke_runner.py`, which must not import hubgen; this side only starts it, reads its
JSON and decides what the user sees.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from hubgen.errors import InvalidInputError, SmokeTestError
from hubgen.fresh_process import run_script
from hubgen.native.repository import NativeRepository
from hubgen.repository import ConvertedRepository, find_local_base
from hubgen.smoke_report import SmokeReport

RUNNER = Path(__file__).with_name("smoke_runner.py")


def run_smoke(
    repository: ConvertedRepository | NativeRepository,
    base: str | Path | None = None,
    language: str | None = None,
    sentences: list[str] | None = None,
    timeout: float = 3600,
) -> SmokeReport:
    """Smoke-test a repository in a fresh interpreter; fill-mask `sentences` hold `{mask}` where the mask token goes.

    `base` (a folder, or a Hub id in the cache) is compared with; by default, the base convert recorded."""
    folder = repository.folder
    base_folder = find_local_base(base) if base else repository.local_base()
    if sentences and any("{mask}" not in sentence for sentence in sentences):
        raise InvalidInputError(
            "every fill-mask sentence needs a {mask} placeholder", 'e.g. "Paris is the {mask} of France."'
        )
    request = {
        "folder": str(folder.resolve()),
        "base": str(base_folder) if base_folder else None,
        "language": language,
        "sentences": sentences,
        # What the runner cannot tell from the config alone: hubgen's records, and the type's position offset.
        "new_weights": list(repository.provenance.new_weights),
        "max_length": repository.max_length,
    }
    if isinstance(repository, NativeRepository):  # loaded without remote code; lengths from convert's records
        request["native"] = repository.smoke_target()
    try:
        run = run_script(RUNNER, request, timeout)
    except subprocess.TimeoutExpired:
        raise SmokeTestError(f"smoke tests of {folder} took longer than {timeout:.0f}s") from None
    if run.returncode != 0 or run.result is None:
        detail = run.failure("no output")
        raise SmokeTestError(f"the smoke-test process failed: {detail}", "run `hubgen smoke` on the folder to see why")
    return SmokeReport.from_dict(run.result)
