"""The rebuild matrix: its default entries, its file format, its CI form, and the whole matrix run locally."""

from __future__ import annotations

import json

import pytest
from support.cli import run_cli

from hubgen.errors import InvalidInputError
from hubgen.matrix import DEFAULT_MATRIX, github_matrix, load_matrix
from hubgen.offline.local_matrix import LOCAL_USER, fill_mask_questions, run_local_matrix
from hubgen.offline.tiny import training_sentences
from hubgen.registry import MODEL_TYPES


def test_default_matrix_names_a_public_checkpoint_for_every_type():
    lsg = [entry for entry in DEFAULT_MATRIX if entry.attention == "lsg"]
    assert sorted(entry.type for entry in lsg) == sorted(MODEL_TYPES)
    assert sorted(entry.attention for entry in DEFAULT_MATRIX if entry not in lsg) == ["bigbird", "longformer"]
    for entry in DEFAULT_MATRIX:
        assert entry.base.count("/") == 1 and entry.max_length == 4096, entry


def test_a_file_replaces_the_default_and_bad_files_are_refused(tmp_path):
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps([{"type": "roberta", "base": "my-org/roberta", "max_length": 2048}]))
    (entry,) = load_matrix(path)
    assert (entry.type, entry.base, entry.max_length) == ("roberta", "my-org/roberta", 2048)
    path.write_text(json.dumps([{"type": "gpt2", "base": "openai/gpt2"}]))
    with pytest.raises(InvalidInputError, match="unknown type"):
        load_matrix(path)
    path.write_text(json.dumps([{"type": "bert", "base": "org/bert", "attention": "yoso"}]))
    with pytest.raises(InvalidInputError, match="unknown attention"):
        load_matrix(path)
    path.write_text("not json")
    with pytest.raises(InvalidInputError, match="cannot read the matrix file"):
        load_matrix(path)


def test_cli_prints_the_github_matrix(capsys, monkeypatch):
    run = run_cli(["matrix"], capsys, monkeypatch)
    assert run.code == 0
    assert json.loads(run.stdout) == github_matrix(list(DEFAULT_MATRIX))
    assert {"type", "base", "max_length", "attention", "name"} <= set(json.loads(run.stdout)["include"][0])


def test_the_whole_matrix_runs_locally_with_tiny_checkpoints(tmp_path):
    """Every type: tiny base made here and hosted on a loopback Hub, published from there by its repository id with
    an empty HF_HOME (the headline command's path), converted, smoke-tested in a fresh process, pushed, and the
    LSG model answers the questions the tiny base learnt as the base does (fill-mask for encoders; for the
    encoder-decoders, which are denoisers, the sentence greedy generate() writes back)."""
    runs = run_local_matrix(load_matrix(), tmp_path)
    failed = {run.entry.name: run.error for run in runs if not run.ok}
    assert not failed, failed
    lsg_runs = [run for run in runs if run.entry.attention == "lsg"]
    assert sorted(run.entry.type for run in lsg_runs) == sorted(MODEL_TYPES)
    _assert_native_runs([run for run in runs if run.entry.attention != "lsg"])
    for run in lsg_runs:
        result, model_type = run.result, MODEL_TYPES[run.entry.type]
        base = result.conversion.checkpoint
        assert base.hub_id == f"{LOCAL_USER}/tiny-{run.entry.type}", base
        assert base.directory.is_relative_to(tmp_path / "hf-home" / "hub"), base.directory  # fetched, not local
        assert result.push.changed and result.push.created and result.push.commit, run.entry.name
        assert result.smoke.ok, run.entry.name
        loaded = {check["name"] for check in result.smoke.checks}
        for auto_class in model_type.auto_map():
            if auto_class != "AutoConfig":
                assert f"{auto_class} loads and runs" in loaded, (run.entry.name, auto_class)
        if "AutoModelForSequenceClassification" in model_type.auto_map():
            assert "sequence classification near the maximum length" in loaded, run.entry.name
        if "AutoModelForSeq2SeqLM" in model_type.auto_map():
            assert result.smoke.summary, run.entry.name
        _assert_keeps_the_base_answers(run.entry.type, result.smoke.fill_mask, result.conversion.options)
        # The gate on the base's task: must agree where the base's function is kept (else a difference is allowed).
        (gate,) = [check for check in result.smoke.checks if check["name"].endswith("vs the base model")]
        allowed = (
            {"pass"} if result.conversion.options.mask_first_token else {"pass", "differs, as these settings allow"}
        )
        assert gate["status"] in allowed, gate


def _assert_keeps_the_base_answers(type_name: str, rows: list[dict], options) -> None:
    assert len(rows) == len(fill_mask_questions(type_name)), (type_name, rows)
    agreeing = sum(row["agree"] for row in rows)
    if options.mask_first_token:  # global token 0 stands for the first token: the base's function is kept
        assert agreeing == len(rows), (type_name, rows)
    else:  # no leading special token (Pegasus): the global token is one more key the base never saw
        assert agreeing > len(rows) / 2, (type_name, rows)
    learnt = training_sentences(type_name)[: len(rows)]
    if MODEL_TYPES[type_name].family.encoder_decoder:  # right when it writes back the sentence the base learnt
        right = sum(row["base"] == sentence for row, sentence in zip(rows, learnt))
    else:  # a single mask brings back the first piece of a word the tokenizer splits
        pieces = [row["base"].strip("▁ ").lower() for row in rows]
        words = [sentence.rstrip(".").split()[-1].lower() for sentence in learnt]
        right = sum(bool(piece) and word.startswith(piece) for piece, word in zip(pieces, words))
    # The base is trained (tests/test_tiny.py measures its accuracy); here it must not answer by rote.
    assert right >= 1 and len({row["base"] for row in rows}) >= 3, (type_name, rows)


def _assert_native_runs(runs) -> None:
    """The Longformer and BigBird entries: published, loaded without remote code, the base's fill-mask answers."""
    assert sorted(run.entry.attention for run in runs) == ["bigbird", "longformer"]
    for run in runs:
        result = run.result
        assert result.push.created and result.smoke.ok, run.entry.name
        assert result.conversion.plan.target.name == run.entry.attention
        names = {check["name"] for check in result.smoke.checks}
        assert "AutoModelForMaskedLM loads and runs (no remote code)" in names, names
        assert result.smoke.fill_mask and all(row["agree"] for row in result.smoke.fill_mask), result.smoke.fill_mask


def test_the_native_entries_run_locally(tmp_path):
    """The matrix's Longformer and BigBird entries alone (the whole matrix above includes them)."""
    _assert_native_runs(run_local_matrix([e for e in load_matrix() if e.attention != "lsg"], tmp_path))
