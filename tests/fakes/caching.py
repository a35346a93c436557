"""A provider-side prefix cache for the loopback fakes, following the providers' rules.

Blocks come in prefix order with the TTL of the breakpoint they carry (None: none). A
breakpoint at or above the minimum writes the prefix it closes; a later call with the
same prefix up to a breakpoint reads it. Writes are split by Anthropic's mixed-TTL rule
(``gateway.cost.mixed_ttl_writes``), which Bedrock bills the same way. Tokens are the
fakes' own count: one per four characters of each block's JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.cost import mixed_ttl_writes


def tokens_of(block: Any) -> int:
    """The fakes' token count of one wire block."""
    return math.ceil(len(json.dumps(block, sort_keys=True)) / 4)


@dataclass
class PrefixCache:
    """Prefix entries by hash; ``min_tokens`` is the smallest prefix a breakpoint caches."""

    min_tokens: int = 1024
    entries: set[str] = field(default_factory=set)

    def use(self, blocks: Sequence[tuple[Any, str | None]]) -> tuple[int, dict[str, int], int]:
        """``(read, writes per TTL, total prompt tokens)`` of one call, updating the cache."""
        digest = hashlib.sha256()
        position, read, breakpoints = 0, 0, []
        for block, ttl in blocks:
            digest.update(json.dumps(block, sort_keys=True).encode())
            position += tokens_of(block)
            if ttl is None:
                continue
            key = digest.hexdigest()
            if key in self.entries:
                read = position
            elif position >= self.min_tokens:
                breakpoints.append((key, position, ttl))
        written = [(pos, ttl) for key, pos, ttl in breakpoints if pos > read]
        self.entries.update(key for key, pos, _ in breakpoints if pos > read)
        return read, mixed_ttl_writes(written, read), position
