"""The README's examples of hubgen.attention run as written, in a fresh process, offline, with an empty HF_HOME; the
model example's Hub id is replaced by a tiny Llama saved locally (with the tiny BERT's tokenizer)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import transformers

ROOT = Path(__file__).resolve().parents[1]


def readme_examples() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## LSG attention for any model", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_the_readme_examples_run(tiny_bert, tmp_path):
    model_example, layer_example = readme_examples()
    folder = tmp_path / "tiny-llama"
    # A Llama tokenizer gives no token type ids: neither may this one, which generate() would refuse.
    tokenizer = transformers.AutoTokenizer.from_pretrained(
        tiny_bert, model_input_names=["input_ids", "attention_mask"]
    )
    tokenizer.save_pretrained(folder)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=8192, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
        eos_token_id=tokenizer.sep_token_id,
    )  # fmt: skip
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    name = re.search(r'name = "([^"]+)"', model_example).group(1)
    assert "/" in name, "the example loads a model by its Hub id"
    # One process for both (the layer example first: its line is the first printed), as two would cost twice the start.
    code = layer_example + "\n" + model_example.replace(f'"{name}"', repr(str(folder)))
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.splitlines()[0] == re.search(r"# (torch\.Size\(.*\))", layer_example).group(1)
