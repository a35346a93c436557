"""Drive the real ASGI application in one event loop, as uvicorn would.

``call_asgi`` sends one HTTP request and collects the response; with
``disconnect_after=N`` the client goes away after N body chunks, the way a
browser tab closing mid-stream does.

The send routes are served two ways in production: by Django, or by the direct router in
front of it (``templates_app/api/direct.py``). ``ROUTE`` says which one these helpers and
``RoutedClient`` (the ``api`` fixture) use; the ``both_routes`` fixture runs a test once
each way. Served directly, a request the router should take must not reach Django.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.http import HttpResponse, StreamingHttpResponse
from rest_framework.test import APIClient

from templates_app.api.direct import DirectRouter

ROUTE = "django"  # or "direct"


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
    raw_body: bytes | None = None,
    content_type: str = "application/json",
    host: str | None = None,
) -> AsgiResponse:
    app = app or routed_app()
    body = raw_body if raw_body is not None else json.dumps(payload).encode()
    if payload is None and raw_body is None:
        body = b""
    raw_headers = [
        (b"host", (host or "testserver").encode()),
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode("latin1")) for k, v in headers.items()]
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
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


async def posts_at_once(
    app: Any, path: str, payloads: list[Any], headers: dict[str, str]
) -> list[AsgiResponse]:
    """One POST of each of ``payloads`` to ``path`` through ``app``, all at once."""
    return await asyncio.gather(
        *(call_in_loop("POST", path, payload, headers, None, app=app) for payload in payloads)
    )


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


def routed_app(*, django: Any = None) -> Any:
    """The ASGI app of ``ROUTE``: Django's, or the direct router in front of it."""
    django = django or get_asgi_application()
    return DirectRouter(django) if ROUTE == "direct" else django


async def _not_for_django(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise AssertionError(f"the direct router handed {scope['path']} to Django")


class RoutedClient(APIClient):
    """DRF's test client; with ``ROUTE = "direct"`` a POST with an API key to a send route
    goes through the direct router instead (on this thread's database connection), and
    must be served by it."""

    def post(  # type: ignore[override]
        self, path: str, data: Any = None, format: str | None = None, **extra: Any
    ) -> Any:
        content_type = extra.pop("content_type", None)
        meta = {**self.defaults, **self._credentials, **extra}
        served = DirectRouter._route({"type": "http", "method": "POST", "path": path})[0]
        keyed = "HTTP_AUTHORIZATION" in meta or "HTTP_X_API_KEY" in meta
        if ROUTE != "direct" or served is None or not keyed or "?" in path:
            return super().post(path, data, format=format, content_type=content_type, **extra)
        body, content_type = self._encode_data(data, format, content_type)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in meta.items()
            if key.startswith("HTTP_")
        }
        if (content_type or "").split(";")[0].strip() != "application/json":
            # Not JSON: the router hands it to Django (test_direct.py), whose 415 this is.
            return super().post(path, data, format=format, content_type=content_type, **extra)
        answer = async_to_sync(call_in_loop)(
            "POST",
            path,
            None,
            headers,
            None,
            app=DirectRouter(_not_for_django),
            raw_body=body if isinstance(body, bytes) else body.encode(),
            content_type=content_type or "application/octet-stream",
        )
        return as_django_response(answer)


def as_django_response(answer: AsgiResponse) -> Any:
    """An ASGI answer as the test client's response object."""
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        response: Any = StreamingHttpResponse(iter(answer.chunks), status=answer.status)
    else:
        response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers.items():
        response[name] = value
    response.json = answer.json
    return response
