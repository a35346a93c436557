"""Render and send: resolve the version, render, call the provider, record the invocation.

``template_send`` answers once; ``template_stream`` answers as server-sent events
(``delta`` events, then one ``done``, or one ``error``). Every send that reaches
the provider step is recorded — success, provider error, timeout, or a client
that went away mid-stream — with its cost and, when it paid for a cache write or
read nothing, why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

from django.utils import timezone

from gateway.errors import GatewayError, ProviderTimeoutError, ProviderUnavailableError
from gateway.types import Result
from gateway.wire import compact_json

from ..engine.errors import CachetError
from ..models import ApiKey, Invocation
from ..services import Rendered, version_render
from .clients import client_for
from .dbthreads import run_db
from .recording import invocation_build, invocation_explain, needs_history
from .target import send_target
from .writer import invocation_writer


class SendError(CachetError):
    """A provider failure, already recorded; reported with the provider's status and message."""

    def __init__(self, error: GatewayError, invocation: Invocation) -> None:
        super().__init__(
            str(error),
            details={
                "provider": getattr(error, "provider", None),
                "provider_status": getattr(error, "status", None),
                "request_id": getattr(error, "request_id", None),
                "invocation_id": invocation.pk,
            },
        )
        self.status_code = error.status_code
        self.type = error.type


@dataclass(frozen=True)
class SendCall:
    """Who sends what: the caller's input to ``send``."""

    slug: str
    variables: dict[str, Any]
    version: int | None = None
    label: str | None = None
    model: str | None = None
    metadata: dict[str, Any] | None = None
    api_key: ApiKey | None = None
    caller: str = ""


def _status(error: GatewayError) -> str:
    if isinstance(error, ProviderTimeoutError):
        return Invocation.Status.TIMEOUT
    if isinstance(error, ProviderUnavailableError):
        return Invocation.Status.UNAVAILABLE
    return Invocation.Status.PROVIDER_ERROR


async def _record(
    call: SendCall,
    rendered: Rendered,
    started: Any,
    clock: float,
    *,
    stream: bool,
    status: str,
    result: Result | None = None,
    error: GatewayError | None = None,
    partial_text: str = "",
) -> Invocation:
    """Build the send's row and hand it to the writer: no database round trip, unless the
    call missed the cache (the explanation reads earlier calls) or ids ran out."""
    invocation = invocation_build(
        rendered=rendered,
        api_key=call.api_key,
        caller=call.caller,
        variables=call.variables,
        metadata=call.metadata or {},
        stream=stream,
        status=status,
        result=result,
        error=error,
        latency_ms=round((time.perf_counter() - clock) * 1000),
        started_at=started,
        partial_text=partial_text,
    )
    writer = invocation_writer()
    if needs_history(invocation):
        pending = writer.pending(template_id=invocation.template_id, model=invocation.model)
        await run_db(invocation_explain, invocation, rendered, pending=pending)
    if writer.inline:
        await run_db(invocation.save, force_insert=True)
    else:
        invocation.pk = writer.next_id() or await run_db(writer.reserve)
        # A send cancelled while it waits for room in the queue still leaves its row.
        await asyncio.shield(writer.put(invocation))
    return invocation


def send_prepare(call: SendCall) -> Rendered:
    """Resolve and render the send (sync: reads the database). Raises ``CachetError``."""
    _, version, label = send_target(slug=call.slug, version=call.version, label=call.label)
    return version_render(version, label, call.variables, model=call.model)


async def template_send(call: SendCall, rendered: Rendered) -> tuple[Invocation, Rendered, Result]:
    """Send ``rendered`` (from ``send_prepare``) once. Raises ``SendError`` (recorded)."""
    started, clock = timezone.now(), time.perf_counter()
    try:
        client = await client_for(rendered.result.request.provider)
        result = await client.send(rendered.result.request, rendered.wire)
    except GatewayError as error:
        invocation = await _record(
            call, rendered, started, clock, stream=False, status=_status(error), error=error
        )
        raise SendError(error, invocation) from None
    except asyncio.CancelledError:
        # The client went away (or the server gave up waiting at shutdown) while the
        # provider worked: the call may still be billed, so it is recorded all the same.
        gone = Invocation.Status.CLIENT_DISCONNECTED
        await asyncio.shield(_record(call, rendered, started, clock, stream=False, status=gone))
        raise
    invocation = await _record(
        call, rendered, started, clock, stream=False, status=Invocation.Status.OK, result=result
    )
    return invocation, rendered, result


def sse(event: str, payload: dict[str, Any]) -> bytes:
    """One server-sent event."""
    data = compact_json(payload)
    return f"event: {event}\ndata: {data}\n\n".encode()


async def template_stream(call: SendCall, rendered: Rendered) -> AsyncIterator[bytes]:
    """The SSE byte stream of the send of ``rendered`` (from ``send_prepare``).

    A provider that is not configured raises here, so the caller answers with a plain
    JSON error instead of a stream.
    """
    started, clock = timezone.now(), time.perf_counter()
    try:
        client = await client_for(rendered.result.request.provider)
    except ProviderUnavailableError as error:
        invocation = await _record(
            call, rendered, started, clock, stream=True, status=_status(error), error=error
        )
        raise SendError(error, invocation) from None
    return _events(call, rendered, client, started, clock)


async def _events(
    call: SendCall, rendered: Rendered, client: Any, started: Any, clock: float
) -> AsyncIterator[bytes]:
    texts: list[str] = []
    finished = False
    try:
        async for event in client.stream(rendered.result.request, rendered.wire):
            if event.type == "delta":
                texts.append(event.text)
                yield sse("delta", {"text": event.text})
            elif event.type == "done" and event.result is not None:
                invocation = await _record(
                    call,
                    rendered,
                    started,
                    clock,
                    stream=True,
                    status=Invocation.Status.OK,
                    result=event.result,
                )
                finished = True
                yield sse("done", send_payload(invocation, rendered, event.result))
    except GatewayError as error:
        invocation = await _record(
            call,
            rendered,
            started,
            clock,
            stream=True,
            status=_status(error),
            error=error,
            partial_text="".join(texts),
        )
        finished = True
        yield sse(
            "error",
            {
                "type": error.type,
                "message": str(error),
                "details": SendError(error, invocation).details,
            },
        )
    finally:
        if not finished:
            # The client went away (or the server is stopping): keep the record anyway.
            await asyncio.shield(
                _record(
                    call,
                    rendered,
                    started,
                    clock,
                    stream=True,
                    status=Invocation.Status.CLIENT_DISCONNECTED,
                    partial_text="".join(texts),
                )
            )


def send_payload(invocation: Invocation, rendered: Rendered, result: Result) -> dict[str, Any]:
    """The answer of a send: output, usage, cost, checkpoints, miss explanation."""
    return {
        "invocation_id": invocation.pk,
        "template": rendered.version.template.slug,
        "version": rendered.version.number,
        "label": rendered.label,
        "model": invocation.model,
        "provider": invocation.provider,
        "output": {
            "text": result.text,
            "tool_calls": [asdict(call) for call in result.tool_calls],
            "stop_reason": result.stop_reason,
        },
        "usage": invocation.usage,
        "cost": invocation.cost,
        "checkpoints": invocation.checkpoints,
        "miss": invocation.miss,
        "latency_ms": invocation.latency_ms,
        "request_id": invocation.request_id or None,
    }
