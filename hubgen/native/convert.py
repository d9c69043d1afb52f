"""Convert a base into a native long checkpoint (`--attention longformer|bigbird`), or extend a Longformer, BigBird
or YOSO checkpoint to a longer length in its own architecture.

The base is loaded by transformers into its own class, its tensors are renamed into the target class
(`hubgen.native.weights`), the position table grows as for LSG, and the result is checked against the base on a
short input before the folder is complete: a head whose layers do not compute the same function (an activation, a
pooler that the target lacks) is refused instead of published.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from transformers import PreTrainedTokenizerBase

from hubgen import __version__, sentence_transformers
from hubgen.checkpoint import FetchedBase, check_weights
from hubgen.convert import (
    DTYPES,
    ConversionRequest,
    conversion_command,
    load_tokenizer,
    save_tokenizer,
    weights_errors,
)
from hubgen.errors import InvalidInputError
from hubgen.native.architectures import (
    HEADS,
    NATIVE_ARCHITECTURES,
    NativeArchitecture,
    PositionLayout,
    architecture_of,
)
from hubgen.native.weights import grown_table, map_weights, position_key
from hubgen.position_memory import check_table_memory, element_bytes
from hubgen.quiet_loading import quiet_transformers
from hubgen.registry import MULTIPLE_CHOICE, Head
from hubgen.repository import PROVENANCE_KEY, Provenance

_DROPPED_CONFIG_KEYS = ("model_type", "architectures", "auto_map", "transformers_version", "_name_or_path", "hubgen")
# How close the converted model must stay to the base on a short input (float32; half precision gets more room).
TOLERANCE = {torch.float32: 1e-4, torch.float16: 1e-2, torch.bfloat16: 5e-2}
_CHECK_TEXT = "the quick brown fox jumps over the lazy dog near the river bank"
# New weights the target may have that the base's head lacks: BigBird's pooler under a masked-LM head (unused).
_UNUSED_NEW = ("pooler.",)
# Options of `hubgen convert` that only LSG conversions read.
_LSG_ONLY = ("random_global_init", "keep_first_global_token", "resize_lsg")


@dataclass(frozen=True)
class NativePlan:
    """What `plan_native` settled before anything is written."""

    base: FetchedBase
    reference: str
    target: NativeArchitecture
    extension: bool  # the base is already of the target's architecture
    base_class: str
    head: Head
    base_layout: PositionLayout
    text_length: int
    config: dict[str, Any]  # the target's config values
    tokenizer: PreTrainedTokenizerBase

    @property
    def class_name(self) -> str:
        return self.target.class_name(self.head.class_suffix)

    @property
    def directory(self) -> Path:
        return self.base.directory


@dataclass(frozen=True)
class NativeResult:
    output: Path
    plan: NativePlan
    new_weights: tuple[str, ...]
    copied_globals: int
    difference: float  # the largest difference to the base's output on the short check input
    warnings: tuple[str, ...] = ()


def wants_native(request: ConversionRequest, config: dict[str, Any]) -> bool:
    """A native target was asked for, or the base is natively long (then it is extended in its architecture)."""
    return request.attention not in (None, "lsg") or architecture_of(config) is not None


def plan_native(request: ConversionRequest, base: FetchedBase) -> NativePlan:
    """Every check that can fail, before anything is written."""
    config, reference = base.config, request.base
    target = _target(request, config, reference)
    extension = architecture_of(config) is target
    _check_options(request, target)
    if request.dtype not in DTYPES:
        raise InvalidInputError(f"--dtype {request.dtype!r} is not supported", f"choose one of {', '.join(DTYPES)}")
    if sentence_transformers.is_sentence_transformer(base.directory):
        raise InvalidInputError(
            f"{reference} is a sentence-transformers model, which --attention {target.name} does not convert",
            "convert it with LSG attention (the default), which keeps its modules",
        )
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise InvalidInputError(
            f"{reference} uses position_embedding_type={config['position_embedding_type']!r}",
            f"{target.class_prefix} has absolute position embeddings; pick a checkpoint trained with them",
        )
    base_class, head = _classes(config, target, reference)
    check_weights(base.directory, reference)
    layout = PositionLayout.of(config)
    text_length = layout.text_length(config)
    if request.max_length <= text_length:
        raise InvalidInputError(
            f"--max-len {request.max_length} is not above the base's {text_length} positions",
            f"choose a longer length, e.g. --max-len {max(4096, 2 * text_length)}",
        )
    long_settings = target.long_settings(request.native_settings(), config if extension else {})
    target.check(request.max_length, long_settings)
    tokenizer = load_tokenizer(base.directory, reference, str(config["model_type"]))
    values = _target_config(config, target, long_settings, request.max_length, tokenizer)
    offset = PositionLayout.of({"model_type": target.model_type, "pad_token_id": values["pad_token_id"]}).offset
    width = int(values["hidden_size"]) * element_bytes(request.dtype, config)
    check_table_memory((request.max_length + offset) * width, request.max_length, offset)
    values["architectures"] = [target.class_name(head.class_suffix)]
    return NativePlan(base, reference, target, extension, base_class, head, layout, text_length, values, tokenizer)


def _target(request: ConversionRequest, config: dict[str, Any], reference: str) -> NativeArchitecture:
    own = architecture_of(config)
    asked = NATIVE_ARCHITECTURES.get(request.attention or "")
    if own is not None and (asked not in (None, own) or request.attention == "lsg"):
        raise InvalidInputError(
            f"{reference} is a {own.class_prefix} checkpoint, which extends in its own architecture only",
            f"drop --attention {request.attention}, or pass --attention {own.name}",
        )
    return own or asked


def _check_options(request: ConversionRequest, target: NativeArchitecture) -> None:
    """LSG's options mean nothing to a native target: one line naming the option, rather than silently ignoring it."""
    given = [key for key, value in request.lsg_overrides.items() if value is not None]
    given += [key for key in _LSG_ONLY if getattr(request, key)]
    if request.global_positional_stride != ConversionRequest.global_positional_stride:
        given.append("global_positional_stride")
    if target.name == "bigbird":
        given = [key for key in given if key != "block_size"]
    if request.architecture:
        given.append("architecture")
    if given:
        flags = ", ".join("--" + key.replace("_", "-") for key in given)
        raise InvalidInputError(
            f"{flags} {'is' if len(given) == 1 else 'are'} not an option of --attention {target.name}",
            f"{target.class_prefix} takes {target.options_hint}; the converted model keeps the base's head",
        )
    wrong = [
        flag
        for flag, value, owner in (
            ("--attention-window", request.attention_window, "longformer"),
            ("--num-random-blocks", request.num_random_blocks, "bigbird"),
        )
        if value is not None and owner != target.name
    ]
    if wrong:
        raise InvalidInputError(
            f"{wrong[0]} is not an option of {target.class_prefix}",
            f"{target.class_prefix} takes {target.options_hint}",
        )


def _classes(config: dict[str, Any], target: NativeArchitecture, reference: str) -> tuple[str, Head]:
    """The base's class (config.json's `architectures`) and the head the target keeps."""
    names = list(config.get("architectures") or [])
    if not names or not hasattr(transformers, names[0]):
        raise InvalidInputError(
            f"config.json of {reference} names no transformers class in `architectures` ({names or 'none'})",
            'add the class the weights were saved with, e.g. "architectures": ["BertForMaskedLM"]',
        )
    match = re.search(r"(Model|For[A-Za-z]+)$", names[0])
    head = HEADS.get(match.group(1)) if match else None
    if head is None or not hasattr(transformers, target.class_name(head.class_suffix)):
        available = ", ".join(
            target.class_name(suffix) for suffix in HEADS if hasattr(transformers, target.class_name(suffix))
        )
        raise InvalidInputError(
            f"{names[0]} has no {target.class_prefix} counterpart in transformers",
            f"{target.class_prefix} provides {available}: convert a base with one of those heads",
        )
    return names[0], head


def _target_config(
    config: dict[str, Any], target: NativeArchitecture, long_settings: dict, max_length: int, tokenizer
) -> dict[str, Any]:
    values = {key: value for key, value in config.items() if key not in _DROPPED_CONFIG_KEYS}
    for name in ("pad", "bos", "eos", "sep"):  # the tokenizer's, not the target class's defaults (BigBird's sep: 66)
        if values.get(f"{name}_token_id") is None:
            values[f"{name}_token_id"] = getattr(tokenizer, f"{name}_token_id")
    values.update(long_settings)
    layout = PositionLayout.of({"model_type": target.model_type, "pad_token_id": values["pad_token_id"]})
    values["max_position_embeddings"] = layout.config_length(max_length)
    return values


def convert_native_into(
    folder: Path, request: ConversionRequest, plan: NativePlan, report: Callable[[str], None] = lambda step: None
) -> NativeResult:
    """Write the native repository into an empty `folder` (a staging folder: nothing here cleans up)."""
    report("loading the base weights")
    with weights_errors(plan.reference), quiet_transformers():
        base = getattr(transformers, plan.base_class).from_pretrained(plan.directory, dtype=DTYPES[request.dtype])
    base.eval()
    report(f"mapping the weights onto {plan.class_name}")
    config = transformers.AutoConfig.for_model(plan.target.model_type, **plan.config)
    torch.manual_seed(request.seed)
    with quiet_transformers():
        model = getattr(transformers, plan.class_name)(config).to(base.dtype).eval()
    mapped = map_weights(base.state_dict(), _prefix(base), model.state_dict(), _prefix(model))
    new = tuple(name for name in mapped.missing if any(part in name for part in _UNUSED_NEW))
    if mapped.unexpected or len(new) != len(mapped.missing):
        _refuse_mapping(plan, [*mapped.unexpected, *sorted(set(mapped.missing) - set(new))])
    key = position_key(mapped.tensors, _prefix(model))
    target_layout = PositionLayout.of({"model_type": plan.target.model_type, "pad_token_id": config.pad_token_id})
    mapped.tensors[key] = grown_table(
        mapped.tensors[key], plan.base_layout, plan.text_length, target_layout, request.max_length
    )
    model.load_state_dict(mapped.tensors, strict=False)
    report("writing the repository")
    _save(model, plan, request, new, folder)
    report("comparing with the base on a short input")
    difference = _check_function(base, model, plan, request)
    return NativeResult(folder, plan, new, len(mapped.copied_globals), difference)


def _prefix(model) -> str:
    """The prefix of the base model's tensors in `model`'s state dict ("" for a bare base model)."""
    return "" if model.base_model is model else model.base_model_prefix


def _refuse_mapping(plan: NativePlan, names: list[str]) -> None:
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    raise InvalidInputError(
        f"the weights of {plan.reference} ({plan.base_class}) do not map exactly onto {plan.class_name}: {shown}",
        f"convert the base's masked-LM checkpoint or bare model, or use LSG attention (the default), which keeps "
        f"every {plan.base_class} head",
    )


def _check_function(base, model, plan: NativePlan, request: ConversionRequest) -> float:
    """The converted model must compute the base's function where it attends fully; run after saving, since
    BigBird switches itself to full attention for good on a short input."""
    limit = plan.target.full_attention_length(plan.config) or plan.text_length
    inputs = plan.tokenizer(_CHECK_TEXT, truncation=True, max_length=min(limit, plan.text_length), return_tensors="pt")
    inputs = {name: value for name, value in inputs.items() if name in ("input_ids", "attention_mask")}
    if plan.head is MULTIPLE_CHOICE:
        inputs = {name: value[:, None] for name, value in inputs.items()}
    with torch.no_grad(), quiet_transformers():
        expected, actual = base(**inputs, return_dict=False)[0], model(**inputs, return_dict=False)[0]
    difference = float((expected.float() - actual.float()).abs().max())
    tolerance = TOLERANCE.get(model.dtype, 1e-4) * max(1.0, float(expected.float().abs().max()))
    if not difference <= tolerance:
        raise InvalidInputError(
            f"{plan.class_name} made from {plan.reference} does not compute the base's function on a short input "
            f"(largest difference {difference:.1e}, at most {tolerance:.1e} allowed): the layers of its "
            f"{plan.head.class_suffix} head differ from {plan.base_class}'s",
            "convert the base's masked-LM checkpoint or bare model, or use LSG attention (the default)",
        )
    return difference


def _save(model, plan: NativePlan, request: ConversionRequest, new_weights: tuple[str, ...], folder: Path) -> None:
    provenance = Provenance(
        __version__, plan.base.hub_id, plan.base.revision, conversion_command(request), new_weights
    )
    setattr(model.config, PROVENANCE_KEY, provenance.to_config())
    model.config.name_or_path = plan.base.hub_id or ""
    with quiet_transformers():
        model.save_pretrained(folder, safe_serialization=True)
    # Every key, not the diff against the class defaults: the length settings stay visible, whatever later
    # transformers releases take as defaults.
    (folder / "config.json").write_text(model.config.to_json_string(use_diff=False))
    save_tokenizer(plan.tokenizer, request.max_length, folder)
