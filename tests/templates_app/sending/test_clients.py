"""Provider clients per event loop: built off the loop, shared by the loop's sends."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from templates_app.sending import clients
from tests.redis_dbs import CACHE_DB, redis_url


@pytest.fixture
def bedrock_settings(settings, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.GATEWAY = {**settings.GATEWAY, "AWS_REGION": "us-east-1"}
    clients.forget_clients()
    yield
    clients.forget_clients()


def test_building_a_client_leaves_the_event_loop_running(bedrock_settings):
    # Building a boto3 client reads its service model from disk: done on the loop, it
    # would stop every other request for that long. A ticker shows the loop kept turning.
    async def build_while_ticking() -> tuple[int, object, object]:
        ticks = 0
        done = asyncio.Event()

        async def tick() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0)  # the ticker starts counting
        ticks = 0
        client = await clients.client_for("bedrock")
        done.set()
        await ticker
        again = await clients.client_for("bedrock")
        await clients.close_clients()
        return ticks, client, again

    ticks, client, again = asyncio.run(build_while_ticking())
    assert ticks > 0
    assert again is client  # one client per loop and provider


def test_concurrent_first_sends_share_one_client(bedrock_settings):
    async def first_sends() -> set[int]:
        built = await asyncio.gather(*(clients.client_for("bedrock") for _ in range(5)))
        await clients.close_clients()
        return {id(c) for c in built}

    assert len(asyncio.run(first_sends())) == 1


def test_the_simulator_store_is_blocking_unless_it_is_process_memory(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not clients.DjangoCacheStore().blocking
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url(CACHE_DB),
        }
    }
    assert clients.DjangoCacheStore().blocking


def test_a_burst_of_first_sends_builds_the_client_once(settings, monkeypatch):
    # Each build opens its httpx pools (a TLS context each): a hundred sends arriving at
    # a fresh worker must not build a hundred clients to keep one.
    settings.GATEWAY = {
        **settings.GATEWAY,
        "ANTHROPIC_API_KEY": "not-a-secret",
        "POOLS": 4,
        "HTTP_TRANSPORT": "httpx",  # four pools to count (on aiohttp there is one)
    }
    clients.forget_clients()
    built = []
    original = httpx.AsyncClient.__init__

    def counting(self, *args, **kwargs):
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(httpx.AsyncClient, "__init__", counting)

    async def burst() -> int:
        answers = await asyncio.gather(*(clients.client_for("anthropic") for _ in range(20)))
        await clients.close_clients()
        return len({id(c) for c in answers})

    assert asyncio.run(burst()) == 1
    assert len(built) == 4  # one client, its four pools
    clients.forget_clients()
