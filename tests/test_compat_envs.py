"""The side-by-side transformers envs work, and a child using one cannot see hubgen.

Every later compatibility test (rendered ``modeling_lsg_*.py`` files loading on each transformers) trusts
these envs, so this file checks the envs themselves: the pins are complete and consistent, a plain BERT
save/reload works, and a minimal remote-code model loads through ``trust_remote_code`` on every version.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from support import compat

from hubgen import side_by_side

pytestmark = pytest.mark.compat

#: Each pinned version, plus ``None``: the main env's transformers (the newest 5.x) seen without hubgen.
VERSIONS = [*compat.SUPPORTED_VERSIONS, None]
VERSION_IDS = [*compat.SUPPORTED_VERSIONS, "main"]


def _expected_version(version: str | None) -> str:
    return version or metadata.version("transformers")


def _last_json_line(stdout: str) -> dict:
    """Children report through one JSON line printed last; transformers may log above it."""
    return json.loads(stdout.strip().splitlines()[-1])


BERT_ROUNDTRIP = """
import json, sys, tempfile
from pathlib import Path

try:
    import hubgen
except ImportError:
    hubgen_importable = False
else:
    hubgen_importable = True

import torch
import transformers
from transformers import AutoModel, BertConfig, BertModel

config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    max_position_embeddings=64,
)
torch.manual_seed(0)
model = BertModel(config).eval()
input_ids = torch.randint(0, config.vocab_size, (2, 7))
attention_mask = torch.ones_like(input_ids)
with torch.no_grad():
    before = model(input_ids, attention_mask=attention_mask).last_hidden_state
with tempfile.TemporaryDirectory() as folder:
    model.save_pretrained(folder)
    saved = sorted(p.name for p in Path(folder).iterdir())
    reloaded = AutoModel.from_pretrained(folder).eval()
with torch.no_grad():
    after = reloaded(input_ids, attention_mask=attention_mask).last_hidden_state

print(json.dumps({
    "transformers": transformers.__version__,
    "transformers_file": transformers.__file__,
    "torch": torch.__version__,
    "hubgen_importable": hubgen_importable,
    "sys_path": sys.path,
    "saved": saved,
    "reloaded_class": type(reloaded).__name__,
    "max_abs_diff": (before - after).abs().max().item(),
}))
"""


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_bert_roundtrip_in_isolated_env(version: str | None) -> None:
    repo = compat.REPO_ROOT
    # Started from the repository root with the repository on PYTHONPATH: neither may expose hubgen.
    result = compat.run_isolated(
        BERT_ROUNDTRIP, transformers_version=version, cwd=repo, env={"PYTHONPATH": str(repo)}, check=True
    )
    report = _last_json_line(result.stdout)

    assert report["transformers"] == _expected_version(version)
    assert report["hubgen_importable"] is False
    assert not any(Path(entry) == repo for entry in report["sys_path"])
    expected_home = compat.ensure_transformers_env(version) if version else compat.main_view()
    assert Path(report["transformers_file"]).is_relative_to(expected_home)
    assert report["torch"] == torch.__version__  # the main env's torch, never a second install
    assert "model.safetensors" in report["saved"]
    assert report["reloaded_class"] == "BertModel"
    assert report["max_abs_diff"] < 1e-6


TOY_MODELING = """
import torch
from transformers import PretrainedConfig, PreTrainedModel


class ToyConfig(PretrainedConfig):
    model_type = "toy"

    def __init__(self, width=4, **kwargs):
        self.width = width
        super().__init__(**kwargs)


class ToyModel(PreTrainedModel):
    config_class = ToyConfig
    base_model_prefix = "toy"

    def __init__(self, config):
        super().__init__(config)
        self.proj = torch.nn.Linear(config.width, config.width)
        self.post_init()

    def _init_weights(self, module):
        if isinstance(module, torch.nn.Linear):
            torch.nn.init.zeros_(module.weight)
            torch.nn.init.zeros_(module.bias)

    def forward(self, inputs):
        return self.proj(inputs)
"""

TOY_LOAD = """
import json, os, sys
import torch
from transformers import AutoConfig, AutoModel

folder = os.environ["TOY_MODEL_DIR"]
config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
model, info = AutoModel.from_pretrained(folder, trust_remote_code=True, output_loading_info=True)
inputs = torch.ones(1, config.width)
with torch.no_grad():
    outputs = model.eval()(inputs)
print(json.dumps({
    "config_class": type(config).__name__,
    "model_class": type(model).__name__,
    "model_module": type(model).__module__,
    "missing": sorted(info["missing_keys"]),
    "unexpected": sorted(info["unexpected_keys"]),
    "outputs": outputs.flatten().tolist(),
}))
"""


def _write_toy_model(folder: Path, width: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """A checkpoint whose code lives next to it, as hubgen's rendered files do; returns its weight and bias."""
    folder.mkdir()
    (folder / "modeling_toy.py").write_text(TOY_MODELING)
    config = {
        "model_type": "toy",
        "width": width,
        "architectures": ["ToyModel"],
        "auto_map": {"AutoConfig": "modeling_toy.ToyConfig", "AutoModel": "modeling_toy.ToyModel"},
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    weight = torch.arange(width * width, dtype=torch.float32).reshape(width, width) / 10
    bias = torch.ones(width)
    save_file({"proj.weight": weight, "proj.bias": bias}, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return weight, bias


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_remote_code_model_loads(version: str | None, tmp_path: Path) -> None:
    weight, bias = _write_toy_model(tmp_path / "toy")
    result = compat.run_isolated(
        TOY_LOAD,
        transformers_version=version,
        cwd=tmp_path,
        env={"TOY_MODEL_DIR": str(tmp_path / "toy")},
        check=True,
    )
    report = _last_json_line(result.stdout)

    assert report["config_class"] == "ToyConfig"
    assert report["model_class"] == "ToyModel"
    # Loaded from the copy transformers makes of the checkpoint's code, not from anything importable.
    assert report["model_module"].startswith("transformers_modules.")
    assert report["missing"] == [] and report["unexpected"] == []
    expected = (weight.sum(dim=1) + bias).tolist()  # all-ones input
    assert report["outputs"] == pytest.approx(expected)


@pytest.mark.parametrize("version", compat.SUPPORTED_VERSIONS)
def test_pins_are_complete_and_consistent(version: str) -> None:
    assert compat.unmet_requirements(version) == []


def test_interrupted_build_is_redone(tmp_path: Path) -> None:
    folder = tmp_path / "env"
    calls: list[Path] = []

    def build(target: Path) -> None:
        calls.append(target)
        (target / "payload").write_text("ok")

    def interrupted(target: Path) -> None:
        (target / "half-written").write_text("")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        side_by_side.build_once(folder, {"pins": ["a==1"]}, interrupted)
    assert side_by_side.build_once(folder, {"pins": ["a==1"]}, build) == folder
    assert not (folder / "half-written").exists() and (folder / "payload").is_file()
    side_by_side.build_once(folder, {"pins": ["a==1"]}, build)
    assert len(calls) == 1  # complete: reused
    side_by_side.build_once(folder, {"pins": ["a==2"]}, build)
    assert len(calls) == 2  # other pins: rebuilt
