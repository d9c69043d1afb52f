"""The "dense only" contender: hubgen's LSG model with the attention core replaced by a pass-through of the values.

What remains is what no attention can avoid: embeddings, the query, key, value and output projections, the
feed-forward layers, the adaptive padding and the global tokens around the core. Its step is the floor an LSG step is
read against (`x floor`). The patch is applied in the worker process to the loaded rendered module, never to the
rendered code, so the LSG figures measure the very file users run.
"""

from __future__ import annotations

from types import ModuleType

# The function of the rendered module the self-attention layers call (the LSG core, hubgen.lsg.attention).
CORE = "lsg_attention"


def pass_values(query, key, value, key_mask, pattern, dropout=0.0, output_attentions=False):
    """The core's signature and output layout, (batch, rows, heads, head_dim), with every row's own value."""
    return value.transpose(1, 2), None


def patch_dense_only(module: ModuleType) -> None:
    """Make every LSG self-attention layer of a rendered `module` pass its values through."""
    if not hasattr(module, CORE):
        raise AttributeError(f"{module.__name__} has no {CORE}() to replace: the rendered code renamed its core")
    setattr(module, CORE, pass_values)
