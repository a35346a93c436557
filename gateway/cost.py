"""What a call cost, what it would have cost without caching, and the difference. Pure."""

from __future__ import annotations

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


def cost(usage: Usage, prices: Prices) -> Cost:
    """Price ``usage``: each token kind once, at its own rate (reads ×0.1, writes ×1.25 or ×2
    of input on Claude, as the catalog says). Unknown counts are priced as 0."""
    uncached = usage.input_tokens or 0
    read = usage.cache_read_tokens or 0
    write_5m = usage.cache_write_5m_tokens or 0
    write_1h = usage.cache_write_1h_tokens or 0
    output = usage.output_tokens or 0
    paid = (
        uncached * prices.input
        + read * prices.cache_read
        + write_5m * prices.cache_write_5m
        + write_1h * prices.cache_write_1h
        + output * prices.output
    ) / PER_TOKENS
    plain = ((uncached + read + write_5m + write_1h) * prices.input + output * prices.output) / (
        PER_TOKENS
    )
    return Cost(usd=paid, usd_without_cache=plain, saved_usd=plain - paid)
