"""What one benchmark run measures, and the FLOP lower bound the attention-core times are read against.

Kept free of torch so that the CLI can validate a plan (and tests can check the bound) without loading it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from hubgen.errors import InvalidInputError
from hubgen.lsg_options import LSGOptions

# Model-level contenders, in the order they are run and shown. `dense` is the LSG model with its attention core
# replaced by a pass-through of the values (hubgen.bench.dense_only): the floor no attention can go below.
MODELS = ("lsg", "dense", "sdpa", "longformer", "bigbird")
# The original implementation (hubgen.bench.original) runs only when `--original` points at a checkout of it.
ORIGINAL = "original"
# The models computed by an LSG core (or standing in for one): same setting, same weights, same warm-up lengths.
LSG_MODELS = ("lsg", ORIGINAL, "dense")
MODEL_LABELS = {
    "lsg": "lsg roberta",
    ORIGINAL: "original lsg roberta",
    "dense": "dense only (lsg, core = values)",
    "sdpa": "roberta sdpa (full)",
    "longformer": "longformer w512",
    "bigbird": "bigbird block_sparse 64x3",
}
SDPA_LABEL = "sdpa (full)"
# The sparse settings of the published checkpoints the contenders stand for.
LONGFORMER_WINDOW = 512  # longformer-base-4096
BIGBIRD_BLOCK, BIGBIRD_RANDOM_BLOCKS = 64, 3  # bigbird-roberta-base
SECTIONS = ("core", "model", "inference", "prefill")
# `prefill` (hubgen.bench.prefill) is asked for by name: it measures a library model, not what hubgen renders;
# `inference` too: every contender in two dtypes and two batch sizes is a long run of its own.
DEFAULT_SECTIONS = ("core", "model")
# Inference runs in these dtypes (torch names); the labels are what tables show.
DTYPES = {"float32": "fp32", "bfloat16": "bf16"}


@dataclass(frozen=True)
class CoreSetting:
    """One LSG attention setting: which keys a query sees (spec section 4)."""

    sparsity_type: str
    block_size: int
    sparse_block_size: int
    sparsity_factor: int = 2
    num_global_tokens: int = 1

    @classmethod
    def parse(cls, text: str) -> CoreSetting:
        """`TYPE:BLOCK:SPARSE[:FACTOR[:GLOBALS]]`, e.g. `norm:128:128:4`; refused with a hint when impossible."""
        parts = text.strip().split(":")
        try:
            if not 3 <= len(parts) <= 5:
                raise ValueError
            numbers = [int(part) for part in parts[1:]]
        except ValueError:
            raise InvalidInputError(
                f"--setting {text!r} is not TYPE:BLOCK:SPARSE[:FACTOR[:GLOBALS]]", "for example norm:128:128:4"
            ) from None
        setting = cls(parts[0], *numbers)
        setting.validate()
        return setting

    def validate(self) -> None:
        """The checks `hubgen convert` applies, so the bench never measures a setting no model could have."""
        LSGOptions(
            block_size=self.block_size,
            sparse_block_size=self.sparse_block_size,
            sparsity_factor=self.sparsity_factor,
            sparsity_type=self.sparsity_type,
            num_global_tokens=self.num_global_tokens,
        ).validate()

    @property
    def has_sparse(self) -> bool:
        return bool(self.sparse_block_size) and self.sparsity_factor > 0 and self.sparsity_type != "none"

    @property
    def key_slots(self) -> int:
        """Keys one text query sees: g + 3b + 2s (g + 3b without sparse attention)."""
        sparse = 2 * self.sparse_block_size if self.has_sparse else 0
        return self.num_global_tokens + 3 * self.block_size + sparse

    @property
    def pattern_label(self) -> str:
        """`norm 128/128 f4`: type, block/sparse sizes, factor (if sparse), global tokens (if not one)."""
        name = f"{self.sparsity_type} {self.block_size}/{self.sparse_block_size}"
        if self.has_sparse:
            name += f" f{self.sparsity_factor}"
        if self.num_global_tokens != 1:
            name += f" g{self.num_global_tokens}"
        return name

    @property
    def label(self) -> str:
        return f"lsg {self.pattern_label}"

    def config_values(self) -> dict:
        """The config.json keys of this setting (also what `LSGPattern` is built from)."""
        return asdict(self)


# The reference setting of the targets, then the others the brief of the benchmark asks for.
REFERENCE_SETTING = CoreSetting("norm", 128, 128, 4)
DEFAULT_SETTINGS = (
    REFERENCE_SETTING,
    CoreSetting("norm", 128, 128, 2),
    CoreSetting("none", 256, 0),
    CoreSetting("norm", 32, 32, 4),
    CoreSetting("pooling", 128, 128, 4),
    CoreSetting("bos_pooling", 128, 128, 8),
    CoreSetting("lsh", 128, 128, 4),
    CoreSetting("stride", 128, 128, 4),
    CoreSetting("block_stride", 128, 128, 4),
)


@dataclass(frozen=True)
class ModelShape:
    """The shape shared by every model-level contender: roberta-base's widths, fewer layers to keep steps short."""

    vocab_size: int = 50265
    hidden_size: int = 768
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    num_hidden_layers: int = 2

    @classmethod
    def of_width(cls, hidden_size: int, layers: int) -> ModelShape:
        """RoBERTa's proportions at another width: heads of 64, a feed-forward 4x as wide."""
        if hidden_size < 64 or hidden_size % 64:
            raise InvalidInputError(f"--hidden-size {hidden_size} is not a multiple of 64", "for example 256 or 768")
        return cls(
            hidden_size=hidden_size,
            num_attention_heads=hidden_size // 64,
            intermediate_size=4 * hidden_size,
            num_hidden_layers=layers,
        )

    @property
    def label(self) -> str:
        return (
            f"hidden {self.hidden_size}, {self.num_attention_heads} heads, FFN {self.intermediate_size}, "
            f"{self.num_hidden_layers} layers, vocab {self.vocab_size}"
        )


@dataclass(frozen=True)
class BenchPlan:
    """Everything one run measures; `runner.run_benchmark` turns it into fresh-process measurements."""

    core_lengths: tuple[int, ...] = (1024, 2048, 4096, 8192, 16384)
    lsg_extra_lengths: tuple[int, ...] = (32768,)
    settings: tuple[CoreSetting, ...] = DEFAULT_SETTINGS
    include_sdpa: bool = True
    heads: int = 12
    head_dim: int = 64
    batch: int = 1
    model_lengths: tuple[int, ...] = (1024, 2048, 4096, 8192, 16384)
    models: tuple[str, ...] = MODELS
    model_setting: CoreSetting = REFERENCE_SETTING
    model_shape: ModelShape = field(default_factory=ModelShape)
    attention_dropout: float = 0.1
    hidden_dropout: float = 0.1
    prefill_lengths: tuple[int, ...] = (4096, 8192, 16384, 32768)
    inference_lengths: tuple[int, ...] = (512, 1024, 2048, 4096, 8192, 16384)
    inference_dtypes: tuple[str, ...] = tuple(DTYPES)
    inference_batches: tuple[int, ...] = (1, 8)
    # A checkout of github.com/ccdv-ai/convert_checkpoint_to_lsg: the original implementation as a contender.
    original: str | None = None
    sections: tuple[str, ...] = DEFAULT_SECTIONS
    repeats: int = 3
    # Times every measurement is taken, all configurations in turn each time; the best over the rounds is kept.
    rounds: int = 1
    gemm_size: int = 2048
    max_seconds: float = 600.0
    max_memory_bytes: int = 8 * 2**30
    seed: int = 0
    threads: int | None = None

    def validate(self) -> None:
        if self.repeats < 1:
            raise InvalidInputError(f"--repeats {self.repeats} must be at least 1", "3 is the default")
        if self.rounds < 1:
            raise InvalidInputError(f"--rounds {self.rounds} must be at least 1", "1 is the default")
        if self.threads is not None and self.threads < 1:
            raise InvalidInputError(f"--threads {self.threads} must be at least 1", "leave it out to use every core")
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown:
            raise InvalidInputError(f"--models: unknown {', '.join(unknown)}", f"choose among {', '.join(MODELS)}")
        unknown = sorted(set(self.inference_dtypes) - set(DTYPES))
        if unknown:
            raise InvalidInputError(f"--dtypes: unknown {', '.join(unknown)}", f"choose among {', '.join(DTYPES)}")
        if any(batch < 1 for batch in self.inference_batches):
            raise InvalidInputError("--inference-batches must be at least 1", "for example 1,8")
        lengths = self.core_lengths + self.lsg_extra_lengths + self.model_lengths + self.prefill_lengths
        lengths += self.inference_lengths
        if any(length < 64 for length in lengths):
            raise InvalidInputError("lengths must be at least 64 tokens", "for example --lengths 1024,4096")
        for setting in (*self.settings, self.model_setting):
            setting.validate()

    @property
    def max_model_length(self) -> int:
        """Position tables are sized for the longest length, so every length runs the very same model."""
        return max(self.model_lengths + self.inference_lengths, default=512)

    @property
    def contenders(self) -> tuple[str, ...]:
        """The model-level contenders of this run: the chosen models, the original when given right after LSG (the
        two figures compared are measured as close in time as they can be)."""
        if self.original is None:
            return self.models
        if "lsg" not in self.models:
            return (*self.models, ORIGINAL)
        at = self.models.index("lsg") + 1
        return (*self.models[:at], ORIGINAL, *self.models[at:])


def quick_plan(**overrides) -> BenchPlan:
    """Small lengths, every setting and model: checks that the whole bench runs (a smoke run), in minutes."""
    values = {
        "core_lengths": (512, 1024),
        "lsg_extra_lengths": (2048,),
        "model_lengths": (1024,),
        "prefill_lengths": (1024, 2048),
        "inference_lengths": (512, 1024),
        "repeats": 2,
        "gemm_size": 1024,
    }
    return replace(BenchPlan(), **{**values, **overrides})


def lsg_flops(setting: CoreSetting, text_length: int, head_dim: int, heads: int, batch: int = 1) -> float:
    """FLOP lower bound of one LSG forward+backward: `12 * d` FLOPs per (query, key) pair and head.

    Each of the t text queries sees `key_slots` keys and the g global queries see all g + t keys. The forward
    does two matmuls per pair (scores and context, 2d FLOPs each), the backward four of the same size (gradients of
    the values, probabilities, queries and keys): 3 * 4d in all. A backward that recomputes the scores does more
    work, which the bound does not grant. Inputs of at most 2b tokens take the full-attention path: counted so.
    """
    g = setting.num_global_tokens
    if text_length <= 2 * setting.block_size:
        return full_flops(g + text_length, head_dim, heads, batch)
    pairs = text_length * setting.key_slots + g * (g + text_length)
    return 12.0 * head_dim * pairs * heads * batch


def full_flops(rows: int, head_dim: int, heads: int, batch: int = 1) -> float:
    """The same count for full attention, where every one of the rows sees every row."""
    return 12.0 * head_dim * rows * rows * heads * batch
