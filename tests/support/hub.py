"""The loopback Hub of the publish tests (a pytest plugin, see conftest.py): a server with two users, the shell a
user would have (HF_ENDPOINT set, no token, an empty HF_HOME), and `hubgen publish` run as from that shell."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub import HfApi, constants

import hubgen.hub
from hubgen.offline.local_hub import LocalHub, LocalUser
from support.cli import CliRun, run_cli

ALICE = "hf_alice_secret_token_1234567890"
BOB = "hf_bob_secret_token_0987654321"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    users = {ALICE: LocalUser("alice", orgs=("acme",)), BOB: LocalUser("bob")}
    with LocalHub(tmp_path_factory.mktemp("hub"), tokens=users) as server:
        yield server


@pytest.fixture
def hub_env(hub, tmp_path, monkeypatch):
    """Point hubgen and the client at the local Hub, as a user's shell would (see `use_hub`)."""
    use_hub(hub.endpoint, tmp_path, monkeypatch)
    return hub


def use_hub(endpoint: str, tmp_path: Path, monkeypatch) -> None:
    """This process: HF_ENDPOINT set, telemetry off, no token unless a test gives one, an empty HF_HOME.

    The client reads its settings once, at import; what a user's shell would have set before starting hubgen is set
    in its constants too (the endpoint, which `ModelCard.validate` uses, and the cache that downloads go to)."""
    hf_home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
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


def publish(args, capsys, monkeypatch, caplog, json_output: bool = True) -> CliRun:
    """`hubgen publish ARGS [--json]`, checking that no token was printed or logged."""
    with caplog.at_level(logging.DEBUG):
        run = run_cli(["publish", *args, *(["--json"] if json_output else [])], capsys, monkeypatch)
    for secret in (ALICE, BOB):
        assert secret not in run.output and secret not in caplog.text, "a token was printed"
    return run


def host(folder: Path, repo_id: str, token: str = ALICE) -> None:
    """Upload a base checkpoint folder to the Hub of `hub_env`, as its author would have published it."""
    client = hubgen.hub.api(token)  # the client as hubgen sets it up for this Hub (no Xet storage there)
    client.create_repo(repo_id, exist_ok=True)
    client.upload_folder(folder_path=folder, repo_id=repo_id)


def commits(hub, repo_id, revision="main"):
    return HfApi(endpoint=hub.endpoint, token=ALICE).list_repo_commits(repo_id, revision=revision)
