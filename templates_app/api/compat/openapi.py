"""OpenAPI descriptions of the SDK-compatible endpoints (request, answers, errors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from .requests import CHAT_FIELDS, MESSAGES_FIELDS, RESPONSES_FIELDS

PROMPT = {
    "type": "object",
    "description": "The template: `id` is its slug or an alias; `version` or `label` (neither: "
    "`production` if it exists, else the latest version); `variables` by name.",
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "version": {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
        "label": {"type": "string"},
        "variables": {"type": "object", "additionalProperties": True},
    },
    "required": ["id"],
    "additionalProperties": False,
}
MESSAGE = {"type": "object", "additionalProperties": True}
NUMBER_0_2 = {"type": "number", "minimum": 0, "maximum": 2}
NUMBER_0_1 = {"type": "number", "minimum": 0, "maximum": 1}
COMMON = {
    "model": {
        "type": "string",
        "description": 'Overrides the template\'s model unless empty or "default"; a bare id is '
        "one of this endpoint's provider.",
    },
    "prompt": PROMPT,
    "stream": {"type": "boolean"},
    "temperature": NUMBER_0_2,
    "top_p": NUMBER_0_1,
    "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
}


def _request(properties: dict[str, Any], fields: tuple[str, ...], required: list[str]) -> dict:
    merged = {**COMMON, **properties}
    schema = {name: merged.get(name, {}) for name in fields}
    return {
        "type": "object",
        "properties": schema,
        "required": required,
        "additionalProperties": False,
    }


CHAT_REQUEST = _request(
    {
        "messages": {"type": "array", "items": MESSAGE},
        "stream_options": {
            "type": "object",
            "properties": {"include_usage": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "max_tokens": {"type": "integer", "minimum": 1},
        "max_completion_tokens": {"type": "integer", "minimum": 1},
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "seed": {"type": "integer", "minimum": 0},
        "tool_choice": {
            "oneOf": [{"type": "string", "enum": ["auto", "none", "required"]}, {"type": "object"}]
        },
        "user": {"type": "string"},
        "n": {"type": "integer", "enum": [1]},
        "store": {"type": "boolean"},
    },
    CHAT_FIELDS,
    ["prompt"],
)
RESPONSES_REQUEST = _request(
    {
        "input": {"oneOf": [{"type": "string"}, {"type": "array", "items": MESSAGE}]},
        "max_output_tokens": {"type": "integer", "minimum": 1},
        "tool_choice": {
            "oneOf": [{"type": "string", "enum": ["auto", "none", "required"]}, {"type": "object"}]
        },
        "user": {"type": "string"},
        "store": {"type": "boolean"},
    },
    RESPONSES_FIELDS,
    ["prompt"],
)
MESSAGES_REQUEST = _request(
    {
        "messages": {"type": "array", "items": MESSAGE},
        "max_tokens": {"type": "integer", "minimum": 1},
        "system": {"oneOf": [{"type": "string"}, {"type": "array", "items": MESSAGE}]},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1},
        "top_k": {"type": "integer", "minimum": 1},
        "stop_sequences": {"type": "array", "items": {"type": "string"}},
        "tool_choice": {"type": "object"},
        "metadata": {"type": "object", "properties": {"user_id": {"type": "string"}}},
    },
    MESSAGES_FIELDS,
    ["prompt", "max_tokens"],
)
CACHET = {
    "type": "object",
    "description": "Added by Cachet: invocation id, template, version, label, model, provider, "
    "normalized usage, cost (`usd`, `usd_without_cache`, `saved_usd`), checkpoints with their "
    "fingerprints, the miss explanation, and how the send took its turn on its cached prefix "
    "(`coalescing`).",
    "additionalProperties": True,
}


def _answer(description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {"cachet": CACHET},
        "additionalProperties": True,
    }


def _stream(description: str) -> dict[str, Any]:
    return {"type": "string", "description": f"Server-sent events: {description}"}


OPENAI_ERROR = {
    "type": "object",
    "description": 'OpenAI\'s error shape: `{"error": {"message", "type", "param", "code"}}`, '
    "plus `error.cachet` with Cachet's details.",
    "additionalProperties": True,
}
ANTHROPIC_ERROR = {
    "type": "object",
    "description": 'Anthropic\'s error shape: `{"type": "error", "error": {"type", "message"}}`, '
    "plus `error.cachet` with Cachet's details.",
    "additionalProperties": True,
}
ERROR_TEXTS = {
    400: "The request cannot be served: an unsupported field, a bad variable, a render error, "
    "or the provider refused the request.",
    401: "No API key, or an unknown or revoked one.",
    403: "The API key lacks the `send` scope.",
    404: "No template with that slug or alias (or the key may not use it).",
    429: "Rate limited (by Cachet or the provider); `Retry-After` says when to try again.",
    502: "The provider failed; the message says how.",
    503: "The template's provider is not configured.",
    504: "The provider did not answer in time.",
}


def _errors(shape: dict[str, Any]) -> dict[int, OpenApiResponse]:
    return {
        status: OpenApiResponse(shape, description=text) for status, text in ERROR_TEXTS.items()
    }


def _example(value: dict[str, Any]) -> list[OpenApiExample]:
    return [OpenApiExample("By template", value=value, request_only=True)]


PROMPT_EXAMPLE = {
    "id": "doc-qa",
    "variables": {"document": "Uptime was 99.95%.", "question": "Uptime?"},
}
CHAT_COMPLETIONS = {
    "summary": "OpenAI Chat Completions, by template",
    "description": "For the official OpenAI SDK with `base_url=<host>/openai/v1`: the template "
    "is named by `prompt` (`extra_body`), the request's `messages` follow the template's. The "
    "answer is a `chat.completion` (or its chunks with `stream: true`) with a `cachet` object.",
    "request": {"application/json": CHAT_REQUEST},
    "responses": {
        (200, "application/json"): _answer("A chat.completion object."),
        (200, "text/event-stream"): _stream("chat.completion.chunk data, then [DONE]."),
        **_errors(OPENAI_ERROR),
    },
    "examples": _example({"model": "default", "messages": [], "prompt": PROMPT_EXAMPLE}),
    "tags": ["SDK-compatible"],
    "operation_id": "openai_chat_completions",
}
RESPONSES = {
    "summary": "OpenAI Responses, by template",
    "description": "For the official OpenAI SDK with `base_url=<host>/openai/v1`: `prompt` is "
    "the Responses API's own field (`id`, `version`, `variables`), so code written for OpenAI "
    "prompt objects moves by changing its base URL once a template carries the `pmpt_…` id as "
    "an alias; `input` follows the template's messages.",
    "request": {"application/json": RESPONSES_REQUEST},
    "responses": {
        (200, "application/json"): _answer("A response object."),
        (200, "text/event-stream"): _stream("response.* events, ending with response.completed."),
        **_errors(OPENAI_ERROR),
    },
    "examples": _example({"input": "Uptime?", "prompt": PROMPT_EXAMPLE}),
    "tags": ["SDK-compatible"],
    "operation_id": "openai_responses",
}
MESSAGES = {
    "summary": "Anthropic Messages, by template",
    "description": "For the official Anthropic SDK with `base_url=<host>/anthropic`: the "
    "template is named by `prompt` (`extra_body`), the request's `system` and `messages` "
    "follow the template's. The answer is a `message` (or its events with `stream: true`) with "
    "a `cachet` object.",
    "request": {"application/json": MESSAGES_REQUEST},
    "responses": {
        (200, "application/json"): _answer("A message object."),
        (200, "text/event-stream"): _stream(
            "message_start, content blocks, message_delta, message_stop."
        ),
        **_errors(ANTHROPIC_ERROR),
    },
    "examples": _example({"max_tokens": 256, "messages": [], "prompt": PROMPT_EXAMPLE}),
    "tags": ["SDK-compatible"],
    "operation_id": "anthropic_messages",
}
