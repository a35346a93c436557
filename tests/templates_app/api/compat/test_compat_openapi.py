"""The OpenAPI schema documents the SDK-compatible endpoints (schemathesis fuzzes them with
the rest: tests/test_schema_fuzz.py)."""

from __future__ import annotations

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_the_schema_documents_the_three_compatible_endpoints(client):
    schema = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()

    for path, required in (
        ("/openai/v1/chat/completions", ["prompt"]),
        ("/openai/v1/responses", ["prompt"]),
        ("/anthropic/v1/messages", ["prompt", "max_tokens"]),
    ):
        operation = schema["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["required"] == required and body["additionalProperties"] is False
        assert "prompt" in body["properties"]
        assert set(operation["responses"]["200"]["content"]) == {
            "application/json",
            "text/event-stream",
        }
        assert {"400", "401", "404", "429", "502"} <= set(operation["responses"])
