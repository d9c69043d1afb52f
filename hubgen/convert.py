"""Convert a base checkpoint into an LSG repository folder (shared/LSG_SPEC.md sections 5 and 6).

The base weights are loaded once, by transformers itself, into the rendered LSG class (so sharded checkpoints,
dtypes, legacy key names and head changes are handled by the library); only the position and global tables are then
edited in place, so a large model never needs a second copy of its weights. `convert_into` writes into a staging
folder that `hubgen.conversion.convert` makes the output folder only when the conversion has succeeded
(`hubgen.staging`); `hubgen.conversion` also chooses between this and a native target (`hubgen.native`).
"""

from __future__ import annotations

import json
import pickle
import shlex
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
import transformers
from safetensors import SafetensorError
from torch import nn
from transformers import PreTrainedTokenizerBase

from hubgen import __version__, sentence_transformers
from hubgen.checkpoint import BaseCheckpoint, FetchedBase, open_checkpoint
from hubgen.embedding_tables import grow_positions, positional_global_table, random_global_table
from hubgen.errors import InvalidInputError
from hubgen.generation_config import generation_settings, split_generation_settings
from hubgen.lsg_options import LSGOptions
from hubgen.native.architectures import NativeSettings
from hubgen.position_memory import check_position_memory
from hubgen.provenance import published_base
from hubgen.quiet_loading import quiet_transformers
from hubgen.registry import Head, ModelType
from hubgen.render import import_modeling_file, write_modeling_file
from hubgen.repository import PROVENANCE_KEY, Provenance

DTYPES = {"auto": "auto", "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}

# Config keys that describe the file rather than the model; the LSG config sets its own.
_DROPPED_CONFIG_KEYS = ("model_type", "architectures", "auto_map", "transformers_version", "_name_or_path", "hubgen")


@dataclass(frozen=True)
class ConversionRequest:
    """What `hubgen convert` was asked to do; LSG options left at None take the CLI defaults (or, when upgrading an
    LSG checkpoint, its own values)."""

    base: str
    max_length: int
    output: Path
    architecture: str | None = None
    lsg_overrides: dict[str, Any] = field(default_factory=dict)
    random_global_init: bool = False
    global_positional_stride: int = 64
    keep_first_global_token: bool = False
    resize_lsg: bool = False
    seed: int = 123
    dtype: str = "auto"
    token: str | bool | None = None
    revision: str | None = None
    base_model: str | None = None  # the Hub id of a local base folder (`--base-model`), for published files
    # None: LSG, unless the base is a natively long checkpoint (extended in its own architecture, hubgen.native).
    attention: str | None = None
    attention_window: int | None = None  # Longformer
    num_random_blocks: int | None = None  # BigBird (its block size is --block-size)

    def native_settings(self) -> NativeSettings:
        return NativeSettings(self.attention_window, self.lsg_overrides.get("block_size"), self.num_random_blocks)


@dataclass(frozen=True)
class ConversionResult:
    output: Path
    checkpoint: BaseCheckpoint
    head: Head
    options: LSGOptions
    new_weights: tuple[str, ...]
    global_init: str
    warnings: tuple[str, ...] = ()

    @property
    def model_type(self) -> ModelType:
        return self.checkpoint.model_type


@dataclass(frozen=True)
class ConversionPlan:
    """What `plan_conversion` settled before anything is written, carried into `convert_into` so that nothing is
    read or checked twice. For one conversion: `convert_into` sets the tokenizer's new maximum length."""

    checkpoint: BaseCheckpoint
    head: Head
    options: LSGOptions  # fitted to the tokenizer
    tokenizer: PreTrainedTokenizerBase

    @property
    def directory(self) -> Path:
        return self.checkpoint.directory


def conversion_command(
    request: ConversionRequest, verb: str = "convert", tail: tuple[str, ...] = ("--out", "OUT")
) -> str:
    """The command line that reproduces a conversion, for the model card; built from the request (never from argv,
    which may hold a token)."""
    parts = ["hubgen", verb, published_base(request.base, request.base_model), "--max-len", str(request.max_length)]
    if request.architecture:
        parts += ["--architecture", request.architecture]
    for key, value in sorted(request.lsg_overrides.items()):
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else flag.replace("--", "--no-", 1))
        else:
            parts += [flag, str(value)]
    for flag, value, default in (
        ("--attention", None if request.attention == "lsg" else request.attention, None),
        ("--attention-window", request.attention_window, None),
        ("--num-random-blocks", request.num_random_blocks, None),
        ("--global-positional-stride", request.global_positional_stride, ConversionRequest.global_positional_stride),
        ("--seed", request.seed, ConversionRequest.seed),
        ("--dtype", request.dtype, ConversionRequest.dtype),
    ):
        if value != default:
            parts += [flag, str(value)]
    for flag, enabled in (
        ("--random-global-init", request.random_global_init),
        ("--keep-first-global-token", request.keep_first_global_token),
        ("--resize-lsg", request.resize_lsg),
    ):
        if enabled:
            parts.append(flag)
    if request.revision:
        parts += ["--revision", request.revision]
    return shlex.join(parts + list(tail))


def plan_conversion(request: ConversionRequest, fetched: FetchedBase | None = None) -> ConversionPlan:
    """Every check that can fail, before anything is written: the base (`fetched`: already fetched), its tokenizer,
    the head, the options and the length."""
    if request.dtype not in DTYPES:
        raise InvalidInputError(f"--dtype {request.dtype!r} is not supported", f"choose one of {', '.join(DTYPES)}")
    if request.global_positional_stride < 1:
        raise InvalidInputError("--global-positional-stride must be at least 1", "64 is the usual value")
    if request.resize_lsg and request.random_global_init:
        raise InvalidInputError(
            "--resize-lsg keeps the global tokens, --random-global-init replaces them", "pass only one of the two"
        )
    checkpoint = open_checkpoint(
        request.base, token=request.token, revision=request.revision, base_model=request.base_model, fetched=fetched
    )
    _check_tokenizer_class(checkpoint)
    tokenizer = load_tokenizer(
        checkpoint.directory,
        checkpoint.reference,
        checkpoint.model_type.library_model_type or checkpoint.model_type.name,
    )
    if sentence_transformers.is_sentence_transformer(checkpoint.directory):
        sentence_transformers.check_layout(checkpoint.directory, request.base)
    head = _choose_head(checkpoint, request.architecture)
    base_options = LSGOptions.from_config(checkpoint.config) if checkpoint.is_lsg else LSGOptions()
    options = base_options.updated(**request.lsg_overrides)
    options.validate()
    options.check_length(request.max_length, checkpoint.text_length, upgrade=checkpoint.is_lsg)
    check_position_memory(checkpoint, request.max_length, request.dtype)
    options = _fit_to_tokenizer(options, request, tokenizer, _first_token_id(tokenizer, checkpoint))
    return ConversionPlan(checkpoint, head, options, tokenizer)


def convert_into(
    folder: Path, request: ConversionRequest, plan: ConversionPlan, report: Callable[[str], None] = lambda step: None
) -> ConversionResult:
    """Write the converted repository into an empty `folder` (a staging folder: nothing here cleans up)."""
    checkpoint, head, options, tokenizer = plan.checkpoint, plan.head, plan.options, plan.tokenizer
    report("rendering the modeling file")
    module = _import_rendered(checkpoint.model_type, folder)
    report("loading the base weights")
    model, new_weights, has_global_table = _load(module, checkpoint, head, options, request)
    report("growing position embeddings and initialising global tokens")
    _grow_position_tables(model, checkpoint, request.max_length)
    global_init = _initialise_global_tokens(model, checkpoint, tokenizer, request, has_global_table)
    report("writing the repository")
    _save(model, tokenizer, checkpoint, request, new_weights, folder)
    warnings = _own_code_warnings(checkpoint, tokenizer)
    return ConversionResult(folder, checkpoint, head, options, new_weights, global_init, warnings)


def _choose_head(checkpoint: BaseCheckpoint, architecture: str | None) -> Head:
    model_type = checkpoint.model_type
    names = [architecture] if architecture else list(checkpoint.config.get("architectures") or [])
    for name in names:
        head = model_type.head_for_architecture(name)
        if head is not None:
            return head
    if architecture or names:
        choices = ", ".join(model_type.library_class_name(h) for h in model_type.heads)
        raise InvalidInputError(
            f"architecture {names[0]!r} is not available for {model_type.name}", f"choose one of {choices}"
        )
    return model_type.default_head


def load_tokenizer(directory: Path, reference: str, library_model_type: str) -> PreTrainedTokenizerBase:
    """The base tokenizer, without running any code from the checkpoint: an LSG input's config is remote code,
    which transformers 5.x would otherwise load (and ask about) just to choose the tokenizer class.

    A base without one is refused: given no vocabulary, transformers makes up a tokenizer of special tokens only
    (every word `[UNK]`), and the smoke tests, which give the base the same tokenizer, would pass."""
    library_config = transformers.AutoConfig.for_model(library_model_type)
    try:
        with quiet_transformers():
            tokenizer = transformers.AutoTokenizer.from_pretrained(directory, config=library_config)
    except Exception as error:  # noqa: BLE001 - tokenizers reports damaged files as bare Exceptions
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InvalidInputError(
            f"the tokenizer of {reference} does not load ({reason})",
            "its tokenizer files are damaged or incomplete: download the checkpoint again",
        ) from None
    if len(tokenizer.get_vocab()) <= len(set(tokenizer.all_special_ids)):
        raise InvalidInputError(
            f"{reference} has no loadable tokenizer (no vocabulary)",
            "add the base model's tokenizer files (tokenizer.json, or its vocabulary files) next to config.json",
        )
    return tokenizer


def _check_tokenizer_class(checkpoint: BaseCheckpoint) -> None:
    """A tokenizer class that only the base's own code defines cannot be carried over: hubgen never runs that code,
    and the class name alone would make the published tokenizer fail to load."""
    name = checkpoint.tokenizer_class()
    if name and checkpoint.own_code() and not hasattr(transformers, name.removesuffix("Fast")):
        raise InvalidInputError(
            f"the tokenizer of {checkpoint.reference} is {name}, a class only the checkpoint's own code defines "
            f"({', '.join(checkpoint.own_code())}), which hubgen never runs",
            "use a checkpoint whose tokenizer is a transformers class",
        )


def _own_code_warnings(checkpoint: BaseCheckpoint, tokenizer) -> tuple[str, ...]:
    files = checkpoint.own_code()
    if not files:
        return ()
    warning = (
        f"{checkpoint.reference} names its own code ({', '.join(files)}) in auto_map; hubgen never runs it and the "
        f"converted repository leaves it out (tokenizer: transformers' {type(tokenizer).__name__})"
    )
    return (warning,)


def _first_token_id(tokenizer, checkpoint: BaseCheckpoint) -> int:
    ids = tokenizer("a")["input_ids"]
    if not ids:
        raise InvalidInputError(
            f"the tokenizer of {checkpoint.reference} turns the text 'a' into no tokens",
            "its vocabulary is damaged or incomplete: download the checkpoint again",
        )
    return ids[0]


def _token_row(words: torch.Tensor, token_id: int | None, role: str, checkpoint: BaseCheckpoint, hint: str):
    """The embedding row of a token the global tokens start from; one line when the weights have no such row."""
    if token_id is None or not 0 <= token_id < words.shape[0]:
        where = "no id" if token_id is None else f"id {token_id}, outside the model's {words.shape[0]} embeddings"
        raise InvalidInputError(f"the tokenizer of {checkpoint.reference} gives the {role} {where}", hint)
    return words[token_id]


def _fit_to_tokenizer(options: LSGOptions, request: ConversionRequest, tokenizer, first: int) -> LSGOptions:
    """Masking the first token is only lossless when every input starts with the same special token."""
    if "mask_first_token" in request.lsg_overrides and request.lsg_overrides["mask_first_token"] is not None:
        return options
    if first in tokenizer.all_special_ids:
        return options
    return options.updated(mask_first_token=False)


def _import_rendered(model_type: ModelType, directory: Path) -> ModuleType:
    path = write_modeling_file(model_type, directory)
    return import_modeling_file(path, f"hubgen_rendered_{model_type.module_name}")


def _load(module, checkpoint: BaseCheckpoint, head: Head, options: LSGOptions, request: ConversionRequest):
    model_type = checkpoint.model_type
    model_keys, _ = split_generation_settings(checkpoint.config)  # they go to generation_config.json (`_save`)
    values = {key: value for key, value in model_keys.items() if key not in _DROPPED_CONFIG_KEYS}
    values.update(options.config_values())
    config = getattr(module, model_type.config_class)(**values)
    config.auto_map = model_type.auto_map()
    torch.manual_seed(request.seed)
    model_class = getattr(module, model_type.class_name(head))
    with weights_errors(checkpoint.reference), quiet_transformers():
        model, info = model_class.from_pretrained(
            checkpoint.directory, config=config, dtype=DTYPES[request.dtype], output_loading_info=True
        )
    new_weights = tuple(sorted(key for key in info["missing_keys"] if "global_embeddings" not in key))
    has_global_table = len(new_weights) == len(info["missing_keys"])
    return model.eval(), new_weights, has_global_table


@contextmanager
def weights_errors(reference: str) -> Iterator[None]:
    """Loading a base's weights: pickles that would run code, and damaged files, as one line each."""
    try:
        yield
    except pickle.UnpicklingError:
        raise InvalidInputError(
            f"the weights of {reference} hold pickled Python objects besides tensors, which hubgen "
            "refuses to load (they could run code)",
            "use a checkpoint that ships model.safetensors, or convert the weights with a tool you trust",
        ) from None
    except (SafetensorError, OSError) as error:
        raise InvalidInputError(
            f"the weights of {reference} do not load ({str(error).strip().splitlines()[0]})",
            "the files are damaged or incomplete: download the checkpoint again",
        ) from None


def _named_modules(model: nn.Module, suffixes: tuple[str, ...]) -> list[nn.Module]:
    return [module for name, module in model.base_model.named_modules() if name.endswith(suffixes)]


def _grow_position_tables(model: nn.Module, checkpoint: BaseCheckpoint, max_length: int) -> None:
    model_type = checkpoint.model_type
    for table in _named_modules(model, ("position_embeddings", "embed_positions")):
        if hasattr(table, "resize"):  # sinusoidal (Pegasus): the rendered module rebuilds its formula's table
            table.resize(max_length + model_type.position_offset)
            continue
        grown = grow_positions(table.weight.data, model_type.position_offset, max_length)
        table.weight = nn.Parameter(grown, requires_grad=table.weight.requires_grad)
        table.num_embeddings = grown.shape[0]
    model.config.max_position_embeddings = max_length + model_type.config_position_offset


def _initialise_global_tokens(
    model, checkpoint: BaseCheckpoint, tokenizer, request: ConversionRequest, has_global_table: bool
) -> str:
    """Fill the global table per section 5; returns a short description for the summary and the card.

    An LSG checkpoint whose weights lack the global table (a config that only claims LSG) gets a new one, and the
    description says so."""
    (global_table,) = _named_modules(model, ("global_embeddings",))
    reinitialise = request.random_global_init or request.keep_first_global_token
    kept = checkpoint.is_lsg and has_global_table
    if kept and not reinitialise:
        return "kept from the LSG checkpoint"
    offset = checkpoint.model_type.position_offset
    (positions,) = _named_modules(model, ("position_embeddings", "embed_positions"))[:1]
    # Rows of the base's own table (the grown table repeats them); an LSG base's table is used as it is.
    original = positions.weight.data[offset : offset + checkpoint.text_length]
    words = model.get_input_embeddings().weight.data
    mismatch = "the tokenizer files do not match the weights: use the tokenizer the base was trained with"
    first = _token_row(words, _first_token_id(tokenizer, checkpoint), "first token of a text", checkpoint, mismatch)
    token_types = _named_modules(model, ("token_type_embeddings",))
    token_type = token_types[0].weight.data[0] if token_types else None
    generator = torch.Generator().manual_seed(request.seed)
    stride = request.global_positional_stride
    if request.random_global_init:
        table = random_global_table(original, words, first, token_type, stride, generator)
        description = "random (Gaussian fitted to the word embeddings), row 0 the first token's input embedding"
    else:
        mask_id = tokenizer.mask_token_id if tokenizer.mask_token_id is not None else tokenizer.unk_token_id
        mask = _token_row(words, mask_id, "mask token", checkpoint, f"{mismatch}, or pass --random-global-init")
        table = positional_global_table(original, first, mask, token_type, stride, generator)
        description = f"row 0 the first token's input embedding, others position rows (stride {stride}) + mask token"
    table = table.to(global_table.weight.dtype)
    if kept and request.keep_first_global_token:
        table[0] = global_table.weight.data[0]
        description += "; row 0 kept from the LSG checkpoint"
    if checkpoint.is_lsg and not has_global_table:
        description += " (new: the LSG checkpoint had no global tokens to keep)"
    with torch.no_grad():
        global_table.weight.copy_(table)
    return description


def _save(
    model,
    tokenizer,
    checkpoint: BaseCheckpoint,
    request: ConversionRequest,
    new_weights: tuple[str, ...],
    staging: Path,
) -> None:
    provenance = Provenance(
        __version__, checkpoint.hub_id, checkpoint.revision, conversion_command(request), new_weights
    )
    setattr(model.config, PROVENANCE_KEY, provenance.to_config())
    model.config.name_or_path = checkpoint.hub_id or ""
    with quiet_transformers():
        model.save_pretrained(staging, safe_serialization=True)
    # The full config, not the diff against class defaults that save_pretrained writes: every LSG key is visible.
    (staging / "config.json").write_text(model.config.to_json_string(use_diff=False))
    if model.config.is_encoder_decoder:
        _write_generation_config(checkpoint, staging / "generation_config.json")
    save_tokenizer(tokenizer, request.max_length, staging)
    if sentence_transformers.is_sentence_transformer(checkpoint.directory):
        sentence_transformers.write_modules(checkpoint.directory, staging, request.max_length)
    _drop_unrequested_files(staging)


def save_tokenizer(tokenizer: PreTrainedTokenizerBase, max_length: int, folder: Path) -> None:
    """The base tokenizer with the new maximum length, in files every supported transformers release reads."""
    tokenizer.model_max_length = max_length
    tokenizer.init_kwargs["model_max_length"] = max_length
    tokenizer.save_pretrained(folder)
    _drop_loading_details(folder / "tokenizer_config.json")
    _write_merges_as_strings(folder / "tokenizer.json")


def _write_generation_config(checkpoint: BaseCheckpoint, path: Path) -> None:
    """The base's generation settings, whichever file held them (see hubgen.generation_config), and the type's defaults."""
    base_file = checkpoint.directory / "generation_config.json"
    base_settings = json.loads(base_file.read_text()) if base_file.exists() else None
    settings = generation_settings(checkpoint.model_type, checkpoint.config, base_settings)
    path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")


# How the base tokenizer happened to be loaded here (transformers 5.x records it on save), and the base's own
# tokenizer code (`auto_map`, never copied: see `BaseCheckpoint.own_code`); not for the repository.
_LOADING_DETAILS = ("is_local", "local_files_only", "auto_map")


def _drop_loading_details(path: Path) -> None:
    if path.exists():
        settings = json.loads(path.read_text())
        kept = {key: value for key, value in settings.items() if key not in _LOADING_DETAILS}
        if kept != settings:
            path.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


def _write_merges_as_strings(path: Path) -> None:
    """BPE merges in the "a b" form every tokenizers release reads.

    tokenizers 0.20+ saves merges as pairs, which 0.19 (what transformers 4.40 runs with) cannot parse: the
    repository's tokenizer would not load there. The string form is only ambiguous when a piece holds a space, so
    such vocabularies keep the pairs."""
    if not path.exists():
        return
    document = json.loads(path.read_text())
    model = document.get("model") or {}
    merges = model.get("merges") or []
    if model.get("type") != "BPE" or not all(isinstance(merge, list) for merge in merges):
        return
    if any(" " in piece for merge in merges for piece in merge):
        return
    model["merges"] = [" ".join(merge) for merge in merges]
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _drop_unrequested_files(staging: Path) -> None:
    """A published repository holds only what loading needs (section 6)."""
    for path in staging.iterdir():
        if path.name.startswith(".") or path.name == "__pycache__":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
