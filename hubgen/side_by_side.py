"""Another transformers next to the main environment's, and a fresh interpreter that sees only that one.

Two users: the compatibility tests (tests/support/compat.py), which load rendered files on older transformers, and
`hubgen bench --original`, which runs the original LSG implementation on the transformers it was written for. Both
need the same three things, kept here once:

* :func:`install_pinned` installs an exact list of wheels into ``<root>/<name>/`` with ``pip install --target``.
  torch is never installed there: it is large, must be the one build the machine has, and is shared instead.
* :func:`shared_view` is a folder of links to torch, what torch needs at runtime and :data:`SHARED_EXTRA` in the
  main environment: one ``sys.path`` entry that exposes those and nothing else (no hubgen, no newer transformers).
* :func:`isolated_command` starts ``python -I -S`` with exactly the given folders in front of the standard library.
  ``-S`` skips ``site`` (no site-packages, no ``.pth`` import hook of an editable hubgen) and ``-I`` ignores every
  ``PYTHON*`` variable and keeps the working directory off ``sys.path``.

Folders are built once per stamp (the pins and the interpreter), under a lock, and marked complete last, so parallel
processes and interrupted builds are safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: Shared from the main environment on top of torch and torch's own requirements. numpy is not a torch
#: requirement, but torch's tensor<->array bridge is compiled against the numpy ABI, so the child uses the
#: numpy the main environment's torch was tested with rather than a second copy. hf-xet is an 11 MB compiled
#: download accelerator that huggingface_hub>=0.32 requires but only calls when fetching files, which offline
#: children never do; every pinned hub accepts the main env's version (the requirement check test verifies it).
SHARED_EXTRA = ("numpy", "hf-xet")

#: Libraries every transformers 4.x install needs. Versions are the newest each transformers' own metadata allows
#: today, which is what ``pip install transformers==4.x`` gives a user now; pinning them keeps runs reproducible.
#: filelock, fsspec and typing_extensions are absent on purpose: torch requires them, so they are shared, as is
#: hf-xet (see SHARED_EXTRA).
COMMON_4X = (
    "safetensors==0.8.0",  # >=0.4.1 (4.40) / >=0.4.3 (4.57); same as the main env
    "packaging==26.3",
    "pyyaml==6.0.3",
    "regex==2026.11.15",
    "tqdm==4.70.1",
    "requests==2.34.2",  # transformers 4.x and huggingface_hub 0.x still use requests, not httpx
    "urllib3==2.8.0",
    "charset-normalizer==3.5.2",
    "idna==3.20",
    "certifi==2026.10.18",
)

_MARKER = ".complete.json"

# Runs first in the child: puts the chosen folders in front of the standard library, then runs the script as
# __main__ from a real file so tracebacks show its source lines.
BOOTSTRAP = """\
import json, os, runpy, sys
sys.path[:] = json.loads(sys.argv[1]) + [p for p in sys.path if p not in ("", os.getcwd())]
script = sys.argv[2]
del sys.argv[1:3]
sys.argv[0] = script
runpy.run_path(script, run_name="__main__")
"""


def default_root() -> Path:
    """Where hubgen keeps side-by-side installs: ``$HUBGEN_COMPAT_DIR``, else the user's cache folder."""
    configured = os.environ.get("HUBGEN_COMPAT_DIR")
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "hubgen" / "side-by-side"


def main_site_packages() -> Path:
    """The main environment's site-packages: the one torch (and this process) comes from."""
    return Path(sysconfig.get_paths()["purelib"])


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock, so parallel processes build a folder once, one at a time."""
    import fcntl  # POSIX only: imported here so that importing this module (fresh_process does) works anywhere

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(folder: Path, stamp: dict, build: Callable[[Path], None]) -> Path:
    """Create ``folder`` with ``build`` unless a previous build with the same ``stamp`` finished.

    The marker is written last, so a folder left by an interrupted build (or one built from other pins or for
    another Python) has no matching marker and is deleted and built again.
    """
    marker = folder / _MARKER
    if _has_stamp(marker, stamp):
        return folder
    with _exclusive_lock(folder.with_name(folder.name + ".lock")):
        if _has_stamp(marker, stamp):
            return folder  # another process finished it while we waited
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        build(folder)
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
        partial.replace(marker)  # atomic: a reader sees no marker or a whole one
    return folder


def _has_stamp(marker: Path, stamp: dict) -> bool:
    """Whether ``marker`` exists and records exactly ``stamp``."""
    try:
        return json.loads(marker.read_text()) == stamp
    except (OSError, ValueError):
        return False


def python_stamp() -> dict:
    """What makes a folder of compiled wheels unusable by another interpreter."""
    return {"python": sys.implementation.cache_tag, "platform": sysconfig.get_platform()}


def install_pinned(root: Path, name: str, pins: Sequence[str]) -> Path:
    """Return ``<root>/<name>`` holding exactly ``pins`` (``pip install --target``), installing if needed.

    ``--no-deps`` makes the folder hold the list and nothing else, so it never drags in torch (an unpinned
    torch resolution downloads gigabytes of CUDA wheels); the pins must therefore be complete. ``--only-binary``
    keeps source builds (and their network fetches) out. ``--no-compile`` skips byte-compiling thousands of
    files nothing imports; Python compiles what is imported on first use and writes that cache atomically.
    """
    stamp = {"pins": sorted(pins), **python_stamp()}

    def install(target: Path) -> None:
        command = [
            sys.executable, "-m", "pip", "install",
            "--target", str(target),
            "--no-deps", "--only-binary", ":all:", "--no-compile",
            "--disable-pip-version-check", "--no-input", "--quiet",
            *pins,
        ]  # fmt: skip
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"installing {name} failed:\n{result.stdout}\n{result.stderr}")

    return build_once(root / name, stamp, install)


def runtime_requirements(dist: metadata.Distribution) -> Iterator[Requirement]:
    """What ``dist`` needs at runtime: its requirements without extras, with markers evaluated here."""
    environment = {**default_environment(), "extra": ""}
    for line in dist.requires or ():
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            yield requirement


def installed(site: Path) -> dict[str, metadata.Distribution]:
    """Distributions installed in ``site``, by canonical name."""
    return {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}


def shared_distributions(site: Path | None = None) -> list[metadata.Distribution]:
    """torch, everything torch needs at runtime, and :data:`SHARED_EXTRA`, as installed in the main env."""
    available = installed(site or main_site_packages())
    wanted, seen = ["torch", *SHARED_EXTRA], set()
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in seen:
            continue
        if name not in available:
            raise RuntimeError(f"{name} is needed by the isolated children but not installed in the main env")
        seen.add(name)
        wanted.extend(r.name for r in runtime_requirements(available[name]))
    return [available[name] for name in sorted(seen)]


def top_level_entries(dist: metadata.Distribution) -> set[str]:
    """The site-packages entries a distribution owns (packages, modules, ``.libs`` folders, dist-info)."""
    if dist.files is None:
        raise RuntimeError(f"{dist.metadata['Name']} has no RECORD; cannot tell which files it owns")
    return {f.parts[0] for f in dist.files if f.parts[0] not in ("..", "__pycache__")}


def link_view(root: Path, name: str, site: Path, entries: Iterable[str]) -> Path:
    """A folder of symlinks to chosen ``site`` entries, usable as one ``sys.path`` item.

    Linking (rather than putting ``site`` itself on the path) exposes only what was chosen: no hubgen and
    none of the main env's other packages (accelerate, sentence-transformers, ...) that an older transformers
    would otherwise detect and import. ``.pth`` files are dropped: children skip ``site``, so they would be
    dead weight that only suggests otherwise.
    """
    entries = sorted(entry for entry in entries if not entry.endswith(".pth"))
    digest = hashlib.sha256(json.dumps([str(site), entries]).encode()).hexdigest()[:12]
    stamp = {"site": str(site), "entries": entries, **python_stamp()}

    def link(folder: Path) -> None:
        for entry in entries:
            (folder / entry).symlink_to(site / entry)

    return build_once(root / f"{name}-{digest}", stamp, link)


def shared_view(root: Path) -> Path:
    """The folder through which side-by-side installs reach the main env's torch (:func:`shared_distributions`)."""
    site = main_site_packages()
    entries = set().union(*(top_level_entries(d) for d in shared_distributions(site)))
    return link_view(root, "shared", site, entries)


def isolated_command(paths: Sequence[Path | str], script: Path | str) -> list[str]:
    """The command that runs ``script`` as ``__main__`` with exactly ``paths`` in front of the standard library."""
    return [sys.executable, "-I", "-S", "-c", BOOTSTRAP, json.dumps([str(p) for p in paths]), str(script)]
