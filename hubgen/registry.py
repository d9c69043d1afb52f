"""The model types hubgen can make long, as data.

Adding an architecture means adding a row here (and, for a new family, a `Family` and its family template): the
renderer, the converter, the CLI and the common tests all read this table, in the spirit of transformers' auto
mappings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from hubgen.errors import InvalidInputError


@dataclass(frozen=True)
class Head:
    """One model class a rendered file provides, and the Auto class that loads it."""

    kind: str
    auto_class: str
    class_suffix: str


# The heads; `kind` names the template macro that renders the class.
MODEL = Head("model", "AutoModel", "Model")
MASKED_LM = Head("masked_lm", "AutoModelForMaskedLM", "ForMaskedLM")
PRETRAINING = Head("pretraining", "AutoModelForPreTraining", "ForPreTraining")
BERT_LM_HEAD = Head("causal_lm", "AutoModelForCausalLM", "LMHeadModel")
CAUSAL_LM = Head("causal_lm", "AutoModelForCausalLM", "ForCausalLM")
SEQUENCE_CLASSIFICATION = Head(
    "sequence_classification", "AutoModelForSequenceClassification", "ForSequenceClassification"
)
TOKEN_CLASSIFICATION = Head("token_classification", "AutoModelForTokenClassification", "ForTokenClassification")
QUESTION_ANSWERING = Head("question_answering", "AutoModelForQuestionAnswering", "ForQuestionAnswering")
MULTIPLE_CHOICE = Head("multiple_choice", "AutoModelForMultipleChoice", "ForMultipleChoice")
SEQ2SEQ_LM = Head("seq2seq_lm", "AutoModelForSeq2SeqLM", "ForConditionalGeneration")


# --- families ----------------------------------------------------------------------------------------------------


# The transformers output classes each head kind returns (imported only when used, so files pass `ruff check`); the
# bare encoder returns `BaseModelOutputWithPooling` when it has a pooler, `BaseModelOutput` otherwise.
_ENCODER_HEAD_OUTPUTS = MappingProxyType(
    {
        "masked_lm": ("MaskedLMOutput",),
        "causal_lm": ("CausalLMOutput",),
        "pretraining": ("ModelOutput",),
        "sequence_classification": ("SequenceClassifierOutput",),
        "token_classification": ("TokenClassifierOutput",),
        "question_answering": ("QuestionAnsweringModelOutput",),
        "multiple_choice": ("MultipleChoiceModelOutput",),
    }
)

# The seq2seq heads return the library's seq2seq output classes.
_SEQ2SEQ_HEAD_OUTPUTS = MappingProxyType(
    {
        "model": ("BaseModelOutput", "BaseModelOutputWithPastAndCrossAttentions", "Seq2SeqModelOutput"),
        "seq2seq_lm": ("Seq2SeqLMOutput",),
        "sequence_classification": ("Seq2SeqSequenceClassifierOutput",),
        "question_answering": ("Seq2SeqQuestionAnsweringModelOutput",),
        "causal_lm": ("CausalLMOutputWithCrossAttentions",),
    }
)


@dataclass(frozen=True)
class LMHead:
    """A language-model head style (`templates/heads/lm_<name>.py.jinja`) and where its parameters live: the decoder
    tied to the word embeddings and, where the style has one, the separate output bias the decoder shares (tied by
    `_tie_weights` on 4.x, declared in `_tied_weights_keys` for 5.x) with the class suffix of the module owning it."""

    name: str
    decoder: str
    bias: str | None = None
    bias_module: str | None = None

    def tied_weights(self, base_model_prefix: str) -> dict[str, str]:
        """`_tied_weights_keys` of the heads that decode: {target: source}, with full parameter names."""
        tied = {f"{self.decoder}.weight": f"{base_model_prefix}.embeddings.word_embeddings.weight"}
        if self.bias is not None:
            tied[f"{self.decoder}.bias"] = self.bias
        return tied


BERT_LM = LMHead("bert", "cls.predictions.decoder", "cls.predictions.bias", "LMPredictionHead")
ROBERTA_LM = LMHead("roberta", "lm_head.decoder", "lm_head.bias", "LMPredictionHead")
ALBERT_LM = LMHead("albert", "predictions.decoder", "predictions.bias", "MLMHead")
ELECTRA_LM = LMHead("electra", "generator_lm_head")
DISTILBERT_LM = LMHead("distilbert", "vocab_projector")


@dataclass(frozen=True)
class EncoderOptions:
    """How an encoder type differs inside its family template and the encoder heads."""

    lm_head: LMHead
    # The sequence and multiple-choice classifiers: `templates/heads/classifier_<classifier>.py.jinja`.
    classifier: Literal["pooled", "roberta", "electra", "distilbert"]
    # A pooler (dense + tanh on the first token); heads that never read it build the model without it.
    pooler: bool = False
    # RoBERTa's position ids: they count real tokens only and start after the padding index.
    positions_after_padding: bool = False
    # The attribute projecting the embeddings to hidden_size when their widths differ (ELECTRA).
    embedding_projection: str | None = None
    # The config key of a dropout before the span classifier (DistilBERT).
    qa_dropout: str | None = None


@dataclass(frozen=True)
class BartOptions:
    """How a type of the BART family differs inside `templates/families/bart.py.jinja`."""

    # "learned" (offset rows) or "sinusoidal" (fixed, rebuilt for any length).
    positions: Literal["learned", "sinusoidal"]
    # LayerNorm before each sub-layer and at the end of each stack (mBART, Pegasus), or after each residual sum (BART).
    pre_norm: bool
    # LayerNorm on the embedding sum.
    layernorm_embedding: bool
    # What `shift_tokens_right` puts first: decoder_start_token_id, or each row's last non-padding id (mBART's
    # language id).
    decoder_start: Literal["token", "last_token"]
    # The config's num_labels when none is given: BartConfig alone defaults to 3 (the MNLI head of the originals).
    default_num_labels: int | None = None


@dataclass(frozen=True)
class Family:
    """What the types of one family share: the template of their stack (`templates/families/<name>.py.jinja`) and of
    their heads (`templates/heads/<heads_template>`), and the facts those templates read. A new family is one of
    these and its family template; a new type of an existing family is a `ModelType` row only."""

    name: str
    heads_template: str
    # The inputs the base model takes, in the library's order.
    model_inputs: tuple[str, ...]
    head_outputs: Mapping[str, tuple[str, ...]]
    # The runtime modules (`hubgen/lsg/<name>.py`) the rendered file includes.
    runtime: tuple[str, ...]
    options_type: type
    encoder_decoder: bool = False
    # Model outputs Trainer drops when it gathers predictions (a cache is not a prediction).
    keys_to_ignore_at_inference: tuple[str, ...] = ()


_ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids", "inputs_embeds")
_RUNTIME = ("settings", "attention", "loading", "losses")

BERT_FAMILY = Family("bert", "encoder.py.jinja", _ENCODER_INPUTS, _ENCODER_HEAD_OUTPUTS, _RUNTIME, EncoderOptions)
ALBERT_FAMILY = Family("albert", "encoder.py.jinja", _ENCODER_INPUTS, _ENCODER_HEAD_OUTPUTS, _RUNTIME, EncoderOptions)
DISTILBERT_FAMILY = Family(
    "distilbert",
    "encoder.py.jinja",
    ("input_ids", "attention_mask", "inputs_embeds", "position_ids"),
    _ENCODER_HEAD_OUTPUTS,
    _RUNTIME,
    EncoderOptions,
)
BART_FAMILY = Family(
    "bart",
    "seq2seq.py.jinja",
    ("input_ids", "attention_mask", "inputs_embeds"),
    _SEQ2SEQ_HEAD_OUTPUTS,
    (*_RUNTIME, "seq2seq"),
    BartOptions,
    encoder_decoder=True,
    keys_to_ignore_at_inference=("past_key_values",),
)


# --- model types -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelType:
    """Everything that differs between two architectures, so that templates hold no per-type branches.

    `family` holds what the types of a family share; the remaining fields are the facts its templates read:
    parameter prefixes, the position offset of section 5 of the spec, the width of the embedding table, the
    heads, the base config defaults (the rendered config is self-contained, so it carries them) and the options
    of the family (`EncoderOptions`, `BartOptions`).
    """

    name: str
    family: Family
    class_prefix: str
    base_model_prefix: str
    position_offset: int
    embedding_width: str
    heads: tuple[Head, ...]
    config_defaults: Mapping[str, object]
    options: EncoderOptions | BartOptions
    attribute_map: Mapping[str, str] = field(default_factory=dict)
    config_position_offset: int = 0
    library_model_type: str = ""
    tokenizer_classes: tuple[str, ...] = ()
    # The language the type's checkpoints imply, if any (CamemBERT and BARThez are French models): the smoke tests'
    # built-in sentences when the base card names none, and the corpus of the tiny checkpoint.
    language: str = "en"
    tiny: TinyRecipe | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.options, self.family.options_type):
            raise TypeError(f"{self.name}: the {self.family.name} family takes {self.family.options_type.__name__}")

    def recognises(self, model_type: str, tokenizer_class: str) -> bool:
        """Whether a library checkpoint with this `model_type` and tokenizer is of this type.

        Types that share a library model type (BARThez is an mBART model) are told apart by their tokenizer.
        """
        if model_type != (self.library_model_type or self.name):
            return False
        if self.tokenizer_classes:
            return tokenizer_class in self.tokenizer_classes
        return not any(
            other.tokenizer_classes and tokenizer_class in other.tokenizer_classes
            for other in MODEL_TYPES.values()
            if (other.library_model_type or other.name) == model_type
        )

    @property
    def module_name(self) -> str:
        """The published file name without `.py`: `xlm-roberta` becomes `modeling_lsg_xlm_roberta`."""
        return "modeling_lsg_" + self.name.replace("-", "_")

    @property
    def file_name(self) -> str:
        return self.module_name + ".py"

    @property
    def lsg_model_type(self) -> str:
        """A model type transformers does not know, so loading without `trust_remote_code` stops with an error
        instead of silently building the plain library model and dropping the global tokens."""
        return "lsg-" + self.name

    @property
    def config_class(self) -> str:
        return f"LSG{self.class_prefix}Config"

    def class_name(self, head: Head) -> str:
        return f"LSG{self.class_prefix}{head.class_suffix}"

    def library_class_name(self, head: Head) -> str:
        """The transformers class with the same parameters, used by the converter and the oracle tests."""
        return f"{self.class_prefix}{head.class_suffix}"

    def auto_map(self) -> dict[str, str]:
        """The `auto_map` of config.json: every Auto class resolves to a class of the rendered file."""
        mapping = {"AutoConfig": f"{self.module_name}.{self.config_class}"}
        for head in self.heads:
            mapping[head.auto_class] = f"{self.module_name}.{self.class_name(head)}"
        return mapping

    @property
    def default_head(self) -> Head:
        """The head built when the base config names no architecture: the one pre-training used."""
        for kind in ("masked_lm", "seq2seq_lm"):
            for head in self.heads:
                if head.kind == kind:
                    return head
        return self.heads[0]

    def head_for_architecture(self, architecture: str) -> Head | None:
        """Map a library architecture name (`BertForMaskedLM`) or an LSG one (`LSGBertForMaskedLM`) to its head."""
        name = architecture.removeprefix("LSG")
        for head in self.heads:
            if name in (self.library_class_name(head), f"{self.class_prefix}{head.class_suffix}"):
                return head
        return None


@dataclass(frozen=True)
class TinyRecipe:
    """How `hubgen.offline.tiny` makes a tiny trained checkpoint of the type, laid out as the real checkpoints are:
    the tokenizer class they ship, the config values it sets (the tiny sizes under the type's names, and what the real
    checkpoints set beyond the library's defaults), the training steps and the real checkpoints' license."""

    tokenizer_class: str
    config: Mapping[str, object]
    # Chosen by measurement: with them every encoder gets 78% (ELECTRA) to 99% (CamemBERT) of single masked tokens of
    # its corpus right, and every encoder-decoder infills all but at most 3 of its sentences exactly.
    steps: int
    license: str = "apache-2.0"
    # The token an encoder-decoder's decoder starts from: the one its `shift_tokens_right` puts first in training.
    decoder_start: str | None = None


_BERT_LIKE_DEFAULTS = {
    "vocab_size": 30522,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "classifier_dropout": None,
}

_ROBERTA_DEFAULTS = {
    **_BERT_LIKE_DEFAULTS,
    "vocab_size": 50265,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}

# The fine-tuning heads every encoder type has; the bare model comes first, then the language-model heads.
_TASK_HEADS = (SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION, QUESTION_ANSWERING, MULTIPLE_CHOICE)

_ROBERTA_HEADS = (MODEL, MASKED_LM, CAUSAL_LM, *_TASK_HEADS)

_ROBERTA_OPTIONS = EncoderOptions(ROBERTA_LM, "roberta", pooler=True, positions_after_padding=True)


_ALBERT_DEFAULTS = {
    "vocab_size": 30000,
    "embedding_size": 128,
    "hidden_size": 4096,
    "num_hidden_layers": 12,
    "num_hidden_groups": 1,
    "num_attention_heads": 64,
    "intermediate_size": 16384,
    "inner_group_num": 1,
    "hidden_act": "gelu_new",
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-12,
    "classifier_dropout_prob": 0.1,
    "position_embedding_type": "absolute",
    "pad_token_id": 0,
    "bos_token_id": 2,
    "eos_token_id": 3,
}

# ELECTRA's config is BERT's with narrower embeddings, smaller sizes and the multiple-choice summary keys.
_ELECTRA_DEFAULTS = {
    **_BERT_LIKE_DEFAULTS,
    "embedding_size": 128,
    "hidden_size": 256,
    "num_attention_heads": 4,
    "intermediate_size": 1024,
    "summary_type": "first",
    "summary_use_proj": True,
    "summary_activation": "gelu",
    "summary_last_dropout": 0.1,
    "use_cache": True,
}

# DistilBERT names its sizes differently; `attribute_map` gives the LSG code (and users) the usual names.
_DISTILBERT_DEFAULTS = {
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "sinusoidal_pos_embds": False,
    "n_layers": 6,
    "n_heads": 12,
    "dim": 768,
    "hidden_dim": 3072,
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "activation": "gelu",
    "initializer_range": 0.02,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "pad_token_id": 0,
}


def _roberta_like(name: str, class_prefix: str, vocab_size: int, **extra) -> ModelType:
    """RoBERTa, CamemBERT and XLM-R differ only in names and vocabulary: one row builder keeps them in step."""
    return ModelType(
        name=name,
        family=BERT_FAMILY,
        class_prefix=class_prefix,
        base_model_prefix="roberta",
        position_offset=2,
        embedding_width="hidden_size",
        heads=_ROBERTA_HEADS,
        config_defaults=MappingProxyType({**_ROBERTA_DEFAULTS, "vocab_size": vocab_size}),
        options=_ROBERTA_OPTIONS,
        config_position_offset=2,
        **extra,
    )


def _own_prefix(
    name: str,
    class_prefix: str,
    *,
    family: Family,
    embedding_width: str,
    heads: tuple[Head, ...],
    defaults: Mapping[str, object],
    options: EncoderOptions,
    tiny: TinyRecipe,
    attribute_map: Mapping[str, str] | None = None,
) -> ModelType:
    """A type whose parameters live under its own name (`albert.`), with no position offset: ALBERT, DistilBERT
    and ELECTRA."""
    return ModelType(
        name=name,
        family=family,
        class_prefix=class_prefix,
        base_model_prefix=name,
        position_offset=0,
        embedding_width=embedding_width,
        heads=heads,
        config_defaults=MappingProxyType(dict(defaults)),
        options=options,
        attribute_map=MappingProxyType(dict(attribute_map or {})),
        tiny=tiny,
    )


# The BART family: the same encoder-decoder stack with different norms, positions and vocabularies.
_BART_DEFAULTS = {
    "vocab_size": 50265,
    "max_position_embeddings": 1024,
    "encoder_layers": 12,
    "encoder_ffn_dim": 4096,
    "encoder_attention_heads": 16,
    "decoder_layers": 12,
    "decoder_ffn_dim": 4096,
    "decoder_attention_heads": 16,
    "encoder_layerdrop": 0.0,
    "decoder_layerdrop": 0.0,
    "activation_function": "gelu",
    "d_model": 1024,
    "dropout": 0.1,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "init_std": 0.02,
    "classifier_dropout": 0.0,
    "scale_embedding": False,
    "use_cache": True,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "is_encoder_decoder": True,
    "decoder_start_token_id": 2,
    "forced_eos_token_id": 2,
}

# mBART starts decoding with the language id that ends each source row, so it has no fixed decoder start token.
_MBART_DEFAULTS = {**_BART_DEFAULTS, "decoder_start_token_id": None}

_PEGASUS_DEFAULTS = {
    key: value for key, value in _BART_DEFAULTS.items() if key not in ("bos_token_id", "classifier_dropout")
} | {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "forced_eos_token_id": 1}

_BART_ATTRIBUTE_MAP = {
    "num_attention_heads": "encoder_attention_heads",
    "hidden_size": "d_model",
    "num_hidden_layers": "encoder_layers",
}

_BART_HEADS = (MODEL, SEQ2SEQ_LM, SEQUENCE_CLASSIFICATION, QUESTION_ANSWERING, CAUSAL_LM)

_BART_OPTIONS = BartOptions(positions="learned", pre_norm=False, layernorm_embedding=True, decoder_start="token")
_MBART_OPTIONS = replace(_BART_OPTIONS, pre_norm=True, decoder_start="last_token")
_PEGASUS_OPTIONS = replace(_BART_OPTIONS, positions="sinusoidal", pre_norm=True, layernorm_embedding=False)


def _bart_like(
    name: str,
    class_prefix: str,
    defaults: Mapping[str, object],
    options: BartOptions,
    heads: tuple[Head, ...] = _BART_HEADS,
    **extra,
) -> ModelType:
    """BART, mBART, BARThez and Pegasus share one family template; rows differ only in the data above."""
    return ModelType(
        name=name,
        family=BART_FAMILY,
        class_prefix=class_prefix,
        base_model_prefix="model",
        position_offset=2 if options.positions == "learned" else 0,
        embedding_width="d_model",
        heads=heads,
        config_defaults=MappingProxyType(dict(defaults)),
        options=options,
        attribute_map=MappingProxyType(_BART_ATTRIBUTE_MAP),
        **extra,
    )


# Tiny checkpoints: one size for every architecture, under each family's names, with the real checkpoints' position
# tables (512 positions, 514 rows for RoBERTa-likes, whose positions start after the padding id; 1024 for the BART
# family). ALBERT and ELECTRA keep an embedding narrower than the hidden size, as theirs do.
_TINY_WIDTH, _TINY_FFN, _TINY_LAYERS, _TINY_HEADS, _TINY_EMBEDDING = 64, 128, 2, 4, 32
_TINY_BERT = {
    "hidden_size": _TINY_WIDTH,
    "num_hidden_layers": _TINY_LAYERS,
    "num_attention_heads": _TINY_HEADS,
    "intermediate_size": _TINY_FFN,
    "max_position_embeddings": 512,
}
_TINY_ROBERTA = {**_TINY_BERT, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5}
_TINY_DISTILBERT = {
    "dim": _TINY_WIDTH,
    "n_layers": _TINY_LAYERS,
    "n_heads": _TINY_HEADS,
    "hidden_dim": _TINY_FFN,
    "max_position_embeddings": 512,
}
_TINY_BART = {
    "d_model": _TINY_WIDTH,
    "encoder_layers": _TINY_LAYERS,
    "decoder_layers": _TINY_LAYERS,
    "encoder_attention_heads": _TINY_HEADS,
    "decoder_attention_heads": _TINY_HEADS,
    "encoder_ffn_dim": _TINY_FFN,
    "decoder_ffn_dim": _TINY_FFN,
    "max_position_embeddings": 1024,
}

# The registry; a read-only view of `_MODEL_TYPES`, to which a test adds rows to check that a row is all a new type
# of an existing family needs.
_MODEL_TYPES: dict[str, ModelType] = {
    "bert": ModelType(
        name="bert",
        family=BERT_FAMILY,
        class_prefix="Bert",
        base_model_prefix="bert",
        position_offset=0,
        embedding_width="hidden_size",
        heads=(MODEL, MASKED_LM, PRETRAINING, BERT_LM_HEAD, *_TASK_HEADS),
        config_defaults=MappingProxyType(_BERT_LIKE_DEFAULTS),
        options=EncoderOptions(BERT_LM, "pooled", pooler=True),
        tiny=TinyRecipe("BertTokenizer", _TINY_BERT, steps=150),
    ),
    "roberta": _roberta_like(
        "roberta", "Roberta", 50265, tiny=TinyRecipe("RobertaTokenizer", _TINY_ROBERTA, 150, "mit")
    ),
    "camembert": _roberta_like(
        "camembert",
        "Camembert",
        32005,
        language="fr",
        tiny=TinyRecipe("CamembertTokenizer", _TINY_ROBERTA, 150, "mit"),
    ),
    "xlm-roberta": _roberta_like(
        "xlm-roberta", "XLMRoberta", 250002, tiny=TinyRecipe("XLMRobertaTokenizer", _TINY_ROBERTA, 150, "mit")
    ),
    "albert": _own_prefix(
        "albert",
        "Albert",
        family=ALBERT_FAMILY,
        embedding_width="embedding_size",
        heads=(MODEL, MASKED_LM, PRETRAINING, *_TASK_HEADS),
        defaults=_ALBERT_DEFAULTS,
        options=EncoderOptions(ALBERT_LM, "pooled", pooler=True),
        tiny=TinyRecipe(
            "AlbertTokenizer", {**_TINY_BERT, "embedding_size": _TINY_EMBEDDING, "hidden_act": "gelu_new"}, 250
        ),
    ),
    "distilbert": _own_prefix(
        "distilbert",
        "DistilBert",
        family=DISTILBERT_FAMILY,
        embedding_width="dim",
        heads=(MODEL, MASKED_LM, *_TASK_HEADS),
        defaults=_DISTILBERT_DEFAULTS,
        options=EncoderOptions(DISTILBERT_LM, "distilbert", qa_dropout="qa_dropout"),
        attribute_map={"hidden_size": "dim", "num_attention_heads": "n_heads", "num_hidden_layers": "n_layers"},
        # DistilBertTokenizer returns no token_type_ids, which DistilBERT has no embedding for. (With no class
        # named, AutoTokenizer picks BertTokenizer for "distilbert"; its token_type_ids then vanish silently into
        # the **kwargs of DistilBertForMaskedLM.forward in transformers 5.)
        tiny=TinyRecipe("DistilBertTokenizer", _TINY_DISTILBERT, 150),
    ),
    # No pooler; embeddings of `embedding_size` are projected by `electra.embeddings_project` when it differs.
    "electra": _own_prefix(
        "electra",
        "Electra",
        family=BERT_FAMILY,
        embedding_width="embedding_size",
        heads=(MODEL, MASKED_LM, PRETRAINING, CAUSAL_LM, *_TASK_HEADS),
        defaults=_ELECTRA_DEFAULTS,
        options=EncoderOptions(ELECTRA_LM, "electra", embedding_projection="embeddings_project"),
        # The generator: the discriminator has no LM head to check predictions with.
        tiny=TinyRecipe("BertTokenizer", {**_TINY_BERT, "embedding_size": _TINY_EMBEDDING}, 250),
    ),
    "bart": _bart_like(
        "bart",
        "Bart",
        _BART_DEFAULTS,
        replace(_BART_OPTIONS, default_num_labels=3),
        tiny=TinyRecipe("RobertaTokenizer", _TINY_BART, 80, decoder_start="</s>"),
    ),
    # mBART ends every source with its language code and starts the decoder with it.
    "mbart": _bart_like(
        "mbart",
        "MBart",
        _MBART_DEFAULTS,
        _MBART_OPTIONS,
        tiny=TinyRecipe("MBartTokenizer", {**_TINY_BART, "scale_embedding": True}, 80, "mit", "en_XX"),
    ),
    # BARThez is French mBART: mBART classes and weights, its own tokenizer. Published repositories name the file
    # modeling_lsg_barthez.py with LSGMBart* classes; hubgen keeps both, and a model type of its own
    # ("lsg-barthez") so a repository says which tokenizer family it belongs to.
    "barthez": _bart_like(
        "barthez",
        "MBart",
        {**_MBART_DEFAULTS, "vocab_size": 50002},
        _MBART_OPTIONS,
        library_model_type="mbart",
        tokenizer_classes=("BarthezTokenizer", "BarthezTokenizerFast"),
        language="fr",
        # config.json names the tokenizer class, as moussaKam/barthez's does: it is what tells BARThez apart.
        tiny=TinyRecipe(
            "BarthezTokenizer", {**_TINY_BART, "tokenizer_class": "BarthezTokenizer"}, 80, decoder_start="</s>"
        ),
    ),
    # The library has no Pegasus classification or question-answering heads.
    "pegasus": _bart_like(
        "pegasus",
        "Pegasus",
        _PEGASUS_DEFAULTS,
        _PEGASUS_OPTIONS,
        heads=(MODEL, SEQ2SEQ_LM, CAUSAL_LM),
        tiny=TinyRecipe("PegasusTokenizer", {**_TINY_BART, "scale_embedding": True}, 80, decoder_start="<pad>"),
    ),
}
MODEL_TYPES: Mapping[str, ModelType] = MappingProxyType(_MODEL_TYPES)


def get_model_type(name: str) -> ModelType:
    try:
        return MODEL_TYPES[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown model type {name!r}", f"choose one of {', '.join(MODEL_TYPES)} (see `hubgen list`)"
        ) from None
