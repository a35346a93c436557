"""Amazon Bedrock Converse: pure translation of a ChatRequest to the Converse request.

The dict is the Converse request as botocore puts it on the wire (``modelId`` first,
then the JSON body members); image bytes are base64 strings, as in the JSON body.
Every checkpoint becomes a ``cachePoint`` element right after the block it closes.
Per-model limits (Nova: no tool checkpoints) are lint's job, not translation's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.types import CacheControl, ChatRequest, Message, Part, Tool, ToolCall
from gateway.wire import DEFAULT_MAX_TOKENS, image_url, parse_data_url, plain, tool_input

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_INFERENCE_PARAMS = (("temperature", "temperature"), ("top_p", "topP"))
_TOOL_CHOICES = {"auto": "auto", "required": "any"}


def to_converse(request: ChatRequest) -> dict[str, Any]:
    """The Converse request for ``request``, keys in prefix order toolConfig, system, messages."""
    params = request.params
    payload: dict[str, Any] = {"modelId": request.model_id}
    if request.tools:
        payload["toolConfig"] = _tool_config(request.tools, params.get("tool_choice"))
    system = [block for message in request.system for block in _system_blocks(message)]
    if system:
        payload["system"] = system
    payload["messages"] = _messages(request.messages)
    payload["inferenceConfig"] = _inference_config(params)
    if params.get("top_k") is not None:
        payload["additionalModelRequestFields"] = _top_k(request.model_id, params["top_k"])
    return payload


def _top_k(model_id: str, top_k: int) -> dict[str, Any]:
    # Each model family takes top-k in its own native field: Nova nests it in its
    # own inferenceConfig, Anthropic models take the Messages API's top_k.
    if "amazon.nova" in model_id:
        return {"inferenceConfig": {"topK": top_k}}
    return {"top_k": top_k}


def cache_point(marker: CacheControl) -> dict[str, Any]:
    """The ``cachePoint`` element for a checkpoint marker."""
    point = {"type": "default"}
    if marker.ttl is not None:
        point["ttl"] = marker.ttl
    return {"cachePoint": point}


def _closed(block: dict[str, Any], marker: CacheControl | None) -> list[dict[str, Any]]:
    """``block``, followed by its cachePoint when it closes a checkpoint."""
    return [block] if marker is None else [block, cache_point(marker)]


def _tool_config(tools: Sequence[Tool], choice: Any) -> dict[str, Any]:
    specs: list[dict[str, Any]] = []
    for tool in tools:
        spec: dict[str, Any] = {"name": tool.name}
        if tool.description:
            spec["description"] = tool.description
        spec["inputSchema"] = {"json": plain(tool.parameters)}
        specs += _closed({"toolSpec": spec}, tool.cache_control)
    config: dict[str, Any] = {"tools": specs}
    # Converse has no "none": omitting toolChoice keeps the tools (and their cache) intact.
    if choice is not None and choice != "none":
        config["toolChoice"] = _tool_choice(choice)
    return config


def _tool_choice(choice: str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(choice, str) and choice in _TOOL_CHOICES:
        return {_TOOL_CHOICES[choice]: {}}
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"tool": {"name": choice["function"]["name"]}}
    raise ValueError(f"unsupported tool_choice: {choice!r}")


def _part(part: Part, path: str) -> dict[str, Any]:
    if part.type == "text":
        return {"text": part.text or ""}
    if part.type == "image_url":
        return _image(part, path)
    raise ValueError(f"{path}: part type {part.type!r} has no Converse translation")


def _image(part: Part, path: str) -> dict[str, Any]:
    url = image_url(part)
    parsed = parse_data_url(url)
    if parsed is None:
        raise ValueError(f"{path}: Converse needs image bytes; use a data: URL, not {url[:60]!r}")
    media_type, data = parsed
    if media_type not in _IMAGE_FORMATS:
        raise ValueError(f"{path}: image type {media_type!r} is not png, jpeg, gif or webp")
    return {"image": {"format": _IMAGE_FORMATS[media_type], "source": {"bytes": data}}}


def _tool_use(call: ToolCall) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": call.id, "name": call.name, "input": tool_input(call)}}


def _blocks(message: Message, path: str) -> list[dict[str, Any]]:
    """Content blocks with cachePoints; a message-level marker closes the whole message."""
    content = message.content
    blocks: list[dict[str, Any]] = []
    if isinstance(content, tuple):
        for index, part in enumerate(content):
            blocks += _closed(_part(part, f"{path}.content[{index}]"), part.cache_control)
    elif content or (content == "" and not message.tool_calls):
        blocks.append({"text": content})
    blocks += [_tool_use(call) for call in message.tool_calls]
    if blocks and message.cache_control is not None:
        blocks.append(cache_point(message.cache_control))
    return blocks


def _system_blocks(message: Message) -> list[dict[str, Any]]:
    if isinstance(message.content, tuple):
        for part in message.content:
            if part.type != "text":
                raise ValueError(f"Converse system content is text only, not {part.type!r}")
    return _blocks(message, "system")


def _tool_result(message: Message, path: str) -> list[dict[str, Any]]:
    """A ``toolResult`` element; its checkpoint follows it, never inside its content."""
    if message.tool_call_id is None:
        raise ValueError(f"{path}: a tool message needs a tool_call_id")
    marker = message.cache_control
    if isinstance(message.content, tuple):
        markers = [part.cache_control for part in message.content if part.cache_control]
        marker = markers[-1] if markers else marker
        parts = [replace(part, cache_control=None) for part in message.content]
        content = [_part(part, f"{path}.content[{i}]") for i, part in enumerate(parts)]
    else:
        content = [{"text": message.content or ""}]
    result = {"toolResult": {"toolUseId": message.tool_call_id, "content": content}}
    return _closed(result, marker)


def _messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """Converse turns; consecutive turns of one role (tool results are user) are merged."""
    wire: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        if message.role == "system":
            continue
        if message.role == "tool":
            role, content = "user", _tool_result(message, path)
        elif message.role in ("user", "assistant"):
            role, content = message.role, _blocks(message, path)
        else:
            raise ValueError(f"{path}: unsupported message role {message.role!r}")
        if wire and wire[-1]["role"] == role:
            wire[-1]["content"] += content
        else:
            wire.append({"role": role, "content": content})
    return wire


def _inference_config(params: Mapping[str, Any]) -> dict[str, Any]:
    max_tokens = params.get("max_tokens")
    config = {"maxTokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens}
    for source, target in _INFERENCE_PARAMS:
        if params.get(source) is not None:
            config[target] = params[source]
    stop = params.get("stop")
    if stop is not None:
        config["stopSequences"] = [stop] if isinstance(stop, str) else list(stop)
    return config
