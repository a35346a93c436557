"""Promotion warm-up: before a label moves, write the new version's cached prefix, so the
traffic that follows reads it instead of every first call paying the write.

A version renders one request per set of prefix-variable values, so with one set (the
caller's values over the template's sample variables) it has one checkpoint chain of up to
four checkpoints, and one call writes them all: the render cut after the last checkpoint
(``engine.rendering.render_prefix``: the fingerprints every send of those values has), as the
smallest call its provider takes (``gateway.registry.prewarm``: a user turn when the prefix
needs one, the least output allowed). It is sent as any send is (``flow.template_send``):
recorded as an invocation marked ``metadata.warmup``, so its cost is in the log and the
stats, and its answer marks the chain warm (``coalescing``). A version none of whose
checkpoints will cache, or whose chain is warm already, is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from asgiref.sync import async_to_sync

from gateway.registry import prewarm

from ..engine.rendering import render_prefix
from ..models import ApiKey, Label, Template, Version
from ..selectors import version_compiled
from ..services import Rendered, label_move, label_move_check, render_limits, wire_request
from .coalescing import chain_is_warm, send_chain
from .flow import template_send
from .recording import SendCall

WARMUP_METADATA = {"warmup": True}  # how the log tells a warm-up from the traffic
WRITTEN, SKIPPED = "written", "skipped"
ALREADY_WARM, NOTHING_CACHES = "already_warm", "nothing_caches"
WARMUP_STATUSES = (WRITTEN, SKIPPED)
WARMUP_REASONS = (ALREADY_WARM, NOTHING_CACHES)  # why a warm-up was skipped


@dataclass(frozen=True)
class Promotion:
    """A label move and, when it was asked for, the report of the warm-up before it."""

    label: Label
    warmup: dict[str, Any] | None


def label_promote(
    *,
    template: Template,
    label: str,
    version: int,
    moved_by: str = "",
    protected_allowed: bool = True,
    warm: bool = False,
    variables: dict[str, Any] | None = None,
    api_key: ApiKey | None = None,
) -> Promotion:
    """Move ``label`` to ``version`` (``services.label_move``), with ``warm`` writing the
    version's cached prefix first (``version_warm``).

    The move is checked before the warm-up is paid for. Raises what ``label_move`` raises,
    ``VariableError`` naming a prefix variable neither ``variables`` nor the sample variables
    give, and ``SendError`` (recorded) when the provider fails the warm-up: the label then
    stays where it was.
    """
    report = None
    if warm:
        target = label_move_check(
            template=template, label=label, version=version, protected_allowed=protected_allowed
        )
        target.template = template  # loaded already; the send must not fetch it lazily
        rendered = warmup_prepare(version=target, label=label, variables=variables or {})
        call = SendCall(
            slug=template.slug,
            variables=rendered.result.variables,
            version=version,
            label=label,
            metadata=WARMUP_METADATA,
            api_key=api_key,
            caller=moved_by,
        )
        report = async_to_sync(version_warm)(call, rendered)
    moved = label_move(
        template=template,
        label=label,
        version=version,
        moved_by=moved_by,
        protected_allowed=protected_allowed,
    )
    return Promotion(moved, report)


def warmup_prepare(*, version: Version, label: str, variables: dict[str, Any]) -> Rendered:
    """The warm-up call of ``version``: its prefix rendered with ``variables`` over the
    template's sample variables (suffix variables are not needed), as its provider's
    smallest call. Raises ``VariableError`` and the other render errors."""
    compiled = version_compiled(version=version)
    samples = version.template.sample_variables
    values = {k: v for k, v in samples.items() if k in compiled.prefix_variables} | variables
    result = render_prefix(compiled, values, version=version.number, limits=render_limits())
    request = prewarm(result.request)
    return Rendered(version, label, replace(result, request=request), wire_request(request))


async def version_warm(call: SendCall, rendered: Rendered) -> dict[str, Any]:
    """Send the warm-up ``rendered`` (from ``warmup_prepare``) unless its chain is warm
    already or it caches nothing; the report. Raises ``SendError`` (recorded)."""
    chain = send_chain(rendered)
    if chain is None:
        return _report(rendered, SKIPPED, NOTHING_CACHES, chains=[])
    checkpoints = _caching(rendered)
    if await chain_is_warm(chain):
        skipped = {"checkpoints": checkpoints, "invocation_id": None, "usage": None, "cost": None}
        return _report(rendered, SKIPPED, ALREADY_WARM, chains=[skipped])
    invocation, _, _ = await template_send(call, rendered)
    written = {
        "checkpoints": checkpoints,
        "invocation_id": invocation.pk,
        "usage": invocation.usage,
        "cost": invocation.cost,
    }
    return _report(rendered, WRITTEN, None, chains=[written])


def _caching(rendered: Rendered) -> list[dict[str, Any]]:
    """The checkpoints the warm-up writes: those that will cache."""
    return [
        {
            "ordinal": c.ordinal,
            "path": c.path,
            "ttl": c.ttl,
            "fingerprint": c.fingerprint,
            "tokens": c.tokens,
        }
        for c in rendered.result.checkpoints
        if c.status == "will_cache"
    ]


MESSAGES = {
    WRITTEN: "wrote the cached prefix of checkpoint{s} {ordinals} (about {tokens:,} tokens)",
    ALREADY_WARM: "the cached prefix of checkpoint{s} {ordinals} is warm already: nothing sent",
    NOTHING_CACHES: "none of this version's checkpoints will cache: nothing sent",
}


def _report(
    rendered: Rendered, status: str, reason: str | None, *, chains: list[dict[str, Any]]
) -> dict[str, Any]:
    checkpoints = [c for chain in chains for c in chain["checkpoints"]]
    ordinals = ", ".join(str(c["ordinal"]) for c in checkpoints)
    tokens = max((c["tokens"] for c in checkpoints), default=0)
    message = MESSAGES[reason or status].format(
        s="s" if len(checkpoints) > 1 else "", ordinals=ordinals, tokens=tokens
    )
    return {
        "status": status,
        "reason": reason,
        "message": message,
        "version": rendered.version.number,
        "model": rendered.result.request.model,
        "chains": chains,
    }
