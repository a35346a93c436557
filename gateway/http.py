"""The httpx plumbing the HTTP provider clients share: POST with retries, read, map errors.

What differs between providers is spelled out in each provider module, not here: its
``Dialect`` (which status is which error, how to read an error body, what to do when
an error body breaks off), how it redacts its key and how it words a failed
connection. A break after the status line is never retried: the call may be billed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx

from gateway.aio import aio_client
from gateway.errors import (
    GatewayError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ServerError,
    StreamInterruptedError,
)
from gateway.registry import DEFAULT_HTTP_TRANSPORT
from gateway.retry import with_retries
from gateway.sse import iter_lines, iter_sse

EXCERPT_CHARS = 200
EMPTY_BODY = "(empty body)"
# httpx's default (100 connections, 20 kept alive) would queue sends beyond 100 in flight
# and reopen connections under steady concurrency above 20.
DEFAULT_LIMITS = httpx.Limits(max_connections=4096, max_keepalive_connections=256)


# httpcore's pool does work per request that grows with the requests it holds at once:
# at 32 in flight one pool cost 1.36 ms of CPU a call here, four pools 0.79 ms.
DEFAULT_POOLS = 4


def pooled_clients(
    pools: int, limits: httpx.Limits, transport: str | None = None, **options: Any
) -> list[httpx.AsyncClient]:
    """``pools`` httpx clients that share ``limits`` between them, each with ``options``; on
    aiohttp (``gateway/aio.py``) one client, whose pool has no per-request cost to spread."""
    if (transport or DEFAULT_HTTP_TRANSPORT) == "aiohttp":
        return [aio_client(limits, **options)]
    per_pool = httpx.Limits(
        max_connections=max(1, (limits.max_connections or DEFAULT_LIMITS.max_connections) // pools),
        max_keepalive_connections=max(1, (limits.max_keepalive_connections or 0) // pools),
    )
    return [httpx.AsyncClient(limits=per_pool, **options) for _ in range(pools)]


def transport_of(config: Mapping[str, Any]) -> str:
    """The ``GATEWAY`` setting ``HTTP_TRANSPORT``: ``aiohttp`` (the default) or ``httpx``."""
    return str(config.get("HTTP_TRANSPORT") or DEFAULT_HTTP_TRANSPORT)


def pool_limits(config: Mapping[str, Any]) -> httpx.Limits:
    """Pool limits from the ``GATEWAY`` settings ``MAX_CONNECTIONS`` and ``MAX_KEEPALIVE``."""
    return httpx.Limits(
        max_connections=int(config.get("MAX_CONNECTIONS") or DEFAULT_LIMITS.max_connections),
        max_keepalive_connections=int(
            config.get("MAX_KEEPALIVE", DEFAULT_LIMITS.max_keepalive_connections)
        ),
    )


def excerpt(body: bytes, *, ellipsis: str = "...", empty: str = EMPTY_BODY) -> str:
    """``body`` on one line, cut at 200 characters (then ``ellipsis``); ``empty`` if blank."""
    text = " ".join(body.decode("utf-8", "replace").split())
    if len(text) > EXCERPT_CHARS:
        return text[:EXCERPT_CHARS] + ellipsis
    return text or empty


def json_or_none(body: bytes) -> Any:
    """The JSON value of ``body``, or None when it is not JSON."""
    try:
        return json.loads(body)
    except ValueError:
        return None


def redact(text: str, secret: str | None, mask: str) -> str:
    """``text`` with ``secret`` replaced by ``mask``; unchanged when there is no secret."""
    return text.replace(secret, mask) if secret else text


class ErrorDetails(NamedTuple):
    """What an error answer says: its message (not yet redacted), request id and wait."""

    message: str
    request_id: str | None
    retry_after: float | None


@dataclass(frozen=True)
class Dialect:
    """How one provider reports errors over HTTP: its status table and error bodies.

    ``strict_error_body``: a break while reading an error answer's body is a transport
    error (True), or the body counts as empty (False).
    """

    provider: str
    statuses: Mapping[int, type[ProviderError]]
    server_statuses: range
    error_details: Callable[[httpx.Response, bytes], ErrorDetails]
    strict_error_body: bool

    def error_class(self, status: int | None) -> type[ProviderError]:
        """The table's class, else ServerError within ``server_statuses``, else ProviderError."""
        if status is None:
            return ProviderError
        if status in self.statuses:
            return self.statuses[status]
        return ServerError if status in self.server_statuses else ProviderError


class ProviderHTTP:
    """POSTs to one provider over pooled httpx clients, taken in turn; raises
    ``gateway.errors`` only.

    ``redact`` cleans every message made from what came over the wire; ``unreachable``
    gives the (already redacted) message of a ProviderConnectionError.
    """

    def __init__(
        self,
        clients: httpx.AsyncClient | Sequence[httpx.AsyncClient],
        dialect: Dialect,
        *,
        redact: Callable[[str], str],
        unreachable: Callable[[httpx.HTTPError], str],
        attempts: int,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._clients = [clients] if isinstance(clients, httpx.AsyncClient) else list(clients)
        self._turn = itertools.cycle(self._clients)
        self._dialect = dialect
        self._provider = dialect.provider
        self._redact = redact
        self._unreachable = unreachable
        self._attempts = attempts
        self._sleep = sleep

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """The open 2xx response (body still to read); retried as ``gateway.retry`` decides.

        ``body`` is the caller's own bytes (``gateway.wire.dumps``): httpx's ``json=`` would
        serialize with other separators and escapes.
        """
        return await with_retries(
            lambda: self._open(url, body, headers), attempts=self._attempts, sleep=self._sleep
        )

    async def read(
        self,
        response: httpx.Response,
        *,
        during: str,
        status: int | None = None,
        request_id: str | None = None,
    ) -> bytes:
        """The rest of the body, then the response closed; ``during`` words a break."""
        try:
            return await response.aread()
        except httpx.HTTPError as exc:
            raise self._broken(exc, during, status, request_id) from exc
        finally:
            await response.aclose()

    async def events(
        self, response: httpx.Response, *, during: str, request_id: str | None = None
    ) -> AsyncGenerator[tuple[str | None, str], None]:
        """``(event, data)`` per server-sent event; a break or timeout is a gateway error."""
        try:
            async for event in iter_sse(iter_lines(response.aiter_bytes())):
                yield event
        except httpx.HTTPError as exc:
            raise self._broken(exc, during, None, request_id) from exc

    async def aclose(self) -> None:
        """Close the pooled connections."""
        for client in self._clients:
            await client.aclose()

    async def _open(
        self, url: str, body: bytes, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        """POST once; the open response when it is 2xx, else the mapped error."""
        client = next(self._turn)
        request = client.build_request("POST", url, content=body, headers=headers)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.is_success:
            return response
        raise self._status_error(response, await self._error_body(response))

    async def _error_body(self, response: httpx.Response) -> bytes:
        """The body of an error answer, then the response closed."""
        try:
            return await response.aread()
        except httpx.HTTPError as exc:
            if self._dialect.strict_error_body:
                raise self._transport_error(exc) from exc
            return b""
        finally:
            await response.aclose()

    def _status_error(self, response: httpx.Response, body: bytes) -> ProviderError:
        """The error for a non-2xx answer, with the provider's own (redacted) message."""
        details = self._dialect.error_details(response, body)
        status = response.status_code
        return self._dialect.error_class(status)(
            self._provider,
            status,
            self._redact(details.message) or EMPTY_BODY,
            details.request_id,
            retry_after=details.retry_after,
        )

    def _transport_error(self, exc: httpx.HTTPError) -> GatewayError:
        """Connect failures are (retryable) connection errors; other timeouts are not."""
        # Read timeouts are not retried: the provider may already have billed the call.
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout):
            return self._timeout_error()
        return ProviderConnectionError(self._provider, self._unreachable(exc))

    def _broken(
        self, exc: httpx.HTTPError, during: str, status: int | None, request_id: str | None
    ) -> GatewayError:
        """A timeout, or a StreamInterruptedError for a connection that broke ``during``."""
        if isinstance(exc, httpx.TimeoutException):
            return self._timeout_error()
        message = f"the connection broke {during} ({type(exc).__name__})"
        return StreamInterruptedError(self._provider, status, message, request_id)

    def _timeout_error(self) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            self._provider, f"no answer within {self._clients[0].timeout.read:g} s"
        )
