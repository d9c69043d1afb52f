"""`hubgen publish --attention longformer` through the loopback Hub: the smoke gate loads the repository without
remote code and compares it with the base, the card says why and how, and the downloaded repository loads in a fresh
process where hubgen is not importable, with no `trust_remote_code`."""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import snapshot_download
from support.compat import run_isolated
from support.hub import ALICE, commits, publish

from hubgen.native.card import BENCHMARK


def test_publish_a_longformer_and_load_it_without_remote_code(
    hub_env, tiny_bert, tmp_path, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    arguments = [tiny_bert, "--max-len", "4096", "--attention", "longformer"]
    run = publish(arguments, capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    assert result["repo_id"] == "alice/longformer-tiny-bert-4096" and result["changed"]
    assert (
        result["conversion"]["class"] == "LongformerForMaskedLM" and result["conversion"]["trust_remote_code"] is False
    )
    checks = {check["name"]: check for check in result["smoke"]["checks"]}
    assert checks["AutoModelForMaskedLM loads and runs (no remote code)"]["status"] == "pass"
    assert "on 4088 tokens" in checks["AutoModelForMaskedLM loads and runs (no remote code)"]["detail"]
    assert checks["fill-mask: top-1 tokens vs the base model"]["detail"] == "4/4 agree"

    folder = Path(snapshot_download(result["repo_id"], endpoint=hub_env.endpoint, cache_dir=tmp_path / "cache"))
    assert not list(folder.rglob("*.py")) and "auto_map" not in json.loads((folder / "config.json").read_text())
    card = (folder / "README.md").read_text()
    assert "no `trust_remote_code` needed" in card and "hubgen publish" in card and "--attention longformer" in card
    assert all(row.time in card and row.memory in card for row in BENCHMARK)
    assert "fill-mask: top-1 tokens vs the base model | pass: 4/4 agree" in card
    load = f"""
import transformers
fill = transformers.pipeline("fill-mask", model={str(folder)!r})
print(type(fill.model).__name__, fill("the cat sat on the " + fill.tokenizer.mask_token + " .", top_k=1)[0]["token_str"])
"""
    assert "LongformerForMaskedLM" in run_isolated(load, cwd=tmp_path, check=True).stdout

    again = publish(arguments, capsys, monkeypatch, caplog)
    assert again.code == 0 and json.loads(again.stdout)["changed"] is False
    assert len(commits(hub_env, result["repo_id"])) == 2


def test_the_cards_figures_are_the_readmes():
    """The card quotes the benchmark table of the README; a new run that changes it must change the card too."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("| model level, one training step") :].split("\n\n")[0]
    for row in BENCHMARK:
        assert f"{row.time}, {row.memory}" in table, row
