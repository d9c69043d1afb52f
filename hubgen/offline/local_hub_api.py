"""The Hub HTTP API as `huggingface_hub` calls it: routing, permissions and the JSON shapes the client parses.

Every route here was read off the installed client (`hf_api.py`, `_commit_api.py`, `lfs.py`, `file_download.py`),
not guessed, and is one that hubgen, its tests, the demo, `hubgen matrix --local` or `hubgen upgrade --list` make the
client call; the comments name the client function. Model repositories only: hubgen publishes nothing else. Transport (sockets, bodies, headers on the
wire) lives in :mod:`hubgen.offline.local_hub`, storage in :mod:`hubgen.offline.local_hub_storage`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hubgen.offline.local_hub_storage import (
    AddFile,
    AddLfsFile,
    Commit,
    CommitOperation,
    FileEntry,
    HubError,
    HubStorage,
    Repo,
    decide_upload_mode,
)

_REPO_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?")
_SHA256 = re.compile(r"[0-9a-f]{64}")

#: The Hub's answer to a request that needs a token and has none.
_NOT_AUTHENTICATED = "Invalid username or password."
#: The Hub's answer to a token it does not know; the client special-cases this exact text (`hf_raise_for_status`).
_INVALID_TOKEN = "Invalid credentials in Authorization header"


@dataclass(frozen=True)
class LocalUser:
    """A Hub account: its name and the organisations it belongs to. It may write to exactly those namespaces."""

    name: str
    orgs: tuple[str, ...] = ()

    def can_write(self, namespace: str) -> bool:
        return namespace == self.name or namespace in self.orgs


class RequestBody(Protocol):
    """The request body, read whole (`read`) or streamed (`chunks`) for large LFS uploads."""

    def read(self) -> bytes: ...

    def chunks(self) -> Iterator[bytes]: ...


@dataclass
class Request:
    """One HTTP request, already decoded: path segments are URL-unquoted one by one (so `refs%2Fpr%2F1` stays one
    segment), and `user` is the authenticated account or None."""

    method: str
    segments: list[str]
    query: dict[str, str]
    body: RequestBody
    user: LocalUser | None

    def json(self) -> Any:
        try:
            return json.loads(self.body.read() or b"null")
        except ValueError as err:
            raise HubError(400, "Request body is not valid JSON") from err

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")


@dataclass
class Response:
    """What to send back: a bytes body, or the first `length` bytes of a stored blob `file`."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    length: int = 0


def json_response(data: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(status, json.dumps(data).encode(), {"Content-Type": content_type})


def error_response(err: HubError) -> Response:
    """Errors as the Hub sends them: JSON `{"error": ...}` plus the `X-Error-Code`/`X-Error-Message` headers that
    `hf_raise_for_status` turns into `RepositoryNotFoundError`, `RevisionNotFoundError`, ..."""
    response = json_response({"error": err.message, **err.extra}, err.status)
    response.headers.update(err.headers)
    response.headers["X-Error-Message"] = err.message.encode("unicode_escape").decode("ascii")  # no CR/LF injection
    if err.code:
        response.headers["X-Error-Code"] = err.code
    return response


class HubApi:
    """Answers the client's requests against a :class:`HubStorage`.

    Tokens are only ever held as sha256 digests, so nothing in this object (or in an error built from it) can contain
    one. LFS uploads go to URLs carrying a random ticket, as the real Hub hands out pre-signed storage URLs: the
    client sends no `Authorization` header with those PUTs (`lfs._upload_single_part`). Like a pre-signed URL, a
    ticket stays valid after use, so that the client's retry of an interrupted upload (`http_backoff`) succeeds.
    """

    def __init__(self, storage: HubStorage, endpoint: str, tokens: Mapping[str, LocalUser]):
        self.storage = storage
        self.endpoint = endpoint
        self._users = {_digest(token): user for token, user in tokens.items()}
        self._uploads: dict[str, tuple[Repo, str, int]] = {}
        self._uploads_lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> LocalUser | None:
        """User for an `Authorization: Bearer <token>` header; None without one; 401 for an unknown token."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        user = self._users.get(_digest(token.strip())) if scheme.lower() == "bearer" else None
        if user is None:
            raise HubError(401, _INVALID_TOKEN)
        return user

    # -- routing ------------------------------------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        seg, method = req.segments, req.method
        if seg[:1] == ["api"]:
            return self._api(req, seg[1:])
        if method == "PUT" and len(seg) == 3 and seg[:2] == ["_local_hub", "lfs-upload"]:
            return self._lfs_upload(req, seg[2])
        if method in ("GET", "HEAD") and len(seg) >= 5 and seg[2] == "resolve":
            return self._resolve(req, self._readable(req, seg[:2]), seg[3], "/".join(seg[4:]))
        if method == "POST" and len(seg) == 6 and seg[1].endswith(".git") and seg[2:5] == ["info", "lfs", "objects"]:
            repo = self._writable(req, [seg[0], seg[1].removesuffix(".git")])
            if seg[5] == "batch":
                return self._lfs_batch(req, repo)
            if seg[5] == "verify":
                return self._lfs_verify(req, repo)
        raise _route_not_found(req)

    def _api(self, req: Request, seg: list[str]) -> Response:
        method = req.method
        if (method, seg) == ("GET", ["whoami-v2"]):
            return self._whoami(req)
        if (method, seg) == ("POST", ["repos", "create"]):
            return self._create_repo(req)
        if (method, seg) == ("DELETE", ["repos", "delete"]):
            return self._delete_repo(req)
        if (method, seg) == ("POST", ["validate-yaml"]):
            return json_response({"errors": [], "warnings": []})  # accepted as-is (see `HfApi._validate_yaml`)
        if (method, seg) == ("GET", ["models"]):  # HfApi.list_models(author=...): one page
            return self._list_models(req)
        if len(seg) < 3 or seg[0] != "models":
            raise _route_not_found(req)
        name, tail = seg[1:3], seg[3:]
        match method, tail:
            case "GET", []:  # model_info / repo_info / repo_exists
                repo = self._readable(req, name)
                return self._info(req, repo, self._commit(repo, "main"))
            case "GET", ["revision", revision]:  # repo_info(revision=...), snapshot_download
                repo = self._readable(req, name)
                return self._info(req, repo, self._commit(repo, revision))
            case "GET", ["tree", revision, *path]:  # list_repo_tree (snapshot_download), list_repo_files
                repo = self._readable(req, name)
                return self._tree(req, self._commit(repo, revision), "/".join(path))
            case "GET", ["refs"]:  # list_repo_refs
                return self._refs(req, self._readable(req, name))
            case "GET", ["commits", revision]:  # list_repo_commits
                repo = self._readable(req, name)
                return json_response([_commit_json(c) for c in repo.history(self._commit(repo, revision))])
            case "POST", ["preupload", revision]:  # _commit_api._fetch_upload_modes
                repo = self._contributable(req, name)
                return self._preupload(req, repo, self._commit(repo, revision))
            case "POST", ["commit", revision]:  # _commit_api._send_commit
                return self._create_commit(req, self._contributable(req, name), revision)
            case "POST", ["branch", branch]:  # HfApi.create_branch
                repo = self._writable(req, name)
                start = (req.json() or {}).get("startingPoint") or "main"
                self.storage.create_branch(repo, branch, self._commit(repo, start))
                return json_response({})
        raise _route_not_found(req)

    # -- access control -----------------------------------------------------------------------------------------

    def _readable(self, req: Request, name: list[str]) -> Repo:
        """The repo if the caller may read it. A private repo the caller cannot see looks exactly like a missing one:
        401 without a token, 404 with one, both `RepoNotFound` (as on the Hub)."""
        repo = self.storage.get("/".join(name))
        if repo is None or (repo.private and (req.user is None or not req.user.can_write(repo.namespace))):
            raise HubError(401 if req.user is None else 404, "Repository not found", "RepoNotFound")
        return repo

    def _writable(self, req: Request, name: list[str]) -> Repo:
        repo = self._readable(req, name)
        if req.user is None:
            # Over https the client turns a 401 on a repo URL into RepositoryNotFoundError by matching the URL
            # (`REPO_API_REGEX`); that regex wants https, so the error code gives the same result over http.
            raise HubError(401, _NOT_AUTHENTICATED, "RepoNotFound")
        _require_namespace(req.user, repo.namespace, f"push to {repo.repo_id}")
        return repo

    def _contributable(self, req: Request, name: list[str]) -> Repo:
        """As on the Hub, any signed-in user who can read a repo may open a pull request on it (`create_pr`, sent
        with the preupload and the commit); committing to a branch needs write access."""
        if not req.flag("create_pr"):
            return self._writable(req, name)
        repo = self._readable(req, name)
        if req.user is None:
            raise HubError(401, _NOT_AUTHENTICATED, "RepoNotFound")
        return repo

    @staticmethod
    def _commit(repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    # -- account and repositories -------------------------------------------------------------------------------

    def _whoami(self, req: Request) -> Response:  # HfApi.whoami
        user = req.user
        if user is None:
            raise HubError(401, _NOT_AUTHENTICATED)
        orgs = [{"type": "org", "name": org, "fullname": org, "roleInOrg": "write"} for org in user.orgs]
        auth = {"type": "access_token", "accessToken": {"displayName": "local-hub", "role": "write"}}
        return json_response(
            {"type": "user", "id": user.name, "name": user.name, "fullname": user.name, "orgs": orgs, "auth": auth}
        )

    def _create_repo(self, req: Request) -> Response:  # HfApi.create_repo
        body = req.json() or {}
        name, repo_type = body.get("name") or "", body.get("type") or "model"
        if repo_type != "model":
            raise HubError(400, f"LocalHub serves model repositories only, not {repo_type}s")
        if not _REPO_NAME.fullmatch(name) or "--" in name or ".." in name:
            raise HubError(400, f"Invalid repo name: '{name}'")
        user = req.user
        namespace = body.get("organization") or (user.name if user else "")
        _require_namespace(user, namespace, f"create a model under the namespace {namespace}")
        repo_id = f"{namespace}/{name}"
        url = f"{self.endpoint}/{repo_id}"
        private = body.get("visibility") == "private" or body.get("private") is True
        try:
            self.storage.create_repo(repo_id, private)
        except HubError as err:
            err.extra["url"] = url  # the client reads `url` from the 409 body when `exist_ok=True`
            raise
        return json_response({"url": url, "name": repo_id, "id": repo_id})

    def _list_models(self, req: Request) -> Response:
        """The model repos of `author` the caller may see, with the fields `ModelInfo` needs."""
        author = req.query.get("author")
        visible = [
            repo
            for repo in self.storage.repos()
            if (author is None or repo.namespace == author)
            and (not repo.private or (req.user is not None and req.user.can_write(repo.namespace)))
        ]
        main = [(repo, self._commit(repo, "main")) for repo in sorted(visible, key=lambda repo: repo.repo_id)]
        return json_response(
            [{"id": repo.repo_id, "author": repo.namespace, "private": repo.private, "sha": c.id} for repo, c in main]
        )

    def _delete_repo(self, req: Request) -> Response:  # HfApi.delete_repo
        body = req.json() or {}
        namespace = body.get("organization") or (req.user.name if req.user else "")
        repo = self._writable(req, [namespace, body.get("name") or ""])
        self.storage.delete_repo(repo)
        return json_response({})

    def _info(self, req: Request, repo: Repo, commit: Commit) -> Response:  # ModelInfo(**data)
        with_blobs = req.flag("blobs")
        siblings = []
        for path, entry in sorted(commit.files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if with_blobs:
                sibling.update(size=entry.size, blobId=entry.blob_id)
                if entry.lfs:
                    sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": entry.pointer_size}
            siblings.append(sibling)
        return json_response(
            {
                "id": repo.repo_id,
                "author": repo.namespace,
                "sha": commit.id,
                "lastModified": commit.date,
                "createdAt": repo.created_at,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "siblings": siblings,
            }
        )

    def _tree(self, req: Request, commit: Commit, path: str) -> Response:  # RepoFile(**item) / RepoFolder(**item)
        prefix = f"{path}/" if path else ""
        below = {p: e for p, e in commit.files.items() if p.startswith(prefix)}
        if path and not below:
            raise HubError(404, f"Entry not found: '{path}'", "EntryNotFound")
        items: dict[str, dict] = {}
        for file_path, entry in below.items():
            parts = file_path[len(prefix) :].split("/")
            depth = len(parts) if req.flag("recursive") else 1
            for i in range(1, min(depth, len(parts) - 1) + 1):
                folder = prefix + "/".join(parts[:i])
                items.setdefault(folder, _folder_json(commit, folder))
            if len(parts) <= depth:
                items[file_path] = _file_json(file_path, entry)
        return json_response([items[p] for p in sorted(items)])

    def _refs(self, req: Request, repo: Repo) -> Response:  # HfApi.list_repo_refs
        def ref_json(name: str, ref: str) -> dict:
            return {"name": name, "ref": ref, "targetCommit": repo.refs[name]}

        data: dict[str, list] = {
            "branches": [ref_json(n, f"refs/heads/{n}") for n in repo.refs if not n.startswith("refs/")],
            "converts": [],
            "tags": [],
        }
        if req.flag("include_prs"):
            data["pullRequests"] = [ref_json(n, n) for n in repo.refs if n.startswith("refs/pr/")]
        return json_response(data)

    # -- uploads ------------------------------------------------------------------------------------------------

    def _preupload(self, req: Request, repo: Repo, commit: Commit) -> Response:
        """Upload mode per file, and the `oid` of the file already at this revision. That `oid` (sha256 for LFS, git
        blob id for regular files) is what lets `create_commit` drop unchanged files and skip an empty commit
        altogether. No `.gitignore` rules: hubgen's repositories have none."""
        body = req.json() or {}
        gitattributes = self._text_at(commit, ".gitattributes")
        files = []
        for item in body.get("files", []):
            path, size = item["path"], int(item["size"])
            try:
                sample = base64.b64decode(item.get("sample", ""), validate=True)
            except binascii.Error as err:
                raise HubError(400, f"Invalid sample for '{path}'") from err
            info = {
                "path": path,
                "uploadMode": decide_upload_mode(path, size, sample, gitattributes),
                "shouldIgnore": False,
            }
            if path in commit.files:
                info["oid"] = commit.files[path].preupload_oid
            files.append(info)
        return json_response({"files": files, "commitOid": commit.id})

    def _text_at(self, commit: Commit, path: str) -> str:
        entry = commit.files.get(path)
        return self.storage.read_blob(entry).decode("utf-8", "replace") if entry else ""

    def _lfs_batch(self, req: Request, repo: Repo) -> Response:
        """Git LFS batch API, `basic` transfer only: the client uses multipart only when the server sends a
        `chunk_size`, which this one never does."""
        body = req.json() or {}
        if body.get("operation") != "upload":
            raise HubError(422, "Only the LFS 'upload' operation is supported")
        ref = (body.get("ref") or {}).get("name")
        if ref is not None:
            self._commit(repo, ref)
        objects = []
        for obj in body.get("objects", []):
            oid, size = str(obj.get("oid")), int(obj.get("size", -1))
            item: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not _SHA256.fullmatch(oid) or size < 0:
                item["error"] = {"code": 422, "message": "Invalid oid or size"}
            elif not self.storage.has_lfs_object(repo, oid):  # already uploaded -> no "actions": client skips it
                ticket = secrets.token_urlsafe(24)
                with self._uploads_lock:
                    self._uploads[ticket] = (repo, oid, size)
                base = f"{self.endpoint}/{repo.repo_id}.git/info/lfs/objects"
                item["actions"] = {
                    "upload": {"href": f"{self.endpoint}/_local_hub/lfs-upload/{ticket}"},
                    "verify": {"href": f"{base}/verify"},
                }
            objects.append(item)
        return json_response({"transfer": "basic", "objects": objects}, content_type="application/vnd.git-lfs+json")

    def _lfs_upload(self, req: Request, ticket: str) -> Response:
        with self._uploads_lock:
            upload = self._uploads.get(ticket)
        if upload is None:
            raise HubError(403, "Unknown upload URL")
        repo, oid, size = upload
        self.storage.store_lfs_upload(repo, req.body.chunks(), oid, size)
        return Response(200)

    def _lfs_verify(self, req: Request, repo: Repo) -> Response:  # lfs.lfs_upload, step 3
        body = req.json() or {}
        oid = str(body.get("oid"))
        if not self.storage.has_lfs_object(repo, oid):
            raise HubError(404, f"LFS object {oid} not found")
        if self.storage.blob_path(oid).stat().st_size != body.get("size"):
            raise HubError(422, f"Size mismatch for LFS object {oid}")
        return json_response({"success": True})

    def _create_commit(self, req: Request, repo: Repo, revision: str) -> Response:
        """NDJSON commit: a `header` line, then `file` / `lfsFile` lines (hubgen never deletes files)."""
        try:
            lines = [json.loads(line) for line in req.body.read().splitlines() if line.strip()]
        except ValueError as err:
            raise HubError(400, "Commit payload is not valid NDJSON") from err
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "Commit payload must start with a header line")
        header = lines[0]["value"]
        operations = [_parse_operation(line) for line in lines[1:]]
        create_pr = req.flag("create_pr")
        if header.get("parentCommit") is not None:
            raise HubError(400, "LocalHub does not implement parent_commit")
        with self.storage.lock:  # base revision, PR number and new commit must not interleave with another commit
            base = self._commit(repo, revision)
            if create_pr:
                target = f"refs/pr/{repo.next_pr_number()}"
            else:
                target = revision.removeprefix("refs/heads/")
                if target not in repo.refs:
                    raise HubError(400, f"Cannot commit to '{revision}': not a branch or pull request ref")
            commit = self.storage.commit(
                repo,
                base=base,
                target_ref=target,
                operations=operations,
                title=header.get("summary") or "",
                message=header.get("description") or "",
                author=req.user.name if req.user else "",
            )
        repo_url = f"{self.endpoint}/{repo.repo_id}"
        data = {"success": True, "commitOid": commit.id, "commitUrl": f"{repo_url}/commit/{commit.id}"}
        if create_pr:
            data["pullRequestUrl"] = f"{repo_url}/discussions/{target.rsplit('/', 1)[1]}"
        return json_response(data)

    # -- downloads ----------------------------------------------------------------------------------------------

    def _resolve(self, req: Request, repo: Repo, revision: str, path: str) -> Response:
        """`/{repo}/resolve/{revision}/{path}`: what `get_hf_file_metadata` (HEAD) and `http_get` (GET) need.
        Served directly (no redirect to a CDN); `X-Repo-Commit` is set on 404s too, the client caches misses by it.
        `Range` is ignored: the client only sends it to resume, and restarts from zero on a 200."""
        commit = self._commit(repo, revision)
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: '{path}'", "EntryNotFound", {"X-Repo-Commit": commit.id})
        etag = f'"{entry.sha256 if entry.lfs else entry.blob_id}"'
        headers = {"X-Repo-Commit": commit.id, "ETag": etag, "Content-Type": "application/octet-stream"}
        if entry.lfs:
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": str(entry.size)})
        return Response(headers=headers, file=self.storage.blob_path(entry.sha256), length=entry.size)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_namespace(user: LocalUser | None, namespace: str, action: str) -> None:
    if user is None:
        raise HubError(401, _NOT_AUTHENTICATED)
    if not user.can_write(namespace):
        raise HubError(403, f"You don't have the rights to {action}")


def _route_not_found(req: Request) -> HubError:
    path = "/".join(req.segments)
    hint = " (LocalHub does not implement Xet: set HF_HUB_DISABLE_XET=1)" if "xet" in path.lower() else ""
    return HubError(404, f"LocalHub has no route for {req.method} /{path}{hint}")


def _parse_operation(line: dict) -> CommitOperation:
    key, value = line.get("key"), line.get("value") or {}
    path = value.get("path", "")
    if key == "file":
        content = value.get("content", "")
        if value.get("encoding") == "base64":
            return AddFile(path, base64.b64decode(content))
        return AddFile(path, content.encode())
    if key == "lfsFile":
        if value.get("algo", "sha256") != "sha256" or not _SHA256.fullmatch(str(value.get("oid"))):
            raise HubError(400, f"Invalid LFS reference for '{path}'")
        return AddLfsFile(path, value["oid"], value.get("size"))
    raise HubError(400, f"Unknown commit operation: {key!r}")


def _file_json(path: str, entry: FileEntry) -> dict:
    item = {"type": "file", "oid": entry.blob_id, "size": entry.size, "path": path}
    if entry.lfs:
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    return item


def _folder_json(commit: Commit, folder: str) -> dict:
    """A folder entry; its id is a digest of the files below it (stands in for a git tree id)."""
    below = sorted((p, e.blob_id) for p, e in commit.files.items() if p.startswith(f"{folder}/"))
    return {
        "type": "directory",
        "oid": hashlib.sha1(json.dumps(below).encode()).hexdigest(),
        "size": 0,
        "path": folder,
    }


def _commit_json(commit: Commit) -> dict:
    return {
        "id": commit.id,
        "title": commit.title,
        "message": commit.message,
        "date": commit.date,
        "authors": [{"user": commit.author}],
    }
