"""Promotion warm-up: the new version's cached prefix written by one minimal call before the
label moves, with the fingerprints and bytes every send has, so the traffic after it reads."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from gateway.catalog import get_profile
from gateway.errors import OverloadedError
from gateway.types import Message
from templates_app.engine.errors import VariableError
from templates_app.models import Invocation
from templates_app.sending import clients
from templates_app.sending.flow import SendError, send_prepare
from templates_app.sending.recording import SendCall
from templates_app.sending.warmup import label_promote, warmup_prepare
from tests.asgi import AsgiResponse, call_in_loop, posts_at_once, routed_app
from tests.factories import DOCUMENT, make_body, make_template, make_tool, make_version
from tests.fakes import anthropic as fake_anthropic
from tests.fakes.server import FakeServer

SENDS = 20
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
MODELS = {
    "sim": "sim/claude-sonnet-4-5",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "bedrock": "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    "openai": "openai/gpt-4o",
    "openai-explicit": "openai/gpt-5.6-sol",
}


pytestmark = pytest.mark.usefixtures("loopback_sends")


def system(text: str, **marker: Any) -> dict[str, Any]:
    part = {"type": "text", "text": text}
    if marker:
        part["cache_control"] = {"type": "ephemeral", **marker}
    return {"role": "system", "content": [part]}


# Where the last checkpoint sits decides what the warm-up sends after the prefix.
SHAPES = {
    "system": make_body(),
    "tools and system": make_body(
        tools=[{**make_tool(), "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        messages=[
            system("{{ document }}", ttl="1h"),
            {"role": "user", "content": "Answer in {{ words }} words: {{ question }}"},
        ],
    ),
    "mid user turn": make_body(
        messages=[
            system("You answer from the document only."),
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "{{ document }}",
                        "cache_control": {"type": "ephemeral"},
                    },
                    {"type": "text", "text": "Answer in {{ words }} words: {{ question }}"},
                ],
            },
        ],
    ),
    "assistant turn": make_body(
        messages=[
            system("You answer from the document only."),
            {"role": "user", "content": "{{ document }}"},
            {"role": "assistant", "content": "Read.", "cache_control": {"type": "ephemeral"}},
            {"role": "user", "content": "Answer in {{ words }} words: {{ question }}"},
        ],
    ),
}


def wire_blocks(wire: dict[str, Any]) -> list[tuple[str, Any]]:
    """The prompt of a wire body (any provider's) as its blocks in order, each with where it is."""
    blocks = [("tools", tool) for tool in wire.get("tools", [])]
    blocks += [("tools", tool) for tool in wire.get("toolConfig", {}).get("tools", [])]
    blocks += [("system", block) for block in wire.get("system", [])]
    for index, message in enumerate(wire.get("messages", wire.get("input", []))):
        content = message.get("content")
        parts = content if isinstance(content, list) else [content]
        blocks += [(f"{index}:{message.get('role')}", part) for part in parts]
    return blocks


PROMPT_KEYS = {"tools", "toolConfig", "system", "messages", "input"}
OUTPUT_KEYS = {"max_tokens", "max_completion_tokens", "max_output_tokens"}


def the_rest(wire: dict[str, Any]) -> dict[str, Any]:
    """Everything but the prompt and the output limit: model, sampling, cache options."""
    rest = {k: v for k, v in wire.items() if k not in PROMPT_KEYS | OUTPUT_KEYS}
    if "inferenceConfig" in rest:
        rest["inferenceConfig"] = {
            k: v for k, v in rest["inferenceConfig"].items() if k != "maxTokens"
        }
    return rest


@pytest.mark.django_db
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("provider", sorted(MODELS))
def test_the_warm_up_has_a_normal_send_s_fingerprints_and_prefix_bytes(provider, shape):
    template = make_template()
    version = make_version(template, body={**SHAPES[shape], "model": MODELS[provider]})
    version.template = template
    normal = send_prepare(SendCall(slug=template.slug, variables=VALUES, version=1))

    warm = warmup_prepare(version=version, label="production", variables={})

    assert warm.result.checkpoints == normal.result.checkpoints
    assert warm.result.request.cache_key == normal.result.request.cache_key
    assert any(c.status == "will_cache" for c in warm.result.checkpoints)
    blocks, full = wire_blocks(warm.wire), wire_blocks(normal.wire)
    appended = warm.result.request.messages[-1] == Message("user", ".")
    assert appended == (shape != "mid user turn")
    prefix = blocks[:-1] if appended else blocks
    assert prefix and prefix == full[: len(prefix)]
    assert len(prefix) < len(full)  # the suffix is not sent
    assert the_rest(warm.wire) == the_rest(normal.wire)


@pytest.mark.django_db
def test_only_prefix_variables_are_needed_and_samples_fill_them():
    template = make_template(sample_variables={"document": DOCUMENT})  # no question
    version = make_version(template)
    version.template = template

    rendered = warmup_prepare(version=version, label="production", variables={})

    assert rendered.result.variables["document"] == DOCUMENT
    assert "question" not in rendered.result.variables
    given = warmup_prepare(version=version, label="production", variables={"document": "Other."})
    assert given.result.checkpoints[0].fingerprint != rendered.result.checkpoints[0].fingerprint


@pytest.mark.django_db
def test_a_missing_prefix_variable_is_named():
    template = make_template(sample_variables={"question": "Uptime?"})
    version = make_version(template)
    version.template = template

    with pytest.raises(VariableError) as caught:
        warmup_prepare(version=version, label="production", variables={})

    assert caught.value.message == "variable 'document': is required"
    assert caught.value.status_code == 400


@pytest.mark.django_db
def test_an_unknown_variable_is_named():
    template = make_template()
    version = make_version(template)
    version.template = template

    with pytest.raises(VariableError, match="'documnet': is not declared"):
        warmup_prepare(version=version, label="production", variables={"documnet": "x"})


@pytest.mark.django_db
def test_the_warm_up_writes_the_prefix_and_is_recorded_at_catalog_prices():
    template = make_template()
    make_version(template)

    promoted = label_promote(
        template=template, label="production", version=1, moved_by="alice", warm=True
    )

    report = promoted.warmup
    assert promoted.label.version.number == 1
    assert (report["status"], report["reason"], report["version"]) == ("written", None, 1)
    [chain] = report["chains"]
    [checkpoint] = chain["checkpoints"]
    assert checkpoint["ordinal"] == 1 and checkpoint["ttl"] == "1h"
    row = Invocation.objects.get(pk=chain["invocation_id"])
    assert row.metadata == {"warmup": True} and row.caller == "alice"
    assert row.label == "production" and row.status == "ok"
    assert row.last_fingerprint == checkpoint["fingerprint"]
    usage = chain["usage"]
    assert usage["cache_write_1h_tokens"] == usage["cache_write_tokens"] > 1000
    assert usage["cache_read_tokens"] == 0 and usage["output_tokens"] == 0
    assert usage["input_tokens"] <= 2  # the one-character turn after the prefix
    # Sonnet 4.5's catalog prices: $3 a million input tokens, $6 a million written for 1h.
    prices = get_profile("sim/claude-sonnet-4-5").prices
    assert (prices.input, prices.cache_write_1h) == (Decimal(3), Decimal(6))
    usd = (Decimal(6) * usage["cache_write_1h_tokens"] + Decimal(3) * usage["input_tokens"]) / (
        Decimal(1_000_000)
    )
    assert row.cost_usd == usd.quantize(Decimal("1e-10"))
    assert chain["cost"]["usd"] == float(usd)
    assert report["message"].startswith("wrote the cached prefix of checkpoint 1 (about ")


@pytest.mark.django_db
def test_a_warm_version_is_skipped():
    template = make_template()
    make_version(template)
    label_promote(template=template, label="staging", version=1, warm=True)

    promoted = label_promote(template=template, label="production", version=1, warm=True)

    report = promoted.warmup
    assert (report["status"], report["reason"]) == ("skipped", "already_warm")
    [chain] = report["chains"]
    assert chain["invocation_id"] is None and chain["checkpoints"][0]["ordinal"] == 1
    assert "warm already" in report["message"]
    assert Invocation.objects.count() == 1
    assert promoted.label.name == "production"


@pytest.mark.django_db
def test_a_version_a_send_warmed_is_skipped(api):
    template = make_template()
    make_version(template)
    sent = api.post("/api/v1/templates/doc-qa/send", {"variables": VALUES}, format="json")
    assert sent.json()["usage"]["cache_write_tokens"] > 0

    promoted = label_promote(template=template, label="production", version=1, warm=True)

    assert promoted.warmup["reason"] == "already_warm"
    assert Invocation.objects.count() == 1


@pytest.mark.django_db
def test_a_version_that_caches_nothing_sends_nothing():
    template = make_template(sample_variables={"document": "Too short to cache."})
    make_version(template)

    promoted = label_promote(template=template, label="production", version=1, warm=True)

    report = promoted.warmup
    assert (report["status"], report["reason"], report["chains"]) == (
        "skipped",
        "nothing_caches",
        [],
    )
    assert not Invocation.objects.exists()
    assert promoted.label.version.number == 1


@pytest.mark.django_db
def test_without_warm_nothing_is_sent():
    template = make_template()
    make_version(template)

    promoted = label_promote(template=template, label="production", version=1)

    assert promoted.warmup is None
    assert not Invocation.objects.exists()


@pytest.mark.django_db
def test_a_provider_error_is_recorded_and_leaves_the_label_where_it_was(settings):
    template = make_template()
    make_version(template)
    make_version(template, body=make_body(params={"max_tokens": 64}))
    label_promote(template=template, label="production", version=1)

    async def overloaded() -> None:
        raise OverloadedError("sim", 529, "Overloaded")

    settings.GATEWAY = {**settings.GATEWAY, "SIM_HOLD": overloaded}
    clients.forget_clients()
    with pytest.raises(SendError) as caught:
        label_promote(template=template, label="production", version=2, warm=True)

    assert caught.value.status_code == 502
    assert template.labels.get(name="production").version.number == 1
    row = Invocation.objects.get(pk=caught.value.details["invocation_id"])
    assert (row.status, row.metadata, row.version.number) == ("provider_error", {"warmup": True}, 2)


@pytest.mark.django_db
def test_a_move_that_would_be_refused_is_refused_before_the_warm_up_is_paid():
    template = make_template()
    make_version(template)

    with pytest.raises(Exception, match="protected label"):
        label_promote(
            template=template, label="production", version=1, warm=True, protected_allowed=False
        )

    assert not Invocation.objects.exists()


# --- the acceptance test: a warmed promotion, then 20 concurrent sends -------------------------


def questions() -> list[dict[str, Any]]:
    """``SENDS`` send bodies, each with a question of its own."""
    return [{"variables": {**VALUES, "question": f"Question {n}?"}} for n in range(SENDS)]


def promote_then_send(slug: str, api_key: str, *, hold_from_now: Any) -> tuple[Any, list[Any]]:
    """In one event loop through the ASGI app: move ``production`` to version 1 warming it,
    call ``hold_from_now()`` (answers begin only once all sends are in), then ``SENDS``
    concurrent sends through the label."""
    app = routed_app()
    headers = {"Authorization": f"Bearer {api_key}"}

    async def run() -> tuple[AsgiResponse, list[AsgiResponse]]:
        try:
            moved = await call_in_loop(
                "PUT",
                f"/api/v1/templates/{slug}/labels/production",
                {"version": 1, "warm": True},
                headers,
                None,
                app=app,
            )
            hold_from_now()
            sends = await posts_at_once(app, f"/api/v1/templates/{slug}/send", questions(), headers)
            return moved, sends
        finally:
            await clients.close_clients()

    return asyncio.run(run())


def outcomes(exclude: int) -> Counter[str]:
    counts: Counter[str] = Counter()
    for row in Invocation.objects.exclude(pk=exclude):
        if row.status != "ok":
            counts["failed"] += 1
        elif row.cache_write_tokens:
            counts["wrote"] += 1
        elif row.cache_read_tokens:
            counts["read"] += 1
        else:
            counts["neither"] += 1
    return counts


def sim_hold(settings) -> Any:
    """Hold the simulator's answers, once switched on, until ``SENDS`` calls are in."""
    barrier = asyncio.Barrier(SENDS)
    held = False

    async def answer_begins() -> None:
        if held:
            await barrier.wait()

    def hold_from_now() -> None:
        nonlocal held
        held = True

    settings.GATEWAY = {**settings.GATEWAY, "SIM_HOLD": answer_begins}
    clients.forget_clients()
    return hold_from_now


def anthropic_hold(settings, server: FakeServer, responder: Any) -> Any:
    settings.GATEWAY = {
        **settings.GATEWAY,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "ANTHROPIC_BASE_URL": server.url,
    }
    clients.forget_clients()

    def hold_from_now() -> None:
        responder.cache.hold = threading.Barrier(SENDS)

    return hold_from_now


def assert_warmed_then_read(moved: Any, sends: list[Any], model: str) -> dict[str, Any]:
    assert moved.status == 200, moved.body
    report = moved.json()["warmup"]
    assert report["status"] == "written" and report["model"] == model
    [chain] = report["chains"]
    assert chain["usage"]["cache_write_tokens"] > 1000
    assert [send.status for send in sends] == [200] * SENDS
    assert outcomes(exclude=chain["invocation_id"]) == {"read": SENDS}
    # The sends found the chain warm (coalescing, off here, would not have held them).
    roles = Counter(Invocation.objects.values_list("coalesce", flat=True))
    assert roles == {"off": 1, "alone": SENDS}
    return chain


@pytest.mark.django_db(transaction=True)
def test_a_promotion_with_warm_up_then_20_concurrent_sends_writes_nothing(settings, api_key):
    # Coalescing off: the warm-up alone must spare the 20 their writes.
    settings.CACHET = {**settings.CACHET, "COALESCE": False}
    template = make_template()
    make_version(template)
    hold_from_now = sim_hold(settings)

    moved, sends = promote_then_send(template.slug, api_key, hold_from_now=hold_from_now)

    chain = assert_warmed_then_read(moved, sends, "sim/claude-sonnet-4-5")
    reads = Invocation.objects.exclude(pk=chain["invocation_id"])
    assert {row.cache_read_tokens for row in reads} == {chain["usage"]["cache_write_tokens"]}
    assert moved.json()["version"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_promotion_with_warm_up_then_20_concurrent_sends_writes_nothing_on_anthropic(
    settings, api_key
):
    settings.CACHET = {**settings.CACHET, "COALESCE": False}
    template = make_template()
    make_version(template, body=make_body(model="anthropic/claude-sonnet-4-5"))
    responder = fake_anthropic.CachingMessages()
    with FakeServer(responder=responder) as server:
        hold_from_now = anthropic_hold(settings, server, responder)

        moved, sends = promote_then_send(template.slug, api_key, hold_from_now=hold_from_now)

        warm_call = server.requests[0].json()
    assert_warmed_then_read(moved, sends, "anthropic/claude-sonnet-4-5")
    assert warm_call["max_tokens"] == 0
    assert warm_call["messages"] == [{"role": "user", "content": "."}]
    assert len(server.requests) == SENDS + 1


@pytest.mark.django_db(transaction=True)
def test_without_the_warm_up_the_same_20_sends_all_write(settings, api_key):
    settings.CACHET = {**settings.CACHET, "COALESCE": False}
    template = make_template()
    make_version(template)
    hold_from_now = sim_hold(settings)
    hold_from_now()  # no warm-up call goes first: every answer is held
    app = routed_app()
    headers = {"Authorization": f"Bearer {api_key}"}

    async def run() -> list[AsgiResponse]:
        try:
            return await posts_at_once(
                app, f"/api/v1/templates/{template.slug}/send", questions(), headers
            )
        finally:
            await clients.close_clients()

    asyncio.run(run())

    assert outcomes(exclude=0) == {"wrote": SENDS}
