"""Test data with readable fixed values. Override any part with keyword arguments."""

from __future__ import annotations

import copy
from typing import Any

DOCUMENT = "Clause 1. The service is available 99.9% of each month.\n" * 120  # ~1,700 tokens


def make_body(**overrides: Any) -> dict[str, Any]:
    """A document-Q&A body: one 1h checkpoint after the document, suffix question and words."""
    body: dict[str, Any] = {
        "model": "sim/claude-sonnet-4-5",
        "params": {"max_tokens": 256, "temperature": 0},
        "variables": {
            "document": {"type": "string", "required": True},
            "question": {"type": "string", "required": True},
            "words": {"type": "integer", "default": 20},
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
            {"role": "user", "content": "Answer in {{ words }} words: {{ question }}"},
        ],
    }
    body.update(copy.deepcopy(overrides))
    return body


def make_tool(name: str = "lookup_order", **overrides: Any) -> dict[str, Any]:
    """An OpenAI-format function tool."""
    tool: dict[str, Any] = {
        "type": "function",
        "function": {
            "name": name,
            "description": "Look an order up by its id.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
    tool.update(overrides)
    return tool


def make_checkpoint(ordinal: int = 1, **overrides: Any) -> dict[str, Any]:
    """One entry of an invocation's ``checkpoints``: the factory body's 1h checkpoint, cached,
    closing a prefix of 100,000 tokens."""
    checkpoint: dict[str, Any] = {
        "ordinal": ordinal,
        "path": "messages[0].content[1]",
        "section": "messages",
        "ttl": "1h",
        "fingerprint": "sha256:" + "d0c" * 21 + "0",
        "tokens": 100_000,
        "min_tokens": 1024,
        "status": "will_cache",
        "block_index": 1,
    }
    checkpoint.update(overrides)
    return checkpoint


def make_template(**overrides: Any):
    """A stored template (needs the database)."""
    from templates_app import services

    fields = {
        "slug": "doc-qa",
        "name": "Document Q&A",
        "description": "",
        "sample_variables": {"document": DOCUMENT, "question": "Uptime?"},
    }
    fields.update(overrides)
    return services.template_create(**fields)


def make_version(
    template=None, body: dict[str, Any] | None = None, message: str = "first", author: str = "alice"
):
    """A stored version of ``template`` (a new one when not given)."""
    from templates_app import services

    template = template or make_template()
    return services.version_create(
        template=template, body=body or make_body(), message=message, author=author
    )


def make_invocation(version, **overrides: Any):
    """An unsaved invocation row of ``version`` (a stored one): what a send hands the writer."""
    from templates_app.models import Invocation

    fields: dict[str, Any] = {
        "template_id": version.template_id,
        "version": version,
        "model": "sim/claude-sonnet-4-5",
        "provider": "sim",
        "status": Invocation.Status.OK,
    }
    fields.update(overrides)
    return Invocation(**fields)


# Every feature of the body format, in two bodies (one model allows four checkpoints):
# every param, variable type and key, both tool marker spellings, strict, string and list
# content, message-level markers, names, images with details, files, tool calls with a
# marker, tool results, explicit and default TTLs, a float written 1.0, Unicode, tabs, Jinja.
FULL_TOOLS_AND_SYSTEM = {
    "model": "sim/claude-sonnet-4-5",
    "params": {
        "max_tokens": 300,
        "temperature": 1.0,
        "top_p": 0.9,
        "top_k": 40,
        "seed": 7,
        "stop": ["\n\nEND", "###"],
        "tool_choice": {"type": "function", "function": {"name": "lookup_order"}},
    },
    "variables": {
        "document": {"type": "string", "required": True, "description": "Text to answer from"},
        "question": {"type": "string", "required": True, "max_length": 20000, "per_request": True},
        "words": {"type": "integer", "default": 20},
        "ratio": {"type": "number", "default": 0.5, "required": False},
        "strict": {"type": "boolean", "default": False},
        "tags": {"type": "array", "default": ["a", "b"]},
        "profile": {"type": "object", "default": {"tier": "gold", "since": 2021}},
        "tone": {"type": "string", "enum": ["plain", "warm"], "default": "plain"},
    },
    "caching": {"coalesce": False},
    "tools": [
        make_tool(cache_control={"type": "ephemeral", "ttl": "1h"}),
        {
            "type": "function",
            "function": {
                "name": "refund",
                "description": "Refund {{ profile.tier }} orders.\n\tTabs and “quotes” kept.",
                "parameters": {
                    "type": "object",
                    "properties": {"amount": {"type": "number", "minimum": 0.0}},
                },
                "strict": True,
                "cache_control": {"type": "ephemeral", "ttl": "1h"},
            },
        },
    ],
    "messages": [
        {
            "role": "system",
            "content": "Tone: {{ tone }}.\n{% for tag in tags %}- {{ tag }}\n{% endfor %}",
            "cache_control": {"type": "ephemeral", "ttl": "5m"},
        },
        {
            "role": "system",
            "name": "policy",
            "content": [
                {"type": "text", "text": "Policy — naïve café 東京 🚀"},
                {"type": "text", "text": "{{ document }}"},
            ],
            "cache_control": {"type": "ephemeral"},
        },
        {"role": "user", "content": "Answer in {{ words }} words ({{ ratio }}): {{ question }}"},
    ],
}
FULL_MESSAGES = {
    "model": "sim/claude-sonnet-4-5",
    "params": {"max_tokens": 128, "stop": "STOP"},
    "variables": {"question": {"type": "string"}, "order": {"type": "string", "default": "A-1"}},
    "tools": [make_tool()],
    "messages": [
        {
            "role": "user",
            "name": "alice",
            "content": [
                {"type": "text", "text": "Look at this:", "cache_control": {"type": "ephemeral"}},
                {
                    "type": "image_url",
                    "image_url": {
                        "url": "https://example.invalid/{{ order }}.png",
                        "detail": "low",
                    },
                },
                {
                    "type": "file",
                    "file": {"file_id": "file-abc123", "filename": "contract.pdf"},
                    "cache_control": {"type": "ephemeral", "ttl": "5m"},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {
                        "name": "lookup_order",
                        "arguments": '{"order_id": "{{ order }}"}',
                    },
                    "cache_control": {"type": "ephemeral"},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": [{"type": "text", "text": '{"status": "shipped"}'}],
            "cache_control": {"type": "ephemeral"},
        },
        {"role": "user", "content": "{{ question }}"},
    ],
}
