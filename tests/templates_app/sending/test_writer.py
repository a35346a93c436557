"""The invocation writer: batches, back-pressure, a database that goes away, shutdown.

The writer thread has a database connection of its own, so these tests commit
(``transaction=True``): a test's transaction would hide its rows from that connection.
The database is made to fail for real: on SQLite another connection holds the write
lock, on PostgreSQL the writer's backend is terminated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

from templates_app.models import ApiKey, Invocation
from templates_app.sending.writer import (
    FLUSH_INTERVAL,
    RETRY_FIRST,
    RETRY_MAX,
    VISIBLE_WITHIN,
    InvocationWriter,
    invocation_writer,
    reserve_ids,
    writer_stop,
)
from tests.factories import make_invocation, make_template, make_version

pytestmark = pytest.mark.django_db(transaction=True)

WRITER_THREAD = "cachet-invocation-writer"
# How long a flush or a stop that must succeed may take: generous, since a busy machine is
# slow, not wrong. The tests that a flush or stop gives up use short timeouts of their own.
SETTLE = 30.0


def quick_sleep(seconds: float) -> None:
    """The writer's backoff, shortened so a test takes milliseconds, not seconds."""
    time.sleep(min(seconds, 0.005))


def wait_until(condition: Callable[[], bool], timeout: float = SETTLE) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def create_ordinarily(version) -> Invocation:
    """A row saved the ordinary way, its id drawn by the database."""
    return Invocation.objects.create(
        template_id=version.template_id, version=version, model="m", provider="sim", status="ok"
    )


def stored_ids() -> set[int]:
    return set(Invocation.objects.values_list("id", flat=True))


@pytest.fixture
def new_writer():
    """Writers made by the test, stopped (drained) before the database is cleaned up."""
    made: list[InvocationWriter] = []

    def new(**options) -> InvocationWriter:
        options.setdefault("sleep", quick_sleep)
        writer = InvocationWriter(**options)
        made.append(writer)
        return writer

    yield new
    for writer in made:
        writer.stop(timeout=2)


@pytest.fixture
def version():
    return make_version()


def new_rows(version, count: int, **fields) -> list[Invocation]:
    """``count`` unsaved rows with ids reserved the way a send reserves them."""
    return [make_invocation(version, pk=pk, **fields) for pk in reserve_ids(count)]


def put_all(writer: InvocationWriter, rows: list[Invocation]) -> None:
    for row in rows:
        writer.put_blocking(row)


class DatabaseLock:
    """Another SQLite connection holding the write lock: the writer's statements fail with
    "database is locked" (an OperationalError) until it is released."""

    def __init__(self) -> None:
        self.other = sqlite3.connect(
            connection.settings_dict["NAME"], uri=True, isolation_level=None
        )
        self.held = False

    def hold(self) -> None:
        self.other.execute("BEGIN EXCLUSIVE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self.other.execute("ROLLBACK")
            self.held = False


@pytest.fixture
def database_lock(transactional_db, new_writer):
    # Depends on new_writer so that the lock is released before the writers are stopped.
    if connection.vendor != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")

    def impatient(sender, connection, **kwargs) -> None:
        # The writer would wait out the lock for the configured 20 s: give up after 10 ms.
        if threading.current_thread().name == WRITER_THREAD:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 10")

    connection_created.connect(impatient)
    lock = DatabaseLock()
    yield lock
    lock.release()
    lock.other.close()
    connection_created.disconnect(impatient)


def rows_per_insert(statements: list[tuple[str, list]]) -> list[int]:
    table = connection.ops.quote_name(Invocation._meta.db_table)
    sizes = []
    for sql, params in statements:
        if not sql.startswith(f"INSERT INTO {table}"):
            continue
        if params and isinstance(params[0], list | tuple):
            sizes.append(len(params[0]))  # PostgreSQL: one array a column (UNNEST)
        else:
            sizes.append(len(params) // len(Invocation._meta.concrete_fields))
    return sizes


def logged_rows(caplog: pytest.LogCaptureFixture, text: str) -> list[dict]:
    """The rows logged as JSON at ERROR in messages containing ``text``."""
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    return [
        row
        for message in messages
        if text in message
        for row in json.loads(message[message.index("[{") :])
    ]


# Batches and ids --------------------------------------------------------------------


def test_rows_are_all_written_with_the_ids_reserved_for_them(new_writer, version):
    writer = new_writer(batch_size=500, ids_per_reservation=1200)
    rows = [make_invocation(version) for _ in range(1200)]
    for row in rows:
        row.pk = writer.next_id() or writer.reserve()
    put_all(writer, rows)
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {row.pk for row in rows}
    assert len({row.pk for row in rows}) == 1200
    assert writer.written == 1200
    assert writer.retries == 0


def test_rows_are_inserted_a_batch_at_a_time(new_writer, version):
    seen: list[tuple[str, list]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, list(params or ())))
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs) -> None:
        if threading.current_thread().name == WRITER_THREAD and (
            record not in connection.execute_wrappers
        ):
            connection.execute_wrappers.append(record)

    connection_created.connect(install)
    try:
        writer = new_writer(batch_size=10)
        rows = new_rows(version, 35)
        put_all(writer, rows)
        assert writer.flush(timeout=SETTLE)
    finally:
        connection_created.disconnect(install)
    sizes = rows_per_insert(seen)
    assert sum(sizes) == 35
    assert max(sizes) == 10  # whole batches in one statement, none larger
    assert stored_ids() == {row.pk for row in rows}


def test_reserved_ids_never_collide_with_rows_created_the_ordinary_way(new_writer, version):
    reserved = reserve_ids(5)
    created = create_ordinarily(version)
    assert created.pk > max(reserved)
    assert reserve_ids(3)[0] > created.pk
    writer = new_writer()
    put_all(writer, [make_invocation(version, pk=pk) for pk in reserved])
    assert writer.stop(timeout=SETTLE)
    assert writer.retries == 0
    assert stored_ids() == {*reserved, created.pk}
    assert create_ordinarily(version).pk > created.pk


def test_reserving_ids_on_sqlite_starts_past_the_highest_id_when_no_sequence_row_exists(version):
    if connection.vendor != "sqlite":
        pytest.skip("sqlite_sequence is SQLite's")
    table = Invocation._meta.db_table
    first = create_ordinarily(version)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
    assert reserve_ids(3) == [first.pk + 1, first.pk + 2, first.pk + 3]
    created = create_ordinarily(version)
    assert created.pk == first.pk + 4


def test_next_id_hands_out_a_reserved_block_then_none(new_writer, version):
    writer = new_writer(ids_per_reservation=3)
    assert writer.next_id() is None
    block = [writer.reserve(), writer.next_id(), writer.next_id()]
    assert writer.next_id() is None
    assert block == sorted(block) and len(set(block)) == 3
    assert reserve_ids(1)[0] > block[-1]


def test_the_writer_tops_the_reserved_ids_up_after_a_batch(new_writer, version):
    writer = new_writer(ids_per_reservation=8)
    row = make_invocation(version)
    row.pk = writer.reserve()
    for _ in range(7):
        writer.next_id()
    writer.put_blocking(row)
    assert writer.flush(timeout=SETTLE)
    assert wait_until(lambda: writer.next_id() is not None)


def test_pending_lists_the_queued_rows_of_one_template_and_model_only(new_writer, version):
    other = make_version(make_template(slug="other"))
    # A long linger: the rows stay queued until flush asks for them.
    writer = new_writer(linger=30)
    mine = new_rows(version, 2, model="sim/claude-sonnet-4-5")
    haiku = new_rows(version, 1, model="sim/claude-haiku-4-5")
    elsewhere = new_rows(other, 1, model="sim/claude-sonnet-4-5")
    last = new_rows(version, 1, model="sim/claude-sonnet-4-5")
    put_all(writer, mine + haiku + elsewhere + last)
    mine += last
    pending = writer.pending(template_id=version.template_id, model="sim/claude-sonnet-4-5")
    assert [row.pk for row in pending] == [row.pk for row in mine]
    assert writer.pending(template_id=other.template_id, model="sim/claude-haiku-4-5") == []
    assert writer.flush(timeout=SETTLE)
    assert writer.pending(template_id=version.template_id, model="sim/claude-sonnet-4-5") == []


# Back-pressure ----------------------------------------------------------------------


def test_put_waits_for_room_until_the_writer_has_written_a_batch(new_writer, version):
    # The writer lingers 0.3 s for a batch of 100 that never fills: until it writes,
    # a queue of 4 stays full.
    writer = new_writer(capacity=4, batch_size=100, linger=0.3)
    rows = new_rows(version, 6)

    async def put_all() -> tuple[float, int]:
        for row in rows[:4]:
            await writer.put(row)
        started = time.monotonic()
        await writer.put(rows[4])
        waited, written_then = time.monotonic() - started, writer.written
        await writer.put(rows[5])
        return waited, written_then

    waited, written_then = asyncio.run(asyncio.wait_for(put_all(), timeout=SETTLE))
    assert waited > 0.1
    assert written_then >= 4  # room was made by writing, not by dropping a row
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {row.pk for row in rows}


def test_put_blocking_waits_for_room_until_the_writer_has_written_a_batch(new_writer, version):
    writer = new_writer(capacity=3, batch_size=100, linger=0.3)
    rows = new_rows(version, 4)
    for row in rows[:3]:
        writer.put_blocking(row)
    started = time.monotonic()
    writer.put_blocking(rows[3])
    assert time.monotonic() - started > 0.1
    assert writer.written >= 3
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {row.pk for row in rows}


def test_put_waits_for_room_while_the_database_is_away_and_loses_nothing(
    new_writer, version, database_lock
):
    writer = new_writer(capacity=3, batch_size=2)
    rows = new_rows(version, 10)
    database_lock.hold()
    done = threading.Event()

    def send_all() -> None:
        async def put_all() -> None:
            for row in rows:
                await writer.put(row)

        asyncio.run(asyncio.wait_for(put_all(), timeout=SETTLE))
        done.set()

    sender = threading.Thread(target=send_all)
    sender.start()
    assert wait_until(lambda: writer.retries >= 3)
    assert not done.is_set()
    assert writer.queued() == 3  # full, never more than its capacity
    database_lock.release()
    sender.join(timeout=SETTLE)
    assert done.is_set()
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {row.pk for row in rows}


# The database goes away ----------------------------------------------------------------


def test_rows_queued_while_the_database_is_away_are_all_written_once_it_is_back(
    new_writer, version, database_lock, caplog
):
    writer = new_writer(batch_size=10)
    ids = reserve_ids(30)
    database_lock.hold()
    for pk in ids:
        writer.put_blocking(make_invocation(version, pk=pk))
    assert writer.flush(timeout=0.2) is False
    assert writer.queued() == 30
    database_lock.release()
    assert writer.flush(timeout=SETTLE)
    assert writer.retries > 0
    assert stored_ids() == set(ids)
    assert any(
        r.levelno == logging.WARNING and "invocation writes failing" in r.getMessage()
        for r in caplog.records
    )


def test_retries_back_off_from_50_ms_doubling_up_to_5_s(new_writer, version, database_lock):
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        time.sleep(0.001)

    writer = new_writer(sleep=sleep)
    [pk] = reserve_ids(1)
    database_lock.hold()
    writer.put_blocking(make_invocation(version, pk=pk))
    assert wait_until(lambda: len(delays) >= 12)
    database_lock.release()
    assert writer.flush(timeout=SETTLE)
    assert delays[:4] == [RETRY_FIRST, RETRY_FIRST * 2, RETRY_FIRST * 4, RETRY_FIRST * 8]
    assert max(delays) == RETRY_MAX
    assert all(b == min(a * 2, RETRY_MAX) for a, b in zip(delays, delays[1:12], strict=False))
    assert stored_ids() == {pk}


def test_stop_with_the_database_away_logs_each_unwritten_row_as_json_and_returns_false(
    version, database_lock, caplog
):
    writer = InvocationWriter(sleep=quick_sleep)  # stopped here, not by the fixture
    ids = reserve_ids(3)
    database_lock.hold()
    for pk in ids:
        writer.put_blocking(make_invocation(version, pk=pk, caller=f"caller-{pk}"))
    started = time.monotonic()
    assert writer.stop(timeout=0.3) is False
    assert time.monotonic() - started < 3
    database_lock.release()
    unwritten = logged_rows(caplog, "invocation not written")
    assert sorted(row["pk"] for row in unwritten) == ids
    assert {row["fields"]["caller"] for row in unwritten} == {f"caller-{pk}" for pk in ids}
    assert all(row["fields"]["version"] == version.pk for row in unwritten)
    assert stored_ids() == set()


@pytest.mark.postgres
def test_a_writer_whose_connection_was_terminated_reconnects_and_writes_every_row(
    new_writer, version
):
    backends: list[int] = []

    def note_backend(sender, connection, **kwargs) -> None:
        if threading.current_thread().name == WRITER_THREAD:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.append(cursor.fetchone()[0])

    connection_created.connect(note_backend)
    try:
        writer = new_writer(ids_per_reservation=50)
        first, rows = new_rows(version, 1), new_rows(version, 20)
        put_all(writer, first)
        assert writer.flush(timeout=SETTLE)
        # The writer has reserved its next ids and now sits idle on its connection.
        assert wait_until(lambda: writer.next_id() is not None)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backends[-1]])
            assert cursor.fetchone()[0] is True
        put_all(writer, rows)
        assert writer.flush(timeout=SETTLE)
    finally:
        connection_created.disconnect(note_backend)
    assert writer.retries >= 1
    assert len(set(backends)) >= 2
    assert stored_ids() == {row.pk for row in first + rows}


# Rows the database refuses ----------------------------------------------------------


def test_a_row_whose_api_key_was_deleted_meanwhile_is_kept_without_the_key(
    new_writer, version, caplog
):
    key, _ = ApiKey.generate(name="short-lived")
    writer = new_writer(linger=30)  # one batch: the orphaned row sits among good ones
    rows, later = new_rows(version, 5), new_rows(version, 2)
    rows[2].api_key_id = key.pk
    ApiKey.objects.filter(pk=key.pk).delete()  # another request deletes the key
    put_all(writer, rows)
    assert writer.flush(timeout=SETTLE)
    put_all(writer, later)
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {row.pk for row in rows + later}
    assert Invocation.objects.get(pk=rows[2].pk).api_key_id is None  # as SET_NULL would do
    assert logged_rows(caplog, "invocation refused") == []
    assert (writer.written, writer.refused) == (7, 0)


@pytest.mark.postgres
def test_a_row_with_a_value_too_long_for_its_column_is_logged_and_skipped(
    new_writer, version, caplog
):
    # A provider's request id is stored as it came; the column holds 200 characters.
    # PostgreSQL refuses the row with a DataError, which must not stop the writer.
    writer = new_writer(linger=30)
    rows, later = new_rows(version, 3), new_rows(version, 2)
    rows[1].request_id = "req_" + "x" * 300
    put_all(writer, rows)
    assert writer.flush(timeout=SETTLE)
    put_all(writer, later)
    assert writer.flush(timeout=SETTLE)
    assert stored_ids() == {rows[0].pk, rows[2].pk, *(row.pk for row in later)}
    assert [row["pk"] for row in logged_rows(caplog, "")] == [rows[1].pk]


# Shutdown ---------------------------------------------------------------------------


def test_stop_writes_everything_queued_before_it_returns(new_writer, version):
    writer = new_writer(linger=120)  # only the drain writes these
    rows = new_rows(version, 25)
    put_all(writer, rows)
    started = time.monotonic()
    assert writer.stop(timeout=SETTLE) is True
    assert time.monotonic() - started < SETTLE  # it drained, rather than wait out the linger
    assert stored_ids() == {row.pk for row in rows}


def test_a_stopped_writer_refuses_new_rows(new_writer, version):
    writer = new_writer()
    assert writer.stop(timeout=SETTLE) is True
    with pytest.raises(RuntimeError, match="stopped"):
        writer.put_blocking(make_invocation(version, pk=reserve_ids(1)[0]))
    with pytest.raises(RuntimeError, match="stopped"):
        asyncio.run(writer.put(make_invocation(version, pk=reserve_ids(1)[0])))


def test_writer_stop_drains_the_process_writer_and_the_next_one_is_built_from_settings(
    settings, version
):
    writer_stop()
    settings.CACHET = {**settings.CACHET, "INVOCATION_QUEUE": 5, "INVOCATION_BATCH": 2}
    rows = new_rows(version, 4)
    try:
        writer = invocation_writer()
        assert invocation_writer() is writer
        assert (writer.capacity, writer.batch_size, writer.inline) == (5, 2, False)
        put_all(writer, rows)
        assert writer_stop(timeout=SETTLE) is True
        assert stored_ids() == {row.pk for row in rows}
        assert invocation_writer() is not writer
    finally:
        writer_stop(timeout=1)


# How soon a row is visible ------------------------------------------------------------


def test_the_process_writer_writes_a_row_within_the_documented_second(settings, version):
    # Another process's list cannot flush this one's queue: the writer's own interval is
    # the bound there (README, "Invocations"; docs/architecture.md).
    writer_stop()
    settings.CACHET = {**settings.CACHET, "INVOCATION_QUEUE": 100}
    try:
        writer = invocation_writer()
        assert writer.linger == FLUSH_INTERVAL <= VISIBLE_WITHIN <= 1.0
        [row] = new_rows(version, 1)
        writer.put_blocking(row)
        # Polled up to a generous deadline: a busy machine is slow, not wrong.
        assert wait_until(lambda: Invocation.objects.filter(pk=row.pk).exists(), timeout=30)
    finally:
        writer_stop(timeout=3)


def test_flush_returns_once_the_rows_queued_before_it_are_written_while_more_arrive(
    new_writer, version
):
    # A list read flushes first: under steady sends the queue is never empty, and the read
    # must wait only for the rows queued before it, not for a lull.
    writer = new_writer(batch_size=1, linger=60)  # only flush makes it write
    first, arriving = new_rows(version, 2)
    later_may_go = threading.Event()
    write = writer._write

    def a_send_arrives_meanwhile(batch: list[Invocation]) -> bool:
        if batch[0].pk == first.pk:
            writer.put_blocking(arriving)
        else:
            later_may_go.wait(SETTLE * 2)  # past the flush's deadline
        return write(batch)

    writer._write = a_send_arrives_meanwhile
    writer.put_blocking(first)
    try:
        assert writer.flush(timeout=SETTLE) is True
        assert stored_ids() == {first.pk}
    finally:
        later_may_go.set()
    assert writer.flush(timeout=SETTLE) is True
    assert stored_ids() == {first.pk, arriving.pk}
