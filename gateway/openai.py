"""OpenAI Chat Completions (and compatible servers): pure translation to the wire body.

OpenAI caches prefixes automatically, so every ``cache_control`` marker is removed and
the request's cache key is sent as ``prompt_cache_key`` to keep one prefix on one route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.types import ChatRequest, Message, Part, Tool, ToolCall
from gateway.wire import plain

DEFAULT_BASE_URL = "https://api.openai.com/v1"

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
