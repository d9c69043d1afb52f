"""Errors that reach the user as one clear line: what is wrong and how to fix it.

Anything hubgen can anticipate (bad input, missing token, unwritable repo) raises `HubgenError`; the CLI prints it
without a traceback and exits non-zero. A traceback therefore always means a bug in hubgen.
"""

from __future__ import annotations


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
