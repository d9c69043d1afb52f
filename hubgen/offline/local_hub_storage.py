"""Repositories, git-like history and blob storage behind :class:`hubgen.offline.local_hub.LocalHub`.

This module knows nothing about HTTP. It keeps what the Hub keeps for a repository (refs pointing at commits,
commits holding a full file tree, file contents stored by sha256) and applies the Hub's rules for deciding
whether a file travels as a regular git blob or through LFS. Everything is persisted under one directory so that a
hub restarted on the same directory (e.g. between two runs of the offline demo) sees the same repositories.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Literal

UploadMode = Literal["lfs", "regular"]

#: Regular (non-LFS) files are capped at 10 MiB on the Hub: anything larger must go through LFS.
REGULAR_FILE_MAX_SIZE = 10 * 1024 * 1024

#: Patterns of the `.gitattributes` the Hub writes in the initial commit of every new repository. They are what makes
#: `*.safetensors`, `*.bin`, ... go through LFS even when they are tiny.
DEFAULT_LFS_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm", "*.xz",
    "*.zip", "*.zst", "*tfevents*",
)  # fmt: skip
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in DEFAULT_LFS_PATTERNS).encode()

_PR_REF = re.compile(r"refs/pr/(\d+)")
_FULL_COMMIT_ID = re.compile(r"[0-9a-f]{40}")


class HubError(Exception):
    """An error the server reports to the client: HTTP status, a message and the Hub's `X-Error-Code` if any.

    Messages are built from repository ids and paths only, never from request headers, so they cannot leak a token.
    """

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = headers or {}
        #: Extra fields of the JSON error body (e.g. `url` on a 409 from repo creation).
        self.extra: dict[str, str] = {}


def utc_now() -> str:
    """Timestamp in the one format the client's `parse_datetime` accepts."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def git_blob_id(data: bytes) -> str:
    """Git object id of a blob (`git hash-object`): what the client compares regular files against."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that git stores in place of an LFS file's content."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class FileEntry:
    """One file of a commit's tree. Content lives in the blob store under `sha256`."""

    sha256: str
    size: int
    lfs: bool
    #: Git blob id: of the content for regular files, of the LFS pointer for LFS files (as in a real git repo).
    blob_id: str

    @classmethod
    def create(cls, sha256: str, size: int, lfs: bool, content: bytes | None = None) -> FileEntry:
        """Build an entry, computing the git blob id (regular files need their `content` for that)."""
        if lfs:
            return cls(sha256, size, True, git_blob_id(lfs_pointer(sha256, size)))
        assert content is not None, "regular files need their content to compute the git blob id"
        return cls(sha256, size, False, git_blob_id(content))

    @property
    def preupload_oid(self) -> str:
        """The id the client compares with its local file to skip unchanged files (see `CommitOperationAdd._local_oid`):
        sha256 of the content for LFS files, git blob id for regular files."""
        return self.sha256 if self.lfs else self.blob_id

    @property
    def pointer_size(self) -> int:
        return len(lfs_pointer(self.sha256, self.size))


@dataclass(frozen=True)
class Commit:
    """A commit: its whole file tree (small repos, so no tree sharing), its parent and its message."""

    id: str
    parent: str | None
    title: str
    message: str
    author: str
    date: str
    files: dict[str, FileEntry]

    def to_json(self) -> dict:
        return {**vars(self), "files": {p: [e.sha256, e.size, e.lfs, e.blob_id] for p, e in self.files.items()}}

    @classmethod
    def from_json(cls, data: dict) -> Commit:
        return cls(**{**data, "files": {p: FileEntry(*entry) for p, entry in data["files"].items()}})

    @classmethod
    def create(cls, parent: str | None, title: str, message: str, author: str, files: dict[str, FileEntry]) -> Commit:
        """Make a commit whose id is a sha1 over its parent, metadata and tree, like a git commit id."""
        date = utc_now()
        digest_input = json.dumps(
            [parent, title, message, author, date, sorted((p, e.sha256, e.lfs) for p, e in files.items())]
        )
        return cls(hashlib.sha1(digest_input.encode()).hexdigest(), parent, title, message, author, date, files)


@dataclass
class Repo:
    """A model repository: refs (`main`, `refs/pr/N`) pointing into a set of commits, and the LFS objects uploaded
    to it."""

    repo_id: str
    private: bool
    created_at: str
    refs: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    #: sha256 of the LFS objects uploaded *to this repo*: a commit may only reference those (as on the Hub).
    lfs_objects: set[str] = field(default_factory=set)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    def resolve(self, revision: str) -> Commit | None:
        """Commit for a branch name, `refs/heads/<branch>`, `refs/pr/N` or a full commit id; None if unknown."""
        revision = revision.removeprefix("refs/heads/")
        if revision in self.refs:
            return self.commits[self.refs[revision]]
        if _FULL_COMMIT_ID.fullmatch(revision):
            return self.commits.get(revision)
        return None

    def history(self, commit: Commit) -> list[Commit]:
        """`commit` and its ancestors, newest first (what `list_repo_commits` returns)."""
        out = [commit]
        while out[-1].parent is not None:
            out.append(self.commits[out[-1].parent])
        return out

    def next_pr_number(self) -> int:
        numbers = [int(m[1]) for ref in self.refs if (m := _PR_REF.fullmatch(ref))]
        return max(numbers, default=0) + 1

    def to_json(self) -> dict:
        commits = [c.to_json() for c in self.commits.values()]
        return {**vars(self), "commits": commits, "lfs_objects": sorted(self.lfs_objects)}

    @classmethod
    def from_json(cls, data: dict) -> Repo:
        commits = {c["id"]: Commit.from_json(c) for c in data["commits"]}
        return cls(**{**data, "commits": commits, "lfs_objects": set(data["lfs_objects"])})


@dataclass(frozen=True)
class AddFile:
    """Commit operation: add or replace a regular file (content inline, as the commit endpoint sends it)."""

    path: str
    content: bytes


@dataclass(frozen=True)
class AddLfsFile:
    """Commit operation: add or replace a file whose content was uploaded beforehand through LFS."""

    path: str
    sha256: str
    size: int | None


CommitOperation = AddFile | AddLfsFile


def _match_pattern(pattern: str, path: str) -> bool:
    """gitattributes-style match: a pattern without `/` matches the file name at any depth."""
    pattern = pattern.lstrip("/")
    if "/" not in pattern:
        return fnmatch.fnmatchcase(PurePosixPath(path).name, pattern)
    return fnmatch.fnmatchcase(path, pattern.replace("**/", "*"))


def lfs_patterns(gitattributes: str) -> list[str]:
    """Patterns tracked by LFS in a `.gitattributes` text (lines carrying `filter=lfs`)."""
    out = []
    for line in gitattributes.splitlines():
        parts = line.split()
        if len(parts) > 1 and not parts[0].startswith("#") and "filter=lfs" in parts[1:]:
            out.append(parts[0])
    return out


def looks_binary(sample: bytes, truncated: bool) -> bool:
    """The Hub's sample test: NUL bytes or invalid UTF-8 mean binary. A sample cut at 512 bytes may end inside a
    multi-byte character, which must not count as invalid."""
    if b"\0" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return not (truncated and err.reason == "unexpected end of data")
    return False


def decide_upload_mode(path: str, size: int, sample: bytes, gitattributes: str) -> UploadMode:
    """Regular vs LFS as the Hub's preupload endpoint decides it: LFS if `.gitattributes` tracks the path, if the file
    is over the regular-file limit, or if its first 512 bytes look binary."""
    if any(_match_pattern(p, path) for p in lfs_patterns(gitattributes)):
        return "lfs"
    if size > REGULAR_FILE_MAX_SIZE:
        return "lfs"
    return "lfs" if looks_binary(sample, truncated=size > len(sample)) else "regular"


def validate_repo_path(path: str) -> str:
    """Reject paths that could escape the repository or touch `.git`."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts):
        raise HubError(400, f"Invalid path in repository: '{path}'")
    return path


class HubStorage:
    """All repositories of a hub and the blob store, persisted under `root`.

    Layout: `blobs/<sha256>` (file contents, shared by all repos), `repos/<namespace>/<name>.json` (refs, commits
    and LFS objects of one repo), `tmp/` (uploads in progress). One lock serialises all state changes;
    request handling is concurrent but a local test hub does not need more.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.lock = threading.RLock()
        self._repos: dict[str, Repo] = {}
        for sub in ("blobs", "repos", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for partial in (self.root / "tmp").iterdir():  # uploads cut short when a previous server stopped
            partial.unlink()
        for meta in (self.root / "repos").glob("*/*.json"):
            repo = Repo.from_json(json.loads(meta.read_text()))
            self._repos[repo.repo_id] = repo

    # -- repositories -------------------------------------------------------------------------------------------

    def get(self, repo_id: str) -> Repo | None:
        return self._repos.get(repo_id)

    def repos(self) -> list[Repo]:
        with self.lock:
            return list(self._repos.values())

    def create_repo(self, repo_id: str, private: bool) -> Repo:
        """Create a repo with the Hub's "initial commit" by `system` holding the default `.gitattributes`."""
        with self.lock:
            if self.get(repo_id) is not None:
                raise HubError(409, "You already created this model repo")
            repo = Repo(repo_id, private, utc_now())
            entry = self.store_bytes(DEFAULT_GITATTRIBUTES, lfs=False)
            initial = Commit.create(None, "initial commit", "", "system", {".gitattributes": entry})
            repo.commits[initial.id] = initial
            repo.refs["main"] = initial.id
            self._repos[repo_id] = repo
            self._save(repo)
            return repo

    def delete_repo(self, repo: Repo) -> None:
        with self.lock:
            self._repos.pop(repo.repo_id, None)
            (self.root / "repos" / f"{repo.repo_id}.json").unlink(missing_ok=True)

    def create_branch(self, repo: Repo, branch: str, start: Commit) -> None:
        """A new ref at `start`; 409 if it exists, as on the Hub (the client's `exist_ok` relies on it)."""
        with self.lock:
            if branch in repo.refs or _PR_REF.fullmatch(branch):
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")
            repo.refs[branch] = start.id
            self._save(repo)

    def _save(self, repo: Repo) -> None:
        target = self.root / "repos" / f"{repo.repo_id}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(repo.to_json()))
        os.replace(tmp, target)

    # -- blobs --------------------------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256

    def read_blob(self, entry: FileEntry) -> bytes:
        return self.blob_path(entry.sha256).read_bytes()

    def store_bytes(self, data: bytes, lfs: bool) -> FileEntry:
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.blob_path(sha256)
        if not path.exists():
            self._write_atomically(path, [data])
        return FileEntry.create(sha256, len(data), lfs, data)

    def store_lfs_upload(self, repo: Repo, chunks: Iterable[bytes], sha256: str, size: int) -> None:
        """Store an LFS upload after checking it is the announced object (same sha256 and size)."""
        digest = hashlib.sha256()
        total = 0

        def hashed() -> Iterator[bytes]:
            nonlocal total
            for chunk in chunks:
                digest.update(chunk)
                total += len(chunk)
                yield chunk

        tmp = self._write_atomically(None, hashed())
        if digest.hexdigest() != sha256 or total != size:
            tmp.unlink()
            raise HubError(400, "Uploaded content does not match the announced sha256 and size")
        os.replace(tmp, self.blob_path(sha256))
        with self.lock:
            repo.lfs_objects.add(sha256)
            self._save(repo)

    def _write_atomically(self, target: Path | None, chunks: Iterable[bytes]) -> Path:
        """Write chunks to a temp file, then move it to `target` (or return the temp path if `target` is None)."""
        fd, name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
        except BaseException:  # a client that dropped the connection mid-upload leaves nothing behind
            os.unlink(name)
            raise
        if target is None:
            return Path(name)
        os.replace(name, target)
        return target

    def has_lfs_object(self, repo: Repo, sha256: str) -> bool:
        return sha256 in repo.lfs_objects and self.blob_path(sha256).exists()

    # -- commits ------------------------------------------------------------------------------------------------

    def commit(
        self,
        repo: Repo,
        *,
        base: Commit,
        target_ref: str,
        operations: list[CommitOperation],
        title: str,
        message: str,
        author: str,
    ) -> Commit:
        """Apply `operations` on top of `base` and point `target_ref` at the new commit (created even if empty: the
        client never sends an empty commit, see `HfApi.create_commit`)."""
        with self.lock:
            files = dict(base.files)
            for op in operations:
                path = validate_repo_path(op.path)
                if isinstance(op, AddFile):
                    files[path] = self.store_bytes(op.content, lfs=False)
                    continue
                if not self.has_lfs_object(repo, op.sha256):
                    raise HubError(422, f"LFS object {op.sha256} for '{path}' was not uploaded to this repo")
                size = self.blob_path(op.sha256).stat().st_size
                if op.size is not None and op.size != size:
                    raise HubError(422, f"Size mismatch for LFS file '{path}'")
                files[path] = FileEntry.create(op.sha256, size, lfs=True)
            commit = Commit.create(base.id, title, message, author, files)
            repo.commits[commit.id] = commit
            repo.refs[target_ref] = commit.id
            self._save(repo)
            return commit
