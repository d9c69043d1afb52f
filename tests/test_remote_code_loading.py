"""Rendered files load through every Auto class they declare, in fresh processes that cannot import hubgen, on the
installed transformers and on older releases, and compute the same outputs everywhere."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from support.compat import run_isolated
from support.testers import make_tester

from hubgen.registry import MODEL_TYPES, MULTIPLE_CHOICE, QUESTION_ANSWERING
from hubgen.render import write_modeling_file

TYPES = list(MODEL_TYPES)
OLDER_VERSIONS = ["4.40.2", "4.46.3", "4.57.6", "5.0.0"]

CHILD = """
import json, sys, torch, transformers
cases = json.load(open(sys.argv[1]))
outputs = {}
for case in cases:
    auto_class = getattr(transformers, case["auto_class"])
    model = auto_class.from_pretrained(case["folder"], trust_remote_code=True).eval()
    assert type(model).__name__ == case["class_name"], type(model).__name__
    inputs = torch.load(case["inputs"])
    with torch.no_grad():
        outputs[case["name"]] = model(**inputs, return_dict=False)[0]
torch.save(outputs, sys.argv[2])
print("loaded", len(outputs), "models with transformers", transformers.__version__)
"""


def _inputs(tester, head):
    length = 3 * tester.block_size + 5
    ids = tester.input_ids(2, length, seed=7)
    mask = torch.ones_like(ids)
    mask[1, -6:] = 0
    if head is MULTIPLE_CHOICE:
        return {"input_ids": ids[:, None].repeat(1, 2, 1), "attention_mask": mask[:, None].repeat(1, 2, 1)}
    return {"input_ids": ids, "attention_mask": mask}


@pytest.fixture(scope="module")
def saved_repositories(rendered, tmp_path_factory):
    """One folder per (type, head) with full weights, plus the outputs computed in this process."""
    root = tmp_path_factory.mktemp("repositories")
    cases, expected = [], {}
    for type_name in TYPES:
        model_type = MODEL_TYPES[type_name]
        module = rendered(type_name)
        tester = make_tester(model_type)
        for head in model_type.heads:
            overrides = {"num_labels": 2} if head is QUESTION_ANSWERING else {}
            config = getattr(module, model_type.config_class)(**tester.config_kwargs(num_global_tokens=2, **overrides))
            config.auto_map = model_type.auto_map()
            torch.manual_seed(0)
            model = getattr(module, model_type.class_name(head))(config).eval()
            name = f"{type_name}-{head.class_suffix}"
            folder = root / name
            model.save_pretrained(folder)
            write_modeling_file(model_type, folder)
            inputs = _inputs(tester, head)
            torch.save(inputs, root / f"{name}.inputs.pt")
            with torch.no_grad():
                expected[name] = model(**inputs, return_dict=False)[0]
            cases.append(
                {
                    "name": name,
                    "folder": str(folder),
                    "auto_class": head.auto_class,
                    "class_name": model_type.class_name(head),
                    "inputs": str(root / f"{name}.inputs.pt"),
                }
            )
    (root / "cases.json").write_text(json.dumps(cases))
    return root, expected


def _load_everywhere(root, expected, version):
    result_path = root / f"outputs-{version or 'main'}.pt"
    run_isolated(
        CHILD.replace("sys.argv[1]", repr(str(root / "cases.json"))).replace("sys.argv[2]", repr(str(result_path))),
        transformers_version=version,
        cwd=root,
        check=True,
        timeout=900,
    )
    outputs = torch.load(result_path)
    assert outputs.keys() == expected.keys()
    for name, tensor in expected.items():
        torch.testing.assert_close(outputs[name], tensor, atol=1e-5, rtol=1e-5, msg=f"{name} on {version}")


def test_every_auto_class_loads_in_a_fresh_process(saved_repositories):
    _load_everywhere(*saved_repositories, None)


@pytest.mark.compat
@pytest.mark.parametrize("version", OLDER_VERSIONS)
def test_every_auto_class_loads_on_older_transformers(saved_repositories, version):
    _load_everywhere(*saved_repositories, version)


def test_published_configs_load_and_plain_loading_refuses(saved_repositories, tmp_path):
    """A published LSG config (base model type) loads into our classes; ours without trust_remote_code stops."""
    root, _ = saved_repositories
    published = tmp_path / "published"
    shutil.copytree(root / "bert-ForMaskedLM", published)
    config = json.loads((published / "config.json").read_text())
    config["model_type"] = "bert"
    (published / "config.json").write_text(json.dumps(config))
    code = f"""
import transformers
model = transformers.AutoModelForMaskedLM.from_pretrained({str(published)!r}, trust_remote_code=True)
assert type(model).__name__ == "LSGBertForMaskedLM", type(model)
try:
    transformers.AutoModelForMaskedLM.from_pretrained({str(root / "bert-ForMaskedLM")!r})
except ValueError as error:
    assert "trust_remote_code" in str(error), error
    print("refused")
"""
    result = run_isolated(code, cwd=tmp_path, check=True)
    assert "refused" in result.stdout
