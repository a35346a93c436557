"""What a call cost, what it would have cost without caching, and the difference. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from .catalog import Prices
from .types import Usage

PER_TOKENS = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Cost:
    """USD amounts; ``saved_usd`` is negative when a call paid a cache write and read nothing."""

    usd: Decimal
    usd_without_cache: Decimal
    saved_usd: Decimal


def mixed_ttl_writes(markers: Sequence[tuple[int, str]], read: int) -> dict[str, int]:
    """Tokens written per TTL by Anthropic's mixed-TTL rule (docs/providers.md §6.1).

    ``markers`` are the written checkpoints in prefix order as (prefix tokens up to and
    including it, its TTL); ``read`` (A) is the prefix read from the cache. With B the last
    1h marker after A and C the last marker: 1h writes are B − A, 5m writes C − B.
    """
    after = [(position, ttl) for position, ttl in markers if position > read]
    if not after:
        return {"5m": 0, "1h": 0}
    last = after[-1][0]
    last_1h = max((position for position, ttl in after if ttl == "1h"), default=read)
    return {"5m": last - last_1h, "1h": last_1h - read}


def cost(usage: Usage, prices: Prices) -> Cost | None:
    """Price ``usage``: each token kind once, at its own rate (reads ×0.1, writes ×1.25 or ×2
    of input on Claude, as the catalog says). Unknown counts are priced as 0; ``None`` when a
    kind of token the call used has no known price."""
    uncached = usage.input_tokens or 0
    read = usage.cache_read_tokens or 0
    write_5m = usage.cache_write_5m_tokens or 0
    write_1h = usage.cache_write_1h_tokens or 0
    output = usage.output_tokens or 0
    priced = (
        (uncached, prices.input),
        (read, prices.cache_read),
        (write_5m, prices.cache_write_5m),
        (write_1h, prices.cache_write_1h),
        (output, prices.output),
    )
    if any(count and price is None for count, price in priced) or (
        (read or write_5m or write_1h) and prices.input is None
    ):
        return None
    paid = sum((count * (price or 0) for count, price in priced), Decimal(0)) / PER_TOKENS
    prompt = uncached + read + write_5m + write_1h
    plain = (prompt * (prices.input or 0) + output * (prices.output or 0)) / PER_TOKENS
    return Cost(usd=paid, usd_without_cache=plain, saved_usd=plain - paid)


def write_avoided_usd(read_tokens: int, prices: Prices, ttl: str | None) -> Decimal | None:
    """What ``read_tokens`` read from the cache would have cost more had the call written
    them at the price of ``ttl`` (a coalesced send's saving); None when a price is unknown."""
    write, read = prices.cache_write(ttl), prices.cache_read
    if write is None or read is None:
        return None
    return read_tokens * (write - read) / PER_TOKENS
