"""No send blocks the event loop.

Sends through every provider client (Anthropic and OpenAI over httpx, Bedrock over boto3,
the simulator with its entries in Redis) run concurrently through the real ASGI app,
with the production settings of the send path (database threads, the invocation
writer), in an event loop in asyncio's debug mode. The upstreams answer after a second,
so a client that waited on the network inside the loop would sleep that long in one
callback. The first send of each provider is among them: its client (importing boto3,
reading the AWS configuration) is built in a thread, never on the loop.

A callback's wall time is no measure of blocking. On a loaded machine a callback waits
for a CPU; and a full collection of the cyclic garbage collector, in whichever callback's
allocation sets it off (or in another thread, which holds the GIL meanwhile), walks every
object the process holds: after the rest of the suite 0.24 s of CPU, 0.75-0.95 s of wall
time with two CPU hogs running, and this test failed on such callbacks when it counted
wall time. ``LoopClock`` takes out of each callback's wall time the loop thread's CPU
time, its wait for a CPU and the collections in other threads; what is left is time the
loop thread slept, which is what a blocking call does.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.asgi import get_asgi_application

from templates_app.models import ApiKey, Invocation
from templates_app.sending import clients, dbthreads
from templates_app.sending.writer import invocation_writer, writer_stop
from tests.asgi import call_in_loop
from tests.factories import DOCUMENT, make_template, make_version
from tests.fakes import anthropic as fake_anthropic
from tests.fakes import bedrock as fake_bedrock
from tests.fakes import openai as fake_openai
from tests.fakes.server import FakeServer, Reply
from tests.redis_dbs import CACHE_DB, redis_url

UPSTREAM_DELAY = 1.0
# Seconds a callback may sleep. A wait on an upstream takes UPSTREAM_DELAY; the loop's
# other sleeps are waits on threads of this process (for the GIL, or in Thread.start for
# a new thread to run), longer the busier the machine: 0.04 s at most here with two CPU
# hogs running, 0.13 s with four.
BLOCKED = 0.4
SCHEDSTAT = "/proc/thread-self/schedstat"
PER_PROVIDER = 4
VALUES = {"document": DOCUMENT, "question": "What is the uptime?"}
MODELS = {
    "anthropic": "anthropic/claude-sonnet-4-5",
    "openai": "openai/gpt-4o",
    "bedrock": "bedrock/global.anthropic.claude-sonnet-4-6",
    "sim": "sim/claude-sonnet-4-5",
}


def redis_up() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


def delayed(reply: Reply) -> Reply:
    reply.delay = UPSTREAM_DELAY
    return reply


def json_replies() -> dict[str, Reply]:
    return {
        "anthropic": fake_anthropic.reply(
            fake_anthropic.message_response("ok", fake_anthropic.usage(10, 5, read=2000))
        ),
        "openai": fake_openai.completion_reply(usage_body=fake_openai.usage(2010, 5)),
        "bedrock": fake_bedrock.converse_reply(
            fake_bedrock.converse_body("ok", token_usage=fake_bedrock.usage(10, 5))
        ),
    }


def stream_replies() -> dict[str, Reply]:
    return {
        "anthropic": fake_anthropic.stream_reply(
            fake_anthropic.sse(
                fake_anthropic.text_events(
                    ["Hel", "lo"], fake_anthropic.usage(10, 1), {"output_tokens": 2}
                )
            )
        ),
        "openai": fake_openai.stream_reply(
            fake_openai.sse_events(fake_openai.text_chunks(["Hel", "lo"], fake_openai.usage(10, 2)))
        ),
        "bedrock": fake_bedrock.stream_reply(
            fake_bedrock.stream_events(fake_bedrock.text_events(0, ["Hel", "lo"]))
        ),
    }


@pytest.fixture
def production_path(settings, monkeypatch):
    """The send path as served: database threads, queued invocation rows, Redis for sim."""
    settings.CACHET = {**settings.CACHET, "DB_THREADS": 4, "INVOCATION_QUEUE": 1000}
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(CACHE_DB),
        }
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(dbthreads, "_executor", None)
    # As served: config.asgi disconnects these at import, but an earlier test's Django test
    # client connects them again, and a server imported earlier does not import it twice.
    from config.asgi import keep_request_threads_lazy

    keep_request_threads_lazy()
    writer_stop(timeout=10)  # the next one is built from these settings
    clients.forget_clients()
    yield
    writer_stop(timeout=10)
    if dbthreads._executor is not None:
        dbthreads._executor.shutdown()
    clients.forget_clients()


@pytest.fixture
def settled_heap() -> Iterator[None]:
    """Collections during the test walk what the sends allocate, not what the suite left.

    After the rest of the suite the process holds 340,000 tracked objects (120,000 when
    this file runs alone), and a full collection walks them all, in whichever callback
    sets it off: 0.24 s of CPU, with nothing to collect.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


class LoopClock:
    """Times every callback run on this thread's event loop (``asyncio.Handle._run``).

    A callback's wall time is its CPU time (collections in it included), plus its wait
    for a CPU (the run-queue delay of ``/proc/thread-self/schedstat``), plus the time it
    slept: on a blocking call, or on the GIL while another thread held it. Another thread
    holds the GIL for long in a collection, which ``gc.callbacks`` times, and otherwise
    for milliseconds, so the rest is what the callback slept on its own calls.
    """

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.slow: list[str] = []
        self._schedstat = os.open(SCHEDSTAT, os.O_RDONLY)  # this thread's, whoever reads it
        self._collecting: dict[int, float] = {}  # thread -> when its collection started
        self._collections: list[tuple[float, float]] = []  # (start, end), other threads'

    def close(self) -> None:
        os.close(self._schedstat)

    def _queued(self) -> float:
        return int(os.pread(self._schedstat, 100, 0).split()[1]) / 1e9

    def on_collection(self, phase: str, info: dict[str, Any]) -> None:
        thread = threading.get_ident()
        if thread == self.thread:
            return
        if phase == "start":
            self._collecting[thread] = time.perf_counter()
        elif thread in self._collecting:
            self._collections.append((self._collecting.pop(thread), time.perf_counter()))

    def _collecting_elsewhere(self, start: float, end: float) -> float:
        """Wall time within [start, end] that other threads spent collecting."""
        spans = [(started, end) for started in list(self._collecting.values())]
        for span in reversed(self._collections):
            if span[1] <= start:
                break
            spans.append(span)
        return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans)

    def timed(self, run: Callable[[asyncio.Handle], None]) -> Callable[[asyncio.Handle], None]:
        def timed_run(handle: asyncio.Handle) -> None:
            if threading.get_ident() != self.thread:
                return run(handle)
            # Read so that a wait inside the reads themselves falls outside the interval.
            queued, start, cpu = self._queued(), time.perf_counter(), time.thread_time()
            try:
                return run(handle)
            finally:
                queued = self._queued() - queued
                end = time.perf_counter()
                asleep = end - start - (time.thread_time() - cpu) - queued
                asleep -= self._collecting_elsewhere(start, end)
                if asleep > BLOCKED:
                    self.slow.append(f"slept {asleep:.3f} s in {handle!r}")

        return timed_run


@pytest.fixture
def loop_clock(monkeypatch, settled_heap) -> Iterator[LoopClock]:
    clock = LoopClock()
    monkeypatch.setattr(asyncio.Handle, "_run", clock.timed(asyncio.Handle._run))
    gc.callbacks.append(clock.on_collection)
    yield clock
    gc.callbacks.remove(clock.on_collection)
    clock.close()


@pytest.fixture
def build_threads(monkeypatch) -> list[int]:
    """The threads provider clients are built on: building one is CPU work, not sleep."""
    threads: list[int] = []
    build = clients.get_client

    def get_client(provider: str, config: Any) -> Any:
        threads.append(threading.get_ident())
        return build(provider, config)

    monkeypatch.setattr(clients, "get_client", get_client)
    return threads


async def sends(key: str, stream: bool) -> list[int]:
    headers = {"Authorization": f"Bearer {key}"}
    app = get_asgi_application()
    calls = [
        call_in_loop(
            "POST",
            "/api/v1/templates/doc-qa/send",
            {"variables": VALUES, "model": model, "stream": stream},
            headers,
            None,
            app,
        )
        for model in MODELS.values()
        for _ in range(PER_PROVIDER)
    ]
    answers = await asyncio.gather(*calls)
    return [a.status for a in answers if a.status != 200 or not a.body]


@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.skipif(not os.path.exists(SCHEDSTAT), reason="needs Linux's scheduler statistics")
@pytest.mark.django_db(transaction=True)
def test_sends_through_every_provider_never_block_the_event_loop(
    settings, production_path, loop_clock, build_threads
):
    make_version(make_template())
    _, key = ApiKey.generate(name="loop", rate_limit_per_minute=0)
    for replies, stream in ((json_replies(), False), (stream_replies(), True)):
        with (
            FakeServer(delayed(replies["anthropic"])) as anthropic,
            FakeServer(delayed(replies["openai"])) as openai,
            FakeServer(delayed(replies["bedrock"])) as bedrock,
        ):
            settings.GATEWAY = {
                **settings.GATEWAY,
                "ANTHROPIC_API_KEY": "not-a-secret",
                "ANTHROPIC_BASE_URL": anthropic.url,
                "OPENAI_API_KEY": "not-a-secret",
                "OPENAI_BASE_URL": f"{openai.url}/v1",
                "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": bedrock.url,
                "SIM_LATENCY": UPSTREAM_DELAY,
            }
            clients.forget_clients()
            failed = asyncio.run(sends(key, stream), debug=True)
            assert failed == []
    assert loop_clock.slow == []
    assert len(build_threads) == 2 * len(MODELS)
    assert loop_clock.thread not in build_threads
    assert invocation_writer().flush(timeout=10)
    assert Invocation.objects.count() == 2 * len(MODELS) * PER_PROVIDER


@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_sends_waiting_on_the_provider_hold_no_thread_each(settings, production_path):
    from config.asgi import application

    make_version(make_template())
    _, key = ApiKey.generate(name="threads", rate_limit_per_minute=0)
    settings.GATEWAY = {**settings.GATEWAY, "SIM_LATENCY": 1.0}
    in_flight = 40

    async def while_waiting() -> tuple[int, list[int]]:
        before = threading.active_count()
        headers = {"Authorization": f"Bearer {key}"}
        payload = {"variables": VALUES, "model": MODELS["sim"]}
        calls = [
            asyncio.create_task(
                call_in_loop(
                    "POST", "/api/v1/templates/doc-qa/send", payload, headers, None, application
                )
            )
            for _ in range(in_flight)
        ]
        await asyncio.sleep(0.7)  # every send is waiting on the simulated provider
        threads = threading.active_count() - before
        answers = await asyncio.gather(*calls)
        return threads, [a.status for a in answers]

    threads, statuses = asyncio.run(while_waiting())
    assert statuses == [200] * in_flight
    # At most the database threads, the writer and a few helpers: not one per send.
    assert threads <= 10, threads
