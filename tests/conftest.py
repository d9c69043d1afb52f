"""Shared fixtures, built once per session: rendered modules per type, and tiny trained checkpoints per type."""

from __future__ import annotations

import functools

import pytest
from support.rendered import import_rendered

from hubgen.offline.tiny import make_tiny_checkpoint

pytest_plugins = ["support.hub"]  # the loopback Hub of the publish tests


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """rendered(type_name) -> the imported module of the rendered `modeling_lsg_<type>.py`."""
    return functools.cache(
        lambda type_name: import_rendered(type_name, tmp_path_factory.mktemp(type_name.replace("-", "_")))
    )


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """tiny_checkpoint(type_name) -> the folder `tiny-<type>` of the type's tiny trained checkpoint (default steps,
    seed 0). Shared: read it, or copy it to change it."""
    return functools.cache(
        lambda type_name: make_tiny_checkpoint(type_name, tmp_path_factory.mktemp("tiny") / f"tiny-{type_name}")
    )


@pytest.fixture(scope="session")
def tiny_bert(tiny_checkpoint):
    return tiny_checkpoint("bert")
