"""Section 5 of the spec, rule by rule: position growth, global-row order and initialisation."""

from __future__ import annotations

import pytest
import torch

from hubgen.embedding_tables import grow_positions, ordered_position_rows, positional_global_table, random_global_table
from hubgen.errors import InvalidInputError


def test_grow_positions_keeps_the_offset_rows_and_repeats_the_others():
    table = torch.arange(10.0).view(5, 2)  # offset rows 0-1, trained rows 2-4
    grown = grow_positions(table, offset=2, length=7)
    assert grown.shape == (9, 2)
    torch.testing.assert_close(grown[:2], table[:2])
    expected_rows = [2, 3, 4, 2, 3, 4, 2]
    torch.testing.assert_close(grown[2:], table[expected_rows])


def test_ordered_rows_step_through_the_table_by_the_stride():
    rows = torch.arange(512.0)[:, None]
    ordered = ordered_position_rows(rows, stride=64, generator=torch.Generator().manual_seed(0))
    assert ordered[:10, 0].tolist() == [0, 64, 128, 192, 256, 320, 384, 448, 1, 65]
    assert sorted(ordered[:, 0].tolist()) == list(range(512))


def test_ordered_rows_subsample_long_tables_and_complete_short_ones():
    long = torch.arange(1024.0)[:, None]
    ordered = ordered_position_rows(long, stride=64, generator=torch.Generator().manual_seed(0))
    assert ordered.shape == (512, 1)
    assert ordered[:3, 0].tolist() == [0, 64, 128]  # every 2nd row kept, positions still 64 apart
    short = torch.randn(100, 3, generator=torch.Generator().manual_seed(1))
    completed = ordered_position_rows(short, stride=64, generator=torch.Generator().manual_seed(0))
    assert completed.shape == (512, 3)
    assert (completed[0] == short[0]).all()


def test_stride_that_does_not_fit_is_refused():
    with pytest.raises(InvalidInputError, match="global-positional-stride 3"):
        ordered_position_rows(torch.zeros(512, 2), stride=3, generator=torch.Generator())


def test_positional_table_row_zero_is_the_first_tokens_input_embedding():
    generator = torch.Generator().manual_seed(0)
    positions = torch.randn(512, 4, generator=generator)
    first, mask, token_type = torch.randn(3, 4, generator=generator)
    table = positional_global_table(positions, first, mask, token_type, 64, torch.Generator())
    torch.testing.assert_close(table[0], positions[0] + first + token_type)
    torch.testing.assert_close(table[1], positions[64] + mask + token_type)


def test_random_table_keeps_row_zero_and_follows_the_word_statistics():
    generator = torch.Generator().manual_seed(0)
    words = torch.randn(2000, 8, generator=generator) * 3 + 5
    positions = torch.zeros(512, 8)
    first = words[7]
    table = random_global_table(positions, words, first, None, 64, torch.Generator().manual_seed(1))
    torch.testing.assert_close(table[0], first)
    assert abs(table[1:].mean().item() - 5) < 0.5 and abs(table[1:].std().item() - 3) < 0.5
    again = random_global_table(positions, words, first, None, 64, torch.Generator().manual_seed(1))
    torch.testing.assert_close(table, again)
