"""`hubgen publish` against a Hub-API server on 127.0.0.1, through the real huggingface_hub client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import HfApi, snapshot_download
from support.compat import run_isolated
from support.hub import ALICE, BOB, commits, publish

import hubgen.cli.publish
import hubgen.render

EXPECTED_FILES = {"config.json", "model.safetensors", "modeling_lsg_bert.py", "README.md"}


def test_publish_download_and_load_in_a_fresh_process(hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    run = publish([tiny_bert, "--max-len", "1024"], capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    assert result["repo_id"] == "alice/lsg-tiny-bert-1024" and result["changed"] and result["created"]
    agreement = [row["agree"] for row in result["smoke"]["fill_mask"]]
    assert agreement and all(agreement), result["smoke"]["fill_mask"]

    folder = snapshot_download(result["repo_id"], endpoint=hub_env.endpoint, cache_dir=tmp_path / "cache")
    names = {path.name for path in Path(folder).iterdir()}
    assert names >= EXPECTED_FILES and "tokenizer_config.json" in names
    card = (Path(folder) / "README.md").read_text()
    assert ALICE not in card and "hubgen publish" in card and "long context" in card
    load = f"""
import transformers
fill = transformers.pipeline("fill-mask", model={folder!r}, trust_remote_code=True)
print(type(fill.model).__name__, fill("the cat sat on the " + fill.tokenizer.mask_token + " .", top_k=1)[0]["token_str"])
"""
    output = run_isolated(load, cwd=tmp_path, check=True).stdout
    assert "LSGBertForMaskedLM" in output

    again = publish([tiny_bert, "--max-len", "1024"], capsys, monkeypatch, caplog)
    assert again.code == 0 and json.loads(again.stdout)["changed"] is False
    assert len(commits(hub_env, result["repo_id"])) == 2  # the Hub's initial commit and ours


@pytest.mark.compat
def test_a_seq2seq_repository_round_trips_and_generates_on_the_oldest_and_newest_transformers(
    hub_env, tiny_checkpoint, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", BOB)
    base = tiny_checkpoint("bart")
    run = publish([str(base), "--max-len", "2048"], capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    assert result["repo_id"] == "bob/lsg-tiny-bart-2048" and result["smoke"]["summary"]

    folder = snapshot_download(result["repo_id"], endpoint=hub_env.endpoint, cache_dir=tmp_path / "cache")
    names = {path.name for path in Path(folder).iterdir()}
    assert names >= {"config.json", "generation_config.json", "model.safetensors", "modeling_lsg_bart.py", "README.md"}
    assert "summarization" in (Path(folder) / "README.md").read_text()
    generate = f"""
import torch, transformers
tokenizer = transformers.AutoTokenizer.from_pretrained({folder!r}, trust_remote_code=True)
model = transformers.AutoModelForSeq2SeqLM.from_pretrained({folder!r}, trust_remote_code=True).eval()
inputs = tokenizer(" ".join(["the cat sleeps on the warm mat ."] * 200), return_tensors="pt")
with torch.no_grad():
    tokens = model.generate(**inputs, max_new_tokens=8, num_beams=2)
print("GENERATED", type(model).__name__, inputs["input_ids"].shape[1], tokens[0].tolist())
"""
    outputs = {
        version: run_isolated(generate, transformers_version=version, cwd=tmp_path, check=True).stdout
        for version in ("4.40.2", None)
    }
    lines = {version: output.split("GENERATED")[1].split() for version, output in outputs.items()}
    assert lines["4.40.2"][0] == "LSGBartForConditionalGeneration" and int(lines["4.40.2"][1]) > 1024
    assert lines["4.40.2"] == lines[None], outputs  # the same tokens on transformers 4.40 and on the newest


def test_create_pr_lands_on_a_pr_ref(hub_env, tiny_bert, capsys, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    repo = "acme/lsg-pr-test"
    assert publish([tiny_bert, "--max-len", "1024", "--repo-id", repo], capsys, monkeypatch, caplog).code == 0
    main_before = commits(hub_env, repo)
    run = publish(
        [tiny_bert, "--max-len", "1024", "--repo-id", repo, "--num-global-tokens", "2", "--create-pr"],
        capsys,
        monkeypatch,
        caplog,
    )
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    assert result["pr_url"] and "discussions/1" in result["pr_url"]
    assert commits(hub_env, repo) == main_before
    refs = HfApi(endpoint=hub_env.endpoint).list_repo_refs(repo, include_pull_requests=True)
    assert [ref.ref for ref in refs.pull_requests] == ["refs/pr/1"]
    config = HfApi(endpoint=hub_env.endpoint).hf_hub_download(repo, "config.json", revision="refs/pr/1")
    assert json.loads(Path(config).read_text())["num_global_tokens"] == 2


def test_revision_pushes_to_a_new_branch(hub_env, tiny_bert, capsys, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    repo = "alice/lsg-branch-test"
    assert publish([tiny_bert, "--max-len", "1024", "--repo-id", repo], capsys, monkeypatch, caplog).code == 0
    run = publish(
        [tiny_bert, "--max-len", "2048", "--repo-id", repo, "--revision", "long"], capsys, monkeypatch, caplog
    )
    assert run.code == 0, run.output
    api = HfApi(endpoint=hub_env.endpoint)
    long_config = json.loads(Path(api.hf_hub_download(repo, "config.json", revision="long")).read_text())
    main_config = json.loads(Path(api.hf_hub_download(repo, "config.json")).read_text())
    assert (long_config["max_position_embeddings"], main_config["max_position_embeddings"]) == (2048, 1024)


# A modeling file that only works where hubgen is loaded: fine while converting, broken for users. The smoke test,
# run in a process that cannot import hubgen, is there to catch exactly that.
DEPENDS_ON_HUBGEN = '\nimport sys\nif "hubgen" not in sys.modules:\n    raise ImportError("needs hubgen")\n'


def test_a_failed_smoke_test_pushes_nothing(hub_env, tiny_bert, capsys, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    render = hubgen.render.render_modeling_file
    monkeypatch.setattr(
        hubgen.render, "render_modeling_file", lambda model_type: render(model_type) + DEPENDS_ON_HUBGEN
    )
    run = publish([tiny_bert, "--max-len", "1024", "--repo-id", "alice/broken"], capsys, monkeypatch, caplog)
    assert run.code != 0
    assert "smoke tests failed, nothing was pushed" in run.stderr
    assert not HfApi(endpoint=hub_env.endpoint, token=ALICE).repo_exists("alice/broken")


@pytest.mark.parametrize(
    "args,token,message,fix",
    [
        ([], None, "no Hugging Face token found", "hf auth login"),
        (["--repo-id", "not a valid id"], ALICE, "is not a valid repository id", "org/name"),
        (["--repo-id", "bob/lsg-x"], ALICE, "the token of alice cannot write to bob/", "alice/, acme/"),
        (["--repo-id", "alice/x"], "hf_wrong", "rejected the token", "HF_TOKEN"),
        (["--sparsity-factor", "3"], ALICE, "--sparsity-factor 3 does not divide", "divisor"),
    ],
)
def test_bad_publish_input_fails_before_any_work(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog, args, token, message, fix
):
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    before = len(hub_env.requests)
    run = publish([tiny_bert, "--max-len", "1024", "--out", tmp_path / "out", *args], capsys, monkeypatch, caplog)
    assert run.code != 0
    assert message in run.stderr and fix in run.stderr, run.output
    assert not (tmp_path / "out").exists()
    assert not [
        r for r in hub_env.requests[before:] if r.method in ("POST", "PUT", "DELETE") and "whoami" not in r.path
    ]


def test_dry_run_lists_the_files_and_pushes_nothing(hub_env, tiny_bert, capsys, monkeypatch, caplog):
    run = publish([tiny_bert, "--max-len", "1024", "--org", "acme", "--dry-run"], capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    assert result["dry_run"] and result["repo_id"] == "acme/lsg-tiny-bert-1024"
    assert {entry["path"] for entry in result["files"]} >= EXPECTED_FILES
    assert not HfApi(endpoint=hub_env.endpoint, token=ALICE).repo_exists("acme/lsg-tiny-bert-1024")


def no_hub_writes(hub, since: int) -> bool:
    return not [r for r in hub.requests[since:] if r.method in ("POST", "PUT", "DELETE") and "whoami" not in r.path]


@pytest.mark.parametrize("where", ["missing folder", "a folder"])
def test_an_unwritable_summary_is_refused_before_any_work(
    where, hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    summary = tmp_path / "no-such-folder" / "summary.md" if where == "missing folder" else tmp_path
    before = len(hub_env.requests)
    run = publish([tiny_bert, "--max-len", "1024", "--summary", summary], capsys, monkeypatch, caplog)
    assert run.code == 2 and f"cannot write the summary to {summary}" in run.stderr, run.output
    assert no_hub_writes(hub_env, before) and not (tmp_path / "no-such-folder").exists()


def test_a_summary_failing_after_the_push_says_the_push_succeeded(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    summary = tmp_path / "ci" / "summary.md"
    summary.parent.mkdir()
    real_publish = hubgen.cli.publish.publish

    def publish_then_lose_the_folder(*args, **kwargs):
        result = real_publish(*args, **kwargs)
        shutil.rmtree(summary.parent)  # e.g. a CI runner cleaning up meanwhile
        return result

    monkeypatch.setattr(hubgen.cli.publish, "publish", publish_then_lose_the_folder)
    repo = "alice/summary-after-push"
    run = publish(
        [tiny_bert, "--max-len", "1024", "--repo-id", repo, "--summary", summary], capsys, monkeypatch, caplog
    )
    assert run.code == 1
    result = json.loads(run.stdout)  # the result is printed although the summary could not be written
    assert result["changed"] and result["repo_id"] == repo
    assert f"Published: {hub_env.endpoint}/{repo}, but appending the summary to {summary} failed" in run.stderr
    assert "the push itself is complete" in run.stderr
    assert len(commits(hub_env, repo)) == 2


def test_an_invalid_derived_repository_name_is_not_called_repo_id(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog
):
    """A name made from the base is too long for the Hub once `lsg-` and the length are added: the message says the
    name was derived, and does not blame a --repo-id that was never given."""
    monkeypatch.setenv("HF_TOKEN", ALICE)
    long_name = "b" * 90
    run = publish([tiny_bert, "--max-len", "1024", "--base-model", f"alice/{long_name}"], capsys, monkeypatch, caplog)
    assert run.code == 2
    assert f"the repository name 'alice/lsg-{long_name}-1024' made from the base's name" in run.stderr
    assert "--repo-id 'alice" not in run.stderr and "pass --repo-id ORG/NAME" in run.stderr


def test_credentials_in_hf_endpoint_are_never_shown(hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog):
    """huggingface_hub sends the URL's credentials as Basic auth in place of the token, so the Hub answers 401."""
    endpoint = hub_env.endpoint.replace("http://", "http://proxy-user:proxy-secret@")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", ALICE)
    summary = tmp_path / "summary.md"
    run = publish([tiny_bert, "--max-len", "1024", "--summary", summary], capsys, monkeypatch, caplog)
    assert run.code == 1
    shown = hub_env.endpoint.replace("http://", "http://***@")
    assert f"{shown} answered HTTP 401 while checking the token" in run.stderr, run.stderr
    for text in (run.output, summary.read_text()):
        assert "proxy-secret" not in text and "proxy-user" not in text
    assert shown in summary.read_text()
