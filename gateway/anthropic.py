"""Anthropic Messages API: pure translation of a ChatRequest to the wire body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from gateway.wire import DEFAULT_MAX_TOKENS, image_url, parse_data_url, plain, tool_input

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_BASE_URL = "https://api.anthropic.com"

_TOOL_CHOICES = {"auto": "auto", "none": "none", "required": "any"}
_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


def to_anthropic(request: ChatRequest) -> dict[str, Any]:
    """The Messages API body for ``request``; keys in prefix order tools, system, messages."""
    max_tokens = request.params.get("max_tokens")
    payload: dict[str, Any] = {
        "model": request.model_id,
        "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
    }
    if request.tools:
        payload["tools"] = [_tool(tool) for tool in request.tools]
    system = [block for message in request.system for block in _blocks(message)]
    if system:
        payload["system"] = system
    payload["messages"] = _messages(request.conversation)
    payload.update(_options(request.params))
    return payload


def _marked(block: dict[str, Any], marker: CacheControl | None) -> dict[str, Any]:
    if marker is not None:
        block["cache_control"] = marker.to_dict()
    return block


def _tool(tool: Tool) -> dict[str, Any]:
    block: dict[str, Any] = {"name": tool.name}
    if tool.description:
        block["description"] = tool.description
    block["input_schema"] = plain(tool.parameters)
    return _marked(block, tool.cache_control)


def _part(part: Part) -> dict[str, Any]:
    block: dict[str, Any]
    if part.type == "text":
        block = {"type": "text", "text": part.text or ""}
    elif part.type == "image_url":
        block = _image(part)
    else:
        # Other parts (document, search_result, ...) are authored {"type": K, K: {fields}}
        # and become the Anthropic block {"type": K, fields...}.
        block = {"type": part.type, **plain(part.data or {})}
    return _marked(block, part.cache_control)


def _image(part: Part) -> dict[str, Any]:
    url = image_url(part)
    parsed = parse_data_url(url)
    if parsed is None:
        return {"type": "image", "source": {"type": "url", "url": url}}
    media_type, data = parsed
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call)}


def _blocks(message: Message) -> list[dict[str, Any]]:
    """Every block of ``message``; a message-level marker goes on its last block."""
    content = message.content
    if isinstance(content, tuple):
        blocks = [_part(part) for part in content]
    elif content or (content == "" and not message.tool_calls):
        blocks = [{"type": "text", "text": content}]
    else:
        blocks = []
    blocks += [_tool_use(call) for call in message.tool_calls]
    if blocks:
        _marked(blocks[-1], message.cache_control)
    return blocks


def _content(message: Message) -> str | list[dict[str, Any]]:
    plain_text = isinstance(message.content, str) and not message.tool_calls
    if plain_text and message.cache_control is None:
        return message.content
    return _blocks(message)


def _tool_result(message: Message) -> dict[str, Any]:
    """A ``tool_result`` block; any marker of the message goes on the block itself."""
    if message.tool_call_id is None:
        raise ValueError("a tool message needs a tool_call_id")
    marker = message.cache_control
    content: str | list[dict[str, Any]]
    if isinstance(message.content, tuple):
        markers = [part.cache_control for part in message.content if part.cache_control]
        marker = markers[-1] if markers else marker
        content = [_part(replace(part, cache_control=None)) for part in message.content]
    else:
        content = message.content or ""
    block = {"type": "tool_result", "tool_use_id": message.tool_call_id, "content": content}
    return _marked(block, marker)


def _messages(conversation: Sequence[Message]) -> list[dict[str, Any]]:
    """User and assistant turns; consecutive tool messages become one user turn."""
    wire: list[dict[str, Any]] = []
    previous_role = None
    for message in conversation:
        if message.role == "tool" and previous_role == "tool":
            wire[-1]["content"].append(_tool_result(message))
        elif message.role == "tool":
            wire.append({"role": "user", "content": [_tool_result(message)]})
        elif message.role in ("user", "assistant"):
            wire.append({"role": message.role, "content": _content(message)})
        else:
            raise ValueError(f"unsupported message role for Anthropic: {message.role!r}")
        previous_role = message.role
    return wire


def _tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    """An OpenAI-style ``tool_choice`` in the Anthropic shape; raises ValueError if unknown."""
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        return {"type": _TOOL_CHOICES[choice]}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "tool", "name": choice["function"]["name"]}
    raise ValueError(f"unsupported tool_choice: {choice!r}")


def _options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Sampling and tool-choice params, in a fixed order after ``messages``."""
    options = {key: params[key] for key in _SAMPLING_PARAMS if params.get(key) is not None}
    stop = params.get("stop")
    if stop is not None:
        options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if params.get("tool_choice") is not None:
        options["tool_choice"] = _tool_choice(params["tool_choice"])
    return options
