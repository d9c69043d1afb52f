"""A Hugging Face Hub API server on 127.0.0.1 that the real `huggingface_hub` client talks to unchanged.

Why: the tests and the offline demo must publish and download models without reaching huggingface.co, yet go
through the same client code paths (preupload, LFS, NDJSON commits, PR refs, resolve downloads) as a real publish.
Mocking the client would test the mock; this serves the wire protocol instead. Usage::

    with LocalHub(tmp_path / "hub", tokens={"hf_alice": LocalUser("alice", orgs=("acme",))}) as hub:
        api = HfApi(endpoint=hub.endpoint, token="hf_alice")

Pass `endpoint=` explicitly (the client reads `HF_ENDPOINT` once, at import) and disable Xet (`HF_HUB_DISABLE_XET=1`),
which this server does not implement; :meth:`LocalHub.client_env` gives the variables for a subprocess.

This module is the transport: sockets, request bodies and responses. Endpoint logic is in
:mod:`hubgen.offline.local_hub_api`, repositories and blobs in :mod:`hubgen.offline.local_hub_storage`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qsl, unquote

from hubgen.offline.local_hub_api import HubApi, LocalUser, Request, Response, error_response
from hubgen.offline.local_hub_storage import HubError, HubStorage

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

__all__ = ["LocalHub", "LocalUser", "RequestRecord"]

logger = logging.getLogger(__name__)

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class RequestRecord:
    """One line of the request log. Holds no headers and no body, so it cannot hold a token."""

    method: str
    path: str
    status: int
    user: str | None


class LocalHub:
    """Hub API server on a free local port, serving the repositories stored under `storage_dir`.

    Args:
        storage_dir: where repositories and blobs live; reusing a directory reuses its repositories.
        tokens: token string -> account. Requests with any other token get the Hub's 401.
        host, port: where to listen; port 0 picks a free port.
    """

    def __init__(
        self,
        storage_dir: str | Path,
        tokens: Mapping[str, LocalUser] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self._storage = HubStorage(Path(storage_dir))
        self._tokens = dict(tokens or {})
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """Base URL to pass as `endpoint=` to `HfApi`, `hf_hub_download`, `snapshot_download`."""
        if self._server is None:
            raise RuntimeError("LocalHub is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request served so far (method, path with query, status, user name), oldest first."""
        with self._log_lock:
            return list(self._log)

    def client_env(self) -> dict[str, str]:
        """Environment for a subprocess running the client against this hub (read by the client at import)."""
        return {"HF_ENDPOINT": self.endpoint, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

    @contextmanager
    def as_default_hub(self, hf_home: Path) -> Iterator[None]:
        """Make this hub the one hubgen and the client in this process use, until the block ends.

        hubgen reads HF_ENDPOINT at call time; the client read its settings at import, so its endpoint (used by
        `ModelCard.validate`) and its cache (`hf_home`/hub, where downloads go) are set as well, and offline mode is
        lifted meanwhile (the only server reached is this one, on 127.0.0.1); all are restored afterwards.
        """
        from huggingface_hub import constants

        variables = {**self.client_env(), "HF_HOME": str(hf_home)}
        saved = {key: os.environ.get(key) for key in variables}
        settings = {
            "HF_HUB_OFFLINE": False,
            "ENDPOINT": self.endpoint,
            "HUGGINGFACE_CO_URL_TEMPLATE": self.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_HUB_CACHE": str(hf_home / "hub"),
        }
        saved_settings = {name: getattr(constants, name) for name in settings}
        os.environ.update(variables)
        for name, value in settings.items():
            setattr(constants, name, value)
        try:
            yield
        finally:
            for name, value in saved_settings.items():
                setattr(constants, name, value)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("LocalHub is already running")
        server = _Server(self._address, _Handler)
        host, port = server.server_address[:2]
        server.api = HubApi(self._storage, f"http://{host}:{port}", self._tokens)
        server.record = self._record
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=f"LocalHub:{port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _record(self, record: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(record)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: HubApi
    record: Callable[[RequestRecord], None]


class _Body:
    """A request body read from the socket on demand (`Content-Length` framing: the client never sends chunked
    bodies). Whatever a handler leaves unread is drained before the response, so keep-alive connections stay in sync.
    """

    def __init__(self, rfile: BinaryIO, content_length: str | None):
        self._rfile = rfile
        self._left = int(content_length or 0)

    def chunks(self) -> Iterator[bytes]:
        while self._left > 0:
            data = self._rfile.read(min(_COPY_CHUNK, self._left))
            if not data:
                raise ConnectionError("client closed the connection in the middle of the body")
            self._left -= len(data)
            yield data

    def read(self) -> bytes:
        return b"".join(self.chunks())


class _Handler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a :class:`Request` for :class:`HubApi` and writes back its :class:`Response`."""

    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses connections
    server_version = "LocalHub"
    timeout = 60  # idle keep-alive connections do not hold a thread forever
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        raw_path, _, query = self.path.partition("?")
        body = _Body(self.rfile, self.headers.get("Content-Length"))
        user = None
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True  # cannot find the end of a body we do not parse
                raise HubError(411, "LocalHub needs a Content-Length")
            user = self.server.api.authenticate(self.headers.get("Authorization"))
            segments = [unquote(s) for s in raw_path.split("/")[1:]]
            request = Request(self.command, segments, dict(parse_qsl(query)), body, user)
            response = self.server.api.handle(request)
        except HubError as err:
            response = error_response(err)
        except ConnectionError:  # the client went away mid-body: nobody to answer (the upload was discarded)
            self.close_connection = True
            self.server.record(RequestRecord(self.command, self.path, 499, user.name if user else None))
            return
        except Exception:
            logger.exception("LocalHub failed on %s %s", self.command, raw_path)
            response = error_response(HubError(500, "Internal error in LocalHub"))
        if not self.close_connection:
            try:
                body.read()
            except OSError:
                self.close_connection = True
        self._send(response)
        self.server.record(RequestRecord(self.command, self.path, response.status, user.name if user else None))

    def _send(self, response: Response) -> None:
        length = response.length if response.file is not None else len(response.body)
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(length))
            self.end_headers()
            if self.command == "HEAD":
                return
            if response.file is None:
                self.wfile.write(response.body)
                return
            with response.file.open("rb") as blob:
                while length > 0 and (data := blob.read(min(_COPY_CHUNK, length))):
                    self.wfile.write(data)
                    length -= len(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        """Silence the default stderr access log: `RequestRecord`s are the log."""
