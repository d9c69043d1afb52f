"""Published LSG repositories load exactly into hubgen's classes on every supported transformers.

For every type and head, a library model with trained-looking weights (no zero rows: trained padding rows are not
zero) is written in each layout the published repositories use (support.published), next to a published config.json
and hubgen's modeling file. A fresh process per transformers version loads every case through its Auto class with
trust_remote_code: nothing may be missing or unexpected, outputs must equal the library model's on short inputs
(≤ 1e-5), and transformers must not warn that a "bert" config building an "lsg-bert" model "is not supported".
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers
from support.compat import SUPPORTED_VERSIONS, run_isolated
from support.published import LAYOUTS, published_config, saved_names, tied_sets, write_config, write_weights
from support.testers import make_tester

from hubgen.registry import MODEL_TYPES, MULTIPLE_CHOICE, QUESTION_ANSWERING
from hubgen.render import write_modeling_file

# Every input starts with this id, as tokenizers start inputs with CLS or BOS; global token 0 stands for it.
FIRST_TOKEN = 3
LENGTH = 20  # under two blocks of the tiny models: the full-attention regime

# _tied_weights_keys of the library classes the published classes subclassed, as transformers 4.40 declares them
# (the lists 4.31 introduced and 4.35+'s save_pretrained reads).
TIED_PATTERNS_CHILD = """
import json, transformers
print(json.dumps({name: list(getattr(transformers, name)._tied_weights_keys or []) for name in NAMES}))
"""

LOAD_CHILD = """
import json, logging, sys, torch, transformers
transformers.logging.set_verbosity_warning()
transformers.utils.logging.disable_progress_bar()
results = {}
for case in json.load(open(CASES)):
    auto_class = getattr(transformers, case["auto_class"])
    try:
        model, info = auto_class.from_pretrained(case["folder"], trust_remote_code=True, output_loading_info=True)
        with torch.no_grad():
            output = model.eval()(**torch.load(case["inputs"]), return_dict=False)[0]
    except Exception as error:
        results[case["name"]] = {"error": f"{type(error).__name__}: {error}"[:300]}
        continue
    results[case["name"]] = {
        "class": type(model).__name__,
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
        "output": output,
    }
torch.save(results, RESULTS)
print("checked", len(results), "repositories with transformers", transformers.__version__)
"""


def _library_model(model_type, head, lsg_config, tester):
    """The library model of `head`, its trainable weights moved off any zero initialisation."""
    library_class = getattr(transformers, model_type.library_class_name(head))
    torch.manual_seed(0)
    model = library_class(tester.library_config(lsg_config)).eval()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():  # tied parameters appear once
            if parameter.requires_grad:  # frozen tables (sinusoidal positions) stay as the formula makes them
                parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator))
    return model


def _inputs(tester, head) -> dict:
    ids = tester.input_ids(2, LENGTH, seed=5)
    ids[:, 0] = FIRST_TOKEN
    mask = torch.ones_like(ids)
    mask[1, -5:] = 0
    if head is MULTIPLE_CHOICE:
        return {"input_ids": ids[:, None].repeat(1, 2, 1), "attention_mask": mask[:, None].repeat(1, 2, 1)}
    if head.kind in ("model", "seq2seq_lm") and not tester.encoder_only:  # Pegasus shifts no input for its decoder
        return {"input_ids": ids, "attention_mask": mask, "decoder_input_ids": tester.input_ids(2, 6, seed=6)}
    return {"input_ids": ids, "attention_mask": mask}


def _lsg_state(module, model_type, head, lsg_config, library_model, tester) -> dict:
    """The library's tensors (tied ones still shared) plus the global table hubgen's class expects beside them."""
    state = library_model.state_dict()
    expected = getattr(module, model_type.class_name(head))(lsg_config).state_dict().keys()
    extra = sorted(set(expected) - set(state))
    assert set(state) <= set(expected) and all(name.endswith("global_embeddings.weight") for name in extra), extra
    for name in extra:
        first = tester.first_token_embedding(library_model, FIRST_TOKEN).detach()
        table = 0.02 * torch.randn(512, first.shape[0], generator=torch.Generator().manual_seed(2))
        table[0] = first
        state[name] = table
    return state


def _legacy_buffers(state) -> dict:
    """The persistent `position_ids` buffer transformers < 4.31 saved with every encoder (a .bin holds it)."""
    tables = [name for name in state if name.endswith("embeddings.position_embeddings.weight")]
    return {
        name.replace("position_embeddings.weight", "position_ids"): torch.arange(state[name].shape[0])[None]
        for name in tables
    }


@pytest.fixture(scope="module")
def tied_patterns(tmp_path_factory):
    names = sorted({t.library_class_name(h) for t in MODEL_TYPES.values() for h in t.heads})
    result = run_isolated(
        TIED_PATTERNS_CHILD.replace("NAMES", repr(names)),
        transformers_version="4.40.2",
        cwd=tmp_path_factory.mktemp("patterns"),
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def published_repositories(rendered, tied_patterns, tmp_path_factory):
    """Every (type, head, layout) whose stored names differ: folders, their cases, the library's outputs."""
    root = tmp_path_factory.mktemp("published")
    cases, expected = [], {}
    for model_type in MODEL_TYPES.values():
        module, tester = rendered(model_type.name), make_tester(model_type)
        for head in model_type.heads:
            overrides = {"num_labels": 2} if head is QUESTION_ANSWERING else {}
            lsg_config = getattr(module, model_type.config_class)(
                **tester.config_kwargs(**tester.lossless_settings, **overrides)
            )
            library_model = _library_model(model_type, head, lsg_config, tester)
            state = _lsg_state(module, model_type, head, lsg_config, library_model, tester)
            inputs = _inputs(tester, head)
            with torch.no_grad():
                output = library_model(**inputs, return_dict=False)[0]
            patterns = tied_patterns[model_type.library_class_name(head)]
            # Without tied tensors the layouts store the same names: the 4.35+ one stands for them all. `.bin` files
            # are those of the original converter's own runs, which saved the pre-training head.
            layouts = [layout for layout in LAYOUTS if layout != "bin" or head is model_type.default_head]
            layouts = layouts if tied_sets(state) else layouts[:1]
            seen = []
            for layout in layouts:
                names = saved_names(state, layout, patterns)
                if names in seen:
                    continue
                seen.append(names)
                name = f"{model_type.name}-{head.class_suffix}-{layout}"
                folder = root / name
                folder.mkdir()
                write_weights(folder, state, layout, patterns, _legacy_buffers(state))
                write_config(folder, published_config(lsg_config, model_type, head))
                write_modeling_file(model_type, folder)
                torch.save(inputs, root / f"{name}.inputs.pt")
                expected[name] = (model_type.class_name(head), output)
                cases.append(
                    {
                        "name": name,
                        "folder": str(folder),
                        "auto_class": head.auto_class,
                        "inputs": str(root / f"{name}.inputs.pt"),
                    }
                )
    (root / "cases.json").write_text(json.dumps(cases))
    return root, expected


# The installed (newest) transformers, then each side-by-side release.
VERSIONS = [
    pytest.param(None, id="newest"),
    *(pytest.param(v, id=v, marks=pytest.mark.compat) for v in SUPPORTED_VERSIONS),
]


@pytest.mark.parametrize("version", VERSIONS)
def test_published_layouts_load_exactly_and_quietly(published_repositories, version):
    root, expected = published_repositories
    results_path = root / f"results-{version or 'newest'}.pt"
    code = LOAD_CHILD.replace("CASES", repr(str(root / "cases.json"))).replace("RESULTS", repr(str(results_path)))
    run = run_isolated(code, transformers_version=version, cwd=root, check=True, timeout=1200)
    results = torch.load(results_path)
    assert results.keys() == expected.keys()
    problems = [f"transformers warned: {line}" for line in run.stderr.splitlines() if "model of type" in line][:1]
    for name, (class_name, output) in expected.items():
        result = results[name]
        if "error" in result:
            problems.append(f"{name}: {result['error']}")
        elif result["class"] != class_name or result["missing"] or result["unexpected"]:
            problems.append(
                f"{name}: {result['class']}, missing {result['missing']}, unexpected {result['unexpected']}"
            )
        elif not torch.allclose(result["output"], output, atol=1e-5, rtol=0):
            difference = (result["output"] - output).abs().max().item()
            problems.append(f"{name}: outputs differ from the library model's by {difference:.2e}")
    assert not problems, "\n".join(problems)
