"""The LSG options `hubgen convert` accepts: impossible ones are refused with the option and the fix, and the length
must exceed the base's and fill whole blocks."""

from __future__ import annotations

import pytest

from hubgen.errors import InvalidInputError
from hubgen.lsg_options import LSGOptions


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"sparsity_factor": 3}, "does not divide --block-size 128"),
        ({"sparsity_factor": 256}, "larger than --block-size"),
        ({"sparsity_type": "dense"}, "is not supported"),
        ({"num_global_tokens": 0}, "out of range"),
        ({"num_global_tokens": 513}, "out of range"),
        ({"mask_first_token": True, "pool_with_global": False}, "needs --pool-with-global"),
        ({"sparse_block_size": 48}, "must divide --block-size 128"),
        ({"block_size": 0, "sparsity_factor": 0}, "at least 1"),
    ],
)
def test_impossible_options_are_refused_with_the_key_and_the_fix(overrides, message):
    with pytest.raises(InvalidInputError, match=message) as error:
        LSGOptions().updated(**overrides).validate()
    assert error.value.hint


def test_lengths_must_exceed_the_base_and_fill_whole_blocks():
    options = LSGOptions()
    options.check_length(4096, 512)
    with pytest.raises(InvalidInputError, match="not above the base model's length 512"):
        options.check_length(512, 512)
    with pytest.raises(InvalidInputError, match="not a multiple of --block-size 128") as error:
        options.check_length(4000, 512)
    assert "4096" in error.value.hint
    options.check_length(4096, 4096, upgrade=True)
