"""A copy of some of hubgen's modules, for fresh processes where hubgen itself is not importable (run_isolated).

Only the named module and the hubgen modules it imports, directly or not, are copied (with their packages'
`__init__.py`): a child that imports it then proves that it needs nothing else of hubgen, as a user's process
that vendors or installs just that part would.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import hubgen

PACKAGE = Path(hubgen.__file__).parent


def _source(module: str) -> Path:
    relative = Path(*module.split(".")[1:])
    package = PACKAGE / relative / "__init__.py"
    return package if package.exists() else (PACKAGE / relative).with_suffix(".py")


def _imports(path: Path) -> set[str]:
    """hubgen modules a file imports (`from hubgen.x import y` counts hubgen.x.y when that is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] == "hubgen" and _source(name).exists()}


def copy_with_imports(module: str, destination: Path) -> Path:
    """Copy `module` and what it imports of hubgen under `destination/hubgen/`; return `destination` (a sys.path
    entry)."""
    todo, seen = [module], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:end]) for end in range(1, len(parts)))  # the packages around it
        todo.extend(_imports(_source(name)))
    for name in seen:
        source = _source(name)
        target = destination / "hubgen" / source.relative_to(PACKAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return destination
