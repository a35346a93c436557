"""The OpenAPI schema: generated without a warning, /send fully described, every operation
documented, and every request example a request that works as given."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import schemathesis
from asgiref.sync import async_to_sync
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from templates_app.sending import clients
from tests.factories import make_template, make_version

SLUG = "doc-qa"
# What the fixture template answers to in each path parameter of an example's operation.
PATH_VALUES = {"{slug}": SLUG, "{number}": "1", "{other}": "1", "{label}": "production"}
SEND = "/api/v1/templates/{slug}/send"
# Operations whose examples the issue asks for; every body-taking operation needs one anyway.
EXAMPLED = {
    ("post", "/api/v1/templates"),
    ("post", "/api/v1/templates/{slug}/versions"),
    ("put", "/api/v1/templates/{slug}/labels/{label}"),
    ("post", "/api/v1/templates/{slug}/render"),
    ("post", "/api/v1/templates/{slug}/lint"),
    ("post", "/api/v1/templates/{slug}/preview"),
    ("post", SEND),
}


def generate() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def request_examples(schema: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(method, path, example name, body) for every request body example in ``schema``."""
    found = []
    for method, path, operation in operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        for media in content.values():
            for name, example in media.get("examples", {}).items():
                found.append((method, path, name, example["value"]))
    return found


SCHEMA = generate()
EXAMPLES = request_examples(SCHEMA)
OPENAPI = schemathesis.openapi.from_dict(SCHEMA)


def component(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


async def read_stream(response: Any) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def assert_conforms(method: str, path: str, url: str, response: Any, content: bytes) -> None:
    """The answer has a documented status, media type and body shape (schemathesis's check)."""
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={key: [value] for key, value in response.headers.items()},
        content=content,
        request=requests.Request(method.upper(), f"http://testserver{url}").prepare(),
        elapsed=0.0,
        verify=False,
    )
    OPENAPI[path][method.upper()].validate_response(answer)


@pytest.fixture
def stored(db):
    """The template the examples' path parameters name, with version 1."""
    clients.forget_clients()
    template = make_template(slug=SLUG)
    make_version(template)
    return template


def test_schema_generation_reports_no_warning_or_error(tmp_path):
    GENERATOR_STATS.reset()
    # --fail-on-warn raises on any warning or error, --validate on a schema that is not
    # valid OpenAPI; the messages are on stderr.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "s.yaml"))
    assert not GENERATOR_STATS
    assert (tmp_path / "s.yaml").read_text().startswith("openapi:")


def test_send_describes_its_body_and_both_answers():
    operation = SCHEMA["paths"][SEND]["post"]
    body = component(
        SCHEMA, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert {"variables", "version", "label", "model", "stream", "metadata"} <= set(
        body["properties"]
    )
    assert body["properties"]["stream"] == {"type": "boolean", "default": False}
    answer = operation["responses"]["200"]["content"]
    assert set(answer) == {"application/json", "text/event-stream"}
    result = component(SCHEMA, answer["application/json"]["schema"]["$ref"])
    assert {"invocation_id", "output", "usage", "cost", "checkpoints", "miss"} <= set(
        result["properties"]
    )
    assert {"usd", "usd_without_cache", "saved_usd"} == set(
        component(SCHEMA, result["properties"]["cost"]["$ref"])["properties"]
    )
    # Each event, as schemathesis validates a stream (OpenAPI 3.2 reads it the same way).
    stream = answer["text/event-stream"]["schema"]
    assert stream["properties"]["event"]["enum"] == ["delta", "done", "error"]
    assert stream["properties"]["data"]["type"] == "string"
    assert all(f"`{event}`" in stream["description"] for event in ("delta", "done", "error"))
    assert "`stream: true`" in operation["description"]
    assert {"400", "401", "403", "404", "429", "502", "503", "504"} <= set(operation["responses"])


def test_every_operation_has_a_summary_a_description_and_its_scope():
    for method, path, operation in operations(SCHEMA):
        where = f"{method.upper()} {path}"
        assert operation.get("summary"), where
        description = operation.get("description", "")
        # Not the view base classes' docstrings, which drf-spectacular falls back to.
        assert "endpoint" not in description.split("\n\n")[0], where
        assert "Needs an API key with the `" in description, where
        for status, answer in operation["responses"].items():
            if status.startswith("4") or status.startswith("5"):
                assert answer["description"], f"{where} {status}"


def test_every_operation_taking_a_body_has_request_examples():
    with_body = {(m, p) for m, p, op in operations(SCHEMA) if "requestBody" in op}
    exampled = {(method, path) for method, path, _, _ in EXAMPLES}
    assert exampled == with_body
    assert exampled.issuperset(EXAMPLED)


def test_no_example_gives_both_version_and_label():
    for method, path, name, value in EXAMPLES:
        assert not {"version", "label"} <= set(value), (method, path, name)


@pytest.mark.parametrize(
    ("method", "path", "name", "value"),
    EXAMPLES,
    ids=[f"{method}-{path.removeprefix('/api/v1/')}-{name}" for method, path, name, _ in EXAMPLES],
)
def test_request_example_works_as_given(api: APIClient, stored, method, path, name, value):
    url = path
    for parameter, replacement in PATH_VALUES.items():
        url = url.replace(parameter, replacement)
    response = getattr(api, method)(url, value, format="json")
    if getattr(response, "streaming", False):
        content = async_to_sync(read_stream)(response)
        assert response["Content-Type"] == "text/event-stream"
        events = content.decode().strip().split("\n\n")
        assert events[-1].startswith("event: done\ndata: "), events
        done = json.loads(events[-1].removeprefix("event: done\ndata: "))
        assert set(done) == set(component(SCHEMA, "SendOutput")["properties"])
    else:
        content = response.content
        assert response["Content-Type"].startswith("application/json")
    assert 200 <= response.status_code < 300, content[:2000]
    assert_conforms(method, path, url, response, content)
