"""An HTTP proxy on 127.0.0.1 in front of the loopback Hub that breaks chosen requests the way networks and servers do.

The client under test talks to the proxy as if it were the Hub (HF_ENDPOINT points at it); each request is matched
against the proxy's faults, and the first that matches acts on it:

- ``drop``: forward the headers and half of the body, then close both connections (a connection lost mid-upload);
- ``status``: answer with an error status without forwarding (the server failed before doing anything);
- ``lose_response``: forward the request, let the Hub act on it, and close the client's connection instead of
  answering (the answer lost on the way back);
- ``observe``: forward as usual; only `done` tells that it happened.

A fault may first wait for an event (another request having been served), which orders the requests of two
processes deterministically. URLs in the Hub's answers (LFS upload hrefs, commit URLs) are rewritten to point at
the proxy, so that every request of the client passes through it. The Hub always frames bodies with
Content-Length, and huggingface_hub never sends chunked bodies, which keeps the parsing here short.
"""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from typing_extensions import Self

Action = Literal["drop", "status", "lose_response", "observe"]


@dataclass
class Fault:
    """Acts on the first `times` requests whose method is `method`, whose path matches the regular expression
    `path`, and (when `token` is set) that carry that token; `done` is set once it has acted."""

    method: str
    path: str
    action: Action
    status: int = 500
    token: str | None = None
    times: int = 1
    wait_for: threading.Event | None = None
    done: threading.Event = field(default_factory=threading.Event)
    hits: int = 0

    def matches(self, method: str, path: str, headers: dict[str, str]) -> bool:
        if self.hits >= self.times or method != self.method or not re.search(self.path, path):
            return False
        return self.token is None or headers.get("authorization") == f"Bearer {self.token}"


class FaultProxy:
    def __init__(self, upstream: str, faults: list[Fault] | None = None):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.upstream_url = upstream.encode()
        self.faults = list(faults or [])
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fault_for(self, method: str, path: str, headers: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, headers):
                    fault.hits += 1
                    return fault
        return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        while self._one_request():
            pass

    def _one_request(self) -> bool:
        """Serve one request of the client's keep-alive connection; False when the connection is over."""
        request_line = self.rfile.readline()
        if not request_line.strip():
            return False
        method, path, _ = request_line.decode("latin-1").split(" ", 2)
        head, headers = _read_headers(self.rfile)
        body = self.rfile.read(int(headers.get("content-length", 0)))
        proxy = self.server.proxy
        fault = proxy.fault_for(method, path, headers)
        if fault is not None and fault.wait_for is not None:
            fault.wait_for.wait(timeout=600)
        if fault is not None and fault.action == "status":
            message = b'{"error": "injected by the fault proxy"}'
            self.wfile.write(
                b"HTTP/1.1 %d Injected\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (fault.status, len(message), message)
            )
            fault.done.set()
            return True
        with socket.create_connection(proxy.upstream) as upstream:
            upstream.sendall(request_line + head + b"Connection: close\r\n\r\n")
            if fault is not None and fault.action == "drop":
                upstream.sendall(body[: len(body) // 2])
                fault.done.set()
                return False
            upstream.sendall(body)
            response = _read_response(upstream.makefile("rb"), method, proxy)
        if fault is not None and fault.action == "lose_response":
            fault.done.set()
            return False
        self.wfile.write(response)
        if fault is not None:
            fault.done.set()
        return True


def _read_headers(stream) -> tuple[bytes, dict[str, str]]:
    """The header lines (without the blank line and without Connection) and a lower-cased dict of them."""
    lines, headers = [], {}
    while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "connection":
            continue
        headers[name.strip().lower()] = value.strip()
        lines.append(line)
    return b"".join(lines), headers


def _read_response(stream, method: str, proxy: FaultProxy) -> bytes:
    """The upstream's whole response, with its URLs rewritten to the proxy's and its length corrected."""
    status = stream.readline()
    head, headers = _read_headers(stream)
    body = b"" if method == "HEAD" else stream.read(int(headers.get("content-length", 0)))
    body = body.replace(proxy.upstream_url, proxy.endpoint.encode())
    kept = b"".join(line for line in head.splitlines(keepends=True) if not line.lower().startswith(b"content-length"))
    length = headers.get("content-length", "0") if method == "HEAD" else str(len(body))
    return status + kept + f"Content-Length: {length}\r\n\r\n".encode() + body
