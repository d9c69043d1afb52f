"""Which conversion a request asks for: LSG attention (`hubgen.convert`, the default) or a native long architecture
(`hubgen.native`: `--attention longformer|bigbird`, or a Longformer, BigBird or YOSO base, extended in its own).

The base is fetched once here and handed to the chosen planner, so a Hub base is looked up once whichever path runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from hubgen import convert as lsg
from hubgen.checkpoint import fetch_base
from hubgen.errors import InvalidInputError
from hubgen.native.architectures import ATTENTIONS
from hubgen.native.convert import NativePlan, NativeResult, convert_native_into, plan_native, wants_native
from hubgen.staging import check_target, staged_folder

Plan = lsg.ConversionPlan | NativePlan
Result = lsg.ConversionResult | NativeResult


def plan_conversion(request: lsg.ConversionRequest) -> Plan:
    """Every check that can fail, before anything is written, for whichever conversion the request asks for."""
    if request.attention not in (None, *ATTENTIONS):
        raise InvalidInputError(
            f"--attention {request.attention!r} is not known", f"choose one of {', '.join(ATTENTIONS)}"
        )
    fetched = fetch_base(request.base, request.token, request.revision, request.base_model)
    if wants_native(request, fetched.config):
        return plan_native(request, fetched)
    for flag, value, attention in (
        ("--attention-window", request.attention_window, "longformer"),
        ("--num-random-blocks", request.num_random_blocks, "bigbird"),
    ):
        if value is not None:
            raise InvalidInputError(
                f"{flag} is an option of --attention {attention}, not of LSG attention",
                f"add --attention {attention}, or drop {flag}",
            )
    return lsg.plan_conversion(request, fetched)


def convert_into(
    folder: Path, request: lsg.ConversionRequest, plan: Plan, report: Callable[[str], None] = lambda step: None
) -> Result:
    """Write the converted repository into an empty staging `folder`."""
    if isinstance(plan, NativePlan):
        return convert_native_into(folder, request, plan, report)
    return lsg.convert_into(folder, request, plan, report)


def convert(request: lsg.ConversionRequest, report: Callable[[str], None] = lambda step: None) -> Result:
    """Convert into `request.output`, which appears complete or not at all (see `hubgen.staging`)."""
    check_target(request.output)
    report("checking the base checkpoint")
    plan = plan_conversion(request)
    with staged_folder(request.output) as staging:
        result = convert_into(staging, request, plan, report)
    return replace(result, output=request.output)
