"""Provider clients for this process, built from ``settings.GATEWAY``.

Clients hold pooled connections bound to an event loop, so there is one set per
running loop (one in production under uvicorn). The simulator keeps its cache
entries in Django's cache framework, so processes sharing Redis share them.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from gateway.base import ProviderClient
from gateway.registry import get_client

_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, ProviderClient | asyncio.Future[ProviderClient]]
] = weakref.WeakKeyDictionary()


def cache_blocks(alias: str = "default") -> bool:
    """Whether the Django cache ``alias`` is a network call (Redis), which the event loop
    must not wait on, rather than this process's memory."""
    return not isinstance(caches[alias], LocMemCache)


class DjangoCacheStore:
    """The simulator's ``CacheStore`` over a Django cache (local memory, or Redis)."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        # Anything but process memory is a network call: the simulator makes it in a thread.
        self.blocking = cache_blocks(alias)

    def get(self, key: str) -> Any | None:
        return caches[self.alias].get(key)

    def set(self, key: str, value: Any, timeout: float) -> None:
        caches[self.alias].set(key, value, timeout)


def gateway_config() -> dict[str, Any]:
    """The provider settings, plus the simulator's shared store."""
    return {**settings.GATEWAY, "SIM_STORE": DjangoCacheStore()}


async def client_for(provider: str) -> ProviderClient:
    """This loop's client for ``provider``; ``ProviderUnavailableError`` without credentials."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    client = per_loop.get(provider)
    if isinstance(client, asyncio.Future):  # another send is building it
        return await asyncio.shield(client)
    if client is not None:
        return client
    # One build per provider, however many sends arrive at once: each client opens its
    # pools (and TLS contexts), and building one may import boto3 and read the AWS
    # configuration, which is done off the loop.
    building = asyncio.get_running_loop().create_future()
    per_loop[provider] = building
    try:
        client = await asyncio.to_thread(get_client, provider, gateway_config())
    except asyncio.CancelledError:
        del per_loop[provider]
        building.cancel()
        raise
    except Exception as error:
        del per_loop[provider]
        building.set_exception(error)
        building.exception()  # retrieved here, so an unawaited failure is not reported
        raise
    per_loop[provider] = client
    building.set_result(client)
    return client


async def close_clients() -> None:
    """Close this loop's clients (shutdown, and tests that change the settings)."""
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        if not isinstance(client, asyncio.Future):
            await client.aclose()


def forget_clients() -> None:
    """Drop every cached client without closing it (settings changed under test)."""
    _clients.clear()
