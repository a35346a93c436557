"""A stand-in for the Anthropic Messages API with a fixed latency, for the benchmarks.

Served by uvicorn like any ASGI app:

    STUB_LATENCY_MS=2000 .venv/bin/uvicorn benchmarks.upstream:app --port 9100

It reads the whole request body, waits ``STUB_LATENCY_MS`` (0 by default), and answers
``POST .../v1/messages`` with a Messages response whose usage reports the prefix as a
cache read, the way the real API answers a call whose cache is warm. The answer does not
depend on the body, so Cachet and a direct call of the same body cost the stub the same.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

LATENCY = float(os.environ.get("STUB_LATENCY_MS", "0")) / 1000
CACHED_TOKENS = int(os.environ.get("STUB_CACHED_TOKENS", "10000"))

MESSAGE = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Clause 7 says the data stays in the region."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 24,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": CACHED_TOKENS,
            "output_tokens": 12,
        },
    }
).encode()
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(MESSAGE)).encode()),
    (b"request-id", b"req_bench"),
]
NOT_FOUND = b'{"type":"error","error":{"type":"not_found_error","message":"not found"}}'


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The ASGI app: one fixed Messages answer after ``LATENCY`` seconds."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if not scope["path"].endswith("/v1/messages"):
        await send({"type": "http.response.start", "status": 404, "headers": HEADERS[:1]})
        await send({"type": "http.response.body", "body": NOT_FOUND})
        return
    if LATENCY:
        await asyncio.sleep(LATENCY)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": MESSAGE})
