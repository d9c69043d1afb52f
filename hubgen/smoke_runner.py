"""Smoke tests of a converted repository, run as a script in a fresh interpreter by `hubgen smoke`.

This file imports torch and transformers only, and refuses `import hubgen`: a repository that passes here loads
for users who never installed hubgen. It reads a JSON request on stdin and prints one marked JSON line on stdout
(libraries may print too, e.g. transformers' remote-code prompt, so the marker finds the result).

Tokenizers are loaded with `trust_remote_code=True`: transformers 5.x reads the model config before the tokenizer,
and an LSG config (model type "lsg-<type>") is remote code by design, so plain loading cannot build a wrong model.
"""

from __future__ import annotations

import functools
import importlib.abc
import json
import math
import sys
import time
import traceback


class _NoHubgen(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "hubgen" or name.startswith("hubgen."):
            raise ImportError("hubgen is deliberately not importable during smoke tests")


sys.meta_path.insert(0, _NoHubgen())
if sys.path and sys.path[0].rstrip("/").endswith("hubgen"):
    sys.path.pop(0)

import torch
import transformers

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


def _check(results: list, name: str, function) -> object:
    """Run one check, recording success, duration and the error's last line instead of stopping."""
    started = time.perf_counter()
    try:
        value = function()
        detail = value if isinstance(value, (str, list)) else type(value).__name__
        results.append({"name": name, "ok": True, "detail": detail, "seconds": time.perf_counter() - started})
        return value
    except Exception as error:  # noqa: BLE001 - every failure becomes a reported check
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        results.append({"name": name, "ok": False, "detail": last, "seconds": time.perf_counter() - started})
        return None


def _long_ids(tokenizer, length: int) -> dict:
    words = ("the quick brown fox jumps over the lazy dog and keeps running through the long document " * 2000).split()
    encoded = tokenizer(" ".join(words), truncation=True, max_length=length, return_tensors="pt")
    return dict(encoded)


def _finite(output) -> str:
    tensor = output[0] if isinstance(output, tuple) else output.logits if hasattr(output, "logits") else output[0]
    if not torch.isfinite(tensor.float()).all():
        raise ValueError("non-finite outputs")
    return f"output {tuple(tensor.shape)}"


def _compare(base: str | None, texts: list, results: list, task: str, answers) -> list:
    """The LSG model's answer to each text, next to the base model's when the base is at hand.

    `answers(path, remote)` loads a model from `path` and answers every text."""
    lsg = _check(results, f"{task} (LSG model)", lambda: answers(None, True))
    reference = _check(results, f"{task} (base model)", lambda: answers(base, False)) if base else None
    rows = []
    for index, text in enumerate(texts):
        row = {"sentence": text, "lsg": lsg[index] if lsg else None}
        if reference:
            row["base"] = reference[index]
            row["agree"] = row["lsg"] == row["base"]
        rows.append(row)
    return rows


def _masked_texts(tokenizer, request: dict) -> list:
    sentences = request.get("sentences") or (FRENCH if request.get("language") == "fr" else ENGLISH)
    return [sentence.format(mask=tokenizer.mask_token) for sentence in sentences]


def _fill_mask(folder: str, tokenizer, request: dict, results: list) -> list:
    texts = _masked_texts(tokenizer, request)

    def answers(path: str | None, remote: bool) -> list:
        path = path or folder
        model = transformers.AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=remote).eval()
        tok = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=remote)
        fill = transformers.pipeline("fill-mask", model=model, tokenizer=tok)
        return [answers[0]["token_str"].strip() for answers in fill(texts, top_k=1)]

    return _compare(request.get("base"), texts, results, "fill-mask pipeline", answers)


def _infill(tokenizer, lsg_model, request: dict, results: list) -> list:
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

    return _compare(request.get("base"), texts, results, "text infilling with generate()", answers)


def _generate(tokenizer, lsg_model, config, results: list) -> dict:
    inputs = _long_ids(tokenizer, config.max_position_embeddings - 8)

    def summarise() -> str:
        with torch.no_grad():
            output = lsg_model().generate(**inputs, max_new_tokens=20, num_beams=2)
        text = tokenizer.decode(output[0], skip_special_tokens=True)
        return f"{inputs['input_ids'].shape[1]} tokens in, {output.shape[1]} tokens out: {text[:80]!r}"

    return {"summary": _check(results, "generate() on a long input (beam search)", summarise)}


# Encoder-decoder classes whose decoder may read any number of positions; the classification and question-answering
# heads read the decoder at the input's own positions (its shifted input_ids, their default).
_FREE_DECODER_LENGTH = (transformers.AutoModel, transformers.AutoModelForSeq2SeqLM)


def run(request: dict) -> dict:
    folder = request["folder"]
    torch.manual_seed(0)
    results: list = []
    config = _check(
        results, "AutoConfig", lambda: transformers.AutoConfig.from_pretrained(folder, trust_remote_code=True)
    )
    if config is None:
        return {"ok": False, "checks": results, "fill_mask": []}
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    block = config.block_size
    long_length = min(config.max_position_embeddings - 8, 4 * block + block // 2)
    fill_mask = []
    for auto_class in sorted(key for key in config.auto_map if key != "AutoConfig"):
        loader = getattr(transformers, auto_class)

        def load_and_run(loader=loader):
            model = loader.from_pretrained(folder, trust_remote_code=True).eval()
            inputs = _long_ids(tokenizer, long_length)
            if loader is transformers.AutoModelForMultipleChoice:
                inputs = {key: value[:, None].repeat(1, 2, 1) for key, value in inputs.items()}
            if loader in _FREE_DECODER_LENGTH and config.is_encoder_decoder:
                inputs["decoder_input_ids"] = torch.full((1, 4), config.decoder_start_token_id)
            with torch.no_grad():
                return f"{type(model).__name__} on {long_length} tokens: {_finite(model(**inputs))}"

        _check(results, f"{auto_class} loads and runs", load_and_run)
    trained_lm_head = any(name.endswith(("ForMaskedLM", "ForPreTraining")) for name in config.architectures or ())
    if "AutoModelForMaskedLM" in config.auto_map and tokenizer.mask_token and trained_lm_head:
        fill_mask = _fill_mask(folder, tokenizer, request, results)
    extra = {}
    if "AutoModelForSeq2SeqLM" in config.auto_map:
        # Loaded once for both checks, and inside them, so that a failure to load is a reported check.
        lsg_model = functools.cache(
            lambda: transformers.AutoModelForSeq2SeqLM.from_pretrained(folder, trust_remote_code=True).eval()
        )
        if tokenizer.mask_token:
            fill_mask = _infill(tokenizer, lsg_model, request, results)
        extra = _generate(tokenizer, lsg_model, config, results)
    if "AutoModelForSequenceClassification" in config.auto_map:
        near_max = config.max_position_embeddings - (2 if config.model_type.endswith("roberta") else 0) - 4

        def classify() -> str:
            model = transformers.AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)
            inputs = _long_ids(tokenizer, near_max)
            if config.is_encoder_decoder:
                inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
            with torch.no_grad():
                logits = model.eval()(**inputs).logits
            if not torch.isfinite(logits).all() or not math.isclose(
                float(logits.softmax(-1).sum()), 1.0, rel_tol=1e-4
            ):
                raise ValueError("classification probabilities are not a distribution")
            return f"{inputs['input_ids'].shape[1]} tokens -> logits {tuple(logits.shape)}"

        _check(results, "sequence classification near the maximum length", classify)
    ok = all(check["ok"] for check in results)
    return {"ok": ok, "checks": results, "fill_mask": fill_mask, **extra}


RESULT_MARKER = "HUBGEN_SMOKE_RESULT "

if __name__ == "__main__":
    print(RESULT_MARKER + json.dumps(run(json.load(sys.stdin))))
