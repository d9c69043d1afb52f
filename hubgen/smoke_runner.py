"""Smoke tests of a converted repository, run as a script in a fresh interpreter by `hubgen smoke`.

This file imports torch and transformers only (and sentence-transformers for such models), and refuses `import
hubgen`: a repository that passes here loads for users who never installed hubgen. It reads a JSON request on stdin
and prints one JSON line on stdout, after the marker the request names (libraries may print too, e.g. transformers'
remote-code prompt, so the marker finds the result).

What is checked: every Auto class of the repository loads and runs on an input beyond two blocks; heads the base did
not have are reported as new and untrained, heads that cannot be built for the checkpoint as skipped. Then the base
model's own task (fill-mask, classification, question answering, sentence embeddings, generation) is compared with
the base model on short inputs (at most two blocks, where the LSG model must compute the base's function when its
first global token stands for the first token), and run once near the maximum length.

Tokenizers are loaded with `trust_remote_code=True`: transformers 5.x reads the model config before the tokenizer,
and an LSG config (model type "lsg-<type>") is remote code by design, so plain loading cannot build a wrong model.
A native repository (Longformer, BigBird, YOSO: `hubgen.native`) is loaded without remote code everywhere, its
lengths and task given by the request (`Target`), and compared on the inputs it attends fully.
"""

from __future__ import annotations

import functools
import importlib.abc
import inspect
import json
import math
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path


class _NoHubgen(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hubgen" or name.startswith("hubgen."):
            raise ImportError("hubgen is deliberately not importable during smoke tests")


sys.meta_path.insert(0, _NoHubgen())
if sys.path and sys.path[0].rstrip("/").endswith("hubgen"):
    sys.path.pop(0)

import torch
import transformers
from safetensors import safe_open

ENGLISH = [
    "Paris is the {mask} of France.",
    "The goal of life is {mask}.",
    "The cat sat on the {mask}.",
    "She drinks a cup of {mask} every morning.",
]
FRENCH = [
    "Paris est la {mask} de la France.",
    "Le chat dort sur le {mask}.",
    "Elle boit une tasse de {mask} chaque matin.",
]
# Short inputs for classifiers and sentence embeddings, and question/context pairs for question answering.
TEXTS = {
    "en": [
        "The cat sat on the warm mat near the door.",
        "Paris is the capital of France.",
        "This film was a complete waste of time.",
        "What a wonderful day for a long walk in the park!",
    ],
    "fr": [
        "Le chat dort sur le tapis près de la porte.",
        "Paris est la capitale de la France.",
        "Ce film était une perte de temps.",
        "Quelle belle journée pour une longue promenade !",
    ],
}
QUESTIONS = {
    "en": [
        ("Where does the cat sleep?", "The cat sleeps on the warm mat near the door of the old house."),
        ("What is the capital of France?", "Paris is the capital of France and its largest city."),
        ("Who wrote the letter?", "The letter was written by Marie in the spring of last year."),
    ],
    "fr": [
        ("Où dort le chat ?", "Le chat dort sur le tapis chaud près de la porte de la vieille maison."),
        ("Quelle est la capitale de la France ?", "Paris est la capitale de la France et sa plus grande ville."),
        ("Qui a écrit la lettre ?", "La lettre a été écrite par Marie au printemps dernier."),
    ],
}
LOGIT_TOLERANCE = 1e-4
COSINE_MINIMUM = 0.9999
NORM_TOLERANCE = 1e-3
UNTRAINED = "new head, untrained"
SKIPPED = "skipped"


@dataclass
class Status:
    """What a check found, when it is more than a pass: a new head, a skip, or a difference that is not a failure."""

    detail: str
    status: str = "pass"


@dataclass(frozen=True)
class Target:
    """The repository under test: an LSG one (remote code) or a native one, which loads without it."""

    folder: str
    remote: bool
    auto_classes: list
    task: str | None  # the Auto class of the head the weights were saved with: the base model's own task
    long_length: int  # the input every Auto class runs on
    short_length: int  # the longest input the model attends fully, as the base does


class Disagreement(ValueError):
    """The LSG model does not do the base model's task as the base does, where it must: the gate fails."""


def _check(results: list, name: str, function) -> object:
    """Run one check, recording its status, duration and detail (the error's last line) instead of stopping."""
    started = time.perf_counter()
    try:
        value = function()
    except Exception as error:  # noqa: BLE001 - every failure becomes a reported check
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        results.append({"name": name, "ok": False, "status": "FAIL", "detail": last, "seconds": _since(started)})
        return None
    if isinstance(value, Status):
        results.append({"name": name, "ok": True, "status": value.status, "detail": value.detail})
    else:
        detail = value if isinstance(value, (str, list)) else type(value).__name__
        results.append({"name": name, "ok": True, "status": "pass", "detail": detail})
    results[-1]["seconds"] = _since(started)
    return value


def _since(started: float) -> float:
    return time.perf_counter() - started


def _record(results: list, name: str, status: str, detail: str) -> None:
    """A check decided without running anything (a skip, or a failure known in advance)."""
    results.append({"name": name, "ok": status != "FAIL", "status": status, "detail": detail, "seconds": 0.0})


def _gate(agree: bool, detail: str, exact: bool) -> Status:
    """Agreement passes; a difference fails where the LSG model must equal the base, and is reported otherwise."""
    if agree:
        return Status(detail)
    if exact:
        raise Disagreement(detail)
    return Status(detail, "differs, as these settings allow")


def _long_ids(tokenizer, length: int) -> dict:
    words = ("the quick brown fox jumps over the lazy dog and keeps running through the long document " * 2000).split()
    encoded = tokenizer(" ".join(words), truncation=True, max_length=length, return_tensors="pt")
    return dict(encoded)


def _finite(output) -> str:
    tensor = output[0] if isinstance(output, tuple) else output.logits if hasattr(output, "logits") else output[0]
    if not torch.isfinite(tensor.float()).all():
        raise ValueError("non-finite outputs")
    return f"output {tuple(tensor.shape)}"


# --- every head: loads, runs, and is it the base's? ------------------------------------------------------------------


def _stored_shapes(folder: str) -> dict:
    shapes = {}
    for path in Path(folder).glob("*.safetensors"):
        with safe_open(str(path), "pt") as stored:
            names = stored.keys()  # a file handle, not a dict: no `in`, no iteration
            shapes.update({name: tuple(stored.get_slice(name).get_shape()) for name in names})
    return shapes


def _unbuildable(loader, config, shapes: dict, remote: bool) -> str | None:
    """Why this head cannot be built on this checkpoint, if it cannot: a weight it shares by name with the
    checkpoint has another shape (a multiple-choice head on a fine-tuned classifier's 3-label `classifier`), or the
    config gives it the wrong number of outputs (a question-answering head on a 3-label token classifier: it
    predicts a start and an end, and transformers' own heads fail there the same way)."""
    try:
        with torch.device("meta"):
            model = loader.from_config(config, trust_remote_code=remote)
    except Exception:  # noqa: BLE001 - loading it for real, next, reports the error as a check
        return None
    spans = getattr(model, "qa_outputs", None)
    if spans is not None and spans.out_features != 2:
        return f"cannot be built for this config: it predicts a start and an end, num_labels is {config.num_labels}"
    for name, tensor in model.state_dict().items():
        if name in shapes and shapes[name] != tuple(tensor.shape):
            return (
                f"cannot be built for this checkpoint: {name} is {shapes[name]} here, "
                f"{tuple(tensor.shape)} in {type(model).__name__}"
            )
    return None


def _new_head_weights(model, missing: list, recorded_new: list, saved_class: str) -> list:
    """The head's weights the base did not have: missing from the repository, or added by the conversion (which
    saved them with the converted class, so only the recorded list tells them apart from trained ones)."""
    if model.base_model is model:
        return []
    new = set(missing) | (set(recorded_new) if type(model).__name__ == saved_class else set())
    return sorted(name for name in new if not name.startswith(model.base_model_prefix + "."))


def _heads(folder: str, config, tokenizer, recorded_new: list, results: list, target: Target) -> dict:
    """Load and run every Auto class on a long input (beyond two blocks for LSG); returns each one's status."""
    long_length = target.long_length
    shapes = _stored_shapes(folder)
    saved_class = (config.architectures or [""])[0]
    statuses = {}
    for auto_class in target.auto_classes:
        loader = getattr(transformers, auto_class)
        name = f"{auto_class} loads and runs{'' if target.remote else ' (no remote code)'}"
        reason = _unbuildable(loader, config, shapes, target.remote)
        if reason:
            _record(results, name, SKIPPED, reason)
            statuses[auto_class] = SKIPPED
            continue

        def load_and_run(loader=loader) -> Status:
            model, info = loader.from_pretrained(folder, trust_remote_code=target.remote, output_loading_info=True)
            inputs = _long_ids(tokenizer, long_length)
            if loader is transformers.AutoModelForMultipleChoice:
                inputs = {key: value[:, None].repeat(1, 2, 1) for key, value in inputs.items()}
            if loader in _FREE_DECODER_LENGTH and config.is_encoder_decoder:
                inputs["decoder_input_ids"] = torch.full((1, 4), config.decoder_start_token_id)
            if "global_attention_mask" in inspect.signature(model.forward).parameters:
                # Longformer's question-answering and multiple-choice heads find their global tokens by counting
                # three separators, which only RoBERTa-style pairs have; the first token, given, serves any tokenizer.
                inputs["global_attention_mask"] = torch.zeros_like(inputs["input_ids"])
                inputs["global_attention_mask"][..., 0] = 1
            with torch.no_grad():
                detail = f"{type(model).__name__} on {long_length} tokens: {_finite(model.eval()(**inputs))}"
            new = _new_head_weights(model, info["missing_keys"], recorded_new, saved_class)
            return Status(f"{detail}; new weights: {', '.join(new)}", UNTRAINED) if new else Status(detail)

        outcome = _check(results, name, load_and_run)
        statuses[auto_class] = outcome.status if outcome else "FAIL"
    return statuses


# Encoder-decoder classes whose decoder may read any number of positions; the classification and question-answering
# heads read the decoder at the input's own positions (its shifted input_ids, their default).
_FREE_DECODER_LENGTH = (transformers.AutoModel, transformers.AutoModelForSeq2SeqLM)


# --- the base's own task, against the base ---------------------------------------------------------------------------


def _compare(base: str | None, texts: list, results: list, task: str, answers, remote: bool = True) -> list:
    """The converted model's answer to each text, next to the base model's when the base is at hand.

    `answers(path, remote)` loads a model from `path` and answers every text."""
    lsg = _check(results, f"{task} ({'LSG' if remote else 'long'} model)", lambda: answers(None, remote))
    reference = _check(results, f"{task} (base model)", lambda: answers(base, False)) if base else None
    rows = []
    for index, text in enumerate(texts):
        row = {"sentence": text, "lsg": lsg[index] if lsg else None}
        if reference:
            row["base"] = reference[index]
            row["agree"] = row["lsg"] == row["base"]
        rows.append(row)
    return rows


def _agreement(results: list, name: str, rows: list, exact: bool) -> None:
    compared = [row for row in rows if "agree" in row and row["lsg"] is not None]
    if compared:
        agreeing = sum(row["agree"] for row in compared)
        detail = f"{agreeing}/{len(compared)} agree"
        _check(results, name, lambda: _gate(agreeing == len(compared), detail, exact))


def _masked_texts(tokenizer, request: dict) -> list:
    sentences = request.get("sentences") or (FRENCH if request.get("language") == "fr" else ENGLISH)
    return [sentence.format(mask=tokenizer.mask_token) for sentence in sentences]


def _fill_mask(
    folder: str, base: str | None, tokenizer, request: dict, results: list, exact: bool, remote: bool = True
) -> list:
    texts = _masked_texts(tokenizer, request)

    def answers(path: str | None, remote: bool) -> list:
        path = path or folder
        model = transformers.AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=remote).eval()
        tok = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=remote)
        fill = transformers.pipeline("fill-mask", model=model, tokenizer=tok)
        return [answers[0]["token_str"].strip() for answers in fill(texts, top_k=1)]

    rows = _compare(base, texts, results, "fill-mask pipeline", answers, remote)
    _agreement(results, "fill-mask: top-1 tokens vs the base model", rows, exact)
    return rows


def _infill(base: str | None, tokenizer, lsg_model, request: dict, results: list, exact: bool) -> list:
    """Seq2seq checkpoints are denoisers: given the masked sentence, greedy generate() writes the whole sentence."""
    texts = _masked_texts(tokenizer, request)

    def answers(path: str | None, remote: bool) -> list:
        model = lsg_model() if path is None else transformers.AutoModelForSeq2SeqLM.from_pretrained(path).eval()
        written = []
        for text in texts:
            with torch.no_grad():
                output = model.generate(**tokenizer(text, return_tensors="pt"), max_new_tokens=24, num_beams=1)
            written.append(tokenizer.decode(output[0], skip_special_tokens=True).strip())
        return written

    rows = _compare(base, texts, results, "text infilling with generate()", answers)
    _agreement(results, "text infilling: greedy generations vs the base model", rows, exact)
    return rows


def _generate(tokenizer, lsg_model, config, results: list) -> dict:
    inputs = _long_ids(tokenizer, config.max_position_embeddings - 8)

    def summarise() -> str:
        with torch.no_grad():
            output = lsg_model().generate(**inputs, max_new_tokens=20, num_beams=2)
        text = tokenizer.decode(output[0], skip_special_tokens=True)
        return f"{inputs['input_ids'].shape[1]} tokens in, {output.shape[1]} tokens out: {text[:80]!r}"

    return {"summary": _check(results, "generate() on a long input (beam search)", summarise)}


def _pair(target: Target, base: str, auto_class: str) -> tuple:
    """(model, tokenizer) of the converted repository and of the base, each with its own tokenizer: a tokenizer that
    lost a setting in conversion shows as a difference too."""
    loader = getattr(transformers, auto_class)
    loaded = []
    for path, remote in ((target.folder, target.remote), (base, False)):
        model = loader.from_pretrained(path, trust_remote_code=remote).eval()
        loaded.append((model, transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=remote)))
    return tuple(loaded)


def _short(tokenizer, target: Target, texts: list, pairs: list | None = None) -> dict:
    """Inputs on which the converted model's attention is full, as the base's (two blocks for LSG)."""
    limit = target.short_length
    truncation = "only_second" if pairs else True
    return tokenizer(texts, pairs, padding=True, truncation=truncation, max_length=limit, return_tensors="pt")


def _classification(target: Target, base: str, language: str, auto_class: str, exact: bool) -> Status:
    """Sequence or token classification: the same predicted labels (by name) and logits within the tolerance."""
    outputs = []
    for model, tokenizer in _pair(target, base, auto_class):
        inputs = _short(tokenizer, target, TEXTS[language])
        with torch.no_grad():
            logits = model(**inputs).logits
        if logits.dim() == 3:  # one row per token: the padding's rows say nothing
            logits = logits[inputs["attention_mask"].bool()]
        outputs.append((logits, [model.config.id2label[int(index)] for index in logits.argmax(-1)]))
    (lsg, lsg_labels), (reference, base_labels) = outputs
    if lsg.shape != reference.shape:
        raise Disagreement(f"logits of shape {tuple(lsg.shape)}, the base's {tuple(reference.shape)}")
    same = sum(a == b for a, b in zip(lsg_labels, base_labels))
    difference = float((lsg - reference).abs().max())
    shown = ", ".join(lsg_labels[:8]) + (", ..." if len(lsg_labels) > 8 else "")
    detail = (
        f"{same}/{len(base_labels)} same labels ({shown}); largest logit difference {difference:.1e} "
        f"(at most {LOGIT_TOLERANCE:.0e})"
    )
    return _gate(same == len(base_labels) and difference <= LOGIT_TOLERANCE, detail, exact)


def _spans(model, tokenizer, target: Target, questions: list) -> list:
    """The best answer span of each question: start <= end, inside the context, at most 30 tokens."""
    inputs = _short(tokenizer, target, [q for q, _ in questions], [c for _, c in questions])
    with torch.no_grad():
        output = model(**inputs)
    spans = []
    for row in range(len(questions)):
        context = [index for index, sequence in enumerate(inputs.sequence_ids(row)) if sequence == 1]
        start_logits, end_logits = output.start_logits[row], output.end_logits[row]
        _, start, end = max(
            (float(start_logits[s] + end_logits[e]), s, e) for s in context for e in context if s <= e < s + 30
        )
        spans.append(tokenizer.decode(inputs["input_ids"][row][start : end + 1]).strip())
    return spans


def _question_answering(target: Target, base: str, language: str, exact: bool) -> Status:
    (lsg, lsg_tokenizer), (reference, base_tokenizer) = _pair(target, base, "AutoModelForQuestionAnswering")
    lsg_spans = _spans(lsg, lsg_tokenizer, target, QUESTIONS[language])
    base_spans = _spans(reference, base_tokenizer, target, QUESTIONS[language])
    same = sum(a == b for a, b in zip(lsg_spans, base_spans))
    detail = f"{same}/{len(base_spans)} same answer spans ({', '.join(repr(span) for span in lsg_spans)})"
    return _gate(same == len(base_spans), detail, exact)


def _sentence_transformers(folder: str, base: str | None, config, language: str, results: list, exact: bool) -> None:
    """The repository as sentence-transformers loads it: the base's modules, embeddings of short sentences with
    the base's directions and norms, and a document near the maximum length."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        message = "sentence-transformers is not installed: pip install 'hubgen[sentence-transformers]'"
        _record(results, "sentence-transformers loads the repository", "FAIL", message)
        return
    model = _check(
        results,
        "sentence-transformers loads the repository",
        lambda: SentenceTransformer(folder, trust_remote_code=True, device="cpu"),
    )
    if model is None:
        return
    texts = TEXTS[language]
    if base:

        def embeddings() -> Status:
            reference = SentenceTransformer(base, device="cpu")
            modules, base_modules = _module_names(model), _module_names(reference)
            if modules != base_modules:
                raise Disagreement(f"modules {' → '.join(modules)}, the base's {' → '.join(base_modules)}")
            ours = model.encode(texts, convert_to_tensor=True)
            theirs = reference.encode(texts, convert_to_tensor=True)
            cosine = float(torch.nn.functional.cosine_similarity(ours, theirs).min())
            norms = float((ours.norm(dim=-1) - theirs.norm(dim=-1)).abs().max())
            detail = (
                f"{' → '.join(modules)}; smallest cosine {cosine:.6f} (at least {COSINE_MINIMUM}), largest norm "
                f"difference {norms:.1e} (at most {NORM_TOLERANCE:.0e})"
            )
            return _gate(cosine >= COSINE_MINIMUM and norms <= NORM_TOLERANCE, detail, exact)

        _check(results, "sentence embeddings vs the base model (sentence-transformers)", embeddings)

    def long_document() -> str:
        document = " ".join(["the quick brown fox jumps over the lazy dog"] * (model.max_seq_length // 4))
        tokens = len(model.tokenize([document])["input_ids"][0])
        embedding = model.encode([document], convert_to_tensor=True)
        if not torch.isfinite(embedding).all():
            raise ValueError("non-finite embedding")
        return f"max_seq_length {model.max_seq_length}: {tokens} tokens -> embedding {tuple(embedding.shape[1:])}"

    _check(results, "sentence-transformers on a document near the maximum length", long_document)


def _module_names(model) -> list:
    return [type(module).__name__ + _pooling(module) for module in model]


def _pooling(module) -> str:
    mode = getattr(module, "pooling_mode", None)
    return f" ({mode if isinstance(mode, str) else '+'.join(mode)})" if mode else ""


def _library_base(base: str | None, results: list) -> str | None:
    """The base to compare with, if it is a library checkpoint: an LSG base's own code is what the repository
    replaces (published LSG files fail on recent transformers), so there is nothing sound to compare with."""
    if not base:
        _record(results, "comparison with the base model", SKIPPED, "the base model is not at hand (pass --base)")
        return None
    config = json.loads((Path(base) / "config.json").read_text())
    if config.get("auto_map") or str(config.get("model_type", "")).startswith("lsg-"):
        reason = "the base is an LSG checkpoint, whose code this replaces"
        _record(results, "comparison with the base model", SKIPPED, reason)
        return None
    return base


def _task_class(config) -> str | None:
    """The Auto class of the head the checkpoint was saved with: the base model's own task."""
    saved = (config.architectures or [""])[0]
    return next((key for key, target in config.auto_map.items() if target.rsplit(".", 1)[-1] == saved), None)


def _target(request: dict, config) -> Target:
    """What the checks need to know of the repository: from its LSG config, or from the request for a native one
    (`native`: its Auto classes, its task and the lengths convert settled, which its config states differently per
    architecture)."""
    native = request.get("native")
    if native:
        return Target(
            request["folder"],
            False,
            native["auto_classes"],
            native["task"],
            native["long_length"],
            native["short_length"],
        )
    block = config.block_size
    auto_classes = sorted(key for key in config.auto_map if key != "AutoConfig")
    long_length = min(config.max_position_embeddings - 8, 4 * block + block // 2)
    return Target(request["folder"], True, auto_classes, _task_class(config), long_length, 2 * block)


def run(request: dict) -> dict:
    """Every check of `request["folder"]`. The request also names the base to compare with (a folder, or None), the
    fill-mask `language` or `sentences`, the weights convert added (`new_weights`: trained-looking but new), the
    positions available to text (`max_length`: the table minus the type's offset), which the config alone does not
    tell, and for a native repository (no remote code) what `_target` reads."""
    folder = request["folder"]
    remote = not request.get("native")
    torch.manual_seed(0)
    results: list = []
    config = _check(
        results, "AutoConfig", lambda: transformers.AutoConfig.from_pretrained(folder, trust_remote_code=remote)
    )
    if config is None:
        return {"ok": False, "checks": results, "fill_mask": []}
    target = _target(request, config)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=remote)
    heads = _heads(folder, config, tokenizer, request.get("new_weights") or [], results, target)
    base = _library_base(request.get("base"), results)
    language = "fr" if request.get("language") == "fr" else "en"
    # Global token 0 stands for the first token, and no other global token is seen: short inputs give the base's
    # function exactly, so any disagreement there is a fault. Other settings change the function a little. A
    # native model computes the base's function on the inputs it attends fully.
    exact = not remote or (bool(config.mask_first_token) and config.num_global_tokens == 1)
    task = target.task
    fill_mask, extra = [], {}
    trained_lm = task in ("AutoModelForMaskedLM", "AutoModelForPreTraining") and heads.get("AutoModelForMaskedLM")
    if trained_lm == "pass" and tokenizer.mask_token:
        fill_mask = _fill_mask(folder, base, tokenizer, request, results, exact, remote)
    if "AutoModelForSeq2SeqLM" in target.auto_classes:
        # Loaded once for both checks, and inside them, so that a failure to load is a reported check.
        lsg_model = functools.cache(
            lambda: transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
        )
        if tokenizer.mask_token:
            fill_mask = _infill(base, tokenizer, lsg_model, request, results, exact)
        extra = _generate(tokenizer, lsg_model, config, results)
    if base and heads.get(task) == "pass":
        if task in ("AutoModelForSequenceClassification", "AutoModelForTokenClassification"):
            kind = "sequence" if task == "AutoModelForSequenceClassification" else "token"
            _check(
                results,
                f"{kind} classification: labels and logits vs the base model",
                lambda: _classification(target, base, language, task, exact),
            )
        elif task == "AutoModelForQuestionAnswering":
            _check(
                results,
                "question answering: answer spans vs the base model",
                lambda: _question_answering(target, base, language, exact),
            )
    if (Path(folder) / "modules.json").is_file():
        _sentence_transformers(folder, base, config, language, results, exact)
    if "AutoModelForSequenceClassification" in target.auto_classes and heads.get(
        "AutoModelForSequenceClassification"
    ) not in (SKIPPED, "FAIL"):
        _check(
            results,
            "sequence classification near the maximum length",
            lambda: _classify_near_max(target, config, request["max_length"]),
        )
    ok = all(check["ok"] for check in results)
    return {"ok": ok, "checks": results, "fill_mask": fill_mask, **extra}


def _classify_near_max(target: Target, config, max_length: int) -> str:
    tokenizer = transformers.AutoTokenizer.from_pretrained(target.folder, trust_remote_code=target.remote)
    near_max = max_length - 4
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        target.folder, trust_remote_code=target.remote
    )
    inputs = _long_ids(tokenizer, near_max)
    if config.is_encoder_decoder:
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    with torch.no_grad():
        logits = model.eval()(**inputs).logits
    if not torch.isfinite(logits).all() or not math.isclose(float(logits.softmax(-1).sum()), 1.0, rel_tol=1e-4):
        raise ValueError("classification probabilities are not a distribution")
    return f"{inputs['input_ids'].shape[1]} tokens -> logits {tuple(logits.shape)}"


if __name__ == "__main__":
    request = json.load(sys.stdin)
    print(request["result_marker"] + json.dumps(run(request)))
