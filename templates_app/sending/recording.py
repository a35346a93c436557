"""Record one send: its row (usage, cost, fingerprints and, when it missed, why), built
once from a ``SendRecord`` whatever the outcome, and handed to the writer."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from gateway.catalog import Prices
from gateway.cost import cost, write_avoided_usd
from gateway.errors import GatewayError, ProviderTimeoutError, ProviderUnavailableError
from gateway.types import ChatRequest, Message, Result, Usage, iter_blocks
from gateway.wire import compact_json

from ..engine.canonical import block_text, iter_block_texts
from ..engine.misses import Call, explain, needs_explaining, with_provider_diagnosis
from ..engine.rendering import render
from ..models import ApiKey, Invocation
from ..selectors import version_compiled
from ..services import Rendered, render_limits
from .coalescing import Turn
from .dbthreads import run_db
from .writer import invocation_writer

HISTORY_SIZE = 200
# What an explanation reads of earlier calls (``variables`` only for the newest match).
HISTORY_FIELDS = (
    "id",
    "template_id",
    "version__number",
    "version__content_hash",
    "version_id",
    "label",
    "model",
    "status",
    "created_at",
    "checkpoints",
    "block_hashes",
    "prefix_variable_hashes",
)
REDACTED = "[redacted]"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _checkpoints(rendered: Rendered) -> list[dict[str, Any]]:
    body = version_compiled(version=rendered.version).body
    return [
        {**asdict(c), "block_index": spec.block_index}
        for c, spec in zip(rendered.result.checkpoints, body.checkpoints, strict=True)
    ]


def _block_hashes(request: ChatRequest, prefix_end: int) -> list[list[str]]:
    blocks = list(iter_block_texts(request))[: prefix_end + 1]
    return [[path, _digest(text)] for path, text in blocks]


def _clip(text: str | None, field: str) -> str:
    """A provider's string cut to its column (a request id of any length is still kept)."""
    return (text or "")[: Invocation._meta.get_field(field).max_length]


def _stored_variables(variables: dict[str, Any]) -> dict[str, Any] | None:
    if not settings.CACHET["LOG_VARIABLES"]:
        return None
    redact = set(settings.CACHET["REDACT_VARIABLES"])
    return {name: REDACTED if name in redact else value for name, value in variables.items()}


def _usage_fields(usage: Usage | None) -> dict[str, Any]:
    if usage is None:
        return {}
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "usage_raw": dict(usage.raw),
    }


def _as_call(invocation: Invocation) -> Call:
    return Call(
        version=invocation.version.number,
        label=invocation.label,
        created_at=invocation.created_at,
        checkpoints=invocation.checkpoints,
        block_hashes=invocation.block_hashes,
        prefix_variable_hashes=invocation.prefix_variable_hashes,
        invocation_id=invocation.pk,
    )


def _first_difference(rendered: Rendered, previous: Invocation):  # noqa: ANN202
    """How to find the first differing character of a block: re-render the previous call
    (renders are byte-stable) when its variables were stored in full."""

    def find(_: Call, path: str) -> int | None:
        stored = previous.variables
        if not stored or REDACTED in stored.values():
            return None
        try:
            before = render(
                version_compiled(version=previous.version),
                stored,
                model=previous.model,
                limits=render_limits(),
            ).request
        except Exception:  # noqa: BLE001 - an explanation must never fail a send
            return None
        old, new = block_text(before, path), block_text(rendered.result.request, path)
        if old is None or new is None:
            return None
        return next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
            min(len(old), len(new)),
        )

    return find


def _history(invocation: Invocation, pending: Iterable[Invocation]) -> list[Invocation]:
    """The newest earlier successful calls of the same template and model: rows not yet
    written first, then the stored ones (only the fields an explanation reads)."""
    stored = (
        Invocation.objects.filter(
            template=invocation.template_id, model=invocation.model, status=Invocation.Status.OK
        )
        .select_related("version")
        .only(*HISTORY_FIELDS)
        .order_by("-created_at", "-id")[:HISTORY_SIZE]
    )
    queued = [p for p in pending if p.status == Invocation.Status.OK]
    seen = {p.pk for p in queued}
    merged = queued + [p for p in stored if p.pk not in seen]
    merged.sort(key=lambda p: (p.created_at, p.pk or 0), reverse=True)
    return merged[:HISTORY_SIZE]


def needs_history(invocation: Invocation) -> bool:
    """A successful call that paid for a cache write or read nothing gets an explanation."""
    return invocation.status == Invocation.Status.OK and needs_explaining(
        invocation.checkpoints, invocation.cache_read_tokens, invocation.cache_write_tokens
    )


def invocation_explain(
    invocation: Invocation, rendered: Rendered, *, pending: Iterable[Invocation] = ()
) -> None:
    """Set ``invocation.miss``: why it paid for a write or read nothing (reads the history)."""
    previous = _history(invocation, pending)
    call = _as_call(invocation)
    same = next(
        (p for p in previous if p.version_id == invocation.version_id and p.label == call.label),
        None,
    )
    if same is not None and same.variables is None and same.pk is not None:
        # Only the newest matching row needs its variables, to re-render it.
        same.variables = (
            Invocation.objects.filter(pk=same.pk).values_list("variables", flat=True).first()
        )
    finder = _first_difference(rendered, same) if same else None
    invocation.miss = explain(call, [_as_call(p) for p in previous], first_difference=finder)


@dataclass(frozen=True)
class SendCall:
    """Who sends what: the caller's input to a send."""

    slug: str
    variables: dict[str, Any]
    version: int | None = None
    label: str | None = None
    model: str | None = None
    metadata: dict[str, Any] | None = None
    api_key: ApiKey | None = None
    caller: str = ""
    # An SDK-compatible call continues the template: its messages follow the template's,
    # its params override the body's.
    conversation: tuple[Message, ...] = ()
    params: dict[str, Any] | None = None


def _status(error: GatewayError) -> str:
    if isinstance(error, ProviderTimeoutError):
        return Invocation.Status.TIMEOUT
    if isinstance(error, ProviderUnavailableError):
        return Invocation.Status.UNAVAILABLE
    return Invocation.Status.PROVIDER_ERROR


@dataclass
class SendRecord:
    """One send on its way to the provider; ``record`` logs how it ended, once.

    Started when the send is about to reach the provider: its clock gives the latency,
    and ``texts`` collects what a stream delivered before it ended or broke.
    """

    call: SendCall
    rendered: Rendered
    stream: bool
    started_at: datetime = field(default_factory=timezone.now)
    clock: float = field(default_factory=time.perf_counter)
    texts: list[str] = field(default_factory=list)
    turn: Turn | None = None  # its turn on its cached prefix, once taken

    async def record(
        self, *, result: Result | None = None, error: GatewayError | None = None
    ) -> Invocation:
        """Log the outcome: ``result`` (ok), ``error`` (provider error, timeout,
        unavailable), or neither (the client went away). The row goes to the writer with
        no database round trip, unless the call missed the cache (the explanation reads
        earlier calls) or the reserved ids ran out."""
        if result is not None:
            status = Invocation.Status.OK
        elif error is not None:
            status = _status(error)
        else:
            status = Invocation.Status.CLIENT_DISCONNECTED
        invocation = invocation_build(self, status=status, result=result, error=error)
        writer = invocation_writer()
        if needs_history(invocation):
            pending = writer.pending(template_id=invocation.template_id, model=invocation.model)
            await run_db(invocation_explain, invocation, self.rendered, pending=pending)
            if result is not None and result.diagnosis is not None:
                sections = {b.path: b.section for b in iter_blocks(self.rendered.result.request)}
                invocation.miss = with_provider_diagnosis(
                    invocation.miss, result.diagnosis, sections
                )
        if writer.inline:
            await run_db(invocation.save, force_insert=True)
        else:
            invocation.pk = writer.next_id() or await run_db(writer.reserve)
            # A send cancelled while it waits for room in the queue still leaves its row.
            await asyncio.shield(writer.put(invocation))
        return invocation


def invocation_build(
    send: SendRecord, *, status: str, result: Result | None, error: GatewayError | None
) -> Invocation:
    """The row of one send, not yet saved and without its miss explanation (no database
    access). Secrets never reach it: errors carry the provider's message only."""
    rendered, asked = send.rendered, send.call
    started_at, partial_text = send.started_at, "".join(send.texts)
    render_result = rendered.result
    request = render_result.request
    checkpoints = _checkpoints(rendered)
    prefix_end = checkpoints[-1]["block_index"] if checkpoints else -1
    call = Call(
        version=rendered.version.number,
        label=rendered.label or "",
        created_at=started_at,
        checkpoints=checkpoints,
        block_hashes=_block_hashes(request, prefix_end),
        prefix_variable_hashes={
            name: _digest(compact_json(render_result.variables[name]))
            for name in render_result.prefix_variables
            if name in render_result.variables
        },
    )
    fields: dict[str, Any] = _turn_fields(send.turn, result, render_result.profile.prices)
    if result is not None:
        priced = cost(result.usage, render_result.profile.prices)
        fields |= {
            **_usage_fields(result.usage),
            "cost_usd": priced and priced.usd,
            "cost_without_cache_usd": priced and priced.usd_without_cache,
            "saved_usd": priced and priced.saved_usd,
            "output_text": result.text,
            "stop_reason": _clip(result.stop_reason, "stop_reason"),
            "request_id": _clip(result.request_id, "request_id"),
        }
    elif error is not None:
        fields |= {
            "error_type": _clip(error.type, "error_type"),
            "error_message": str(error)[:5000],
            "provider_status": getattr(error, "status", None),
            "request_id": _clip(getattr(error, "request_id", None), "request_id"),
            "output_text": partial_text,
        }
    else:
        fields |= {
            "error_type": "client_disconnected",
            "output_text": partial_text,
            "error_message": "the client closed the connection before the "
            + ("stream ended" if send.stream else "answer came"),
        }
    return Invocation(
        template_id=rendered.version.template_id,
        version=rendered.version,
        label=rendered.label or "",
        model=request.model,
        provider=request.provider,
        stream=send.stream,
        status=status,
        api_key=asked.api_key,
        caller=asked.caller,
        checkpoints=checkpoints,
        last_fingerprint=request.cache_key or "",
        block_hashes=call.block_hashes,
        prefix_variable_hashes=call.prefix_variable_hashes,
        variables=_stored_variables(asked.variables),
        metadata=asked.metadata or {},
        latency_ms=round((time.perf_counter() - send.clock) * 1000),
        created_at=started_at,
        **fields,
    )


def _turn_fields(turn: Turn | None, result: Result | None, prices: Prices) -> dict[str, Any]:
    """How the send took its turn and, for a follower that read, the write it avoided."""
    if turn is None:
        return {}
    read = result.usage.cache_read_tokens if result is not None else None
    avoided = None
    if turn.role == Invocation.Coalesce.WAITED and read and turn.chain is not None:
        avoided = write_avoided_usd(read, prices, turn.chain.ttl)
    return {
        "coalesce": turn.role,
        "coalesce_wait_ms": turn.waited_ms,
        "write_avoided_usd": avoided,
    }
