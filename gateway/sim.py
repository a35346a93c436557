"""The in-process simulator: Anthropic-style prompt caching without a network.

The simulator speaks the Anthropic Messages shape (``to_sim`` is ``to_anthropic``)
and caches what would be sent. The wire body is flattened into blocks in prefix
order tools -> system -> messages; a block with ``cache_control`` is a breakpoint.
An entry's key hashes the model and every block up to it, markers removed (moving
a marker does not change content), with section and message boundaries included.

Per request (docs/providers.md §1.3-1.5, §1.8): the read is the longest
live entry found by looking back at most 20 blocks from each breakpoint, and a hit
refreshes the entry's lifetime for free; every later breakpoint whose prefix meets
the model's minimum (and is within its cap) writes an entry with its TTL. Entries
are written after the simulated time to first token, so parallel first requests
all miss. Shared state lives in a ``CacheStore``; the Django app passes one backed
by its cache framework, so several processes share one simulated cache.

A sim entry that borrows an OpenAI model with explicit breakpoints (GPT-5.6) follows
OpenAI's rules instead (docs/providers.md §6.3): only checkpoints on system and user
text or image blocks are breakpoints, every entry lives 30 minutes whatever the marker's
TTL, the read is the longest prefix found at one of the request's own breakpoints, and
usage comes in OpenAI's inclusive shape (writes priced as the model's write price).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from gateway.anthropic.translate import prewarm_max_tokens, to_anthropic
from gateway.base import Wire
from gateway.catalog import ModelProfile, get_profile
from gateway.conventions import anthropic_usage, chat_completions_usage
from gateway.cost import mixed_ttl_writes
from gateway.errors import BadRequestError
from gateway.openai.common import EXPLICIT_TTL, entry_seconds, unplaced_checkpoints
from gateway.tokens import estimate_tokens
from gateway.types import TTLS, ChatRequest, Result, StreamEvent, Usage, effective_ttl
from gateway.wire import compact_json

T = TypeVar("T")

to_sim = to_anthropic

LOOKBACK_BLOCKS = 20
IMAGE_TOKENS = 1500
KEY_PREFIX = "cachet:sim:"
SNIPPET_CHARS = 200
STREAM_CHUNKS = 4

Clock = Callable[[], float]


class CacheStore(Protocol):
    """Where simulated cache entries live; ``timeout`` is in seconds. A store that makes
    network calls (Redis) sets ``blocking = True``, and is then used from a thread."""

    def get(self, key: str) -> Any | None: ...

    def set(self, key: str, value: Any, timeout: float) -> None: ...


class MemoryStore:
    """A thread-safe in-memory ``CacheStore`` whose entries expire by ``clock``."""

    def __init__(self, clock: Clock = time.time, *, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any | None:
        """The live value under ``key``, or None (an entry is gone at its expiry instant)."""
        with self._lock:
            item = self._entries.get(key)
            if item is None or item[0] <= self._clock():
                self._entries.pop(key, None)
                return None
            return item[1]

    def set(self, key: str, value: Any, timeout: float) -> None:
        """Store ``value`` under ``key`` for ``timeout`` seconds."""
        with self._lock:
            now = self._clock()
            self._entries.pop(key, None)
            if len(self._entries) >= self._max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            while len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest write goes first
            self._entries[key] = (now + timeout, value)


_DEFAULT_STORE = MemoryStore()


@dataclass(frozen=True, slots=True)
class _Block:
    section: str
    tokens: int
    key: str  # store key of the prefix that ends with this block
    ttl: str | None  # the TTL of its marker; None when it is not a breakpoint


@dataclass(frozen=True, slots=True)
class _Plan:
    prefix: tuple[int, ...]  # cumulative tokens up to and including each block
    read: int  # tokens read from the cache
    writes: tuple[int, ...]  # block indexes of the entries to write
    written: Mapping[str, int]  # tokens written per TTL


def _as_blocks(content: Any) -> list[dict[str, Any]]:
    """A plain-string content as the one text block Anthropic treats it as."""
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def _flatten(wire: Mapping[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
    """(where, block) in prefix order; ``where`` names the section and message boundary."""
    for tool in wire.get("tools", []):
        yield ["tools"], tool
    for block in _as_blocks(wire.get("system", [])):
        yield ["system"], block
    # tool_choice changes invalidate only the messages cache (docs/providers.md §1.6).
    choice = wire.get("tool_choice")
    for index, message in enumerate(wire["messages"]):
        for block in _as_blocks(message["content"]):
            yield ["messages", choice, index, message["role"]], block


def _block_tokens(section: str, content: Mapping[str, Any], tokenizer: str) -> int:
    if section == "tools":
        schema = compact_json(content.get("input_schema", {}))
        return estimate_tokens(
            f"{content.get('name', '')}\n{content.get('description', '')}\n{schema}", tokenizer
        )
    if content.get("type") == "text":
        return estimate_tokens(content.get("text", ""), tokenizer)
    if content.get("type") == "image":
        return IMAGE_TOKENS
    return estimate_tokens(compact_json(content), tokenizer)


EXPLICIT_BLOCKS = ("text", "image")  # the Anthropic-shape blocks OpenAI takes breakpoints on


def _blocks(
    wire: Mapping[str, Any], model: str, tokenizer: str = "generic", explicit: bool = False
) -> list[_Block]:
    """Every block with its tokens and the store key of the prefix it closes."""
    digest = hashlib.sha256(model.encode())
    blocks = []
    for where, block in _flatten(wire):
        content = {key: value for key, value in block.items() if key != "cache_control"}
        digest.update(compact_json([*where, content]).encode() + b"\n")
        marker = block.get("cache_control")
        ttl = effective_ttl(marker.get("ttl")) if isinstance(marker, Mapping) else None
        if explicit and ttl is not None:
            placed = where[0] == "system" or (where[0] == "messages" and where[3] == "user")
            ttl = EXPLICIT_TTL if placed and block.get("type") in EXPLICIT_BLOCKS else None
        key = KEY_PREFIX + digest.copy().hexdigest()
        blocks.append(_Block(where[0], _block_tokens(where[0], content, tokenizer), key, ttl))
    return blocks


def _breakpoints(blocks: list[_Block], profile: ModelProfile) -> list[int]:
    """Indexes of the breakpoints the model honours; raises BadRequestError like the API."""
    marked = [i for i, b in enumerate(blocks) if b.ttl and b.section in profile.cacheable_fields]
    if len(marked) > profile.max_checkpoints:
        message = (
            f"A maximum of {profile.max_checkpoints} blocks with cache_control may be provided."
            f" Found {len(marked)}."
        )
        raise BadRequestError("sim", 400, message)
    ttls = [blocks[i].ttl for i in marked]
    if profile.explicit_breakpoints:
        return marked  # one TTL (30m) for every breakpoint
    for ttl in ttls:
        if ttl not in profile.ttls:
            raise BadRequestError("sim", 400, f"cache_control ttl {ttl!r} is not supported")
    if any(TTLS.index(a) < TTLS.index(b) for a, b in zip(ttls, ttls[1:], strict=False)):
        message = "a ttl='1h' cache_control block may not come after a ttl='5m' one"
        raise BadRequestError("sim", 400, message)
    return marked


def _plan(
    blocks: list[_Block], breakpoints: list[int], read_at: int, profile: ModelProfile
) -> _Plan:
    """What the request reads and writes, given the entry found at ``read_at``."""
    prefix = list(itertools.accumulate(block.tokens for block in blocks))
    read = prefix[read_at] if read_at >= 0 else 0
    cap = profile.max_cacheable_tokens
    writes = tuple(
        i
        for i in breakpoints
        if i > read_at and prefix[i] >= profile.min_tokens and (cap is None or prefix[i] <= cap)
    )
    markers = [(prefix[index], _billed_ttl(blocks[index].ttl)) for index in writes]
    return _Plan(tuple(prefix), read, writes, mixed_ttl_writes(markers, read))


def _billed_ttl(ttl: str | None) -> str:
    """OpenAI's 30m writes are priced as the catalog's 5m writes (its write price)."""
    return "5m" if ttl == EXPLICIT_TTL else effective_ttl(ttl)


def _last_user_text(wire: Mapping[str, Any]) -> str:
    """The text of the last user turn that has any, whitespace collapsed."""
    for message in reversed(wire["messages"]):
        blocks = _as_blocks(message["content"]) if message["role"] == "user" else []
        words = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text").split()
        if words:
            return " ".join(words)
    return ""


def _answer(request: ChatRequest, wire: Mapping[str, Any], blocks: list[_Block]) -> str:
    """Text that depends only on the request's content (markers excluded)."""
    digest = blocks[-1].key[-12:] if blocks else "empty"
    snippet = _last_user_text(wire)[:SNIPPET_CHARS] or "(no user text)"
    return f"Simulated answer ({request.model}, prompt {digest}): {snippet}"


def _truncate(text: str, max_tokens: int) -> tuple[str, str]:
    """``text`` cut to ``max_tokens`` estimated tokens, and the stop reason."""
    if estimate_tokens(text) <= max_tokens:
        return text, "end_turn"
    cut = min(len(text), max(max_tokens, 0) * 4)
    while cut and estimate_tokens(text[:cut]) > max_tokens:
        cut -= 1
    return text[:cut], "max_tokens"


def _usage(plan: _Plan, output_tokens: int, explicit: bool = False) -> Usage:
    """The call's usage, its raw form as the simulated provider reports it: Anthropic's,
    or OpenAI's inclusive one in explicit mode (which has no 1h writes)."""
    write_5m, write_1h = plan.written["5m"], plan.written["1h"]
    total = plan.prefix[-1] if plan.prefix else 0
    usage = Usage(
        total - plan.read - write_5m - write_1h, output_tokens, plan.read, write_5m, write_1h
    )
    raw = chat_completions_usage(usage) if explicit else anthropic_usage(usage)
    return replace(usage, raw=raw)


def _chunks(text: str) -> list[str]:
    """``text`` split at word boundaries into at most ``STREAM_CHUNKS`` pieces."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    size = -(-len(words) // STREAM_CHUNKS) if words else 1
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


class SimClient:
    """A ``ProviderClient`` that answers in-process and simulates prompt caching."""

    name = "sim"

    def __init__(
        self,
        store: CacheStore | None = None,
        *,
        clock: Clock = time.time,
        latency: float = 0.0,
        stream_delay: float = 0.0,
        hold: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if store is None:
            store = _DEFAULT_STORE if clock is time.time else MemoryStore(clock)
        self._store = store
        self._clock = clock
        self._latency = latency
        self._stream_delay = stream_delay
        self._hold = hold
        self._counter = itertools.count(1)

    @classmethod
    def unavailable(cls, config: Mapping[str, Any]) -> str | None:
        """Never: the simulator needs nothing."""
        return None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SimClient:
        """Uses ``SIM_STORE`` (default: one process-wide MemoryStore), ``SIM_CLOCK``,
        ``SIM_LATENCY`` (seconds before the answer starts), ``SIM_STREAM_DELAY``
        (seconds between streamed deltas) and ``SIM_HOLD`` (awaited before each answer
        starts, after the latency; it may raise a ``GatewayError`` for the call to fail:
        tests hold answers back, or fail one, with it)."""
        clock = config.get("SIM_CLOCK") or time.time
        latency = float(config.get("SIM_LATENCY") or 0.0)
        delay = float(config.get("SIM_STREAM_DELAY") or 0.0)
        return cls(
            config.get("SIM_STORE"),
            clock=clock,
            latency=latency,
            stream_delay=delay,
            hold=config.get("SIM_HOLD"),
        )

    async def send(self, request: ChatRequest, wire: Wire | None = None) -> Result:
        """Simulate one call; raises BadRequestError where the Anthropic API would answer 400."""
        started = self._clock()
        if wire is None:
            try:
                wire = to_sim(request)
            except ValueError as exc:
                raise BadRequestError("sim", 400, str(exc)) from exc
        profile = get_profile(request.model)
        # Counted as the model's tokenizer family counts (the new Claude one: ~30% more).
        explicit = profile.explicit_breakpoints
        blocks = _blocks(wire, request.model, profile.tokenizer, explicit)
        breakpoints = _breakpoints(blocks, profile)
        found = await self._off_loop(self._read, blocks, breakpoints, explicit)
        plan = _plan(blocks, breakpoints, found, profile)
        if self._latency > 0:
            await asyncio.sleep(self._latency)  # entries appear once the answer starts
        if self._hold is not None:
            await self._hold()
        await self._off_loop(self._write, blocks, plan, started)
        answer = _answer(request, wire, blocks)
        text, stop_reason = _truncate(answer, int(wire["max_tokens"]))
        serial = f"{answer}:{next(self._counter)}".encode()
        request_id = "sim_" + hashlib.sha256(serial).hexdigest()[:24]
        usage = _usage(plan, estimate_tokens(text), explicit)
        return Result(text, (), stop_reason, usage, wire["model"], request_id)

    async def _off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, in a thread when the store is a network one (``blocking``)."""
        if getattr(self._store, "blocking", False):
            return await asyncio.to_thread(fn, *args)
        return fn(*args)

    def _read(self, blocks: list[_Block], breakpoints: list[int], explicit: bool = False) -> int:
        """The index of the longest live entry within each breakpoint's lookback, refreshed;
        in OpenAI's explicit mode, only at the breakpoints themselves."""
        best, entry = -1, None
        lookback = 1 if explicit else LOOKBACK_BLOCKS
        for breakpoint in reversed(breakpoints):
            for index in range(breakpoint, max(breakpoint - lookback, best), -1):
                found = self._store.get(blocks[index].key)
                if found is not None:
                    best, entry = index, found
                    break
        if entry is not None:
            self._store.set(blocks[best].key, entry, entry_seconds(entry.get("ttl")))
        return best

    def _write(self, blocks: list[_Block], plan: _Plan, started: float) -> None:
        # TTLs count from the start of the request (docs/providers.md §1.5).
        elapsed = max(self._clock() - started, 0.0)
        for index in plan.writes:
            ttl = blocks[index].ttl or effective_ttl(None)
            entry = {"tokens": plan.prefix[index], "ttl": ttl}
            self._store.set(blocks[index].key, entry, entry_seconds(ttl) - elapsed)

    async def stream(
        self, request: ChatRequest, wire: Wire | None = None
    ) -> AsyncIterator[StreamEvent]:
        """The answer of ``send`` in a few ``delta`` events, then one ``done``."""
        if request.params.get("max_tokens") == 0:
            raise BadRequestError("sim", 400, "max_tokens: 0 (pre-warm) cannot be streamed")
        result = await self.send(request, wire)
        yield StreamEvent("start")
        for piece in _chunks(result.text):
            yield StreamEvent("delta", text=piece)
            await asyncio.sleep(self._stream_delay)  # a real stream gives the loop a turn too
        yield StreamEvent("done", result=result)

    async def aclose(self) -> None:
        """Nothing to release: the store outlives the client."""


__all__ = [
    "CacheStore",
    "MemoryStore",
    "SimClient",
    "prewarm_max_tokens",  # the simulator takes Anthropic's max_tokens 0 pre-warm
    "to_sim",
    "unplaced_checkpoints",
]
