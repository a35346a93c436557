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
from gateway.openai.common import (
    BREAKPOINT,
    EXPLICIT_MODE,
    PROVIDER,
    as_object,
    explicit_breakpoints,
    has_breakpoint,
    inclusive_usage,
    malformed,
    takes_breakpoint,
    typed_field,
    unplaced_checkpoints,
)
from gateway.openai.responses import MIN_OUTPUT_TOKENS, to_responses
from gateway.types import ChatRequest, Message, Part, Result, Tool, ToolCall, Usage
from gateway.wire import plain

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 600.0

PREWARM_MAX_TOKENS = 1  # max_completion_tokens is at least 1: docs/providers.md §3.1
_PARAMS = (
    ("max_tokens", "max_completion_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("stop", "stop"),
    ("seed", "seed"),
    ("tool_choice", "tool_choice"),
)


def to_openai(request: ChatRequest) -> dict[str, Any]:
    """The wire body for ``request``: a Responses API body when the model's profile says
    ``api = "responses"``, else a Chat Completions body with explicit breakpoints where the
    model takes them and every other cache marker removed."""
    if get_profile(request.model).api == "responses":
        return to_responses(request)
    explicit = explicit_breakpoints(request.model)
    payload: dict[str, Any] = {"model": request.model_id}
    if request.tools:
        payload["tools"] = [_tool(tool) for tool in request.tools]
    payload["messages"] = [_message(message, explicit) for message in request.messages]
    payload.update(_options(request.params))
    # Explicit mode with no breakpoint caches nothing: then the model stays implicit.
    if explicit and has_breakpoint(payload["messages"]):
        payload["prompt_cache_options"] = dict(EXPLICIT_MODE)
    if request.cache_key is not None:
        payload["prompt_cache_key"] = request.cache_key
    return payload


def prewarm_max_tokens(request: ChatRequest) -> int:
    """The least ``max_tokens`` a pre-warm may ask for: the Responses API's minimum for a
    model called through it, else 1."""
    if get_profile(request.model).api == "responses":
        return MIN_OUTPUT_TOKENS
    return PREWARM_MAX_TOKENS


def with_diagnostics(payload: Mapping[str, Any], previous_response_id: str) -> dict[str, Any]:
    """``payload`` asking why it missed against ``previous_response_id``: the Responses API
    compares with an earlier response; a Chat Completions body is returned as is."""
    if "input" not in payload:
        return dict(payload)
    options = {
        **payload.get("prompt_cache_options", {}),
        "comparison_response_id": previous_response_id,
    }
    return {**payload, "prompt_cache_options": options}


__all__ = ["PROVIDER", "from_openai", "to_openai", "unplaced_checkpoints", "with_diagnostics"]


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
    if breakpoint:
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
    if isinstance(content, tuple):
        wire["content"] = [
            _part(part, explicit and takes_breakpoint(message, part, "chat")) for part in content
        ]
    elif explicit and isinstance(content, str) and takes_breakpoint(message, None, "chat"):
        # A marker on a whole string becomes a one-part list carrying the breakpoint.
        wire["content"] = [_part(Part("text", text=content), True)]
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
    return inclusive_usage(
        usage, prompt="prompt_tokens", details="prompt_tokens_details", output="completion_tokens"
    )


def _read_tool_call(call: Any) -> ToolCall:
    call_id = typed_field(as_object(call, "a tool call"), "id", str, required=True)
    function = typed_field(call, "function", Mapping, required=True)
    name = typed_field(function, "name", str, required=True)
    return ToolCall(call_id, name, typed_field(function, "arguments", str, required=True))
