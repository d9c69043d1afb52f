"""README.md of a native repository: the LSG card's metadata rules, a body that says no remote code is needed and
why one would choose LSG, Longformer or BigBird, with the benchmark's figures."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubgen import __version__
from hubgen.base_card import read_base_card
from hubgen.card import PIPELINE_TAGS, card_metadata, card_text, write_card
from hubgen.native.repository import NativeRepository
from hubgen.repository import ConvertedRepository
from hubgen.smoke_report import SmokeReport
from hubgen.templating import environment


@dataclass(frozen=True)
class BenchmarkRow:
    name: str
    time: str
    memory: str
    remote_code: str


# `hubgen bench`, model level, one training step at 4,096 tokens: the README's table "model level, one training
# step, 2 layers, 2 threads" (tests/test_native_publish.py checks that the README still says so).
BENCHMARK = (
    BenchmarkRow("LSG (norm 128/128, factor 4)", "5.56 s", "516 MiB", "yes: `trust_remote_code=True`"),
    BenchmarkRow("Longformer (window 512)", "9.48 s", "1,444 MiB", "no"),
    BenchmarkRow("BigBird (block_sparse 64 × 3)", "6.56 s", "1,987 MiB", "no"),
)


def render_native_card(
    repository: NativeRepository,
    smoke: SmokeReport | None = None,
    repo_id: str | None = None,
    publish_command: str | None = None,
    base_card: dict[str, Any] | None = None,
) -> str:
    base, config, head = repository.base_model, repository.config, repository.head
    if base_card is None:
        base_card = read_base_card(repository.local_base())
    pipeline_tag = PIPELINE_TAGS[head.kind]
    metadata = card_metadata(
        base, base_card, pipeline_tag, {pipeline_tag}, "transformers", (repository.target.model_type,)
    )
    windows = config.get("attention_window")
    context = {
        "repo_id": repo_id or repository.folder.name,
        "base": base,
        "target": repository.target,
        "extension": repository.extension,
        "architecture": repository.architecture,
        "head": head,
        "auto_class": head.auto_class,
        "auto_classes": repository.auto_classes,
        "config": {**config, "attention_window": windows if isinstance(windows, list) else [windows]},
        "mask_token": repository.mask_token,
        "max_length": repository.max_length,
        "full_length": repository.target.full_attention_length(config),
        "benchmark": BENCHMARK,
        "command": repository.provenance.command,
        "publish_command": publish_command,
        "hubgen_version": repository.provenance.version or __version__,
        "smoke": smoke,
    }
    body = environment("hubgen.model_cards").get_template("native_model_card.md.jinja").render(**context)
    return card_text(metadata, body)


def write_any_card(repository: ConvertedRepository | NativeRepository, **kwargs: Any) -> Path:
    """README.md of an LSG or a native repository (`hubgen.native.repository.read_repository` reads either)."""
    if not isinstance(repository, NativeRepository):
        return write_card(repository, **kwargs)
    path = repository.folder / "README.md"
    path.write_text(render_native_card(repository, **kwargs), encoding="utf-8")
    return path
