"""Render `modeling_lsg_<type>.py` from the Jinja templates shipped in the package."""

from __future__ import annotations

import importlib.resources
import pprint
from pathlib import Path

import jinja2

from hubgen import __version__
from hubgen.registry import ModelType

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
# Encoder-decoder keys, passed through the base class when a type has them. `forced_eos_token_id` is a generation
# setting: 4.x keeps it on the config, 5.x drops it there and reads it from generation_config.json instead.
SEQ2SEQ_CONFIG_KEYS = ("is_encoder_decoder", "decoder_start_token_id", "forced_eos_token_id")


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

# The seq2seq heads return the library's seq2seq output classes.
_SEQ2SEQ_HEAD_OUTPUTS = {
    "model": ("BaseModelOutput", "BaseModelOutputWithPastAndCrossAttentions", "Seq2SeqModelOutput"),
    "seq2seq_lm": ("Seq2SeqLMOutput",),
    "sequence_classification": ("Seq2SeqSequenceClassifierOutput",),
    "question_answering": ("Seq2SeqQuestionAnsweringModelOutput",),
    "causal_lm": ("CausalLMOutputWithCrossAttentions",),
}

# Family facts the templates need: the inputs the base model takes and the template of its heads.
_FAMILIES = {
    "bert": {
        "model_inputs": ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds"),
        "heads_template": "encoder.py.jinja",
    },
    "bart": {
        "model_inputs": ("input_ids", "attention_mask", "inputs_embeds"),
        "heads_template": "seq2seq.py.jinja",
        "head_outputs": _SEQ2SEQ_HEAD_OUTPUTS,
        # Trainer drops these model outputs when it gathers predictions (the cache is not a prediction).
        "keys_to_ignore_at_inference": ["past_key_values"],
    },
}


def _pyrepr(value: object) -> str:
    return pprint.pformat(value, width=100, sort_dicts=False)


def _environment() -> jinja2.Environment:
    templates = importlib.resources.files("hubgen.templates")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    environment.filters["pyrepr"] = _pyrepr
    return environment


def _template_names(model_type: ModelType) -> list[str]:
    family = _FAMILIES[model_type.family]
    styles = model_type.head_styles
    names = [
        "modeling.py.jinja",
        "common/lsg_attention.py.jinja",
        "common/config.py.jinja",
        "common/losses.py.jinja",
        f"families/{model_type.family}.py.jinja",
        f"heads/{family['heads_template']}",
    ]
    if "lm_head" in styles:
        names += [
            "heads/calls.py.jinja",
            f"heads/lm_{styles['lm_head']}.py.jinja",
            f"heads/classifier_{styles['classifier']}.py.jinja",
        ]
    return names


def render_context(model_type: ModelType) -> dict:
    family = _FAMILIES[model_type.family]
    defaults = dict(model_type.config_defaults)
    shared = {
        key: defaults.pop(key, SHARED_DEFAULTS.get(key)) for key in SHARED_CONFIG_KEYS if key != "add_cross_attention"
    }
    shared["add_cross_attention"] = False
    shared["tie_word_embeddings"] = True
    shared.update({key: defaults.pop(key) for key in SEQ2SEQ_CONFIG_KEYS if key in defaults})
    styles = dict(model_type.head_styles)
    head_outputs = family.get("head_outputs", _HEAD_OUTPUTS)
    outputs = sorted({name for head in model_type.heads for name in head_outputs[head.kind]})
    exported = sorted([model_type.config_class] + [model_type.class_name(head) for head in model_type.heads])
    return {
        "type": model_type,
        "P": model_type.class_prefix,
        "class_prefix": model_type.class_prefix,
        "library_prefix": model_type.library_prefix or model_type.class_prefix,
        "base": model_type.base_model_prefix,
        "base_model_prefix": model_type.base_model_prefix,
        "base_model_type": model_type.library_model_type or model_type.name,
        "lsg_model_type": model_type.lsg_model_type,
        "config_class": model_type.config_class,
        "embedding_width": model_type.embedding_width,
        "attribute_map": dict(model_type.attribute_map),
        "base_defaults": defaults,
        "shared_defaults": shared,
        "lsg_defaults": ENCODER_DECODER_LSG_DEFAULTS if model_type.family == "bart" else LSG_DEFAULTS,
        "styles": styles,
        "options": dict(model_type.family_options),
        "lm": _lm_style(styles["lm_head"], model_type.base_model_prefix, bool(styles.get("pooler")))
        if "lm_head" in styles
        else None,
        "keys_to_ignore_at_inference": family.get("keys_to_ignore_at_inference", []),
        "default_num_labels": model_type.family_options.get("default_num_labels"),
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
    template = _environment().get_template("modeling.py.jinja")
    return template.render(**render_context(model_type))


def write_modeling_file(model_type: ModelType, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / model_type.file_name
    path.write_text(render_modeling_file(model_type), encoding="utf-8")
    return path
