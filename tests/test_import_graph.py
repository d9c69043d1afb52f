"""The package's import graph, read from its source: the pipeline's steps do not know each other (publish and
upgrade orchestrate them), and nothing of the product reaches the tools for offline work."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hubgen

PACKAGE = Path(hubgen.__file__).parent
# Each step reads what an earlier one wrote (a base checkpoint, a converted repository), never calls it.
STEPS = ("hubgen.convert", "hubgen.smoke", "hubgen.card", "hubgen.upgrade_plan")
OFFLINE = "hubgen.offline"
# The commands that run the offline tools (`hubgen demo`, `hubgen matrix --local`, `hubgen bench --quality`); the
# CLI's entry point registers them, which is the only way the rest of the CLI reaches them.
OFFLINE_COMMANDS = ("hubgen.cli.bench", "hubgen.cli.demo", "hubgen.cli.matrix")
CLI = ("hubgen.cli", "hubgen.__main__")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every hubgen module a file imports, wherever the import stands (in a function too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module, f"{path}: relative import"
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] == "hubgen"}


GRAPH = {_module_name(path): _imported(path) for path in PACKAGE.rglob("*.py")}


def _is(name: str, module: str) -> bool:
    return name == module or name.startswith(module + ".")


def _reached(start: str) -> set[str]:
    """The hubgen modules `start` imports, directly or through others."""
    seen, todo = set(), [start]
    while todo:
        for name in GRAPH.get(todo.pop(), ()):
            if name in GRAPH and name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def test_the_graph_is_read():
    assert "hubgen.offline.tiny" in GRAPH and "hubgen.registry" in GRAPH["hubgen.offline.tiny"]
    assert "hubgen.convert" in _reached("hubgen.publish") and "hubgen.registry" in _reached("hubgen.card")


@pytest.mark.parametrize("step", STEPS)
def test_no_step_reaches_another(step):
    reached = _reached(step)
    assert not [other for other in STEPS if other != step and other in reached]


def test_publish_orchestrates_the_steps():
    assert {"hubgen.convert", "hubgen.smoke", "hubgen.card"} <= GRAPH["hubgen.publish"]


def test_only_the_demo_and_the_local_matrix_use_the_offline_tools():
    users = {module for module, names in GRAPH.items() if any(_is(name, OFFLINE) for name in names)}
    assert {module for module in users if not _is(module, OFFLINE)} == set(OFFLINE_COMMANDS)
    product = [module for module in GRAPH if not any(_is(module, name) for name in (OFFLINE, *CLI))]
    assert not {module for module in product if any(_is(name, OFFLINE) for name in _reached(module))}
