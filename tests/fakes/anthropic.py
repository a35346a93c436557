"""Anthropic Messages API replies for ``FakeServer``, built from recorded payloads.

The payloads in ``fixtures/providers/anthropic/`` follow the published shapes: a
Messages response (``response_*.json``), the error body (``error_*.json``), a
count_tokens answer, and a whole SSE stream as sent on the wire (``stream_*.txt``).
Helpers here vary them (text, usage, events) and wrap them in ``Reply`` objects with
the headers Anthropic sends.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.caching import PrefixCache, tokens_of
from tests.fakes.server import Recorded, Reply

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers" / "anthropic"
REQUEST_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"


def load(name: str) -> Any:
    """A recorded JSON payload, e.g. ``load("response_cache_write.json")``."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def recorded_stream(name: str = "stream_tool_use.txt") -> bytes:
    """A recorded SSE stream, byte for byte."""
    return (FIXTURES / name).read_bytes()


def message_response(
    text: str | None = None,
    usage: Mapping[str, Any] | None = None,
    *,
    recorded: str = "response_cache_write.json",
) -> dict[str, Any]:
    """A Messages response: the recorded one, with ``text`` as its only block and
    ``usage`` replacing its usage, when given."""
    body = load(recorded)
    if text is not None:
        body["content"] = [{"type": "text", "text": text}]
    if usage is not None:
        body["usage"] = dict(usage)
    return body


def usage(
    input_tokens: int,
    output_tokens: int,
    *,
    read: int = 0,
    write_5m: int = 0,
    write_1h: int = 0,
) -> dict[str, Any]:
    """A usage object as the Messages API reports it, with the per-TTL write breakdown."""
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": write_5m + write_1h,
        "cache_read_input_tokens": read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": write_5m,
            "ephemeral_1h_input_tokens": write_1h,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def error_body(kind: str, message: str, request_id: str = REQUEST_ID) -> dict[str, Any]:
    """The documented error body, e.g. ``error_body("overloaded_error", "Overloaded")``."""
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}


def reply(body: Any, status: int = 200, *, request_id: str | None = None, **headers: str) -> Reply:
    """A JSON reply with Anthropic's ``request-id`` header (by default the body's own id);
    ``retry_after="2"`` etc. add headers (underscores become dashes)."""
    if request_id is None:
        in_body = body.get("request_id") if isinstance(body, dict) else None
        request_id = in_body or REQUEST_ID
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return Reply.json(status, body, headers={"request-id": request_id, **extra})


def error_reply(status: int, kind: str, message: str, **headers: str) -> Reply:
    """An error status with the documented error body."""
    return reply(error_body(kind, message), status, **headers)


def sse(events: Iterable[Mapping[str, Any]]) -> list[bytes]:
    """One wire chunk per event: ``event: <type>``, ``data: <json>``, blank line."""
    return [
        f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n".encode()
        for event in events
    ]


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    """The events of a recorded stream, decoded (for tests that edit a recording)."""
    events = []
    for frame in raw.decode().split("\n\n"):
        data = [line[len("data: ") :] for line in frame.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


def chunked(raw: bytes, size: int) -> list[bytes]:
    """``raw`` in chunks of ``size`` bytes, so frames and lines straddle chunk edges."""
    return [raw[start : start + size] for start in range(0, len(raw), size)]


def stream_reply(
    chunks: list[bytes], *, cut_after: int | None = None, request_id: str = REQUEST_ID
) -> Reply:
    """A ``text/event-stream`` reply sending ``chunks``; ``cut_after`` breaks the connection."""
    headers = {"content-type": "text/event-stream; charset=utf-8", "request-id": request_id}
    return Reply(status=200, headers=headers, chunks=chunks, cut_after=cut_after)


def text_events(
    pieces: Iterable[str],
    start_usage: Mapping[str, Any],
    delta_usage: Mapping[str, Any],
    *,
    stop_reason: str = "end_turn",
) -> list[dict[str, Any]]:
    """A text-only stream: the recorded ``message_start`` with ``start_usage``, one text
    block made of ``pieces``, then ``message_delta`` with ``delta_usage`` and ``message_stop``."""
    start = copy.deepcopy(parse_sse(recorded_stream())[0])
    start["message"]["usage"] = dict(start_usage)
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
        for text in pieces
    ]
    return [
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *deltas,
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": dict(delta_usage),
        },
        {"type": "message_stop"},
    ]


def cache_blocks(body: Mapping[str, Any]) -> list[tuple[Any, str | None]]:
    """The Messages body's blocks in prefix order (tools, system, messages), each with the
    TTL of its ``cache_control``; raises ValueError where the API answers 400."""
    system = body.get("system", [])
    blocks = [*body.get("tools", []), *([{"text": system}] if isinstance(system, str) else system)]
    for message in body["messages"]:
        content = message["content"]
        blocks += [{"text": content}] if isinstance(content, str) else content
    marked = [
        (
            block,
            (block.get("cache_control") or {}).get("ttl", "5m")
            if "cache_control" in block
            else None,
        )
        for block in blocks
    ]
    ttls = [ttl for _, ttl in marked if ttl]
    if len(ttls) > 4:
        raise ValueError(
            f"A maximum of 4 blocks with cache_control may be provided. Found {len(ttls)}."
        )
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        raise ValueError("a ttl='1h' cache_control block must not come after a ttl='5m' one")
    return [
        ({k: v for k, v in block.items() if k != "cache_control"}, ttl) for block, ttl in marked
    ]


class CachingMessages:
    """A ``FakeServer`` responder for the Messages API with a real prefix cache: reads up to
    the highest prefix readable when the call comes, writes split by the mixed-TTL rule
    into ``cache_creation``; answers a ``stream: true`` call as an SSE stream. What a call
    writes is readable once its answer begins (``PrefixCache.begin``)."""

    def __init__(
        self, min_tokens: int = 1024, *, first_byte: float = 0.0, hold: Any = None
    ) -> None:
        self.cache = PrefixCache(min_tokens, first_byte=first_byte, hold=hold)

    def __call__(self, recorded: Recorded) -> Reply:
        try:
            payload = recorded.json()
            blocks = cache_blocks(payload)
        except ValueError as exc:
            return error_reply(400, "invalid_request_error", str(exc))
        if recorded.path.endswith("/count_tokens"):  # counting caches nothing
            return Reply.json(200, {"input_tokens": sum(tokens_of(b) for b, _ in blocks)})
        planned = self.cache.plan(blocks)
        self.cache.begin(planned)
        written = planned.written
        uncached = planned.total - planned.read - written["5m"] - written["1h"]
        body = usage(uncached, 5, read=planned.read, write_5m=written["5m"], write_1h=written["1h"])
        if payload.get("stream"):
            return stream_reply(sse(text_events(["o", "k"], body, {"output_tokens": 5})))
        return reply(message_response("ok", body))
