"""LocalHub exercised only through the real `huggingface_hub` client, as hubgen's publish path uses it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from safetensors.torch import save_file

from hubgen.offline.local_hub import LocalHub, LocalUser

ALICE_TOKEN = "hf_alice_0123456789abcdefSECRET"
BOB_TOKEN = "hf_bob_0123456789abcdefSECRET"
SECRETS = (ALICE_TOKEN, BOB_TOKEN)


@pytest.fixture
def client_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the client off the real Hub, off Xet (not served) and away from any token on this machine.

    The client reads these variables at import time, possibly before this module, so the module-level constants it
    consults at call time are patched too.
    """
    home = tmp_path / "hf_home"
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_DISABLE_XET", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))


@pytest.fixture
def hub(tmp_path: Path, client_config: None):
    users = {ALICE_TOKEN: LocalUser("alice", orgs=("acme",)), BOB_TOKEN: LocalUser("bob")}
    with LocalHub(tmp_path / "hub", tokens=users) as running:
        yield running


@pytest.fixture
def alice(hub: LocalHub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=ALICE_TOKEN)


@pytest.fixture
def bob(hub: LocalHub) -> HfApi:
    return HfApi(endpoint=hub.endpoint, token=BOB_TOKEN)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """What hubgen publishes: a card with YAML front matter, a config, remote code and safetensors weights."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags:\n- lsg\n---\n\n# A long-context model\n")
    (folder / "config.json").write_text(json.dumps({"model_type": "lsg_bert", "max_position_embeddings": 4096}))
    (folder / "modeling_lsg_bert.py").write_text("class LSGBertModel:\n    pass\n")
    save_file({"weight": torch.arange(4096, dtype=torch.float32).reshape(64, 64)}, str(folder / "model.safetensors"))
    return folder


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".cache" not in p.relative_to(root).parts
    }


def _commit_posts(hub: LocalHub) -> list[str]:
    return [r.path for r in hub.requests if r.method == "POST" and "/commit/" in r.path]


def test_whoami_names_the_token_owner_and_orgs(hub: LocalHub, alice: HfApi) -> None:
    me = alice.whoami()
    assert me["name"] == "alice"
    assert [org["name"] for org in me["orgs"]] == ["acme"]
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.endpoint, token="hf_not_a_known_token").whoami()
    assert err.value.response.status_code == 401


def test_create_repo_conflicts_unless_exist_ok(alice: HfApi) -> None:
    url = alice.create_repo("alice/lsg-model")
    assert url.repo_id == "alice/lsg-model"
    with pytest.raises(HfHubHTTPError) as err:
        alice.create_repo("alice/lsg-model")
    assert err.value.response.status_code == 409
    assert alice.create_repo("alice/lsg-model", exist_ok=True) == url
    assert alice.repo_exists("alice/lsg-model")
    assert not alice.repo_exists("alice/missing")
    assert alice.create_repo("acme/org-model").repo_id == "acme/org-model"  # alice is a member of acme


def test_upload_folder_round_trips_through_snapshot_download(
    hub: LocalHub, alice: HfApi, model_dir: Path, tmp_path: Path
) -> None:
    alice.create_repo("alice/lsg-model")
    info = alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir, commit_message="Add model")

    assert alice.model_info("alice/lsg-model").sha == info.oid
    tree = {f.path: f for f in alice.list_repo_tree("alice/lsg-model", recursive=True)}
    assert tree["model.safetensors"].lfs is not None  # safetensors go through LFS (.gitattributes), text does not
    assert tree["model.safetensors"].lfs.size == (model_dir / "model.safetensors").stat().st_size
    assert all(tree[name].lfs is None for name in ("README.md", "config.json", "modeling_lsg_bert.py"))
    assert [r.method for r in hub.requests if r.path.startswith("/_local_hub/lfs-upload/")] == ["PUT"]

    local = Path(snapshot_download("alice/lsg-model", endpoint=hub.endpoint, local_dir=tmp_path / "download"))
    downloaded = _files(local)
    assert set(downloaded) == set(_files(model_dir)) | {".gitattributes"}
    for name, content in _files(model_dir).items():
        assert downloaded[name] == content, name


def test_lfs_is_chosen_by_gitattributes_size_or_binary_content(alice: HfApi) -> None:
    alice.create_repo("alice/lsg-model")
    files = {
        "notes.txt": b"plain text\n",  # regular
        "tokenizer.model": b"text, but *.model is tracked by the default .gitattributes\n",
        "weights.dat": bytes(range(256)) * 4,  # unknown extension, binary sample
        "huge.txt": b"a" * (10 * 1024 * 1024 + 1),  # text over the 10 MiB regular-file limit
    }
    for name, content in files.items():
        alice.upload_file(path_or_fileobj=content, path_in_repo=name, repo_id="alice/lsg-model")
    lfs = {f.path: f.lfs is not None for f in alice.list_repo_tree("alice/lsg-model")}
    assert lfs == {
        ".gitattributes": False,
        "notes.txt": False,
        "tokenizer.model": True,
        "weights.dat": True,
        "huge.txt": True,
    }


def test_create_pr_lands_on_a_pr_ref_and_leaves_main_alone(
    hub: LocalHub, alice: HfApi, model_dir: Path, tmp_path: Path
) -> None:
    alice.create_repo("alice/lsg-model")
    main = alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    original_config = (model_dir / "config.json").read_bytes()
    (model_dir / "config.json").write_text(json.dumps({"model_type": "lsg_bert", "max_position_embeddings": 16384}))

    pr = alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir, create_pr=True)

    assert (pr.pr_revision, pr.pr_num) == ("refs/pr/1", 1)
    assert alice.model_info("alice/lsg-model").sha == main.oid
    refs = alice.list_repo_refs("alice/lsg-model", include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", pr.oid)]
    assert [c.commit_id for c in alice.list_repo_commits("alice/lsg-model", revision="refs/pr/1")][:2] == [
        pr.oid,
        main.oid,
    ]
    on_pr = hf_hub_download("alice/lsg-model", "config.json", revision="refs/pr/1", endpoint=hub.endpoint)
    on_main = hf_hub_download("alice/lsg-model", "config.json", endpoint=hub.endpoint)
    assert Path(on_pr).read_bytes() == (model_dir / "config.json").read_bytes()
    assert Path(on_main).read_bytes() == original_config
    pr_snapshot = snapshot_download(
        "alice/lsg-model", revision="refs/pr/1", endpoint=hub.endpoint, local_dir=tmp_path / "pr"
    )
    assert _files(Path(pr_snapshot))["model.safetensors"] == (model_dir / "model.safetensors").read_bytes()


def test_identical_reupload_makes_no_commit(hub: LocalHub, alice: HfApi, model_dir: Path) -> None:
    alice.create_repo("alice/lsg-model")
    first = alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    commits_before = alice.list_repo_commits("alice/lsg-model")

    second = alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)

    assert second.oid == first.oid
    assert alice.list_repo_commits("alice/lsg-model") == commits_before
    assert len(_commit_posts(hub)) == 1  # the client skipped the commit call: preupload reported every file unchanged
    assert len([r for r in hub.requests if r.method == "PUT"]) == 1  # LFS content was not sent twice either


def test_writing_outside_own_namespaces_is_forbidden(alice: HfApi, bob: HfApi, model_dir: Path) -> None:
    alice.create_repo("alice/lsg-model")
    head = alice.model_info("alice/lsg-model").sha
    attempts = [
        lambda: bob.create_repo("alice/bobs-model"),
        lambda: bob.create_repo("acme/bobs-model"),
        lambda: bob.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir),
    ]
    for attempt in attempts:
        with pytest.raises(HfHubHTTPError) as err:
            attempt()
        assert err.value.response.status_code == 403
    assert alice.model_info("alice/lsg-model").sha == head


def test_without_token_reads_work_and_writes_fail_as_on_the_hub(hub: LocalHub, alice: HfApi, model_dir: Path) -> None:
    alice.create_repo("alice/lsg-model")
    alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    anonymous = HfApi(endpoint=hub.endpoint, token=False)

    assert "config.json" in anonymous.list_repo_files("alice/lsg-model")
    path = hf_hub_download("alice/lsg-model", "config.json", endpoint=hub.endpoint, token=False)
    assert Path(path).read_bytes() == (model_dir / "config.json").read_bytes()
    with pytest.raises(HfHubHTTPError) as err:
        anonymous.create_repo("alice/other")
    assert err.value.response.status_code == 401 and not isinstance(err.value, RepositoryNotFoundError)
    with pytest.raises(RepositoryNotFoundError) as err:  # what the client reports for a 401 on a repo URL
        anonymous.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    assert err.value.response.status_code == 401


def test_private_repo_is_invisible_to_others(hub: LocalHub, alice: HfApi, bob: HfApi, model_dir: Path) -> None:
    alice.create_repo("alice/secret-model", private=True)
    alice.upload_folder(repo_id="alice/secret-model", folder_path=model_dir)
    assert alice.model_info("alice/secret-model").private

    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    for api in (bob, anonymous):
        assert not api.repo_exists("alice/secret-model")
        with pytest.raises(RepositoryNotFoundError):
            api.list_repo_files("alice/secret-model")
    for token in (BOB_TOKEN, False):
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download("alice/secret-model", "config.json", endpoint=hub.endpoint, token=token)


def test_tokens_never_reach_logs_or_output(
    hub: LocalHub,
    alice: HfApi,
    model_dir: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(constants, "HF_DEBUG", True)  # the client logs every request as a curl command
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")  # the client's own logger defaults to WARNING
    alice.create_repo("alice/lsg-model")
    alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    alice.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir, create_pr=True)
    snapshot_download("alice/lsg-model", endpoint=hub.endpoint, token=ALICE_TOKEN, local_dir=tmp_path / "dl")
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(endpoint=hub.endpoint, token=BOB_TOKEN).create_repo("alice/not-yours")
    error_text = str(err.value) + err.value.response.text + str(dict(err.value.response.headers))

    captured = capfd.readouterr()
    log_text = "\n".join(str(record) for record in hub.requests)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "hub").rglob("*") if p.is_file())
    assert "/api/models/alice/lsg-model/commit/main" in log_text and "curl" in caplog.text  # something was captured
    for secret in SECRETS:
        for text in (log_text, caplog.text, captured.out, captured.err, error_text):
            assert secret not in text
        assert secret.encode() not in stored


def test_repositories_survive_a_restart_on_the_same_storage(
    client_config: None, tmp_path: Path, model_dir: Path
) -> None:
    users = {ALICE_TOKEN: LocalUser("alice")}
    with LocalHub(tmp_path / "hub", tokens=users) as first:
        api = HfApi(endpoint=first.endpoint, token=ALICE_TOKEN)
        api.create_repo("alice/lsg-model", private=True)
        commit = api.upload_folder(repo_id="alice/lsg-model", folder_path=model_dir)
    with LocalHub(tmp_path / "hub", tokens=users) as second:
        api = HfApi(endpoint=second.endpoint, token=ALICE_TOKEN)
        info = api.model_info("alice/lsg-model")
        assert (info.sha, info.private) == (commit.oid, True)
        weights = hf_hub_download("alice/lsg-model", "model.safetensors", endpoint=second.endpoint, token=ALICE_TOKEN)
        assert Path(weights).read_bytes() == (model_dir / "model.safetensors").read_bytes()
