"""Side-by-side transformers installs, and a way to run code against one of them in isolation.

hubgen promises that the ``modeling_lsg_<type>.py`` files it renders load on every transformers from 4.40 to
the newest 5.x. The test process itself runs on the main environment's transformers, so checking that promise
needs other transformers versions next to it, and a clean interpreter to use them from (the machinery is
hubgen.side_by_side, shared with `hubgen bench --original`; this module pins the versions and runs snippets):

* :func:`ensure_transformers_env` installs one pinned transformers (and the libraries it needs) into
  ``<repo>/.compat/transformers-<version>/`` with ``pip install --target``. torch is never installed there:
  it is large, must be the one build the machine has, and is shared from the main environment instead.
* :func:`run_isolated` runs a snippet in a fresh interpreter whose ``sys.path`` is exactly: the chosen
  transformers folder (if any), a folder of links to what is shared from the main environment, and the
  standard library. hubgen is not on it, which is the point: a rendered file that quietly imports hubgen
  would work in our tests and break for every user.

The child is started with ``-I -S``. ``-S`` skips ``site``, so no site-packages folder and no ``.pth`` file is
processed; hubgen is installed editable through a ``.pth`` import hook, which therefore never runs. ``-I``
ignores every ``PYTHON*`` variable (a stray ``PYTHONPATH`` cannot leak the repository in) and keeps the
working directory and script folder off ``sys.path``, so running from the repository root is harmless.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from hubgen import side_by_side
from hubgen.side_by_side import COMMON_4X, installed, main_site_packages, runtime_requirements

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Where the side-by-side installs live. Overridable so CI can point it at a cached folder.
COMPAT_DIR = Path(os.environ.get("HUBGEN_COMPAT_DIR", REPO_ROOT / ".compat"))

#: Distributions whose code must never be importable in an isolated child.
HIDDEN_DISTRIBUTIONS = ("hubgen",)

#: Exact ``pip install --no-deps`` set for each supported transformers version. Keep every entry exact (``==``)
#: and complete: ``tests/test_compat_envs.py`` checks that each installed distribution's requirements are met.
TRANSFORMERS_PINS: dict[str, tuple[str, ...]] = {
    "4.40.2": (
        "transformers==4.40.2",
        "huggingface_hub==0.36.2",  # 4.40 caps huggingface_hub<1.0; 0.36.2 is the last 0.x
        "tokenizers==0.19.1",  # 4.40 requires >=0.19,<0.20
        *COMMON_4X,
    ),
    "4.46.3": (
        "transformers==4.46.3",
        "huggingface_hub==0.36.2",  # <1.0
        "tokenizers==0.20.3",  # 4.46 requires >=0.20,<0.21
        *COMMON_4X,
    ),
    "4.57.6": (
        "transformers==4.57.6",
        "huggingface_hub==0.36.2",  # <1.0 (>=0.34)
        "tokenizers==0.22.2",  # 4.57 requires >=0.22,<=0.23.0
        *COMMON_4X,
    ),
    "5.0.0": (
        "transformers==5.0.0",
        "huggingface_hub==1.33.0",  # 5.0 requires >=1.3,<2.0; last 1.x (hub 2.x moved to httpx2)
        "tokenizers==0.22.2",  # 5.0 requires >=0.22,<=0.23.0
        # transformers 5.0 requires typer-slim (unversioned) for its CLI only. From 0.23 typer-slim is an empty
        # shim over typer, which pulls pydantic and rich; 0.21.1 (current when 5.0 shipped) needs only click.
        "typer-slim==0.21.1",
        "click==8.5.1",  # huggingface_hub 1.x: >=8.4.2,<9
        "httpx==0.28.1",  # huggingface_hub 1.x: httpx<1 replaces requests
        "httpcore==1.0.9",
        "h11==0.16.0",
        "anyio==4.16.0",
        "idna==3.20",
        "certifi==2026.10.18",
        "safetensors==0.8.0",
        "packaging==26.3",
        "pyyaml==6.0.3",
        "regex==2026.11.15",
        "tqdm==4.70.1",
    ),
}

#: Versions the compatibility tests cover, oldest first. The main environment adds the newest 5.x.
SUPPORTED_VERSIONS = tuple(TRANSFORMERS_PINS)

#: Variables that would redirect the child's Hugging Face caches or credentials away from its private HF_HOME.
_HF_LOCATION_VARIABLES = (
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "TRANSFORMERS_CACHE",
    "PYTORCH_TRANSFORMERS_CACHE",
    "PYTORCH_PRETRAINED_BERT_CACHE",
    "HF_MODULES_CACHE",
    "HF_ASSETS_CACHE",
    "HF_XET_CACHE",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_STORED_TOKENS_PATH",
)


class IsolatedRunError(AssertionError):
    """An isolated child exited non-zero; the message carries its output so pytest shows why."""


def install_pinned(name: str, pins: Sequence[str]) -> Path:
    """Return ``<COMPAT_DIR>/<name>`` holding exactly ``pins`` (see :func:`hubgen.side_by_side.install_pinned`)."""
    return side_by_side.install_pinned(COMPAT_DIR, name, pins)


def ensure_transformers_env(version: str) -> Path:
    """Return a folder holding ``transformers==version`` and its pinned libraries (:data:`TRANSFORMERS_PINS`)."""
    try:
        pins = TRANSFORMERS_PINS[version]
    except KeyError:
        raise ValueError(f"no pins for transformers {version}; known: {', '.join(SUPPORTED_VERSIONS)}") from None
    return install_pinned(f"transformers-{version}", pins)


def shared_view() -> Path:
    """The folder through which transformers envs reach the main env's torch."""
    return side_by_side.shared_view(COMPAT_DIR)


def main_view() -> Path:
    """The main env's site-packages minus hubgen, whether installed editable (``.pth`` hook) or as files."""
    site = main_site_packages()
    available = installed(site)
    hidden = {canonicalize_name(n) for n in HIDDEN_DISTRIBUTIONS}
    hidden_entries = set(hidden)
    for name in hidden & available.keys():
        hidden_entries |= side_by_side.top_level_entries(available[name])
    entries = {
        entry.name for entry in site.iterdir() if entry.name not in hidden_entries and entry.name != "__pycache__"
    }
    return side_by_side.link_view(COMPAT_DIR, "main", site, entries)


def unmet_requirements(version: str) -> list[str]:
    """Problems with a transformers env as its children see it; empty when every pin is right.

    Checks each distribution installed in the env against what comes first on the child's path (the env, then
    the shared view), the way ``importlib.metadata`` in the child resolves it: a requirement that is missing or
    out of range, an installed distribution the pins do not name, or one that shadows a shared distribution.
    """
    target, shared = ensure_transformers_env(version), shared_view()
    in_target, in_shared = installed(target), installed(shared)
    visible = {**in_shared, **in_target}
    pinned = {canonicalize_name(Requirement(pin).name) for pin in TRANSFORMERS_PINS[version]}
    problems = [f"{name} is installed but not pinned" for name in sorted(in_target.keys() - pinned)]
    problems += [f"{name} shadows the shared copy" for name in sorted(in_target.keys() & in_shared.keys())]
    for name, dist in sorted(in_target.items()):
        for requirement in runtime_requirements(dist):
            found = visible.get(canonicalize_name(requirement.name))
            if found is None:
                problems.append(f"{name} requires {requirement}, which is missing")
            elif not requirement.specifier.contains(found.version, prereleases=True):
                problems.append(f"{name} requires {requirement}, found {found.version}")
    return problems


def isolated_sys_path(transformers_version: str | None = None, extra_paths: Sequence[Path] = ()) -> list[Path]:
    """The ``sys.path`` entries (before the standard library) of a child for ``transformers_version``.

    ``None`` means the main env's transformers (minus hubgen).
    """
    if transformers_version is None:
        return [*extra_paths, main_view()]
    return [*extra_paths, ensure_transformers_env(transformers_version), shared_view()]


def child_environment(overrides: Mapping[str, str] | None, hf_home: Path) -> dict[str, str]:
    """The variables an isolated child gets: the caller's, pointed away from the network and user caches."""
    environment = {k: v for k, v in os.environ.items() if k not in _HF_LOCATION_VARIABLES}
    environment.update(
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",  # still read by transformers 4.x
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",  # transformers follows it too; keeps captured stderr readable
        TOKENIZERS_PARALLELISM="false",
    )
    environment.update(overrides or {})
    return environment


def run_isolated(
    code: str,
    *,
    transformers_version: str | None = None,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    extra_paths: Sequence[Path] = (),
    timeout: float = 300,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as ``__main__`` in a fresh interpreter that cannot import hubgen.

    torch comes from the main env; transformers and its libraries from ``ensure_transformers_env(version)``
    or, when ``transformers_version`` is None, from the main env. ``extra_paths`` go first on ``sys.path``.
    The child is offline with a private ``HF_HOME`` unless ``env`` overrides those variables. Output is
    captured as text; with ``check`` a non-zero exit raises :class:`IsolatedRunError` carrying that output.
    """
    paths = [str(p) for p in isolated_sys_path(transformers_version, extra_paths)]
    with tempfile.TemporaryDirectory(prefix="hubgen-isolated-") as scratch:
        script = Path(scratch) / "snippet.py"
        script.write_text(code)
        hf_home = Path(scratch) / "hf_home"
        hf_home.mkdir()
        command = side_by_side.isolated_command(paths, script)
        result = subprocess.run(
            command,
            check=False,
            cwd=cwd,
            env=child_environment(env, hf_home),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if check and result.returncode != 0:
        raise IsolatedRunError(
            f"isolated child (transformers {transformers_version or 'main'}) exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )
    return result
