"""Every encoder type: a tiny trained base converts, loads everywhere, passes its smoke tests and keeps its predictions."""

from __future__ import annotations

import pytest

from hubgen.convert import ConversionRequest, convert
from hubgen.registry import MODEL_TYPES
from hubgen.smoke import run_smoke
from hubgen.tiny import make_tiny_checkpoint, training_sentences

ENCODER_TYPES = [name for name, entry in MODEL_TYPES.items() if entry.family != "bart"]


def masked_sentences(type_name: str, count: int = 8) -> list[tuple[str, str]]:
    """(sentence with {mask} for its last word, that word), on sentences the tiny base learnt."""
    rows = []
    for sentence in training_sentences(type_name)[:count]:
        words = sentence.rstrip(".").split()
        rows.append((" ".join([*words[:-1], "{mask}"]) + ".", words[-1]))
    return rows


@pytest.mark.parametrize("type_name", ENCODER_TYPES)
def test_tiny_base_converts_loads_everywhere_and_keeps_its_fill_mask_answers(tmp_path, type_name):
    base = make_tiny_checkpoint(type_name, tmp_path / f"tiny-{type_name}")
    output = tmp_path / "lsg"
    result = convert(ConversionRequest(base=str(base), max_length=1024, output=output))
    assert result.options.mask_first_token  # every encoder tokenizer starts inputs with CLS/BOS: lossless defaults
    questions = masked_sentences(type_name)
    report = run_smoke(output, base=str(base), sentences=[sentence for sentence, _ in questions])
    failed = [check for check in report.checks if not check["ok"]]
    assert report.ok, failed
    names = {check["name"] for check in report.checks}
    for auto_class in MODEL_TYPES[type_name].auto_map():
        if auto_class != "AutoConfig":
            assert f"{auto_class} loads and runs" in names
    assert "sequence classification near the maximum length" in names
    rows = report.fill_mask
    assert len(rows) == len(questions) and all(row["agree"] for row in rows), rows
    # The base is trained (tests/test_tiny.py measures its accuracy); here it must not answer by rote. A single mask
    # can only bring back the first piece of a word that the tokenizer splits, so that is what counts as right.
    right = sum(
        bool(row["base"].strip("▁ ")) and answer.lower().startswith(row["base"].strip("▁ ").lower())
        for row, (_, answer) in zip(rows, questions)
    )
    assert right >= 1 and len({row["base"] for row in rows}) >= 3, rows
