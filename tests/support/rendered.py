"""Render a type's modeling file and import it the way transformers imports remote code: as a plain module."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from hubgen.registry import get_model_type
from hubgen.render import import_modeling_file, write_modeling_file


def import_rendered(type_name: str, directory: Path) -> ModuleType:
    model_type = get_model_type(type_name)
    path = write_modeling_file(model_type, directory)
    return import_modeling_file(path, f"rendered_{model_type.module_name}_{abs(hash(directory))}")
