"""Position tables and global-token tables of shared/LSG_SPEC.md section 5, as pure tensor functions.

Kept apart from the converter so that each rule (how positions grow, how global rows are ordered and initialised)
is one small function with its own test.
"""

from __future__ import annotations

import math

import torch

from hubgen.errors import InvalidInputError

GLOBAL_ROWS = 512


def grow_positions(table: torch.Tensor, offset: int, length: int) -> torch.Tensor:
    """Keep the first `offset` rows, then repeat the others until `length + offset` rows.

    Repeating the trained rows gives every position of the long model a trained embedding; the attention being mostly
    local, neighbouring positions stay consistent.
    """
    head, body = table[:offset], table[offset:]
    repeats = math.ceil(length / body.shape[0])
    return torch.cat([head, body.repeat(repeats, 1)[:length]])


def ordered_position_rows(rows: torch.Tensor, stride: int, generator: torch.Generator) -> torch.Tensor:
    """512 position rows, ordered so that consecutive global tokens sit `stride` positions apart.

    With a table of n rows, every n/512-th row is kept; fewer than 512 rows are completed with samples of their
    mean and standard deviation. The order is 0, stride, 2*stride, ... then 1, stride + 1, ... in the table's units.
    """
    n, width = rows.shape
    if n < GLOBAL_ROWS:
        mean, std = rows.mean(dim=0), rows.std(dim=0) if n > 1 else torch.zeros(width)
        samples = mean + std * torch.randn(GLOBAL_ROWS - n, width, generator=generator, dtype=rows.dtype)
        rows = torch.cat([rows, samples])
    rows = rows[: GLOBAL_ROWS * (rows.shape[0] // GLOBAL_ROWS)]
    factor = rows.shape[0] // GLOBAL_ROWS
    if stride < factor or stride % factor or GLOBAL_ROWS % (stride // factor):
        allowed = ", ".join(str(factor * d) for d in range(1, GLOBAL_ROWS + 1) if GLOBAL_ROWS % d == 0)
        raise InvalidInputError(
            f"--global-positional-stride {stride} does not fit a table of {n} position rows",
            f"choose one of {allowed}",
        )
    group = stride // factor
    return rows[::factor].reshape(-1, group, width).transpose(0, 1).reshape(-1, width)


def positional_global_table(positions, first_token, mask_token, token_type, stride, generator) -> torch.Tensor:
    """The default table: ordered position rows, plus the first token's embedding on row 0 and the mask token's on
    the others (plus token type 0 where the model has token types).

    Row 0 is then exactly the complete input embedding of the first token, which is what lets global token 0 stand
    in for it when `mask_first_token` is on.
    """
    table = ordered_position_rows(positions, stride, generator).clone()
    table[0] += first_token
    table[1:] += mask_token
    if token_type is not None:
        table += token_type
    return table


def random_global_table(positions, word_embeddings, first_token, token_type, stride, generator) -> torch.Tensor:
    """Rows drawn from a Gaussian fitted to the word embeddings (row 0 still the first token), plus positions."""
    words = word_embeddings.double()
    mean = words.mean(dim=0)
    centered = words - mean
    covariance = centered.T @ centered / max(words.shape[0] - 1, 1)
    # A small ridge keeps the factorisation possible for vocabularies smaller than the embedding width.
    covariance += torch.eye(covariance.shape[0], dtype=covariance.dtype) * 1e-6 * covariance.diagonal().mean()
    factor = torch.linalg.cholesky(covariance)
    noise = torch.randn(GLOBAL_ROWS, words.shape[1], generator=generator, dtype=torch.float64)
    samples = (mean + noise @ factor.T).to(word_embeddings.dtype)
    samples[0] = first_token
    table = ordered_position_rows(positions, stride, generator) + samples
    if token_type is not None:
        table += token_type
    return table
