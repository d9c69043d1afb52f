"""Publishing through a faulty network: a proxy on 127.0.0.1 in front of the loopback Hub drops an upload midway,
fails a commit, loses a commit's answer, and fails one of two concurrent publishes slowly. Each time, nothing is lost
on the Hub and every message hubgen prints is true of what the Hub holds afterwards."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from huggingface_hub import HfApi
from support.cli import run_cli
from support.fault_proxy import Fault, FaultProxy
from support.hub import child_env, run_hubgen, use_hub

from hubgen.offline.local_hub import LocalHub, LocalUser

ALICE = "hf_alice_fault_token_1234567890"
BOB = "hf_bob_fault_token_0987654321"
COMMIT = r"^/api/models/[^/]+/[^/]+/commit/main"


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    users = {ALICE: LocalUser("alice", orgs=("acme",)), BOB: LocalUser("bob", orgs=("acme",))}
    with LocalHub(tmp_path_factory.mktemp("hub"), tokens=users) as server:
        yield server


def api(hub: LocalHub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=ALICE)


def publish_through(proxy, tiny_bert, repo_id, tmp_path, capsys, monkeypatch, *extra):
    use_hub(proxy.endpoint, tmp_path, monkeypatch)
    monkeypatch.setenv("HF_TOKEN", ALICE)
    args = ["publish", tiny_bert, "--max-len", "1024", "--repo-id", repo_id, "--json", *extra]
    return run_cli(args, capsys, monkeypatch)


def error_line(run) -> str:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.stderr
    return lines[0]


def holds_published_files(hub: LocalHub, repo_id: str, revision: str = "main") -> bool:
    names = set(api(hub).list_repo_files(repo_id, revision=revision))
    return {"config.json", "model.safetensors", "modeling_lsg_bert.py", "README.md"} <= names


def test_an_upload_dropped_midway_is_retried_and_the_publish_recovers(hub, tiny_bert, tmp_path, capsys, monkeypatch):
    drop = Fault("PUT", r"^/_local_hub/lfs-upload/", "drop")
    with FaultProxy(hub.endpoint, [drop]) as proxy:
        run = publish_through(proxy, tiny_bert, "alice/dropped-upload", tmp_path, capsys, monkeypatch)
    assert run.code == 0, run.output
    assert drop.done.is_set()
    result = json.loads(run.stdout)
    assert result["changed"] and result["created"] and result["note"] is None
    assert holds_published_files(hub, "alice/dropped-upload")
    uploads = [r for r in hub.requests if r.path.startswith("/_local_hub/lfs-upload/")]
    assert [r.status for r in uploads[-2:]] == [499, 200] and uploads[-1].path == uploads[-2].path  # same URL, again
    assert not list((hub._storage.root / "tmp").iterdir()), "the cut-off upload was left in the Hub's storage"


def test_a_server_error_on_the_first_commit_deletes_the_repository_it_created(
    hub, tiny_bert, tmp_path, capsys, monkeypatch
):
    with FaultProxy(hub.endpoint, [Fault("POST", COMMIT, "status", status=500)]) as proxy:
        run = publish_through(proxy, tiny_bert, "alice/server-error", tmp_path, capsys, monkeypatch)
    assert run.code == 1
    line = error_line(run)
    assert "HTTP 500" in line and "a server error, not a problem with your token or files" in line
    assert "retry in a few minutes" in line and "token has write access" not in line
    assert "nothing was committed, and alice/server-error, which this run had created, was deleted again" in line
    assert not api(hub).repo_exists("alice/server-error")


def test_a_refused_upload_names_the_status_not_the_connection(hub, tiny_bert, tmp_path, capsys, monkeypatch):
    """The client wraps a failed LFS upload in a RuntimeError; the status code underneath is what the user needs."""
    with FaultProxy(hub.endpoint, [Fault("PUT", r"^/_local_hub/lfs-upload/", "status", status=403)]) as proxy:
        run = publish_through(proxy, tiny_bert, "alice/refused-upload", tmp_path, capsys, monkeypatch)
    line = error_line(run)
    assert run.code == 1 and "answered HTTP 403 while uploading to alice/refused-upload" in line, line
    assert "connection" not in line and "was deleted again" in line
    assert not api(hub).repo_exists("alice/refused-upload")


def test_a_lost_commit_answer_on_an_existing_repository_is_reported_as_landed(
    hub, tiny_bert, tmp_path, capsys, monkeypatch
):
    repo = "alice/lost-answer"
    api(hub).create_repo(repo)
    before = [commit.commit_id for commit in api(hub).list_repo_commits(repo)]
    with FaultProxy(hub.endpoint, [Fault("POST", COMMIT, "lose_response")]) as proxy:
        run = publish_through(proxy, tiny_bert, repo, tmp_path, capsys, monkeypatch)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    after = [commit.commit_id for commit in api(hub).list_repo_commits(repo)]
    assert after[1:] == before and result["commit"] == after[0] and result["changed"] and not result["created"]
    assert "the Hub's answer to the commit was lost" in result["note"] and "now holds it at main" in result["note"]
    assert holds_published_files(hub, repo)


def test_concurrent_publishes_end_as_their_messages_say(hub, tiny_bert, tmp_path):
    """B creates the repository, A finds it and commits, then B's commit fails slowly: B must not delete A's work,
    and must say that it left the repository as it is."""
    repo = "acme/shared"
    created = Fault("POST", r"^/api/repos/create", "observe", token=BOB)
    a_looks = Fault("GET", rf"^/api/models/{repo}", "observe", token=ALICE, wait_for=created.done)
    a_commits = Fault("POST", COMMIT, "observe", token=ALICE)
    b_commits = Fault("POST", COMMIT, "status", status=500, token=BOB, wait_for=a_commits.done)
    with FaultProxy(hub.endpoint, [created, a_looks, a_commits, b_commits]) as proxy:
        runs = {}

        def publish(name: str, token: str, *extra: str) -> None:
            args = ["publish", tiny_bert, "--max-len", "1024", "--repo-id", repo, *extra]
            runs[name] = run_hubgen(args, child_env(proxy.endpoint, token, tmp_path / name))

        threads = [
            threading.Thread(target=publish, args=("a", ALICE)),
            threading.Thread(target=publish, args=("b", BOB, "--num-global-tokens", "2")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    a, b = runs["a"], runs["b"]
    assert a.returncode == 0 and f"Published {proxy.endpoint}/{repo}" in a.stdout.replace("\n", ""), a.stderr
    assert b.returncode == 1, b.stdout + b.stderr
    b_line = " ".join(b.stderr.split())
    assert "HTTP 500" in b_line and "nothing of this run was committed" in b_line
    assert f"{repo}, which this run had created, was left as it is: it holds 1 commit(s) by others" in b_line
    commits = api(hub).list_repo_commits(repo)
    assert len(commits) == 2 and commits[0].authors == ["alice"]  # the Hub's initial commit and A's
    config = json.loads(Path(api(hub).hf_hub_download(repo, "config.json")).read_text())
    assert config["num_global_tokens"] == 1  # A's content, whole
