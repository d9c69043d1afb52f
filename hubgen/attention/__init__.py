"""LSG attention for any model: standalone layers, and `attn_implementation="lsg"` for transformers models.

Built on the LSG core every rendered model includes (`hubgen.lsg.attention`), so there is one implementation of
the pattern. Layers: `LSGSelfAttention`, `BlockLocalSelfAttention`. transformers: `register()`, then
`AutoModel.from_pretrained(name, attn_implementation="lsg")`.
"""

from hubgen.attention.interface import MINIMUM_TRANSFORMERS, register
from hubgen.attention.layers import BlockLocalSelfAttention, LSGSelfAttention
from hubgen.attention.settings import LSGSettings

__all__ = ["MINIMUM_TRANSFORMERS", "BlockLocalSelfAttention", "LSGSelfAttention", "LSGSettings", "register"]
