"""ruff as a user's project runs it on a rendered file: no configuration of ours, the line length of this project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUFF_OPTIONS = ("--isolated", "--no-cache", "--line-length", "119")


def ruff_problems(path: Path) -> str:
    """What `ruff check` (default rules, plus line length) and `ruff format --check` say about a file; empty if clean."""
    problems = ""
    for command in (["check", "--extend-select", "E501"], ["format", "--check", "--diff"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, *RUFF_OPTIONS, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode:
            problems += result.stdout + result.stderr
    return problems
