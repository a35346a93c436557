"""A provider-side prefix cache for the loopback fakes, following the providers' rules.

Blocks come in prefix order with the TTL of the breakpoint they carry (None: none). A
breakpoint at or above the minimum writes the prefix it closes; a later call with the
same prefix up to a breakpoint reads it. Writes are split by Anthropic's mixed-TTL rule
(``gateway.cost.mixed_ttl_writes``), which Bedrock bills the same way. Tokens are the
fakes' own count: one per four characters of each block's JSON. An entry is readable
once the answer of the call that wrote it has begun, not when the call came.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.cost import mixed_ttl_writes


def tokens_of(block: Any) -> int:
    """The fakes' token count of one wire block."""
    return math.ceil(len(json.dumps(block, sort_keys=True)) / 4)


@dataclass(frozen=True)
class Planned:
    """What one call reads and writes: ``keys`` become readable once its answer begins."""

    read: int
    written: dict[str, int]
    total: int
    keys: tuple[str, ...]


@dataclass
class PrefixCache:
    """Prefix entries by hash; ``min_tokens`` is the smallest prefix a breakpoint caches.

    As at the providers, an entry is readable only once the answer of the call that wrote
    it has begun (``begin``): ``first_byte`` seconds after the call came, and not before
    ``hold`` is set, when a test holds every answer back (sends that overlap for sure).
    """

    min_tokens: int = 1024
    entries: set[str] = field(default_factory=set)
    first_byte: float = 0.0
    hold: threading.Event | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, blocks: Sequence[tuple[Any, str | None]]) -> Planned:
        """What a call of ``blocks`` reads from the entries readable now, and writes."""
        digest = hashlib.sha256()
        position, read, breakpoints = 0, 0, []
        with self._lock:
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
        writes = [(key, pos, ttl) for key, pos, ttl in breakpoints if pos > read]
        written = mixed_ttl_writes([(pos, ttl) for _, pos, ttl in writes], read)
        return Planned(read, written, position, tuple(key for key, _, _ in writes))

    def begin(self, planned: Planned) -> None:
        """The call's answer begins (after ``first_byte``, once ``hold`` lets it): what it
        writes is readable from now on. Blocks the calling (server) thread."""
        time.sleep(self.first_byte)
        if self.hold is not None:
            self.hold.wait()
        with self._lock:
            self.entries.update(planned.keys)

    def use(self, blocks: Sequence[tuple[Any, str | None]]) -> tuple[int, dict[str, int], int]:
        """``(read, writes per TTL, total prompt tokens)`` of one call, whose answer begins."""
        planned = self.plan(blocks)
        self.begin(planned)
        return planned.read, planned.written, planned.total
