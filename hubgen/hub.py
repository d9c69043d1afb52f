"""Everything hubgen asks of the Hub: who the token belongs to, where a repository goes, and one commit to push it.

huggingface_hub does the work; this module turns its answers into hubgen's decisions and its errors into one clear
line that says what the status code means and what is on the Hub afterwards (never with the token or the
endpoint's credentials in it).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError
from huggingface_hub.utils import disable_progress_bars, validate_repo_id

from hubgen.errors import HubAccessError, InvalidInputError
from hubgen.redaction import redact

OFFICIAL_ENDPOINT = "https://huggingface.co"


def endpoint() -> str:
    """The Hub in use: HF_ENDPOINT if set (read by huggingface_hub at import), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/")


def shown_endpoint() -> str:
    """The Hub in use as hubgen prints and writes it: without credentials (see `hubgen.redaction`)."""
    return redact(endpoint())


def api(token: str | None) -> HfApi:
    """A client for the Hub in use. Another endpoint than huggingface.co may not run Xet storage, and the client
    does not fall back to plain LFS uploads by itself, so Xet is turned off there. huggingface_hub 2.x reads the
    switch once, at import, into `constants`, so the constant is set as well as the variable (for child processes)."""
    address = endpoint()
    if address != OFFICIAL_ENDPOINT:
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        constants.HF_HUB_DISABLE_XET = True
    return HfApi(endpoint=address, token=token, library_name="hubgen")


def resolve_token(token: str | None) -> str:
    resolved = token or get_token()
    if not resolved:
        raise HubAccessError(
            "no Hugging Face token found", "set HF_TOKEN, run `hf auth login`, or pass --token (write access needed)"
        )
    return resolved


@dataclass(frozen=True)
class Account:
    name: str
    orgs: tuple[str, ...]

    @property
    def namespaces(self) -> tuple[str, ...]:
        return (self.name, *self.orgs)


def whoami(client: HfApi) -> Account:
    try:
        info = client.whoami()
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise failure(error, "checking the token") from None
    return Account(info["name"], tuple(org["name"] for org in info.get("orgs") or ()))


def default_repo_name(base_name: str, max_length: int, is_lsg: bool, prefix: str = "lsg") -> str:
    """`lsg-<base>-<length>` (`longformer-…`, `bigbird-…` for native targets); a base of the target's own kind
    (lsg-bert-base-4096) keeps its own stem instead of doubling the prefix."""
    stem = base_name
    if is_lsg:
        stem = re.sub(r"-\d+$", "", stem.removeprefix(f"{prefix}-"))
    return f"{prefix}-{stem}-{max_length}"


def target_repo_id(
    repo_id: str | None,
    org: str | None,
    account: Account,
    base_name: str,
    max_length: int,
    is_lsg: bool,
    prefix: str = "lsg",
) -> str:
    """The repository to push to, checked for form and for write access before any work is done."""
    derived = repo_id is None
    repo_id = repo_id or f"{org or account.name}/{default_repo_name(base_name, max_length, is_lsg, prefix)}"
    check_repo_id_form(repo_id, derived=derived)
    namespace = repo_id.split("/")[0]
    if namespace not in account.namespaces:
        raise HubAccessError(
            f"the token of {account.name} cannot write to {namespace}/",
            f"use --repo-id under {', '.join(n + '/' for n in account.namespaces)} or a token with access",
        )
    return repo_id


def check_repo_id_form(repo_id: str, derived: bool = False) -> None:
    """A repository id of the form the Hub accepts; `derived` ids come from the base's name, not from --repo-id."""
    what = f"the repository name {repo_id!r} made from the base's name" if derived else f"--repo-id {repo_id!r}"
    fix = "pass --repo-id ORG/NAME with a valid name" if derived else "use org/name, e.g. my-user/lsg-bert-4096"
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise InvalidInputError(f"{what} is not a valid repository id ({error})", fix) from None
    if "/" not in repo_id:
        raise InvalidInputError(f"{what} has no namespace", fix)


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    url: str
    commit: str | None
    pr_url: str | None
    changed: bool
    created: bool
    note: str | None = None


def push_folder(
    client: HfApi,
    folder: Path,
    repo_id: str,
    *,
    private: bool = False,
    create_pr: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
) -> PushResult:
    """Create the repository if needed and upload the folder as one commit (none at all if nothing changed).

    Whatever happens, the result or the error says what is on the Hub. After a failed upload the repository is read
    again, since the commit may have landed although its answer was lost; a repository this call created is deleted
    again only while it holds nothing but the Hub's initial commit (a concurrent publish may have committed to it
    meanwhile), and otherwise the error says what was left there.
    """
    branch = revision or "main"
    try:
        created = _create(client, repo_id, private)
        before = _refs(client, repo_id)
        if branch not in before:
            client.create_branch(repo_id, branch=branch, exist_ok=True)
            before = _refs(client, repo_id)
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise failure(error, f"preparing {repo_id}") from None
    try:
        with disable_progress_bars():  # hubgen shows its own steps; the client's bars would break its one-line output
            commit = client.upload_folder(
                folder_path=folder,
                repo_id=repo_id,
                revision=revision,
                commit_message=commit_message or f"Publish {repo_id} with hubgen",
                create_pr=create_pr,
            )
    except BaseException as error:
        landed, state = _after_failed_upload(client, folder, repo_id, before, branch, create_pr, created)
        if landed is None or not isinstance(error, Exception):
            if isinstance(error, Exception):
                raise failure(error, f"uploading to {repo_id}", state) from None
            raise
        ref, oid = landed
        note = f"the Hub's answer to the commit was lost ({_reason(error)}), but {repo_id} now holds it at {ref}"
        pr_url = f"{_url(repo_id)}/discussions/{ref.rsplit('/', 1)[1]}" if create_pr else None
        return PushResult(repo_id, pr_url or _url(repo_id, revision), oid, pr_url, True, created, note)
    pr_url = getattr(commit, "pr_url", None)
    changed = bool(pr_url) if create_pr else commit.oid != before[branch]
    return PushResult(repo_id, pr_url or _url(repo_id, revision), commit.oid, pr_url, changed, created)


def failure(error: Exception, action: str, state: str = "") -> HubAccessError:
    """One line for a failed request: what the status code means (5xx: the server failed; 401/403: the token),
    what was being done, and `state`, what is on the Hub now."""
    where = shown_endpoint()
    tail = f"; {state}" if state else ""
    while not isinstance(error, HfHubHTTPError) and isinstance(error.__cause__, Exception):
        error = error.__cause__  # the client wraps a failed LFS upload in a RuntimeError naming the file
    if not isinstance(error, HfHubHTTPError) or _status(error) is None:
        return HubAccessError(
            f"the connection to {where} failed while {action} ({_reason(error)}){tail}",
            "check your connection and HF_ENDPOINT, then retry",
        )
    code = _status(error)
    meaning, fix = _MEANINGS.get(code, (None, None))
    if code >= 500:
        meaning, fix = "a server error, not a problem with your token or files", "retry in a few minutes"
    if meaning is None:
        meaning, fix = (redact(error.server_message or "") or "refused"), "see the Hub's message"
    return HubAccessError(f"{where} answered HTTP {code} while {action} ({meaning}){tail}", fix)


# What a status code tells the user, and what to do about it.
_MEANINGS = {
    401: ("it rejected the token", "check HF_TOKEN or run `hf auth login` again"),
    403: (
        "the token is not allowed to do this",
        "use a token with write access to this namespace, or another --repo-id",
    ),
    404: ("not found, or not visible to this token", "check the repository id and the token"),
    409: ("conflict with the repository's current state", "retry; check the repository if it persists"),
    412: ("the branch moved while uploading", "run the command again"),
    429: ("too many requests", "wait a few minutes, then retry"),
}


def _create(client: HfApi, repo_id: str, private: bool) -> bool:
    """Create the repository; False if it existed, even when another process created it a moment ago (409)."""
    if client.repo_exists(repo_id):
        return False
    try:
        client.create_repo(repo_id, private=private)
    except HfHubHTTPError as error:
        if _status(error) == 409:
            return False
        raise
    return True


def _refs(client: HfApi, repo_id: str) -> dict[str, str]:
    """Branches by name, tags and pull requests by full ref (`refs/pr/1`), each with the commit it points at."""
    refs = client.list_repo_refs(repo_id, include_pull_requests=True)
    found = {ref.name: ref.target_commit for ref in refs.branches}
    found.update({ref.ref: ref.target_commit for ref in [*refs.tags, *(refs.pull_requests or ())]})
    return found


def _after_failed_upload(
    client: HfApi,
    folder: Path,
    repo_id: str,
    before: dict[str, str],
    branch: str,
    create_pr: bool,
    created: bool,
) -> tuple[tuple[str, str] | None, str]:
    """Read the repository again: where the commit landed (ref, commit) if it did, else what is left on the Hub."""
    try:
        after = _refs(client, repo_id)
        changed = [ref for ref, oid in after.items() if before.get(ref) != oid]
        wanted = [ref for ref in changed if ref.startswith("refs/pr/")] if create_pr else [branch]
        for ref in wanted:
            if ref in changed and _holds(client, repo_id, after[ref], folder):
                return (ref, after[ref]), ""
        if not created:
            return None, "nothing of this run was committed"
        return None, _clean_up(client, repo_id)
    except Exception as error:  # noqa: BLE001 - the Hub may still be unreachable
        return None, f"whether anything landed could not be checked ({_reason(error)}): look at {_url(repo_id)}"


def _holds(client: HfApi, repo_id: str, commit: str, folder: Path) -> bool:
    """Whether the repository holds every file of `folder`, byte for byte, at `commit`."""
    siblings = {s.rfilename: s for s in client.model_info(repo_id, revision=commit, files_metadata=True).siblings}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        remote = siblings.get(path.relative_to(folder).as_posix())
        if remote is None:
            return False
        sha256, blob_id = _digests(path)
        if (remote.lfs.sha256 if remote.lfs else remote.blob_id) != (sha256 if remote.lfs else blob_id):
            return False
    return True


def _digests(path: Path) -> tuple[str, str]:
    """sha256 (what LFS stores) and the git blob id (what regular files are known by) of a file."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def _clean_up(client: HfApi, repo_id: str) -> str:
    """Delete the repository this push created if it holds nothing but the Hub's initial commit; say what was done."""
    refs = _refs(client, repo_id)
    commits = client.list_repo_commits(repo_id)
    root = commits[-1].commit_id
    others = [commit for commit in commits if commit.commit_id != root]
    if not others and set(refs.values()) == {root}:
        client.delete_repo(repo_id, missing_ok=True)
        return f"nothing was committed, and {repo_id}, which this run had created, was deleted again"
    made = (
        f"{len(others)} commit(s) by others, the latest {others[0].title!r}"
        if others
        else "branches, tags or pull requests by others"
    )
    return (
        f"nothing of this run was committed; {repo_id}, which this run had created, was left as it is: it holds {made}"
    )


def _url(repo_id: str, revision: str | None = None) -> str:
    return f"{shown_endpoint()}/{repo_id}" + (f"/tree/{revision}" if revision else "")


def _reason(error: BaseException) -> str:
    text = redact(str(error).strip().splitlines()[0]) if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _status(error: HfHubHTTPError) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)
