"""The send routes served straight from ASGI, in front of Django's request handling.

A send is the one call on the hot path, and Django's machinery around it (the request
object, the middleware stack, a thread made for each request, the request signals) cost
more CPU than the send's own work. ``DirectRouter`` takes the four send routes —
``POST /api/v1/templates/{slug}/send``, ``/openai/v1/chat/completions``,
``/openai/v1/responses`` and ``/anthropic/v1/messages`` — when they carry an API key,
and runs the very view classes Django would run: the same negotiation, authentication,
permissions, rate limit, body parsing, validation, send flow, errors and response headers
(``AsyncApiView.respond``), with a ``DirectRequest`` in place of DRF's request.

Everything else goes to Django unchanged, and so do the sends whose answer depends on
Django's own handling: no API key (a signed-in admin user), a query string, a body that
is not JSON, a host Django would refuse, or an HTTPS redirect to make. The tests run
the send routes both ways (``tests/asgi.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.http.request import HttpHeaders, split_domain_port, validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from rest_framework.exceptions import APIException

from .compat.views import ChatCompletionsApi, MessagesApi, ResponsesApi
from .parsers import StrictJSONParser
from .views import AsyncApiView, TemplateSendApi

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ROUTES: list[tuple[re.Pattern[str], type[AsyncApiView]]] = [
    # The slug as Django's <slug:slug> converter takes it.
    (re.compile(r"/api/v1/templates/(?P<slug>[-a-zA-Z0-9_]+)/send"), TemplateSendApi),
    (re.compile(r"/openai/v1/chat/completions"), ChatCompletionsApi),
    (re.compile(r"/openai/v1/responses"), ResponsesApi),
    (re.compile(r"/anthropic/v1/messages"), MessagesApi),
]
JSON_TYPE = "application/json"


class DirectRequest:
    """What the API views read of a request, for a send the router takes.

    Like DRF's request, it authenticates on first use of ``user`` or ``auth`` (so a
    406 still comes before a 401) and parses the body on first use of ``data``.
    """

    method = "POST"
    query_params: dict[str, str] = {}  # a send with a query string goes to Django

    def __init__(self, meta: dict[str, Any], body: bytes, authenticators: list[Any]) -> None:
        self.META = meta
        self.headers = HttpHeaders(meta)
        self.body = body
        self.authenticators = authenticators
        self.successful_authenticator: Any = None
        self._identity: tuple[Any, Any] | None = None
        self._data: Any = None

    @property
    def user(self) -> Any:
        return self._authenticated()[0]

    @property
    def auth(self) -> Any:
        return self._authenticated()[1]

    def _authenticated(self) -> tuple[Any, Any]:
        if self._identity is None:
            self._identity = (None, None)
            for authenticator in self.authenticators:
                found = authenticator.authenticate(self)
                if found is not None:
                    self.successful_authenticator = authenticator
                    self._identity = found
                    break
        return self._identity

    @property
    def data(self) -> Any:
        if self._data is None:
            self._data = StrictJSONParser().parse(_Body(self.body))
        return self._data


class _Body:
    """The body as the parser reads it: ``read(limit)``."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def read(self, limit: int) -> bytes:
        return self.body[:limit]


class DirectRouter:
    """An ASGI app: the send routes of requests with an API key, else ``django``."""

    def __init__(self, django: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.django = django

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        view_class, kwargs = self._route(scope)
        if view_class is None:
            return await self.django(scope, receive, send)
        meta = _meta(scope)
        if not _takes(scope, meta):
            return await self.django(scope, receive, send)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body, complete = await _read_body(receive, limit + 1)
        if not complete:  # the client went away before its body came
            return None
        view = view_class()
        view.args, view.kwargs = (), kwargs
        request = DirectRequest(meta, body, view.get_authenticators())
        secure = _secure(scope, meta)
        await _answer_unless_gone(receive, self._respond(view, request, secure, send))
        return None

    @staticmethod
    def _route(scope: Scope) -> tuple[type[AsyncApiView] | None, dict[str, str]]:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None, {}
        path = scope["path"]
        for pattern, view_class in ROUTES:
            match = pattern.fullmatch(path)
            if match is not None:
                return view_class, match.groupdict()
        return None, {}

    @staticmethod
    async def _respond(
        view: AsyncApiView, request: DirectRequest, secure: bool, send: Send
    ) -> None:
        response = await view.respond(request)
        await _send_response(_with_middleware_headers(response, secure), send)


def _meta(scope: Scope) -> dict[str, Any]:
    """The request's headers as Django names them in ``request.META``."""
    meta: dict[str, Any] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin1").upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            key = f"HTTP_{key}"
        text = value.decode("latin1")
        meta[key] = f"{meta[key]},{text}" if key in meta else text
    return meta


def _takes(scope: Scope, meta: dict[str, Any]) -> bool:
    """Whether this request's answer is the same without Django's own handling."""
    if scope.get("query_string") or not _carries_key(meta):
        return False
    media_type = meta.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if media_type != JSON_TYPE or not _host_allowed(meta):
        return False
    return not (settings.SECURE_SSL_REDIRECT and not _secure(scope, meta))


def _carries_key(meta: dict[str, Any]) -> bool:
    """An API key header, well formed or not (a malformed one is the views' 401)."""
    parts = meta.get("HTTP_AUTHORIZATION", "").split()
    return bool(parts and parts[0].lower() == "bearer") or bool(
        meta.get("HTTP_X_API_KEY", "").strip()
    )


def _host_allowed(meta: dict[str, Any]) -> bool:
    if settings.USE_X_FORWARDED_HOST or "HTTP_HOST" not in meta:
        return False
    domain, _ = split_domain_port(meta["HTTP_HOST"])
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _secure(scope: Scope, meta: dict[str, Any]) -> bool:
    """``request.is_secure()`` as Django answers it."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = meta.get(header)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return scope.get("scheme") == "https"


async def _read_body(receive: Receive, most: int) -> tuple[bytes, bool]:
    """The request body, at most ``most`` bytes of it; False if the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", False
        chunk = message.get("body", b"")
        if size < most:
            chunks.append(chunk)
            size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)[:most], True


async def _answer_unless_gone(receive: Receive, answering: Awaitable[None]) -> None:
    """Answer, unless the client goes away first: then the answer is cancelled, as Django
    cancels a view whose client disconnected (the send flow records it)."""
    answer = asyncio.ensure_future(answering)
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait([answer, gone], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (answer, gone):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if answer.done() and not answer.cancelled():
        answer.result()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Plain(HttpRequest):
    """The request the header middleware looks at: only whether it came over HTTPS."""

    def __init__(self, secure: bool) -> None:
        super().__init__()
        self._secure = secure

    def is_secure(self) -> bool:
        return self._secure


def _with_middleware_headers(response: HttpResponseBase, secure: bool) -> Any:
    """The headers the stock middleware adds to an API answer (security, framing, length)."""
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response = response.render()
    request = _Plain(secure)
    for middleware in (SecurityMiddleware, XFrameOptionsMiddleware):
        response = middleware(_unused).process_response(request, response)
    if not response.streaming and not response.has_header("Content-Length"):
        response.headers["Content-Length"] = str(len(response.content))
    return response


def _unused(request: HttpRequest) -> HttpResponse:
    raise APIException("not called: only the response hook runs")


async def _send_response(response: Any, send: Send) -> None:
    """``response`` as ASGI messages, as Django's ASGI handler sends it."""
    headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    if not response.streaming:
        await send({"type": "http.response.body", "body": response.content})
        return
    async for part in response.streaming_content:
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body"})
