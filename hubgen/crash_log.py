"""Where the traceback of an unexpected error goes: a log file in the user's cache folder.

The user sees one line naming the file; the file holds what a maintainer needs (version, platform, command line,
traceback), with tokens and the endpoint's credentials taken out, so that it can be attached to a report as it is.
It is never written into an output folder, which may be published.
"""

from __future__ import annotations

import os
import platform
import shlex
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from huggingface_hub import get_token

from hubgen import __version__
from hubgen.redaction import redact


def log_folder() -> Path:
    """`$XDG_CACHE_HOME/hubgen/logs`, by default `~/.cache/hubgen/logs`."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hubgen" / "logs"


def write_crash_log(error: BaseException, argv: Sequence[str]) -> Path | None:
    """Write the report of `error`; its path, or None if no folder (cache, then temp) could take it."""
    report = "\n".join(
        [
            f"hubgen {__version__}, Python {platform.python_version()}, {platform.platform()}",
            f"command: {shlex.join(argv)}",
            "",
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        ]
    )
    report = _without_secrets(report, argv)
    name = f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    for folder in (log_folder(), Path(tempfile.gettempdir()) / "hubgen-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(report, encoding="utf-8")
        except OSError:
            continue
        return folder / name
    return None


def _without_secrets(text: str, argv: Sequence[str]) -> str:
    tokens = [get_token(), os.environ.get("HF_TOKEN")]
    for index, argument in enumerate(argv):
        if argument == "--token" and index + 1 < len(argv):
            tokens.append(argv[index + 1])
        elif argument.startswith("--token="):
            tokens.append(argument.partition("=")[2])
    for token in filter(None, tokens):
        text = text.replace(token, "***")
    return redact(text)
