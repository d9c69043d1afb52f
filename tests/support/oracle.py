"""A slow, literal reading of shared/LSG_SPEC.md section 4, used as the oracle for the fast LSG attention.

Everything here is written from the spec with loops and dense matrices, independently of the templates: the explicit
key set of every query is turned into a dense visibility mask and fed to an ordinary softmax attention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Pattern:
    g: int
    b: int
    s: int
    f: int
    kind: str
    causal: bool = False
    # The global rows are the sequence's own first tokens (hubgen.attention): causal, each sees the rows up to itself.
    first_tokens_global: bool = False

    @property
    def sparse(self) -> bool:
        return self.s > 0 and self.f > 0 and self.kind not in ("none", None)


def selected_positions(key: torch.Tensor, mask: torch.Tensor, p: Pattern) -> list[list[list[int]]]:
    """For norm/stride/block_stride: the text position behind every reduced row, per (batch, head)."""
    n, h, t, _ = key.shape
    out = []
    for i in range(n):
        per_head = []
        for j in range(h):
            if p.f == 1:
                per_head.append(list(range(t)))
            elif p.kind == "stride":
                per_head.append([p.f * k + (j % p.f) for k in range(t // p.f)])
            elif p.kind == "block_stride":
                r = p.b // p.f
                rows = []
                for block in range(t // p.b):
                    rows.extend(block * p.b + (j * r + k) % p.b for k in range(r))
                per_head.append(rows)
            else:  # norm
                c = min(p.b, p.s)
                rows = []
                for start in range(0, t, c):
                    norms = [
                        (float(key[i, j, q].detach().norm()) if mask[i, q] else 0.0, q)
                        for q in range(start, start + c)
                    ]
                    rows.extend(q for _, q in sorted(norms)[c - c // p.f :])
                per_head.append(rows)
        out.append(per_head)
    return out


def pooled_rows(query, key, value, mask, p: Pattern):
    """For pooling/bos_pooling: reduced keys, values and visibility, (n, h, t/f, d), computed run by run."""
    n, h, t, d = key.shape
    keys, values, visible = [], [], []
    for i in range(n):
        for j in range(h):
            for run in range(t // p.f):
                rows = torch.arange(run * p.f, (run + 1) * p.f)
                seen = mask[i, rows]
                visible.append(bool(seen.any()))
                if p.kind == "pooling":
                    weights = seen.double() / max(int(seen.sum()), 1)
                else:  # bos_pooling: softmax over the run of q0.k/sqrt(d) + mask
                    scores = key[i, j, rows] @ query[i, j, 0] / math.sqrt(d)
                    weights = torch.softmax(scores.masked_fill(~seen, -1e30), dim=0)
                keys.append(weights @ key[i, j, rows])
                values.append(weights @ value[i, j, rows])
    shape = (n, h, t // p.f)
    return (
        torch.stack(keys).view(*shape, d),
        torch.stack(values).view(*shape, d),
        torch.tensor(visible).view(shape),
    )


def sparse_windows(block: int, reduced_length: int, p: Pattern) -> list[int]:
    """Reduced rows a query of this block sees: s before block i-1's start, s after block i+1's end."""
    r = p.b // p.f
    before = range((block - 1) * r - p.s, (block - 1) * r)
    after = range((block + 2) * r, (block + 2) * r + p.s)
    rows = list(before) if p.causal else list(before) + list(after)
    return [x for x in rows if 0 <= x < reduced_length]


def dense_reference(query, key, value, key_mask, p: Pattern):
    """Output (n, g + t, h, d) of LSG attention computed densely in float64 with the explicit mask."""
    n, h, total, d = query.shape
    t = total - p.g
    q, k, v = (x.double() for x in (query, key, value))
    text_mask = key_mask[:, p.g :]
    extra_k = torch.zeros(n, h, 0, d, dtype=torch.float64)
    extra_v = extra_k
    extra_visible = torch.zeros(n, h, 0, dtype=torch.bool)
    selections = None
    long_path = t > 2 * p.b
    if long_path and p.sparse:
        if p.kind in ("pooling", "bos_pooling") and p.f > 1:
            extra_k, extra_v, extra_visible = pooled_rows(q[:, :, p.g :], k[:, :, p.g :], v[:, :, p.g :], text_mask, p)
        else:
            selections = selected_positions(k[:, :, p.g :], text_mask, p)
    keys = torch.cat([k, extra_k], dim=2)
    values = torch.cat([v, extra_v], dim=2)
    width = keys.shape[2]
    visible = torch.zeros(n, h, total, width, dtype=torch.bool)
    for i in range(n):
        for j in range(h):
            for row in range(total):
                allowed = set()
                if p.causal and row < p.g:
                    allowed = set(range(row + 1)) if p.first_tokens_global else set(range(p.g))
                elif not long_path:
                    allowed = set(range(row + 1)) if p.causal else set(range(total))
                elif row < p.g:
                    allowed = set(range(total))
                else:
                    position = row - p.g
                    block = position // p.b
                    allowed = set(range(p.g))
                    blocks = (block - 1, block) if p.causal else (block - 1, block, block + 1)
                    for other in blocks:
                        for x in range(other * p.b, (other + 1) * p.b):
                            if 0 <= x < t and (not p.causal or other < block or x <= position):
                                allowed.add(p.g + x)
                    if p.sparse:
                        reduced_length = t // p.f
                        for rho in sparse_windows(block, reduced_length, p):
                            if selections is not None:
                                allowed.add(p.g + selections[i][j][rho])
                            elif extra_visible[i, j, rho]:
                                allowed.add(total + rho)
                for x in allowed:
                    if x >= total or key_mask[i, x]:
                        visible[i, j, row, x] = True
    scores = q @ keys.transpose(-1, -2) / math.sqrt(d)
    scores = scores.masked_fill(~visible, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ values).transpose(1, 2)
