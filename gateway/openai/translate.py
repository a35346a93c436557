"""OpenAI Chat Completions (and compatible servers): the pure translation both ways.

Before GPT-5.6 OpenAI caches prefixes automatically, so every ``cache_control`` marker
is removed. Models whose profile has ``explicit_breakpoints`` (GPT-5.6 and later,
docs/providers.md §6.3) get each checkpoint OpenAI accepts as a ``prompt_cache_breakpoint``
on its content part, and ``prompt_cache_options`` in explicit mode; checkpoints on
assistant and tool messages and on tools have no place on this wire
(``unplaced_checkpoints``). Either way the request's cache key is sent as
``prompt_cache_key`` to keep one prefix on one route.
``prompt_tokens`` includes cached and written tokens; ``from_openai`` subtracts them so
``Usage.input_tokens`` counts only uncached input. Local servers (vLLM, llama.cpp, Ollama)
may leave the cached-token field out: that is reported as unknown (``None``), never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.catalog import get_profile
from gateway.errors import (
    MalformedResponseError,
)
from gateway.types import CacheControl, ChatRequest, Message, Part, Result, Tool, ToolCall, Usage
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


BREAKPOINT = {"mode": "explicit"}
EXPLICIT_MODE = {"mode": "explicit", "ttl": "30m"}  # 30m is the only TTL GPT-5.6 offers
BREAKPOINT_ROLES = ("system", "developer", "user")
BREAKPOINT_PARTS = ("text", "image_url", "input_audio")


def to_openai(request: ChatRequest) -> dict[str, Any]:
    """The Chat Completions body for ``request``: explicit breakpoints where the model takes
    them, every other cache marker removed."""
    explicit = explicit_breakpoints(request.model)
    payload: dict[str, Any] = {"model": request.model_id}
    if request.tools:
        payload["tools"] = [_tool(tool) for tool in request.tools]
    payload["messages"] = [_message(message, explicit) for message in request.messages]
    payload.update(_options(request.params))
    # Explicit mode with no breakpoint caches nothing: then the model stays implicit.
    if explicit and any("prompt_cache_breakpoint" in p for p in _parts(payload["messages"])):
        payload["prompt_cache_options"] = dict(EXPLICIT_MODE)
    if request.cache_key is not None:
        payload["prompt_cache_key"] = request.cache_key
    return payload


def explicit_breakpoints(model: str) -> bool:
    """Whether ``model``'s profile takes explicit breakpoints (an unlisted model does not)."""
    return get_profile(model).explicit_breakpoints


def unplaced_checkpoints(request: ChatRequest) -> list[tuple[str, str]]:
    """``(path, why)`` of each checkpoint this wire cannot carry, for a model with explicit
    breakpoints; the prefix up to it is cached only by a later breakpoint."""
    if not explicit_breakpoints(request.model):
        return []
    unplaced = [
        (f"tools[{index}]", "OpenAI takes no breakpoint on a tool definition")
        for index, tool in enumerate(request.tools)
        if tool.cache_control is not None
    ]
    for index, message in enumerate(request.messages):
        path = f"messages[{index}]"
        if isinstance(message.content, tuple):
            marked = [
                (f"{path}.content[{i}]", part)
                for i, part in enumerate(message.content)
                if part.cache_control is not None
            ]
        else:
            marked = [(f"{path}.content", None)] if message.cache_control is not None else []
        for where, part in marked:
            why = _unplaceable(message, part)
            if why is not None:
                unplaced.append((where, why))
        unplaced += [
            (f"{path}.tool_calls[{i}]", "OpenAI takes no breakpoint in assistant messages")
            for i, call in enumerate(message.tool_calls)
            if call.cache_control is not None
        ]
    return unplaced


def _unplaceable(message: Message, part: Part | None) -> str | None:
    if message.role not in BREAKPOINT_ROLES:
        return f"OpenAI takes no breakpoint in {message.role} messages"
    if part is not None and part.type not in BREAKPOINT_PARTS:
        return f"OpenAI takes no breakpoint on a {part.type} part"
    return None


def _parts(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for m in messages if isinstance(m.get("content"), list) for p in m["content"]]


def _tool(tool: Tool) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.name}
    if tool.description:
        function["description"] = tool.description
    function["parameters"] = plain(tool.parameters)
    return {"type": "function", "function": function}


def _part(part: Part, breakpoint: bool = False) -> dict[str, Any]:
    if part.type == "text":
        wire: dict[str, Any] = {"type": "text", "text": part.text or ""}
    elif part.type == "file" and "url" in (part.data or {}):
        raise ValueError("OpenAI file parts take file_data or file_id, not a url")
    else:
        wire = {"type": part.type, part.type: plain(part.data)}
    if breakpoint and part.cache_control is not None and part.type in BREAKPOINT_PARTS:
        wire["prompt_cache_breakpoint"] = dict(BREAKPOINT)
    return wire


def _tool_call(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def _message(message: Message, explicit: bool = False) -> dict[str, Any]:
    wire: dict[str, Any] = {"role": message.role}
    if message.name is not None:
        wire["name"] = message.name
    if message.tool_call_id is not None:
        wire["tool_call_id"] = message.tool_call_id
    content = message.content
    place = explicit and message.role in BREAKPOINT_ROLES
    if isinstance(content, tuple):
        wire["content"] = [_part(part, place) for part in content]
    elif place and isinstance(content, str) and message.cache_control is not None:
        # A marker on a whole string becomes a one-part list carrying the breakpoint.
        wire["content"] = [_part(Part("text", text=content, cache_control=CacheControl()), True)]
    else:
        wire["content"] = content
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
    if written is None and cached is not None:
        written = 0  # automatic caching (before GPT-5.6) writes nothing it bills
    uncached = None if prompt is None else prompt - (cached or 0) - (written or 0)
    if uncached is not None and uncached < 0:
        raise malformed(f"usage counts more cached than prompt tokens: {plain(usage)}")
    return Usage(
        input_tokens=uncached,
        output_tokens=_count(usage, "completion_tokens"),
        cache_read_tokens=cached,
        # OpenAI has no TTL split (its explicit TTL is 30m): writes count as the catalog's
        # 5m writes, which its OpenAI entries price as OpenAI does.
        cache_write_5m_tokens=written,
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
