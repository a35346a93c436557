"""Render-and-send through the simulator: usage, cost, savings, the invocation log, misses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from gateway.catalog import get_profile
from templates_app.models import Invocation
from tests.asgi import call_asgi
from tests.factories import DOCUMENT, make_version

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("both_routes"),
    pytest.mark.usefixtures("fresh_simulator"),
]

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
ALIAS = "pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"


def send(api, slug="doc-qa", **payload):
    payload.setdefault("variables", VALUES)
    return api.post(reverse("send", args=[slug]), payload, format="json")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def hand_priced(usage: dict, model: str = "sim/claude-sonnet-4-5") -> tuple[Decimal, Decimal]:
    prices = get_profile(model).prices
    paid = (
        usage["input_tokens"] * prices.input
        + usage["cache_read_tokens"] * prices.cache_read
        + usage["cache_write_5m_tokens"] * prices.cache_write_5m
        + usage["cache_write_1h_tokens"] * prices.cache_write_1h
        + usage["output_tokens"] * prices.output
    ) / Decimal(1_000_000)
    prompt = (
        usage["input_tokens"]
        + usage["cache_read_tokens"]
        + usage["cache_write_5m_tokens"]
        + usage["cache_write_1h_tokens"]
    )
    plain = (prompt * prices.input + usage["output_tokens"] * prices.output) / Decimal(1_000_000)
    return paid, plain


def test_first_send_writes_the_cache_and_the_second_reads_it(api, template):
    first = send(api)
    second = send(api, variables={**VALUES, "question": "Another question?"})
    assert first.status_code == 200, first.json()
    one, two = first.json(), second.json()
    assert one["usage"]["cache_write_1h_tokens"] > 1024
    assert one["usage"]["cache_read_tokens"] == 0
    assert one["miss"]["reason"] == "first_call"
    assert two["usage"]["cache_read_tokens"] == one["usage"]["cache_write_1h_tokens"]
    assert two["usage"]["cache_write_tokens"] == 0
    assert two["miss"] is None
    assert two["cost"]["saved_usd"] > 0 > one["cost"]["saved_usd"]
    assert two["output"]["text"] and two["output"]["stop_reason"] == "end_turn"
    assert [c["fingerprint"] for c in one["checkpoints"]] == [
        c["fingerprint"] for c in two["checkpoints"]
    ]


def test_cost_matches_hand_computed_catalog_prices(api, template):
    for response in (send(api), send(api)):
        body = response.json()
        paid, plain = hand_priced(body["usage"])
        assert Decimal(str(body["cost"]["usd"])) == pytest.approx(paid, abs=Decimal("1e-9"))
        assert Decimal(str(body["cost"]["usd_without_cache"])) == pytest.approx(
            plain, abs=Decimal("1e-9")
        )
        stored = Invocation.objects.get(pk=body["invocation_id"])
        assert stored.cost_usd == paid.quantize(Decimal("1e-10"))
        assert stored.saved_usd == (plain - paid).quantize(Decimal("1e-10"))


def test_every_send_is_recorded_with_usage_and_fingerprints(api, template):
    body = send(api, metadata={"ticket": "T-1"}).json()
    invocation = Invocation.objects.get(pk=body["invocation_id"])
    assert invocation.status == "ok" and invocation.stream is False
    assert (invocation.template, invocation.version.number, invocation.label) == (
        template,
        1,
        "latest",
    )
    assert invocation.model == "sim/claude-sonnet-4-5" and invocation.provider == "sim"
    assert invocation.metadata == {"ticket": "T-1"}
    assert invocation.caller == "key:tests" and invocation.api_key is not None
    assert invocation.last_fingerprint == body["checkpoints"][-1]["fingerprint"]
    assert invocation.cache_write_1h_tokens == body["usage"]["cache_write_1h_tokens"]
    assert invocation.variables == VALUES
    assert invocation.latency_ms is not None


def test_a_send_through_an_alias_answers_and_records_the_template_by_its_slug(api, template):
    from templates_app import services

    services.template_aliases_set(template=template, aliases=[ALIAS])
    first = send(api, slug=ALIAS)
    assert first.status_code == 200, first.json()
    second = send(api, slug=ALIAS, variables={**VALUES, "question": "Another question?"})
    assert first.json()["template"] == second.json()["template"] == "doc-qa"
    # An alias is the same template: the second call reads what the first one wrote.
    assert second.json()["usage"]["cache_read_tokens"] > 0 and second.json()["miss"] is None
    invocation = Invocation.objects.get(pk=second.json()["invocation_id"])
    assert invocation.template == template
    url = reverse("invocation-list")
    assert len(api.get(url, {"template": ALIAS}).json()["results"]) == 2
    stats = api.get(reverse("stats", args=[ALIAS])).json()
    assert stats["template"] == "doc-qa" and stats["versions"][0]["calls"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_streamed_send_through_an_alias_names_the_slug(api_key, template):
    from templates_app import services

    services.template_aliases_set(template=template, aliases=[ALIAS])
    response = call_asgi(
        "POST",
        f"/api/v1/templates/{ALIAS}/send",
        {"variables": VALUES, "stream": True},
        headers=bearer(api_key),
    )
    assert response.status == 200, response.body
    kind, done = response.events()[-1]
    assert (kind, done["template"]) == ("done", "doc-qa")


@pytest.mark.django_db(transaction=True)
def test_streaming_send_gives_deltas_then_one_done_with_usage_and_cost(api_key, template):
    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES, "stream": True},
        headers=bearer(api_key),
    )
    assert response.status == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = response.events()
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"delta"} and len(kinds) > 2
    done = events[-1][1]
    assert (
        "".join(data["text"] for kind, data in events if kind == "delta") == done["output"]["text"]
    )
    assert done["usage"]["cache_write_1h_tokens"] > 0 and done["cost"]["usd"] > 0
    invocation = Invocation.objects.get(pk=done["invocation_id"])
    assert invocation.stream is True and invocation.status == "ok"


@pytest.mark.django_db(transaction=True)
def test_send_through_a_label_in_the_real_event_loop(api_key, template):
    from templates_app import services

    services.label_move(template=template, label="production", version=1)
    response = call_asgi(
        "POST", "/api/v1/templates/doc-qa/send", {"variables": VALUES}, headers=bearer(api_key)
    )
    assert response.status == 200, response.body
    assert (response.json()["label"], response.json()["template"]) == ("production", "doc-qa")


@pytest.mark.django_db(transaction=True)
def test_a_client_gone_mid_stream_is_recorded(api_key, template, settings):
    settings.GATEWAY = {**settings.GATEWAY, "SIM_STREAM_DELAY": 0.3}
    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES, "stream": True},
        headers=bearer(api_key),
        disconnect_after=1,
    )
    assert [kind for kind, _ in response.events()] == ["delta"]
    invocation = Invocation.objects.get()
    assert invocation.status == "client_disconnected" and invocation.stream is True
    assert invocation.output_text == response.events()[0][1]["text"]


@pytest.mark.django_db(transaction=True)
def test_a_client_gone_while_the_provider_works_is_recorded(api_key, template, settings):
    settings.GATEWAY = {**settings.GATEWAY, "SIM_LATENCY": 0.6}
    response = call_asgi(
        "POST",
        "/api/v1/templates/doc-qa/send",
        {"variables": VALUES},
        headers=bearer(api_key),
        disconnect_at=0.2,
    )
    assert response.status == 0  # no answer: the client had gone
    invocation = Invocation.objects.get()
    assert invocation.status == "client_disconnected" and invocation.stream is False
    assert invocation.error_message.endswith("before the answer came")


def test_render_errors_are_400_and_send_nothing(api, template):
    response = send(api, variables={"question": "no document"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_variables"
    assert Invocation.objects.count() == 0


def test_provider_without_credentials_is_a_503_and_is_recorded(api, template, settings):
    settings.GATEWAY = {**settings.GATEWAY, "ANTHROPIC_API_KEY": None}
    response = send(api, model="anthropic/claude-sonnet-4-5")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "provider_unavailable" and "ANTHROPIC_API_KEY" in error["message"]
    invocation = Invocation.objects.get(pk=error["details"]["invocation_id"])
    assert invocation.status == "unavailable" and invocation.provider == "anthropic"


# --- Miss explanations ------------------------------------------------------------------------


def test_a_changed_prefix_names_the_checkpoint_block_variable_and_position(api, template):
    send(api)
    changed = DOCUMENT[:500] + "CHANGED" + DOCUMENT[507:]
    miss = send(api, variables={**VALUES, "document": changed}).json()["miss"]
    assert miss["reason"] == "prefix_changed"
    assert (miss["checkpoint"], miss["block"]) == (1, "messages[0].content[1]")
    assert miss["variables"] == ["document"]
    assert miss["position"] == 500
    assert "at character 500" in miss["message"]


def test_position_is_unknown_when_variables_are_not_logged(api, template, settings):
    settings.CACHET = {**settings.CACHET, "LOG_VARIABLES": False}
    send(api)
    miss = send(api, variables={**VALUES, "document": DOCUMENT + "!"}).json()["miss"]
    assert miss["reason"] == "prefix_changed" and miss["position"] is None
    assert Invocation.objects.first().variables is None


def test_an_expired_ttl_is_named(api, template):
    first = send(api).json()
    Invocation.objects.filter(pk=first["invocation_id"]).update(
        created_at=Invocation.objects.get(pk=first["invocation_id"]).created_at - timedelta(hours=2)
    )
    cache.clear()  # the provider's entry expired with its TTL
    miss = send(api).json()["miss"]
    assert miss["reason"] == "ttl_expired" and miss["ttl"] == "1h"
    assert miss["elapsed_seconds"] >= 7200


def test_a_provider_side_miss_is_named(api, template):
    send(api)
    cache.clear()  # evicted on the provider's side, well within the TTL
    miss = send(api).json()["miss"]
    assert miss["reason"] == "provider_miss"


def test_a_prefix_below_the_minimum_is_named(api, template):
    body = send(api, variables={**VALUES, "document": "Too short."}).json()
    assert body["usage"]["cache_write_tokens"] == 0 and body["usage"]["cache_read_tokens"] == 0
    assert body["miss"]["reason"] == "below_minimum"


def test_redacted_variables_are_not_stored(api, template, settings):
    settings.CACHET = {**settings.CACHET, "REDACT_VARIABLES": ["question"]}
    body = send(api).json()
    stored = Invocation.objects.get(pk=body["invocation_id"]).variables
    assert stored == {"document": DOCUMENT, "question": "[redacted]"}


# --- Invocations and stats --------------------------------------------------------------------


def test_invocations_can_be_filtered(api, template):
    make_version(template)  # version 2
    send(api, version=1)
    send(api, version=2)
    send(api, version=2, model="sim/claude-haiku-4-5")
    url = reverse("invocation-list")
    assert len(api.get(url).json()["results"]) == 3
    assert len(api.get(url, {"version": 2}).json()["results"]) == 2
    assert len(api.get(url, {"model": "sim/claude-haiku-4-5"}).json()["results"]) == 1
    assert len(api.get(url, {"template": "doc-qa", "status": "ok"}).json()["results"]) == 3
    assert len(api.get(url, {"template": "other"}).json()["results"]) == 0
    assert len(api.get(url, {"since": "2999-01-01T00:00:00Z"}).json()["results"]) == 0
    newest = api.get(url, {"limit": 1}).json()["results"][0]
    assert newest["model"] == "sim/claude-haiku-4-5" and newest["usage"]["input_tokens"] > 0
    bad = api.get(url, {"status": "great"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["message"]
    assert api.get(url, {"since": "yesterday"}).status_code == 400


def test_stats_per_version_count_calls_hits_tokens_and_savings(api, template):
    for _ in range(3):
        send(api)
    stats = api.get(reverse("stats", args=["doc-qa"])).json()
    [row] = stats["versions"]
    assert row["version"] == 1 and row["calls"] == 3 and row["errors"] == 0
    assert row["cache_hit_ratio"] == pytest.approx(2 / 3, abs=1e-4)
    invocations = Invocation.objects.all()
    assert row["tokens"]["cache_read_tokens"] == sum(i.cache_read_tokens for i in invocations)
    assert row["cost"]["saved_usd"] == pytest.approx(float(sum(i.saved_usd for i in invocations)))
    assert row["cost"]["usd"] < row["cost"]["usd_without_cache"]
