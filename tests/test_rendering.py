"""What rendering promises about the files themselves: code like any other (ruff-clean and ruff-formatted at line
length 119), a header that tells the truth about where the file comes from, the runtime modules included verbatim
and only once, and templates that hold what varies rather than plain Python."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from support.lint import ruff_problems

from hubgen.registry import MODEL_TYPES
from hubgen.render import render_modeling_file
from hubgen.runtime_code import RuntimeCodeError, check_rendered, runtime_module, split_runtime_source

ROOT = Path(__file__).resolve().parents[1]
TYPES = list(MODEL_TYPES)


@pytest.fixture(scope="module")
def sources() -> dict[str, str]:
    return {name: render_modeling_file(model_type) for name, model_type in MODEL_TYPES.items()}


@pytest.mark.parametrize("type_name", TYPES)
def test_rendered_file_passes_ruff_check_and_format(tmp_path, sources, type_name):
    path = tmp_path / MODEL_TYPES[type_name].file_name
    path.write_text(sources[type_name])
    assert not ruff_problems(path)


def header(source: str) -> str:
    return "".join(re.match(r"(?:#.*\n)+", source).group(0))


@pytest.mark.parametrize("type_name", TYPES)
def test_header_names_the_sources_that_made_the_file_and_nothing_else(sources, type_name):
    model_type, text = MODEL_TYPES[type_name], header(sources[type_name])
    named = re.findall(r"(?:templates|hubgen)/[\w/]+\.(?:py\.jinja|py)", text)
    for path in named:
        assert (ROOT / path).is_file(), f"{path}, named in the header, does not exist"
    family = model_type.family
    assert f"templates/families/{family.name}.py.jinja" in named
    others = {other.family.name for other in MODEL_TYPES.values()} - {family.name}
    assert not [path for path in named if any(f"families/{other}.py" in path for other in others)]
    assert {f"hubgen/lsg/{name}.py" for name in family.runtime} <= set(named)
    assert f"`hubgen render {type_name}`" in text
    assert "{" not in text and "}" not in text, "an unrendered placeholder in the header"


def top_level_names(source: str) -> set[str]:
    names = set()
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names.update(target.id for target in statement.targets if isinstance(target, ast.Name))
    return names


@pytest.mark.parametrize("type_name", TYPES)
def test_runtime_modules_are_included_verbatim_once(sources, type_name):
    source = sources[type_name]
    for name in MODEL_TYPES[type_name].family.runtime:
        module = runtime_module(name)
        module_source = (ROOT / module.path).read_text()
        assert module.code in source and module_source.endswith(module.code)
        assert source.count(module.code) == 1
        assert top_level_names(module_source) <= top_level_names(source)
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("hubgen")]
    assert source.count("from __future__ import annotations") == 1


def test_runtime_code_starts_after_the_imports_and_refuses_late_ones():
    module = split_runtime_source(
        "example",
        '"""Doc."""\n\nfrom __future__ import annotations\n\nimport torch\n\nfrom hubgen.lsg.settings import x\n\n'
        "try:\n    from a import b\nexcept ImportError:\n    b = None\n\nlogger = logging.get_logger(__name__)\n\n"
        "# About f.\ndef f():\n    return torch, x, b\n",
    )
    assert module.code == "# About f.\ndef f():\n    return torch, x, b\n"
    assert module.requires == ("settings",)
    assert module.optional_imports == ("try:\n    from a import b\nexcept ImportError:\n    b = None",)
    assert [ast.unparse(statement) for statement in module.header_statements] == [
        "from __future__ import annotations",
        "import torch",
        "logger = logging.get_logger(__name__)",
    ]
    with pytest.raises(RuntimeCodeError, match="example.py line 4: `import json` is not at the top"):
        split_runtime_source("example", "import torch\n\ndef f():\n    import json\n")


def test_a_rendered_file_lacking_what_a_runtime_module_imports_is_refused():
    module = split_runtime_source("example", "import torch\nfrom hubgen.lsg.settings import x\n\nY = 1\n")
    settings = split_runtime_source("settings", "x = 1\n")
    check_rendered("import torch\n\nY = 1\n", [module, settings])
    with pytest.raises(RuntimeCodeError, match="needs `import torch`"):
        check_rendered("Y = 1\n", [module, settings])
    with pytest.raises(RuntimeCodeError, match="imports from hubgen.lsg.settings, which was not included"):
        check_rendered("import torch\n\nY = 1\n", [module])


JINJA = re.compile(r"{{|{%")


def test_templates_hold_what_varies():
    """A template of 40 lines or more without a Jinja construct is plain Python: it belongs in hubgen/lsg/."""
    templates = sorted((ROOT / "templates").rglob("*.jinja"))
    assert templates
    plain = [
        str(path.relative_to(ROOT))
        for path in templates
        if len(path.read_text().splitlines()) >= 40 and not JINJA.search(path.read_text())
    ]
    assert not plain
