"""Everything hubgen asks of the Hub: who the token belongs to, where a repository goes, and one commit to push it.

huggingface_hub does the work; this module turns its answers into hubgen's decisions and its errors into one clear
line (never with the token in it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import HfHubHTTPError, HFValidationError, RepositoryNotFoundError
from huggingface_hub.utils import validate_repo_id

from hubgen.errors import HubAccessError, InvalidInputError

OFFICIAL_ENDPOINT = "https://huggingface.co"


def endpoint() -> str:
    """The Hub in use: HF_ENDPOINT if set (read by huggingface_hub at import), else huggingface.co."""
    return os.environ.get("HF_ENDPOINT", constants.ENDPOINT).rstrip("/")


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
    except HfHubHTTPError as error:
        raise HubAccessError(
            f"{endpoint()} rejected the token ({_status(error)})", "check HF_TOKEN or run `hf auth login` again"
        ) from None
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise HubAccessError(
            f"cannot reach {endpoint()} ({type(error).__name__}: {error})", "check your connection and HF_ENDPOINT"
        ) from None
    return Account(info["name"], tuple(org["name"] for org in info.get("orgs") or ()))


def default_repo_name(base_name: str, max_length: int, is_lsg: bool) -> str:
    """`lsg-<base>-<length>`; an LSG base (lsg-bert-base-4096) keeps its own stem instead of doubling the prefix."""
    stem = base_name
    if is_lsg:
        stem = re.sub(r"-\d+$", "", stem.removeprefix("lsg-"))
    return f"lsg-{stem}-{max_length}"


def target_repo_id(
    repo_id: str | None, org: str | None, account: Account, base_name: str, max_length: int, is_lsg: bool
) -> str:
    """The repository to push to, checked for form and for write access before any work is done."""
    repo_id = repo_id or f"{org or account.name}/{default_repo_name(base_name, max_length, is_lsg)}"
    check_repo_id_form(repo_id)
    namespace = repo_id.split("/")[0]
    if namespace not in account.namespaces:
        raise HubAccessError(
            f"the token of {account.name} cannot write to {namespace}/",
            f"use --repo-id under {', '.join(n + '/' for n in account.namespaces)} or a token with access",
        )
    return repo_id


def check_repo_id_form(repo_id: str) -> None:
    try:
        validate_repo_id(repo_id)
    except HFValidationError as error:
        raise InvalidInputError(
            f"--repo-id {repo_id!r} is not a valid repository id ({error})", "use org/name"
        ) from None
    if "/" not in repo_id:
        raise InvalidInputError(f"--repo-id {repo_id!r} has no namespace", "use org/name, e.g. my-user/lsg-bert-4096")


@dataclass(frozen=True)
class PushResult:
    repo_id: str
    url: str
    commit: str | None
    pr_url: str | None
    changed: bool
    created: bool


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

    A repository created here is deleted again if the upload fails, so a failed publish leaves nothing on the Hub.
    """
    try:
        existed = client.repo_exists(repo_id)
        if not existed:
            client.create_repo(repo_id, private=private, exist_ok=True)
        try:
            head = _head(client, repo_id, revision) if existed else None
            if revision and existed and head is None:
                client.create_branch(repo_id, branch=revision, exist_ok=True)
            commit = client.upload_folder(
                folder_path=folder,
                repo_id=repo_id,
                revision=revision,
                commit_message=commit_message or f"Publish {repo_id} with hubgen",
                create_pr=create_pr,
            )
        except BaseException:
            if not existed:
                client.delete_repo(repo_id, missing_ok=True)
            raise
    except HfHubHTTPError as error:
        raise HubAccessError(
            f"{endpoint()} refused the upload to {repo_id} ({_status(error)})",
            "check that the token has write access to this namespace",
        ) from None
    except Exception as error:  # noqa: BLE001 - connection failures; nothing was committed
        raise HubAccessError(
            f"the upload to {repo_id} failed ({type(error).__name__}: {error})", "check your connection and retry"
        ) from None
    pr_url = getattr(commit, "pr_url", None)
    changed = bool(pr_url) if create_pr else commit.oid != head
    url = f"{endpoint()}/{repo_id}" + (f"/tree/{revision}" if revision else "")
    return PushResult(repo_id, pr_url or url, commit.oid, pr_url, changed, not existed)


def _head(client: HfApi, repo_id: str, revision: str | None) -> str | None:
    try:
        return client.repo_info(repo_id, revision=revision).sha
    except (RepositoryNotFoundError, HfHubHTTPError):
        return None


def _status(error: HfHubHTTPError) -> str:
    response = getattr(error, "response", None)
    code = getattr(response, "status_code", None)
    return f"HTTP {code}" if code else type(error).__name__
