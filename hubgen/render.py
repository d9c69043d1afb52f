"""Render `modeling_lsg_<type>.py` from the Jinja templates shipped in the package."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from hubgen import __version__
from hubgen.registry import ModelType
from hubgen.runtime_code import check_rendered, runtime_module
from hubgen.staging import write_text
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
# Encoder-decoder keys, passed through the base class when a type has them. `forced_eos_token_id` is a generation
# setting: 4.x keeps it on the config, 5.x drops it there and reads it from generation_config.json instead.
SEQ2SEQ_CONFIG_KEYS = ("is_encoder_decoder", "decoder_start_token_id", "forced_eos_token_id")


# Per LM head style: the decoder tied to the word embeddings, and where the style has one, the separate output bias
# the decoder shares (tied by `_tie_weights` on 4.x, declared in `_tied_weights_keys` for 5.x) and the module owning it.
_LM_STYLES = {
    "bert": ("cls.predictions.decoder", "cls.predictions.bias", "LMPredictionHead"),
    "roberta": ("lm_head.decoder", "lm_head.bias", "LMPredictionHead"),
    "albert": ("predictions.decoder", "predictions.bias", "MLMHead"),
    "electra": ("generator_lm_head", None, None),
    "distilbert": ("vocab_projector", None, None),
}


def _lm_style(name: str, base: str, pooled: bool) -> dict:
    """Where the LM decoder and its bias live in each LM head style, for tying and output embeddings."""
    decoder, bias, bias_module = _LM_STYLES[name]
    tied_weights = {f"{decoder}.weight": f"{base}.embeddings.word_embeddings.weight"}
    if bias is not None:
        tied_weights[f"{decoder}.bias"] = bias
    return {
        "decoder": decoder,
        "tied_weights": tied_weights,
        "bias_module": bias_module,
        # Heads that never read the pooler build the base model without it, as the library does.
        "base_kwargs": ", add_pooling_layer=False" if pooled else "",
    }


# The transformers output classes each head kind returns (imported only when used, so files pass `ruff check`); the
# bare model returns `BaseModelOutputWithPooling` when it has a pooler, `BaseModelOutput` otherwise.
_HEAD_OUTPUTS = {
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

# Family facts the templates need: the inputs the base model takes (in the library's order) and the template of its
# heads. The family template itself (families/<family>.py.jinja) holds the layer stack.
_ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
_RUNTIME = ("settings", "attention", "loading", "losses")
_FAMILIES = {
    "bert": {"model_inputs": _ENCODER_INPUTS, "heads_template": "encoder.py.jinja", "runtime": _RUNTIME},
    "albert": {"model_inputs": _ENCODER_INPUTS, "heads_template": "encoder.py.jinja", "runtime": _RUNTIME},
    "distilbert": {
        "model_inputs": ("input_ids", "attention_mask", "inputs_embeds", "position_ids"),
        "heads_template": "encoder.py.jinja",
        "runtime": _RUNTIME,
    },
    "bart": {
        "model_inputs": ("input_ids", "attention_mask", "inputs_embeds"),
        "heads_template": "seq2seq.py.jinja",
        "runtime": (*_RUNTIME, "seq2seq"),
        "head_outputs": _SEQ2SEQ_HEAD_OUTPUTS,
        # Trainer drops these model outputs when it gathers predictions (the cache is not a prediction).
        "keys_to_ignore_at_inference": ["past_key_values"],
    },
}

# Optional style switches (see hubgen.registry): absent means the model does not have the part.
_STYLE_DEFAULTS = {"pooler": None, "embedding_projection": None, "qa_dropout": None}


def _tidy(source: str) -> str:
    """At most two blank lines in a row: templates leave room around optional blocks, which may render empty."""
    return re.sub(r"\n(?:[ \t]*\n){3,}", "\n\n\n", source)


def render_context(model_type: ModelType) -> dict:
    family = _FAMILIES[model_type.family]
    defaults = dict(model_type.config_defaults)
    shared = {
        key: defaults.pop(key, SHARED_DEFAULTS.get(key)) for key in SHARED_CONFIG_KEYS if key != "add_cross_attention"
    }
    shared["add_cross_attention"] = False
    shared["tie_word_embeddings"] = True
    shared.update({key: defaults.pop(key) for key in SEQ2SEQ_CONFIG_KEYS if key in defaults})
    styles = {**_STYLE_DEFAULTS, **model_type.head_styles}
    model_output = "BaseModelOutputWithPooling" if styles["pooler"] else "BaseModelOutput"
    head_outputs = family.get("head_outputs", _HEAD_OUTPUTS)
    outputs = sorted(
        ({model_output} if "model" not in head_outputs else set())
        | {name for head in model_type.heads for name in head_outputs.get(head.kind, ())}
    )
    generates = any(head.kind in ("causal_lm", "seq2seq_lm") for head in model_type.heads)
    transformers_imports = (["GenerationMixin"] if generates else []) + ["PretrainedConfig", "PreTrainedModel"]
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
        "model_output": model_output,
        "transformers_imports": transformers_imports,
        "exported_names": exported,
        "hubgen_version": __version__,
        "optional_imports": [
            statement for name in family["runtime"] for statement in runtime_module(name).optional_imports
        ],
    }


def render_modeling_file(model_type: ModelType) -> str:
    """The full source of `modeling_lsg_<type>.py` for this type."""
    context = render_context(model_type)
    templates = environment("hubgen.templates")
    included = []

    def runtime(name: str) -> str:
        included.append(runtime_module(name))
        return included[-1].code

    templates.globals["runtime"] = runtime
    template = templates.get_template("modeling.py.jinja")
    # The header names every template the file comes from, which depends on the type: a first render finds them.
    template.render(**context, template_names=[])
    included.clear()
    source = _tidy(template.render(**context, template_names=templates.loader.names))
    check_rendered(source, included)
    return source


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
