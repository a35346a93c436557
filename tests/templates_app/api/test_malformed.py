"""Bad input anywhere in the API is a 4xx JSON error naming the field, never a 500.

Raw bytes go to every write endpoint through Django's test client, so nothing
is re-encoded on the way: invalid JSON, wrong types, NUL characters, huge and
deeply nested bodies, wrong content types. A hypothesis test then posts
arbitrary JSON as version bodies and render inputs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.asgi
from templates_app.models import Template
from tests.asgi import RoutedClient
from tests.factories import make_body, make_version

API = "/api/v1"
SLUG = "doc-qa"
JSON = "application/json"
MAX_BYTES = 5 * 1024 * 1024

# (id, method, path) of every endpoint that takes a JSON body.
WRITE_ENDPOINTS = [
    ("template-create", "post", f"{API}/templates"),
    ("template-patch", "patch", f"{API}/templates/{SLUG}"),
    ("version-create", "post", f"{API}/templates/{SLUG}/versions"),
    ("label-move", "put", f"{API}/templates/{SLUG}/labels/production"),
    ("render", "post", f"{API}/templates/{SLUG}/render"),
    ("lint", "post", f"{API}/templates/{SLUG}/lint"),
    ("send", "post", f"{API}/templates/{SLUG}/send"),
    # The same route served by the direct router (tests/asgi.py): the sweep runs both ways.
    ("send-direct", "post", f"{API}/templates/{SLUG}/send"),
]
ENDPOINT = {name: (method, path) for name, method, path in WRITE_ENDPOINTS}


def nested(depth: int) -> str:
    """JSON text of arrays and objects nested ``depth`` levels deep."""
    half = depth // 2
    return '{"a":[' * half + "1" + "]}" * half


# (id, raw body) sent to every write endpoint; each must be a 4xx.
RAW_BODIES: list[tuple[str, bytes]] = [
    ("truncated-json", b'{"slug": "doc-qa", "name": "Doc'),
    ("trailing-comma", b'{"slug": "doc-qa", "name": "Doc",}'),
    ("single-quotes", b"{'slug': 'doc-qa', 'name': 'Doc'}"),
    ("unquoted-key", b'{slug: "doc-qa"}'),
    ("bare-word", b"hello"),
    ("two-documents", b'{"version": 1}{"version": 2}'),
    ("comment", b'{"version": 1 /* one */}'),
    ("empty", b""),
    ("whitespace-only", b"   \n\t "),
    ("non-utf8-bytes", b'{"name": "\xff\xfe caf\xe9"}'),
    ("utf16-with-bom", '{"version": 1}'.encode("utf-16")),
    ("nan", b'{"version": NaN, "variables": {"words": NaN}}'),
    ("infinity", b'{"version": Infinity}'),
    ("negative-infinity", b'{"variables": {"words": -Infinity}}'),
    ("nan-inside-body", b'{"body": {"params": {"temperature": NaN}}}'),
    ("top-level-array", b'[{"slug": "doc-qa", "name": "Doc", "version": 1}]'),
    ("top-level-empty-array", b"[]"),
    ("top-level-string", b'"doc-qa"'),
    ("top-level-number", b"42"),
    ("top-level-true", b"true"),
    ("top-level-null", b"null"),
    ("raw-nul-byte-in-string", b'{"slug": "doc\x00qa", "name": "Doc", "version": 1}'),
    ("raw-control-char-in-string", b'{"name": "line\x01", "version": 1}'),
    ("integer-of-5000-digits", b'{"version": ' + b"9" * 5000 + b"}"),
    ("nested-10000-levels", nested(10_000).encode()),
    ("nested-100-levels", nested(100).encode()),
    ("nested-100-levels-in-a-field", b'{"body": ' + nested(100).encode() + b', "version": 1}'),
]


@pytest.fixture
def client(request, api_key: str, monkeypatch) -> Client:
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("endpoint") == "send-direct":
        monkeypatch.setattr(tests.asgi, "ROUTE", "direct")
    return RoutedClient(HTTP_AUTHORIZATION=f"Bearer {api_key}")


@pytest.fixture
def stored(db) -> Any:
    """Template ``doc-qa`` with version 1 and a ``production`` label."""
    from templates_app import services

    version = make_version()
    services.label_move(template=version.template, label="production", version=1)
    return version


def send(client: Client, method: str, path: str, data: bytes | str, content_type: str = JSON):
    return getattr(client, method)(path, data=data, content_type=content_type)


def send_json(client: Client, endpoint: str, payload: Any) -> Any:
    method, path = ENDPOINT[endpoint]
    return send(client, method, path, json.dumps(payload))


def assert_client_error(response: Any, status: int | None = None) -> dict[str, Any]:
    """A 4xx with the JSON error shape; returns the ``error`` object."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:1000])
    if status is not None:
        assert response.status_code == status, response.content[:1000]
    assert response["Content-Type"].startswith(JSON), response["Content-Type"]
    error = response.json()["error"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in error["message"]
    return error


def names(error: dict[str, Any], field: str) -> bool:
    """The message or the details mention ``field``."""
    return field in error["message"] or field in json.dumps(error["details"], ensure_ascii=False)


# --- raw bodies, every endpoint ------------------------------------------------------------


@pytest.mark.parametrize("raw_id, raw", RAW_BODIES, ids=[r[0] for r in RAW_BODIES])
@pytest.mark.parametrize("endpoint", [e[0] for e in WRITE_ENDPOINTS])
def test_malformed_json_is_a_4xx_json_error(client, stored, endpoint, raw_id, raw):
    method, path = ENDPOINT[endpoint]

    response = send(client, method, path, raw)

    error = assert_client_error(response, 400)
    if raw_id.startswith("nested-100"):
        assert "nested" in error["message"]


@pytest.mark.parametrize("endpoint", [e[0] for e in WRITE_ENDPOINTS])
def test_body_over_five_megabytes_is_413(client, stored, endpoint):
    method, path = ENDPOINT[endpoint]
    filler = "x" * (6 * 1024 * 1024)
    raw = json.dumps({"name": filler, "body": {"model": filler}, "variables": {"question": filler}})

    response = send(client, method, path, raw)

    error = assert_client_error(response, 413)
    assert error["type"] == "request_too_large"


@pytest.mark.parametrize("endpoint", ["version-create", "render", "lint"])
def test_body_just_under_the_limit_is_not_a_413(client, stored, endpoint):
    method, path = ENDPOINT[endpoint]
    question = "y" * (MAX_BYTES - 200_000)
    payload = {
        "body": make_body(),
        "variables": {"document": "D", "question": question},
    }

    response = send(client, method, path, json.dumps(payload))

    assert response.status_code != 413
    assert response.status_code < 500


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "xml"],
    ids=["text-plain", "form-urlencoded", "multipart", "xml"],
)
@pytest.mark.parametrize("endpoint", [e[0] for e in WRITE_ENDPOINTS])
def test_a_body_that_is_not_json_is_415(client, stored, endpoint, content_type):
    method, path = ENDPOINT[endpoint]

    response = send(client, method, path, '{"version": 1}', content_type=content_type)

    error = assert_client_error(response, 415)
    assert error["type"] == "unsupported_media_type"


# --- wrong types and bad values, field by field --------------------------------------------

TEMPLATE = {"slug": "new-one", "name": "New"}
LONG = "a" * 10_000
NUL = "bad\x00value"
SURROGATE = "bad\ud800value"

# (id, endpoint, payload, status, field named in the message or details)
FIELD_CASES: list[tuple[str, str, Any, int, str]] = [
    # templates create
    ("slug-number", "template-create", {**TEMPLATE, "slug": 5}, 400, "slug"),
    ("slug-null", "template-create", {**TEMPLATE, "slug": None}, 400, "slug"),
    ("slug-bool", "template-create", {**TEMPLATE, "slug": True}, 400, "slug"),
    ("slug-list", "template-create", {**TEMPLATE, "slug": ["doc-qa"]}, 400, "slug"),
    ("slug-object", "template-create", {**TEMPLATE, "slug": {}}, 400, "slug"),
    ("slug-missing", "template-create", {"name": "New"}, 400, "slug"),
    ("slug-with-nul", "template-create", {**TEMPLATE, "slug": "new\x00one"}, 400, "slug"),
    ("slug-10000-chars", "template-create", {**TEMPLATE, "slug": LONG}, 400, "slug"),
    ("slug-surrogate", "template-create", {**TEMPLATE, "slug": SURROGATE}, 400, "slug"),
    ("name-number", "template-create", {**TEMPLATE, "name": 5}, 400, "name"),
    ("name-list", "template-create", {**TEMPLATE, "name": []}, 400, "name"),
    ("name-with-nul", "template-create", {**TEMPLATE, "name": NUL}, 400, "name"),
    ("name-10000-chars", "template-create", {**TEMPLATE, "name": LONG}, 400, "name"),
    ("name-surrogate", "template-create", {**TEMPLATE, "name": SURROGATE}, 400, "name"),
    ("name-blank", "template-create", {**TEMPLATE, "name": ""}, 400, "name"),
    ("description-object", "template-create", {**TEMPLATE, "description": {}}, 400, "description"),
    (
        "description-with-nul",
        "template-create",
        {**TEMPLATE, "description": NUL},
        400,
        "description",
    ),
    (
        "sample-variables-list",
        "template-create",
        {**TEMPLATE, "sample_variables": []},
        400,
        "sample_variables",
    ),
    (
        "sample-variables-string",
        "template-create",
        {**TEMPLATE, "sample_variables": "x"},
        400,
        "sample_variables",
    ),
    (
        "sample-variables-nul-value",
        "template-create",
        {**TEMPLATE, "sample_variables": {"document": NUL}},
        400,
        "sample_variables",
    ),
    (
        "sample-variables-nul-key",
        "template-create",
        {**TEMPLATE, "sample_variables": {"doc\x00ument": "D"}},
        400,
        "sample_variables",
    ),
    (
        "sample-variables-nul-deep",
        "template-create",
        {**TEMPLATE, "sample_variables": {"items": [{"note": NUL}]}},
        400,
        "sample_variables",
    ),
    (
        "sample-variables-surrogate",
        "template-create",
        {**TEMPLATE, "sample_variables": {"document": SURROGATE}},
        400,
        "sample_variables",
    ),
    # template patch
    ("patch-name-number", "template-patch", {"name": 5}, 400, "name"),
    ("patch-name-null", "template-patch", {"name": None}, 400, "name"),
    ("patch-name-with-nul", "template-patch", {"name": NUL}, 400, "name"),
    ("patch-name-10000-chars", "template-patch", {"name": LONG}, 400, "name"),
    ("patch-description-list", "template-patch", {"description": []}, 400, "description"),
    (
        "patch-sample-variables-list",
        "template-patch",
        {"sample_variables": [1]},
        400,
        "sample_variables",
    ),
    (
        "patch-sample-variables-nul",
        "template-patch",
        {"sample_variables": {"question": NUL}},
        400,
        "sample_variables",
    ),
    (
        "patch-sample-variables-surrogate",
        "template-patch",
        {"sample_variables": {"question": SURROGATE}},
        400,
        "sample_variables",
    ),
    ("patch-slug", "template-patch", {"slug": "renamed"}, 400, "slug"),
    ("patch-unknown-field", "template-patch", {"colour": "blue"}, 400, "colour"),
    # versions create
    ("body-string", "version-create", {"body": "x"}, 400, "body"),
    ("body-list", "version-create", {"body": []}, 400, "body"),
    ("body-number", "version-create", {"body": 5}, 400, "body"),
    ("body-null", "version-create", {"body": None}, 400, "body"),
    ("body-missing", "version-create", {"message": "hi"}, 400, "body"),
    ("body-empty-object", "version-create", {"body": {}}, 400, "model"),
    ("body-model-number", "version-create", {"body": make_body(model=5)}, 400, "model"),
    ("body-model-object", "version-create", {"body": make_body(model={})}, 400, "model"),
    ("body-messages-object", "version-create", {"body": make_body(messages={})}, 400, "messages"),
    ("body-messages-empty", "version-create", {"body": make_body(messages=[])}, 400, "messages"),
    (
        "body-messages-of-strings",
        "version-create",
        {"body": make_body(messages=["hi"])},
        400,
        "messages[0]",
    ),
    ("body-variables-list", "version-create", {"body": make_body(variables=[])}, 400, "variables"),
    ("body-params-string", "version-create", {"body": make_body(params="x")}, 400, "params"),
    ("body-tools-object", "version-create", {"body": make_body(tools={})}, 400, "tools"),
    (
        "body-temperature-string",
        "version-create",
        {"body": make_body(params={"temperature": "hot"})},
        400,
        "params.temperature",
    ),
    (
        "body-nul-in-text",
        "version-create",
        {"body": make_body(messages=[{"role": "user", "content": NUL}])},
        400,
        "messages[0].content",
    ),
    (
        "body-nul-in-key",
        "version-create",
        {"body": {**make_body(), "para\x00ms": {}}},
        400,
        "body",
    ),
    (
        "body-surrogate-in-text",
        "version-create",
        {"body": make_body(messages=[{"role": "user", "content": SURROGATE}])},
        400,
        "messages[0].content",
    ),
    (
        "body-surrogate-in-tool-schema",
        "version-create",
        {
            "body": make_body(
                tools=[
                    {
                        "type": "function",
                        "function": {"name": "f", "parameters": {"description": SURROGATE}},
                    }
                ]
            )
        },
        400,
        "tools[0]",
    ),
    ("message-number", "version-create", {"body": make_body(), "message": 5}, 400, "message"),
    ("message-list", "version-create", {"body": make_body(), "message": []}, 400, "message"),
    ("message-with-nul", "version-create", {"body": make_body(), "message": NUL}, 400, "message"),
    (
        "message-10000-chars",
        "version-create",
        {"body": make_body(), "message": LONG},
        400,
        "message",
    ),
    # labels
    ("label-version-string", "label-move", {"version": "two"}, 400, "version"),
    ("label-version-negative", "label-move", {"version": -1}, 400, "version"),
    ("label-version-zero", "label-move", {"version": 0}, 400, "version"),
    ("label-version-fraction", "label-move", {"version": 1.5}, 400, "version"),
    ("label-version-null", "label-move", {"version": None}, 400, "version"),
    ("label-version-bool", "label-move", {"version": True}, 400, "version"),
    ("label-version-list", "label-move", {"version": [1]}, 400, "version"),
    ("label-version-missing", "label-move", {}, 400, "version"),
    ("label-version-huge", "label-move", {"version": 10**30}, 404, "version"),
    # render
    ("render-variables-list", "render", {"variables": []}, 400, "variables"),
    ("render-variables-string", "render", {"variables": "x"}, 400, "variables"),
    ("render-variables-null", "render", {"variables": None}, 400, "variables"),
    (
        "render-variable-nul",
        "render",
        {"variables": {"document": "D", "question": NUL}},
        400,
        "question",
    ),
    (
        "render-variable-nul-in-key",
        "render",
        {"variables": {"document": "D", "question": "Q", "x\x00": "1"}},
        400,
        "variables",
    ),
    (
        "render-variable-surrogate-in-suffix",
        "render",
        {"variables": {"document": "D", "question": SURROGATE}},
        400,
        "question",
    ),
    (
        "render-variable-surrogate-in-prefix",
        "render",
        {"variables": {"document": SURROGATE, "question": "Q"}},
        400,
        "document",
    ),
    ("render-version-string", "render", {"version": "two"}, 400, "version"),
    ("render-version-negative", "render", {"version": -1}, 400, "version"),
    ("render-version-fraction", "render", {"version": 1.5}, 400, "version"),
    ("render-version-null", "render", {"version": None}, 400, "version"),
    ("render-version-huge", "render", {"version": 10**30}, 404, "version"),
    ("render-label-object", "render", {"label": {}}, 400, "label"),
    ("render-label-invalid", "render", {"label": "Prod Uction"}, 400, "label"),
    ("render-label-with-nul", "render", {"label": "prod\x00"}, 400, "label"),
    ("render-label-10000-chars", "render", {"label": LONG}, 400, "label"),
    ("render-version-and-label", "render", {"version": 1, "label": "production"}, 400, "label"),
    ("render-model-object", "render", {"model": {}}, 400, "model"),
    ("render-model-list", "render", {"model": ["sim/claude-sonnet-4-5"]}, 400, "model"),
    ("render-model-number", "render", {"model": 5}, 400, "model"),
    ("render-model-without-provider", "render", {"model": "gpt-4o"}, 400, "model"),
    ("render-model-with-nul", "render", {"model": "sim/claude\x00"}, 400, "model"),
    ("render-model-10000-chars", "render", {"model": "anthropic/" + LONG}, 400, "model"),
    # lint
    ("lint-body-string", "lint", {"body": "x"}, 400, "body"),
    ("lint-body-list", "lint", {"body": []}, 400, "body"),
    ("lint-body-null", "lint", {"body": None}, 400, "body"),
    ("lint-body-nul", "lint", {"body": make_body(model="sim/\x00")}, 400, "model"),
    (
        "lint-body-surrogate",
        "lint",
        {"body": make_body(messages=[{"role": "user", "content": SURROGATE}])},
        400,
        "messages[0].content",
    ),
    ("lint-version-string", "lint", {"version": "two"}, 400, "version"),
    ("lint-version-negative", "lint", {"version": -1}, 400, "version"),
    ("lint-version-fraction", "lint", {"version": 1.5}, 400, "version"),
    ("lint-version-huge", "lint", {"version": 10**30}, 404, "version"),
    ("lint-model-object", "lint", {"body": make_body(), "model": {}}, 400, "model"),
    ("lint-body-and-version", "lint", {"body": make_body(), "version": 1}, 400, "body"),
    ("lint-neither", "lint", {"model": "sim/nova-pro"}, 400, "body"),
]


@pytest.mark.parametrize(
    "endpoint, payload, status, field",
    [case[1:] for case in FIELD_CASES],
    ids=[case[0] for case in FIELD_CASES],
)
def test_bad_field_is_a_4xx_naming_the_field(client, stored, endpoint, payload, status, field):
    response = send_json(client, endpoint, payload)

    error = assert_client_error(response, status)
    assert names(error, field), error


def test_overflowing_float_in_sample_variables_is_400(client, db):
    raw = '{"slug": "new-one", "name": "New", "sample_variables": {"words": 1e400}}'

    response = send(client, "post", f"{API}/templates", raw)

    error = assert_client_error(response, 400)
    assert names(error, "sample_variables"), error
    assert not Template.objects.filter(slug="new-one").exists()


def test_overflowing_float_as_a_render_variable_is_400(client, stored):
    raw = '{"variables": {"document": "D", "question": "Q", "words": 1e400}}'

    response = send(client, "post", f"{API}/templates/{SLUG}/render", raw)

    error = assert_client_error(response, 400)
    assert names(error, "variables"), error


def test_overflowing_float_as_a_variable_default_is_400(client, stored):
    body = json.dumps(make_body()).replace(
        '"words": {"type": "integer", "default": 20}',
        '"words": {"type": "number", "default": 1e400}',
    )
    assert "1e400" in body

    response = send(client, "post", f"{API}/templates/{SLUG}/versions", f'{{"body": {body}}}')

    error = assert_client_error(response, 400)
    assert names(error, "body"), error


def test_overflowing_float_in_a_tool_schema_is_400(client, stored):
    tool = '{"type": "function", "function": {"name": "f", "parameters": {"maximum": 1e400}}}'
    body = json.dumps(make_body())[:-1] + f', "tools": [{tool}]}}'

    response = send(client, "post", f"{API}/templates/{SLUG}/versions", f'{{"body": {body}}}')

    error = assert_client_error(response, 400)
    assert names(error, "body"), error


def _image_message(url: str) -> dict[str, Any]:
    return {
        "role": "user",
        "content": [
            {"type": "image_url", "image_url": {"url": url}},
            {"type": "text", "text": "{{ question }} in {{ words }} words"},
        ],
    }


def _tool_call_messages(arguments: str) -> list[dict[str, Any]]:
    call = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": arguments}}
    return [
        {"role": "user", "content": "Look it up."},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{{ question }} {{ words }}"},
    ]


BEDROCK = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
ANTHROPIC = "anthropic/claude-sonnet-4-5"
SIM = "sim/claude-sonnet-4-5"

# (id, messages after the system message, render model, path the error should name)
UNTRANSLATABLE: list[tuple[str, list[dict[str, Any]], str, str]] = [
    (
        "https-image-on-bedrock",
        [_image_message("https://example.com/a.png")],
        BEDROCK,
        "messages[1]",
    ),
    (
        "svg-image-on-bedrock",
        [_image_message("data:image/svg+xml;base64,PHN2Zy8+")],
        BEDROCK,
        "messages[1]",
    ),
    ("data-url-without-base64-on-sim", [_image_message("data:image/png,abc")], SIM, "messages[1]"),
    (
        "data-url-without-base64-on-anthropic",
        [_image_message("data:image/png,abc")],
        ANTHROPIC,
        "messages[1]",
    ),
    (
        "data-url-without-base64-on-bedrock",
        [_image_message("data:image/png,abc")],
        BEDROCK,
        "messages[1]",
    ),
    ("empty-image-url-on-sim", [_image_message("")], SIM, "messages[1]"),
    ("tool-call-arguments-not-an-object-on-sim", _tool_call_messages("[1]"), SIM, "messages[2]"),
    (
        "tool-call-arguments-not-an-object-on-bedrock",
        _tool_call_messages('"x"'),
        BEDROCK,
        "messages[2]",
    ),
]


@pytest.mark.parametrize(
    "messages, model, path",
    [case[1:] for case in UNTRANSLATABLE],
    ids=[case[0] for case in UNTRANSLATABLE],
)
def test_body_the_provider_cannot_take_is_a_4xx_naming_the_part(
    client, stored, messages, model, path
):
    body = make_body()
    body["messages"][1:] = messages
    created = send_json(client, "version-create", {"body": body})
    if created.status_code != 201:
        error = assert_client_error(created, 400)
        assert names(error, path), error
        return

    response = send_json(
        client,
        "render",
        {"variables": {"document": "D", "question": "Q"}, "version": 2, "model": model},
    )

    error = assert_client_error(response, 400)
    assert names(error, path), error


@pytest.mark.parametrize(
    "url", ["data:image/png,abc", ""], ids=["data-url-without-base64", "empty"]
)
def test_image_url_variable_the_provider_cannot_take_is_a_4xx(client, stored, url):
    body = make_body()
    body["variables"]["image"] = {"type": "string", "required": True}
    body["messages"][1:] = [_image_message("{{ image }}")]
    assert send_json(client, "version-create", {"body": body}).status_code == 201

    response = send_json(
        client,
        "render",
        {"variables": {"document": "D", "question": "Q", "image": url}, "version": 2},
    )

    error = assert_client_error(response, 400)
    assert names(error, "messages[1]") or names(error, "image"), error


@pytest.mark.parametrize(
    "label",
    ["a" * 65, "a" * 1000, "prod%00", "prod%20uction", "%C3%A9t%C3%A9"],
    ids=["65-chars", "1000-chars", "nul", "space", "non-ascii"],
)
def test_bad_label_name_in_the_url_is_400_naming_it(client, stored, label):
    response = send(
        client, "put", f"{API}/templates/{SLUG}/labels/{label}", json.dumps({"version": 1})
    )

    error = assert_client_error(response, 400)
    assert "label" in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        f"/templates/{SLUG}/versions/{10**30}",
        f"/templates/{SLUG}/versions/1/diff/{10**30}",
        f"/templates/{'a' * 5000}",
        f"/templates/{'a' * 5000}/versions",
    ],
    ids=["huge-version", "huge-diff-version", "long-slug", "long-slug-versions"],
)
def test_bad_identifiers_in_the_url_are_404(client, stored, path):
    assert_client_error(client.get(f"{API}{path}"), 404)


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=-5",
        "offset=-1",
        "limit=0",
        "limit=99999999999999999999999999",
        "offset=99999999999999999999999999",
        "offset=9223372036854775808",
        "limit=1%00",
    ],
    ids=[
        "limit-word",
        "limit-negative",
        "offset-negative",
        "limit-zero",
        "limit-huge",
        "offset-huge",
        "offset-past-int64",
        "limit-nul",
    ],
)
@pytest.mark.parametrize("path", ["/templates", f"/templates/{SLUG}/versions"])
def test_bad_pagination_parameters_are_never_a_500(client, stored, path, query):
    response = client.get(f"{API}{path}?{query}")

    if response.status_code == 200:
        assert "results" in response.json()
    else:
        assert_client_error(response)


def test_a_good_request_still_works_after_the_sweep(client, stored):
    response = send_json(
        client, "render", {"variables": {"document": "D", "question": "Q"}, "version": 1}
    )

    assert response.status_code == 200
    assert response.json()["version"] == 1


# --- hypothesis: arbitrary JSON ------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
BODY_KEYS = st.sampled_from(["model", "params", "variables", "tools", "messages"])


def _replace_in_body(key: str, value: Any) -> dict[str, Any]:
    body = make_body()
    body[key] = value
    return body


# Whole bodies of any shape, and a valid body with one section replaced by anything.
VERSION_BODIES = JSON_VALUES | st.builds(_replace_in_body, BODY_KEYS, JSON_VALUES)
RENDER_INPUTS = JSON_VALUES | st.fixed_dictionaries(
    {},
    optional={
        "variables": JSON_VALUES
        | st.dictionaries(st.sampled_from(["document", "question", "words"]), JSON_VALUES),
        "version": JSON_VALUES | st.integers(min_value=-2, max_value=3),
        "label": JSON_VALUES | st.sampled_from(["production", "latest", "missing"]),
        "model": JSON_VALUES
        | st.sampled_from(["sim/claude-sonnet-4-5", "openai/gpt-4o", "bedrock/x"]),
    },
)
HYPOTHESIS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _assert_not_a_server_error(response: Any, payload: Any) -> None:
    assert response.status_code < 500, (payload, response.content[:500])
    if response.status_code >= 400:
        assert_client_error(response)


@HYPOTHESIS
@given(body=VERSION_BODIES)
def test_any_json_as_a_version_body_is_never_a_500(client, stored, body):
    response = send_json(client, "version-create", {"body": body})

    _assert_not_a_server_error(response, body)


@HYPOTHESIS
@given(body=VERSION_BODIES)
def test_any_json_as_a_lint_body_is_never_a_500(client, stored, body):
    response = send_json(client, "lint", {"body": body})

    _assert_not_a_server_error(response, body)


@HYPOTHESIS
@given(payload=RENDER_INPUTS)
def test_any_json_as_render_input_is_never_a_500(client, stored, payload):
    response = send_json(client, "render", payload)

    _assert_not_a_server_error(response, payload)


@HYPOTHESIS
@given(payload=JSON_VALUES)
def test_any_json_as_a_whole_request_is_never_a_500(client, stored, payload):
    for method, path in ENDPOINT.values():
        response = send(client, method, path, json.dumps(payload))

        _assert_not_a_server_error(response, payload)


UNKNOWN_API_PATHS = [
    "nothing-here",
    "templates/bad.slug",
    "templates/a%20b/versions",
    "templates/x/versions/-1",
    "templates/a%0Ab/stats",
]


@pytest.mark.parametrize("path", UNKNOWN_API_PATHS)
def test_an_unknown_api_url_is_a_json_404_for_any_method(client, path):
    response = client.get(f"/api/v1/{path}")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["type"] == "not_found"
    # With a cookie and no CSRF token, still the JSON 404 and not a CSRF failure page.
    client.cookies["csrftoken"] = "x" * 32
    put = client.put(f"/api/v1/{path}", "{}", content_type="application/json")
    assert put.status_code == 404 and put.json()["error"]["type"] == "not_found"
