"""Render a type's modeling file and import it the way transformers imports remote code: as a plain module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hubgen.registry import get_model_type
from hubgen.render import write_modeling_file


def import_rendered(type_name: str, directory: Path) -> ModuleType:
    model_type = get_model_type(type_name)
    path = write_modeling_file(model_type, directory)
    name = f"rendered_{model_type.module_name}_{abs(hash(directory))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
