"""`attn_implementation="lsg"` on the side-by-side transformers installs, in fresh processes that see only
hubgen.attention and the modules it imports (tests/support/package_subset.py): before 4.53 register() stops with
one line naming the release it needs; from 4.53 on, library models whose code goes through the attention interface
compute the eager function on short inputs and generate over a cache as a whole forward computes. BERT's code goes
through it from 5.0; before, building a BERT with "lsg" fails in transformers' own code."""

from __future__ import annotations

import json

import pytest
from packaging.version import Version
from support.compat import SUPPORTED_VERSIONS, run_isolated
from support.package_subset import copy_with_imports

from hubgen.attention import MINIMUM_TRANSFORMERS

pytestmark = pytest.mark.compat

RESULT = "ATTENTION-RESULT "
CHILD = """
import copy, json, sys
import torch, transformers
from hubgen.attention import register

def report(**values):
    print(RESULT + json.dumps(values))
    sys.exit(0)

try:
    register()
except ImportError as error:
    report(refused=str(error))

TINY = {"vocab_size": 100, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
LSG = {"lsg_block_size": 16, "lsg_sparse_block_size": 16, "lsg_num_global_tokens": 2}

def build(model_class, config, implementation):
    torch.manual_seed(0)
    return model_class._from_config(copy.deepcopy(config), attn_implementation=implementation).eval()

def largest_difference(model_class, config, length):
    ids = torch.randint(3, 100, (2, length), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[1, -5:] = 0
    outputs = [build(model_class, config, name)(input_ids=ids, attention_mask=mask)[0] for name in ("eager", "lsg")]
    return float((outputs[0] - outputs[1])[mask.bool()].abs().max())

results = {"version": transformers.__version__}
llama = transformers.LlamaConfig(**TINY, num_key_value_heads=2, max_position_embeddings=512, **LSG)
results["llama_short"] = largest_difference(transformers.LlamaForCausalLM, llama, 32)
results["llama_long"] = largest_difference(transformers.LlamaForCausalLM, llama, 100)
model = build(transformers.LlamaForCausalLM, llama, "lsg")
prompt = torch.randint(3, 100, (1, 200), generator=torch.Generator().manual_seed(2))
with torch.no_grad():
    generated = model.generate(prompt, max_new_tokens=4, do_sample=False, output_logits=True,
                               return_dict_in_generate=True, pad_token_id=0)
    whole = model(generated.sequences, use_cache=False).logits
results["generation"] = float((torch.stack(generated.logits, dim=1) - whole[:, 199:-1]).abs().max())
try:
    results["bert_short"] = largest_difference(transformers.BertModel, transformers.BertConfig(**TINY, **LSG), 32)
except Exception as error:
    results["bert_error"] = f"{type(error).__name__}: {error}"
report(**results)
""".replace("RESULT", repr(RESULT))


def _run(version: str, tmp_path) -> dict:
    package = copy_with_imports("hubgen.attention", tmp_path / "package")
    result = run_isolated(
        CHILD, transformers_version=version, cwd=tmp_path, extra_paths=[package], check=True, timeout=600
    )
    line = next(line for line in result.stdout.splitlines() if line.startswith(RESULT))
    return json.loads(line.removeprefix(RESULT))


@pytest.mark.parametrize("version", [v for v in SUPPORTED_VERSIONS if Version(v) < Version(MINIMUM_TRANSFORMERS)])
def test_register_names_the_release_it_needs(version, tmp_path):
    refused = _run(version, tmp_path)["refused"]
    assert "\n" not in refused
    assert f"needs transformers >= {MINIMUM_TRANSFORMERS}" in refused and f"found {version}" in refused


@pytest.mark.parametrize("version", [v for v in SUPPORTED_VERSIONS if Version(v) >= Version(MINIMUM_TRANSFORMERS)])
def test_library_models_run_lsg_attention(version, tmp_path):
    results = _run(version, tmp_path)
    assert results["version"] == version
    assert results["llama_short"] <= 1e-4 and results["llama_long"] > 1e-5
    assert results["generation"] <= 1e-5
    if Version(version).major >= 5:
        assert results["bert_short"] <= 1e-4
    else:
        assert "bert_short" not in results, "BERT went through the attention interface before 5.0"
