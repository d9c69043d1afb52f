"""`hubgen publish`: validate, convert, smoke-test, write the card, push. Each step can stop the next.

The order is chosen so that a failure costs as little as possible and leaves nothing behind: what can be checked
offline is checked first, then the token and the target namespace, then the conversion, the smoke tests and the card
(all in a staging folder that becomes --out, or a temporary folder, only once complete), and only then the single
commit to the Hub. Nothing that can fail locally comes after the push.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi, get_token

from hubgen import hub
from hubgen.base_card import fill_mask_language, read_base_card
from hubgen.card import validate_card
from hubgen.conversion import Plan, Result, convert_into, plan_conversion
from hubgen.convert import ConversionPlan, ConversionRequest, conversion_command
from hubgen.errors import SmokeTestError
from hubgen.native.card import write_any_card
from hubgen.native.convert import NativePlan
from hubgen.native.repository import NativeRepository, read_repository
from hubgen.provenance import repository_stem
from hubgen.repository import ConvertedRepository
from hubgen.smoke import run_smoke
from hubgen.smoke_report import SmokeReport
from hubgen.staging import check_target, staged_folder


@dataclass(frozen=True)
class PublishRequest:
    conversion: ConversionRequest
    repo_id: str | None = None
    org: str | None = None
    private: bool = False
    create_pr: bool = False
    branch: str | None = None
    commit_message: str | None = None
    dry_run: bool = False
    keep_output: bool = False
    smoke_sentences: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    folder: Path | None
    files: list[tuple[str, int]]
    conversion: Result
    smoke: SmokeReport
    push: hub.PushResult | None


def publish(request: PublishRequest, report: Callable[[str], None] = lambda step: None) -> PublishResult:
    conversion = request.conversion
    if request.keep_output:
        check_target(conversion.output)
    report("checking the options and the base checkpoint")
    plan = plan_conversion(conversion)
    if request.repo_id:
        hub.check_repo_id_form(request.repo_id)
    base_card = read_base_card(plan.directory)
    client, repo_id = _target(request, plan, report)
    with _output_folder(request) as output:
        with staged_folder(output) as staging:
            result = convert_into(staging, conversion, plan, report)
            repository = read_repository(staging)
            report("running the smoke tests in a fresh process")
            smoke = _smoke(repository, plan, base_card, request)
            report("writing the model card")
            card = write_any_card(
                repository,
                smoke=smoke,
                repo_id=repo_id,
                publish_command=_publish_command(request, repo_id),
                base_card=base_card,
            )
            if client is not None:
                report(f"validating the model card with {hub.shown_endpoint()}")
                validate_card(card)
        result = replace(result, output=output)
        files = sorted(  # with the module folders of a sentence-transformers model
            (str(path.relative_to(output)), path.stat().st_size) for path in output.rglob("*") if path.is_file()
        )
        pushed = None
        if not request.dry_run:
            report(f"pushing to {repo_id}")
            pushed = hub.push_folder(
                client,
                output,
                repo_id,
                private=request.private,
                create_pr=request.create_pr,
                revision=request.branch,
                commit_message=request.commit_message,
            )
    return PublishResult(repo_id, output if request.keep_output else None, files, result, smoke, pushed)


@contextmanager
def _output_folder(request: PublishRequest) -> Iterator[Path]:
    """--out when given (kept), else a folder in a temporary directory removed after the push."""
    if request.keep_output:
        yield request.conversion.output
        return
    with tempfile.TemporaryDirectory(prefix="hubgen-publish-") as workspace:
        yield Path(workspace) / "repository"


def _smoke(
    repository: ConvertedRepository | NativeRepository, plan: Plan, base_card: dict[str, Any], request: PublishRequest
) -> SmokeReport:
    """The smoke tests, compared with the base folder already at hand (never looked up again)."""
    model_type = plan.checkpoint.model_type if isinstance(plan, ConversionPlan) else None
    language = fill_mask_language(base_card, model_type)
    sentences = list(request.smoke_sentences) or None
    smoke = run_smoke(repository, base=plan.directory, language=language, sentences=sentences)
    if not smoke.ok:
        failed = ", ".join(check["name"] for check in smoke.checks if not check["ok"])
        raise SmokeFailure(
            smoke,
            f"smoke tests failed, nothing was pushed: {failed}",
            "convert with `hubgen convert ... --out DIR`, then `hubgen smoke DIR` shows the details",
        )
    return smoke


class SmokeFailure(SmokeTestError):
    """A failed smoke test during publish, carrying the report so the job summary can show it."""

    def __init__(self, report: SmokeReport, message: str, hint: str):
        super().__init__(message, hint)
        self.report = report


def _target(request: PublishRequest, plan: Plan, report) -> tuple[HfApi | None, str]:
    """The client and the repository id, checked against the token's account before any work.

    A dry run needs no token (pull requests from forks get no secrets): it then skips the account checks and names
    the repository from --repo-id or --org when given.
    """
    length = request.conversion.max_length
    name = "" if request.repo_id else repository_stem(request.conversion.base, request.conversion.base_model)
    # `<prefix>-<base>-<length>`; a base of the target's kind keeps its stem.
    if isinstance(plan, NativePlan):
        prefix, same_kind = plan.target.name, plan.extension
    else:
        prefix, same_kind = "lsg", plan.checkpoint.is_lsg
    if request.dry_run and not (request.conversion.token or get_token()):
        owner = request.org or "<your-user>"
        return None, request.repo_id or f"{owner}/{hub.default_repo_name(name, length, same_kind, prefix)}"
    report(f"checking access to {hub.shown_endpoint()}")
    client = hub.api(hub.resolve_token(request.conversion.token))
    account = hub.whoami(client)
    return client, hub.target_repo_id(request.repo_id, request.org, account, name, length, same_kind, prefix)


def _publish_command(request: PublishRequest, repo_id: str) -> str:
    """The command line that reproduces the repository (without token or local paths)."""
    tail = ["--repo-id", repo_id]
    if request.private:
        tail.append("--private")
    return conversion_command(request.conversion, verb="publish", tail=tuple(tail))
