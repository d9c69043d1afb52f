"""`hubgen upgrade` on repositories laid out as the original converter published them, hosted on the loopback Hub.

The published repository is made the way those were: a tiny trained BERT converted to LSG (a lossless global token),
then dressed as the original converter left it: config with the base `model_type` and the old `auto_map`, the tied
MLM decoder stored once, a tokenizer, a card, and a `modeling_lsg_bert.py` that imports transformers internals that
no longer exist (a stand-in for the original file, which fails the same way). Users' steps are followed: the CLI in
its own process with an empty HF_HOME, the upgraded repository loaded by its Hub id in fresh processes where hubgen
is not importable, on transformers 4.40 and the newest.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.utils.sha import git_hash
from safetensors.torch import load_file, save_file
from support.cli import run_cli
from support.compat import run_isolated
from support.published import PUBLISHED_TRANSFORMERS_VERSION

from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.offline.local_hub import LocalHub, LocalUser
from hubgen.registry import MODEL_TYPES
from hubgen.upgrade_plan import RepositoryState, plan_changes

ALICE = "hf_alice_upgrade_token_1234567890"
BOB = "hf_bob_upgrade_token_0987654321"
CAROL = "hf_carol_upgrade_token_5555555555"

# Imports names transformers removed, as the original file's `from transformers.models.bert.modeling_bert import *`
# followed by subclasses of `BertSelfAttention` internals did; it must never run inside hubgen.
OLD_MODELING_FILE = """\
from transformers.models.bert.modeling_bert import BertEncoder, BertSdpaSelfAttention, BertSelfAttention

raise RuntimeError("the original modeling file was executed")
"""

OLD_CARD = "---\nlanguage: en\nlicense: apache-2.0\n---\n\n# LSG tiny BERT\n\nMade with the original LSG converter.\n"

UPGRADED_FILES = ["modeling_lsg_bert.py", "README.md"]

# In the child: the upgraded repository by its Hub id against transformers' own BertForMaskedLM (same weights) on
# short inputs.
COMPARE_CHILD = """
import json, torch, transformers
tokenizer = transformers.AutoTokenizer.from_pretrained(REPO)
model = transformers.AutoModelForMaskedLM.from_pretrained(REPO, trust_remote_code=True).eval()
library = transformers.BertForMaskedLM.from_pretrained(BASE).eval()
inputs = tokenizer(["the cat sat on the mat .", "a dog ."], padding=True, return_tensors="pt")
with torch.no_grad():
    difference = (model(**inputs).logits - library(**inputs).logits).abs().max().item()
print(json.dumps({"class": type(model).__name__, "difference": difference}))
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    users = {ALICE: LocalUser("alice", orgs=("acme",)), BOB: LocalUser("bob"), CAROL: LocalUser("carol", ("lsg-org",))}
    with LocalHub(tmp_path_factory.mktemp("hub"), tokens=users) as server:
        yield server


@pytest.fixture(scope="module")
def repositories(tiny_bert, tmp_path_factory):
    """The tiny base, hubgen's conversion of it, and the same model in the published layout."""
    root = tmp_path_factory.mktemp("upgrade")
    base = tiny_bert
    converted = convert(ConversionRequest(base=str(base), max_length=1024, output=root / "converted")).output
    published = root / "published"
    published.mkdir()
    for path in converted.iterdir():
        if path.name not in ("config.json", "README.md", "modeling_lsg_bert.py"):
            shutil.copy(path, published / path.name)
    config = json.loads((converted / "config.json").read_text())
    config.pop("hubgen")
    config.update(model_type="bert", transformers_version=PUBLISHED_TRANSFORMERS_VERSION)
    (published / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    (published / "modeling_lsg_bert.py").write_text(OLD_MODELING_FILE)
    (published / "README.md").write_text(OLD_CARD)
    stored = load_file(published / "model.safetensors").keys()
    assert "bert.embeddings.word_embeddings.weight" in stored and "cls.predictions.decoder.weight" not in stored
    return base, converted, published


def push(hub: LocalHub, folder: Path, repo_id: str, token: str) -> None:
    api = HfApi(endpoint=hub.endpoint, token=token)
    api.create_repo(repo_id)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(constants, "HF_HUB_DISABLE_XET", True)  # the loopback Hub has no Xet storage
        api.upload_folder(folder_path=folder, repo_id=repo_id)


def files(hub: LocalHub, repo_id: str, revision: str = "main") -> dict[str, str]:
    """Path -> sha256 for LFS files, git blob id for the others."""
    info = HfApi(endpoint=hub.endpoint, token=ALICE).model_info(repo_id, revision=revision, files_metadata=True)
    return {s.rfilename: s.lfs.sha256 if s.lfs else s.blob_id for s in info.siblings}


def commits(hub: LocalHub, repo_id: str) -> int:
    return len(HfApi(endpoint=hub.endpoint, token=ALICE).list_repo_commits(repo_id))


def hubgen_upgrade(hub: LocalHub, args: list[str], token: str, tmp_path: Path) -> tuple[int, dict | None, str]:
    """`hubgen upgrade ... --json` in its own process, as a user runs it, with an empty HF_HOME."""
    home = tempfile.mkdtemp(prefix="hf-home-", dir=tmp_path)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    environment.update(hub.client_env(), HF_HOME=home, HF_TOKEN=token, COLUMNS="200")
    run = subprocess.run(
        [sys.executable, "-m", "hubgen", "upgrade", *args, "--json"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=900,
        check=False,
    )
    assert token not in run.stdout + run.stderr, "a token was printed"
    return run.returncode, json.loads(run.stdout) if run.returncode == 0 else None, run.stderr


def online(hub: LocalHub) -> dict[str, str]:
    """A fresh process's environment reaching the loopback Hub (run_isolated makes children offline by default)."""
    return {**hub.client_env(), "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}


def load_by_id(hub: LocalHub, repo_id: str, base: Path, version: str | None, tmp_path: Path) -> dict:
    code = COMPARE_CHILD.replace("REPO", repr(repo_id)).replace("BASE", repr(str(base)))
    run = run_isolated(code, transformers_version=version, cwd=tmp_path, env=online(hub), check=True)
    return {**json.loads(run.stdout.strip().splitlines()[-1]), "log": run.stderr}


@pytest.mark.compat
def test_an_upgraded_repository_loads_exactly_with_its_weights_untouched(hub, repositories, tmp_path):
    base, _, published = repositories
    repo_id = "acme/lsg-tiny-bert-1024"
    push(hub, published, repo_id, ALICE)
    before, history = files(hub, repo_id), commits(hub, repo_id)
    broken = run_isolated(
        f"import transformers\ntransformers.AutoModelForMaskedLM.from_pretrained({repo_id!r}, trust_remote_code=True)",
        cwd=tmp_path,
        env=online(hub),
    )
    assert broken.returncode != 0 and "BertSdpaSelfAttention" in broken.stderr  # the premise: it no longer loads

    code, dry_run, stderr = hubgen_upgrade(hub, [repo_id, "--dry-run"], ALICE, tmp_path)
    assert code == 0, stderr
    assert [change["path"] for change in dry_run["changes"]] == UPGRADED_FILES
    assert dry_run["weights"] == {"class": "LSGBertForMaskedLM", "missing": [], "unexpected": []}
    assert dry_run["smoke"]["ok"] and dry_run["pushed"] is None
    assert commits(hub, repo_id) == history and files(hub, repo_id) == before

    seen = len(hub.requests)
    code, result, stderr = hubgen_upgrade(hub, [repo_id], ALICE, tmp_path)
    assert code == 0, stderr
    assert result["pushed"]["changed"] and not result["pushed"]["pr_url"]
    assert commits(hub, repo_id) == history + 1
    after = files(hub, repo_id)
    assert {path for path in after if after[path] != before.get(path)} == set(UPGRADED_FILES)
    assert after["model.safetensors"] == before["model.safetensors"]  # the sha256 of the weights
    fetched = [r.path for r in hub.requests[seen:] if r.method in ("GET", "HEAD") and "/resolve/" in r.path]
    assert fetched and not any(path.endswith(".py") for path in fetched), fetched  # hubgen never fetched old code
    card = HfApi(endpoint=hub.endpoint).hf_hub_download(repo_id, "README.md", cache_dir=tmp_path / "cache")
    assert Path(card).read_text().startswith(OLD_CARD) and "hubgen upgrade: start" in Path(card).read_text()

    for version in ("4.40.2", None):
        loaded = load_by_id(hub, repo_id, base, version, tmp_path)
        assert loaded["class"] == "LSGBertForMaskedLM", loaded
        assert loaded["difference"] <= 1e-5, (version, loaded)
        assert "model of type" not in loaded["log"] and "not supported" not in loaded["log"], (version, loaded)

    code, again, stderr = hubgen_upgrade(hub, [repo_id], ALICE, tmp_path)
    assert code == 0 and again["up_to_date"] and again["pushed"] is None, stderr
    assert commits(hub, repo_id) == history + 1


def test_pull_requests_land_on_a_pr_ref_and_are_not_opened_twice(hub, repositories, tmp_path):
    repo_id = "acme/lsg-tiny-bert-pr"
    push(hub, repositories[2], repo_id, ALICE)
    before, history = files(hub, repo_id), commits(hub, repo_id)
    code, result, stderr = hubgen_upgrade(hub, [repo_id, "--create-pr"], ALICE, tmp_path)
    assert code == 0, stderr
    assert result["pushed"]["pr_url"].endswith("/discussions/1")
    assert commits(hub, repo_id) == history and files(hub, repo_id) == before  # main untouched
    proposed = files(hub, repo_id, "refs/pr/1")
    assert {path for path in proposed if proposed[path] != before.get(path)} == set(UPGRADED_FILES)

    # Bob cannot write to acme/: his upgrade goes to a pull request by default, and finds this one.
    code, result, stderr = hubgen_upgrade(hub, [repo_id], BOB, tmp_path)
    assert code == 0 and result["open_pull_request"] == "refs/pr/1" and result["pushed"] is None, stderr
    refs = HfApi(endpoint=hub.endpoint).list_repo_refs(repo_id, include_pull_requests=True)
    assert [ref.ref for ref in refs.pull_requests] == ["refs/pr/1"]


def test_list_reports_the_repositories_of_an_organisation_that_need_it(hub, repositories, tmp_path):
    base, converted, published = repositories
    push(hub, published, "lsg-org/old", CAROL)
    push(hub, converted, "lsg-org/current", CAROL)
    push(hub, base, "lsg-org/plain-bert", CAROL)
    code, rows, stderr = hubgen_upgrade(hub, ["--list", "lsg-org"], CAROL, tmp_path)
    assert code == 0, stderr
    assert rows == [
        {"repo_id": "lsg-org/current", "type": "bert", "changes": []},
        {"repo_id": "lsg-org/old", "type": "bert", "changes": UPGRADED_FILES},
    ]


def test_weights_that_do_not_load_exactly_stop_the_upgrade_unless_resaved(repositories, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "repository"
    shutil.copytree(repositories[2], folder)
    weights = load_file(folder / "model.safetensors")
    save_file(
        {**weights, "bert.stray.weight": weights["bert.embeddings.LayerNorm.bias"].clone()},
        folder / "model.safetensors",
    )
    untouched = {path.name: path.read_bytes() for path in folder.iterdir()}

    run = run_cli(["upgrade", str(folder)], capsys, monkeypatch)
    assert run.code == 2 and "unexpected: bert.stray.weight" in run.stderr and "--resave-weights" in run.stderr
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == untouched

    run = run_cli(["upgrade", str(folder), "--resave-weights", "--json"], capsys, monkeypatch)
    assert run.code == 0, run.output
    changed = [change["path"] for change in json.loads(run.stdout)["changes"]]
    assert changed == ["modeling_lsg_bert.py", "model.safetensors", "README.md"]
    assert "bert.stray.weight" not in load_file(folder / "model.safetensors")
    assert (folder / "tokenizer.json").read_bytes() == untouched["tokenizer.json"]
    assert "re-saved" in (folder / "README.md").read_text()


def test_the_plan_changes_only_what_loading_needs():
    """A BART repository whose auto_map has no AutoConfig and whose generation settings sit in config.json: the new
    code, auto_map alone changed in config.json, a generation_config.json for 5.x, a card; then nothing."""
    model_type = MODEL_TYPES["bart"]
    old_map = {key: value for key, value in model_type.auto_map().items() if key != "AutoConfig"}
    config = {"model_type": "bart", "auto_map": old_map, "block_size": 64, "num_beams": 4, "max_length": 128}
    blob_ids = {"config.json": "1", "model.safetensors": "", "modeling_lsg_bart.py": "2"}
    changes = plan_changes(model_type, RepositoryState(config, None, blob_ids))
    assert [change.path for change in changes] == [
        "modeling_lsg_bart.py",
        "config.json",
        "generation_config.json",
        "README.md",
    ]
    assert json.loads(changes[1].content) == {**config, "auto_map": model_type.auto_map()}
    generation = json.loads(changes[2].content)
    assert (generation["num_beams"], generation["max_length"], generation["forced_eos_token_id"]) == (4, 128, 2)
    assert changes[3].added and "hubgen upgrade: start" in changes[3].content.decode()

    upgraded = {
        **blob_ids,
        "modeling_lsg_bart.py": git_hash(changes[0].content),
        "generation_config.json": git_hash(changes[2].content),
    }
    current = RepositoryState(json.loads(changes[1].content), changes[3].content.decode(), upgraded)
    assert plan_changes(model_type, current) == []


def test_what_cannot_be_upgraded_is_one_line_and_nothing_written(repositories, capsys, monkeypatch):
    base, _, published = repositories
    cases = {
        (): "pass a repository or folder, or --list ORG",
        (str(base),): "is not an LSG repository",
        (str(published), "--create-pr"): "is a folder: --create-pr and --revision apply to Hub repositories",
        ("not a repo id!",): "is neither a folder nor a repository id",
    }
    before = {path.name: path.read_bytes() for path in published.iterdir()}
    for args, message in cases.items():
        run = run_cli(["upgrade", *args], capsys, monkeypatch)
        assert run.code == 2 and message in run.stderr and "Traceback" not in run.output, (args, run.output)
    assert {path.name: path.read_bytes() for path in published.iterdir()} == before
