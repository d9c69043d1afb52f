"""Shared fixtures: rendered modules are rendered once per session and per type."""

from __future__ import annotations

import pytest
from support.rendered import import_rendered

pytest_plugins = ["support.hub"]  # the loopback Hub of the publish tests


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """rendered(type_name) -> the imported module of the rendered `modeling_lsg_<type>.py`."""
    cache = {}

    def load(type_name: str):
        if type_name not in cache:
            cache[type_name] = import_rendered(type_name, tmp_path_factory.mktemp(type_name.replace("-", "_")))
        return cache[type_name]

    return load
