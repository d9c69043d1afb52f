"""Memory grows linearly with the length: a 16,384-token forward costs less than 5x a 4,096-token one."""

from __future__ import annotations

import pytest
from support.compat import run_isolated

from hubgen.registry import MODEL_TYPES
from hubgen.render import write_modeling_file

MEASURE = """
import importlib.util, resource, sys, torch
spec = importlib.util.spec_from_file_location("modeling_lsg_bert", {path!r})
module = sys.modules["modeling_lsg_bert"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
config = module.LSGBertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                              intermediate_size=128, max_position_embeddings={length})
model = module.LSGBertModel(config).eval()
ids = torch.randint(5, 1000, (1, {length}))
with torch.no_grad():
    model(ids[:, :512])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    output = model(ids).last_hidden_state
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert output.shape == (1, {length}, 64) and torch.isfinite(output).all()
print("PEAK_KIB", after - before)
"""


def peak_kib(path, length, cwd) -> int:
    result = run_isolated(MEASURE.format(path=str(path), length=length), cwd=cwd, check=True)
    return int(result.stdout.split("PEAK_KIB")[1].split()[0])


@pytest.mark.parametrize("short,long", [(4096, 16384)])
def test_peak_memory_is_linear_in_length(tmp_path, short, long):
    path = write_modeling_file(MODEL_TYPES["bert"], tmp_path)
    small, large = peak_kib(path, short, tmp_path), peak_kib(path, long, tmp_path)
    print(f"peak memory of a forward: {short} tokens {small / 1024:.1f} MiB, {long} tokens {large / 1024:.1f} MiB")
    assert large < 5 * small, (small, large)
