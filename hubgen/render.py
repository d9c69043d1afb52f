"""Render `modeling_lsg_<type>.py` from the Jinja templates shipped in the package."""

from __future__ import annotations

import importlib.util
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

from hubgen import __version__
from hubgen.lsg_options import LSGOptions
from hubgen.registry import ModelType
from hubgen.runtime_code import RuntimeCodeError, RuntimeModule, check_rendered, runtime_module
from hubgen.staging import write_text
from hubgen.templating import environment

# The LSG keys of section 1 of the spec with the defaults existing configs rely on (what a config without the key
# means); encoder-decoders add one key.
LSG_DEFAULTS = LSGOptions.runtime().config_values()
ENCODER_DECODER_LSG_DEFAULTS = {**LSG_DEFAULTS, "pass_global_tokens_to_decoder": True}

# Where the templates live in the source tree (installed as the package `hubgen.templates`).
TEMPLATES_FOLDER = "templates"

# Keys some transformers versions handle in the config base class; they are passed through it on every version.
SHARED_CONFIG_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "is_decoder", "add_cross_attention")
SHARED_DEFAULTS = {"pad_token_id": None, "bos_token_id": None, "eos_token_id": None, "is_decoder": False}
# Encoder-decoder keys, passed through the base class when a type has them. `forced_eos_token_id` is a generation
# setting: 4.x keeps it on the config, 5.x drops it there and reads it from generation_config.json instead.
SEQ2SEQ_CONFIG_KEYS = ("is_encoder_decoder", "decoder_start_token_id", "forced_eos_token_id")


def _tidy(source: str) -> str:
    """At most two blank lines in a row: templates leave room around optional blocks, which may render empty."""
    return re.sub(r"\n(?:[ \t]*\n){3,}", "\n\n\n", source)


def render_context(model_type: ModelType) -> dict:
    family, options = model_type.family, model_type.options
    defaults = dict(model_type.config_defaults)
    shared = {
        key: defaults.pop(key, SHARED_DEFAULTS.get(key)) for key in SHARED_CONFIG_KEYS if key != "add_cross_attention"
    }
    shared["add_cross_attention"] = False
    shared["tie_word_embeddings"] = True
    shared.update({key: defaults.pop(key) for key in SEQ2SEQ_CONFIG_KEYS if key in defaults})
    model_output = "BaseModelOutputWithPooling" if getattr(options, "pooler", False) else "BaseModelOutput"
    outputs = sorted(
        ({model_output} if "model" not in family.head_outputs else set())
        | {name for head in model_type.heads for name in family.head_outputs.get(head.kind, ())}
    )
    generates = any(head.kind in ("causal_lm", "seq2seq_lm") for head in model_type.heads)
    transformers_imports = (["GenerationMixin"] if generates else []) + ["PretrainedConfig", "PreTrainedModel"]
    exported = sorted([model_type.config_class] + [model_type.class_name(head) for head in model_type.heads])
    lm_head = getattr(options, "lm_head", None)
    return {
        "type": model_type,
        "family": family,
        "options": options,
        "class_prefix": model_type.class_prefix,
        "base_model_prefix": model_type.base_model_prefix,
        "base_model_type": model_type.library_model_type or model_type.name,
        "lsg_model_type": model_type.lsg_model_type,
        "config_class": model_type.config_class,
        "embedding_width": model_type.embedding_width,
        "attribute_map": dict(model_type.attribute_map),
        "base_defaults": defaults,
        "shared_defaults": shared,
        "lsg_defaults": ENCODER_DECODER_LSG_DEFAULTS if family.encoder_decoder else LSG_DEFAULTS,
        "lm": lm_head,
        "tied_weights": lm_head.tied_weights(model_type.base_model_prefix) if lm_head else None,
        "keys_to_ignore_at_inference": list(family.keys_to_ignore_at_inference),
        "default_num_labels": getattr(options, "default_num_labels", None),
        "model_inputs": family.model_inputs,
        "class_name": model_type.class_name,
        "output_classes": outputs,
        "model_output": model_output,
        "transformers_imports": transformers_imports,
        "exported_names": exported,
        "optional_imports": [
            statement for name in family.runtime for statement in runtime_module(name).optional_imports
        ],
    }


def render_modeling_file(model_type: ModelType) -> str:
    """The full source of `modeling_lsg_<type>.py` for this type: one render, then the header naming its sources."""
    templates = environment("hubgen.templates")
    included: list[RuntimeModule] = []

    def runtime(name: str) -> str:
        included.append(runtime_module(name))
        return included[-1].code

    templates.globals["runtime"] = runtime
    body = _tidy(templates.get_template("modeling.py.jinja").render(**render_context(model_type)))
    check_rendered(body, included)
    if {module.name for module in included} != set(model_type.family.runtime):
        raise RuntimeCodeError(f"the {model_type.family.name} family's templates do not include its runtime modules")
    return _header(model_type, [f"{TEMPLATES_FOLDER}/{name}" for name in templates.loader.names], included) + body


def _header(model_type: ModelType, templates: list[str], runtime: list[RuntimeModule]) -> str:
    """What the file is, where it comes from and how to change it, as comment lines of at most 119 characters."""
    prefix = model_type.class_prefix
    sources = (
        f"This file was generated by hubgen {__version__} from {', '.join(templates)} and "
        f"{', '.join(module.path for module in runtime)}. Do not edit it by hand: change those files and run "
        f"`hubgen render {model_type.name}`."
    )
    purpose = (
        f"LSG (Local + Sparse + Global) attention for {prefix} models: the same parameters as transformers' {prefix} "
        "classes plus a table of global embeddings, so a base checkpoint loads into it and handles inputs as long as "
        "its position table (`max_position_embeddings`) at a cost linear in their length. Self-contained: it needs "
        "torch and transformers' stable API only, and loads with trust_remote_code=True."
    )
    wrapped = [
        textwrap.fill(text, width=119, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)
        for text in (sources, purpose)
    ]
    return "\n#\n".join(wrapped) + "\n"


def import_modeling_file(path: Path, module_name: str) -> ModuleType:
    """Import a rendered file as a top-level module, the way transformers imports remote code.

    The module is registered in `sys.modules` before it runs: its dataclasses look themselves up there.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def write_modeling_file(model_type: ModelType, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / model_type.file_name
    write_text(path, render_modeling_file(model_type))
    return path
