"""Provider cache diagnostics: the previous answer's id goes out, the provider's reason comes
back and is merged with Cachet's own explanation (agreeing or not)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from gateway.anthropic.translate import DIAGNOSTICS_BETA, from_anthropic
from gateway.types import CacheDiagnosis
from templates_app import services
from templates_app.engine.misses import with_provider_diagnosis
from templates_app.sending import clients
from templates_app.sending.diagnostics import chain_key
from tests.asgi import call_asgi
from tests.factories import DOCUMENT, make_template, make_version
from tests.fakes import anthropic as fake
from tests.fakes import openai_responses as responses
from tests.fakes.server import FakeServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

MODEL = "anthropic/claude-sonnet-4-5"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


def answer(message_id: str, *, read: int = 0, write: int = 0, reason: str | None = None) -> dict:
    body = fake.message_response("ok", fake.usage(12, 5, read=read, write_1h=write))
    body["id"] = message_id
    if reason is not None:
        body["diagnostics"] = {
            "cache_miss_reason": {"type": reason, "cache_missed_input_tokens": write}
        }
    return body


@pytest.fixture
def server(settings):
    cache.clear()
    with FakeServer() as running:
        settings.GATEWAY = {
            **settings.GATEWAY,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": running.url,
        }
        clients.forget_clients()
        yield running
    clients.forget_clients()
    cache.clear()


@pytest.fixture
def template():
    template = make_template()
    make_version(template)
    return template


def send(api, **values):
    return api.post(
        reverse("send", args=["doc-qa"]),
        {"variables": {**VALUES, **values}, "model": MODEL},
        format="json",
    ).json()


def test_the_first_call_asks_nothing_and_the_next_names_the_previous_answer(api, template, server):
    server.script(
        fake.reply(answer("msg_first", write=1800)),
        fake.reply(answer("msg_second", read=1800)),
    )
    send(api)
    send(api, question="And the latency?")

    first, second = server.requests
    assert "diagnostics" not in first.json() and "anthropic-beta" not in first.headers
    assert second.json()["diagnostics"] == {"previous_message_id": "msg_first"}
    assert second.headers["anthropic-beta"] == DIAGNOSTICS_BETA


def test_a_changed_system_prefix_and_the_providers_reason_agree(api, template, server):
    server.script(
        fake.reply(answer("msg_first", write=1800)),
        fake.reply(answer("msg_second", write=1800, reason="system_changed")),
    )
    send(api)
    miss = send(api, document=DOCUMENT + " Revised.")["miss"]

    assert server.requests[1].json()["diagnostics"] == {"previous_message_id": "msg_first"}
    assert miss["reason"] == "prefix_changed"
    assert miss["block"] == "messages[0].content[1]"
    assert miss["provider"] == {"reason": "system_changed", "missed_tokens": 1800, "agrees": True}
    assert miss["message"].endswith("Anthropic reports system_changed too")


def test_an_identical_prefix_the_provider_calls_changed_is_a_disagreement(api, template, server):
    server.script(
        fake.reply(answer("msg_first", write=1800)),
        fake.reply(answer("msg_second", write=1800, reason="system_changed")),
    )
    send(api)
    miss = send(api)["miss"]

    assert miss["reason"] == "provider_miss"
    assert miss["provider"]["agrees"] is False
    assert "Cachet's prefix was identical" in miss["message"]
    assert "Anthropic reports system_changed: they disagree" in miss["message"]


@pytest.mark.django_db(transaction=True)
def test_a_stream_sends_the_previous_id_and_reads_the_reason_from_message_start(
    api_key, template, server
):
    start = fake.text_events(["ok"], fake.usage(12, 1, write_1h=1800), {"output_tokens": 2})
    start[0]["message"]["id"] = "msg_streamed"
    later = fake.text_events(["ok"], fake.usage(12, 1, write_1h=1800), {"output_tokens": 2})
    later[0]["message"]["diagnostics"] = {
        "cache_miss_reason": {"type": "system_changed", "cache_missed_input_tokens": 1800}
    }
    server.script(fake.stream_reply(fake.sse(start)), fake.stream_reply(fake.sse(later)))
    headers = {"Authorization": f"Bearer {api_key}"}
    for document in (DOCUMENT, DOCUMENT + " Revised."):
        payload = {"variables": {**VALUES, "document": document}, "model": MODEL, "stream": True}
        response = call_asgi("POST", "/api/v1/templates/doc-qa/send", payload, headers=headers)
        assert response.status == 200

    assert server.requests[1].json()["diagnostics"] == {"previous_message_id": "msg_streamed"}
    done = response.events()[-1][1]
    assert done["miss"]["provider"]["reason"] == "system_changed"


@pytest.mark.parametrize(
    ("model", "asks"),
    [
        ("anthropic/claude-sonnet-4-5", True),
        ("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", False),
        ("sim/claude-sonnet-4-5", False),
        ("openai/gpt-5.6-terra", True),
        ("openai/gpt-4o", False),
    ],
)
def test_only_the_claude_api_and_openai_responses_are_asked_for_diagnostics(model, asks):
    version = make_version()

    rendered = services.version_render(version, "production", VALUES, model=model)

    assert (chain_key(rendered) is not None) is asks


def test_the_chain_is_where_the_checkpoints_sit_not_what_they_hold():
    version = make_version()
    one = services.version_render(version, "production", VALUES, model=MODEL)
    two = services.version_render(
        version, "production", {**VALUES, "document": "Other text"}, model=MODEL
    )

    assert chain_key(one) == chain_key(two)
    assert chain_key(one) != chain_key(
        services.version_render(version, "staging", VALUES, model=MODEL)
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, None),
        ({"diagnostics": None}, None),
        ({"diagnostics": {"cache_miss_reason": None}}, CacheDiagnosis("anthropic", None)),
        (
            {
                "diagnostics": {
                    "cache_miss_reason": {
                        "type": "previous_message_not_found",
                        "cache_missed_input_tokens": 0,
                    }
                }
            },
            CacheDiagnosis("anthropic", "previous_message_not_found", 0),
        ),
    ],
)
def test_diagnostics_are_parsed_in_every_published_shape(body, expected):
    result = from_anthropic({**fake.message_response("ok"), **body})

    assert result.diagnosis == expected
    assert result.response_id == "msg_01HCDu5LRGeP2o7s2xGmxyx8"


def test_nothing_is_merged_without_a_reason_or_a_miss():
    miss = {"reason": "first_call", "message": "first call"}

    assert with_provider_diagnosis(miss, None, {}) is miss
    assert with_provider_diagnosis(miss, CacheDiagnosis("anthropic", None), {}) is miss
    assert with_provider_diagnosis(None, CacheDiagnosis("anthropic", "tools_changed"), {}) is None


@pytest.mark.parametrize(
    ("reason", "region", "agrees"),
    [
        ("input_changed", "system", True),
        ("input_changed", "messages", True),
        ("input_changed", "tools", False),
        ("prompt_cache_key_changed", "tools", True),
        ("tools_changed", "system", False),
    ],
)
def test_openai_reasons_name_their_regions(reason, region, agrees):
    miss = {"reason": "prefix_changed", "block": "b", "message": "checkpoint 1: changed"}

    merged = with_provider_diagnosis(miss, CacheDiagnosis("openai", reason, 10), {"b": region})

    assert merged["provider"]["agrees"] is agrees
    assert "OpenAI reports" in merged["message"]


def test_a_change_in_another_region_than_the_providers_is_a_disagreement():
    miss = {"reason": "prefix_changed", "block": "tools[0]", "message": "checkpoint 1: changed"}

    merged = with_provider_diagnosis(
        miss, CacheDiagnosis("anthropic", "messages_changed", 40), {"tools[0]": "tools"}
    )

    assert merged["provider"]["agrees"] is False
    assert "Cachet found the first change in tools" in merged["message"]


class BrokenCache:
    """A shared cache that is down."""

    async def aget(self, *args, **kwargs):
        raise ConnectionError("redis is down")

    async def aset(self, *args, **kwargs):
        raise ConnectionError("redis is down")


def test_a_cache_outage_costs_the_diagnostics_not_the_send(api, template, server, monkeypatch):
    from templates_app.sending import diagnostics

    monkeypatch.setattr(diagnostics, "cache", BrokenCache())
    server.script(fake.reply(answer("msg_first", write=1800)))

    response = api.post(
        reverse("send", args=["doc-qa"]), {"variables": VALUES, "model": MODEL}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert "diagnostics" not in server.requests[0].json()


OPENAI_MODEL = "openai/gpt-5.6-terra"


@pytest.fixture
def openai_server(settings):
    cache.clear()
    with FakeServer(responder=responses.CachingResponses()) as running:
        settings.GATEWAY = {
            **settings.GATEWAY,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": f"{running.url}/v1",
        }
        clients.forget_clients()
        yield running
    clients.forget_clients()
    cache.clear()


def send_openai(api, **values):
    payload = {"variables": {**VALUES, **values}, "model": OPENAI_MODEL}
    return api.post(reverse("send", args=["doc-qa"]), payload, format="json").json()


def test_openai_is_told_the_previous_response_and_its_reason_agrees(api, template, openai_server):
    send_openai(api)
    miss = send_openai(api, document=DOCUMENT + " Revised.")["miss"]

    first, second = (recorded.json() for recorded in openai_server.requests)
    assert "comparison_response_id" not in first["prompt_cache_options"]
    assert second["prompt_cache_options"]["comparison_response_id"] == "resp_fake0001"
    assert second["prompt_cache_options"]["mode"] == "explicit"
    assert miss["reason"] == "prefix_changed"
    # Cachet's cache key is the last checkpoint's fingerprint, so the key changed too.
    assert miss["provider"]["reason"] == "prompt_cache_key_changed"
    assert miss["provider"]["agrees"] is True
    assert miss["message"].endswith("OpenAI reports prompt_cache_key_changed too")


def test_an_identical_prefix_openai_calls_changed_is_a_disagreement(api, template, openai_server):
    openai_server.responder.force_reason = "tools_changed"
    send_openai(api)
    # The fake evicts nothing, so a miss needs the provider's word: it says tools changed.
    openai_server.responder.cache.entries.clear()
    miss = send_openai(api)["miss"]

    assert miss["reason"] == "provider_miss"
    assert miss["provider"]["agrees"] is False
    assert "OpenAI reports tools_changed: they disagree" in miss["message"]


@pytest.mark.django_db(transaction=True)
def test_an_openai_stream_carries_the_comparison_and_the_reason(api_key, template, openai_server):
    headers = {"Authorization": f"Bearer {api_key}"}
    for document in (DOCUMENT, DOCUMENT + " Revised."):
        payload = {
            "variables": {**VALUES, "document": document},
            "model": OPENAI_MODEL,
            "stream": True,
        }
        response = call_asgi("POST", "/api/v1/templates/doc-qa/send", payload, headers=headers)
        assert response.status == 200

    second = openai_server.requests[1].json()
    assert second["stream"] is True
    assert second["prompt_cache_options"]["comparison_response_id"] == "resp_fake0001"
    done = response.events()[-1][1]
    assert done["miss"]["provider"]["reason"] == "prompt_cache_key_changed"
