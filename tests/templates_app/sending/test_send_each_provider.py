"""Send through each real provider client to a loopback server speaking its protocol.

For Anthropic (httpx), an OpenAI-compatible server (httpx) and Bedrock (boto3 with
SigV4 and the event-stream framing): a cache write then a read, a provider 400,
a timeout, a malformed answer and a stream cut mid-way, as the API reports them
and as the invocation log keeps them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.urls import reverse

from templates_app.models import Invocation
from templates_app.sending import clients
from tests.asgi import call_asgi
from tests.factories import DOCUMENT, make_template, make_version
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import bedrock as fake_bedrock
from tests.fakes import openai as fake_openai
from tests.fakes.server import FakeServer, Reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

SECRET = "secret-CANARY-0123456789abcdef"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


@dataclass(frozen=True)
class Provider:
    name: str
    model: str
    configure: Callable[[str], dict]
    answer: Callable[[int, int, int], Reply]  # (uncached input, read, 5m write) -> reply
    error_400: Reply
    cut_stream: Reply


def _anthropic_answer(uncached: int, read: int, write: int) -> Reply:
    usage = fake_anthropic.usage(uncached, 5, read=read, write_5m=write)
    return fake_anthropic.reply(fake_anthropic.message_response("ok", usage))


def _openai_answer(uncached: int, read: int, write: int) -> Reply:
    usage = fake_openai.usage(
        uncached + read + write, 5, cached_tokens=read, cache_write_tokens=write
    )
    return fake_openai.completion_reply(usage_body=usage)


def _bedrock_answer(uncached: int, read: int, write: int) -> Reply:
    usage = fake_bedrock.usage(uncached, 5, cache_read=read, write_5m=write)
    return fake_bedrock.converse_reply(fake_bedrock.converse_body("ok", token_usage=usage))


ANTHROPIC = Provider(
    "anthropic",
    "anthropic/claude-sonnet-4-5",
    lambda url: {"ANTHROPIC_API_KEY": SECRET, "ANTHROPIC_BASE_URL": url},
    _anthropic_answer,
    fake_anthropic.error_reply(400, "invalid_request_error", "prompt is too long"),
    fake_anthropic.stream_reply(
        fake_anthropic.sse(
            fake_anthropic.text_events(
                ["Hel", "lo"], fake_anthropic.usage(10, 1), {"output_tokens": 2}
            )
        ),
        cut_after=4,
    ),
)
OPENAI = Provider(
    "openai",
    "openai/gpt-4o",
    lambda url: {"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": f"{url}/v1"},
    _openai_answer,
    fake_openai.error_reply(400, "prompt is too long"),
    fake_openai.stream_reply(
        fake_openai.sse_events(fake_openai.text_chunks(["Hel", "lo"], fake_openai.usage(10, 2))),
        cut_after=2,
    ),
)
BEDROCK = Provider(
    "bedrock",
    "bedrock/global.anthropic.claude-sonnet-4-6",
    lambda url: {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": url},
    _bedrock_answer,
    fake_bedrock.error_reply(400, "ValidationException", "prompt is too long"),
    fake_bedrock.stream_reply(
        fake_bedrock.stream_events(fake_bedrock.text_events(0, ["Hel", "lo"])), cut_after=2
    ),
)
PROVIDERS = [pytest.param(p, id=p.name) for p in (ANTHROPIC, OPENAI, BEDROCK)]


@pytest.fixture
def aws_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def server(settings, aws_credentials, request):
    provider: Provider = request.param
    with FakeServer() as running:
        settings.GATEWAY = {
            **settings.GATEWAY,
            **provider.configure(running.url),
            "TIMEOUT": 1.0,
            "MAX_ATTEMPTS": 1,
        }
        clients.forget_clients()
        yield provider, running
    clients.forget_clients()


@pytest.fixture
def template():
    template = make_template()
    make_version(template)
    return template


def send(api, model: str, **payload):
    return api.post(
        reverse("send", args=["doc-qa"]),
        {"variables": VALUES, "model": model, **payload},
        format="json",
    )


def assert_no_secret(*values):
    for value in values:
        assert SECRET not in str(value)


@pytest.mark.parametrize("server", PROVIDERS, indirect=True)
def test_a_cache_write_then_a_read(api, template, server):
    provider, running = server
    running.script(provider.answer(20, 0, 1800), provider.answer(22, 1800, 0))
    one, two = send(api, provider.model).json(), send(api, provider.model).json()
    assert one["provider"] == provider.name
    assert (one["usage"]["input_tokens"], one["usage"]["cache_write_tokens"]) == (20, 1800)
    assert (two["usage"]["input_tokens"], two["usage"]["cache_read_tokens"]) == (22, 1800)
    # OpenAI has no write surcharge, so a write saves nothing rather than costing extra.
    assert one["cost"]["saved_usd"] <= 0 < two["cost"]["saved_usd"]
    assert [i.status for i in Invocation.objects.order_by("id")] == ["ok", "ok"]


@pytest.mark.parametrize("server", PROVIDERS, indirect=True)
def test_a_provider_400_is_a_clear_502_and_is_logged(api, template, server):
    provider, running = server
    running.script(provider.error_400)
    response = send(api, provider.model)
    assert response.status_code == 502
    error = response.json()["error"]
    assert "prompt is too long" in error["message"]
    assert error["details"]["provider_status"] == 400
    invocation = Invocation.objects.get()
    assert (invocation.status, invocation.provider_status) == ("provider_error", 400)
    assert_no_secret(response.content, *vars(invocation).values())


@pytest.mark.parametrize("server", PROVIDERS, indirect=True)
def test_a_timeout_is_a_504_and_is_logged(api, template, server):
    provider, running = server
    late = provider.answer(1, 0, 0)
    late.delay = 2.0
    running.script(late)
    response = send(api, provider.model)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "provider_timeout"
    assert Invocation.objects.get().status == "timeout"


@pytest.mark.parametrize("server", PROVIDERS, indirect=True)
def test_a_malformed_answer_is_a_502(api, template, server):
    provider, running = server
    running.script(
        Reply(
            status=200,
            body=b'{"not": "the protocol"}',
            headers={"content-type": "application/json"},
        )
    )
    response = send(api, provider.model)
    assert response.status_code == 502, response.json()
    assert Invocation.objects.get().status == "provider_error"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("server", PROVIDERS, indirect=True)
def test_a_stream_cut_mid_way_is_an_error_event_and_is_logged(api_key, template, server):
    provider, running = server
    running.script(provider.cut_stream)
    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES, "model": provider.model, "stream": True},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    kinds = [kind for kind, _ in response.events()]
    assert kinds[-1] == "error" and "done" not in kinds
    invocation = Invocation.objects.get()
    assert invocation.status == "provider_error" and invocation.stream is True
    assert_no_secret(response.body, *vars(invocation).values())


@pytest.mark.parametrize("server", [ANTHROPIC], indirect=True, ids=["anthropic"])
def test_a_request_id_longer_than_its_column_is_kept_cut(api, template, server):
    provider, running = server
    long_id = "req_" + "7" * 400
    answer = provider.answer(10, 0, 0)
    answer.headers["request-id"] = long_id
    running.script(answer)
    response = send(api, provider.model)
    assert response.status_code == 200, response.json()
    stored = Invocation.objects.get().request_id
    assert stored == long_id[:200]


@pytest.mark.parametrize("server", [pytest.param(BEDROCK, id="bedrock")], indirect=True)
@pytest.mark.parametrize(
    "model",
    [
        "bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ],
)
def test_bedrock_sonnet_4_5_sends_a_one_hour_cache_point(api, template, server, model):
    provider, running = server
    running.script(provider.answer(12, 0, 2048))

    response = send(api, model)

    assert response.status_code == 200, response.json()
    wire = running.requests[0].json()
    points = [block["cachePoint"] for block in wire["system"] if "cachePoint" in block]
    assert points == [{"type": "default", "ttl": "1h"}]
    assert running.requests[0].path.endswith(
        f"/model/{quote(model.partition('/')[2], safe='')}/converse"
    )


def test_nova_with_a_one_hour_checkpoint_is_refused_at_lint(api, template):
    response = api.post(
        reverse("lint", args=["doc-qa"]),
        {"version": 1, "model": "bedrock/amazon.nova-pro-v1:0"},
        format="json",
    )

    errors = response.json()["errors"]
    [error] = [e for e in errors if e["code"] == "ttl_not_supported"]
    assert "does not offer a 1h cache TTL (it offers 5m)" in error["message"]
