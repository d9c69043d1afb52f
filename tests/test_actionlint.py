"""actionlint runs here, accepts a sound workflow, flags a broken one, and checks the repository's workflows."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

from support.actionlint import ACTIONLINT_VERSION, actionlint_command
from support.compat import REPO_ROOT

VALID_WORKFLOW = """\
name: tests
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v5
      - uses: actions/setup-python@v6
        with:
          python-version: "3.11"
      - run: make test
        env:
          SHA: ${{ github.sha }}
"""

# Three independent mistakes, one per kind of check: workflow syntax, expression typing, and a shellcheck
# finding in a run: script (which proves the pinned shellcheck is wired in).
INVALID_WORKFLOW = """\
name: tests
on:
  push:
    branch: main
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: echo "${{ github.no_such_property }}"
      - run: echo $UNQUOTED
"""


def _lint(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    workflow = tmp_path / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text(text)
    return subprocess.run(
        [*actionlint_command(), str(workflow)], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )


def test_pinned_version() -> None:
    result = subprocess.run(
        [actionlint_command()[0], "-version"], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.splitlines()[0].endswith(ACTIONLINT_VERSION)


def test_valid_workflow_passes(tmp_path: Path) -> None:
    result = _lint(tmp_path, VALID_WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_invalid_workflow_is_flagged(tmp_path: Path) -> None:
    result = _lint(tmp_path, INVALID_WORKFLOW)
    assert result.returncode == 1, result.stdout + result.stderr
    assert 'unexpected key "branch"' in result.stdout
    assert 'property "no_such_property" is not defined' in result.stdout
    assert "SC2086" in result.stdout


# The design card keeps the project's workflows in workflows/ (see the README for enabling them on GitHub).
REPO_WORKFLOWS = sorted((REPO_ROOT / "workflows").glob("*.y*ml"))


def test_repository_workflows_pass() -> None:
    assert {path.name for path in REPO_WORKFLOWS} >= {"tests.yml", "rebuild.yml", "compat.yml"}
    result = subprocess.run(
        [*actionlint_command(), *map(str, REPO_WORKFLOWS)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, textwrap.indent(result.stdout + result.stderr, "  ")
