"""Run the `hubgen` entry point in-process, as a user would from a shell, and capture what it prints."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from hubgen.cli.main import main


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
