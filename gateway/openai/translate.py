"""OpenAI Chat Completions (and compatible servers): the pure translation both ways.

OpenAI caches prefixes automatically, so every ``cache_control`` marker is removed and
the request's cache key is sent as ``prompt_cache_key`` to keep one prefix on one route.
``prompt_tokens`` includes cached and written tokens; ``from_openai`` subtracts them so
``Usage.input_tokens`` counts only uncached input. Local servers (vLLM, llama.cpp, Ollama)
may leave the cached-token field out: that is reported as unknown (``None``), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.errors import (
    MalformedResponseError,
)
from gateway.types import ChatRequest, Message, Part, Result, Tool, ToolCall, Usage
from gateway.wire import plain

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 600.0

_PARAMS = (
    ("max_tokens", "max_completion_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("stop", "stop"),
    ("seed", "seed"),
    ("tool_choice", "tool_choice"),
)


def to_openai(request: ChatRequest) -> dict[str, Any]:
    """The Chat Completions body for ``request``, with every cache marker removed."""
    payload: dict[str, Any] = {"model": request.model_id}
    if request.tools:
        payload["tools"] = [_tool(tool) for tool in request.tools]
    payload["messages"] = [_message(message) for message in request.messages]
    payload.update(_options(request.params))
    if request.cache_key is not None:
        payload["prompt_cache_key"] = request.cache_key
    return payload


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = plain(tool.parameters)
    return {"type": "function", "function": function}


def _part(part: Part) -> dict[str, Any]:
    if part.type == "text":
        return {"type": "text", "text": part.text or ""}
    return {"type": part.type, part.type: plain(part.data)}


def _tool_call(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def _message(message: Message) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role}
    if message.name is not None:
        wire["name"] = message.name
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    content = message.content
    wire["content"] = [_part(part) for part in content] if isinstance(content, tuple) else content
    if message.tool_calls:
        wire["tool_calls"] = [_tool_call(call) for call in message.tool_calls]
    return wire


def _options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Supported params in a fixed order; ``top_k`` has no OpenAI equivalent and is dropped."""
    return {
        target: plain(params[source])
        for source, target in _PARAMS
        if params.get(source) is not None
    }


def from_openai(body: Mapping[str, Any]) -> Result:
    """The normalized result of a Chat Completions body; raises MalformedResponseError."""
    choices = typed_field(as_object(body, "the response"), "choices", list, required=True)
    if not choices:
        raise malformed("the response has no choices")
    choice = as_object(choices[0], "choices[0]")
    message = typed_field(choice, "message", Mapping, required=True)
    return Result(
        text=typed_field(message, "content", str) or "",
        tool_calls=tuple(
            _read_tool_call(call) for call in typed_field(message, "tool_calls", list) or []
        ),
        stop_reason=typed_field(choice, "finish_reason", str),
        usage=read_usage(body.get("usage")),
        model=typed_field(body, "model", str),
    )


def read_usage(usage: Any) -> Usage:
    """Normalized usage: uncached input is ``prompt_tokens`` minus cached and written tokens."""
    if usage is None:
        return Usage()
    usage = as_object(usage, "usage")
    details = as_object(usage.get("prompt_tokens_details") or {}, "prompt_tokens_details")
    prompt = _count(usage, "prompt_tokens")
    cached = _count(details, "cached_tokens")
    written = _count(details, "cache_write_tokens")
    uncached = None if prompt is None else prompt - (cached or 0) - (written or 0)
    if uncached is not None and uncached < 0:
        raise malformed(f"usage counts more cached than prompt tokens: {plain(usage)}")
    return Usage(
        input_tokens=uncached,
        output_tokens=_count(usage, "completion_tokens"),
        cache_read_tokens=cached,
        cache_write_5m_tokens=written,  # OpenAI has no TTL split
        raw=plain(usage),
    )


def _read_tool_call(call: Any) -> ToolCall:
    call_id = typed_field(as_object(call, "a tool call"), "id", str, required=True)
    function = typed_field(call, "function", Mapping, required=True)
    name = typed_field(function, "name", str, required=True)
    return ToolCall(call_id, name, typed_field(function, "arguments", str, required=True))


def malformed(message: str) -> MalformedResponseError:
    """A ``MalformedResponseError`` of this provider."""
    return MalformedResponseError(PROVIDER, None, message)


def as_object(value: Any, what: str) -> Mapping[str, Any]:
    """``value`` if it is an object; else ``MalformedResponseError`` naming ``what``."""
    if not isinstance(value, Mapping):
        raise malformed(f"{what} is not an object")
    return value


def typed_field(mapping: Mapping[str, Any], key: str, kind: type, *, required: bool = False) -> Any:
    """``mapping[key]`` if it is a ``kind``, None if absent; else MalformedResponseError."""
    value = mapping.get(key)
    if value is None and required:
        raise malformed(f"{key!r} is missing")
    if value is not None and not isinstance(value, kind):
        raise malformed(f"{key!r} has the wrong type: {type(value).__name__}")
    return value


def _count(mapping: Mapping[str, Any], key: str) -> int | None:
    value = mapping.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise malformed(f"{key!r} is not a token count: {value!r}")
