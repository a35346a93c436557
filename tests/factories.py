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
