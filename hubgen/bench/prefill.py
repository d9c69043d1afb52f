"""The prefill section of `hubgen bench`: a Llama-shaped library model reads a prompt with
`attn_implementation="lsg"` (hubgen.attention) and with `"sdpa"`.

What generation pays before its first token: one forward over the prompt that fills the KV cache and computes the
logits of the last position only, as `generate` does, without gradients. Both contenders are transformers' own
`LlamaForCausalLM` with the same weights; only the attention function differs. The worker runs the step
(`prefill_step_factory`), the runner plans it (`prefill_job`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubgen.bench.plan import BenchPlan

PREFILL_IMPLEMENTATIONS = ("lsg", "sdpa")
PREFILL_LABELS = {"lsg": "llama lsg", "sdpa": "llama sdpa (full)"}


@dataclass(frozen=True)
class LlamaShape:
    """A small Llama: roberta-base's width, grouped-query attention (3 query heads per key head), two layers."""

    vocab_size: int = 32000
    hidden_size: int = 768
    num_attention_heads: int = 12
    num_key_value_heads: int = 4
    intermediate_size: int = 2048
    num_hidden_layers: int = 2

    @property
    def label(self) -> str:
        return (
            f"Llama hidden {self.hidden_size}, {self.num_attention_heads} query / {self.num_key_value_heads} key-value "
            f"heads, FFN {self.intermediate_size}, {self.num_hidden_layers} layers, vocab {self.vocab_size}"
        )


def prefill_job(plan: BenchPlan, impl: str) -> dict:
    """The job of one contender; the LSG setting is the model level's (the reference setting unless changed)."""
    return {
        "kind": "prefill",
        "impl": impl,
        "shape": asdict(LlamaShape()),
        "setting": plan.model_setting.config_values(),
        "max_position_embeddings": max(plan.prefill_lengths),
    }


def prefill_step_factory(job: dict):
    """`make(length)` -> one prefill of fixed random token ids of that length (worker side)."""
    import torch
    import transformers

    from hubgen.attention import register

    register(**job["setting"])
    config = transformers.LlamaConfig(**job["shape"], max_position_embeddings=job["max_position_embeddings"])
    torch.manual_seed(job["seed"])
    model = transformers.LlamaForCausalLM._from_config(config, attn_implementation=job["impl"]).eval()

    def make(length: int):
        generator = torch.Generator().manual_seed(job["seed"])
        ids = torch.randint(0, config.vocab_size, (job["batch"], length), generator=generator)

        def step() -> None:
            with torch.no_grad():
                model(input_ids=ids, use_cache=True, logits_to_keep=1)

        return step

    return make
