"""The Anthropic Messages API over httpx: sends, streams, counts tokens, maps errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx

from gateway.anthropic.translate import (
    DIAGNOSTICS_BETA,
    PROVIDER,
    MessageBuilder,
    from_anthropic,
    from_count_tokens,
    malformed,
    to_anthropic,
    to_count_tokens,
    write_ttl,
)
from gateway.base import Wire
from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    OverloadedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)
from gateway.http import (
    DEFAULT_LIMITS,
    DEFAULT_POOLS,
    Dialect,
    ErrorDetails,
    ProviderHTTP,
    excerpt,
    json_or_none,
    pool_limits,
    pooled_clients,
    redact,
    transport_of,
)
from gateway.retry import MAX_ATTEMPTS, parse_retry_after
from gateway.types import (
    ChatRequest,
    Result,
    StreamEvent,
)
from gateway.wire import dumps

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 600.0
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def _beta_headers(payload: Mapping[str, Any]) -> dict[str, str] | None:
    """The beta header a body's fields need: cache diagnostics, when it asks for them."""
    return {"anthropic-beta": DIAGNOSTICS_BETA} if "diagnostics" in payload else None


def _error_details(response: httpx.Response, body: bytes) -> ErrorDetails:
    """``error.message`` (else an excerpt), the request id (header, else body), the wait."""
    payload = json_or_none(body)
    payload = payload if isinstance(payload, dict) else {}
    error = payload.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    body_id = payload.get("request_id")
    return ErrorDetails(
        message if isinstance(message, str) and message else excerpt(body),
        response.headers.get("request-id") or (body_id if isinstance(body_id, str) else None),
        parse_retry_after(response.headers.get("retry-after")),
    )


_DIALECT = Dialect(
    PROVIDER,
    statuses={
        400: BadRequestError,
        401: AuthenticationError,
        403: AuthenticationError,
        404: BadRequestError,
        413: BadRequestError,
        422: BadRequestError,
        429: RateLimitError,
        529: OverloadedError,
    },
    server_statuses=range(500, 600),
    error_details=_error_details,
    strict_error_body=False,  # an error body that breaks off counts as empty
)


class AnthropicClient:
    """The Messages API over one pooled httpx client; raises ``gateway.errors`` only."""

    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        limits: httpx.Limits = DEFAULT_LIMITS,
        pools: int = DEFAULT_POOLS,
        transport: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._api_key = api_key
        self._connect_timeout = connect_timeout
        headers = {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}
        headers["content-type"] = "application/json"
        timeouts = httpx.Timeout(timeout, connect=connect_timeout)
        self._http = ProviderHTTP(
            pooled_clients(
                pools, limits, transport, base_url=base_url, headers=headers, timeout=timeouts
            ),
            _DIALECT,
            redact=self._redact,
            unreachable=self._unreachable,
            attempts=max_attempts,
            sleep=sleep,
        )

    @classmethod
    def unavailable(cls, config: Mapping[str, Any]) -> str | None:
        """Why ``config`` cannot build a client: no API key."""
        return None if config.get("ANTHROPIC_API_KEY") else "ANTHROPIC_API_KEY is not set"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AnthropicClient:
        """A client from the ``GATEWAY`` settings; ProviderUnavailableError without a key."""
        reason = cls.unavailable(config)
        if reason is not None:
            raise ProviderUnavailableError(PROVIDER, reason)
        return cls(
            config["ANTHROPIC_API_KEY"],
            base_url=config.get("ANTHROPIC_BASE_URL") or DEFAULT_BASE_URL,
            connect_timeout=float(config.get("CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT),
            timeout=float(config.get("TIMEOUT") or DEFAULT_TIMEOUT),
            max_attempts=int(config.get("MAX_ATTEMPTS") or MAX_ATTEMPTS),
            limits=pool_limits(config),
            pools=int(config.get("POOLS") or DEFAULT_POOLS),
            transport=transport_of(config),
        )

    async def send(self, request: ChatRequest, wire: Wire | None = None) -> Result:
        """One Messages call, retried on 429, 529, other 5xx and connection errors."""
        response = await self._call("/v1/messages", wire or to_anthropic(request))
        request_id = response.headers.get("request-id")
        return from_anthropic(
            self._json(response),
            request_id=request_id,
            status=response.status_code,
            write_ttl=write_ttl(request),
        )

    async def count_tokens(self, request: ChatRequest) -> int:
        """The provider's estimate of the input tokens of ``request`` (caching ignored)."""
        payload = to_count_tokens(to_anthropic(request))
        response = await self._call("/v1/messages/count_tokens", payload)
        return from_count_tokens(self._json(response), response.status_code)

    async def stream(
        self, request: ChatRequest, wire: Wire | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Text ``delta`` events, then one ``done``; only the opening request is retried."""
        payload = {**(wire or to_anthropic(request)), "stream": True}
        response = await self._http.post("/v1/messages", dumps(payload), _beta_headers(payload))
        try:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                body = await self._read(response)
                raise malformed(
                    response.status_code, self._redact(f"not a stream: {excerpt(body)}")
                )
            yield StreamEvent("start")
            async for event in self._stream_events(response, write_ttl(request)):
                yield event
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def _stream_events(
        self, response: httpx.Response, ttl: str
    ) -> AsyncIterator[StreamEvent]:
        builder = MessageBuilder()
        request_id = response.headers.get("request-id")
        async with contextlib.aclosing(self._events(response)) as events:
            async for kind, event in events:
                if kind == "error":
                    raise self._event_error(event, request_id)
                try:
                    text = builder.apply(kind, event)
                except (KeyError, TypeError, AttributeError) as exc:
                    raise malformed(200, f"unexpected {kind} event ({exc!r})") from exc
                if text:
                    yield StreamEvent("delta", text=text)
                if builder.stopped:
                    break
        if not builder.stopped:
            raise StreamInterruptedError(PROVIDER, None, "the stream ended before message_stop")
        try:
            body = builder.body()
        except ValueError as exc:
            raise malformed(200, "a tool input in the stream is not JSON") from exc
        result = from_anthropic(body, request_id=request_id, write_ttl=ttl)
        yield StreamEvent("done", result=result)

    async def _events(self, response: httpx.Response) -> AsyncGenerator[tuple[str, Any], None]:
        """``(type, decoded data)`` per SSE event, pings dropped; transport errors mapped."""
        async with contextlib.aclosing(self._http.events(response, during="mid-stream")) as sse:
            async for name, data in sse:
                try:
                    event = json.loads(data)
                except ValueError as exc:
                    message = self._redact(f"event data is not JSON: {data[:80]!r}")
                    raise malformed(200, message) from exc
                kind = name or (event.get("type") if isinstance(event, dict) else None)
                if kind != "ping":
                    yield str(kind), event

    def _event_error(self, event: Any, request_id: str | None) -> ProviderError:
        """The error an ``event: error`` stands for, by its error type."""
        event = event if isinstance(event, dict) else {}
        error = event.get("error") if isinstance(event.get("error"), dict) else {}
        status = _ERROR_STATUS.get(str(error.get("type")))
        message = self._redact(str(error.get("message") or "error event without a message"))
        request_id = event.get("request_id") or request_id
        return _DIALECT.error_class(status)(PROVIDER, status, message, request_id, retry_after=None)

    async def _call(self, path: str, payload: Mapping[str, Any]) -> httpx.Response:
        """POST with retries; the 2xx response with its body read."""
        response = await self._http.post(path, dumps(payload), _beta_headers(payload))
        await self._read(response)
        return response

    async def _read(self, response: httpx.Response) -> bytes:
        """The rest of the body; a break after the status line is not retried (maybe billed)."""
        during = "while reading the body"
        return await self._http.read(response, during=during, status=response.status_code)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except ValueError as exc:
            message = self._redact(f"the body is not JSON: {excerpt(response.content)}")
            raise malformed(response.status_code, message) from exc

    def _unreachable(self, exc: httpx.HTTPError) -> str:
        """The message of a connection error; a connect timeout names the limit."""
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within {self._connect_timeout:g} s"
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return self._redact(f"cannot reach the API ({detail})")

    def _redact(self, text: str) -> str:
        """``text`` without the API key, in case a proxy echoes request headers back."""
        return redact(text, self._api_key, "[redacted]")
