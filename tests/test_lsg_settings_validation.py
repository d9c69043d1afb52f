"""LSG settings are validated wherever they enter: `hubgen convert` refuses impossible ones before writing, and the
rendered code refuses them when a model is built (after `from_pretrained`'s keyword overrides, which transformers
applies after the config's __init__) and at every forward, with the same rules and a ValueError naming the key and
the values that work; the quirks of published configs are still corrected with a warning, so those repositories load.
"""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import pytest
import torch
from support.compat import run_isolated
from support.testers import make_tester

from hubgen.errors import InvalidInputError
from hubgen.lsg.settings import SPARSITY_TYPES, validate_lsg_config
from hubgen.lsg_options import LSGOptions
from hubgen.registry import MODEL_TYPES
from hubgen.render import write_modeling_file

# Each override, and what the error must say: the key with its value, then the values that work.
BAD_OVERRIDES = {
    "block_size=0": ({"block_size": 0}, ("block_size=0", "at least 1")),
    "num_global_tokens=0": ({"num_global_tokens": 0}, ("num_global_tokens=0", "from 1 to 512")),
    "sparsity_type=bogus": ({"sparsity_type": "bogus"}, ("sparsity_type='bogus'", "'norm'", "'bos_pooling'")),
    "sparse_block_size=-5": (
        {"sparse_block_size": -5},
        ("sparse_block_size=-5", "use 0 to turn sparse attention off"),
    ),
    "sparsity_factor=3": ({"sparsity_factor": 3}, ("sparsity_factor=3", "block_size=16", "[1, 2, 4, 8, 16]")),
}

# Values a published config may hold and the runtime config has always corrected (with a warning) instead of failing.
PUBLISHED_QUIRKS = {
    "sparsity_type": "bogus",
    "num_global_tokens": 600,
    "sparsity_factor": 3,
    "mask_first_token": True,
    "pool_with_global": False,
}

CHILD = """
import json, torch, transformers
ids = torch.full((1, 12), 5)
results = {}
for name, overrides in OVERRIDES.items():
    try:
        model = transformers.AutoModel.from_pretrained(FOLDER, trust_remote_code=True, **overrides).eval()
        with torch.no_grad():
            model(input_ids=ids)
        results[name] = "no error"
    except ValueError as error:
        results[name] = f"ValueError: {error}"
    except Exception as error:
        results[name] = f"{type(error).__name__}: {error}"
quirky = transformers.AutoModel.from_pretrained(QUIRKY, trust_remote_code=True).eval()
with torch.no_grad():
    results["quirky"] = list(quirky(input_ids=ids).last_hidden_state.shape)
results["corrected"] = [quirky.config.sparsity_type, quirky.config.num_global_tokens, quirky.config.pool_with_global]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def repositories(rendered, tmp_path_factory):
    """A tiny BERT repository as hubgen saves it, and one whose config holds every tolerated quirk."""
    root = tmp_path_factory.mktemp("validation")
    module, model_type = rendered("bert"), MODEL_TYPES["bert"]
    config = module.LSGBertConfig(**make_tester(model_type).config_kwargs())
    config.auto_map = model_type.auto_map()
    torch.manual_seed(0)
    module.LSGBertModel(config).save_pretrained(root / "plain")
    write_modeling_file(model_type, root / "plain")
    quirky = root / "quirky"
    quirky.mkdir()
    for name in ("model.safetensors", model_type.file_name):
        (quirky / name).write_bytes((root / "plain" / name).read_bytes())
    settings = {**json.loads((root / "plain" / "config.json").read_text()), **PUBLISHED_QUIRKS, "model_type": "bert"}
    (quirky / "config.json").write_text(json.dumps(settings))
    return root


@pytest.mark.parametrize(
    "version", [pytest.param("4.40.2", marks=pytest.mark.compat), pytest.param(None, id="newest")]
)
def test_load_time_overrides_are_refused_with_the_key_and_the_values_that_work(repositories, version):
    overrides = {name: value for name, (value, _) in BAD_OVERRIDES.items()}
    code = (
        CHILD.replace("OVERRIDES", repr(overrides))
        .replace("FOLDER", repr(str(repositories / "plain")))
        .replace("QUIRKY", repr(str(repositories / "quirky")))
    )
    run = run_isolated(code, transformers_version=version, cwd=repositories, check=True)
    results = json.loads(run.stdout.strip().splitlines()[-1])
    for name, (_, phrases) in BAD_OVERRIDES.items():
        assert results[name].startswith("ValueError: "), f"{name}: {results[name]}"
        assert all(phrase in results[name] for phrase in phrases), f"{name}: {results[name]}"
    assert results["quirky"] == [1, 12, 32]
    # Corrected as before: sparse attention off, 512 global tokens at most, the first output pooled from global 0.
    assert results["corrected"] == [None, 512, True]
    assert "is outside 1..512; using 512" in run.stderr


def test_settings_changed_after_loading_are_refused_at_the_next_forward(rendered):
    module = rendered("bert")
    config = module.LSGBertConfig(**make_tester(MODEL_TYPES["bert"]).config_kwargs())
    model = module.LSGBertModel(config).eval()
    model(input_ids=torch.full((1, 12), 5))
    model.config.num_global_tokens = 513
    with pytest.raises(ValueError, match=r"num_global_tokens=513 is out of range: choose a value from 1 to 512"):
        model(input_ids=torch.full((1, 12), 5))


def test_the_rendered_code_and_hubgen_convert_apply_the_same_rules():
    """Over a grid of settings, the rendered config's check (`hubgen.lsg.settings`, included in every rendered file)
    refuses exactly what `LSGOptions.validate` refuses."""
    grid = itertools.product(
        (0, 1, 8, 16),  # block_size
        (-1, 0, 4, 6, 16, 32),  # sparse_block_size
        (-1, 0, 1, 3, 4, 32),  # sparsity_factor
        (*SPARSITY_TYPES, "bogus"),
        (0, 1, 512, 513),  # num_global_tokens
        ((True, True), (True, False), (False, False)),  # mask_first_token, pool_with_global
        (-1, 1),  # lsh_num_pre_rounds
    )
    checked = 0
    for b, s, f, kind, g, (mask_first, pool), rounds in grid:
        values = {
            "block_size": b,
            "sparse_block_size": s,
            "sparsity_factor": f,
            "sparsity_type": kind,
            "num_global_tokens": g,
            "mask_first_token": mask_first,
            "pool_with_global": pool,
            "lsh_num_pre_rounds": rounds,
        }
        try:
            LSGOptions(**values).validate()
            convert_refuses = False
        except InvalidInputError:
            convert_refuses = True
        try:
            validate_lsg_config(SimpleNamespace(**values))
            runtime_refuses = False
        except ValueError:
            runtime_refuses = True
        assert runtime_refuses == convert_refuses, values
        checked += 1
    assert checked == 4 * 6 * 6 * 8 * 4 * 3 * 2
