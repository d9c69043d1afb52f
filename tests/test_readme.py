"""The README's quickstart works as written: its two commands, and `.ci/run` calling the test one."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]


def test_quickstart_has_the_demo_and_the_test_command_and_ci_runs_the_latter():
    assert quickstart_commands() == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec make test" in ci and os.access(ROOT / ".ci" / "run", os.X_OK)


def test_make_demo_runs_offline_as_written(tmp_path):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf-home"), "COLUMNS": "200"}
    result = subprocess.run(
        ["make", "demo"], cwd=ROOT, capture_output=True, text=True, env=environment, timeout=900, check=False
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Published http://127.0.0.1:" in result.stdout
    assert "Loaded back in a fresh process as LSGBertForMaskedLM" in result.stdout
