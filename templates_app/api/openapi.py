"""OpenAPI description of the REST API: the bearer API keys, the scope each operation needs,
the error answers, and request examples (each one works as given: tests/templates_app/api/
test_openapi.py sends them all)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "templates_app.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "description": "a Cachet API key"}


class ScopedAutoSchema(AutoSchema):
    """Ends each operation's description with the API-key scope its view's ``scopes`` names,
    so the documented scope is the one ``auth.KeyHasScope`` checks."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        scope = getattr(self.view, "scopes", {}).get(self.method)
        if operation is not None and scope is not None:
            text = f"Needs an API key with the `{scope}` scope."
            description = operation.get("description")
            operation["description"] = f"{description}\n\n{text}" if description else text
        return operation

    def map_renderers(self, attribute: str) -> list[Any]:
        # An operation that streams documents its text/event-stream answer by hand; its
        # errors, and the `format` override, stay JSON only.
        return [
            value
            for value in super().map_renderers(attribute)
            if value not in ("text/event-stream", "event-stream")
        ]


ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "type": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(allow_null=True),
            },
        )
    },
)
ERROR_DESCRIPTIONS = {
    400: "Invalid input: a malformed or unknown field, named in `details`.",
    401: "No API key, or an unknown or revoked one.",
    403: "The API key lacks the scope this operation needs.",
    404: "No such template, or one this API key may not use.",
    429: "Too many requests for this API key: retry after `Retry-After` seconds.",
}
PROVIDER_ERROR_DESCRIPTIONS = {
    502: "The provider answered with an error or could not be reached "
    "(`details.provider_status`, `details.request_id`); the call is recorded.",
    503: "The model's provider is not configured (no credentials).",
    504: "The provider did not answer in time; the call is recorded.",
}


def errors(texts: dict[int, str | None] | None = None) -> dict[int, OpenApiResponse]:
    """The error answers of an operation: the common ones, with ``texts`` replacing or adding
    descriptions by status (``None`` drops a status the operation cannot answer)."""
    merged: dict[int, str | None] = {**ERROR_DESCRIPTIONS, **(texts or {})}
    return {
        code: OpenApiResponse(ERROR, description=text)
        for code, text in sorted(merged.items())
        if text is not None
    }


def example(name: str, value: dict[str, Any], description: str = "") -> OpenApiExample:
    """A request body example."""
    return OpenApiExample(name, value=value, description=description, request_only=True)


EXAMPLE_BODY: dict[str, Any] = {
    "model": "sim/claude-sonnet-4-5",
    "params": {"max_tokens": 256, "temperature": 0},
    "variables": {
        "document": {"type": "string", "required": True},
        "question": {"type": "string", "required": True},
    },
    "messages": [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": "You answer from the document only."},
                {
                    "type": "text",
                    "text": "{{ document }}",
                    "cache_control": {"type": "ephemeral", "ttl": "1h"},
                },
            ],
        },
        {"role": "user", "content": "{{ question }}"},
    ],
}
EXAMPLE_VARIABLES = {
    "document": "Clause 1. The service is available 99.9% of each month.",
    "question": "What is the uptime?",
}

TEMPLATE_CREATE_EXAMPLES = [
    example(
        "New template",
        {
            "slug": "contract-qa",
            "name": "Contract Q&A",
            "description": "Answers questions about one contract.",
            "sample_variables": EXAMPLE_VARIABLES,
        },
    )
]
TEMPLATE_UPDATE_EXAMPLES = [
    example("New description", {"description": "Answers from the document only."}),
    example(
        "Aliases",
        {"aliases": ["pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"]},
        "Replaces the whole set of aliases; `[]` removes them all.",
    ),
]
VERSION_CREATE_EXAMPLES = [
    example(
        "Answer from a document",
        {"body": EXAMPLE_BODY, "message": "cache the document for an hour"},
        "The system text holding the document closes a 1h checkpoint; the question "
        "comes after it, so changing it keeps the cached prefix.",
    )
]
LABEL_MOVE_EXAMPLES = [
    example("Point at version 1", {"version": 1}),
    example(
        "Warm it first",
        {"version": 1, "warm": True, "variables": {"document": EXAMPLE_VARIABLES["document"]}},
        "The version's cached prefix is written before the label moves (unless it is warm "
        "already, or too short to cache); prefix variables not given come from the "
        "template's sample variables.",
    ),
]
RENDER_EXAMPLES = [
    example("By label", {"variables": EXAMPLE_VARIABLES, "label": "latest"}),
    example("By version", {"variables": EXAMPLE_VARIABLES, "version": 1}),
]
SEND_EXAMPLES = [
    example(
        "Send once",
        {"variables": EXAMPLE_VARIABLES, "stream": False, "metadata": {"ticket": "T-1234"}},
        "Neither version nor label: the `production` label if the template has one, "
        "else the latest version.",
    ),
    example(
        "Stream",
        {"variables": EXAMPLE_VARIABLES, "label": "latest", "stream": True},
        "Answered as `text/event-stream`.",
    ),
]
LINT_EXAMPLES = [
    example("A stored version", {"version": 1}),
    example("An unsaved body", {"body": EXAMPLE_BODY, "model": "sim/claude-haiku-4-5"}),
]
PREVIEW_EXAMPLES = [
    example("An unsaved body", {"body": EXAMPLE_BODY, "variables": EXAMPLE_VARIABLES})
]
