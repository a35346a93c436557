"""No send blocks the event loop.

Sends through every provider client (Anthropic and OpenAI over httpx, Bedrock over boto3,
the simulator with its entries in Redis) run concurrently through the real ASGI app,
with the production settings of the send path (database threads, the invocation
writer), in an event loop in asyncio's debug mode. The upstreams answer after a second,
so a client that waited on the network inside the loop would hold a callback that long;
asyncio reports every callback slower than ``SLOW`` and the test fails on any report.
The first send of each provider is among them: building a client (importing boto3,
reading the AWS configuration) must not happen on the loop either.

``SLOW`` sits well above what CPU work costs a callback here: the fake upstreams are
threads of this process, so a callback can wait on the GIL for a while, but not a second.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

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

SLOW = 0.5  # seconds
UPSTREAM_DELAY = 1.0
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
            "LOCATION": "redis://127.0.0.1:6379/9",
        }
    }
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(dbthreads, "_executor", None)
    writer_stop(timeout=10)  # the next one is built from these settings
    clients.forget_clients()
    yield
    writer_stop(timeout=10)
    if dbthreads._executor is not None:
        dbthreads._executor.shutdown()
    clients.forget_clients()


async def sends(key: str, stream: bool) -> list[int]:
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = SLOW
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


class SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "took" in message and "Executing" in message:
            self.reports.append(message)


@pytest.mark.skipif(not redis_up(), reason="needs Redis on 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_sends_through_every_provider_never_block_the_event_loop(settings, production_path):
    make_version(make_template())
    _, key = ApiKey.generate(name="loop", rate_limit_per_minute=0)
    watcher = SlowCallbacks()
    logging.getLogger("asyncio").addHandler(watcher)
    try:
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
    finally:
        logging.getLogger("asyncio").removeHandler(watcher)
    assert watcher.reports == []
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
