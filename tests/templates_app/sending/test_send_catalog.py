"""The catalog in force at send time: a model released tomorrow, and an operator's prices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from gateway.catalog import active_catalog, get_profile, load_catalog, use_catalog
from templates_app.models import Invocation
from templates_app.sending import clients
from tests.factories import DOCUMENT
from tests.fakes import anthropic as fake
from tests.fakes.server import FakeServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


@pytest.fixture(autouse=True)
def fresh():
    before = active_catalog()
    cache.clear()
    clients.forget_clients()
    yield
    use_catalog(before)
    cache.clear()
    clients.forget_clients()


def send(api, **payload):
    payload.setdefault("variables", VALUES)
    return api.post(reverse("send", args=["doc-qa"]), payload, format="json")


def test_a_model_released_tomorrow_renders_and_sends_with_a_warning(api, template, settings):
    with FakeServer() as server:
        settings.GATEWAY = {
            **settings.GATEWAY,
            "ANTHROPIC_API_KEY": "sk-ant-test",
            "ANTHROPIC_BASE_URL": server.url,
        }
        clients.forget_clients()
        server.script(fake.reply(fake.message_response("Hi.", fake.usage(12, 5, write_1h=1800))))
        rendered = api.post(
            reverse("render", args=["doc-qa"]),
            {"variables": VALUES, "model": "anthropic/claude-opus-6"},
            format="json",
        )
        sent = send(api, model="anthropic/claude-opus-6")

    assert rendered.status_code == 200, rendered.json()
    assert "unknown_model_limits" in [w["code"] for w in rendered.json()["warnings"]]
    assert sent.status_code == 200, sent.json()
    assert server.requests[0].json()["model"] == "claude-opus-6"
    body = sent.json()
    assert body["output"]["text"] == "Hi."
    assert body["cost"]["usd"] is None  # no prices known: not a made-up 0
    assert Invocation.objects.get(pk=body["invocation_id"]).cost_usd is None


def test_an_operator_price_override_changes_the_computed_cost(api, template, tmp_path):
    before = send(api).json()
    cache.clear()
    path = tmp_path / "models.toml"
    path.write_text(
        '[[models]]\nmodel = "anthropic/claude-sonnet-4-5-20250929"\n'
        'prices = {cache_write_1h = "12", output = "30"}\n',
        encoding="utf-8",
    )
    use_catalog(load_catalog(path))
    after = send(api).json()

    usage = after["usage"]
    assert usage == before["usage"]  # the same write, priced differently
    prices = get_profile("sim/claude-sonnet-4-5").prices
    assert (prices.cache_write_1h, prices.output, prices.input) == (12, 30, 3)
    by_hand = (
        usage["input_tokens"] * Decimal(3)
        + usage["cache_write_1h_tokens"] * Decimal(12)
        + usage["output_tokens"] * Decimal(30)
    ) / Decimal(1_000_000)
    assert Decimal(str(after["cost"]["usd"])) == pytest.approx(by_hand, abs=Decimal("1e-9"))
    assert after["cost"]["usd"] > before["cost"]["usd"]
