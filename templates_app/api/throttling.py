"""Per-key rate limits: a fixed one-minute window counted in Django's cache.

The counters are shared by every process through the cache (Redis when ``REDIS_URL`` is
set; docs/architecture.md, "Processes and shared state"). ``cache.add`` then ``cache.incr``
is atomic on Redis and on local memory, so concurrent requests never lose a count. A fixed
window lets a key make up to twice its limit across a minute boundary; that is the price of
one counter.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from ..models import ApiKey

WINDOW_SECONDS = 60


def window_count(key: ApiKey, now: float) -> int:
    """Count one request of ``key`` in the window holding ``now``; return the count so far."""
    # Named by the key's hash, which no other key ever has; an id can come back after a
    # rolled-back insert.
    name = f"cachet:rate:{key.key_hash[:16]}:{int(now // WINDOW_SECONDS)}"
    cache.add(name, 0, timeout=WINDOW_SECONDS * 2)
    try:
        return cache.incr(name)
    except ValueError:  # evicted between add and incr: start the window again
        cache.add(name, 1, timeout=WINDOW_SECONDS * 2)
        return 1


class ApiKeyRateThrottle(BaseThrottle):
    """At most ``ApiKey.rate_limit`` requests a minute per key; signed-in users are not limited.

    Raises ``Throttled`` itself (a 429 with ``Retry-After``: seconds to the next window)
    so the message can name the limit.
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey) or not key.rate_limit:
            return True
        now = time.time()
        if window_count(key, now) <= key.rate_limit:
            return True
        wait = WINDOW_SECONDS - now % WINDOW_SECONDS
        raise Throttled(wait, detail=f"this API key allows {key.rate_limit} requests a minute.")
