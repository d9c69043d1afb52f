"""Errors that reach the user as one clear line: what is wrong and how to fix it.

Anything hubgen can anticipate (bad input, missing token, unwritable repo) raises `HubgenError`; the CLI prints it
without a traceback and exits non-zero. A traceback therefore always means a bug in hubgen.
"""

from __future__ import annotations

import signal
from pathlib import Path


class HubgenError(Exception):
    """A problem the user can fix; `hint` says how."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InvalidInputError(HubgenError):
    """The command line or the base checkpoint asks for something impossible; nothing was written."""

    exit_code = 2


class HubAccessError(HubgenError):
    """The Hub refused a request (authentication, permissions, unknown repository)."""


class SmokeTestError(HubgenError):
    """The converted model failed a smoke test; nothing was pushed."""


class OutputError(HubgenError):
    """The output could not be written where asked (not empty, not writable, disk full, another writer won)."""


class InternalError(HubgenError):
    """A bug in hubgen: one line saying so and where the full traceback was written, instead of the traceback."""

    exit_code = 70  # EX_SOFTWARE

    def __init__(self, error: BaseException, log: Path | None):
        where = f"the full traceback is in {log}" if log else "no log file could be written"
        super().__init__(
            f"hubgen failed unexpectedly ({type(error).__name__}: {_first_line(error)}); this is a bug in hubgen",
            f"{where}: please report it to the hubgen maintainers with that file",
        )


class Interrupted(BaseException):
    """SIGINT or SIGTERM, raised where the process was so that cleanup runs; not an `Exception`, so that no
    `except Exception` on the way swallows it."""

    def __init__(self, number: int):
        super().__init__(number)
        self.signal = number
        self.error = HubgenError(
            f"interrupted by {signal.Signals(number).name}; no partial output was left behind",
            "run the command again to finish the job",
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no message"
