"""Cold-start coalescing: one send writes a cold cached prefix, the sends beside it read it.

A provider's cache entry becomes readable only once the answer of the call that writes it
has begun, so concurrent sends of a cold prefix would each pay the write. A send's *chain*
is its last checkpoint that will cache, keyed by provider, model, entry TTL and
fingerprint. The chain is warm while a send of it began its answer within the TTL: this
process remembers every such start, and with a shared cache (Redis) every process does.

For a cold chain the first send leads and the others wait (``turn_take``) until the
leader's answer has begun (``Turn.started``: a stream's ``start`` event, or a non-streamed
answer, whose headers come with its body) or until ``CACHET_COALESCE_WAIT`` has passed, then
go and read. A leader that fails (``Turn.failed``) releases them at once, and the first
of them to wake leads next. Across processes the lead is taken with the shared cache's
atomic ``add``, and a process whose send follows another process's leader polls the shared
marks every ``POLL_SECONDS``. The warm path is a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches

from gateway.openai.common import entry_seconds, entry_ttl

from ..models import Invocation
from ..selectors import version_compiled
from .clients import cache_blocks

if TYPE_CHECKING:
    from ..services import Rendered

Role = Invocation.Coalesce
POLL_SECONDS = 0.02
WARM_PREFIX = "cachet:warm:"
LEAD_PREFIX = "cachet:lead:"
# A process shares a warm mark again once this fraction of its TTL has passed: the shared
# mark may then expire before the provider's entry (a needless wait), never after it.
SHARE_AGAIN = 0.1
MAX_WARM_CHAINS = 100_000


@dataclass(frozen=True, slots=True)
class Chain:
    """The cached prefix a send writes or reads: its last checkpoint that will cache."""

    key: str
    ttl: str
    seconds: int

    @property
    def shared_id(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()[:40]


def send_chain(rendered: Rendered) -> Chain | None:
    """The chain of ``rendered``, or None when none of its checkpoints will cache."""
    caching = [c for c in rendered.result.checkpoints if c.status == "will_cache"]
    if not caching:
        return None
    last = caching[-1]
    request = rendered.result.request
    ttl = entry_ttl(rendered.result.profile, last.ttl)
    return Chain(f"{request.model}|{ttl}|{last.fingerprint}", ttl, entry_seconds(ttl))


class _Warmth:
    """Until when each chain is warm, by this process's clock (``time.monotonic``)."""

    def __init__(self) -> None:
        self.until: dict[str, float] = {}
        self.shared_at: dict[str, float] = {}

    def warm(self, chain: Chain, now: float) -> bool:
        until = self.until.get(chain.key)
        return until is not None and until > now

    def mark(self, chain: Chain, until: float) -> None:
        if len(self.until) >= MAX_WARM_CHAINS:
            now = time.monotonic()
            self.until = {k: v for k, v in self.until.items() if v > now}
            self.shared_at = {k: v for k, v in self.shared_at.items() if k in self.until}
            while len(self.until) >= MAX_WARM_CHAINS:
                self.until.pop(next(iter(self.until)))
        self.until[chain.key] = max(until, self.until.get(chain.key, 0.0))

    def forget(self) -> None:
        self.until.clear()
        self.shared_at.clear()


_warmth = _Warmth()
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Flight]] = (
    weakref.WeakKeyDictionary()
)
_background: set[asyncio.Future[Any]] = set()


@dataclass(eq=False)
class _Flight:
    """A cold chain's leader in this process; ``done`` says how its turn ended."""

    done: asyncio.Future[str]
    shared_lead: bool = False  # it holds the shared cache's lead key


@dataclass(eq=False)
class Turn:
    """How one send took its turn on its chain; tell it when the answer began or failed."""

    role: str
    chain: Chain | None = None
    waited_ms: int | None = None
    went_at: float = field(default_factory=time.monotonic)  # when the send left
    went_wall: float = field(default_factory=time.time)
    _flight: _Flight | None = None
    _over: bool = False

    def started(self) -> None:
        """The answer has begun: the chain is warm for its TTL from when the send left, and
        the leader's followers go."""
        if self._over or self.chain is None:
            return
        self._over = True
        chain = self.chain
        _warmth.mark(chain, self.went_at + chain.seconds)
        shared = cache_blocks()
        last_shared = _warmth.shared_at.get(chain.key)
        now = time.monotonic()
        share = shared and (
            self._flight is not None
            or last_shared is None
            or now - last_shared > chain.seconds * SHARE_AGAIN
        )
        if share:
            _warmth.shared_at[chain.key] = now
            lead = self._flight is not None and self._flight.shared_lead
            _in_background(_share_warm, chain, self.went_wall + chain.seconds, lead)
        self._release("started")

    def failed(self) -> None:
        """The send ended before its answer began: a leader's followers go at once (and the
        first of them leads)."""
        if self._over:
            return
        self._over = True
        if self._flight is not None and self._flight.shared_lead:
            _in_background(_drop_lead, self.chain)
        self._release("failed")

    def _release(self, outcome: str) -> None:
        flight = self._flight
        if flight is None:
            return
        flights = _flights.get(asyncio.get_running_loop(), {})
        if self.chain is not None and flights.get(self.chain.key) is flight:
            del flights[self.chain.key]
        if not flight.done.done():
            flight.done.set_result(outcome)


def coalescing_on(rendered: Rendered) -> bool:
    """Whether sends of ``rendered`` coalesce: the setting, and the body's own opt-out."""
    if not settings.CACHET["COALESCE"] or settings.CACHET["COALESCE_WAIT"] <= 0:
        return False
    return version_compiled(version=rendered.version).body.coalesce


def chain_warm(chain: Chain) -> bool:
    """Whether this process saw a send of ``chain`` begin its answer within its TTL."""
    return _warmth.warm(chain, time.monotonic())


async def chain_is_warm(chain: Chain) -> bool:
    """Whether a send of ``chain`` began its answer within its TTL, here or (with a shared
    cache) in any process."""
    return chain_warm(chain) or (cache_blocks() and await _shared_warm(chain))


async def turn_take(rendered: Rendered) -> Turn:
    """This send's turn: ``alone`` on a warm chain (or one that caches nothing), ``off``
    when coalescing is off, else ``led`` or ``waited`` (after the wait)."""
    chain = send_chain(rendered)
    if chain is None or chain_warm(chain):
        return Turn(Role.ALONE, chain)
    if not coalescing_on(rendered):
        return Turn(Role.OFF, chain)
    return await _coalesce(chain)


async def _coalesce(chain: Chain) -> Turn:
    """Lead the cold ``chain``, or wait for its leader (at most ``CACHET_COALESCE_WAIT``)."""
    began = time.monotonic()
    deadline = began + settings.CACHET["COALESCE_WAIT"]
    flights = _flights.setdefault(asyncio.get_running_loop(), {})
    shared = cache_blocks()
    waited = False

    def turn(role: str, flight: _Flight | None = None) -> Turn:
        wait = round((time.monotonic() - began) * 1000) if role == Role.WAITED else None
        return Turn(role, chain, waited_ms=wait, _flight=flight)

    while True:
        if await chain_is_warm(chain):
            return turn(Role.WAITED if waited else Role.ALONE)
        if time.monotonic() >= deadline:
            return turn(Role.WAITED)
        flight = flights.get(chain.key)
        if flight is None:
            flight = _Flight(asyncio.get_running_loop().create_future())
            flights[chain.key] = flight
            if not shared:
                return turn(Role.LED, flight)
            role = await _lead_shared(chain, flight, deadline)
            return turn(role, flight if role == Role.LED else None)
        waited = True
        try:
            await asyncio.wait_for(asyncio.shield(flight.done), deadline - time.monotonic())
        except TimeoutError:
            return turn(Role.WAITED)


async def _lead_shared(chain: Chain, flight: _Flight, deadline: float) -> str:
    """Take the shared lead for this process's ``flight``, or follow the process that holds
    it until its answer began (or it failed and this one leads). Returns the role."""
    released = Turn(Role.WAITED, chain, _flight=flight)
    try:
        while True:
            if await asyncio.to_thread(_take_lead, chain, deadline - time.monotonic()):
                flight.shared_lead = True
                return Role.LED
            while time.monotonic() < deadline:
                await asyncio.sleep(POLL_SECONDS)
                warm, led = await asyncio.to_thread(_shared_marks, chain)
                if warm is not None:
                    _warmth.mark(chain, time.monotonic() + max(warm - time.time(), 0.0))
                    released._release("started")  # this process's followers go too
                    return Role.WAITED
                if not led:
                    break  # the other leader failed: take the lead
            else:
                released._release("failed")
                return Role.WAITED
    except BaseException:
        released._release("failed")
        raise


def _key(prefix: str, chain: Chain) -> str:
    return prefix + chain.shared_id


def _take_lead(chain: Chain, seconds: float) -> bool:
    return bool(caches["default"].add(_key(LEAD_PREFIX, chain), 1, max(1, round(seconds + 0.5))))


def _shared_marks(chain: Chain) -> tuple[float | None, bool]:
    """(until when the chain is warm by the wall clock, or None; whether a lead is held)."""
    found = caches["default"].get_many([_key(WARM_PREFIX, chain), _key(LEAD_PREFIX, chain)])
    warm = found.get(_key(WARM_PREFIX, chain))
    warm = warm if isinstance(warm, (int, float)) and warm > time.time() else None
    return warm, _key(LEAD_PREFIX, chain) in found


async def _shared_warm(chain: Chain) -> bool:
    warm, _ = await asyncio.to_thread(_shared_marks, chain)
    if warm is None:
        return False
    _warmth.mark(chain, time.monotonic() + max(warm - time.time(), 0.0))
    return True


def _share_warm(chain: Chain, until: float, drop_lead: bool) -> None:
    """Publish the warm mark, then give the lead up (followers elsewhere see warm first)."""
    seconds = until - time.time()
    if seconds > 0:
        caches["default"].set(_key(WARM_PREFIX, chain), until, seconds)
    if drop_lead:
        _drop_lead(chain)


def _drop_lead(chain: Chain) -> None:
    caches["default"].delete(_key(LEAD_PREFIX, chain))


def _in_background(fn: Callable[..., None], *args: Any) -> None:
    """Run ``fn`` in a thread without holding up the send; keep the task referenced."""
    task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    _background.add(task)
    task.add_done_callback(_background.discard)


def coalescing_forget() -> None:
    """Forget which chains are warm (tests; a process that starts afresh knows none)."""
    _warmth.forget()
    _flights.clear()
