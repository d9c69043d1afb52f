"""One Jinja environment for every template hubgen ships (remote code and model cards).

Block tags vanish with their line (`trim_blocks`, `lstrip_blocks`), so templates can be laid out like the text they
produce; undefined variables are errors, so a template never renders a silent blank.
"""

from __future__ import annotations

import importlib.resources
import pprint

import jinja2


def _pyrepr(value: object) -> str:
    return pprint.pformat(value, width=100, sort_dicts=False)


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
