"""OpenAI over httpx: Chat Completions, or the Responses API for profiles that say
``api = "responses"``; sends, streams (assembling chunks or events), maps errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx

from gateway.base import Wire
from gateway.catalog import get_profile
from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    ProviderUnavailableError,
    RateLimitError,
    StreamInterruptedError,
)
from gateway.http import (
    DEFAULT_LIMITS,
    DEFAULT_POOLS,
    EMPTY_BODY,
    EXCERPT_CHARS,
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
from gateway.openai.common import PROVIDER, as_object, malformed, typed_field
from gateway.openai.responses import from_responses
from gateway.openai.translate import from_openai, read_usage, to_openai
from gateway.retry import MAX_ATTEMPTS, parse_retry_after
from gateway.types import ChatRequest, Result, StreamEvent, ToolCall, Usage
from gateway.wire import dumps

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 600.0


class _Assembly:
    """Builds one Result from the ``data`` of ``chat.completion.chunk`` events, in order."""

    def __init__(self, request_id: str | None, api_key: str | None = None) -> None:
        self.request_id = request_id
        self.api_key = api_key
        self.text: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.stop_reason: str | None = None
        self.model: str | None = None
        self.usage = Usage()  # unknown unless a chunk carries usage

    def add(self, data: str) -> str:
        """Take in one chunk and return its text delta ("" when it has none)."""
        try:
            chunk = as_object(json.loads(data), "a stream chunk")
        except ValueError as exc:
            raise malformed(f"a stream event is not JSON: {data[:EXCERPT_CHARS]!r}") from exc
        if chunk.get("error") is not None:
            message = _redact(_error_message(chunk) or "", self.api_key) or EMPTY_BODY
            raise StreamInterruptedError(PROVIDER, None, message, self.request_id)
        self.model = typed_field(chunk, "model", str) or self.model
        if chunk.get("usage") is not None:
            self.usage = read_usage(chunk["usage"])
        choice = as_object((typed_field(chunk, "choices", list) or [{}])[0], "choices[0]")
        self.stop_reason = typed_field(choice, "finish_reason", str) or self.stop_reason
        delta = typed_field(choice, "delta", Mapping) or {}
        for position, fragment in enumerate(typed_field(delta, "tool_calls", list) or []):
            self._merge(position, as_object(fragment, "a tool call fragment"))
        text = typed_field(delta, "content", str) or ""
        self.text.append(text)
        return text

    def _merge(self, position: int, fragment: Mapping[str, Any]) -> None:
        """The first fragment of a call names it; later ones append to its arguments."""
        index = typed_field(fragment, "index", int)
        empty = {"id": "", "name": "", "arguments": ""}
        call = self.calls.setdefault(position if index is None else index, empty)
        function = typed_field(fragment, "function", Mapping) or {}
        call["id"] = typed_field(fragment, "id", str) or call["id"]
        call["name"] = typed_field(function, "name", str) or call["name"]
        call["arguments"] += typed_field(function, "arguments", str) or ""

    def result(self) -> Result:
        """The assembled result; raises MalformedResponseError for a call without id or name."""
        calls = [self.calls[index] for index in sorted(self.calls)]
        if any(not call["id"] or not call["name"] for call in calls):
            raise malformed("a streamed tool call has no id or no name")
        return Result(
            text="".join(self.text),
            tool_calls=tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in calls),
            stop_reason=self.stop_reason,
            usage=self.usage,
            model=self.model,
            request_id=self.request_id,
        )


class _ResponsesAssembly:
    """Follows a Responses API event stream: text deltas as they come, then the result of
    the terminal ``response.completed`` (or ``response.incomplete``) event."""

    def __init__(self, request_id: str | None, api_key: str | None = None) -> None:
        self.request_id = request_id
        self.api_key = api_key
        self.result: Result | None = None

    def add(self, data: str) -> str:
        """Take in one event and return its text delta ("" when it has none)."""
        try:
            event = as_object(json.loads(data), "a stream event")
        except ValueError as exc:
            raise malformed(f"a stream event is not JSON: {data[:EXCERPT_CHARS]!r}") from exc
        kind = typed_field(event, "type", str)
        if kind == "response.output_text.delta":
            return typed_field(event, "delta", str) or ""
        if kind in ("response.completed", "response.incomplete"):
            response = typed_field(event, "response", Mapping, required=True)
            self.result = replace(from_responses(response), request_id=self.request_id)
        elif kind in ("error", "response.failed"):
            failed = typed_field(event, "response", Mapping) or event
            message = _redact(_error_message(failed) or "", self.api_key) or EMPTY_BODY
            raise StreamInterruptedError(PROVIDER, None, message, self.request_id)
        return ""


def _error_message(body: Any) -> str | None:
    """``error.message`` (OpenAI, vLLM, llama.cpp, Ollama shapes), or None."""
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        error = error.get("message")
    if not isinstance(error, str) and isinstance(body, Mapping):
        error = body.get("message")  # older vLLM: {"object": "error", "message": ...}
    return error if isinstance(error, str) and error else None


def _error_details(response: httpx.Response, body: bytes) -> ErrorDetails:
    """``error.message`` (else a short excerpt), ``x-request-id`` and, on a 429, the wait."""
    # No "..." after a cut, and an empty body is named only after redaction.
    message = _error_message(json_or_none(body)) or excerpt(body, ellipsis="", empty="")
    retry_after = _retry_after(response.headers) if response.status_code == 429 else None
    return ErrorDetails(message, response.headers.get("x-request-id"), retry_after)


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait: ``retry-after-ms`` (OpenAI's finer header) wins over ``retry-after``."""
    milliseconds = parse_retry_after(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    return parse_retry_after(headers.get("retry-after"))


_DIALECT = Dialect(
    PROVIDER,
    statuses={
        400: BadRequestError,
        401: AuthenticationError,
        403: AuthenticationError,
        404: BadRequestError,
        422: BadRequestError,
        429: RateLimitError,
    },
    # Unlike Anthropic: 413 is a plain ProviderError, and 529 (as every status from 500
    # up; status codes have three digits) is a ServerError.
    server_statuses=range(500, 1000),
    error_details=_error_details,
    strict_error_body=True,  # an error body that breaks off is a transport error
)
_KEY_PATTERN = re.compile(r"sk-[\w*.-]+")
_READING = "while reading the answer"


def _redact(text: str, api_key: str | None) -> str:
    # OpenAI echoes a masked key in 401 messages ("Incorrect API key provided: sk-...").
    return _KEY_PATTERN.sub("sk-***", redact(text, api_key, "***"))


class OpenAIClient:
    """Chat Completions over one pooled httpx client; ``api_key`` is None for local servers."""

    name = PROVIDER

    def __init__(
        self,
        api_key: str | None,
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
        self._urls = {
            "chat": base_url.rstrip("/") + "/chat/completions",
            "responses": base_url.rstrip("/") + "/responses",
        }
        self._api_key = api_key
        self._headers = {"content-type": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._http = ProviderHTTP(
            pooled_clients(
                pools, limits, transport, timeout=httpx.Timeout(timeout, connect=connect_timeout)
            ),
            _DIALECT,
            redact=self._redact,
            unreachable=self._unreachable,
            attempts=max_attempts,
            sleep=sleep,
        )

    @classmethod
    def unavailable(cls, config: Mapping[str, Any]) -> str | None:
        """Why ``config`` cannot build a client: no key for OpenAI's own hosts."""
        host = httpx.URL(config.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).host
        if config.get("OPENAI_API_KEY") or not (
            host == "openai.com" or host.endswith(".openai.com")
        ):
            return None
        return "OPENAI_API_KEY is not set"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OpenAIClient:
        """The client for the ``GATEWAY`` settings; ProviderUnavailableError without a key.

        A key is required only for OpenAI's own hosts: local servers need none.
        """
        reason = cls.unavailable(config)
        if reason is not None:
            raise ProviderUnavailableError(PROVIDER, reason)
        base_url = config.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return cls(
            config.get("OPENAI_API_KEY") or None,
            base_url=base_url,
            connect_timeout=float(config.get("CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT),
            timeout=float(config.get("TIMEOUT") or DEFAULT_TIMEOUT),
            max_attempts=int(config.get("MAX_ATTEMPTS") or MAX_ATTEMPTS),
            limits=pool_limits(config),
            pools=int(config.get("POOLS") or DEFAULT_POOLS),
            transport=transport_of(config),
        )

    async def send(self, request: ChatRequest, wire: Wire | None = None) -> Result:
        """One answer, retried on 429, 5xx and connection errors; never on a timeout."""
        api = get_profile(request.model).api
        response = await self._post(api, wire or to_openai(request))
        request_id = response.headers.get("x-request-id")
        await self._http.read(response, during=_READING, request_id=request_id)
        parse = from_responses if api == "responses" else from_openai
        try:
            result = parse(response.json())
        except (ValueError, MalformedResponseError) as exc:
            detail = getattr(exc, "message", None) or "the body is not JSON"
            raise MalformedResponseError(
                PROVIDER, response.status_code, detail, request_id
            ) from exc
        return replace(result, request_id=request_id)

    async def stream(
        self, request: ChatRequest, wire: Wire | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Text ``delta`` events, then one ``done``; only the opening request is retried.

        Raises StreamInterruptedError if the stream breaks or ends before its last event
        (``data: [DONE]``, or the Responses API's ``response.completed``).
        """
        api = get_profile(request.model).api
        if api == "responses":
            async for event in self._stream_responses(
                {**(wire or to_openai(request)), "stream": True}
            ):
                yield event
            return
        payload = {
            **(wire or to_openai(request)),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        response = await self._post(api, payload)
        assembly = _Assembly(response.headers.get("x-request-id"), self._api_key)
        events = self._http.events(response, during=_READING, request_id=assembly.request_id)
        try:
            yield StreamEvent("start")
            async with contextlib.aclosing(events):
                async for _, data in events:
                    if data == "[DONE]":
                        yield StreamEvent("done", result=assembly.result())
                        return
                    text = assembly.add(data)
                    if text:
                        yield StreamEvent("delta", text=text)
        finally:
            await response.aclose()
        detail = "the stream ended before [DONE]"
        raise StreamInterruptedError(PROVIDER, None, detail, assembly.request_id)

    async def _stream_responses(self, payload: Mapping[str, Any]) -> AsyncIterator[StreamEvent]:
        response = await self._post("responses", payload)
        assembly = _ResponsesAssembly(response.headers.get("x-request-id"), self._api_key)
        events = self._http.events(response, during=_READING, request_id=assembly.request_id)
        try:
            yield StreamEvent("start")
            async with contextlib.aclosing(events):
                async for _, data in events:
                    text = assembly.add(data)
                    if text:
                        yield StreamEvent("delta", text=text)
                    if assembly.result is not None:
                        yield StreamEvent("done", result=assembly.result)
                        return
        finally:
            await response.aclose()
        detail = "the stream ended before response.completed"
        raise StreamInterruptedError(PROVIDER, None, detail, assembly.request_id)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def _post(self, api: str, payload: Mapping[str, Any]) -> httpx.Response:
        return await self._http.post(self._urls[api], dumps(payload), headers=self._headers)

    def _unreachable(self, exc: httpx.HTTPError) -> str:
        # A connect timeout sent nothing, so it is a (retried) connection error.
        if isinstance(exc, httpx.ConnectTimeout):
            return "connecting timed out"
        detail = self._redact(str(exc))[:EXCERPT_CHARS] or type(exc).__name__
        return f"could not reach the server: {detail}"

    def _redact(self, text: str) -> str:
        return _redact(text, self._api_key)
