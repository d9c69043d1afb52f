"""Which LSG pattern a layer or a model runs: the settings of a converted model's config, under `lsg_*` keys.

The values are checked by the very rules a converted model's config is checked by (`validate_lsg_config`), so a
setting that `hubgen convert` refuses is refused here too, with the same message.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from hubgen.lsg.attention import LSGPattern
from hubgen.lsg.settings import validate_lsg_config

CONFIG_PREFIX = "lsg_"


@dataclass(frozen=True)
class LSGSettings:
    """Block, sparse and global sizes of LSG attention (spec section 4); the defaults are those of a converted model.

    The first `num_global_tokens` tokens of a sequence act as its global tokens: every query sees them and (without
    `is_causal`) they see every token.
    """

    block_size: int = 128
    sparse_block_size: int = 128
    sparsity_factor: int = 2
    sparsity_type: str | None = "norm"
    num_global_tokens: int = 1
    lsh_num_pre_rounds: int = 1

    # `validate_lsg_config` also checks these keys of a converted model, whose global tokens are learned rows put in
    # front of the text. Here the global tokens are the sequence's own first tokens: nothing to mask or pool.
    mask_first_token: ClassVar[bool] = False
    pool_with_global: ClassVar[bool] = True

    def __post_init__(self) -> None:
        validate_lsg_config(self)

    def local_only(self) -> LSGSettings:
        """The same blocks and global tokens without sparse attention (a factor of 1 fits every block size)."""
        return replace(self, sparse_block_size=0, sparsity_factor=1, sparsity_type="none")

    def overridden_by(self, config) -> LSGSettings:
        """These settings with a model config's `lsg_<setting>` keys (e.g. `lsg_block_size`) on top."""
        values = {
            field.name: getattr(config, CONFIG_PREFIX + field.name)
            for field in fields(self)
            if hasattr(config, CONFIG_PREFIX + field.name)
        }
        return replace(self, **values) if values else self

    def pattern(self, is_causal: bool, length: int) -> LSGPattern:
        """The core's pattern for a sequence of `length` tokens (fewer tokens than global tokens: all are global)."""
        pattern = LSGPattern.from_config(self, is_causal)
        return pattern if length >= self.num_global_tokens else replace(pattern, num_global_tokens=length)
