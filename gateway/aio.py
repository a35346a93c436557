"""httpx over aiohttp: the transport the provider clients use by default.

httpx's own async pool (httpcore on anyio) costs about 1 ms of CPU per call under
concurrency here, aiohttp's about a third of that (``benchmarks/http_clients.py``), so
the clients keep httpx's API — requests, responses, timeouts, errors — and let aiohttp
carry the bytes, through ``httpx-aiohttp`` (the transport the official OpenAI and
Anthropic SDKs offer for the same reason).

What a failure means must not change with the transport: a connect error may be retried
(nothing reached the provider) while a read timeout or a connection lost mid-answer may
not (the provider may have billed the call). ``httpx-aiohttp`` maps every aiohttp
connection error, a server disconnect included, to ``httpx.ConnectTimeout``, so this
module maps aiohttp's errors itself, to the httpx error httpx's own pool raises.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


def httpx_error(exc: BaseException, *, sending: bool) -> httpx.TransportError | None:
    """The httpx error for aiohttp's ``exc``; ``sending``: before the answer's headers came."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timed out")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc))
    if isinstance(exc, aiohttp.SocketTimeoutError | asyncio.TimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timed out")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        message = "Server disconnected without sending a response." if sending else str(exc)
        return httpx.RemoteProtocolError(message or "server disconnected")
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(str(exc) or "malformed answer")
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionError):
        return (httpx.WriteError if sending else httpx.ReadError)(str(exc) or "connection lost")
    return None


def _original(exc: BaseException) -> BaseException:
    """The aiohttp error behind one ``httpx-aiohttp`` mapped, or ``exc`` itself."""
    cause = exc.__cause__
    return cause if isinstance(cause, aiohttp.ClientError | asyncio.TimeoutError) else exc


class _Body(httpx.AsyncByteStream):
    """An answer's body, its read errors mapped as the request's are."""

    def __init__(self, stream: httpx.AsyncByteStream) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError) as exc:
            raise _mapped(exc, sending=False) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


def _mapped(exc: BaseException, *, sending: bool) -> BaseException:
    return httpx_error(_original(exc), sending=sending) or exc


class AioTransport(AiohttpTransport):
    """``httpx-aiohttp``'s transport, with aiohttp's errors mapped as httpx's pool raises them."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (TimeoutError, httpx.TransportError, aiohttp.ClientError) as exc:
            raise _mapped(exc, sending=True) from exc
        response.stream = _Body(response.stream)  # type: ignore[arg-type]
        return response


def aio_client(limits: httpx.Limits, **options: Any) -> httpx.AsyncClient:
    """An httpx client on aiohttp: at most ``limits.max_connections`` connections open,
    idle ones closed after ``limits.keepalive_expiry`` (aiohttp has no cap on idle ones)."""

    # As httpx's own pool: its CA bundle (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), and the
    # proxies of HTTPS_PROXY / HTTP_PROXY / NO_PROXY, which httpx ignores once it is handed a
    # transport and aiohttp reads only when told to.
    tls = httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:
        # Made on first use, inside the event loop that the client serves.
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0,
            limit_per_host=0,
            keepalive_timeout=limits.keepalive_expiry or 5.0,
            ssl=tls,
        )
        return aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=True)

    return httpx.AsyncClient(transport=AioTransport(client=session), **options)
