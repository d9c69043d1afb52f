"""The gate checks the base model's own task: a fine-tuned classifier, token classifier or question answerer is
compared with its base on short inputs, where the LSG model must compute the base's function; a disagreement fails
the gate and nothing is pushed. Heads the base lacks are new and untrained, heads it cannot carry are skipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers
from huggingface_hub import HfApi, ModelCard
from safetensors.torch import load_file, save_file
from support.hub import ALICE, host, publish
from support.training import trainer_losses

import hubgen.convert
from hubgen.conversion import convert
from hubgen.convert import ConversionRequest
from hubgen.repository import ConvertedRepository
from hubgen.smoke import run_smoke

LABELS = {0: "negative", 1: "positive"}
# Statuses of checks that are neither pass nor FAIL (hubgen/smoke_runner.py, which tests must not import: it makes
# hubgen unimportable in the process that loads it).
UNTRAINED, SKIPPED = "new head, untrained", "skipped"
POSITIVE = ["what a wonderful day", "the film was great", "i love this cat", "a happy morning with friends"]
NEGATIVE = ["what a terrible day", "the film was awful", "i hate this rain", "a sad evening alone"]


@pytest.fixture(scope="module")
def sentiment_classifier(tiny_bert, tmp_path_factory):
    """The tiny BERT fine-tuned for 20 steps into a two-label sentiment classifier, saved as a Hub repository is."""
    folder = tmp_path_factory.mktemp("classifier") / "tiny-bert-sentiment"
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_bert)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification.from_pretrained(
        tiny_bert, id2label=LABELS, label2id={name: index for index, name in LABELS.items()}
    )
    examples = [
        {**tokenizer(text, padding="max_length", truncation=True, max_length=16), "labels": label}
        for texts, label in ((POSITIVE, 1), (NEGATIVE, 0))
        for text in texts
    ]
    losses = trainer_losses(model, examples, folder.parent / "trainer")
    assert losses[-1] < losses[0] / 4, losses  # it learnt its labels
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _checks(result: dict) -> dict[str, dict]:
    return {check["name"]: check for check in result["smoke"]["checks"]}


def test_a_fine_tuned_classifier_publishes_and_the_gate_compares_its_labels(
    hub_env, sentiment_classifier, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    host(sentiment_classifier, "alice/tiny-bert-sentiment")
    run = publish(["alice/tiny-bert-sentiment", "--max-len", "1024"], capsys, monkeypatch, caplog)
    assert run.code == 0, run.output
    result = json.loads(run.stdout)
    checks = _checks(result)

    compared = checks["sequence classification: labels and logits vs the base model"]
    assert compared["status"] == "pass" and compared["detail"].startswith("4/4 same labels ("), compared
    predicted = compared["detail"].split("(")[1].split(")")[0].split(", ")
    assert set(predicted) <= set(LABELS.values()), compared  # compared by the base's label names
    assert checks["AutoModelForSequenceClassification loads and runs"]["status"] == "pass"
    multiple_choice = checks["AutoModelForMultipleChoice loads and runs"]
    assert multiple_choice["status"] == SKIPPED and "classifier.weight is (2, 64) here" in multiple_choice["detail"]
    for head in ("AutoModelForMaskedLM", "AutoModelForQuestionAnswering", "AutoModelForPreTraining"):
        assert checks[f"{head} loads and runs"]["status"] == UNTRAINED, checks[f"{head} loads and runs"]
    assert not any("fill-mask" in name for name in checks)  # not this base's task
    assert "sequence classification near the maximum length" in checks

    api = HfApi(endpoint=hub_env.endpoint)
    config = json.loads(Path(api.hf_hub_download(result["repo_id"], "config.json")).read_text())
    assert config["id2label"] == {str(index): name for index, name in LABELS.items()}
    card = ModelCard.load(api.hf_hub_download(result["repo_id"], "README.md"))
    assert card.data.pipeline_tag == "text-classification"
    assert "| AutoModelForMultipleChoice loads and runs | skipped: cannot be built" in card.text


def test_a_classifier_whose_weights_changed_in_conversion_fails_the_gate_and_pushes_nothing(
    hub_env, sentiment_classifier, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("HF_TOKEN", ALICE)
    initialise = hubgen.convert._initialise_global_tokens

    def tampered(model, *args):
        with torch.no_grad():
            model.classifier.bias.add_(1e-3)  # every logit moves by 1e-3, ten times the tolerance; labels stay
        return initialise(model, *args)

    monkeypatch.setattr(hubgen.convert, "_initialise_global_tokens", tampered)
    args = [sentiment_classifier, "--max-len", "1024", "--repo-id", "alice/tampered"]
    run = publish(args, capsys, monkeypatch, caplog)
    assert run.code != 0
    assert "smoke tests failed, nothing was pushed: sequence classification: labels and logits vs the base model" in (
        run.stderr
    )
    assert not HfApi(endpoint=hub_env.endpoint, token=ALICE).repo_exists("alice/tampered")


HEADS = {
    "token": ("BertForTokenClassification", "token classification: labels and logits vs the base model", "classifier"),
    "qa": ("BertForQuestionAnswering", "question answering: answer spans vs the base model", "qa_outputs"),
}


@pytest.mark.parametrize("task", HEADS)
def test_token_classification_and_question_answering_are_compared_with_the_base(tiny_bert, tmp_path, task):
    architecture, check_name, head = HEADS[task]
    base = tmp_path / f"tiny-bert-{task}"
    torch.manual_seed(1)
    labels = {"id2label": {0: "O", 1: "B-LOC", 2: "I-LOC"}} if task == "token" else {}
    getattr(transformers, architecture).from_pretrained(tiny_bert, **labels).save_pretrained(base)
    transformers.AutoTokenizer.from_pretrained(tiny_bert).save_pretrained(base)
    convert(ConversionRequest(base=str(base), max_length=1024, output=tmp_path / "lsg"))

    report = run_smoke(ConvertedRepository.read(tmp_path / "lsg"), base=base)
    checks = {check["name"]: check for check in report.checks}
    assert report.ok and checks[check_name]["status"] == "pass", checks.get(check_name)
    if task == "token":  # three labels: no question-answering head (a start and an end) can read them
        assert checks["AutoModelForQuestionAnswering loads and runs"]["status"] == SKIPPED

    weights = load_file(tmp_path / "lsg" / "model.safetensors")
    for suffix in ("weight", "bias"):  # the best answers become the worst
        weights[f"{head}.{suffix}"] = -weights[f"{head}.{suffix}"]
    save_file(weights, tmp_path / "lsg" / "model.safetensors", metadata={"format": "pt"})
    report = run_smoke(ConvertedRepository.read(tmp_path / "lsg"), base=base)
    checks = {check["name"]: check for check in report.checks}
    assert not report.ok and checks[check_name]["status"] == "FAIL", checks.get(check_name)
