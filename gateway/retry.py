"""Bounded, jittered retries: pure decisions plus one small loop.

Only rate limits (429), overload (529), other 5xx and connection errors are
retried. A ``retry-after`` of 0-60 s is honoured; otherwise the delay starts at
0.5 s and doubles up to 8 s, with jitter so that clients do not retry in step.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import (
    OverloadedError,
    ProviderConnectionError,
    RateLimitError,
    ServerError,
)

T = TypeVar("T")
MAX_ATTEMPTS = 3
BASE_DELAY = 0.5
MAX_DELAY = 8.0
MAX_RETRY_AFTER = 60.0


def should_retry(error: BaseException) -> bool:
    """True for errors worth another attempt.

    Read timeouts are not retried: the provider may already have billed the call.
    """
    return isinstance(
        error, RateLimitError | OverloadedError | ServerError | ProviderConnectionError
    )


def backoff_delay(
    attempt: int, retry_after: float | None = None, *, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
        return retry_after
    ceiling = min(BASE_DELAY * 2 ** (attempt - 1), MAX_DELAY)
    return ceiling / 2 + rand() * ceiling / 2


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = MAX_ATTEMPTS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Await ``call()``, retrying retryable errors up to ``attempts`` tries in all."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as error:
            if attempt == attempts or not should_retry(error):
                raise
            await sleep(backoff_delay(attempt, getattr(error, "retry_after", None)))
    raise AssertionError("unreachable")  # pragma: no cover


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``retry-after`` header (delta-seconds form only), or None."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
