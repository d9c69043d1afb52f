"""Render `modeling_lsg_<type>.py` from the Jinja templates shipped in the package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hubgen import __version__
from hubgen.registry import ModelType
from hubgen.templating import environment

# The LSG keys of section 1 of the spec, with the defaults existing configs rely on.
LSG_DEFAULTS = {
    "adaptive": True,
    "base_model_prefix": "lsg",
    "block_size": 128,
    "sparse_block_size": 128,
    "sparsity_factor": 2,
    "sparsity_type": "norm",
    "lsh_num_pre_rounds": 1,
    "mask_first_token": False,
    "num_global_tokens": 1,
    "pool_with_global": True,
}
ENCODER_DECODER_LSG_DEFAULTS = {**LSG_DEFAULTS, "pass_global_tokens_to_decoder": True}

# Keys some transformers versions handle in the config base class; they are passed through it on every version.
SHARED_CONFIG_KEYS = ("pad_token_id", "bos_token_id", "eos_token_id", "is_decoder", "add_cross_attention")
SHARED_DEFAULTS = {"pad_token_id": None, "bos_token_id": None, "eos_token_id": None, "is_decoder": False}


def _lm_style(name: str, base: str, pooled: bool) -> dict:
    """Where the LM decoder and its bias live in each LM head style, for tying and output embeddings."""
    attribute, module, decoder, bias = {
        "bert": ("cls", "OnlyMLMHead", "cls.predictions.decoder", "cls.predictions.bias"),
        "roberta": ("lm_head", "LMPredictionHead", "lm_head.decoder", "lm_head.bias"),
    }[name]
    return {
        "attribute": attribute,
        "module": module,
        "decoder": decoder,
        "tied_weights": {
            f"{decoder}.weight": f"{base}.embeddings.word_embeddings.weight",
            f"{decoder}.bias": bias,
        },
        # Heads that never read the pooler build the base model without it, as the library does.
        "base_kwargs": ", add_pooling_layer=False" if pooled else "",
    }


# The transformers output classes each head kind returns (imported only when used, so files pass `ruff check`).
_HEAD_OUTPUTS = {
    "model": ("BaseModelOutputWithPooling",),
    "masked_lm": ("MaskedLMOutput",),
    "causal_lm": ("CausalLMOutput",),
    "pretraining": ("ModelOutput",),
    "sequence_classification": ("SequenceClassifierOutput",),
    "token_classification": ("TokenClassifierOutput",),
    "question_answering": ("QuestionAnsweringModelOutput",),
    "multiple_choice": ("MultipleChoiceModelOutput",),
}

# Family facts the templates need: the inputs the base model takes and the template of its heads.
_FAMILIES = {
    "bert": {
        "model_inputs": ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds"),
        "heads_template": "encoder.py.jinja",
    },
}


def _template_names(model_type: ModelType) -> list[str]:
    family = _FAMILIES[model_type.family]
    styles = model_type.head_styles
    return [
        "modeling.py.jinja",
        "common/lsg_attention.py.jinja",
        "common/config.py.jinja",
        "common/losses.py.jinja",
        f"families/{model_type.family}.py.jinja",
        f"heads/{family['heads_template']}",
        "heads/calls.py.jinja",
        f"heads/lm_{styles['lm_head']}.py.jinja",
        f"heads/classifier_{styles['classifier']}.py.jinja",
    ]


def render_context(model_type: ModelType) -> dict:
    family = _FAMILIES[model_type.family]
    defaults = dict(model_type.config_defaults)
    shared = {
        key: defaults.pop(key, SHARED_DEFAULTS.get(key)) for key in SHARED_CONFIG_KEYS if key != "add_cross_attention"
    }
    shared["add_cross_attention"] = False
    shared["tie_word_embeddings"] = True
    styles = dict(model_type.head_styles)
    outputs = sorted({name for head in model_type.heads for name in _HEAD_OUTPUTS[head.kind]})
    exported = sorted([model_type.config_class] + [model_type.class_name(head) for head in model_type.heads])
    return {
        "type": model_type,
        "P": model_type.class_prefix,
        "class_prefix": model_type.class_prefix,
        "library_prefix": model_type.library_prefix or model_type.class_prefix,
        "base": model_type.base_model_prefix,
        "base_model_prefix": model_type.base_model_prefix,
        "base_model_type": model_type.name,
        "lsg_model_type": model_type.lsg_model_type,
        "config_class": model_type.config_class,
        "embedding_width": model_type.embedding_width,
        "attribute_map": dict(model_type.attribute_map),
        "base_defaults": defaults,
        "shared_defaults": shared,
        "lsg_defaults": ENCODER_DECODER_LSG_DEFAULTS if model_type.family == "bart" else LSG_DEFAULTS,
        "styles": styles,
        "lm": _lm_style(styles["lm_head"], model_type.base_model_prefix, bool(styles.get("pooler"))),
        "model_inputs": family["model_inputs"],
        "heads_template": family["heads_template"],
        "class_name": model_type.class_name,
        "output_classes": outputs,
        "exported_names": exported,
        "hubgen_version": __version__,
        "template_names": _template_names(model_type),
    }


def render_modeling_file(model_type: ModelType) -> str:
    """The full source of `modeling_lsg_<type>.py` for this type."""
    template = environment("hubgen.templates").get_template("modeling.py.jinja")
    return template.render(**render_context(model_type))


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
    path.write_text(render_modeling_file(model_type), encoding="utf-8")
    return path
