"""Credentials never reach the screen or a file: a URL loses its `user:password@` part wherever hubgen shows it.

HF_ENDPOINT may carry credentials for a proxy in front of a private Hub (`http://user:secret@host`); errors of the
HTTP libraries repeat the URL they were given, so whatever hubgen prints or writes goes through `redact`.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it replaced by `***`."""
    return _USERINFO.sub(r"\1***@", text)
