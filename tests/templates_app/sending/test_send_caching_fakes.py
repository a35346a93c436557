"""End to end through the real clients against fakes that cache like the providers do:
OpenAI explicit mode with writes, Bedrock 1h and its refusals, mixed-TTL billing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from gateway.cost import mixed_ttl_writes
from templates_app.sending import clients
from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import bedrock as fake_bedrock
from tests.fakes import openai as fake_openai
from tests.fakes import openai_responses as fake_responses
from tests.fakes.caching import tokens_of
from tests.fakes.server import FakeServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
EXAMPLES = {
    "role": "user",
    "content": "Examples: uptime is answered in percent. " * 40,
    "cache_control": {"type": "ephemeral"},
}


@pytest.fixture(autouse=True)
def fresh(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    cache.clear()
    clients.forget_clients()
    yield
    clients.forget_clients()
    cache.clear()


def serve(settings, responder, **config):
    server = FakeServer(responder=responder)
    settings.GATEWAY = {**settings.GATEWAY, **config, "MAX_ATTEMPTS": 1}
    clients.forget_clients()
    return server


def template_with(body: dict) -> str:
    template = make_template()
    make_version(template, body=body)
    return template.slug


def send(api, slug: str, **payload):
    payload.setdefault("variables", VALUES)
    return api.post(reverse("send", args=[slug]), payload, format="json")


ON_CHAT = '[[models]]\nmodel = "openai/gpt-5.6-terra"\napi = "chat"\ndiagnostics = false\n'


@pytest.mark.parametrize("wire_api", ["responses", "chat"])
def test_gpt_5_6_explicit_breakpoints_write_then_read(api, settings, operator_catalog, wire_api):
    if wire_api == "chat":
        operator_catalog(ON_CHAT)  # an operator may keep GPT-5.6 on Chat Completions
    body = make_body(model="openai/gpt-5.6-terra", params={"max_tokens": 64})
    body["messages"].insert(1, EXAMPLES)
    slug = template_with(body)
    responder = (
        fake_openai.CachingCompletions()
        if wire_api == "chat"
        else fake_responses.CachingResponses(output_tokens=0)
    )
    config = {"OPENAI_API_KEY": "sk-test"}
    with serve(settings, responder, **config) as server:
        settings.GATEWAY = {**settings.GATEWAY, "OPENAI_BASE_URL": f"{server.url}/v1"}
        clients.forget_clients()
        one = send(api, slug).json()
        two = send(api, slug, variables={**VALUES, "question": "And latency?"}).json()

    assert one["usage"]["cache_write_tokens"] > 1024 and one["usage"]["cache_read_tokens"] == 0
    assert two["usage"]["cache_read_tokens"] == one["usage"]["cache_write_tokens"]
    assert two["usage"]["cache_write_tokens"] == 0
    # Writes at 2.50 (x1.25 of 2.00), reads at 0.20 (x0.1), per MTok; no output tokens.
    write = one["usage"]["cache_write_tokens"]
    by_hand = (one["usage"]["input_tokens"] * Decimal("2.00") + write * Decimal("2.50")) / 10**6
    assert Decimal(str(one["cost"]["usd"])) == pytest.approx(by_hand, abs=Decimal("1e-12"))
    assert two["cost"]["saved_usd"] > 0 > one["cost"]["saved_usd"]
    path = "/v1/chat/completions" if wire_api == "chat" else "/v1/responses"
    assert {recorded.path for recorded in server.requests} == {path}


def test_gpt_4o_has_no_writes_on_the_same_fake(api, settings):
    body = make_body(model="openai/gpt-4o", params={"max_tokens": 64})
    slug = template_with(body)
    with serve(settings, fake_openai.CachingCompletions(), OPENAI_API_KEY="sk-test") as server:
        settings.GATEWAY = {**settings.GATEWAY, "OPENAI_BASE_URL": f"{server.url}/v1"}
        clients.forget_clients()
        one = send(api, slug).json()

    assert one["usage"]["cache_write_tokens"] == 0  # no write charge before GPT-5.6


BEDROCK = {"AWS_REGION": "us-east-1"}


def bedrock_server(settings):
    server = serve(settings, fake_bedrock.CachingConverse(), **BEDROCK)
    return server


def test_bedrock_sonnet_4_5_one_hour_checkpoint_writes_then_reads(api, settings):
    slug = template_with(make_body(model="bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"))
    with bedrock_server(settings) as server:
        settings.GATEWAY = {**settings.GATEWAY, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url}
        clients.forget_clients()
        one = send(api, slug).json()
        two = send(api, slug, variables={**VALUES, "question": "Latency?"}).json()

    assert server.requests[0].json()["system"][-1] == {
        "cachePoint": {"type": "default", "ttl": "1h"}
    }
    assert (
        one["usage"]["cache_write_1h_tokens"] > 1024 and one["usage"]["cache_write_5m_tokens"] == 0
    )
    assert two["usage"]["cache_read_tokens"] == one["usage"]["cache_write_1h_tokens"]


def test_nova_sent_a_one_hour_checkpoint_anyway_gets_bedrocks_refusal_as_a_502(api, settings):
    slug = template_with(make_body(model="bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"))
    with bedrock_server(settings) as server:
        settings.GATEWAY = {**settings.GATEWAY, "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url}
        clients.forget_clients()
        response = send(api, slug, model="bedrock/amazon.nova-pro-v1:0")

    assert response.status_code == 502
    error = response.json()["error"]
    assert "Extended TTL prompt caching is only supported for Anthropic models" in error["message"]
    assert error["details"]["provider_status"] == 400


def test_the_bedrock_fake_refuses_what_bedrock_refuses():
    point = {"cachePoint": {"type": "default", "ttl": "1h"}}
    short = {"cachePoint": {"type": "default", "ttl": "5m"}}
    inside = {"toolResult": {"toolUseId": "t", "content": [{"text": "x"}, short]}}
    cases = [
        ({"system": [{"text": "a"}, {"cachePoint": {"type": "default", "ttl": ""}}]}, "not one of"),
        ({"system": [{"text": "a"}, short, {"text": "b"}, point]}, "may not follow a 5m"),
        ({"messages": [{"role": "user", "content": [inside]}]}, "ToolResultContentBlock"),
    ]
    for body, message in cases:
        with pytest.raises(ValueError, match=message):
            fake_bedrock.cache_blocks("anthropic.claude-sonnet-4-5-20250929-v1:0", body)


def test_a_mixed_ttl_call_through_the_simulator_is_billed_by_the_rule(api):
    body = make_body()  # a 1h checkpoint after the document
    body["messages"].insert(1, {**EXAMPLES, "content": EXAMPLES["content"] * 3})  # then a 5m one
    slug = template_with(body)

    one = send(api, slug).json()

    first, second = (c["tokens"] for c in one["checkpoints"])
    expected = mixed_ttl_writes([(first, "1h"), (second, "5m")], read=0)
    assert one["usage"]["cache_write_1h_tokens"] == expected["1h"] == first
    assert one["usage"]["cache_write_5m_tokens"] == expected["5m"] == second - first
    prices = {"input": 3, "w5": Decimal("3.75"), "w1": 6, "out": 15}
    by_hand = (
        one["usage"]["input_tokens"] * prices["input"]
        + expected["1h"] * prices["w1"]
        + expected["5m"] * prices["w5"]
        + one["usage"]["output_tokens"] * prices["out"]
    ) / Decimal(10**6)
    assert Decimal(str(one["cost"]["usd"])) == pytest.approx(by_hand, abs=Decimal("1e-12"))


def test_a_mixed_ttl_anthropic_call_is_billed_by_the_rule_on_the_wire(api, settings):
    body = make_body(model="anthropic/claude-sonnet-4-5")  # 1h after the document
    body["messages"].insert(1, {**EXAMPLES, "content": EXAMPLES["content"] * 3})  # then 5m
    slug = template_with(body)
    responder = fake_anthropic.CachingMessages()
    with serve(settings, responder, ANTHROPIC_API_KEY="sk-ant-test") as server:
        settings.GATEWAY = {**settings.GATEWAY, "ANTHROPIC_BASE_URL": server.url}
        clients.forget_clients()
        one = send(api, slug).json()
        # Only the question, after both checkpoints, changes: both prefixes are read.
        two = send(api, slug, variables={**VALUES, "question": "Latency?"}).json()

    wire = server.requests[0].json()
    assert wire["system"][-1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert wire["messages"][0]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    usage = one["usage"]
    assert usage["cache_write_1h_tokens"] > 0 and usage["cache_write_5m_tokens"] > 0
    # Sonnet 4.5 per MTok: input 3, 1h write 6, 5m write 3.75, read 0.30, output 15.
    by_hand = (
        usage["input_tokens"] * 3
        + usage["cache_write_1h_tokens"] * 6
        + usage["cache_write_5m_tokens"] * Decimal("3.75")
        + usage["output_tokens"] * 15
    ) / Decimal(10**6)
    assert Decimal(str(one["cost"]["usd"])) == pytest.approx(by_hand, abs=Decimal("1e-12"))
    assert two["usage"]["cache_read_tokens"] == (
        usage["cache_write_1h_tokens"] + usage["cache_write_5m_tokens"]
    )
    assert two["usage"]["cache_write_tokens"] == 0


def test_the_anthropic_fake_splits_writes_by_the_rule():
    cache_fake = fake_anthropic.CachingMessages(min_tokens=1)
    big = "x" * 4000
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": big,
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                    {
                        "type": "text",
                        "text": big,
                        "cache_control": {"type": "ephemeral", "ttl": "1h"},
                    },
                    {"type": "text", "text": big, "cache_control": {"type": "ephemeral"}},
                ],
            }
        ]
    }
    blocks = fake_anthropic.cache_blocks(body)
    positions = []
    total = 0
    for block, _ in blocks:
        total += tokens_of(block)
        positions.append(total)

    read, written, _ = cache_fake.cache.use(blocks)

    assert read == 0
    assert written == {"1h": positions[1], "5m": positions[2] - positions[1]}
