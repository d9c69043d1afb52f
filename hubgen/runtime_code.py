"""The runtime modules (`hubgen/lsg/*.py`) as code a rendered file includes.

A rendered file must stand alone (users load it without hubgen), so it carries the runtime code itself: each module's
code after its imports, verbatim. The imports are what must not appear twice: the rendered file states them once, in
its import block. A module's plain imports (and its `logger`) must already be there, optional imports (a `try:` of
imports) are written there by the template, and imports of another runtime module are dropped, that module being
included too. `check_rendered` verifies all of this on the rendered source, so a runtime module that gains an import
the templates do not provide fails at render time instead of in a user's process.
"""

from __future__ import annotations

import ast
import functools
import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass

PACKAGE = "hubgen.lsg"


@dataclass(frozen=True)
class RuntimeModule:
    """One runtime module split for inclusion: `code` goes into the rendered file, the rest into its import block."""

    name: str
    code: str
    # Plain imports and other statements the rendered file's header must hold (compared as syntax trees).
    header_statements: tuple[ast.stmt, ...]
    # `try:` blocks of imports, in their source form, for the template to write into the import block.
    optional_imports: tuple[str, ...]
    # Other runtime modules this one imports from: the rendered file must include them.
    requires: tuple[str, ...]

    @property
    def path(self) -> str:
        """Where the code comes from, as the rendered file's header names it."""
        return f"{PACKAGE.replace('.', '/')}/{self.name}.py"


class RuntimeCodeError(RuntimeError):
    """A runtime module cannot be included as it is written, or a rendered file lacks what an included one needs."""


@functools.cache
def runtime_module(name: str) -> RuntimeModule:
    """`hubgen/lsg/<name>.py`, split for inclusion."""
    return split_runtime_source(name, importlib.resources.files(PACKAGE).joinpath(f"{name}.py").read_text("utf-8"))


def split_runtime_source(name: str, source: str) -> RuntimeModule:
    """Split a runtime module's source into its code and what its imports ask of the rendered file."""
    statements = ast.parse(source).body
    start = 0  # the line after the docstring and the imports: the included code starts there
    if statements and _is_docstring(statements[0]):
        start = statements[0].end_lineno
        statements = statements[1:]
    prelude = []
    for statement in statements:
        if not _belongs_to_header(statement):
            break
        prelude.append(statement)
    body = statements[len(prelude) :]
    _refuse_imports_in(name, body)
    header, optional, requires = [], [], []
    for statement in prelude:
        module = statement.module if isinstance(statement, ast.ImportFrom) else ""
        if module and module.startswith(PACKAGE + "."):
            requires.append(module.removeprefix(PACKAGE + "."))
        elif isinstance(statement, ast.Try):
            optional.append(ast.get_source_segment(source, statement, padded=False))
        else:
            header.append(statement)
    if prelude:
        start = prelude[-1].end_lineno
    code = "".join(source.splitlines(keepends=True)[start:]).lstrip("\n")
    return RuntimeModule(name, code, tuple(header), tuple(optional), tuple(requires))


def check_rendered(source: str, modules: Iterable[RuntimeModule]) -> None:
    """Raise `RuntimeCodeError` unless the rendered `source` provides every import and module the included
    `modules` rely on."""
    modules = list(modules)
    statements = ast.parse(source).body
    imported = {alias for statement in statements for alias in _aliases(statement)}
    others = {ast.dump(statement) for statement in statements}
    included = {module.name for module in modules}
    for module in modules:
        for statement in module.header_statements:
            aliases = _aliases(statement)
            if (aliases and not aliases <= imported) or (not aliases and ast.dump(statement) not in others):
                raise RuntimeCodeError(
                    f"{module.path} needs `{ast.unparse(statement)}`, which the rendered file's header lacks: "
                    "add it to templates/modeling.py.jinja"
                )
        for statement in module.optional_imports:
            if statement not in source:
                raise RuntimeCodeError(f"{module.path}'s optional import is missing from the rendered file")
        for required in module.requires:
            if required not in included:
                raise RuntimeCodeError(f"{module.path} imports from {PACKAGE}.{required}, which was not included")


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _belongs_to_header(statement: ast.stmt) -> bool:
    """Imports, a `try:` of imports, and the module's `logger = logging.get_logger(__name__)`."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(statement, ast.Try):
        return all(
            isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign))
            for block in (statement.body, *(handler.body for handler in statement.handlers))
            for node in block
        ) and any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in statement.body)
    return (
        isinstance(statement, ast.Assign)
        and [getattr(target, "id", None) for target in statement.targets] == ["logger"]
        and isinstance(statement.value, ast.Call)
        and ast.unparse(statement.value.func) == "logging.get_logger"
    )


def _refuse_imports_in(name: str, body: list[ast.stmt]) -> None:
    """Imports after the first definition would be copied mid-file, and one of hubgen would break self-containment."""
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                raise RuntimeCodeError(
                    f"{PACKAGE.replace('.', '/')}/{name}.py line {node.lineno}: `{ast.unparse(node)}` is not at the "
                    "top of the module; runtime modules import at the top only (the rendered file's header)"
                )


def _aliases(statement: ast.stmt) -> set[tuple[str, str, str | None]]:
    """(module, name, as-name) of each name an import statement binds; empty for any other statement."""
    if isinstance(statement, ast.ImportFrom):
        return {(statement.module or "", alias.name, alias.asname) for alias in statement.names}
    if isinstance(statement, ast.Import):
        return {("", alias.name, alias.asname) for alias in statement.names}
    return set()
