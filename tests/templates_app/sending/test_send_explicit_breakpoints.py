"""GPT-5.6 end to end: two checkpoints become two breakpoints in explicit mode; write, then read."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from templates_app.engine.lint import lint
from templates_app.engine.rendering import compile_body
from templates_app.sending import clients
from tests.factories import DOCUMENT, make_body, make_template, make_version
from tests.fakes import openai as fake
from tests.fakes import openai_responses as responses
from tests.fakes.server import FakeServer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("both_routes")]

MODEL = "openai/gpt-5.6-terra"
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}


def two_checkpoint_body() -> dict:
    body = make_body(model=MODEL, params={"max_tokens": 64})
    examples = {
        "role": "user",
        "content": "Examples: uptime questions are answered in percent.",
        "cache_control": {"type": "ephemeral"},
    }
    body["messages"].insert(1, examples)
    return body


@pytest.fixture(params=["responses", "chat"])
def wire_api(request):
    """The built-in catalog calls GPT-5.6 through the Responses API; an operator file may
    keep it on Chat Completions. Both carry the same breakpoints and bill the same."""
    return request.param


@pytest.fixture
def server(settings, operator_catalog, wire_api):
    # The catalog has no output price for gpt-5.6-terra: an operator file gives one.
    keep_on_chat = 'api = "chat"\ndiagnostics = false\n' if wire_api == "chat" else ""
    operator_catalog(f'[[models]]\nmodel = "{MODEL}"\nprices = {{output = "8"}}\n{keep_on_chat}')
    with FakeServer() as running:
        settings.GATEWAY = {
            **settings.GATEWAY,
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": f"{running.url}/v1",
        }
        clients.forget_clients()
        yield running
    clients.forget_clients()


def reply(wire_api: str, total: int, *, written: int = 0, read: int = 0):
    if wire_api == "chat":
        usage = fake.usage(total, 10, cached_tokens=read, cache_write_tokens=written)
        return fake.completion_reply(usage_body=usage)
    usage = responses.usage(total, 10, cached_tokens=read, cache_write_tokens=written)
    return responses.response_reply(responses.response(usage_body=usage))


def breakpoints(wire: dict) -> list[dict]:
    """Every content part carrying a breakpoint, in either API's body."""
    items = wire.get("messages") or wire["input"]
    return [
        part
        for item in items
        if isinstance(item.get("content"), list)
        for part in item["content"]
        if "prompt_cache_breakpoint" in part
    ]


def test_two_checkpoints_write_then_read_through_explicit_breakpoints(api, server, wire_api):
    template = make_template()
    make_version(template, body=two_checkpoint_body())
    server.script(reply(wire_api, 2600, written=2400), reply(wire_api, 2610, read=2400))
    url = reverse("send", args=[template.slug])
    one = api.post(url, {"variables": VALUES}, format="json").json()
    two = api.post(url, {"variables": VALUES}, format="json").json()

    path = "/v1/chat/completions" if wire_api == "chat" else "/v1/responses"
    for recorded in server.requests:
        assert recorded.path == path
        wire = recorded.json()
        assert len(breakpoints(wire)) == 2
        assert wire["prompt_cache_options"]["mode"] == "explicit"
        assert wire["prompt_cache_options"]["ttl"] == "30m"
        assert wire["prompt_cache_key"] == one["checkpoints"][-1]["fingerprint"]
    assert one["usage"]["cache_write_tokens"] == 2400 and one["usage"]["input_tokens"] == 200
    assert two["usage"]["cache_read_tokens"] == 2400 and two["usage"]["input_tokens"] == 210
    assert two["usage"]["cache_write_tokens"] == 0
    # By hand, per MTok: input 2.00, write 2.50 (x1.25), read 0.20 (x0.1), output 8.
    write_usd = (200 * Decimal("2.00") + 2400 * Decimal("2.50") + 10 * 8) / 10**6
    read_usd = (210 * Decimal("2.00") + 2400 * Decimal("0.20") + 10 * 8) / 10**6
    assert Decimal(str(one["cost"]["usd"])) == pytest.approx(write_usd, abs=Decimal("1e-12"))
    assert Decimal(str(two["cost"]["usd"])) == pytest.approx(read_usd, abs=Decimal("1e-12"))
    plain = (2610 * Decimal("2.00") + 10 * 8) / 10**6
    assert Decimal(str(two["cost"]["saved_usd"])) == pytest.approx(plain - read_usd)


def test_an_assistant_checkpoint_on_gpt_5_6_is_a_lint_warning():
    body = two_checkpoint_body()
    body["messages"].insert(
        2, {"role": "assistant", "content": "Understood.", "cache_control": {"type": "ephemeral"}}
    )

    report = lint(compile_body(body), sample_variables=VALUES)

    [warning] = [w for w in report["warnings"] if w["code"] == "checkpoint_not_placed"]
    assert warning["path"] == "messages[2].content"
    assert "no breakpoint in assistant messages" in warning["message"]
    assert report["ok"] is True


def test_the_same_body_on_gpt_4o_has_no_placement_warning():
    body = two_checkpoint_body()
    body["model"] = "openai/gpt-4o"

    report = lint(compile_body(body), sample_variables=VALUES)

    assert "checkpoint_not_placed" not in [w["code"] for w in report["warnings"]]
