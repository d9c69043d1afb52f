"""Run the `hubgen` entry point in-process, as a user would from a shell, and capture what it prints."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from hubgen.cli.main import main

# A step of a long command as its log shows it when output is not a terminal (hubgen.cli._common.steps).
STEP_LINE = re.compile(r"^(?P<step>.+) \((?P<failed>failed after )?(?P<seconds>\d+\.\d) s\)$")


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(args: list[str], capsys, monkeypatch) -> CliRun:
    monkeypatch.setattr(sys, "argv", ["hubgen", *map(str, args)])
    monkeypatch.setenv("COLUMNS", "200")  # one error per line, whatever the terminal
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return CliRun(code, captured.out, captured.err)


def error_lines(stderr: str) -> list[str]:
    """What a command said besides its step log (printed when output is not a terminal, as here)."""
    return [line for line in stderr.splitlines() if line.strip() and not STEP_LINE.match(line)]
