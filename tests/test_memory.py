"""Memory grows linearly with the length: a 16,384-token forward costs less than 5x a 4,096-token one (dense
attention: 16x), in every family; the BART family's encoder is measured, where the long inputs go.

Memory is the peak of live tensor storage during the forward, counted at torch's dispatcher by the benchmark's
`PeakTensorMemory`, which is exact on any machine (a process's peak RSS is not: it only grows)."""

from __future__ import annotations

import pytest
import torch
from support.testers import make_tester

from hubgen.bench.worker import PeakTensorMemory
from hubgen.registry import MODEL, MODEL_TYPES

SHORT, LONG = 4096, 16384


def _first_of_each_family() -> list[str]:
    """One type per family: the family templates are what differ."""
    first: dict = {}
    for name, entry in MODEL_TYPES.items():
        first.setdefault(entry.family.name, name)
    return list(first.values())


def test_the_tracker_sees_a_temporary_freed_before_the_end():
    with PeakTensorMemory() as memory:
        temporary = torch.ones(1024, 1024)  # 4 MiB
        total = temporary.sum()
        del temporary
        kept = torch.zeros(256)
    assert memory.peak == 4 * 2**20 + total.untyped_storage().nbytes()
    assert memory.live == total.untyped_storage().nbytes() + kept.untyped_storage().nbytes()


@pytest.mark.parametrize("type_name", _first_of_each_family())
def test_peak_memory_is_linear_in_length(rendered, type_name):
    model_type, tester = MODEL_TYPES[type_name], make_tester(MODEL_TYPES[type_name])
    sizes = {
        "block_size": 128,
        "sparse_block_size": 128,
        "max_position_embeddings": LONG + model_type.config_position_offset,
    }
    config = getattr(rendered(type_name), model_type.config_class)(**tester.config_kwargs(**sizes))
    model = getattr(rendered(type_name), model_type.class_name(MODEL))(config).eval()
    stack = model if tester.encoder_only else model.get_encoder()
    peaks = {}
    for length in (SHORT, LONG):
        ids = tester.input_ids(1, length)
        with torch.no_grad(), PeakTensorMemory() as memory:
            output = stack(ids).last_hidden_state
        assert torch.isfinite(output).all()
        peaks[length] = memory.peak
    print(f"{type_name}: peak tensor memory of a forward (MiB):", {n: peak / 2**20 for n, peak in peaks.items()})
    assert 0 < peaks[LONG] < 5 * peaks[SHORT], peaks
