"""Provider-shaped request bodies -> one ``CompatRequest``: which template, which variables,
the caller's conversation (as canonical messages) and the params it overrides.

Each endpoint accepts its provider's own fields where Cachet has a meaning for them; any
other field is a 400 naming it (a typo must never silently fall back to a default). The
template is named by ``prompt`` (``id`` = slug or alias, ``version`` or ``label``,
``variables``). ``model`` overrides the template's unless empty or ``"default"``; a bare
model id (``gpt-4o``, ``claude-sonnet-4-5``) is taken as one of the endpoint's provider.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.types import Message

from ...engine.body import check_params, parse_conversation
from ...engine.canonical import string_problem
from ...engine.errors import CachetError
from ...engine.validation import did_you_mean
from ..serializers import SendInputSerializer

PROMPT_KEYS = ("id", "version", "label", "variables")
# Fields that look supported but would change what the template fixes.
FROM_TEMPLATE = {
    "tools": "tools come from the template",
    "functions": "tools come from the template",
    "instructions": "instructions come from the template: put them in its system message",
    "previous_response_id": "Cachet keeps no conversation state: send the whole input",
    "response_format": "structured output is not supported yet",
    "text": "structured output is not supported yet",
}


class CompatRequestError(CachetError):
    """A compatible request Cachet cannot serve; ``param`` names the field at fault."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message, details={"param": param})
        self.param = param


@dataclass(frozen=True)
class CompatRequest:
    """What a compatible call asks for, in Cachet's terms."""

    slug: str
    variables: dict[str, Any]
    version: int | None = None
    label: str | None = None
    model: str | None = None
    conversation: tuple[Message, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    stream: bool = False
    include_usage: bool = False
    metadata: dict[str, Any] | None = None


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CompatRequestError(f"{name} must be an object", param=name)
    return value


def _refuse_unknown(body: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = [key for key in body if key not in allowed]
    if not unknown:
        return
    reasons = [
        f"{key!r} ({FROM_TEMPLATE[key]})"
        if key in FROM_TEMPLATE
        else f"{key!r}{did_you_mean(key, allowed) or ' (not supported)'}"
        for key in unknown
    ]
    raise CompatRequestError(f"unsupported field(s): {', '.join(reasons)}", param=unknown[0])


def _prompt(body: Mapping[str, Any]) -> dict[str, Any]:
    """The ``prompt`` object: which template, version or label, and its variables."""
    if "prompt" not in body:
        raise CompatRequestError(
            'name the template: "prompt": {"id": "<slug or alias>", "variables": {...}}',
            param="prompt",
        )
    prompt = _object(body["prompt"], "prompt")
    _refuse_unknown({f"prompt.{k}": v for k, v in prompt.items()}, _prefixed(PROMPT_KEYS))
    name = prompt.get("id")
    if not isinstance(name, str) or not name or len(name) > 200 or string_problem(name):
        raise CompatRequestError(
            "prompt.id must be the template's slug or alias", param="prompt.id"
        )
    version = prompt.get("version")
    if isinstance(version, str) and version.isdigit():
        version = int(version)  # the Responses API sends the version as a string
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise CompatRequestError("prompt.version must be a version number", param="prompt.version")
    label = prompt.get("label")
    if label is not None and not isinstance(label, str):
        raise CompatRequestError("prompt.label must be a string", param="prompt.label")
    if version is not None and label is not None:
        raise CompatRequestError("give prompt.version or prompt.label, not both", param="prompt")
    variables = _object(prompt.get("variables") or {}, "prompt.variables")
    return {
        "slug": prompt["id"],
        "version": version,
        "label": label,
        "variables": {name: _variable(name, value) for name, value in variables.items()},
    }


def _prefixed(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"prompt.{key}" for key in keys)


def _variable(name: str, value: Any) -> Any:
    """A variable's value; the Responses API's ``input_text`` objects are their text."""
    if isinstance(value, dict) and value.get("type") == "input_text":
        return value.get("text", "")
    if isinstance(value, dict) and value.get("type") in ("input_image", "input_file"):
        raise CompatRequestError(
            f"variable {name!r}: image and file variables are not supported",
            param=f"prompt.variables.{name}",
        )
    return value


def _model(body: Mapping[str, Any], provider: str) -> str | None:
    model = body.get("model")
    if model is None or model in ("", "default"):
        return None
    if not isinstance(model, str):
        raise CompatRequestError("model must be a string", param="model")
    return model if "/" in model else f"{provider}/{model}"


def _flag(body: Mapping[str, Any], name: str) -> bool:
    value = False if body.get(name) is None else body[name]
    if not isinstance(value, bool):
        raise CompatRequestError(f"{name} must be true or false", param=name)
    return value


def _metadata(body: Mapping[str, Any], *extra: str) -> dict[str, Any] | None:
    given = body.get("metadata")
    metadata = {} if given is None else dict(_object(given, "metadata"))
    for name in extra:
        if body.get(name) is not None:
            if not isinstance(body[name], str):
                raise CompatRequestError(f"{name} must be a string", param=name)
            metadata[name] = body[name]
    return metadata or None


# Cachet's own send input, checked by the REST API's rules (one home for them), and where
# each of its fields sits in a compatible request.
CACHET_FIELDS = {
    "variables": "prompt.variables",
    "version": "prompt.version",
    "label": "prompt.label",
    "model": "model",
    "metadata": "metadata",
}


def _checked(compat: CompatRequest) -> CompatRequest:
    """``compat`` once its template inputs, model and metadata pass the send's own checks
    (text free of NUL, label names, a model string of at most 300 characters, 16 KB of
    metadata); else a 400 naming the field as the provider's request spells it."""
    data = {name: getattr(compat, name) for name in CACHET_FIELDS}
    serializer = SendInputSerializer(data={k: v for k, v in data.items() if v is not None})
    if not serializer.is_valid():
        name, problems = next(iter(serializer.errors.items()))
        problem = problems[0] if isinstance(problems, list) else problems
        param = CACHET_FIELDS.get(name, name)
        raise CompatRequestError(f"{param}: {problem}", param=param)
    return compat


def _params(pairs: dict[str, Any]) -> dict[str, Any]:
    params = {name: value for name, value in pairs.items() if value is not None}
    check_params(params)
    return params


def _conversation(messages: Any, path: str) -> tuple[Message, ...]:
    return parse_conversation([] if messages is None else messages, path=path)


def _list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise CompatRequestError(f"{name} must be a list", param=name)
    return value


# ---------------------------------------------------------------- OpenAI Chat Completions

CHAT_FIELDS = (
    "model", "messages", "prompt", "stream", "stream_options", "max_tokens",
    "max_completion_tokens", "temperature", "top_p", "stop", "seed", "tool_choice",
    "metadata", "user", "n", "store",
)  # fmt: skip


def chat_request(body: Any) -> CompatRequest:
    """A ``POST /openai/v1/chat/completions`` body."""
    body = _object(body, "the request body")
    _refuse_unknown(body, CHAT_FIELDS)
    if body.get("n") not in (None, 1):
        raise CompatRequestError("n must be 1: Cachet answers with one choice", param="n")
    options = _object(body.get("stream_options") or {}, "stream_options")
    messages = [_chat_message(m) for m in _list(body.get("messages"), "messages")]
    limit = body.get("max_completion_tokens")
    return _checked(
        CompatRequest(
            **_prompt(body),
            model=_model(body, "openai"),
            conversation=_conversation(messages, "messages"),
            params=_params(
                {
                    "max_tokens": body.get("max_tokens") if limit is None else limit,
                    "temperature": body.get("temperature"),
                    "top_p": body.get("top_p"),
                    "stop": body.get("stop"),
                    "seed": body.get("seed"),
                    "tool_choice": body.get("tool_choice"),
                }
            ),
            stream=_flag(body, "stream"),
            include_usage=options.get("include_usage") is True,
            metadata=_metadata(body, "user"),
        )
    )


def _chat_message(message: Any) -> Any:
    """A Chat Completions message in Cachet's body: ``developer`` is a system message, and the
    empty fields of an echoed completion (``refusal: null``, ``annotations: []``) are dropped."""
    if not isinstance(message, dict):
        return message
    message = {k: v for k, v in message.items() if not (k in ECHOED_EMPTY and not v)}
    if message.get("role") == "developer":
        return {**message, "role": "system"}
    return message


# Fields of an assistant message as the SDK echoes a completion back: empty, they say nothing.
ECHOED_EMPTY = ("refusal", "annotations", "audio", "function_call")


# ---------------------------------------------------------------- OpenAI Responses

RESPONSES_FIELDS = (
    "model", "input", "prompt", "stream", "max_output_tokens", "temperature", "top_p",
    "tool_choice", "metadata", "user", "store",
)  # fmt: skip


def responses_request(body: Any) -> CompatRequest:
    """A ``POST /openai/v1/responses`` body."""
    body = _object(body, "the request body")
    _refuse_unknown(body, RESPONSES_FIELDS)
    if "store" in body:
        _flag(body, "store")  # accepted; Cachet's invocation log is its record
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        tool_choice = {"type": "function", "function": {"name": tool_choice.get("name")}}
    return _checked(
        CompatRequest(
            **_prompt(body),
            model=_model(body, "openai"),
            conversation=_conversation(_input_messages(body.get("input")), "input"),
            params=_params(
                {
                    "max_tokens": body.get("max_output_tokens"),
                    "temperature": body.get("temperature"),
                    "top_p": body.get("top_p"),
                    "tool_choice": tool_choice,
                }
            ),
            stream=_flag(body, "stream"),
            metadata=_metadata(body, "user"),
        )
    )


def _input_messages(value: Any) -> list[Any]:
    """The Responses ``input`` (a string or a list of items) as Cachet body messages."""
    if value is None:
        return []
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        raise CompatRequestError("input must be a string or a list of items", param="input")
    messages: list[Any] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise CompatRequestError(f"input[{index}] must be an object", param=f"input[{index}]")
        kind = item.get("type", "message")
        handle = _INPUT_ITEMS.get(kind)
        if handle is None:
            raise CompatRequestError(
                f"input[{index}]: items of type {kind!r} are not supported", param=f"input[{index}]"
            )
        handle(item, index, messages)
    return messages


def _message_item(item: dict[str, Any], index: int, messages: list[Any]) -> None:
    role = "system" if item.get("role") == "developer" else item.get("role")
    content = item.get("content")
    if isinstance(content, list):
        content = [
            _input_part(part, f"input[{index}].content[{i}]") for i, part in enumerate(content)
        ]
    messages.append({"role": role, "content": content})


def _function_call_item(item: dict[str, Any], index: int, messages: list[Any]) -> None:
    call = {
        "id": item.get("call_id"),
        "type": "function",
        "function": {"name": item.get("name"), "arguments": item.get("arguments")},
    }
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant" and "tool_calls" in last:
        last["tool_calls"].append(call)
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _function_output_item(item: dict[str, Any], index: int, messages: list[Any]) -> None:
    output = item.get("output")
    if isinstance(output, list):
        output = [_input_part(part, f"input[{index}].output[{i}]") for i, part in enumerate(output)]
    messages.append({"role": "tool", "tool_call_id": item.get("call_id"), "content": output})


_INPUT_ITEMS: dict[str, Callable[[dict[str, Any], int, list[Any]], None]] = {
    "message": _message_item,
    "function_call": _function_call_item,
    "function_call_output": _function_output_item,
}
_FILE_FIELDS = {
    "file_data": "file_data",
    "file_url": "url",
    "file_id": "file_id",
    "filename": "filename",
}


def _input_part(part: Any, path: str) -> Any:
    """A Responses content part as a Cachet body part."""
    if not isinstance(part, dict):
        return part  # the body parser names the problem
    kind = part.get("type")
    if kind in ("input_text", "output_text"):
        return {"type": "text", "text": part.get("text")}
    if kind == "input_image":
        image = {"url": part.get("image_url")}
        if part.get("detail"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file = {_FILE_FIELDS[key]: value for key, value in part.items() if key in _FILE_FIELDS}
        return {"type": "file", "file": file}
    raise CompatRequestError(f"{path}: parts of type {kind!r} are not supported", param=path)


# ---------------------------------------------------------------- Anthropic Messages

MESSAGES_FIELDS = (
    "model", "messages", "prompt", "max_tokens", "stream", "system", "temperature", "top_p",
    "top_k", "stop_sequences", "metadata", "tool_choice",
)  # fmt: skip
ANTHROPIC_TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def messages_request(body: Any) -> CompatRequest:
    """A ``POST /anthropic/v1/messages`` body."""
    body = _object(body, "the request body")
    _refuse_unknown(body, MESSAGES_FIELDS)
    if not isinstance(body.get("max_tokens"), int) or isinstance(body.get("max_tokens"), bool):
        raise CompatRequestError("max_tokens: Field required (an integer)", param="max_tokens")
    messages = _system_messages(body.get("system"))
    for index, message in enumerate(_list(body.get("messages"), "messages")):
        messages += _anthropic_message(message, index)
    return _checked(
        CompatRequest(
            **_prompt(body),
            model=_model(body, "anthropic"),
            conversation=_conversation(messages, "messages"),
            params=_params(
                {
                    "max_tokens": body["max_tokens"],
                    "temperature": body.get("temperature"),
                    "top_p": body.get("top_p"),
                    "top_k": body.get("top_k"),
                    "stop": body.get("stop_sequences"),
                    "tool_choice": _anthropic_tool_choice(body.get("tool_choice")),
                }
            ),
            stream=_flag(body, "stream"),
            metadata=_metadata(body),
        )
    )


def _system_messages(system: Any) -> list[Any]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    if not isinstance(system, list):
        raise CompatRequestError("system must be a string or a list of text blocks", param="system")
    return [
        {"role": "system", "content": [_block(b, f"system[{i}]") for i, b in enumerate(system)]}
    ]


def _anthropic_message(message: Any, index: int) -> list[Any]:
    """One Anthropic message as Cachet body messages: ``tool_result`` blocks become tool
    messages and ``tool_use`` blocks the assistant's tool calls."""
    if not isinstance(message, dict) or isinstance(message.get("content"), str):
        return [message]
    path = f"messages[{index}]"
    blocks = message.get("content")
    if not isinstance(blocks, list):
        return [message]
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    calls = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_use"]
    rest = [
        _block(b, f"{path}.content[{i}]")
        for i, b in enumerate(blocks)
        if not (isinstance(b, dict) and b.get("type") in ("tool_result", "tool_use"))
        # An empty text block beside tool calls (as a streamed answer has) says nothing.
        and not (calls and isinstance(b, dict) and b.get("type") == "text" and not b.get("text"))
    ]
    converted = [_tool_result(block, path) for block in results]
    if rest or calls:
        turn: dict[str, Any] = {"role": message.get("role"), "content": rest or None}
        if calls:
            turn["tool_calls"] = [_tool_use(block) for block in calls]
        converted.append(turn)
    return converted


def _tool_use(block: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = {
        "id": block.get("id"),
        "type": "function",
        "function": {"name": block.get("name"), "arguments": json.dumps(block.get("input", {}))},
    }
    if "cache_control" in block:
        call["cache_control"] = block["cache_control"]
    return call


def _tool_result(block: dict[str, Any], path: str) -> dict[str, Any]:
    content = block.get("content", "")
    if isinstance(content, list):
        content = [_block(b, f"{path}.tool_result.content[{i}]") for i, b in enumerate(content)]
    message = {"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": content}
    if "cache_control" in block:
        message["cache_control"] = block["cache_control"]
    return message


def _block(block: Any, path: str) -> Any:
    """An Anthropic content block as a Cachet body part (its ``cache_control`` kept)."""
    if not isinstance(block, dict):
        return block
    marker = {"cache_control": block["cache_control"]} if "cache_control" in block else {}
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text"), **marker}
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    if kind == "document" and source.get("type") == "text":
        return {"type": "text", "text": source.get("data"), **marker}  # a plain-text document
    if kind in ("image", "document") and source.get("type") not in ("base64", "url"):
        raise CompatRequestError(
            f"{path}.source: sources of type {source.get('type')!r} are not supported "
            "(base64 or url)",
            param=path,
        )
    url = source.get("url") or f"data:{source.get('media_type')};base64,{source.get('data')}"
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": url}, **marker}
    if kind == "document":
        key = "url" if source.get("type") == "url" else "file_data"
        return {"type": "file", "file": {key: url}, **marker}
    raise CompatRequestError(f"{path}: blocks of type {kind!r} are not supported", param=path)


def _anthropic_tool_choice(choice: Any) -> Any:
    if choice is None:
        return None
    choice = _object(choice, "tool_choice")
    if choice.get("type") == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if choice.get("type") in ANTHROPIC_TOOL_CHOICES:
        return ANTHROPIC_TOOL_CHOICES[choice["type"]]
    raise CompatRequestError(
        'tool_choice.type must be "auto", "any", "tool" or "none"', param="tool_choice"
    )
