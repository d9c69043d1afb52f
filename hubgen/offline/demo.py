"""The offline quickstart: the main job (publish) end to end, on a tiny checkpoint made here, to a local Hub.

Nothing is mocked: the tiny base is a real (small, briefly trained) checkpoint with its own tokenizer, the Hub is a
server on 127.0.0.1 that the real huggingface_hub client talks to, and the final check downloads the repository and
loads it in a fresh process that cannot import hubgen, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import snapshot_download

from hubgen.convert import ConversionRequest
from hubgen.errors import SmokeTestError
from hubgen.offline.local_hub import LocalHub, LocalUser
from hubgen.offline.tiny import make_tiny_checkpoint
from hubgen.publish import PublishRequest, PublishResult, publish

DEMO_USER = "demo"
# A throwaway credential of the throwaway local Hub below; it gives access to nothing else.
DEMO_TOKEN = "hf_hubgen_local_demo_token"

# Loads the downloaded repository as a user would, in a process where hubgen cannot be imported.
_LOAD_CHECK = """
import importlib.abc, json, sys
class NoHubgen(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "hubgen":
            raise ImportError("hubgen is not importable here")
sys.meta_path.insert(0, NoHubgen())
import transformers
folder = sys.argv[1]
fill = transformers.pipeline("fill-mask", model=folder, trust_remote_code=True)
mask = fill.tokenizer.mask_token
sentence = "the cat sat on the " + mask + " ."
print(json.dumps({"class": type(fill.model).__name__, "sentence": sentence, "top": fill(sentence, top_k=3)}))
"""


@dataclass(frozen=True)
class DemoResult:
    publish: PublishResult
    downloaded: Path
    load_check: dict


def run_demo(
    workdir: Path | None = None,
    model_type: str = "bert",
    max_length: int = 1024,
    report: Callable[[str], None] = lambda step: None,
) -> DemoResult:
    root = Path(workdir or tempfile.mkdtemp(prefix="hubgen-demo-"))
    report(f"making a tiny {model_type} checkpoint (trained a few steps on a built-in corpus)")
    base = make_tiny_checkpoint(model_type, root / f"tiny-{model_type}")
    with LocalHub(root / "hub", tokens={DEMO_TOKEN: LocalUser(DEMO_USER)}) as hub:
        report(f"started a local Hub at {hub.endpoint}")
        with hub.as_default_hub(root / "hf-home"):
            request = PublishRequest(
                conversion=ConversionRequest(
                    base=str(base), max_length=max_length, output=root / "repository", token=DEMO_TOKEN
                ),
                keep_output=True,
            )
            result = publish(request, report)
            report("downloading the repository and loading it in a fresh process")
            downloaded = Path(
                snapshot_download(result.repo_id, endpoint=hub.endpoint, token=DEMO_TOKEN, cache_dir=root / "cache")
            )
        check = subprocess.run(
            [sys.executable, "-c", _LOAD_CHECK, str(downloaded)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"},
        )
    lines = check.stdout.strip().splitlines()
    if check.returncode != 0 or not lines:
        detail = (check.stderr.strip().splitlines() or ["no output"])[-1]
        raise SmokeTestError(f"the published repository did not load in a fresh process: {detail}")
    return DemoResult(result, downloaded, json.loads(lines[-1]))
