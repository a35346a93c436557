"""Sending through a real provider client to a loopback server speaking its protocol.

The Anthropic client (httpx) talks to ``tests/fakes`` on 127.0.0.1: the request,
its retries, timeouts and errors all cross a real socket. What the API answers
and what the invocation log keeps are checked here; the client's own protocol
handling is covered in tests/gateway.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from gateway import registry
from gateway.anthropic import client as anthropic_client
from gateway.anthropic import translate as anthropic_translate
from gateway.anthropic.client import AnthropicClient
from gateway.wire import dumps
from templates_app import services
from templates_app.models import Invocation, Version
from templates_app.sending import clients
from tests.asgi import call_asgi
from tests.factories import DOCUMENT, make_template, make_version
from tests.fakes import anthropic as fake
from tests.fakes.server import FakeServer, Reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

SECRET = "sk-ant-test-CANARY-0123456789"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
MODEL = "anthropic/claude-sonnet-4-5"


@pytest.fixture
def server(settings):
    with FakeServer() as running:
        settings.GATEWAY = {
            **settings.GATEWAY,
            "ANTHROPIC_API_KEY": SECRET,
            "ANTHROPIC_BASE_URL": running.url,
            "TIMEOUT": 1.0,
            "MAX_ATTEMPTS": 2,
        }
        clients.forget_clients()
        yield running
    clients.forget_clients()


@pytest.fixture
def template():
    template = make_template()
    make_version(template)
    return template


def send(api, **payload):
    payload.setdefault("variables", VALUES)
    payload.setdefault("model", MODEL)
    return api.post(reverse("send", args=["doc-qa"]), payload, format="json")


def assert_no_secret(*values):
    for value in values:
        assert SECRET not in str(value)


def test_a_write_then_a_read_through_anthropic(api, template, server):
    server.script(
        fake.reply(fake.message_response("First.", fake.usage(12, 5, write_1h=1800))),
        fake.reply(fake.message_response("Second.", fake.usage(14, 6, read=1800))),
    )
    one, two = send(api).json(), send(api).json()
    assert one["usage"]["cache_write_1h_tokens"] == 1800 and one["miss"]["reason"] == "first_call"
    assert two["usage"]["cache_read_tokens"] == 1800 and two["miss"] is None
    assert two["output"]["text"] == "Second." and two["cost"]["saved_usd"] > 0
    wire = server.requests[0].json()
    assert wire["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert server.requests[0].headers["x-api-key"] == SECRET


def test_a_provider_error_is_a_502_with_its_status_and_message_and_is_logged(api, template, server):
    server.script(fake.error_reply(400, "invalid_request_error", "max_tokens: too large"))
    response = send(api)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "provider_bad_request_error"
    assert "max_tokens: too large" in error["message"]
    assert error["details"]["provider_status"] == 400
    invocation = Invocation.objects.get(pk=error["details"]["invocation_id"])
    assert (invocation.status, invocation.provider_status) == ("provider_error", 400)
    assert_no_secret(response.content, *vars(invocation).values())


def test_overload_is_retried_then_reported(api, template, server):
    server.script(*[fake.error_reply(529, "overloaded_error", "Overloaded")] * 2)
    response = send(api)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "provider_overloaded_error"
    assert len(server.requests) == 2  # MAX_ATTEMPTS


def test_a_provider_timeout_is_a_504_and_is_logged(api, template, server):
    server.script(Reply.json(200, fake.message_response("late"), delay=2.5))
    response = send(api)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "provider_timeout"
    assert Invocation.objects.get().status == "timeout"
    assert len(server.requests) == 1  # a read timeout is never retried


def test_a_malformed_answer_is_a_502(api, template, server):
    server.script(
        Reply(status=200, body=b"<html>gateway</html>", headers={"content-type": "text/html"})
    )
    response = send(api)
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "provider_malformed_response"


@pytest.mark.django_db(transaction=True)  # the ASGI app reads the key from another thread
def test_a_stream_cut_mid_way_ends_with_an_error_event_and_is_logged(api_key, template, server):
    events = fake.text_events(["Hel", "lo"], fake.usage(10, 1, write_1h=1800), {"output_tokens": 2})
    server.script(fake.stream_reply(fake.sse(events), cut_after=4))
    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES, "model": MODEL, "stream": True},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    kinds = [kind for kind, _ in response.events()]
    assert kinds[-1] == "error" and "done" not in kinds
    assert response.events()[-1][1]["type"] == "provider_stream_interrupted"
    invocation = Invocation.objects.get()
    assert invocation.status == "provider_error" and invocation.stream is True
    assert_no_secret(response.body, *vars(invocation).values())


def test_lint_counts_exactly_with_the_providers_count_tokens(api, server):
    # The checkpoint closes the system prompt; the count API needs a message, so the
    # prefix is counted with a one-word probe message, and the probe alone is taken off.
    server.script(fake.reply({"input_tokens": 5000}), fake.reply({"input_tokens": 9}))
    template = make_template()
    body = make_version(template).body_data
    body["model"] = MODEL
    response = api.post(
        reverse("version-list", args=[template.slug]), {"body": body}, format="json"
    )
    assert response.status_code == 201, response.json()
    lint = Version.objects.get(template=template, number=2).lint
    assert lint["token_method"] == "exact: anthropic count-tokens API"
    assert lint["checkpoints"][0]["tokens"] == 4991
    assert lint["checkpoints"][0]["status"] == "will_cache"
    counted, probe = (request.json() for request in server.requests)
    assert server.requests[0].path == "/v1/messages/count_tokens"
    assert counted["system"][1]["text"] == DOCUMENT and counted["messages"][-1]["content"] == "."
    assert "system" not in probe and probe["messages"] == [{"role": "user", "content": "."}]


def test_lint_learns_whether_a_provider_is_configured_without_building_a_client(
    api, server, settings, monkeypatch
):
    built: list[object] = []
    closed: list[object] = []
    original_init, original_close = AnthropicClient.__init__, AnthropicClient.aclose

    def counting_init(self, *args, **kwargs):
        built.append(self)
        original_init(self, *args, **kwargs)

    async def counting_close(self):
        closed.append(self)
        await original_close(self)

    monkeypatch.setattr(AnthropicClient, "__init__", counting_init)
    monkeypatch.setattr(AnthropicClient, "aclose", counting_close)
    settings.GATEWAY = {**settings.GATEWAY, "ANTHROPIC_API_KEY": ""}
    assert services.exact_counter(MODEL) is None  # no key: nothing to count with
    settings.GATEWAY = {**settings.GATEWAY, "ANTHROPIC_API_KEY": SECRET}
    counter = services.exact_counter(MODEL)
    assert counter is not None and built == []  # asking built nothing

    server.script(fake.reply({"input_tokens": 5000}), fake.reply({"input_tokens": 9}))
    template = make_template()
    body = {**make_version(template).body_data, "model": MODEL}
    api.post(reverse("version-list", args=[template.slug]), {"body": body}, format="json")

    assert built and closed == built  # every client a count built was closed



@pytest.fixture
def translations(monkeypatch):
    """Every Anthropic translation made, whoever makes it (the registry or the client)."""
    made: list[dict] = []
    real = anthropic_translate.to_anthropic

    def counting(request):
        made.append(real(request))
        return made[-1]

    monkeypatch.setattr(anthropic_translate, "to_anthropic", counting)
    monkeypatch.setattr(anthropic_client, "to_anthropic", counting)
    registry.translator.cache_clear()
    yield made
    registry.translator.cache_clear()


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
@pytest.mark.django_db(transaction=True)  # the ASGI app reads the key from another thread
def test_a_send_translates_its_request_once(api_key, template, server, translations, stream):
    done = fake.message_response("Hi.", fake.usage(10, 2))
    events = fake.text_events(["Hi."], fake.usage(10, 1), {"output_tokens": 2})
    server.script(fake.stream_reply(fake.sse(events)) if stream else fake.reply(done))

    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES, "model": MODEL, "stream": stream},
        headers={"Authorization": f"Bearer {api_key}"},
    )

    assert response.status == 200
    assert len(translations) == 1  # built once, for the render, and sent as built
    sent = server.requests[0].json()
    assert {k: v for k, v in sent.items() if k != "stream"} == json.loads(dumps(translations[0]))

