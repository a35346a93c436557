"""Cold-start coalescing end to end: 64 concurrent sends of a cold 100k-token prefix, through
the real clients against loopback providers whose entries are readable only once the answer
of the call that wrote them has begun (and through the simulator, which follows that rule)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from gateway.catalog import get_profile
from gateway.errors import OverloadedError
from templates_app.models import Invocation
from templates_app.sending import clients
from tests.asgi import call_in_loop, posts_at_once, routed_app
from tests.factories import make_body, make_template, make_version
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import bedrock as fake_bedrock
from tests.fakes.server import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)

SENDS = 64
# About 100,000 tokens by every count here (the fakes' one per four characters of JSON,
# and the simulator's estimate).
DOCUMENT = "".join(
    f"Clause {n}. The service is available 99.9% of each month.\n" for n in range(6_800)
)
FIRST_BYTE = 0.3  # seconds before a provider's answer begins
MODELS = {
    "sim": "sim/claude-sonnet-4-5",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "bedrock": "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
}


@pytest.fixture(autouse=True)
def fresh(settings, loopback_sends):
    # A bound far above any wait here: a follower that went because time ran out would
    # hide a leader that never released it.
    settings.CACHET = {**settings.CACHET, "COALESCE": True, "COALESCE_WAIT": 60.0}


def document_template(provider: str, **caching: bool) -> str:
    """A template whose system prompt is the 100k-token document, cached for 5 minutes."""
    body = make_body(
        model=MODELS[provider],
        params={"max_tokens": 64},
        variables={"question": {"type": "string", "required": True}},
        messages=[
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": DOCUMENT, "cache_control": {"type": "ephemeral"}}
                ],
            },
            {"role": "user", "content": "{{ question }}"},
        ],
    )
    if caching:
        body["caching"] = caching
    template = make_template(slug=f"{provider}-doc")
    make_version(template, body=body)
    return template.slug


def send_all(slug: str, api_key: str, *, stream: bool = False) -> list[Any]:
    """``SENDS`` sends of ``slug`` at once, each with a question of its own."""
    app = routed_app()
    headers = {"Authorization": f"Bearer {api_key}"}

    async def all_at_once() -> list[Any]:
        try:
            payloads = [
                {"variables": {"question": f"Question {n}?"}, "stream": stream}
                for n in range(SENDS)
            ]
            return await posts_at_once(app, f"/api/v1/templates/{slug}/send", payloads, headers)
        finally:
            await clients.close_clients()

    return asyncio.run(all_at_once())


def outcomes() -> Counter[str]:
    """The logged sends by what they did with the prefix: wrote, read, failed."""
    counts: Counter[str] = Counter()
    for row in Invocation.objects.all():
        if row.status != "ok":
            counts["failed"] += 1
        elif row.cache_write_tokens:
            counts["wrote"] += 1
        elif row.cache_read_tokens:
            counts["read"] += 1
        else:
            counts["neither"] += 1
    return counts


def roles() -> Counter[str]:
    return Counter(Invocation.objects.values_list("coalesce", flat=True))


@pytest.fixture
def provider(request, settings) -> Iterator[Callable[..., None]]:
    """Points the provider named by the test's parameter at a loopback server (or sets up
    the simulator) with answers that begin ``FIRST_BYTE`` s after each call, or only once
    all ``SENDS`` calls are in (``hold=True``); ``fail_first`` fails the first call."""
    name = request.param
    servers: list[FakeServer] = []

    def start(*, hold: bool = False, fail_first: bool = False) -> None:
        if name == "sim":
            sim_provider(settings, hold=hold, fail_first=fail_first)
            return
        wait = threading.Barrier(SENDS) if hold else None
        first_byte = 0.0 if hold else FIRST_BYTE
        if name == "anthropic":
            server = FakeServer(
                responder=fake_anthropic.CachingMessages(first_byte=first_byte, hold=wait)
            )
            failure = fake_anthropic.error_reply(529, "overloaded_error", "Overloaded")
            config = {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": server.url}
        else:
            server = FakeServer(
                responder=fake_bedrock.CachingConverse(first_byte=first_byte, hold=wait)
            )
            failure = fake_bedrock.error_reply(503, "ServiceUnavailableException", "Busy")
            config = {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.url}
        if fail_first:
            failure.delay = FIRST_BYTE
            server.script(failure)
        servers.append(server.__enter__())
        settings.GATEWAY = {**settings.GATEWAY, **config}
        clients.forget_clients()

    start.name = name  # type: ignore[attr-defined]
    yield start
    for server in servers:
        server.__exit__(None, None, None)


def sim_provider(settings, *, hold: bool, fail_first: bool) -> None:
    barrier = asyncio.Barrier(SENDS) if hold else None
    calls = 0

    async def answer_begins() -> None:
        nonlocal calls
        calls += 1
        if barrier is not None:
            await barrier.wait()
        elif fail_first and calls == 1:
            raise OverloadedError("sim", 529, "Overloaded")

    settings.GATEWAY = {
        **settings.GATEWAY,
        "SIM_LATENCY": 0.0 if hold else FIRST_BYTE,
        "SIM_HOLD": answer_begins,
    }
    clients.forget_clients()


PROVIDERS = pytest.mark.parametrize("provider", ["sim", "anthropic", "bedrock"], indirect=True)


@PROVIDERS
def test_64_cold_sends_give_one_write_and_63_reads(provider, api_key):
    slug = document_template(provider.name)
    provider()

    answers = send_all(slug, api_key)

    assert [answer.status for answer in answers] == [200] * SENDS
    assert outcomes() == {"wrote": 1, "read": SENDS - 1}
    # A send that came once the leader's answer had begun went alone (the prefix was warm).
    assert roles()["led"] == 1 and roles()["waited"] + roles()["alone"] == SENDS - 1
    writer = Invocation.objects.get(coalesce="led")
    assert writer.cache_write_tokens >= 100_000
    assert writer.write_avoided_usd is None
    followers = Invocation.objects.filter(coalesce="waited")
    assert all(row.cache_read_tokens == writer.cache_write_tokens for row in followers)
    assert all(row.write_avoided_usd > 0 for row in followers)
    # Each follower waited for the leader's answer to begin, not for a timeout.
    assert max(row.coalesce_wait_ms for row in followers) < 30_000


@PROVIDERS
def test_with_coalescing_off_the_same_64_sends_write_64_times(provider, api_key, settings):
    settings.CACHET = {**settings.CACHET, "COALESCE": False}
    slug = document_template(provider.name)
    provider(hold=True)  # every answer begins only once all 64 calls are in

    answers = send_all(slug, api_key)

    assert [answer.status for answer in answers] == [200] * SENDS
    assert outcomes() == {"wrote": SENDS}
    assert roles() == {"off": SENDS}


@pytest.mark.parametrize("provider", ["sim"], indirect=True)
def test_a_template_that_opts_out_writes_64_times(provider, api_key):
    slug = document_template(provider.name, coalesce=False)
    provider(hold=True)

    send_all(slug, api_key)

    assert outcomes() == {"wrote": SENDS}
    assert roles() == {"off": SENDS}


@PROVIDERS
def test_when_the_leader_fails_one_follower_writes_and_the_rest_read(provider, api_key):
    slug = document_template(provider.name)
    provider(fail_first=True)

    answers = send_all(slug, api_key)

    statuses = Counter(answer.status for answer in answers)
    assert statuses[200] == SENDS - 1 and len(statuses) == 2
    assert outcomes() == {"failed": 1, "wrote": 1, "read": SENDS - 2}
    # The one that failed led; the follower that wrote led next.
    assert roles()["led"] == 2 and roles()["waited"] + roles()["alone"] == SENDS - 2


@pytest.mark.parametrize("provider", ["sim", "anthropic"], indirect=True)
def test_streamed_followers_go_once_the_leader_stream_has_begun(provider, api_key):
    slug = document_template(provider.name)
    provider()

    answers = send_all(slug, api_key, stream=True)

    assert all(answer.status == 200 for answer in answers)
    assert outcomes() == {"wrote": 1, "read": SENDS - 1}


@pytest.mark.parametrize("provider", ["sim"], indirect=True)
def test_a_warm_prefix_goes_alone(provider, api_key):
    slug = document_template(provider.name)
    provider()
    send_all(slug, api_key)
    Invocation.objects.all().delete()

    send_all(slug, api_key)

    assert outcomes() == {"read": SENDS}
    assert roles() == {"alone": SENDS}


def stats_of(slug: str, api_key: str) -> dict[str, Any]:
    response = asyncio.run(
        call_in_loop(
            "GET",
            f"/api/v1/templates/{slug}/stats",
            None,
            {"Authorization": f"Bearer {api_key}"},
            None,
        )
    )
    assert response.status == 200
    return response.json()["versions"][0]


@pytest.mark.parametrize("provider", ["sim"], indirect=True)
def test_stats_count_the_writes_avoided_and_their_dollar_value(provider, api_key):
    slug = document_template(provider.name)
    provider()
    send_all(slug, api_key)

    stats = stats_of(slug, api_key)

    writer = Invocation.objects.get(coalesce="led")
    waited = Invocation.objects.filter(coalesce="waited").count()
    assert waited > 0
    prices = get_profile(MODELS["sim"]).prices
    # Each follower read the prefix the leader wrote: writing it at the 5m price instead
    # would have cost (write - read) per token more.
    by_hand = waited * writer.cache_write_tokens * (prices.cache_write_5m - prices.cache_read)
    assert stats["coalescing"] == {
        "led": 1,
        "waited": waited,
        "writes_avoided": waited,
        "writes_avoided_usd": pytest.approx(float(by_hand / Decimal(1_000_000))),
    }


def two_sends(
    slug: str,
    api_key: str,
    *,
    first_gone_at: float | None = None,
    second_gone_at: float | None = None,
) -> list[Any]:
    """Two sends of ``slug``, the second 0.1 s after the first (which leads); their clients
    go away after ``first_gone_at`` and ``second_gone_at`` seconds."""
    app = routed_app()
    headers = {"Authorization": f"Bearer {api_key}"}
    path = f"/api/v1/templates/{slug}/send"

    async def one(n: int, delay: float, gone_at: float | None) -> Any:
        await asyncio.sleep(delay)
        payload = {"variables": {"question": f"Question {n}?"}}
        return await call_in_loop(
            "POST", path, payload, headers, None, app=app, disconnect_at=gone_at
        )

    async def both() -> list[Any]:
        try:
            return await asyncio.gather(one(0, 0.0, first_gone_at), one(1, 0.1, second_gone_at))
        finally:
            await clients.close_clients()

    return asyncio.run(both())


def test_a_follower_waits_no_longer_than_the_bound(settings, api_key):
    slug = document_template("sim")
    never = asyncio.Event()
    settings.CACHET = {**settings.CACHET, "COALESCE_WAIT": 0.5}
    settings.GATEWAY = {**settings.GATEWAY, "SIM_HOLD": never.wait}  # no answer ever begins

    leader, follower = two_sends(slug, api_key, first_gone_at=3.0, second_gone_at=2.5)

    assert leader.status == 0 and follower.status == 0  # both held until their clients left
    row = Invocation.objects.get(coalesce="waited")
    # It went once the bound had passed (not when the leader gave up, 3 s in).
    assert 500 <= row.coalesce_wait_ms < 2900


def test_a_leader_whose_client_goes_away_lets_the_follower_lead(settings, api_key):
    slug = document_template("sim")
    settings.GATEWAY = {**settings.GATEWAY, "SIM_LATENCY": 1.0}

    leader, follower = two_sends(slug, api_key, first_gone_at=0.4)

    assert leader.status == 0 and follower.status == 200
    gone = Invocation.objects.get(status="client_disconnected")
    assert gone.coalesce == "led"
    row = Invocation.objects.get(status="ok")
    # Released when the leader's client left (0.4 s in, 0.3 s after it came), not at the
    # bound: it led the prefix in turn and wrote it.
    assert row.coalesce == "led" and row.cache_write_tokens > 0


def test_a_prefix_that_caches_nothing_goes_alone(api_key):
    template = make_template(slug="short")
    make_version(template, body=make_body(params={"max_tokens": 64}))
    variables = {"document": "Too short to cache.", "question": "Why?"}
    app = routed_app()

    async def send() -> Any:
        try:
            return await call_in_loop(
                "POST",
                "/api/v1/templates/short/send",
                {"variables": variables},
                {"Authorization": f"Bearer {api_key}"},
                None,
                app=app,
            )
        finally:
            await clients.close_clients()

    assert asyncio.run(send()).status == 200
    assert Invocation.objects.get().coalesce == "alone"
