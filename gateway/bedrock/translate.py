"""Amazon Bedrock Converse: the pure translation of a canonical request, and of an answer.

``to_converse`` is the Converse request as botocore puts it on the wire (``modelId``
first, then the JSON body members); image bytes are base64 strings, as in the JSON
body. Every checkpoint becomes a ``cachePoint`` element right after the block it
closes. Per-model limits (Nova: no tool checkpoints) are lint's job, not translation's.

``from_converse`` normalizes a Converse response, streamed (folded back into a body by
``gateway.bedrock.boto.ConverseStreamFold``) or not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.errors import MalformedResponseError
from gateway.types import (
    TTLS,
    CacheControl,
    ChatRequest,
    Message,
    Part,
    Result,
    Tool,
    ToolCall,
    Usage,
)
from gateway.wire import (
    DEFAULT_MAX_TOKENS,
    compact_json,
    file_source,
    image_url,
    parse_data_url,
    plain,
    tool_input,
)

NAME = "bedrock"
PREWARM_MAX_TOKENS = 1  # Converse's maxTokens is at least 1: docs/providers.md §2.1

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}
_INFERENCE_PARAMS = (("temperature", "temperature"), ("top_p", "topP"))
_TOOL_CHOICES = {"auto": "auto", "required": "any"}
_KINDS = {Mapping: "an object", list: "a list", str: "a string", int: "an integer"}


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
    if part.type == "file":
        return _document(part, path)
    raise ValueError(f"{path}: part type {part.type!r} has no Converse translation")


def _document(part: Part, path: str) -> dict[str, Any]:
    """A ``file`` part as a Converse ``document`` block; Converse needs the bytes."""
    kind, value = file_source(part)
    parsed = parse_data_url(value) if kind == "file_data" else None
    if parsed is None:
        raise ValueError(f"{path}: Converse needs the document's bytes (file_data: a data: URL)")
    media_type, data = parsed
    if media_type not in _DOCUMENT_FORMATS:
        known = ", ".join(sorted(_DOCUMENT_FORMATS))
        raise ValueError(f"{path}: document type {media_type!r} is not one of {known}")
    return {
        "document": {
            "format": _DOCUMENT_FORMATS[media_type],
            "name": _document_name((part.data or {}).get("filename")),
            "source": {"bytes": data},
        }
    }


def _document_name(filename: str | None) -> str:
    # Converse names allow letters, digits, single spaces, hyphens, parentheses, brackets.
    stem = (filename or "").rsplit(".", 1)[0]
    name = " ".join(re.sub(r"[^A-Za-z0-9\-()\[\] ]", " ", stem).split())
    return name or "document"


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
    for call in message.tool_calls:
        blocks += _closed(_tool_use(call), call.cache_control)
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


def prewarm_max_tokens(request: ChatRequest) -> int:
    """The least ``maxTokens`` a pre-warm may ask for."""
    return PREWARM_MAX_TOKENS


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


def from_converse(body: Mapping[str, Any]) -> Result:
    """The Result of a Converse response (boto3's ``ResponseMetadata`` gives the request id).

    Raises MalformedResponseError when ``body`` is not a Converse response.
    """
    message = _field(_field(body, "output", Mapping), "message", Mapping)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in _field(message, "content", list):
        if isinstance(block, Mapping) and "text" in block:
            texts.append(_field(block, "text", str))
        elif isinstance(block, Mapping) and "toolUse" in block:
            use = _field(block, "toolUse", Mapping)
            try:
                arguments = compact_json(_field(use, "input"))
            except ValueError:  # NaN or infinity, which JSON has no spelling for
                raise _malformed("a toolUse input holds a number JSON cannot carry") from None
            calls.append(
                ToolCall(_field(use, "toolUseId", str), _field(use, "name", str), arguments)
            )
    usage = converse_usage(_field(body, "usage", Mapping))
    request_id = body.get("ResponseMetadata", {}).get("RequestId")
    stop_reason = _field(body, "stopReason", str)
    return Result("".join(texts), tuple(calls), stop_reason, usage, request_id=request_id)


def converse_usage(usage: Mapping[str, Any]) -> Usage:
    """Normalized ``TokenUsage``; Bedrock's ``inputTokens`` already excludes cached tokens.

    Writes are split by TTL from ``cacheDetails``; without details they are the 5m default.
    """
    write = _optional_int(usage, "cacheWriteInputTokens")
    details = usage.get("cacheDetails")
    write_5m, write_1h = (None, None) if write is None and details is None else (write or 0, 0)
    if details:
        write_5m, write_1h = _writes_by_ttl(_field(usage, "cacheDetails", list))
    return Usage(
        input_tokens=_field(usage, "inputTokens", int),
        output_tokens=_field(usage, "outputTokens", int),
        cache_read_tokens=_optional_int(usage, "cacheReadInputTokens"),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        raw=plain(usage),
    )


def _writes_by_ttl(details: list[Any]) -> tuple[int, int]:
    by_ttl = dict.fromkeys(TTLS, 0)
    for detail in details:
        ttl = _field(detail, "ttl", str)
        if ttl not in by_ttl:
            raise _malformed(f"cacheDetails ttl {ttl!r} is not one of {', '.join(TTLS)}")
        by_ttl[ttl] += _field(detail, "inputTokens", int)
    return by_ttl["5m"], by_ttl["1h"]


def _field(node: Any, key: str, kind: type = object) -> Any:
    value = node.get(key) if isinstance(node, Mapping) else None
    if value is None:
        raise _malformed(f"{key!r} is missing")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _malformed(f"{key!r} is not {_KINDS[kind]}")
    return value


def _optional_int(node: Mapping[str, Any], key: str) -> int | None:
    return None if node.get(key) is None else _field(node, key, int)


def _malformed(detail: str) -> MalformedResponseError:
    return MalformedResponseError(NAME, None, f"not a Converse response: {detail}")
