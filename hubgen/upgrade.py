"""`hubgen upgrade`: bring an existing LSG repository (a Hub id or a folder) up to date in place, in one commit.

The order keeps failures cheap and the repository untouched until everything passed: the token and where the commit
goes, the download (config, weights, tokenizer and card; never the repository's own code, which hubgen does not run),
the plan (hubgen.upgrade_plan), the weights loaded into hubgen's class (nothing may be missing or unexpected, unless
the user asks for them to be re-saved), the smoke tests of the upgraded copy in a fresh process, and only then the
changed files, pushed alone: every other file keeps its bytes.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from huggingface_hub import HfApi, get_token, snapshot_download
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from huggingface_hub.utils.sha import git_hash

from hubgen import __version__, hub
from hubgen.checkpoint import BaseCheckpoint, open_checkpoint
from hubgen.errors import HubAccessError, InvalidInputError, SmokeTestError
from hubgen.quiet_loading import quiet_transformers
from hubgen.registry import ModelType
from hubgen.render import import_modeling_file
from hubgen.repository import ConvertedRepository
from hubgen.smoke import run_smoke
from hubgen.smoke_report import SmokeReport
from hubgen.upgrade_plan import FileChange, RepositoryState, plan_changes


@dataclass(frozen=True)
class UpgradeRequest:
    source: str
    revision: str | None = None
    create_pr: bool | None = None  # None: a pull request when the token cannot write to the repository
    commit_message: str | None = None
    dry_run: bool = False
    token: str | None = None
    resave_weights: bool = False


@dataclass(frozen=True)
class WeightsCheck:
    """How the stored weights load into hubgen's class of the repository's architecture."""

    class_name: str
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return not self.missing and not self.unexpected


@dataclass(frozen=True)
class UpgradeResult:
    source: str
    repo_id: str | None
    model_type: ModelType
    changes: list[FileChange]
    weights: WeightsCheck | None = None
    smoke: SmokeReport | None = None
    push: hub.PushResult | None = None
    open_pull_request: str | None = None  # a pull request that already holds this very upgrade
    written: bool = False  # a folder upgraded in place

    @property
    def up_to_date(self) -> bool:
        return not self.changes


@dataclass(frozen=True)
class _Target:
    """Where the result goes: a folder, or a repository through `client` (None for a dry run without a token)."""

    repo_id: str | None
    client: HfApi | None
    create_pr: bool = False


class WeightsMismatch(InvalidInputError):
    """The stored weights do not load exactly into hubgen's class; nothing was written."""

    def __init__(self, source: str, check: WeightsCheck):
        parts = [f"unexpected: {', '.join(check.unexpected)}"] if check.unexpected else []
        parts += [f"missing (would be initialised at random): {', '.join(check.missing)}"] if check.missing else []
        super().__init__(
            f"the weights of {source} do not load exactly into {check.class_name} ({'; '.join(parts)})",
            "rerun with --resave-weights to write model.safetensors as hubgen's class loads it (the other files keep "
            "their bytes)",
        )
        self.check = check


def upgrade(request: UpgradeRequest, report: Callable[[str], None] = lambda step: None) -> UpgradeResult:
    target = _target(request, report)
    report(f"reading {request.source}")
    checkpoint = open_checkpoint(request.source, token=request.token, revision=request.revision)
    if not checkpoint.is_lsg:
        raise InvalidInputError(
            f"{request.source} is not an LSG repository (its config names no modeling_lsg_* code)",
            "`hubgen publish` or `hubgen convert` make a long-context model from an ordinary checkpoint",
        )
    repository = ConvertedRepository.read(checkpoint.directory)
    state = _state(checkpoint, target)
    model_type = repository.model_type
    changes = plan_changes(model_type, state)
    if not changes:
        return UpgradeResult(request.source, target.repo_id, model_type, [])
    if target.create_pr:
        proposed = _pull_request_with(target.client, target.repo_id, changes)
        if proposed:
            return UpgradeResult(request.source, target.repo_id, model_type, changes, open_pull_request=proposed)
    with _staged(checkpoint.directory, changes) as staging:
        report("loading the weights into hubgen's class")
        changes, weights = _checked_weights(request, staging, repository, state, changes)
        report("running the smoke tests of the upgraded copy in a fresh process")
        smoke = run_smoke(ConvertedRepository.read(staging))
        if not smoke.ok:
            failed = "; ".join(f"{check['name']}: {check['detail']}" for check in smoke.checks if not check["ok"])
            raise SmokeTestError(
                f"the upgraded copy of {request.source} failed its smoke tests, nothing was written ({failed})",
                "the repository may hold files its config does not describe; otherwise please report this to hubgen",
            )
        result = UpgradeResult(request.source, target.repo_id, model_type, changes, weights, smoke)
        if request.dry_run:
            return result
        if target.repo_id is None:
            for change in changes:
                change.write(checkpoint.directory)
            return replace(result, written=True)
        return _push(request, target, result, staging.parent / "upload", report)


def _checked_weights(
    request: UpgradeRequest,
    staging: Path,
    repository: ConvertedRepository,
    state: RepositoryState,
    changes: list[FileChange],
) -> tuple[list[FileChange], WeightsCheck]:
    """The weights as hubgen's class loads them: kept when exact, else re-saved on request (the plan and the staged
    copy then include them), else the upgrade stops."""
    weights = _check_weights(request.source, staging, repository)
    if weights.exact:
        return changes, weights
    if not request.resave_weights:
        raise WeightsMismatch(request.source, weights)
    resaved = _resave_weights(staging, repository, weights, staging.parent / "resaved")
    changes = plan_changes(repository.model_type, state, extra=resaved)
    for change in changes:
        change.write(staging)
    return changes, weights


def _target(request: UpgradeRequest, report: Callable[[str], None]) -> _Target:
    """A folder, or the repository with a client; the write access decides between a commit and a pull request."""
    if Path(request.source).expanduser().is_dir():
        if request.create_pr or request.revision:
            raise InvalidInputError(
                f"{request.source} is a folder: --create-pr and --revision apply to Hub repositories",
                "pass a repository id, or leave them out to upgrade the folder in place",
            )
        return _Target(None, None)
    try:
        validate_repo_id(request.source)
    except HFValidationError:
        raise InvalidInputError(
            f"{request.source!r} is neither a folder nor a repository id", "pass a folder or an id like org/name"
        ) from None
    if request.dry_run and not (request.token or get_token()):
        return _Target(request.source, None)
    report(f"checking access to {hub.shown_endpoint()}")
    client = hub.api(hub.resolve_token(request.token))
    account = hub.whoami(client)
    namespace = request.source.split("/")[0]
    writable = namespace in account.namespaces
    if request.create_pr is False and not writable:
        raise HubAccessError(
            f"the token of {account.name} cannot write to {namespace}/",
            "leave out --no-create-pr to open a pull request instead, or use a token with write access",
        )
    return _Target(request.source, client, create_pr=request.create_pr or not writable)


def _state(checkpoint: BaseCheckpoint, target: _Target) -> RepositoryState:
    directory = checkpoint.directory
    if target.repo_id is None:
        # A folder: the blob ids of its code files, the only ones compared.
        blob_ids = {p.name: git_hash(p.read_bytes()) if p.suffix == ".py" else "" for p in directory.iterdir()}
    else:
        client = target.client or HfApi(endpoint=hub.endpoint())
        blob_ids = _blob_ids(client, checkpoint.reference, checkpoint.revision)
    return RepositoryState.read(checkpoint.config, directory, blob_ids)


def _blob_ids(client: HfApi, repo_id: str, revision: str | None) -> dict[str, str]:
    info = client.model_info(repo_id, revision=revision, files_metadata=True)
    return {sibling.rfilename: sibling.blob_id or "" for sibling in info.siblings or ()}


@contextmanager
def _staged(directory: Path, changes: list[FileChange]) -> Iterator[Path]:
    """The upgraded repository as a temporary folder: links to the files that stay, the changed files written out.
    No code file of the repository is carried over, so nothing can import it."""
    workspace = Path(tempfile.mkdtemp(prefix="hubgen-upgrade-"))
    staging = workspace / "repository"
    staging.mkdir()
    try:
        for path in directory.iterdir():
            if path.is_file() and path.suffix != ".py":
                (staging / path.name).symlink_to(path.resolve())
        for change in changes:
            change.write(staging)
        yield staging
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def _model_class(staging: Path, repository: ConvertedRepository) -> type:
    """hubgen's class for the repository's architecture, imported from the staged (new) modeling file."""
    model_type = repository.model_type
    module = import_modeling_file(staging / model_type.file_name, f"hubgen_upgrade_{model_type.module_name}")
    return getattr(module, model_type.class_name(repository.head))


def _check_weights(source: str, staging: Path, repository: ConvertedRepository) -> WeightsCheck:
    """Load the stored weights as users will, through transformers into hubgen's class, and report what did not fit."""
    model_class = _model_class(staging, repository)
    with quiet_transformers():
        try:
            _, info = model_class.from_pretrained(staging, output_loading_info=True)
        except (RuntimeError, ValueError, OSError) as error:
            raise InvalidInputError(
                f"the weights of {source} do not load into {model_class.__name__}: {error}",
                "check that the repository's weights belong to its config.json",
            ) from None
    return WeightsCheck(
        model_class.__name__, tuple(sorted(info["missing_keys"])), tuple(sorted(info["unexpected_keys"]))
    )


def _resave_weights(
    staging: Path, repository: ConvertedRepository, check: WeightsCheck, output: Path
) -> tuple[FileChange, ...]:
    """The weights as hubgen's class holds them after loading, in safetensors, in the stored dtype."""
    model_class = _model_class(staging, repository)
    with quiet_transformers():
        model = model_class.from_pretrained(staging, dtype="auto")
        model.save_pretrained(output, safe_serialization=True)
    dropped = f"drops {', '.join(check.unexpected)}" if check.unexpected else ""
    initialised = f"initialises {', '.join(check.missing)} at random" if check.missing else ""
    reason = "re-saved as hubgen's class loads the weights: " + "; ".join(
        part for part in (dropped, initialised) if part
    )
    files = sorted(path for path in output.iterdir() if path.name.startswith("model") and "safetensors" in path.name)
    present = {path.name for path in repository.folder.iterdir()}
    return tuple(FileChange(path.name, path, path.name not in present, reason) for path in files)


def _push(request: UpgradeRequest, target: _Target, result: UpgradeResult, upload: Path, report) -> UpgradeResult:
    """One commit (or pull request) holding the changed files only; none if an open pull request already has them."""
    if target.create_pr:
        existing = _pull_request_with(target.client, target.repo_id, result.changes)
        if existing:
            return replace(result, open_pull_request=existing)
    upload.mkdir()
    for change in result.changes:
        change.write(upload)
    report(f"pushing to {target.repo_id}" + (" as a pull request" if target.create_pr else ""))
    pushed = hub.push_folder(
        target.client,
        upload,
        target.repo_id,
        create_pr=target.create_pr,
        revision=request.revision,
        commit_message=request.commit_message or f"Upgrade the LSG modeling code (hubgen {__version__})",
    )
    return replace(result, push=pushed)


def _pull_request_with(client: HfApi, repo_id: str, changes: list[FileChange]) -> str | None:
    """The pull request ref whose files already equal every change (compared by git blob id or LFS sha256)."""
    wanted = {change.path: _digests(change.content) for change in changes}
    for ref in client.list_repo_refs(repo_id, include_pull_requests=True).pull_requests:
        info = client.model_info(repo_id, revision=ref.ref, files_metadata=True)
        held = {
            sibling.rfilename: {sibling.blob_id, sibling.lfs.sha256 if sibling.lfs else None}
            for sibling in info.siblings or ()
        }
        if all(held.get(path, set()) & digests for path, digests in wanted.items()):
            return ref.ref
    return None


def _digests(content: bytes | Path) -> set[str]:
    data = content.read_bytes() if isinstance(content, Path) else content
    return {git_hash(data), hashlib.sha256(data).hexdigest()}


# --- survey of an organisation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SurveyRow:
    repo_id: str
    model_type: str
    changes: list[str] = field(default_factory=list)

    @property
    def up_to_date(self) -> bool:
        return not self.changes


def survey(organisation: str, token: str | None = None) -> list[SurveyRow]:
    """The LSG repositories of an organisation and what `hubgen upgrade` would change in each (weights aside: that
    check needs them downloaded, which `hubgen upgrade REPO --dry-run` does)."""
    client = hub.api(token or get_token())
    try:
        models = [model.id for model in client.list_models(author=organisation)]
    except Exception as error:  # noqa: BLE001 - network failures come as many types (httpx, OSError, hub errors)
        raise HubAccessError(
            f"cannot list the models of {organisation} on {hub.shown_endpoint()} ({type(error).__name__})",
            "check the organisation name, your connection and HF_ENDPOINT",
        ) from None
    rows = []
    for repo_id in sorted(models):
        blob_ids = _blob_ids(client, repo_id, None)
        if "config.json" not in blob_ids:
            continue
        small = [name for name in ("config.json", "tokenizer_config.json", "README.md") if name in blob_ids]
        folder = Path(snapshot_download(repo_id, allow_patterns=small, token=client.token, endpoint=hub.endpoint()))
        try:
            repository = ConvertedRepository.read(folder)
        except InvalidInputError:
            continue  # not an LSG model of a type hubgen knows
        changes = plan_changes(repository.model_type, RepositoryState.read(repository.config, folder, blob_ids))
        rows.append(SurveyRow(repo_id, repository.model_type.name, [change.path for change in changes]))
    return rows
