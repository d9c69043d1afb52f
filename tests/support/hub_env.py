"""Point hubgen and huggingface_hub at a loopback Hub, in this process or in a child, with no token on the machine
leaking in; and run `hubgen` in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import huggingface_hub


def use_hub(endpoint: str, tmp_path: Path, monkeypatch) -> None:
    """This process: HF_ENDPOINT set, telemetry off, and no token unless a test sets HF_TOKEN."""
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-tokens"))


def child_env(endpoint: str, token: str, home: Path) -> dict[str, str]:
    """A child process's environment: the same Hub, its own HF_HOME and cache, and `token`."""
    return {
        **os.environ,
        "HF_ENDPOINT": endpoint,
        "HF_TOKEN": token,
        "HF_HOME": str(home / "hf"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "COLUMNS": "200",
    }


def run_hubgen(args: Sequence[str], env: Mapping[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    """`hubgen ARGS` in a child process, as from a shell."""
    command = [sys.executable, "-m", "hubgen", *map(str, args)]
    return subprocess.run(command, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False)
