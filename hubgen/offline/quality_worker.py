"""One quality measurement in a fresh interpreter (`hubgen.bench.quality` runs it): a converted model next to its
base, loaded as users load it (`trust_remote_code` only for LSG), on the base's own fill-mask questions and on an
input near the maximum length.

Imports torch and transformers only, so a figure is the repository's, not hubgen's. Reads the job as JSON on stdin,
prints one line starting with the job's `result_marker`.
"""

from __future__ import annotations

import json
import sys

import torch
import transformers


def _top1(path: str, remote: bool, questions: list) -> list:
    model = transformers.AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=remote).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=remote)
    fill = transformers.pipeline("fill-mask", model=model, tokenizer=tokenizer)
    texts = [question.format(mask=tokenizer.mask_token) for question in questions]
    return [answers[0]["token_str"].strip() for answers in fill(texts, top_k=1)]


def _long_input(path: str, remote: bool, length: int) -> dict:
    model = transformers.AutoModelForMaskedLM.from_pretrained(path, trust_remote_code=remote).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path, trust_remote_code=remote)
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * length)
    inputs = tokenizer(text, truncation=True, max_length=length, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits
    return {"tokens": inputs["input_ids"].shape[1], "finite": bool(torch.isfinite(logits).all())}


def measure(job: dict) -> dict:
    ours = _top1(job["folder"], job["remote"], job["questions"])
    theirs = _top1(job["base"], False, job["questions"])
    return {
        "answers": ours,
        "base_answers": theirs,
        "agreeing": sum(a == b for a, b in zip(ours, theirs)),
        "long_input": _long_input(job["folder"], job["remote"], job["long_length"]),
    }


if __name__ == "__main__":
    job = json.load(sys.stdin)
    print(job["result_marker"] + json.dumps(measure(job)))
