"""What a publish puts on the Hub, on the path users take: a base given by its Hub id with an empty HF_HOME, the
metadata of the base's card, no local path in any file, a tokenizer required, one log line per step when piped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from huggingface_hub import HfApi, ModelCard, ModelCardData, snapshot_download
from support.cli import STEP_LINE, run_cli
from support.hub import ALICE, host, publish, run_hubgen

from hubgen.base_card import carried_metadata, fill_mask_language
from hubgen.card import BASE_MODEL_RELATION
from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.offline.tiny import TINY_MODEL_TYPES, make_tiny_checkpoint
from hubgen.registry import MODEL_TYPES

BASE_METADATA = {"license": "apache-2.0", "language": ["en"], "datasets": ["wikipedia", "bookcorpus"]}
# Every step of a publish, in order, as its log shows them when output is not a terminal.
PUBLISH_STEPS = [
    "checking the options and the base checkpoint",
    "checking access to {endpoint}",
    "rendering the modeling file",
    "loading the base weights",
    "growing position embeddings and initialising global tokens",
    "writing the repository",
    "running the smoke tests in a fresh process",
    "writing the model card",
    "validating the model card with {endpoint}",
    "pushing to {repo_id}",
]


@pytest.fixture(scope="module")
def tiny_bert(tiny_checkpoint, tmp_path_factory):
    """A tiny BERT whose card, like real ones, names its license, language and training data."""
    base = shutil.copytree(tiny_checkpoint("bert"), tmp_path_factory.mktemp("base") / "tiny-bert")
    card = ModelCard.load(base / "README.md")
    card.data = ModelCardData(**{**card.data.to_dict(), **BASE_METADATA})
    card.save(base / "README.md")
    return base


def _cli(args: list[str], hub, hf_home: Path) -> subprocess.CompletedProcess[str]:
    """`hubgen ...` in a process of its own, as a user's shell starts it: pipes for output, not a terminal."""
    environment = {**os.environ, **hub.client_env(), "HF_HOME": str(hf_home), "HF_TOKEN": ALICE}
    environment.pop("HF_HUB_CACHE", None)
    return run_hubgen(args, environment, timeout=600)


def _card(hub, repo_id: str, cache: Path) -> str:
    return Path(HfApi(endpoint=hub.endpoint).hf_hub_download(repo_id, "README.md", cache_dir=cache)).read_text()


def test_a_base_given_by_hub_id_with_an_empty_cache_is_compared_as_with_a_warm_cache(hub_env, tiny_bert, tmp_path):
    hub = hub_env
    host(tiny_bert, "alice/tiny-bert")
    hf_home = tmp_path / "hf-home"
    requests_before = len(hub.requests)
    cold = _cli(["publish", "alice/tiny-bert", "--max-len", "1024", "--repo-id", "alice/lsg-cold"], hub, hf_home)
    assert cold.returncode == 0, cold.stderr
    fetched = [r.path for r in hub.requests[requests_before:] if "tiny-bert/resolve" in r.path and r.method == "GET"]
    assert sorted(fetched) == sorted(set(fetched)), "a base file was downloaded twice"

    # Not a terminal: one plain line per step, with its duration, in order.
    steps = [match["step"] for line in cold.stderr.splitlines() if (match := STEP_LINE.match(line))]
    expected = [step.format(endpoint=hub.endpoint, repo_id="alice/lsg-cold") for step in PUBLISH_STEPS]
    assert steps == expected, cold.stderr

    # The warm cache of the report: the base downloaded by hand first (which records its `main` branch).
    snapshot_download("alice/tiny-bert", endpoint=hub.endpoint, cache_dir=hf_home / "hub", token=ALICE)
    warm = _cli(["publish", "alice/tiny-bert", "--max-len", "1024", "--repo-id", "alice/lsg-warm"], hub, hf_home)
    assert warm.returncode == 0, warm.stderr

    cold_card, warm_card = (
        _card(hub, repo_id, tmp_path / "downloads") for repo_id in ("alice/lsg-cold", "alice/lsg-warm")
    )
    assert cold_card.replace("lsg-cold", "lsg-warm") == warm_card
    metadata = ModelCard(cold_card).data
    assert {key: getattr(metadata, key) for key in BASE_METADATA} == BASE_METADATA
    assert (metadata.base_model, metadata.base_model_relation) == ("alice/tiny-bert", BASE_MODEL_RELATION)
    assert (metadata.library_name, metadata.pipeline_tag) == ("transformers", "fill-mask")
    assert "| fill-mask pipeline (base model) | pass" in cold_card
    assert "| fill-mask: top-1 tokens vs the base model | pass: 4/4 agree |" in cold_card
    assert "hubgen publish alice/tiny-bert --max-len 1024 --repo-id alice/lsg-cold" in cold_card


def _files_mentioning(folder: Path, needles: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            hits = [needle for needle in needles if needle.encode() in content]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


@pytest.mark.parametrize("base_model", [None, "alice/tiny-bert"])
def test_a_local_base_publishes_no_local_path(hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog, base_model):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    base = shutil.copytree(tiny_bert, tmp_path / "work" / "training-run" / "model")  # a name that says nothing
    args = [base, "--max-len", "1024"] + (["--base-model", base_model] if base_model else ["--repo-id", "alice/x"])
    run = publish(args, capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    repo_id = json.loads(run.stdout)["repo_id"]
    assert repo_id == ("alice/lsg-tiny-bert-1024" if base_model else "alice/x")  # named from --base-model

    folder = Path(snapshot_download(repo_id, endpoint=hub_env.endpoint, cache_dir=tmp_path / "download"))
    needles = [str(base), str(base.resolve()), str(tmp_path), "training-run", "hubgen-publish-"]
    assert _files_mentioning(folder, needles) == {}
    config = json.loads((folder / "config.json").read_text())
    card = (folder / "README.md").read_text()
    assert config["hubgen"]["base_model"] == base_model and config["_name_or_path"] == (base_model or "")
    assert ModelCard(card).data.base_model == base_model
    if base_model:
        assert f"hubgen publish {base_model} --max-len 1024 --repo-id {repo_id}" in card
        assert config["hubgen"]["command"] == f"hubgen convert {base_model} --max-len 1024 --out OUT"
    else:  # the reproduce command shows where the base goes
        assert "hubgen publish BASE_FOLDER --max-len 1024 --repo-id alice/x" in card
        assert "a local checkpoint" in card


@pytest.mark.parametrize("type_name", TINY_MODEL_TYPES)
def test_no_converted_file_of_any_type_names_the_local_base(tmp_path, type_name):
    """Every file a conversion writes (config, generation config, tokenizer files, SentencePiece models, code)."""
    base = make_tiny_checkpoint(type_name, tmp_path / "private" / "my-base", train_steps=0)
    convert(ConversionRequest(base=str(base), max_length=2048, output=tmp_path / "lsg"))
    assert _files_mentioning(tmp_path / "lsg", [str(tmp_path), "private"]) == {}


@pytest.mark.parametrize("name", ["model", "checkpoint-500", "0123456789abcdef0123456789abcdef01234567"])
def test_a_default_repository_name_from_a_meaningless_folder_is_refused(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog, name
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    base = shutil.copytree(tiny_bert, tmp_path / "snapshots" / name)
    before = len(hub_env.requests)
    run = publish([base, "--max-len", "1024"], capsys, monkeypatch, caplog)
    assert run.code == 2, run.output
    assert f"the base folder's name {name!r} does not say which model it is" in run.stderr
    assert "--repo-id" in run.stderr and "Traceback" not in run.output
    assert not [r for r in hub_env.requests[before:] if r.method != "GET"]


def test_a_base_without_a_tokenizer_is_refused_before_anything_is_written(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    base = tmp_path / "bert-without-tokenizer"
    base.mkdir()
    for name in ("config.json", "model.safetensors", "README.md"):
        shutil.copyfile(tiny_bert / name, base / name)
    before = len(hub_env.requests)
    runs = [
        publish([base, "--max-len", "1024", "--out", tmp_path / "published"], capsys, monkeypatch, caplog),
        run_cli(["convert", base, "--max-len", "1024", "--out", tmp_path / "converted"], capsys, monkeypatch),
    ]
    for run in runs:
        assert run.code == 2, run.output
        errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and errors[0].startswith(
            f"Error: {base} has no loadable tokenizer (no vocabulary); add"
        ), run.stderr
        assert "tokenizer.json" in run.stderr and "Traceback" not in run.output
    assert not (tmp_path / "published").exists() and not (tmp_path / "converted").exists()
    assert not [r for r in hub_env.requests[before:] if r.method != "GET" and "whoami" not in r.path]


def test_the_card_is_validated_by_the_hub_before_anything_is_pushed(hub_env, tiny_bert, capsys, monkeypatch, caplog):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    validated = []

    def validate(card, repo_type=None):
        validated.append(card.data.to_dict())
        raise ValueError("Invalid metadata in README.md.\n- license: not a known license")

    monkeypatch.setattr(ModelCard, "validate", validate)
    run = publish([tiny_bert, "--max-len", "1024", "--repo-id", "alice/refused-card"], capsys, monkeypatch, caplog)
    assert run.code == 2, run.output
    assert "the Hub refuses the model card's metadata: - license: not a known license" in run.stderr
    assert validated and validated[0]["license"] == "apache-2.0"
    assert not HfApi(endpoint=hub_env.endpoint, token=ALICE).repo_exists("alice/refused-card")


def test_the_fill_mask_language_is_the_base_cards():
    assert fill_mask_language({"language": "fr"}, MODEL_TYPES["bert"]) == "fr"
    assert fill_mask_language({"language": ["en", "fr"]}, MODEL_TYPES["camembert"]) is None
    assert fill_mask_language({}, MODEL_TYPES["camembert"]) == "fr"  # no card language: the type's
    assert fill_mask_language({"language": "de"}, MODEL_TYPES["barthez"]) is None


def test_base_tags_are_kept_when_still_true():
    base = {
        **BASE_METADATA,
        "tags": ["sentence-transformers", "sentence-similarity", "feature-extraction", "fill-mask", "legal"],
        "pipeline_tag": "sentence-similarity",
    }
    base["tags"] += [
        "tf",
        "onnx",
        "endpoints_compatible",
        "region:us",
        "arxiv:1908.10084",
        "text-embeddings-inference",
    ]
    carried, tags = carried_metadata(base, {"sentence-similarity", "feature-extraction"})
    assert carried == BASE_METADATA
    assert tags == ["sentence-transformers", "sentence-similarity", "feature-extraction", "legal"]
