"""Memory grows linearly with the length: a 16,384-token forward costs less than 5x a 4,096-token one.

Memory is the peak of live tensor storage during the forward, counted at torch's dispatcher by the benchmark's
`PeakTensorMemory`, which is exact on any machine (a process's peak RSS is not: it only grows)."""

from __future__ import annotations

import pytest
import torch

from hubgen.bench.worker import PeakTensorMemory
from hubgen.registry import MODEL_TYPES
from hubgen.render import import_modeling_file, write_modeling_file


def peak_bytes(module, length: int) -> int:
    config = module.LSGBertConfig(vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=128, max_position_embeddings=length)  # fmt: skip
    model = module.LSGBertModel(config).eval()
    ids = torch.randint(5, 1000, (1, length), generator=torch.Generator().manual_seed(0))
    with torch.no_grad(), PeakTensorMemory() as memory:
        output = model(ids).last_hidden_state
    assert output.shape == (1, length, 64) and torch.isfinite(output).all()
    return memory.peak


def test_the_tracker_sees_a_temporary_freed_before_the_end():
    with PeakTensorMemory() as memory:
        temporary = torch.ones(1024, 1024)  # 4 MiB
        total = temporary.sum()
        del temporary
        kept = torch.zeros(256)
    assert memory.peak == 4 * 2**20 + total.untyped_storage().nbytes()
    assert memory.live == total.untyped_storage().nbytes() + kept.untyped_storage().nbytes()


@pytest.mark.parametrize("short,long", [(4096, 16384)])
def test_peak_memory_is_linear_in_length(tmp_path, short, long):
    module = import_modeling_file(write_modeling_file(MODEL_TYPES["bert"], tmp_path), "modeling_lsg_bert_memory")
    small, large = peak_bytes(module, short), peak_bytes(module, long)
    print(
        f"peak tensor memory of a forward: {short} tokens {small / 2**20:.1f} MiB, {long} tokens {large / 2**20:.1f} MiB"
    )
    assert small > 0 and large < 5 * small, (small, large)
