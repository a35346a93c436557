"""Errors reach each SDK in its provider's shape and status, so it raises its own
exceptions: key scopes and limits, provider refusals, and failures in mid-stream."""

from __future__ import annotations

import anthropic
import openai
import pytest

from templates_app.models import ApiKey
from templates_app.services import template_aliases_set
from tests.asgi import call_asgi
from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import anthropic as fake

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("both_routes")]

PROMPT = {"id": "doc-qa", "variables": {"document": DOCUMENT, "question": "Uptime?"}}


@pytest.fixture
def template():
    template = make_template(slug="doc-qa")
    make_version(template)
    return template


def openai_client(server, key):
    return openai.OpenAI(base_url=f"{server.url}/openai/v1", api_key=key, max_retries=0)


def anthropic_client(server, key):
    return anthropic.Anthropic(base_url=f"{server.url}/anthropic", api_key=key, max_retries=0)


def chat(client):
    return client.chat.completions.create(
        model="default", messages=[], extra_body={"prompt": PROMPT}
    )


def message(client, **extra):
    return client.messages.create(
        model="default", max_tokens=64, messages=[], extra_body={"prompt": PROMPT}, **extra
    )


def test_a_key_limited_to_other_templates_does_not_see_this_one(cachet_server, template):
    other = make_template(slug="other")
    _, key = ApiKey.generate(name="limited", templates=[other])

    with pytest.raises(openai.NotFoundError, match="template 'doc-qa' not found"):
        chat(openai_client(cachet_server, key))
    with pytest.raises(anthropic.NotFoundError) as caught:
        message(anthropic_client(cachet_server, key))
    assert caught.value.body["error"]["type"] == "not_found_error"


def test_a_key_without_the_send_scope_is_refused(cachet_server, template):
    _, key = ApiKey.generate(name="reader", scopes=["read"])

    with pytest.raises(openai.PermissionDeniedError, match="lacks the 'send' scope"):
        chat(openai_client(cachet_server, key))


def test_the_keys_rate_limit_is_the_sdks_rate_limit_error(cachet_server, template):
    _, key = ApiKey.generate(name="slow", rate_limit_per_minute=1)
    client = anthropic_client(cachet_server, key)
    message(client)

    with pytest.raises(anthropic.RateLimitError) as caught:
        message(client)
    assert caught.value.response.headers["retry-after"]


def test_the_x_api_key_header_works_on_every_endpoint(cachet_server, api_key, template):
    headers = {"x-api-key": api_key}
    body = {"model": "default", "messages": [], "prompt": PROMPT}

    response = call_asgi("POST", "/openai/v1/chat/completions", body, headers=headers)

    assert response.status == 200
    assert response.json()["object"] == "chat.completion"


def test_a_provider_refusing_the_request_is_a_400_the_sdk_does_not_retry(
    cachet_server, api_key, upstream
):
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    server = upstream(None, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL="{url}")
    server.script(fake.error_reply(400, "invalid_request_error", "prompt is too long"))
    client = openai.OpenAI(
        base_url=f"{cachet_server.url}/openai/v1", api_key=api_key, max_retries=2
    )

    with pytest.raises(openai.BadRequestError, match="prompt is too long") as caught:
        chat(client)

    assert len(server.requests) == 1  # a 502 would have been retried twice
    assert caught.value.body["cachet"]["provider_status"] == 400


def test_a_provider_failing_mid_stream_raises_in_the_openai_sdk(cachet_server, api_key, upstream):
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    server = upstream(None, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL="{url}")
    server.script(fake.stream_reply(fake.chunked(fake.recorded_stream(), 200), cut_after=6))
    client = openai_client(cachet_server, api_key)

    stream = client.chat.completions.create(
        model="default", messages=[], stream=True, extra_body={"prompt": PROMPT}
    )
    with pytest.raises(openai.APIError, match="stream"):
        list(stream)


def test_a_provider_failing_mid_stream_is_an_anthropic_error_event(
    cachet_server, api_key, upstream
):
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    server = upstream(None, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL="{url}")
    server.script(fake.stream_reply(fake.chunked(fake.recorded_stream(), 200), cut_after=6))

    response = call_asgi(
        "POST",
        "/anthropic/v1/messages",
        {"model": "default", "max_tokens": 64, "messages": [], "prompt": PROMPT, "stream": True},
        headers={"x-api-key": api_key},
    )

    kind, data = response.events()[-1]
    assert kind == "error" and data["type"] == "error"
    assert data["error"]["type"] == "api_error" and "stream" in data["error"]["message"]
    with pytest.raises(anthropic.APIStatusError):
        server.script(fake.stream_reply(fake.chunked(fake.recorded_stream(), 200), cut_after=6))
        list(message(anthropic_client(cachet_server, api_key), stream=True))


def test_a_bad_body_is_a_400_in_the_providers_shape(cachet_server, api_key):
    response = call_asgi(
        "POST", "/anthropic/v1/messages", {"prompt": PROMPT}, headers={"x-api-key": api_key}
    )

    assert response.status == 400
    assert response.json() == {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "max_tokens: Field required (an integer)",
            "cachet": {"param": "max_tokens"},
        },
    }


def test_unknown_paths_are_404s_in_each_providers_shape(cachet_server):
    openai_404 = call_asgi("GET", "/openai/v1/models", None)
    anthropic_404 = call_asgi("POST", "/anthropic/v1/complete", {})

    assert openai_404.status == 404 and openai_404.json()["error"]["type"] == "not_found_error"
    assert anthropic_404.status == 404 and anthropic_404.json()["type"] == "error"


def test_a_key_limited_to_a_template_may_name_it_by_alias(cachet_server, template):
    template_aliases_set(template=template, aliases=["pmpt_abc"])
    _, key = ApiKey.generate(name="limited", templates=[template])
    client = openai_client(cachet_server, key)

    answer = client.chat.completions.create(
        model="default", messages=[], extra_body={"prompt": {**PROMPT, "id": "pmpt_abc"}}
    )

    assert answer.model_extra["cachet"]["template"] == "doc-qa"


def test_a_provider_refusing_a_stream_is_the_status_not_an_event_after_a_200(
    cachet_server, api_key, upstream
):
    template = make_template(slug="doc-qa")
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    server = upstream(None, ANTHROPIC_API_KEY="sk-ant-test", ANTHROPIC_BASE_URL="{url}")
    server.script(fake.error_reply(400, "invalid_request_error", "prompt is too long"))

    with pytest.raises(anthropic.BadRequestError, match="prompt is too long"):
        message(anthropic_client(cachet_server, api_key), stream=True)
