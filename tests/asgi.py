"""Drive the real ASGI application in one event loop, as uvicorn would.

``call_asgi`` sends one HTTP request and collects the response; with
``disconnect_after=N`` the client goes away after N body chunks, the way a
browser tab closing mid-stream does.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from django.core.asgi import get_asgi_application


@dataclass
class AsgiResponse:
    status: int
    headers: dict[str, str]
    chunks: list[bytes]

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """The server-sent events of the body."""
        events = []
        for chunk in self.body.decode().strip().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
            if "event" in fields:
                events.append((fields["event"], json.loads(fields["data"])))
        return events


async def call_in_loop(
    method: str,
    path: str,
    payload: Any,
    headers: dict[str, str],
    disconnect_after: int | None,
    app: Any = None,
    disconnect_at: float | None = None,
) -> AsgiResponse:
    app = app or get_asgi_application()
    body = json.dumps(payload).encode() if payload is not None else b""
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": raw_headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "scheme": "http",
        "root_path": "",
    }
    gone = asyncio.Event()
    sent_request = False
    response = AsgiResponse(0, {}, [])

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body" and message.get("body"):
            response.chunks.append(message["body"])
            if disconnect_after is not None and len(response.chunks) >= disconnect_after:
                gone.set()

    if disconnect_at is not None:
        asyncio.get_running_loop().call_later(disconnect_at, gone.set)
    await asyncio.wait_for(app(scope, receive, send), timeout=60)
    return response


def call_asgi(
    method: str,
    path: str,
    payload: Any = None,
    *,
    headers: dict[str, str] | None = None,
    disconnect_after: int | None = None,
    disconnect_at: float | None = None,
) -> AsgiResponse:
    """One request through the ASGI app, in a fresh event loop; the client goes away after
    ``disconnect_after`` body chunks, or ``disconnect_at`` seconds."""
    return asyncio.run(
        call_in_loop(
            method, path, payload, headers or {}, disconnect_after, disconnect_at=disconnect_at
        )
    )
