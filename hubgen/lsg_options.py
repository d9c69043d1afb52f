"""The LSG settings written into config.json, and the checks that refuse impossible ones before anything is written.

The runtime config class of a rendered file corrects bad values with a warning (published repositories must keep
loading); hubgen refuses them instead, so that a repository it makes never needs a correction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hubgen.errors import InvalidInputError
from hubgen.lsg.settings import SPARSITY_TYPES


@dataclass(frozen=True)
class LSGOptions:
    """LSG keys of config.json with the values `hubgen convert` writes by default.

    They differ from the runtime defaults of the spec in one place: `mask_first_token` is on, so that global token 0
    (initialised as the first token's complete input embedding) stands in for the first token exactly and the model
    computes the base model's function on short inputs. The converter turns it off when the tokenizer does not start
    inputs with a special token, since the first token is then ordinary text that global token 0 cannot stand for.
    """

    block_size: int = 128
    sparse_block_size: int = 128
    sparsity_factor: int = 2
    sparsity_type: str = "norm"
    num_global_tokens: int = 1
    mask_first_token: bool = True
    pool_with_global: bool = True
    lsh_num_pre_rounds: int = 1
    adaptive: bool = True

    @classmethod
    def runtime(cls) -> LSGOptions:
        """The defaults of section 1 of the spec: what the rendered config class assumes for a key a config lacks.
        `mask_first_token` is off there, as in every configuration published before hubgen."""
        return cls(mask_first_token=False)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LSGOptions:
        """The settings of an existing LSG config, so an upgrade keeps what its author chose."""
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in config.items() if key in known}
        if values.get("sparsity_type") is None and "sparsity_type" in values:
            values["sparsity_type"] = "none"
        return cls(**values)

    def updated(self, **overrides: Any) -> LSGOptions:
        """Apply the options the user gave explicitly (None means "not given")."""
        return replace(self, **{key: value for key, value in overrides.items() if value is not None})

    def config_values(self) -> dict[str, Any]:
        return {**asdict(self), "base_model_prefix": "lsg"}

    def validate(self) -> None:
        """Raise `InvalidInputError` naming the option and the values that would work."""
        b, s, f = self.block_size, self.sparse_block_size, self.sparsity_factor
        if self.sparsity_type not in SPARSITY_TYPES:
            raise InvalidInputError(
                f"--sparsity-type {self.sparsity_type!r} is not supported",
                f"choose one of {', '.join(SPARSITY_TYPES)}",
            )
        if b < 1:
            raise InvalidInputError(f"--block-size {b} must be at least 1", "128 is the usual value")
        if s < 0 or f < 0:
            raise InvalidInputError(
                "--sparse-block-size and --sparsity-factor cannot be negative", "use 0 to turn sparse attention off"
            )
        if f > b:
            raise InvalidInputError(f"--sparsity-factor {f} is larger than --block-size {b}", _divisors_hint(b))
        if f and b % f:
            raise InvalidInputError(f"--sparsity-factor {f} does not divide --block-size {b}", _divisors_hint(b))
        if not 1 <= self.num_global_tokens <= 512:
            raise InvalidInputError(
                f"--num-global-tokens {self.num_global_tokens} is out of range", "choose a value from 1 to 512"
            )
        if self.mask_first_token and not self.pool_with_global:
            raise InvalidInputError(
                "--mask-first-token needs --pool-with-global",
                "the first token's output comes from global token 0 when it is masked",
            )
        if self.lsh_num_pre_rounds < 0:
            raise InvalidInputError("lsh_num_pre_rounds cannot be negative", "use 0 or more")
        if self.sparsity_type in ("norm", "lsh") and 0 < s < b and (b % s or s % max(f, 1)):
            raise InvalidInputError(
                f"--sparse-block-size {s} must divide --block-size {b} and be a multiple of --sparsity-factor {f} "
                f"for sparsity type {self.sparsity_type!r}",
                f"use --sparse-block-size {b} or a divisor of {b} that {f} divides",
            )

    def check_length(self, max_length: int, base_length: int, upgrade: bool = False) -> None:
        """The new length must exceed the base's (an LSG upgrade may keep its length: it refreshes the code)."""
        if max_length < base_length or (max_length == base_length and not upgrade):
            raise InvalidInputError(
                f"--max-len {max_length} is not above the base model's length {base_length}"
                if not upgrade
                else f"--max-len {max_length} is below the LSG checkpoint's length {base_length}",
                f"choose a length above {base_length}, e.g. {4096 if base_length < 4096 else 2 * base_length}",
            )
        if max_length % self.block_size:
            lower = max_length - max_length % self.block_size
            raise InvalidInputError(
                f"--max-len {max_length} is not a multiple of --block-size {self.block_size}",
                f"use {lower + self.block_size}" + (f" or {lower}" if lower > base_length else ""),
            )


def _divisors_hint(block_size: int) -> str:
    divisors = [str(d) for d in range(1, block_size + 1) if block_size % d == 0]
    shown = ", ".join(divisors if len(divisors) <= 12 else divisors[:6] + ["…"] + divisors[-3:])
    return f"choose a divisor of the block size {block_size}: {shown}"
