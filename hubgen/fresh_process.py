"""Run one of hubgen's scripts in a fresh interpreter and read the one JSON result it prints.

Some answers must not depend on the calling process: smoke tests load a repository where hubgen cannot be imported
and no library is preloaded, and benchmark figures need a process of their own (peak memory only grows). The
script reads a JSON request on stdin and prints its result as one line starting with the marker the request names
(`result_marker`), since libraries may print too; the scripts cannot import hubgen, so the marker travels with the
request rather than being written twice.

The child dies with its parent: an exception in the parent (Ctrl-C and SIGTERM included, see `hubgen.cli.main`)
kills it through `subprocess.run`, and on Linux the kernel kills it when the parent is killed outright (SIGKILL),
so that a killed `hubgen publish` leaves no smoke test running on.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubgen.side_by_side import isolated_command

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

# Offline, quiet, and no tokenizers thread pool forked behind our back.
QUIET_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"}
# What the line holding a script's result starts with.
RESULT_MARKER = "HUBGEN_RESULT "


@dataclass(frozen=True)
class ScriptRun:
    """What the script said: its marked result (None if it printed none), exit status and stderr."""

    result: dict | None
    returncode: int
    stderr: str

    def failure(self, fallback: str) -> str:
        """The last line of stderr, which names the error of a Python traceback, else `fallback`."""
        return (self.stderr.strip().splitlines() or [fallback])[-1]


def run_script(
    script: Path,
    request: Mapping[str, Any],
    timeout: float,
    *,
    environment: Mapping[str, str] | None = None,
    sys_path: Sequence[str] | None = None,
) -> ScriptRun:
    """Run `python script` with `request` as JSON on stdin; raises `subprocess.TimeoutExpired` after `timeout`
    seconds. With `sys_path`, the interpreter is isolated and sees only those folders and the standard library
    (hubgen.side_by_side.isolated_command): a side-by-side install, without hubgen."""
    command = [sys.executable, str(script)] if sys_path is None else isolated_command(sys_path, script)
    process = subprocess.run(
        command,
        input=json.dumps({**request, "result_marker": RESULT_MARKER}),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **QUIET_OFFLINE, **(environment or {})},
        check=False,
        preexec_fn=_die_with_parent(os.getpid()) if _LIBC is not None else None,
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    result = json.loads(lines[-1][len(RESULT_MARKER) :]) if lines else None
    return ScriptRun(result, process.returncode, process.stderr)


def _die_with_parent(parent: int):
    """Run in the child between fork and exec: ask the kernel for SIGKILL when the parent dies, and exit at once if
    it died already. Only a C call and two system calls, nothing that could wait for a lock another thread held."""

    def arrange() -> None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:
            os._exit(1)

    return arrange
