"""Render and send: resolve the version, render, call the provider, record the invocation.

``template_send`` answers once; ``template_stream`` answers as server-sent events, in
Cachet's own format (``delta`` events, then one ``done``, or one ``error``) or in a
provider's, through an ``EventFormat`` (the SDK-compatible endpoints). Every send that reaches
the provider step is recorded — success, provider error, timeout, or a client
that went away mid-stream — with its cost and, when it paid for a cache write or
read nothing, why.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any, Protocol

from gateway.errors import GatewayError, ProviderUnavailableError
from gateway.types import Result, StreamEvent
from gateway.wire import compact_json

from ..engine.errors import CachetError
from ..models import Invocation
from ..services import Rendered, version_render
from .clients import client_for
from .coalescing import turn_take
from .diagnostics import diagnosed_wire, remember
from .recording import SendCall, SendRecord
from .target import send_target


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
        self.error = error


def send_prepare(call: SendCall) -> Rendered:
    """Resolve and render the send (sync: reads the database). Raises ``CachetError``."""
    _, version, label = send_target(slug=call.slug, version=call.version, label=call.label)
    return version_render(
        version,
        label,
        call.variables,
        model=call.model,
        conversation=call.conversation,
        params=call.params,
    )


async def template_send(call: SendCall, rendered: Rendered) -> tuple[Invocation, Rendered, Result]:
    """Send ``rendered`` (from ``send_prepare``) once. Raises ``SendError`` (recorded)."""
    send = SendRecord(call, rendered, stream=False)
    turn = None
    try:
        client = await client_for(rendered.result.request.provider)
        turn = send.turn = await turn_take(rendered)
        result = await client.send(rendered.result.request, await diagnosed_wire(rendered))
    except GatewayError as error:
        if turn is not None:
            turn.failed()
        raise SendError(error, await send.record(error=error)) from None
    except asyncio.CancelledError:
        if turn is not None:
            turn.failed()
        # The client went away (or the server gave up waiting at shutdown) while the
        # provider worked: the call may still be billed, so it is recorded all the same.
        await asyncio.shield(send.record())
        raise
    # A non-streamed answer's headers come with its body: it began when it came.
    turn.started()
    await remember(rendered, result)
    return await send.record(result=result), rendered, result


def sse(event: str, payload: dict[str, Any]) -> bytes:
    """One server-sent event."""
    data = compact_json(payload)
    return f"event: {event}\ndata: {data}\n\n".encode()


class EventFormat(Protocol):
    """How a stream's moments are written on the wire: each returns the bytes to send."""

    def start(self, rendered: Rendered) -> bytes: ...

    def delta(self, text: str) -> bytes: ...

    def done(self, invocation: Invocation, rendered: Rendered, result: Result) -> bytes: ...

    def error(self, error: GatewayError, details: dict[str, Any]) -> bytes: ...


class CachetEvents:
    """Cachet's own events: ``delta`` per text piece, then ``done`` (or ``error``)."""

    def start(self, rendered: Rendered) -> bytes:
        return b""

    def delta(self, text: str) -> bytes:
        return sse("delta", {"text": text})

    def done(self, invocation: Invocation, rendered: Rendered, result: Result) -> bytes:
        return sse("done", send_payload(invocation, rendered, result))

    def error(self, error: GatewayError, details: dict[str, Any]) -> bytes:
        return sse("error", {"type": error.type, "message": str(error), "details": details})


async def template_stream(
    call: SendCall,
    rendered: Rendered,
    events: EventFormat | None = None,
    *,
    open_first: bool = False,
) -> AsyncIterator[bytes]:
    """The SSE byte stream of the send of ``rendered`` (from ``send_prepare``), written by
    ``events`` (default: Cachet's own).

    A provider that is not configured raises here, so the caller answers with a plain
    JSON error instead of a stream. With ``open_first`` the provider's stream is opened
    here too, so a provider refusing the call (a 400, a 429 after the retries) is a
    ``SendError`` with its status, not an error event after a 200: what the SDKs expect.
    """
    send = SendRecord(call, rendered, stream=True)
    try:
        client = await client_for(rendered.result.request.provider)
    except ProviderUnavailableError as error:
        raise SendError(error, await send.record(error=error)) from None
    events = events or CachetEvents()
    if not open_first:
        return _events(send, events, _opened(send, client))
    upstream = _opened(send, client)
    try:
        first = await anext(upstream)
    except GatewayError as error:
        raise SendError(error, await send.record(error=error)) from None
    except asyncio.CancelledError:
        await asyncio.shield(send.record())  # the call may be billed all the same
        raise
    except StopAsyncIteration:
        first = None
    return _events(send, events, _prepended(first, upstream))


async def _opened(send: SendRecord, client: Any) -> AsyncIterator[StreamEvent]:
    """The provider's events for ``send``, asking for cache diagnostics when it can, once
    the send's turn on its cached prefix has come (``coalescing.py``)."""
    turn = send.turn = await turn_take(send.rendered)
    try:
        wire = await diagnosed_wire(send.rendered)
        async for event in client.stream(send.rendered.result.request, wire):
            if event.type == "start":
                turn.started()
            yield event
    finally:
        turn.failed()  # unless it started: a leader that failed lets its followers go


async def _prepended(
    first: StreamEvent | None, rest: AsyncIterator[StreamEvent]
) -> AsyncIterator[StreamEvent]:
    if first is not None:
        yield first
        async for event in rest:
            yield event


async def _events(
    send: SendRecord, events: EventFormat, upstream: AsyncIterator[StreamEvent]
) -> AsyncIterator[bytes]:
    finished = False
    try:
        opening = events.start(send.rendered)
        if opening:
            yield opening
        async for event in upstream:
            if event.type == "delta":
                send.texts.append(event.text)
                yield events.delta(event.text)
            elif event.type == "done" and event.result is not None:
                await remember(send.rendered, event.result)
                invocation = await send.record(result=event.result)
                finished = True
                yield events.done(invocation, send.rendered, event.result)
    except GatewayError as error:
        invocation = await send.record(error=error)
        finished = True
        yield events.error(error, SendError(error, invocation).details)
    finally:
        if not finished:
            # The client went away (or the server is stopping): keep the record anyway.
            await asyncio.shield(send.record())


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
        "coalescing": coalescing_of(invocation),
    }


def coalescing_of(invocation: Invocation) -> dict[str, Any]:
    """How the send took its turn on its cached prefix, as the API shows it."""
    avoided = invocation.write_avoided_usd
    return {
        "role": invocation.coalesce,
        "waited_ms": invocation.coalesce_wait_ms,
        "write_avoided_usd": None if avoided is None else float(avoided),
    }
