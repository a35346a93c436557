"""A stand-in for the Anthropic Messages API, with a fixed latency and optional faults.

Served by uvicorn like any ASGI app, for the benchmarks and the load test:

    STUB_LATENCY_MS=2000 .venv/bin/uvicorn benchmarks.upstream:app --port 9100

``POST .../v1/messages`` reads the whole body, waits ``STUB_LATENCY_MS`` (0 by default)
and answers with a Messages response, or its server-sent events when the body asks for
``"stream": true``. Usage reports the prefix as a cache read, as the real API does once
its cache is warm; the answer does not depend on the body otherwise, so Cachet and a
direct call of the same body cost the stub the same.

Faults, for the load test: with ``STUB_FAULT_EVERY=20``, every 20th request (counted by
this process) fails, in turn as an HTTP 500, a 529 (overloaded), a timeout (no answer
for ``STUB_HANG_S`` seconds) and a cut connection (the body or stream stops half-way).
``STUB_FAULTS`` lists the kinds to rotate through (default ``500,529,timeout,cut``).

For the peer comparison (``benchmarks/peers.py``), ``STUB_RECORD=N`` (default 0: off)
keeps the last N request bodies as received, unparsed, and opens two control paths:
``GET /_stub/received`` answers the number of requests so far (other than these two) and
the bodies, with their paths,
and ``PUT /_stub/latency`` with ``{"ms": 0}`` changes the latency of later requests.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
from typing import Any

LATENCY = float(os.environ.get("STUB_LATENCY_MS", "0")) / 1000
CACHED_TOKENS = int(os.environ.get("STUB_CACHED_TOKENS", "10000"))
FAULT_EVERY = int(os.environ.get("STUB_FAULT_EVERY", "0"))
FAULTS = os.environ.get("STUB_FAULTS", "500,529,timeout,cut").split(",")
HANG = float(os.environ.get("STUB_HANG_S", "30"))
RECORD = int(os.environ.get("STUB_RECORD", "0"))

TEXT = "Clause 7 says the data stays in the region."
USAGE = {
    "input_tokens": 24,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": CACHED_TOKENS,
    "output_tokens": 12,
}
MESSAGE = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": USAGE,
    }
).encode()
JSON_HEADERS = [(b"content-type", b"application/json"), (b"request-id", b"req_bench")]
SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"request-id", b"req_bench")]
NOT_FOUND = b'{"type":"error","error":{"type":"not_found_error","message":"not found"}}'
ERRORS = {
    "500": (500, b'{"type":"error","error":{"type":"api_error","message":"Internal error"}}'),
    "529": (529, b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'),
}


def _event(kind: str, **data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()


EVENTS = [
    _event(
        "message_start",
        message={
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**USAGE, "output_tokens": 1},
        },
    ),
    _event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
    _event("content_block_delta", index=0, delta={"type": "text_delta", "text": TEXT[:20]}),
    _event("content_block_delta", index=0, delta={"type": "text_delta", "text": TEXT[20:]}),
    _event("content_block_stop", index=0),
    _event(
        "message_delta",
        delta={"stop_reason": "end_turn", "stop_sequence": None},
        usage={"output_tokens": 12},
    ),
    _event("message_stop"),
]

_count = itertools.count(1)
_received: collections.deque[tuple[str, bytes]] = collections.deque(maxlen=max(RECORD, 1))
_requests = 0


class CutConnection(Exception):
    """Raised mid-answer: uvicorn then drops the connection, as a broken network would."""


def _fault() -> str | None:
    n = next(_count)
    if not FAULT_EVERY or n % FAULT_EVERY:
        return None
    return FAULTS[(n // FAULT_EVERY - 1) % len(FAULTS)]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app: one Messages answer (or its events) after ``LATENCY`` seconds."""
    if scope["type"] != "http":
        return
    chunks, more = [], True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if RECORD and scope["path"].startswith("/_stub/"):
        await _control(send, scope, b"".join(chunks))
        return
    if RECORD:
        global _requests
        _requests += 1
        _received.append((scope["path"], b"".join(chunks)))
    if not scope["path"].endswith("/v1/messages"):
        await _answer(send, 404, JSON_HEADERS, NOT_FOUND)
        return
    stream = b'"stream":true' in b"".join(chunks)
    fault = _fault()
    if LATENCY:
        await asyncio.sleep(LATENCY)
    if fault in ERRORS:
        status, body = ERRORS[fault]
        await _answer(send, status, JSON_HEADERS, body)
    elif fault == "timeout":
        await asyncio.sleep(HANG)
    elif stream:
        await _stream(send, cut=fault == "cut")
    elif fault == "cut":
        length = str(len(MESSAGE)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*JSON_HEADERS, (b"content-length", length)],
            }
        )
        await send({"type": "http.response.body", "body": MESSAGE[:40], "more_body": True})
        raise CutConnection
    else:
        await _answer(send, 200, JSON_HEADERS, MESSAGE)


async def _control(send: Any, scope: dict[str, Any], body: bytes) -> None:
    """The recording stub's control paths (only with ``STUB_RECORD``)."""
    global LATENCY
    if scope["path"] == "/_stub/latency" and scope["method"] == "PUT":
        LATENCY = float(json.loads(body)["ms"]) / 1000
        answer = {"latency_ms": LATENCY * 1000}
    elif scope["path"] == "/_stub/received":
        bodies = [{"path": path, "body": raw.decode()} for path, raw in _received]
        answer = {"requests": _requests, "received": bodies}
    else:
        await _answer(send, 404, JSON_HEADERS, NOT_FOUND)
        return
    await _answer(send, 200, JSON_HEADERS, json.dumps(answer).encode())


async def _answer(send: Any, status: int, headers: list, body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _stream(send: Any, *, cut: bool) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    events = EVENTS[:3] if cut else EVENTS
    for event in events:
        await send({"type": "http.response.body", "body": event, "more_body": True})
    if cut:
        raise CutConnection
    await send({"type": "http.response.body", "body": b""})
