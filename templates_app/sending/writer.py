"""Invocation rows written off the request path, in batches, losing none.

A send builds its ``Invocation`` (with an id reserved ahead of time from the table's own
sequence, so the answer can name it) and hands it to this process's writer. One thread
writes what is queued with ``bulk_create``: it waits up to ``linger`` (50 ms) for rows to
pile up, then writes them (at most ``batch_size``) in one statement, and adds them to their
hourly rollups in the same transaction (``Invocation.objects.bulk_create``; a row saved on
its own in ``_save_each`` is added with it the same way). The guarantees:

- **Nothing is dropped when the queue is full**: ``put`` waits for room (back-pressure on
  the sends), it never discards a row.
- **A database that is briefly away** (restart, failover, a lock held too long) is retried
  with backoff, from 50 ms doubling to 5 s, for as long as it takes. The batch stays
  queued meanwhile; a row leaves the queue only once it is committed.
- **Shutdown drains the queue**: ``stop`` writes everything queued before it returns
  (the ASGI lifespan calls it after uvicorn has let in-flight sends finish). If the
  database is still away when the time runs out, each unwritten row is logged in full
  at ERROR, as JSON, rather than vanishing.
- **A row is visible by the time its send has answered, or within a second.** A read of
  invocations in this process (``GET /invocations``, stats) calls ``invocations_visible``
  first: it flushes the rows queued so far (not a lull in the traffic), waiting at most
  ``VISIBLE_WITHIN``. Another process cannot flush this queue; there the bound is the
  writer's own interval, ``FLUSH_INTERVAL`` (50 ms) plus one batch's write, as long as the
  database answers (while it is away rows wait, as above).
- A row the database refuses for good (a value too long for its column, a broken
  constraint) is logged in full at ERROR and skipped, so it cannot block the rows behind
  it. A row whose API key was deleted meanwhile is kept without the key.

With ``capacity=0`` (``CACHET_INVOCATION_QUEUE=0``) rows are written inline, inside the
send, as a plain ``save``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import islice

from django.core import serializers
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db

from ..models import Invocation

log = logging.getLogger(__name__)

# Seconds the writer lets a batch fill before writing it: a row written by then, or at the
# next batch when one is being written, is visible to every process.
FLUSH_INTERVAL = 0.05
# The documented bound (README, "Invocations"): how long a read waits for the queue.
VISIBLE_WITHIN = 1.0
RETRY_FIRST = 0.05
RETRY_MAX = 5.0
# The database is away (down, restarting, locked): the rows wait and are tried again.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def reserve_ids(count: int) -> list[int]:
    """``count`` unused invocation ids, taken from the table's own id sequence.

    Rows saved the ordinary way (``objects.create``) draw from the same sequence, so the
    two never collide.
    """
    table = Invocation._meta.db_table
    with transaction.atomic(), db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        if db.vendor == "sqlite":
            # AUTOINCREMENT never reuses an id below sqlite_sequence.seq: raising it by
            # ``count`` sets those ids aside. (The transaction holds the write lock.)
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            if row is None:
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608
                last = cursor.fetchone()[0]
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                    [table, last + count],
                )
            else:
                last = row[0]
                cursor.execute(
                    "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [last + count, table]
                )
            return list(range(last + 1, last + count + 1))
    raise NotImplementedError(f"reserving invocation ids on {db.vendor}")


def as_json(invocation: Invocation) -> str:
    """The whole row as JSON, for the log when it cannot be written."""
    try:
        return serializers.serialize("json", [invocation])
    except Exception:  # noqa: BLE001 - a row too odd to serialize is still reported
        return repr(invocation.__dict__)


class InvocationWriter:
    """One process's queue of invocation rows and the thread that writes them."""

    def __init__(
        self,
        *,
        capacity: int = 10_000,
        batch_size: int = 500,
        linger: float = FLUSH_INTERVAL,
        ids_per_reservation: int = 500,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = capacity
        self.batch_size = batch_size
        self.linger = linger
        self._urgent = 0  # flushes waiting: while any does, batches do not linger
        self.ids_per_reservation = ids_per_reservation
        self._sleep = sleep
        self._cond = threading.Condition()
        self._queue: deque[Invocation] = deque()
        # Rows ever queued, and ever taken off the queue (written or refused): flush waits
        # for the second to reach what the first was when it was called.
        self._queued_total = 0
        self._done_total = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._ids: deque[int] = deque()
        self._ids_lock = threading.Lock()
        self._reserving = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.written = 0
        self.refused = 0
        self.retries = 0

    # The request side ---------------------------------------------------------------

    @property
    def inline(self) -> bool:
        return self.capacity <= 0

    def next_id(self) -> int | None:
        """A reserved id, or None when none is left (``reserve`` then; it reads the DB)."""
        with self._ids_lock:
            return self._ids.popleft() if self._ids else None

    def reserve(self) -> int:
        """Take an id, reserving a block first when none is left (a database round trip,
        made by one caller while the others wait for its block)."""
        with self._reserving:
            taken = self.next_id()
            if taken is not None:
                return taken
            ids = reserve_ids(self.ids_per_reservation)
            with self._ids_lock:
                self._ids.extend(ids)
                return self._ids.popleft()

    async def put(self, invocation: Invocation) -> None:
        """Queue ``invocation`` (its id set); waits while the queue is full."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                if len(self._queue) < self.capacity:
                    self._append(invocation)
                    return
                room: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, room))
            await room

    def put_blocking(self, invocation: Invocation) -> None:
        """``put`` for code outside an event loop."""
        with self._cond:
            while len(self._queue) >= self.capacity:
                self._cond.wait()
            self._append(invocation)

    def _append(self, invocation: Invocation) -> None:
        if self._stopping:
            raise RuntimeError("the invocation writer has stopped")
        self._queue.append(invocation)
        self._queued_total += 1
        if len(self._queue) in (1, self.batch_size):
            # Wake the writer for a first row or a full batch only, not on every row.
            self._cond.notify_all()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="cachet-invocation-writer", daemon=True
            )
            self._thread.start()

    def pending(self, *, template_id: int, model: str) -> list[Invocation]:
        """Queued rows not yet written, for one template and model (miss explanations)."""
        with self._cond:
            return [i for i in self._queue if i.template_id == template_id and i.model == model]

    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    # Lifecycle --------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (rows queued meanwhile are not
        waited for); False if ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued_total
            self._urgent += 1
            self._cond.notify_all()
            try:
                while self._done_total < target:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    self._cond.wait(left)
            finally:
                self._urgent -= 1
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Write what is queued and stop the thread. Rows still unwritten when ``timeout``
        runs out (the database is away) are logged in full; returns False then."""
        if self._stopping:
            return not self._queue
        written = self.flush(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=RETRY_MAX + 1)
        with self._cond:
            left = list(self._queue)
        for invocation in left:
            log.error("invocation not written, database unavailable: %s", as_json(invocation))
        return written

    # The writing thread -------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._stopping:
                        self._cond.wait()
                    if not self._queue:
                        return
                    self._linger()
                    batch = list(islice(self._queue, self.batch_size))
                refused_before = self.refused
                if not self._write(batch):
                    return  # stopping while the database is away: stop() logs the rows
                with self._cond:
                    for _ in batch:
                        self._queue.popleft()
                    self._done_total += len(batch)
                    self._cond.notify_all()
                    waiters, self._waiters = self._waiters, []
                self.written += len(batch) - (self.refused - refused_before)
                for loop, room in waiters:
                    _wake(loop, room)
                try:
                    self._keep_ids()
                except Exception:  # noqa: BLE001 - sends reserve ids themselves then
                    log.exception("could not reserve invocation ids ahead")
        finally:
            db.close()

    def _linger(self) -> None:
        """Give a batch ``linger`` seconds to fill (lock held): one statement for many rows
        costs less than one each, and the rows are not waited on."""
        deadline = time.monotonic() + self.linger
        while len(self._queue) < self.batch_size and not (self._stopping or self._urgent):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._cond.wait(left)

    def _write(self, batch: list[Invocation]) -> bool:
        """Write ``batch``, retrying while the database is away; False if stopped first."""
        delay, rows = RETRY_FIRST, batch
        while True:
            try:
                Invocation.objects.bulk_create(rows)
                return True
            except CONNECTION_ERRORS as error:
                reason: object = error
            except Exception:  # noqa: BLE001 - some row is refused: find it, keep the rest
                rows = self._save_each(rows)
                if not rows:
                    return True
                reason = "the connection broke while saving rows one by one"
            self.retries += 1
            if self.retries == 1 or delay >= RETRY_MAX:
                log.warning("invocation writes failing, retrying in %.2fs: %s", delay, reason)
            _close_quietly()
            with self._cond:
                if self._stopping:
                    return False
            self._sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    def _save_each(self, rows: list[Invocation]) -> list[Invocation]:
        """Save ``rows`` one at a time, logging and skipping any the database refuses for
        good. Returns the rows from the first connection failure on, unsaved."""
        for index, invocation in enumerate(rows):
            try:
                self._save(invocation)
            except CONNECTION_ERRORS:
                return rows[index:]
            except Exception as error:  # noqa: BLE001 - a bad row must not stop the others
                self.refused += 1
                log.error("invocation refused by the database (%s): %s", error, as_json(invocation))
        return []

    @staticmethod
    def _save(invocation: Invocation) -> None:
        try:
            with transaction.atomic():
                invocation.save(force_insert=True)
        except IntegrityError:
            if invocation.api_key_id is None:
                raise
            # Its API key was deleted meanwhile: keep the row, as the key's deletion would.
            invocation.api_key_id = None
            with transaction.atomic():
                invocation.save(force_insert=True)

    def _keep_ids(self) -> None:
        """Top up the reserved ids here, so sends rarely wait on a reservation."""
        with self._ids_lock:
            low = len(self._ids) < self.ids_per_reservation // 4
        if low and self._reserving.acquire(blocking=False):
            try:
                self._top_up()
            finally:
                self._reserving.release()

    def _top_up(self) -> None:
        try:
            ids = reserve_ids(self.ids_per_reservation)
        except DatabaseError:
            _close_quietly()
            return
        with self._ids_lock:
            self._ids.extend(ids)


def _wake(loop: asyncio.AbstractEventLoop, room: asyncio.Future[None]) -> None:
    def done() -> None:
        if not room.done():
            room.set_result(None)

    # A loop that has closed has nobody waiting any more.
    with contextlib.suppress(RuntimeError):
        loop.call_soon_threadsafe(done)


def _close_quietly() -> None:
    with contextlib.suppress(DatabaseError):
        db.close()


_writer: InvocationWriter | None = None
_writer_lock = threading.Lock()


def invocation_writer() -> InvocationWriter:
    """This process's writer, built from ``settings.CACHET`` on first use."""
    global _writer
    with _writer_lock:
        if _writer is None:
            from django.conf import settings

            options = settings.CACHET
            _writer = InvocationWriter(
                capacity=options["INVOCATION_QUEUE"],
                batch_size=options["INVOCATION_BATCH"],
            )
        return _writer


def invocations_visible() -> bool:
    """Before a read of invocations: this process's queued rows are written first, so a
    send that has answered is listed (waits at most ``VISIBLE_WITHIN``; False if the
    database kept them waiting longer)."""
    with _writer_lock:
        writer = _writer
    return True if writer is None or writer.inline else writer.flush(VISIBLE_WITHIN)


def writer_stop(timeout: float = 30.0) -> bool:
    """Drain and stop this process's writer (shutdown); True when every row was written."""
    global _writer
    with _writer_lock:
        writer, _writer = _writer, None
    return writer.stop(timeout) if writer is not None else True
