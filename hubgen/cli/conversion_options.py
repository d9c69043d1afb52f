"""The LSG and conversion options that `convert` and `publish` share, declared once.

Typer builds a command's options from its signature, and Python cannot share parameters between two signatures, so
`with_conversion_options` splices the parameters of `_shared_options` into a command's signature and hands their
values to the command as one dict, `options`, which `conversion_request` turns into the request.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from hubgen.cli._common import (
    Architecture,
    Attention,
    AttentionWindow,
    BaseModel,
    BlockSize,
    Dtype,
    GlobalPositionalStride,
    KeepFirstGlobalToken,
    MaskFirstToken,
    NumGlobalTokens,
    NumRandomBlocks,
    PoolWithGlobal,
    RandomGlobalInit,
    ResizeLsg,
    Seed,
    SparseBlockSize,
    SparsityFactor,
    SparsityType,
    Token,
)
from hubgen.convert import ConversionRequest
from hubgen.lsg_options import LSGOptions


def _shared_options(
    attention: Attention = None,
    attention_window: AttentionWindow = None,
    num_random_blocks: NumRandomBlocks = None,
    architecture: Architecture = None,
    block_size: BlockSize = None,
    sparse_block_size: SparseBlockSize = None,
    sparsity_factor: SparsityFactor = None,
    sparsity_type: SparsityType = None,
    num_global_tokens: NumGlobalTokens = None,
    mask_first_token: MaskFirstToken = None,
    pool_with_global: PoolWithGlobal = None,
    random_global_init: RandomGlobalInit = False,
    global_positional_stride: GlobalPositionalStride = ConversionRequest.global_positional_stride,
    keep_first_global_token: KeepFirstGlobalToken = False,
    resize_lsg: ResizeLsg = False,
    seed: Seed = ConversionRequest.seed,
    dtype: Dtype = ConversionRequest.dtype,
    token: Token = None,
    base_model: BaseModel = None,
) -> None:
    """Never called: its parameters are the shared options."""


# The LSG options among them: left unset, they keep the LSG defaults (or, for mask_first_token, the converter's choice
# for the tokenizer).
_LSG_KEYS = tuple(
    item.name for item in fields(LSGOptions) if item.name in inspect.signature(_shared_options).parameters
)


def with_conversion_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command(..., options)` as Typer sees it: its own parameters, then every shared option."""
    shared = list(inspect.signature(_shared_options, eval_str=True).parameters.values())
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "options"]
    names = [p.name for p in shared]

    @functools.wraps(command)
    def wrapper(**arguments: Any) -> None:
        options = {name: arguments.pop(name) for name in names}
        return command(**arguments, options=options)

    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own + shared]
    wrapper.__signature__ = inspect.Signature(parameters)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper


def conversion_request(base: str, max_len: int, out: Path, options: dict[str, Any], revision: str | None):
    """The request a command's arguments describe."""
    overrides = {key: options[key] for key in _LSG_KEYS if options[key] is not None}
    rest = {key: value for key, value in options.items() if key not in _LSG_KEYS}
    return ConversionRequest(
        base=base, max_length=max_len, output=out, lsg_overrides=overrides, revision=revision, **rest
    )
