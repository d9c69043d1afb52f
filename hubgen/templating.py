"""One Jinja environment for every template hubgen ships (remote code and model cards).

Block tags vanish with their line (`trim_blocks`, `lstrip_blocks`), so templates can be laid out like the text they
produce; undefined variables are errors, so a template never renders a silent blank.
"""

from __future__ import annotations

import importlib.resources

import jinja2


def _pyrepr(value: object) -> str:
    """A Python literal as `ruff format` writes it (double quotes, on one line); templates lay out long ones."""
    if isinstance(value, str):
        text = repr(value)
        # repr() quotes with ' unless the text holds one; without a " in it either, the same text fits in "...".
        return '"' + text[1:-1] + '"' if text[0] == "'" and '"' not in value else text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_pyrepr(key)}: {_pyrepr(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_pyrepr(item) for item in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_pyrepr(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


class RecordingLoader(jinja2.FileSystemLoader):
    """Remembers which templates a render read, in order: rendered files name their sources in their header."""

    def __init__(self, searchpath: str):
        super().__init__(searchpath)
        self.names: list[str] = []

    def get_source(self, environment: jinja2.Environment, template: str):
        if template not in self.names:
            self.names.append(template)
        return super().get_source(environment, template)


def environment(package: str) -> jinja2.Environment:
    """An environment loading the templates installed in `package` (e.g. `hubgen.templates`)."""
    folder = importlib.resources.files(package)
    env = jinja2.Environment(
        loader=RecordingLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = _pyrepr
    return env
