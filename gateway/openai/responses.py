"""OpenAI Responses API: the pure translation both ways, for profiles with ``api = "responses"``.

GPT-5.6 and later are called through this API because only it reports why a cache
missed (docs/providers.md §6.3): ``with_diagnostics`` (in ``translate``) names the
previous response in ``prompt_cache_options.comparison_response_id``, and the answer's
``prompt_cache_diagnostics`` becomes ``Result.diagnosis``. Breakpoints follow the rules
Chat Completions has (``common``), on ``input_text``, ``input_image`` and ``input_file``
parts of input messages. System messages stay input messages (role ``system``), not
top-level ``instructions``, which take no breakpoint. ``input_tokens`` includes cached
and written tokens, as ``prompt_tokens`` does on Chat Completions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.openai.common import (
    BREAKPOINT,
    EXPLICIT_MODE,
    PROVIDER,
    as_object,
    count,
    explicit_breakpoints,
    has_breakpoint,
    inclusive_usage,
    malformed,
    takes_breakpoint,
    typed_field,
)
from gateway.types import CacheDiagnosis, ChatRequest, Message, Part, Result, Tool, ToolCall, Usage
from gateway.wire import file_source, image_url, plain

_PARAMS = (
    ("max_tokens", "max_output_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
)
UNSUPPORTED_PARAMS = ("stop", "seed")  # the Responses API has neither
MIN_OUTPUT_TOKENS = 16  # the smallest max_output_tokens it takes
FILE_FIELDS = {"file_data": "file_data", "url": "file_url", "file_id": "file_id"}
# ``incomplete_details.reason`` in Chat Completions' words, so stop reasons read alike.
INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
DIAGNOSIS_TYPES = ("cache_hit", "cache_miss", "comparison_response_not_found", "unavailable")


def to_responses(request: ChatRequest) -> dict[str, Any]:
    """The Responses API body for ``request``; raises ValueError for what it cannot carry."""
    unsupported = [name for name in UNSUPPORTED_PARAMS if request.params.get(name) is not None]
    if unsupported:
        raise ValueError(f"the Responses API takes no {', '.join(unsupported)} parameter")
    limit = request.params.get("max_tokens")
    if limit is not None and limit < MIN_OUTPUT_TOKENS:
        raise ValueError(f"the Responses API needs max_tokens of at least {MIN_OUTPUT_TOKENS}")
    explicit = explicit_breakpoints(request.model)
    payload: dict[str, Any] = {"model": request.model_id}
    if request.tools:
        payload["tools"] = [_tool(tool) for tool in request.tools]
    payload["input"] = [item for message in request.messages for item in _items(message, explicit)]
    payload.update(
        {
            target: plain(request.params[source])
            for source, target in _PARAMS
            if request.params.get(source) is not None
        }
    )
    if request.params.get("tool_choice") is not None:
        payload["tool_choice"] = _tool_choice(request.params["tool_choice"])
    # Explicit mode with no breakpoint caches nothing: then the model stays implicit.
    if explicit and has_breakpoint(payload["input"]):
        payload["prompt_cache_options"] = dict(EXPLICIT_MODE)
    if request.cache_key is not None:
        payload["prompt_cache_key"] = request.cache_key
    return payload


def _tool(tool: Tool) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": "function", "name": tool.name}
    if tool.description:
        wire["description"] = tool.description
    # Not strict: the schema is used as authored, as Chat Completions uses it.
    return {**wire, "parameters": plain(tool.parameters), "strict": False}


def _tool_choice(choice: Any) -> Any:
    """Chat Completions' ``{"type": "function", "function": {"name"}}`` in the flat form."""
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        return {"type": "function", "name": choice["function"].get("name")}
    return plain(choice)


def _items(message: Message, explicit: bool) -> list[dict[str, Any]]:
    """The input items of one message: a message item, function calls, or a call's output."""
    if message.name is not None:
        raise ValueError("the Responses API takes no message name")
    if message.role == "tool":
        output = _text_of(message, "a tool result")
        return [{"type": "function_call_output", "call_id": message.tool_call_id, "output": output}]
    items = []
    if message.role == "assistant":
        if message.content:
            items.append({"type": "message", "role": "assistant", "content": _answer(message)})
    else:
        items.append(
            {"type": "message", "role": message.role, "content": _input(message, explicit)}
        )
    items += [
        {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
        for c in message.tool_calls
    ]
    return items


def _input(message: Message, explicit: bool) -> str | list[dict[str, Any]]:
    content = message.content
    if isinstance(content, tuple):
        return [
            _input_part(part, explicit and takes_breakpoint(message, part, "responses"))
            for part in content
        ]
    if explicit and takes_breakpoint(message, None, "responses"):
        return [_input_part(Part("text", text=content or ""), True)]
    return content or ""


def _input_part(part: Part, breakpoint: bool) -> dict[str, Any]:
    if part.type == "text":
        wire: dict[str, Any] = {"type": "input_text", "text": part.text or ""}
    elif part.type == "image_url":
        detail = (part.data or {}).get("detail") or "auto"
        wire = {"type": "input_image", "image_url": image_url(part), "detail": detail}
    elif part.type == "file":
        kind, value = file_source(part)
        wire = {"type": "input_file", FILE_FIELDS[kind]: value}
        if (part.data or {}).get("filename"):
            wire["filename"] = part.data["filename"]  # type: ignore[index]
    else:
        raise ValueError(f"the Responses API takes no {part.type} part")
    if breakpoint:
        wire["prompt_cache_breakpoint"] = dict(BREAKPOINT)
    return wire


def _answer(message: Message) -> str | list[dict[str, Any]]:
    """An earlier assistant turn: its text as ``output_text`` parts."""
    if isinstance(message.content, str):
        return message.content
    return [{"type": "output_text", "text": _text_of(message, "an assistant message")}]


def _text_of(message: Message, what: str) -> str:
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    if any(part.type != "text" for part in content):
        raise ValueError(f"the Responses API takes only text in {what}")
    return "".join(part.text or "" for part in content)


def from_responses(body: Mapping[str, Any]) -> Result:
    """The normalized result of a ``response`` object; raises MalformedResponseError."""
    body = as_object(body, "the response")
    texts, calls, refused = [], [], False
    for item in typed_field(body, "output", list, required=True):
        item = as_object(item, "an output item")
        if item.get("type") == "message":
            for part in typed_field(item, "content", list) or []:
                part = as_object(part, "an output part")
                if part.get("type") == "output_text":
                    texts.append(typed_field(part, "text", str, required=True))
                elif part.get("type") == "refusal":  # the model declined: say so, as text
                    texts.append(typed_field(part, "refusal", str) or "")
                    refused = True
        elif item.get("type") == "function_call":
            call_id = typed_field(item, "call_id", str, required=True)
            name = typed_field(item, "name", str, required=True)
            calls.append(
                ToolCall(call_id, name, typed_field(item, "arguments", str, required=True))
            )
        # Reasoning and other items carry no answer text.
    return Result(
        text="".join(texts),
        tool_calls=tuple(calls),
        stop_reason="content_filter" if refused else _stop_reason(body, bool(calls)),
        usage=read_responses_usage(body.get("usage")),
        model=typed_field(body, "model", str),
        response_id=typed_field(body, "id", str),
        diagnosis=_diagnosis(body.get("prompt_cache_diagnostics")),
    )


def read_responses_usage(usage: Any) -> Usage:
    """Normalized usage: uncached input is ``input_tokens`` minus cached and written tokens."""
    return inclusive_usage(
        usage, prompt="input_tokens", details="input_tokens_details", output="output_tokens"
    )


def _stop_reason(body: Mapping[str, Any], called: bool) -> str | None:
    status = typed_field(body, "status", str)
    if status == "completed":
        return "tool_calls" if called else "stop"
    if status == "incomplete":
        details = typed_field(body, "incomplete_details", Mapping) or {}
        reason = typed_field(details, "reason", str)
        return INCOMPLETE_REASONS.get(reason or "", reason or "incomplete")
    return status


def _diagnosis(diagnostics: Any) -> CacheDiagnosis | None:
    """``prompt_cache_diagnostics``: absent when none was asked for; a hit has no reason."""
    if diagnostics is None:
        return None
    diagnostics = as_object(diagnostics, "prompt_cache_diagnostics")
    kind = typed_field(diagnostics, "type", str, required=True)
    if kind not in DIAGNOSIS_TYPES:
        raise malformed(f"prompt_cache_diagnostics has an unknown type {kind!r}")
    missed = count(diagnostics, "cache_missed_tokens")
    if kind == "cache_hit":
        return CacheDiagnosis(PROVIDER, None, missed)
    reason = typed_field(diagnostics, "reason", str) if kind == "cache_miss" else kind
    return CacheDiagnosis(PROVIDER, reason or kind, missed)
