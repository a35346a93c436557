"""Anthropic Messages API: the pure translation of a canonical request, and of an answer back."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from gateway.errors import (
    MalformedResponseError,
)
from gateway.types import (
    DEFAULT_TTL,
    CacheControl,
    CacheDiagnosis,
    ChatRequest,
    Message,
    Part,
    Result,
    Tool,
    ToolCall,
    Usage,
    iter_blocks,
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

PROVIDER = "anthropic"
# Cache diagnostics (beta, Claude API only): docs/providers.md §6.1.
DIAGNOSTICS_BETA = "cache-diagnosis-2026-04-07"

_TOOL_CHOICES = {"auto": "auto", "none": "none", "required": "any"}
# A pre-warm asks for no output at all: max_tokens 0 writes the cache and answers nothing,
# but not with a forced tool choice (nor streamed): docs/providers.md §1.9.
PREWARM_MAX_TOKENS = 0
_UNFORCED_TOOL_CHOICES = (None, "auto", "none")
_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
_COUNT_KEYS = ("model", "tools", "system", "messages", "tool_choice")
_USAGE_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
# The HTTP status Anthropic pairs with each error type, for errors sent mid-stream.


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


def prewarm_max_tokens(request: ChatRequest) -> int:
    """The least ``max_tokens`` a pre-warm of ``request`` may ask for: 0, or 1 when its
    ``tool_choice`` forces a tool."""
    return PREWARM_MAX_TOKENS if request.params.get("tool_choice") in _UNFORCED_TOOL_CHOICES else 1


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
    elif part.type == "file":
        block = _document(part)
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


def _document(part: Part) -> dict[str, Any]:
    """An OpenAI-style ``file`` part as a ``document`` block (base64 or URL source)."""
    kind, value = file_source(part)
    if kind == "file_id":
        raise ValueError("Anthropic takes a file's bytes (file_data) or a url, not a file_id")
    parsed = parse_data_url(value) if kind == "file_data" else None
    if kind == "file_data" and parsed is None:
        raise ValueError("file_data must be a base64 data: URL")
    source: dict[str, Any]
    if parsed is None:
        source = {"type": "url", "url": value}
    else:
        source = {"type": "base64", "media_type": parsed[0], "data": parsed[1]}
    block: dict[str, Any] = {"type": "document", "source": source}
    filename = (part.data or {}).get("filename")
    if filename:
        block["title"] = filename
    return block


def _tool_use(call: ToolCall) -> dict[str, Any]:
    block = {"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input(call)}
    return _marked(block, call.cache_control)


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


def from_anthropic(
    body: Any,
    *,
    request_id: str | None = None,
    status: int | None = 200,
    write_ttl: str = DEFAULT_TTL,
) -> Result:
    """The normalized result of a Messages response body; ``write_ttl`` (see ``write_ttl``)
    is what writes count as when the usage has no per-TTL breakdown.

    Raises ``MalformedResponseError`` (carrying ``status``, the HTTP status it came
    with) when ``body`` is not a Messages response. Unknown block types are skipped.
    """
    content = body.get("content") if isinstance(body, Mapping) else None
    usage = body.get("usage") if isinstance(body, Mapping) else None
    if not isinstance(content, list) or not isinstance(usage, Mapping):
        raise malformed(status, "the body is not a Messages response (no content or usage)")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in content:
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            texts.append(_get(block, "text", str, status, required=True))
        elif kind == "tool_use":
            try:
                arguments = compact_json(_get(block, "input", dict, status, required=True))
            except ValueError:  # NaN or infinity, which JSON has no spelling for
                raise malformed(
                    status, "a tool_use input holds a number JSON cannot carry"
                ) from None
            name = _get(block, "name", str, status, required=True)
            calls.append(ToolCall(_get(block, "id", str, status, required=True), name, arguments))
        elif kind is None:
            raise malformed(status, "a content block has no type")
    return Result(
        text="".join(texts),
        tool_calls=tuple(calls),
        stop_reason=_get(body, "stop_reason", str, status),
        usage=_usage(usage, status, write_ttl),
        model=_get(body, "model", str, status),
        request_id=request_id,
        response_id=_get(body, "id", str, status),
        diagnosis=_diagnosis(body.get("diagnostics"), status),
    )


def with_diagnostics(payload: Mapping[str, Any], previous_message_id: str) -> dict[str, Any]:
    """``payload`` asking the provider why it missed against ``previous_message_id``."""
    return {**payload, "diagnostics": {"previous_message_id": previous_message_id}}


def _diagnosis(diagnostics: Any, status: int | None) -> CacheDiagnosis | None:
    """The answer's ``diagnostics``: absent or null means none was asked for or given."""
    if diagnostics is None:
        return None
    if not isinstance(diagnostics, Mapping):
        raise malformed(status, "'diagnostics' should be an object")
    reason = diagnostics.get("cache_miss_reason")
    if reason is None:  # a hit, or not decided yet
        return CacheDiagnosis(PROVIDER, None)
    if not isinstance(reason, Mapping) or not isinstance(reason.get("type"), str):
        raise malformed(status, "'cache_miss_reason' should be an object with a type")
    missed = _get(reason, "cache_missed_input_tokens", int, status)
    return CacheDiagnosis(PROVIDER, reason["type"], missed)


def write_ttl(request: ChatRequest) -> str:
    """The TTL every write of ``request`` has when all its markers share one (else 5m)."""
    markers = [b.cache_control for b in iter_blocks(request) if b.cache_control is not None]
    markers += [c.cache_control for m in request.messages for c in m.tool_calls if c.cache_control]
    ttls = {marker.effective_ttl for marker in markers}
    return ttls.pop() if len(ttls) == 1 else DEFAULT_TTL


def _usage(usage: Mapping[str, Any], status: int | None, ttl: str = DEFAULT_TTL) -> Usage:
    """Normalized usage; a field the body lacks stays None (unknown, not 0).

    ``cache_creation_input_tokens`` is the authoritative write total; the
    ``cache_creation`` breakdown only says how much of it was written for 1h. Without
    a breakdown (legacy usage) every write counts at ``ttl``: the request's one TTL when
    all its markers share it, else the default.
    """
    counts = {key: _get(usage, key, int, status) for key in _USAGE_COUNTS}
    written = counts["cache_creation_input_tokens"]
    five_minutes = one_hour = None
    breakdown = _get(usage, "cache_creation", dict, status)
    if breakdown is not None:
        five_minutes = _get(breakdown, "ephemeral_5m_input_tokens", int, status) or 0
        one_hour = _get(breakdown, "ephemeral_1h_input_tokens", int, status) or 0
    if breakdown is None and written is not None and ttl == "1h":
        five_minutes, one_hour = 0, written
    elif written is not None and (five_minutes or 0) + (one_hour or 0) != written:
        one_hour = min(one_hour or 0, written)
        five_minutes = written - one_hour
    return Usage(
        input_tokens=counts["input_tokens"],
        output_tokens=counts["output_tokens"],
        cache_read_tokens=counts["cache_read_input_tokens"],
        cache_write_5m_tokens=five_minutes,
        cache_write_1h_tokens=one_hour,
        raw=plain(usage),
    )


def _get(
    mapping: Mapping[str, Any], key: str, kind: type, status: int | None, *, required: bool = False
) -> Any:
    """``mapping[key]`` if it is a ``kind`` (None if absent and optional), else malformed."""
    value = mapping.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise malformed(status, f"{key!r} should be {kind.__name__}, not {type(value).__name__}")
    return value


def to_count_tokens(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The count_tokens body for a Messages body: the fields that API takes."""
    return {key: value for key, value in payload.items() if key in _COUNT_KEYS}


def from_count_tokens(body: Any, status: int | None) -> int:
    """The input tokens of a count_tokens answer; ``MalformedResponseError`` otherwise."""
    if not isinstance(body, dict):
        raise malformed(status, "the count_tokens answer is not an object")
    return int(_get(body, "input_tokens", int, status, required=True))


def malformed(status: int | None, message: str) -> MalformedResponseError:
    """A ``MalformedResponseError`` of this provider."""
    return MalformedResponseError(PROVIDER, status, message)


class MessageBuilder:
    """Rebuilds the Messages response body from stream events, for ``from_anthropic``.

    Events out of protocol raise KeyError, TypeError or AttributeError; a stream
    without ``message_start`` leaves a body that ``from_anthropic`` rejects.
    """

    def __init__(self) -> None:
        self.message: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.partial_json: dict[int, str] = {}
        self.stopped = False

    def apply(self, kind: str, event: Mapping[str, Any]) -> str:
        """Apply one event; return the text it adds ("" for none)."""
        if kind == "message_start":
            self.message = {**event["message"], "usage": dict(event["message"]["usage"])}
        elif kind == "content_block_start":
            self.blocks[event["index"]] = dict(event["content_block"])
        elif kind == "content_block_delta":
            return self._delta(event["index"], event["delta"])
        elif kind == "message_delta":
            self.message.update(event.get("delta") or {})
            # Counters are cumulative: the latest value of each one replaces the earlier.
            usage = {k: v for k, v in (event.get("usage") or {}).items() if v is not None}
            self.message["usage"].update(usage)
        elif kind == "message_stop":
            self.stopped = True
        return ""

    def _delta(self, index: int, delta: Mapping[str, Any]) -> str:
        block = self.blocks[index]
        if delta["type"] == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
            return str(delta["text"])
        if delta["type"] == "input_json_delta":
            self.partial_json[index] = self.partial_json.get(index, "") + delta["partial_json"]
        return ""

    def body(self) -> dict[str, Any]:
        """The assembled body, tool inputs decoded from their JSON fragments (ValueError)."""
        for index, fragments in self.partial_json.items():
            if fragments:
                self.blocks[index]["input"] = json.loads(fragments)
        return {**self.message, "content": [self.blocks[i] for i in sorted(self.blocks)]}
